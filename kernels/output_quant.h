// How a kernel's int32 accumulators become int8/uint8/int16 outputs: the host-side description of the
// requantization register Q (docs/isa.md §5), per tensor or per output channel. Kernels expand it into one
// 32-lane tile32::QuantConfig per 32-channel block and issue QCFG + REQ; the numerics are the ISA's.
#pragma once

#include <cstdint>

#include "accel/isa.h"

namespace tile32 {

struct OutputQuant {
  RequantMode mode = RequantMode::kTflDouble;
  // false: element [0] of multiplier/shift/scale applies to every output channel;
  // true: the arrays hold one entry per output channel (N of a GEMM, K of a convolution).
  bool per_channel = false;
  const int32_t* multiplier = nullptr;  // TFL modes: Q31 multipliers in [0, 2^31-1]
  const int32_t* shift = nullptr;       // TFL modes: in [-31, 7], positive = left
  const float* scale = nullptr;         // FLOAT modes: finite, > 0
  int32_t zero_point = 0;               // in the range of the output type
  int32_t qmin = -128, qmax = 127;      // clamp, in the range of the output type, qmin <= qmax
};

// Throws tile32::Error naming `fn`, the field and its allowed range if q cannot requantize `channels`
// channels to `out` (kI8, kU8 or kI16): null arrays for the mode, multipliers/shifts/scales out of range,
// zero point or clamp outside the output type, qmin > qmax.
void CheckOutputQuant(const char* fn, const OutputQuant& q, int channels, DType out);

// The Q register for channels [n0, n0 + 32): lane j takes channel n0 + j; lanes past `channels` take
// neutral, valid parameters (their outputs are never stored).
QuantConfig LaneQuant(const OutputQuant& q, int n0, int channels);

}  // namespace tile32

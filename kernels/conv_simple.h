// The simple INT8 3x3 convolution, as an implicit GEMM on the tile unit, written only against
// tile32::Machine.
//
// Layouts: input x is NHWC [batch][height][width][channels], uint8 or int8, dense. Weights w are OHWI
// [out_channels][3][3][channels], int8, dense, zero point 0. Output y is NHWK
// [batch][out_height][out_width][out_channels], dense, with
//     out_height = (height + 2*pad - 3) / stride + 1,   out_width likewise.
//
// Numeric contract. With iy = oy*stride - pad + ky, ix = ox*stride - pad + kx, a tap is valid when
// 0 <= iy < height and 0 <= ix < width, and
//     acc[n][oy][ox][k] = wrap32( bias[k] + sum over valid taps, c of (x[n][iy][ix][c] - x_zero_point) * w[k][ky][kx][c] )
// i.e. the textbook convolution of the zero-point-subtracted input, padded taps contributing nothing.
// y is acc as int32, or requant(acc) as int8/uint8 by the ISA's REQ with `quant` (per tensor or per
// output channel, as GemmI8Simple).
//
// How it runs: the input is copied on the host with a border of `pad` pixels holding x_zero_point, so that
// every output pixel's 3x3xC patch consists of three contiguous 3*C-byte rows; one DMA per (output row,
// kernel row) gathers the patches of a whole output row into SRAM rows of 9*C bytes (zero-padded to whole
// tiles). The weights become the (9*C) x K matrix B[(ky*3 + kx)*C + c][k] packed into tile order. The sum
// then runs over all nine taps of the padded input, and because padded taps hold x_zero_point,
//     sum_valid (x - zp) * w  =  sum_all xpad * w  -  zp * sum_all w          (exact, mod 2^32),
// so the kernel seeds the accumulators with bias[k] - zp * sum(w[k]) and runs the GEMM loop of
// kernels/gemm_driver.h on the raw codes. Same segment, SRAM and error rules as GemmI8Simple.
#pragma once

#include <cstdint>

#include "accel/isa.h"
#include "accel/machine.h"
#include "kernels/output_quant.h"

namespace tile32 {

struct ConvI8Args {
  int batch = 0, height = 0, width = 0, channels = 0;  // input N, H, W, C; each >= 1
  int out_channels = 0;                                // K >= 1
  int stride = 1;                                      // >= 1, both axes
  int pad = 0;                                         // in [0, 2], both axes, all four sides

  DType x_type = DType::kU8;     // kU8 or kI8
  const void* x = nullptr;       // NHWC
  int32_t x_zero_point = 0;      // in the range of x_type

  const int8_t* w = nullptr;     // OHWI [out_channels][3][3][channels]
  const int32_t* bias = nullptr; // optional, out_channels entries

  DType y_type = DType::kI32;    // kI32, kI8 or kU8 (requantized by quant)
  void* y = nullptr;             // NHWK
  const OutputQuant* quant = nullptr;  // required for kI8/kU8 outputs
};

// out_height / out_width for the arguments (no checks beyond what the formula needs).
int ConvOutHeight(const ConvI8Args& args);
int ConvOutWidth(const ConvI8Args& args);

// Throws tile32::Error naming the argument (batch, height, width, channels, out_channels, stride, pad,
// x_type, x, x_zero_point, w, y_type, y, quant.*) for a bad shape, parameter or null pointer, or a machine
// too small to run it.
void Conv3x3I8Simple(Machine& machine, const ConvI8Args& args);

}  // namespace tile32

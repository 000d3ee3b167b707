// The GEMM family, the public entry point runtime authors link: C = epilogue(A . B + bias) in INT8, INT16
// and BF16 on any tile32 Machine (scalar reference, SIMD emulator, cycle model), with weights packed once.
//
// Numeric contract (docs/isa.md §4, §5), with a = A[m][k], w = B[k][n]:
//   INT8   acc = wrap32(bias[n] + sum_k (a - a_zp) * (w - w_zp[n]))   a uint8 or int8, w int8 or uint8
//   INT16  acc = wrap32(bias[n] + sum_k a * w)                        int16 x int16, no zero points
//   BF16   acc = fp32 fused multiply-add chain, k ascending from 0, starting at bias[n] (fp32, or 0)
// then C = acc as int32 / fp32, or requant(acc) by the ISA's REQ (INT8, INT16 -> int8/uint8/int16, every
// RequantMode, per tensor or per channel, clamp [qmin, qmax] for fused ReLU/ReLU6), or bf16 (round to
// nearest even, canonical NaN). The result is the same bits on every machine, SIMD target and thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "accel/isa.h"
#include "accel/machine.h"
#include "kernels/output_quant.h"
#include "layout/tile_pack.h"

namespace tile32 {

// What packing needs to know about B (K x N, row-major, leading dimension ldb >= N, in elements).
struct GemmWeightsDesc {
  DType a_type = DType::kU8;  // activations these weights will meet: kU8, kI8 (INT8), kI16, kBF16
  DType b_type = DType::kI8;  // kI8 or kU8 (INT8), kI16, kBF16 (given as uint16_t bits)
  int K = 0, N = 0;
  const void* b = nullptr;
  int64_t ldb = 0;
  // INT8 only: weight zero points: null = 0, else 1 entry (per tensor) or N entries (per output channel),
  // each in b_type's range. (The activation zero point is a per-call argument: GemmArgs::a_zero_point.)
  const int32_t* b_zero_points = nullptr;
  int b_zero_point_count = 0;
  // Optional bias, N entries: int32 for INT8/INT16, fp32 for BF16.
  const int32_t* bias = nullptr;
  const float* bias_f32 = nullptr;
};

// B in tile order, and the per-column terms that the activation zero point of a call multiplies, so that a
// call with any zero point needs no repacking. Built once, kept by the caller, reused across calls and
// threads (read-only).
struct PackedGemmWeights {
  GemmWeightsDesc desc;            // copied; its pointers are null after packing
  MacMode mode = MacMode::kU8S8;   // the TMAC mode the kernel issues
  PackedWeights tiles;             // tile-order images (layout/tile_pack.h)
  std::vector<uint32_t> bias_row;  // 32 * n_tiles raw ACC words: int32 bias, or fp32 bias bits (BF16)
  std::vector<int32_t> col_sums;   // INT8: per column, sum_k of the packed int8 weights, mod 2^32
  std::vector<int32_t> b_zero_points;  // INT8: per output channel, after any uint8 -> int8 shift
  bool needs_row_sums = false;     // true when some weight zero point is non-zero (A's row sums needed)
};

PackedGemmWeights PackGemmWeights(const GemmWeightsDesc& desc);

struct GemmArgs {
  int M = 0;                 // >= 1; K and N come from the packed weights
  const void* a = nullptr;   // M x K, row-major, type = weights.desc.a_type
  int64_t lda = 0;           // >= K, elements
  int32_t a_zero_point = 0;  // INT8 only, in a_type's range (0 otherwise)
  DType c_type = DType::kI32;  // kI32, kI8, kU8, kI16 (integer modes); kF32, kBF16 (BF16 mode)
  // M x N, row-major; must not overlap a. Any alignment works; on the SIMD machine a C of 1 MiB or more whose
  // address and row pitch (ldc x element size) are multiples of 64 bytes is stored past the caches, which is
  // faster than malloc's 16-byte alignment (1024^3, int32 C, one thread: its stores 0.39 against 1.4-1.6 ms;
  // docs/simd_machine.md).
  void* c = nullptr;
  int64_t ldc = 0;           // >= N, elements
  const OutputQuant* quant = nullptr;  // required for kI8, kU8, kI16 outputs
  int threads = 0;           // 0: TILE32_NUM_THREADS if set, else every core oneTBB offers
};

// Throws tile32::Error naming the bad argument (shape, null pointer, leading dimension, type, zero point,
// quant field, c overlapping a) before anything is written. Threads: kernels/operator.h (RunInArena).
void Gemm(Machine& machine, const PackedGemmWeights& weights, const GemmArgs& args);

}  // namespace tile32

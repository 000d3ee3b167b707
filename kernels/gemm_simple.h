// The simple INT8 GEMM: C = A . B (+ bias), written only against tile32::Machine, so it runs unchanged on
// every machine (scalar reference, SIMD emulator, cycle model).
//
// Numeric contract (docs/isa.md §4.1, §5): acc[m][n] = wrap32(bias[n] + sum_k A[m][k] * B[k][n]) with the
// raw activation and weight codes (no zero points: fold an activation zero point into bias, as
// Conv3x3I8Simple does). C is acc as int32, or requant(acc) as int8/uint8 by the ISA's REQ with `quant`.
//
// How it runs: B is packed into tile order (layout/tile_pack.h) once per call, host buffers are bound as
// DRAM segments [kKernelFirstSegment, 64) and unbound on return (also on error), A rows are DMA'd into
// SRAM zero-padded to whole tiles, tiles are TLD'd in chains of up to tile_regs over K, accumulators are
// seeded by ACC_LD of the bias row (row stride 0) or ACC_ZERO, TMAC streams the A rows, and ACC_ST or
// QCFG + REQ stage each 32-column block in SRAM for a DMA_OUT of the valid rows and columns. SRAM, ACC rows
// and tile registers are planned from machine.config(); a configuration too small for one tile and one
// row is an error. The call leaves tile registers, ACC, SRAM and Q modified.
#pragma once

#include <cstdint>

#include "accel/isa.h"
#include "accel/machine.h"
#include "kernels/output_quant.h"
#include "layout/tile_pack.h"

namespace tile32 {

struct GemmI8Args {
  int M = 0, N = 0, K = 0;  // each >= 1

  DType a_type = DType::kU8;  // kU8 (TMAC U8S8) or kI8 (TMAC S8S8)
  const void* a = nullptr;    // M x K, row-major, leading dimension lda >= K (elements)
  int64_t lda = 0;

  const int8_t* b = nullptr;  // K x N, row-major, ldb >= N; ignored when b_packed is set
  int64_t ldb = 0;
  const PackedWeights* b_packed = nullptr;  // optional: B already packed (int8, K x N)

  const int32_t* bias = nullptr;  // optional, N entries

  DType c_type = DType::kI32;        // kI32 (accumulators), kI8 or kU8 (requantized by quant)
  void* c = nullptr;                 // M x N, row-major, ldc >= N (elements of c_type)
  int64_t ldc = 0;
  const OutputQuant* quant = nullptr;  // required for kI8/kU8 outputs
};

// Throws tile32::Error naming the argument (M, N, K, a_type, a, lda, b, ldb, b_packed, c_type, c, ldc,
// quant.*) for a bad shape, null pointer or leading dimension, or a machine too small to run it.
void GemmI8Simple(Machine& machine, const GemmI8Args& args);

}  // namespace tile32

// The GEMM loop: C[M x N] = A[M x K] . B[K x N] + epilogue, weight-stationary on TMAC, with A and C reached
// through callbacks. Gemm (kernels/gemm.cc) DMAs A rows from a matrix; folded direct convolution
// (kernels/conv_direct.cc) gathers convolution patches into the same SRAM rows. Internal to kernels/.
#pragma once

#include <cstdint>
#include <functional>

#include "accel/machine.h"
#include "kernels/middle_end.h"
#include "kernels/operator.h"
#include "layout/tile_pack.h"

namespace tile32 {

struct GemmLoopArgs {
  const char* fn = "";               // public operator name, for error messages
  int64_t M = 0;                     // rows of A and C; K and N come from `b`
  // Rows per block a multiple of this where at least this many fit (folded convolution: an output row,
  // whose patches its loader gathers with fewer DMAs whole than cut).
  int64_t row_quantum = 1;
  MacMode mode = MacMode::kU8S8;     // any TMAC mode; b->dtype must be WeightType(mode)
  const PackedWeights* b = nullptr;  // K x N in tile order
  // Output stage. epilogue.blocks = b->n_tiles; epilogue.row_sum_scale (INT8 only), when set, adds
  // scale[n] * rowsum_m with rowsum_m = sum_k A[m][k], computed on the machine by TMACs against all-ones
  // tiles (half the ACC rows then hold the sums).
  EpilogueArgs epilogue;
  // Issue the DMAs that put A[m0 + r][k0 + c] (r < rows, c < cols) at SRAM sram + r*sram_stride + c*e,
  // e = SizeOf(ActivationType(mode)) bytes per element.
  std::function<void(int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram, uint32_t sram_stride)> load_a;
  // Issue the DMAs that write C[m0 + r][n0 + c] (r < rows, c < cols <= 32) from SRAM
  // sram + r*sram_stride + c*SizeOf(epilogue.out).
  std::function<void(int64_t m0, uint32_t rows, int n0, int cols, uint32_t sram, uint32_t sram_stride)> store_c;
};

// Runs the GEMM on `machine`, binding its own segments in `dram`. Plans SRAM and ACC from the machine's
// configuration: weights resident if they fit, else streamed per chunk of tile_regs tiles; A rows whole
// if they fit, else streamed per chunk; as many rows per block as ACC and SRAM hold. Throws tile32::Error
// naming fn if the configuration cannot hold one tile, one activation row and one output row.
//
// Activation padding (K up to 32 * k_tiles) is written by the loop: zero bytes for the integer modes
// (0 * anything = 0 exactly), and -0.0 for BF16: the padded weights are +0, so every padded step is
// fma(-0, +0, acc) = acc + (-0) = acc bit for bit, -0 and NaN included (+0 padding would turn an
// accumulator of -0 into +0). K chains are issued in ascending K order, which BF16 requires.
void RunGemmLoop(Machine& machine, DramBindings& dram, const GemmLoopArgs& args);

}  // namespace tile32

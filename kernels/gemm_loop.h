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
  // Issue the DMAs that write C[m0 + r][n0 + c] (r < rows, c < cols <= 32 * GemmStagingPair(out)) from SRAM
  // sram + r*sram_stride + c*SizeOf(epilogue.out).
  std::function<void(int64_t m0, uint32_t rows, int n0, int cols, uint32_t sram, uint32_t sram_stride)> store_c;
};

// Column blocks that share a 64-byte staging row and leave in one DMA: 2 for 1-byte outputs (a block's row
// is 32 bytes), else 1. Half the DMAs, and on the SIMD machine whole cache lines of C: a 32-byte row of a C
// larger than the host's L2 cost a read for ownership of its line, twice per line (1024^3 u8s8 -> u8, one
// thread, best/median of 24 calls: 8087/8447 -> 6956/8215 us).
inline int GemmStagingPair(DType out) { return SizeOf(out) == 1 ? 2 : 1; }
// The staging region (of `sets`) that column block nt of row block bi converts into: pairs take turns.
inline int GemmStagingRegion(int64_t bi, int nt, int n_tiles, int pair, int sets) {
  const int64_t pairs_per_block = (n_tiles + pair - 1) / pair;
  return static_cast<int>((bi * pairs_per_block + nt / pair) % sets);
}
// Whether column block nt's conversion completes its staging rows (the last of its pair, or of the row), so
// that they are stored after it.
inline bool GemmStagingComplete(int nt, int n_tiles, int pair) { return nt % pair == pair - 1 || nt == n_tiles - 1; }

// What the loop's SRAM and ACC plan depends on: the GEMM's shape, the MAC mode, the output type and the
// epilogue's SRAM (Epilogue::SramBytes). The analytic model (kernels/analytic.h) plans from it too.
struct GemmLoopShape {
  const char* fn = "";
  int64_t M = 0, row_quantum = 1;
  MacMode mode = MacMode::kU8S8;
  int K = 0, N = 0, k_tiles = 0, n_tiles = 0;
  uint64_t tile_bytes = 0;  // one packed tile image
  bool row_sums = false;
  DType out = DType::kI32;
  uint64_t epilogue_bytes = 0;
};

// The shape of one call's SRAM use, chosen from the configuration.
struct GemmLoopPlan {
  bool w_resident = false;  // all packed tiles stay in SRAM for the whole call
  bool a_full = false;      // an A row holds all 32*k_tiles columns (A then stays across N blocks)
  int chunk_tiles = 0;      // tiles per TMAC (<= tile_regs)
  uint32_t rows = 0;        // A rows (= ACC rows) per block; row sums, if any, in ACC [sets*rows, +rows)
  uint32_t a_row = 0;       // bytes per A row in SRAM
  // ACC sets (each with its staging rows) that column blocks alternate between, and A buffers that row
  // blocks alternate between (docs/isa.md §8.3: an instruction waits for every earlier one that touches what
  // it writes, so with two a block's REQ and store, and the next row block's loads, overlap TMACs).
  int sets = 1, bufs = 1;
  uint64_t w_budget = 0;  // SRAM bytes left for the weights beside A, the outputs and the epilogue
};

// A block takes at most 1/kBlockRowsShare of the ACC rows (BlockRowsCap, at least 32 rows), even where ACC and
// SRAM would hold all of M at once: with several blocks, two ACC sets and two A buffers let the next block's
// activations load and the last block's outputs leave while this block's TMACs run, where one block of all
// rows first waits for all of A. The default configuration (4096 ACC rows: blocks of 1024) against blocks of
// all rows: ResNet-50 2,598,947 -> 2,423,719 modeled cycles, MobileNetV2 885,463 -> 786,066, YOLOv3-416
// 12.08 M -> 10.88 M. On the SIMD machine, whose host caches then hold a block's activations across its
// column blocks, a 3136x64x576 GEMM took 305-322 instead of 427-441 us (one thread, AMX host, A/B of two
// builds, medians of 3).
inline constexpr uint64_t kBlockRowsShare = 4;
// A block's activation rows also take at most 1/kBlockSramShare of SRAM (whole multiples of 32 rows), where that
// leaves at least kBlockSramRowsMin rows (fewer would walk the weights once per few rows): two buffers of A then
// leave three quarters of SRAM to weights and outputs. The SIMD machine's host caches hold such a block across
// the column blocks that each read it again: with blocks of 1024 rows of 2 KiB, the 1024^3 INT16 and BF16
// GEMMs read 2 MiB of A per column block, from L3 where the host's L2 is 2 MiB (AMX host, one thread, two
// runs each: s16 8139-8188 -> 7052-7223 us, bf16 16.5-16.6 -> 15.1-15.4 ms).
inline constexpr uint64_t kBlockSramShare = 8, kBlockSramRowsMin = 256;
// The most rows a block takes: ACC's and SRAM's shares for activation rows of a_row_bytes each.
uint64_t BlockRowsCap(const AccelConfig& config, uint64_t a_row_bytes);

// The plan: weights resident if they fit, else streamed per chunk of tile_regs tiles (fewer on a small SRAM);
// A rows whole if they fit, else streamed per chunk; as many rows per block as ACC and SRAM hold, up to
// BlockRowsCap. Throws tile32::Error naming fn if the configuration cannot hold one tile, one activation row
// and one output row.
GemmLoopPlan PlanGemmLoop(const AccelConfig& config, const GemmLoopShape& shape);
// The shape of a call with these arguments and its epilogue (as the loop resolves it).
GemmLoopShape GemmLoopShapeOf(const GemmLoopArgs& args, const AccelConfig& config, const EpilogueArgs& epilogue);

// Runs the GEMM on `machine`, binding its own segments in `dram`. Plans SRAM and ACC from the machine's
// configuration: weights resident if they fit, else streamed per chunk of tile_regs tiles; A rows whole
// if they fit, else streamed per chunk; as many rows per block as ACC and SRAM hold, up to BlockRowsCap.
// Throws tile32::Error naming fn if the configuration cannot hold one tile, one activation row and one
// output row.
//
// Activation padding (K up to 32 * k_tiles) is written by the loop: zero bytes for the integer modes
// (0 * anything = 0 exactly), and -0.0 for BF16: the padded weights are +0, so every padded step is
// fma(-0, +0, acc) = acc + (-0) = acc bit for bit, -0 and NaN included (+0 padding would turn an
// accumulator of -0 into +0). K chains are issued in ascending K order, which BF16 requires.
void RunGemmLoop(Machine& machine, DramBindings& dram, const GemmLoopArgs& args);

}  // namespace tile32

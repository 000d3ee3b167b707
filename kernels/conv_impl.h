// Between the convolution front end (kernels/conv.cc: validation, the ordered list of algorithms, the
// per-call arguments) and each algorithm (kernels/conv_direct.cc, conv_depthwise.cc, conv_winograd.cc).
// Internal to kernels/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "accel/machine.h"
#include "kernels/conv.h"
#include "kernels/operator.h"
#include "kernels/input_band.h"
#include "kernels/middle_end.h"
#include "layout/band.h"

namespace tile32 {

// One call, validated, with its host buffers bound.
struct ConvCall {
  const char* fn = "Conv";
  const PackedConv* packed = nullptr;
  const ConvArgs* args = nullptr;
  ConvGeometry geometry;          // from desc and args.height/width
  int64_t x_pixel_stride = 0;     // elements, resolved (0 -> in_channels)
  int64_t y_pixel_stride = 0;     // elements, resolved (0 -> out_channels)
  DramBindings* dram = nullptr;
  uint32_t seg_x = 0, seg_y = 0;  // x read-only, y writable
  // The padding value of the numeric contract as the raw bytes of one activation element: the zero point
  // (INT8), 0 (INT16), +0.0 (BF16).
  uint8_t border[2] = {0, 0};
};

// Facts about a desc that more than one algorithm needs (computed once by the front end).
struct ConvFacts {
  MacMode mode = MacMode::kU8S8;
  int group_channels = 0;   // C / groups
  int group_outputs = 0;    // K / groups
  int blocks_per_group = 0; // ceil(K / groups / 32)
  int64_t reduction = 0;    // kernel_h * kernel_w * C / groups: the real terms of one output
};

// An algorithm: whether it can run a desc (why not, if not), how it packs, how it runs one call.
struct ConvImpl {
  ConvAlgorithm algorithm;
  bool (*accepts)(const ConvDesc& desc, const ConvFacts& facts, std::string* why);
  void (*pack)(const ConvDesc& desc, const ConvFacts& facts, PackedConv* packed);
  void (*run)(Machine& machine, const ConvCall& call);
};

extern const ConvImpl kDepthwiseImpl;
extern const ConvImpl kWinogradImpl;
extern const ConvImpl kDirectImpl;

// ---- shared by the algorithms ----

// The blocks of 32 (lanes, channels, tile rows) that hold n.
inline int Ceil32(int64_t n) { return static_cast<int>((n + kLanes - 1) / kLanes); }

ConvFacts FactsOf(const ConvDesc& desc);

// The weight w[k][ky][kx][c] (c inside the group) as the kernel multiplies it: the int8 code itself,
// uint8 minus 128 (INT8, exact with the zero point moved by 128), the int16 code, or the bf16 bits; with a
// folded input shuffle the channel index is permuted first (ConvDesc::input_shuffle_groups).
int32_t PackedWeightAt(const ConvDesc& desc, int k, int ky, int kx, int c);
// PackedWeightAt of every (ky, kx, c) of output channel k, in that order (kernel_h * kernel_w * C/G values):
// the type decided once, for packing loops.
void PackedWeightsOf(const ConvDesc& desc, int k, int32_t* out);

// INT8: the shifted weight zero point z of output channel k (w - w_zp = w' - z), 0 otherwise.
int32_t ShiftedZeroPoint(const ConvDesc& desc, int k);

// The ACC seed words of every block of 32 output channels (block b = group * blocks_per_group + j, lane l is
// output channel group * K/G + 32 j + l, lanes past the group zero) for a call with activation zero point
// x_zp: bias - x_zp * w_sum + reduction * x_zp * z (mod 2^32, INT8), the int32 bias (INT16), the fp32 bias
// bits (BF16). Row-sum factors -z likewise, or empty when packed.needs_row_sums is false.
std::vector<uint32_t> CallBias(const PackedConv& packed, int32_t x_zp);
std::vector<int32_t> CallRowSumScale(const PackedConv& packed);
// The same words with block b = output channels 32 b ... 32 b + 31 whatever their groups (depthwise): without
// the call's terms (packed.lane_bias, made at pack time), and with them from packed.lane_bias.
std::vector<uint32_t> BiasByChannel(const PackedConv& packed);
std::vector<uint32_t> CallBiasByChannel(const PackedConv& packed, int32_t x_zp);
std::vector<int32_t> CallRowSumScaleByChannel(const PackedConv& packed);

// The call's input as the source of `band`: x with its pixel stride, and a fill row (the contract's padding
// value, call.border, in the band's channels and `channel_pad` after them) kept in *fill and bound for the call.
BandSource InputBandSource(const ConvCall& call, const BandLayout& band, int elem_bytes, const uint8_t* channel_pad,
                           std::vector<uint8_t>* fill);
// A channel_pad of zero bytes: exact for the integer modes, and for BF16 where the padded lanes are never stored.
inline constexpr uint8_t kZeroChannelPad[2] = {0, 0};

// The quantization of block b: output channels [n0, end) (OutputQuant lanes past `end` neutral).
void BlockChannels(const PackedConv& packed, int b, int* n0, int* end);

// ---- sizing decisions, shared by the algorithms' loops and the analytic model (kernels/analytic.h) ----

// The layout a direct convolution packed as `packed_layout` runs a call of geometry g in (kAuto resolved).
ConvLayout DirectLayoutForCall(ConvLayout packed_layout, const ConvGeometry& g);

// Tap-major: ACC sets that blocks alternate between and input buffers that bands alternate between.
struct TapMajorShape {
  int sets, buffers;
};
struct TapMajorPlan {
  bool resident = false;  // one group's weight tiles stay in SRAM
  uint64_t w_least = 0;   // SRAM the weights take at least
  uint64_t room = 0;      // SRAM for the bands and the output rows
  int band_rows = 0;      // output rows per band; 0: not even one fits
  TapMajorShape shape{1, 1};
  uint64_t w_bytes = 0;   // SRAM the weights get (streamed: what is left)
  // Blocks whose outputs share a staging row and leave by one DMA (GemmStagingPair), and the staging regions
  // they take turns in (shape.sets, or two more for pairs).
  int pair = 1, regions = 1;
};
// The band plan of a tap-major call on `plan` (the SRAM left after the epilogue), for one group's weights of
// `image_bytes` in tiles of `tile_bytes`, TMACs of up to `chunk` tiles, output rows of `out_row` bytes, its
// `blocks` blocks of 32 outputs each of type `out`.
TapMajorPlan PlanTapMajor(const AccelConfig& c, const ConvGeometry& geo, int group_channels, int elem,
                          uint64_t image_bytes, uint64_t tile_bytes, int chunk, bool row_sums, uint32_t out_row,
                          int blocks, DType out, SramPlan plan);
// Parts a tap-major band's load is spread over (each costs the DMAs' latency again, so not too many).
inline int TapMajorLoadParts(int blocks_per_group, int plane_rows) {
  return std::min({blocks_per_group, plane_rows, 8});
}

// Depthwise: weights resident or one block at a time, rows per chunk, output rows per band.
// Winograd F(2x2,3x3): how a call's loop runs (kernels/conv_winograd.cc): the bands the element-wise stage
// takes at once, and what it keeps two of so that the units overlap where a machine times them (docs/isa.md
// §8.3).
//
// M of a block is 16 sets in 4 quads, quad i holding positions (i, 0..3). The output transform frees them
// one after another: M1 and M2 after the row pass (T0 = M0 + M1 + M2 into quad 0, T1 = M1 - M2 - M3 into
// quad 3), T1 after the column pass, the outputs Y in quad 0 after the epilogue. The quads form a ring: each
// block takes them in the order they were freed, so the next block's TMACs wait for part of the previous
// block's output transform, not all of it (with a fifth quad, for none of it).
//
// Serial: the input transform of a band uses the ACC rows of the ring, so it runs between bands, with the
// arrays idle. Pipelined: it has rows of its own and V two buffers, and runs in pieces during the previous
// band's MACs; pieces smaller than the band cost instructions (the SIMD machine's time), so a call takes
// it only where they are few against the MACs.
struct WinogradSchedule {
  uint32_t tiles_w = 0;      // tile columns per band: the tile row, or a window of it
  int band_rows = 0;         // tile rows per band; 0: not even one 2x2 tile fits
  int quads = 4;             // quads in the ring
  bool pipelined = false;
  int piece_rows = 0;        // the transform in pieces (pipelined, or a band too big for the ACC): of whole
  uint32_t piece_cols = 0;   //   tile rows, or (0) of one tile row in windows of piece_cols tiles
  int in_bufs = 1, staging_bufs = 1;
};
struct WinogradPlan {
  WinogradSchedule s;
  bool compact = false;   // V and M leave out each tile row's slack slot
  bool resident = false;  // one group's transformed weights stay in SRAM
  uint64_t w_bytes = 0;   // SRAM the weights take
  uint64_t x_rows = 0;    // ACC rows of the input transform (serial: the whole band's; pipelined: a piece's)
  uint64_t acc_one = 0, sram_one = 0;  // what one 2x2 tile needs (for the error when band_rows is 0)
};
// For tiles of channel blocks cb x kb, `resident_bytes` and `streamed_bytes` of SRAM for one group's
// weights each way, a bias row in ACC when the bias is not folded into the seed, staging rows of out_row
// bytes, within `plan` (what the epilogue and the seed rows left).
WinogradPlan PlanWinograd(const AccelConfig& c, const ConvGeometry& geo, int cb, int kb, uint64_t resident_bytes,
                          uint64_t streamed_bytes, bool bias_row, uint32_t out_row, SramPlan plan);
// ACC rows the input transform takes for a piece of `rows` tile rows of `pitch` slots.
inline uint64_t WinogradTransformRows(uint64_t rows, uint64_t pitch) { return 16 * rows * pitch + 4 * pitch + 16; }

struct DepthwisePlan {
  bool resident = false;
  uint64_t chunk_limit = 0;  // ACC rows per chunk at most
  int band_rows = 0;         // 0: not even one output row fits
  uint64_t block_weights = 0;  // bytes of one block's weights (taps x 32 lanes)
  uint64_t weights = 0;        // SRAM bytes the weights take: every block's (resident) or one block's
  uint32_t stage_row = 0;      // bytes of one NHWC staging row (all output channels)
  uint64_t staging = 0;        // SRAM bytes of the staging rows of a chunk, with their slack
};
DepthwisePlan PlanDepthwise(const AccelConfig& c, const ConvGeometry& geo, int out_channels, int taps, int elem,
                            int welem, int out_elem, bool row_sums, SramPlan plan);

}  // namespace tile32

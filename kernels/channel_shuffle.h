// Channel shuffle (ShuffleNet): y[n][h][w][i*groups + j] = x[n][h][w][j*(C/groups) + i] for i < C/groups,
// j < groups, i.e. the channels viewed as a groups x C/groups matrix and transposed. Bit-exact data
// movement for any element type of 1 or 2 bytes.
//
// On the accelerator a shuffle is a routing problem: every 32-channel block of the output gathers lanes
// from up to `groups` places of the pixel at many lane distances (groups = 2 needs one per lane), and each
// distance is one pass through the lane multiplexors (docs/isa.md §1.6, RPERM §6.6). The kernel issues those routes and the machine's counters
// show the passes. The cheaper way is not to run it at all: fold the shuffle into the next convolution's
// weights (ConvDesc::input_shuffle_groups), which gives the same bits at no cost. Where it cannot be folded,
// the tile arrays can do it: a GEMM of every pixel by the C x C permutation matrix (one product with 1 per
// output, exact in the integer types) moves the channels through the arrays instead of the muxes.
//
// Same operator shape as every tile32 operator: ChannelShuffleDesc -> PackChannelShuffle once ->
// ChannelShuffle(Machine&, packed, args).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "accel/isa.h"
#include "accel/machine.h"
#include "kernels/gemm.h"

namespace tile32 {

enum class ShuffleAlgorithm : uint8_t {
  kRoutes,       // RPERM routes through the lane multiplexors: any type
  kPermutation,  // a GEMM by the permutation matrix on the tile arrays (kernels/gemm.h): u8, i8, i16 (not
                 // bf16: the fp32 chain would turn -0.0 into +0.0)
};
const char* NameOf(ShuffleAlgorithm a);  // "routes", "permutation"

struct ChannelShuffleDesc {
  int channels = 0;  // C >= 1
  int groups = 1;    // >= 1, divides C
  DType type = DType::kU8;  // any type of 1 or 2 bytes: kU8, kI8, kI16, kBF16
  ShuffleAlgorithm algorithm = ShuffleAlgorithm::kRoutes;
};

// One RPERM of the kernel: output block `out_block` takes the routed lanes of the 32 source elements that
// start at channel `src_channel` of the same pixel.
struct ShuffleRoute {
  int out_block = 0;
  int src_channel = 0;
  std::array<int8_t, kLanes> route{};  // lane i <- source lane route[i], -1: lane not written by this route
  int passes = 0;                      // mux passes of the route (docs/isa.md §8)
};

// Pixels per band the routes' loop moves through SRAM (all of `pixels` if they fit; 0 if not even one does).
uint64_t ShuffleBandPixels(const AccelConfig& config, int channels, int elem, int64_t pixels);
// The routes of a valid desc, as PackChannelShuffle builds them.
std::vector<ShuffleRoute> BuildRoutes(const ChannelShuffleDesc& desc);

struct PackedChannelShuffle {
  ChannelShuffleDesc desc;
  // Ordered by out_block, then src_channel. Every output channel < channels is routed by exactly one entry;
  // the lanes past channels in the last block by none. Each block uses as few routes as its lanes allow.
  std::vector<ShuffleRoute> routes;
  // kPermutation: the C x C matrix with a 1 where input channel k feeds output channel n, as GEMM weights.
  PackedGemmWeights permutation;
};

PackedChannelShuffle PackChannelShuffle(const ChannelShuffleDesc& desc);

struct ChannelShuffleArgs {
  int batch = 1, height = 1, width = 1;  // pixels = batch * height * width, each >= 1
  const void* x = nullptr;               // [pixels][channels], pixel stride x_pixel_stride
  int64_t x_pixel_stride = 0;            // elements; 0 = channels
  void* y = nullptr;                     // [pixels][channels]; must not overlap x
  int64_t y_pixel_stride = 0;            // elements; 0 = channels
  int threads = 0;                       // as ConvArgs::threads
};

// Throws tile32::Error naming the bad argument before anything is written.
void ChannelShuffle(Machine& machine, const PackedChannelShuffle& packed, const ChannelShuffleArgs& args);

}  // namespace tile32

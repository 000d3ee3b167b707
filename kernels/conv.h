// The convolution family: direct convolution, exact integer Winograd F(2x2,3x3) and depthwise convolution,
// one operator with one shape (kernels/operator.h): ConvDesc -> PackConv once -> Conv(Machine&, packed, args).
//
// Tensors: input x NHWC [batch][height][width][in_channels], output y NHWC [batch][out_h][out_w][out_channels]
// (pixel strides may be larger than the channel counts: ConvArgs), weights w OHWI
// [out_channels][kernel_h][kernel_w][in_channels / groups] (ONNX's OIHW with the input channel last).
// Group g reads input channels [g*C/G, (g+1)*C/G) and writes output channels [g*K/G, (g+1)*K/G).
//
// Output size (ONNX): out_h = (height + pad_top + pad_bottom - dilation_h*(kernel_h-1) - 1) / stride_h + 1,
// out_w likewise; both must be >= 1.
//
// Numeric contract. With Y = oy*stride_h - pad_top + ky*dilation_h, X = ox*stride_w - pad_left + kx*dilation_w,
// x_pad(Y, X, c) = x[n][Y][X][c] inside the image and the padding value outside it, and c' the channel inside
// the group:
//   INT8  acc = wrap32(bias[k] + sum_{ky, kx, c'} (x_pad - x_zero_point) * (w[k][ky][kx][c'] - w_zero_point[k]))
//         padding value = x_zero_point, so padded taps add exactly 0. x uint8 or int8, w int8 or uint8.
//   INT16 acc = wrap32(bias[k] + sum x_pad * w), padding value 0. No zero points.
//   BF16  acc = bias[k] (fp32; +0 without bias), then acc = fma(x_pad, w, acc) with ky ascending, then kx
//         ascending, then c' ascending; padding value +0.0 (it takes part in the chain, as in an im2col
//         formulation); one rounding per step, denormals kept, every NaN canonical (0x7FC00000) at the end.
// then y = acc as int32 / fp32, bf16 (round to nearest even, canonical NaN), or requant(acc) to int8 /
// uint8 / int16 by docs/isa.md §5 (any RequantMode, per tensor or per output channel, clamp [qmin, qmax]).
// Every algorithm, machine, SIMD target and thread count gives these bits; Winograd refuses (tile32::Error)
// a call whose result it cannot guarantee to be exactly this, instead of answering differently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accel/isa.h"
#include "accel/machine.h"
#include "kernels/output_quant.h"
#include "layout/tile_pack.h"

namespace tile32 {

// The algorithms, in the order PackConv tries them for kAuto (the first that accepts the desc wins).
enum class ConvAlgorithm : uint8_t {
  kAuto,
  kDepthwise,  // groups == in_channels (channel multiplier out_channels / in_channels): EMAC, 32 MACs per row
  kWinograd,   // 3x3, stride 1, dilation 1, INT8: exact F(2x2,3x3) on the S16S16 tile path (docs/isa.md §9)
  kDirect,     // anything: implicit GEMM on TMAC
};
const char* NameOf(ConvAlgorithm a);

// How direct convolution forms the reduction (layout/conv_weights.h documents both):
enum class ConvLayout : uint8_t {
  kAuto,      // the one with fewer weight tiles per 32 output channels; when C/G is a multiple of 32 (the
              // same packed weights serve both) chosen per call: folded when over 1/10 of tap-major's rows
              // would be junk columns (small outputs), else tap-major
  kTapMajor,  // one reduction chunk per kernel tap, channels padded to 32 per tap; the input is read in place
  kFolded,    // kernel_h*kernel_w*C/groups folded into one reduction padded to 32 once; patches gathered by DMA
};
const char* NameOf(ConvLayout l);

struct ConvDesc {
  int in_channels = 0;   // C >= 1
  int out_channels = 0;  // K >= 1
  int groups = 1;        // divides C and K
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;  // >= 0, asymmetric allowed

  DType x_type = DType::kU8;  // kU8, kI8 (INT8), kI16, kBF16
  DType w_type = DType::kI8;  // kI8, kU8 (INT8 with kU8/kI8 activations), kI16, kBF16 (raw bits)
  const void* w = nullptr;    // OHWI, dense
  // INT8 only: null (all 0), or 1 (per tensor) or out_channels (per output channel) entries in w_type's range.
  const int32_t* w_zero_points = nullptr;
  int w_zero_point_count = 0;
  const int32_t* bias = nullptr;    // out_channels entries, INT8 and INT16 (optional)
  const float* bias_f32 = nullptr;  // out_channels entries, BF16 (optional; raw bits kept)

  // > 1: x is the tensor *before* a channel shuffle of this many groups (kernels/channel_shuffle.h), and the
  // shuffle is folded into the packed weights: Conv(x) equals Conv of ChannelShuffle(x) with these weights,
  // bit for bit, at no cost. Needs groups == 1 and an integer mode (the fold reorders the reduction, which
  // BF16's ordered fma chain would show). 0 or 1: no shuffle.
  int input_shuffle_groups = 0;

  ConvAlgorithm algorithm = ConvAlgorithm::kAuto;
  ConvLayout layout = ConvLayout::kAuto;  // kDirect only
};

// Output spatial size of desc on an input of `height` x `width` (the formula above; may be < 1).
int ConvOutHeight(const ConvDesc& desc, int height);
int ConvOutWidth(const ConvDesc& desc, int width);

// The weights packed once for one algorithm. Built by PackConv, kept by the caller, reused across calls,
// machines and threads (read-only). The fields below are filled by PackConv; Conv checks their consistency.
struct PackedConv {
  ConvDesc desc;                   // copied; its pointers are null after packing
  ConvAlgorithm algorithm = ConvAlgorithm::kDirect;  // resolved, never kAuto
  ConvLayout layout = ConvLayout::kTapMajor;         // kDirect: as packed (kAuto: decided per call)
  MacMode mode = MacMode::kU8S8;   // the MAC mode of the types (direct and depthwise issue it; Winograd issues S16S16)
  // Direct: one PackedWeights per group. Winograd: per group, the 16 transformed matrices U (int16, C/G x
  // K/G) one after another, position (xi, nu) = 4 * xi + nu.
  std::vector<PackedWeights> weights;
  // Depthwise: per block of 32 output channels, per tap (ky, kx), the 32 weights as one VLD reads them
  // (one element of the weight type per lane), zero past the last channel.
  std::vector<uint8_t> lane_weights;
  // Depthwise: bias_row's words in channel order (block b = output channels 32 b ... 32 b + 31), zero past K:
  // read per call without touching bias_row's one block per group.
  std::vector<uint32_t> lane_bias;
  // Winograd: per output channel, the sum over input channels of U at position (1, 1), the only position
  // where a constant input transforms to non-zero (4): the term that the activation zero point multiplies.
  std::vector<int32_t> u11_sums;
  std::vector<uint32_t> bias_row;  // 32 * ceil(K/32) raw ACC words: bias and the folded weight terms (INT8), fp32 bits (BF16)
  std::vector<int32_t> w_sum;      // INT8: per output channel, the sum of its packed weights (for the per-call x_zero_point)
  std::vector<int32_t> w_zero_points;  // INT8: per output channel, after any uint8 -> int8 shift
  std::vector<int64_t> w_abs_sum;  // Winograd: per output channel, sum of |w - w_zero_point| (the exactness bound)
  bool needs_row_sums = false;     // INT8: some shifted weight zero point is non-zero
  std::string Describe() const;    // "direct tap-major u8s8, 2 groups, 18 tiles per 32 outputs", for reports
};

// Validates desc (every field named in the error with its allowed range) and packs the weights for the
// algorithm desc.algorithm (or the first of the list above that accepts the desc). An explicit algorithm
// that cannot run desc is an error naming why.
PackedConv PackConv(const ConvDesc& desc);

struct ConvArgs {
  int batch = 1, height = 0, width = 0;  // input N, H, W, each >= 1
  const void* x = nullptr;                // NHWC of desc.x_type
  int64_t x_pixel_stride = 0;             // elements from one pixel to the next; 0 = in_channels
  int32_t x_zero_point = 0;               // INT8 only, in x_type's range; per call (dynamic quantization)
  DType y_type = DType::kI32;             // kI32, kI8, kU8, kI16 (integer modes); kF32, kBF16 (BF16)
  void* y = nullptr;                      // NHWC of y_type; must not overlap x
  int64_t y_pixel_stride = 0;             // elements from one output pixel to the next; 0 = out_channels
  const OutputQuant* quant = nullptr;     // required for kI8, kU8, kI16 outputs
  int threads = 0;                        // 0: TILE32_NUM_THREADS if set, else every core oneTBB offers
};

// Runs the packed convolution on `machine` in a oneTBB arena of `threads` slots. Throws tile32::Error naming
// the bad argument (shape, pointer, stride, type, quant field, overlap of y with x, packed weights that are
// not PackConv's) before anything is written.
void Conv(Machine& machine, const PackedConv& packed, const ConvArgs& args);

}  // namespace tile32

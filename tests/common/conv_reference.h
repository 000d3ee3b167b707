// Textbook references for the convolution family (kernels/conv.h) and channel shuffle
// (kernels/channel_shuffle.h), written from the numeric contracts in those headers' comments with plain
// loops. Like tests/common/reference.h they share no code with accel/ (numeric.h, the machines), layout/
// or kernels/: a conv test compares two independent derivations of the same bits. accel/isa.h is used for
// its enums only.
//
// Layouts are dense: x NHWC [batch][height][width][in_channels], w OHWI
// [out_channels][kernel_h][kernel_w][in_channels / groups], y NHWK [batch][out_h][out_w][out_channels].
// Group g reads input channels [g*C/G, (g+1)*C/G) and writes output channels [g*K/G, (g+1)*K/G).
// A shape the contract rejects (a count < 1, groups not dividing C and K, output size < 1) throws
// std::invalid_argument naming the field: a misused oracle fails the test loudly.
#pragma once

#include <cstdint>
#include <vector>

#include "tests/common/reference.h"

namespace tile32::testing {

struct ConvRefShape {
  int batch = 1, height = 1, width = 1;
  int in_channels = 1, out_channels = 1, groups = 1;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
};

// ONNX: floor((height + pad_top + pad_bottom - dilation_h*(kernel_h-1) - 1) / stride_h) + 1, width likewise.
// The division floors (not truncates), so an input smaller than the dilated kernel gives <= 0, never 1.
int ConvRefOutH(const ConvRefShape& s);
int ConvRefOutW(const ConvRefShape& s);

// INT8 and INT16: y[n][oy][ox][k] = wrap32(bias[k] + sum_{ky,kx,c'} (x_pad - x_zero_point) * (w - w_zp[k])),
// x_pad = x_zero_point outside the image, so padded taps add exactly 0. x and w are codes widened to int32
// (uint8, int8 or int16 values); INT16 callers pass x_zero_point 0 and w_zero_points null.
// w_zero_points: null (all 0) or out_channels entries; bias: null (all 0) or out_channels entries.
// Exact for any int32 inputs: the sum is formed modulo 2^64 in uint64, which keeps it exact modulo 2^32.
std::vector<int32_t> ConvIntRef(const ConvRefShape& s, const int32_t* x, int32_t x_zero_point, const int32_t* w,
                                const int32_t* w_zero_points, const int32_t* bias);

// BF16: acc = bias[k] (or +0.0f), then acc = std::fma(x_pad, w, acc) for ky ascending, kx ascending, c'
// ascending, x_pad = the bf16 widened exactly (bits << 16) inside the image and +0.0f outside. Padded taps
// are not skipped: they take part with value +0.0 (so a -0 accumulator meeting a padded tap with a positive
// weight becomes +0, and a padded tap with an infinite weight gives NaN). Returns fp32 bits, every NaN as
// the canonical 0x7FC00000. x and w are raw bf16 bits; bias null or out_channels entries.
std::vector<uint32_t> ConvBf16Ref(const ConvRefShape& s, const uint16_t* x, const uint16_t* w, const float* bias);

// y[p][i*groups + j] = x[p][j*(channels/groups) + i] for i < channels/groups, j < groups: elements of
// elem_bytes bytes (1 or 2), `pixels` dense pixels of `channels` elements each.
std::vector<uint8_t> ChannelShuffleRef(int pixels, int channels, int groups, int elem_bytes, const uint8_t* x);

// Requantizes a dense NHWK int32 tensor channel by channel (channel = index mod out_channels), docs/isa.md §5.
std::vector<int32_t> RequantNhwkRef(const std::vector<int32_t>& acc, int out_channels, const RefQuant& q);

}  // namespace tile32::testing

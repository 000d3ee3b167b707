// Shared fixtures of the convolution tests: a case (shape, types, zero points, output, algorithm), its data
// and expected bytes from the textbook loops of tests/common/conv_reference.h, and a runner that compares
// every byte of y (the bytes between out_channels and the pixel stride must stay untouched) on the scalar
// machine and the SIMD machine under every target. Seeds are printed on failure; TILE32_SEED overrides.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/channel_shuffle.h"
#include "kernels/conv.h"
#include "tests/common/conv_reference.h"
#include "tests/common/gemm_test_util.h"

namespace tile32 {
namespace conv_test {

using gemm_test::Data;
using gemm_test::Machines;
using gemm_test::WeightZp;
using testing::ConvRefShape;
using testing::RefQuant;

struct ConvCase {
  ConvRefShape s;
  DType x_type = DType::kU8, w_type = DType::kI8;
  Data data = Data::kRandom;
  int32_t x_zp = 0;
  WeightZp w_zp = WeightZp::kNone;
  int32_t w_zp_value = 0;
  bool bias = false;
  int32_t bias_base = 0;  // added to every int32 bias (near INT32_MAX: the accumulators wrap)
  DType y_type = DType::kI32;
  RequantMode mode = RequantMode::kTflDouble;
  bool per_channel = false;
  bool narrow_clamp = false;
  int x_stride_extra = 0, y_stride_extra = 0;  // pixel strides beyond the channel counts
  int input_shuffle_groups = 0;                // > 1: x is shuffled before the conv (folded or explicit)
  ConvAlgorithm algorithm = ConvAlgorithm::kAuto;
  ConvLayout layout = ConvLayout::kAuto;
  int threads = 0;
};

std::string Describe(const ConvCase& c, uint64_t seed);

// Inputs, packed weights, quantization and the bytes y must hold.
struct ConvPrepared {
  ConvCase c;
  uint64_t seed = 0;
  std::vector<uint8_t> x;  // [pixels][x pixel stride] elements of x_type
  std::vector<uint8_t> w;  // OHWI elements of w_type
  std::vector<int32_t> w_zps;
  std::vector<int32_t> bias;
  std::vector<float> bias_f32;
  RefQuant ref_quant;
  OutputQuant quant;
  PackedConv packed;
  std::vector<uint8_t> want;  // [out pixels][y pixel stride] of y_type; stride padding = kSentinel
  int out_h = 0, out_w = 0;
  int64_t x_stride = 0, y_stride = 0;
};

// The desc the case describes (pointers into p).
ConvDesc DescOf(const ConvPrepared& p);

// Data, reference and packing. The expected output of a case with input_shuffle_groups is the convolution
// of the shuffled input (ChannelShuffleRef) with the same weights.
std::unique_ptr<ConvPrepared> PrepareConv(const ConvCase& c, uint64_t seed);

// Runs p on `machine` (Conv with p.packed) and compares every byte; on an exception, the failure names it.
::testing::AssertionResult RunConvOn(Machine& machine, const ConvPrepared& p, int threads);

// p on the scalar machine and the SIMD machine under every target.
void RunConvEverywhere(Machines& machines, const ConvPrepared& p);
// The same with every SRAM byte random (rng) before each machine runs p: what a kernel reads it must have
// written (a padding it relies on, zeroed), or must not matter (bf16 NaN and Inf patterns among the bytes).
void RunConvOnStaleSram(Machines& machines, const ConvPrepared& p, std::mt19937_64& rng);
// The numeric family of a stale-SRAM case: 0 keeps c's INT8 types with per-channel weight zero points (their
// row sums read every lane), 1 INT16 into int32, 2 BF16 into fp32.
void StaleSramFamily(ConvCase& c, int family);
inline void RunConvEverywhere(Machines& machines, const ConvCase& c, uint64_t seed) {
  RunConvEverywhere(machines, *PrepareConv(c, seed));
}

// Varies an INT8 case by its index, as the GEMM edge grid does: the type pair, zero points at both ends of
// their ranges, weight zero points per tensor or channel, bias, pixel strides, and the output (int32, or
// every requant mode per tensor and per channel into u8, i8 or i16, with or without a narrow clamp).
void Vary(ConvCase& c, int index);

// A shape with the given channels and spatial size, 3x3 stride 1 pad 1 unless changed by the caller.
inline ConvRefShape Shape(int C, int K, int H, int W) {
  ConvRefShape s;
  s.in_channels = C, s.out_channels = K, s.height = H, s.width = W;
  s.kernel_h = s.kernel_w = 3;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  return s;
}

}  // namespace conv_test
}  // namespace tile32

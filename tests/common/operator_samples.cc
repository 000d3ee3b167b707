#include "tests/common/operator_samples.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/common/conv_test_util.h"
#include "tests/common/gemm_test_util.h"

namespace tile32::test {

using conv_test::ConvCase;
using gemm_test::Data;
using gemm_test::WeightZp;

void OperatorSamplesGemm(Machine& machine) {
  const uint64_t seed = testing::TestSeed(9001);
  gemm_test::Case cases[4];
  cases[0].M = 70, cases[0].N = 33, cases[0].K = 100, cases[0].a_zp = 7, cases[0].bias = true;
  cases[0].c_type = DType::kU8, cases[0].mode = RequantMode::kFloatZpFirst;
  cases[1].M = 300, cases[1].N = 40, cases[1].K = 65, cases[1].a_type = DType::kI8, cases[1].b_type = DType::kU8;
  cases[1].b_zp = WeightZp::kPerChannel, cases[1].c_type = DType::kI8, cases[1].per_channel = true;
  cases[2].M = 9, cases[2].N = 70, cases[2].K = 33, cases[2].a_type = cases[2].b_type = DType::kI16;
  cases[2].c_type = DType::kI16, cases[2].mode = RequantMode::kTflSingle;
  cases[3].M = 17, cases[3].N = 20, cases[3].K = 50, cases[3].a_type = cases[3].b_type = DType::kBF16;
  cases[3].c_type = DType::kBF16, cases[3].data = Data::kSpecial, cases[3].bias = true;
  for (int i = 0; i < 4; ++i) {
    const auto p = gemm_test::Prepare(cases[i], seed + i);
    SCOPED_TRACE(gemm_test::Describe(p->c, p->seed));
    EXPECT_TRUE(gemm_test::RunOn(machine, *p, 0)) << "on " << machine.name();
  }
}

void OperatorSamplesConvDirect(Machine& machine) {
  const uint64_t seed = testing::TestSeed(9002);
  ConvCase cases[4];
  cases[0].s = conv_test::Shape(64, 40, 9, 8);  // tap-major
  cases[0].x_zp = 128, cases[0].bias = true, cases[0].y_type = DType::kU8, cases[0].per_channel = true;
  cases[1].s = conv_test::Shape(3, 33, 11, 10);  // folded, stride 2
  cases[1].s.stride_h = cases[1].s.stride_w = 2, cases[1].x_type = DType::kI8, cases[1].x_zp = -3;
  cases[1].w_zp = WeightZp::kPerTensor, cases[1].w_zp_value = 5, cases[1].y_type = DType::kI8;
  cases[2].s = conv_test::Shape(40, 40, 6, 7);  // groups, int16
  cases[2].s.groups = 4, cases[2].x_type = cases[2].w_type = DType::kI16, cases[2].y_type = DType::kI32;
  cases[3].s = conv_test::Shape(33, 20, 5, 5);  // bf16, dilation
  cases[3].s.dilation_h = cases[3].s.dilation_w = 2, cases[3].s.pad_top = cases[3].s.pad_left = 2;
  cases[3].x_type = cases[3].w_type = DType::kBF16, cases[3].y_type = DType::kBF16, cases[3].data = Data::kSpecial;
  for (int i = 0; i < 4; ++i) {
    cases[i].algorithm = ConvAlgorithm::kDirect;
    const auto p = conv_test::PrepareConv(cases[i], seed + i);
    SCOPED_TRACE(conv_test::Describe(p->c, p->seed));
    EXPECT_TRUE(conv_test::RunConvOn(machine, *p, 0)) << "on " << machine.name();
  }
}

void OperatorSamplesConvWinograd(Machine& machine) {
  const uint64_t seed = testing::TestSeed(9005);
  ConvCase cases[3];
  cases[0].s = conv_test::Shape(64, 40, 9, 8);  // even and odd sizes, zero point, per-channel requant
  cases[0].x_zp = 128, cases[0].bias = true, cases[0].y_type = DType::kU8, cases[0].per_channel = true;
  cases[1].s = conv_test::Shape(33, 70, 7, 11);  // s8 x u8 with weight zero points, asymmetric padding
  cases[1].s.pad_bottom = 0, cases[1].s.pad_left = 2, cases[1].x_type = DType::kI8, cases[1].w_type = DType::kU8;
  cases[1].x_zp = -128, cases[1].w_zp = WeightZp::kPerChannel, cases[1].y_type = DType::kI32;
  cases[2].s = conv_test::Shape(48, 48, 6, 5);  // groups
  cases[2].s.groups = 3, cases[2].y_type = DType::kI16, cases[2].mode = RequantMode::kTflSingle;
  for (int i = 0; i < 3; ++i) {
    cases[i].algorithm = ConvAlgorithm::kWinograd;
    const auto p = conv_test::PrepareConv(cases[i], seed + i);
    SCOPED_TRACE(conv_test::Describe(p->c, p->seed));
    EXPECT_TRUE(conv_test::RunConvOn(machine, *p, 0)) << "on " << machine.name();
  }
}

void OperatorSamplesConvDepthwise(Machine& machine) {
  const uint64_t seed = testing::TestSeed(9004);
  ConvCase cases[3];
  cases[0].s = conv_test::Shape(40, 40, 9, 8);  // 3x3, per-channel weight zero points
  cases[0].x_zp = 100, cases[0].w_zp = WeightZp::kPerChannel, cases[0].bias = true, cases[0].y_type = DType::kU8;
  cases[1].s = conv_test::Shape(33, 66, 11, 10);  // multiplier 2, 5x5 stride 2
  cases[1].s.kernel_h = cases[1].s.kernel_w = 5, cases[1].s.pad_top = cases[1].s.pad_left = 2;
  cases[1].s.stride_h = cases[1].s.stride_w = 2, cases[1].x_type = DType::kI8, cases[1].y_type = DType::kI8;
  cases[1].per_channel = true;
  cases[2].s = conv_test::Shape(31, 31, 6, 7);  // bf16
  cases[2].x_type = cases[2].w_type = DType::kBF16, cases[2].y_type = DType::kF32, cases[2].data = Data::kSpecial;
  for (int i = 0; i < 3; ++i) {
    cases[i].s.groups = cases[i].s.in_channels;
    cases[i].algorithm = ConvAlgorithm::kDepthwise;
    const auto p = conv_test::PrepareConv(cases[i], seed + i);
    SCOPED_TRACE(conv_test::Describe(p->c, p->seed));
    EXPECT_TRUE(conv_test::RunConvOn(machine, *p, 0)) << "on " << machine.name();
  }
}

void OperatorSamplesChannelShuffle(Machine& machine) {
  const uint64_t seed = testing::TestSeed(9003);
  std::mt19937_64 rng(seed);
  const int shapes[][3] = {{116, 2, 1}, {232, 4, 2}, {48, 3, 2}, {7, 7, 1}};  // channels, groups, element bytes
  for (const auto& s : shapes) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " channels " + std::to_string(s[0]) + " groups " +
                 std::to_string(s[1]));
    ChannelShuffleDesc d;
    d.channels = s[0], d.groups = s[1], d.type = s[2] == 1 ? DType::kU8 : DType::kBF16;
    const PackedChannelShuffle packed = PackChannelShuffle(d);
    const int pixels = 2 * 9 * 11;
    std::vector<uint8_t> x(size_t(pixels) * s[0] * s[2]), y(x.size());
    for (auto& v : x) v = static_cast<uint8_t>(rng());
    ChannelShuffleArgs a;
    a.batch = 2, a.height = 9, a.width = 11, a.x = x.data(), a.y = y.data();
    ChannelShuffle(machine, packed, a);
    EXPECT_EQ(y, testing::ChannelShuffleRef(pixels, s[0], s[1], s[2], x.data())) << "on " << machine.name();
  }
}

}  // namespace tile32::test

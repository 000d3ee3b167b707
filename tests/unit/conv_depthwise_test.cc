// Depthwise convolution (kernels/conv.h, ConvAlgorithm::kDepthwise: groups == in_channels, channel
// multiplier m = out_channels / in_channels) against the textbook loops of tests/common/conv_reference.h,
// bit for bit, on the scalar machine and the SIMD machine under every target this CPU supports: channels
// 1 ... 200, multipliers 1, 2, 3, kernels 1x1 ... 7x7 and 3x1, strides 1 and 2 (and larger than the kernel),
// dilation, asymmetric padding, kernels larger than the input, batch 3, every INT8 type pair with zero
// points at both ends and per-channel weight zero points, INT16, BF16 with special values, every requant
// mode, pixel strides, a configuration small enough for many bands, threads 1 and 2; the algorithm choice
// and its errors; and the SIMD machine's EMAC split across threads.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

#include "kernels/operator.h"
#include "tests/common/conv_test_util.h"

namespace tile32 {
namespace conv_test {
namespace {

using gemm_test::kInt8Types;
using gemm_test::kModes;
using gemm_test::ZeroPointAt;
using testing::ExpectErrorMentioning;
using testing::TestSeed;

// A depthwise shape: C channels, multiplier m, 3x3 stride 1 pad 1 unless changed by the caller.
ConvRefShape Depthwise(int C, int m, int H, int W) {
  ConvRefShape s = Shape(C, C * m, H, W);
  s.groups = C;
  return s;
}

// Runs c and checks that it ran as depthwise.
void RunDepthwise(Machines& machines, const ConvCase& c, uint64_t seed) {
  auto p = PrepareConv(c, seed);
  ASSERT_EQ(p->packed.algorithm, ConvAlgorithm::kDepthwise) << Describe(c, seed);
  RunConvEverywhere(machines, *p);
}

TEST(ConvDepthwise, ChannelGrid) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9001);
  int index = 0;
  for (int C : {1, 3, 31, 32, 33, 47, 64, 94, 200}) {
    for (int m : {1, 2}) {
      if (HasFailure()) return;
      ConvCase c;
      c.s = Depthwise(C, m, 5 + index % 3, 4 + index % 4);
      c.algorithm = ConvAlgorithm::kDepthwise;
      Vary(c, index);
      RunDepthwise(machines, c, seed + index++);
    }
  }
  for (int C : {1, 5, 11, 32, 33}) {  // multiplier 3: band channel j = tensor channel j / 3 across blocks
    if (HasFailure()) return;
    ConvCase c;
    c.s = Depthwise(C, 3, 6, 5);
    Vary(c, index);
    RunDepthwise(machines, c, seed + index++);
  }
}

TEST(ConvDepthwise, SpatialGrid) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9002);
  int index = 0;
  struct Geo {
    int H, W, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr;
  };
  const Geo geos[] = {
      {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},      // a single pixel, 1x1
      {1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},      // kernel larger than the input, padding makes one output
      {2, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},      // 5x5 larger than the input
      {1, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},      // one row
      {9, 1, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1},      // one column, stride 2 down
      {7, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},      // stride 2, odd sizes
      {8, 8, 3, 3, 2, 2, 1, 1, 0, 1, 0, 1},      // stride 2, TF "same" padding (bottom/right only)
      {11, 13, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},    // 5x5
      {12, 11, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2},    // 5x5 stride 2
      {9, 7, 3, 3, 4, 3, 1, 1, 0, 0, 0, 0},      // stride larger than the kernel
      {8, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},      // dilation 2
      {10, 10, 3, 3, 2, 2, 2, 2, 2, 1, 0, 2},    // dilation 2, stride 2, asymmetric
      {6, 11, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0},     // 3x1
      {11, 6, 1, 3, 2, 1, 1, 1, 0, 0, 1, 1},     // 1x3, stride 2 down
      {5, 6, 2, 3, 1, 2, 1, 1, 0, 1, 2, 0},      // asymmetric everything
      {13, 13, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3},    // 7x7
      {13, 12, 7, 7, 2, 2, 1, 1, 3, 2, 3, 2},    // 7x7 stride 2, asymmetric
      {10, 10, 3, 3, 3, 1, 2, 3, 1, 4, 0, 2},
  };
  for (const Geo& g : geos) {
    for (int C : {3, 40}) {
      for (int m : {1, 2}) {
        if (HasFailure()) return;
        ConvCase c;
        c.s = Depthwise(C, m, g.H, g.W);
        c.s.kernel_h = g.kh, c.s.kernel_w = g.kw, c.s.stride_h = g.sh, c.s.stride_w = g.sw;
        c.s.dilation_h = g.dh, c.s.dilation_w = g.dw;
        c.s.pad_top = g.pt, c.s.pad_bottom = g.pb, c.s.pad_left = g.pl, c.s.pad_right = g.pr;
        c.algorithm = ConvAlgorithm::kDepthwise;
        Vary(c, index);
        RunDepthwise(machines, c, seed + index++);
      }
    }
  }
}

TEST(ConvDepthwise, BatchAndMultipliers) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9003);
  int index = 0;
  const int shapes[][2] = {{6, 1}, {6, 2}, {6, 3}, {47, 2}, {64, 1}, {33, 3}, {1, 40}};
  for (const auto& sh : shapes) {
    if (HasFailure()) return;
    ConvCase c;
    c.s = Depthwise(sh[0], sh[1], 5, 6);
    c.s.batch = 3;
    Vary(c, index * 5 + 1);
    RunDepthwise(machines, c, seed + index++);
  }
}

// Every INT8 type pair with the zero points at both ends of their ranges, per tensor and per channel.
TEST(ConvDepthwise, Int8ZeroPoints) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9004);
  int index = 0;
  for (const gemm_test::TypePair& t : kInt8Types) {
    for (int end = 0; end < 2; ++end) {
      for (WeightZp wzp : {WeightZp::kNone, WeightZp::kPerTensor, WeightZp::kPerChannel}) {
        if (HasFailure()) return;
        ConvCase c;
        c.s = Depthwise(35, 1 + index % 2, 6, 7);
        c.x_type = t.a, c.w_type = t.b;
        c.x_zp = end == 0 ? RangeOf(t.a).lo : RangeOf(t.a).hi;
        c.w_zp = wzp, c.w_zp_value = end == 0 ? RangeOf(t.b).hi : RangeOf(t.b).lo;
        c.bias = index % 2 == 0;
        c.y_type = index % 3 == 0 ? DType::kI32 : DType::kI8;
        c.mode = kModes[index % 4], c.per_channel = index % 5 < 2;
        RunDepthwise(machines, c, seed + index++);
      }
    }
  }
}

TEST(ConvDepthwise, Int16AndBf16) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9005);
  int index = 0;
  for (int C : {1, 31, 33, 70}) {
    for (DType t : {DType::kI16, DType::kBF16}) {
      for (Data data : {Data::kRandom, t == DType::kBF16 ? Data::kSpecial : Data::kExtreme}) {
        if (HasFailure()) return;
        ConvCase c;
        c.s = Depthwise(C, 1 + index % 2, 6, 5);
        c.s.stride_w = 1 + index % 2, c.s.pad_right = index % 2 == 0 ? 1 : 0;
        if (index % 3 == 2) c.s.kernel_h = c.s.kernel_w = 5, c.s.pad_top = c.s.pad_left = 2;
        c.x_type = c.w_type = t, c.data = data, c.bias = index % 2 == 0;
        c.y_type = t == DType::kBF16 ? (index % 4 < 2 ? DType::kF32 : DType::kBF16)
                                     : (index % 4 < 2 ? DType::kI32 : DType::kI16);
        c.mode = kModes[index % 4], c.per_channel = index % 3 == 0;
        c.x_stride_extra = index % 3 == 1 ? 2 : 0;
        c.y_stride_extra = index % 5 == 1 ? 3 : 0;
        RunDepthwise(machines, c, seed + index++);
      }
    }
  }
}

// BF16 padding is +0.0 and takes part in the fma chain: with x = -0.0 everywhere, weights +1 and bias
// -0.0, interior outputs stay -0.0 while every output with a tap in the padding becomes +0.0.
TEST(ConvDepthwise, Bf16PaddingIsPositiveZero) {
  Machines machines(AccelConfig::Default());
  for (int m : {1, 2}) {
    ConvCase c;
    c.s = Depthwise(33, m, 4, 5);
    c.x_type = c.w_type = DType::kBF16, c.y_type = DType::kF32, c.bias = true;
    auto p = PrepareConv(c, 9006);
    for (size_t i = 0; i + 1 < p->x.size(); i += 2) p->x[i] = 0x00, p->x[i + 1] = 0x80;  // -0.0
    for (size_t i = 0; i + 1 < p->w.size(); i += 2) p->w[i] = 0x80, p->w[i + 1] = 0x3F;  // +1.0
    for (auto& b : p->bias_f32) b = -0.0f;
    p->packed = PackConv(DescOf(*p));
    ASSERT_EQ(p->packed.algorithm, ConvAlgorithm::kDepthwise);
    const int K = c.s.out_channels;
    for (int oy = 0; oy < p->out_h; ++oy) {
      for (int ox = 0; ox < p->out_w; ++ox) {
        const bool border = oy == 0 || ox == 0 || oy == p->out_h - 1 || ox == p->out_w - 1;
        for (int k = 0; k < K; ++k) {
          uint8_t* w = &p->want[((size_t(oy) * p->out_w + ox) * K + k) * 4];
          w[0] = w[1] = w[2] = 0, w[3] = border ? 0x00 : 0x80;
        }
      }
    }
    RunConvEverywhere(machines, *p);
  }
}

// Every requantization mode, per tensor and per channel, with and without a narrow clamp, every output type.
TEST(ConvDepthwise, RequantModes) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9007);
  int index = 0;
  for (RequantMode mode : kModes) {
    for (bool per_channel : {false, true}) {
      for (DType out : {DType::kU8, DType::kI8, DType::kI16}) {
        if (HasFailure()) return;
        ConvCase c;
        c.s = Depthwise(40, 1 + index % 2, 6, 6);
        c.s.stride_h = c.s.stride_w = 1 + index % 2;
        c.x_type = kInt8Types[index % 4].a, c.w_type = kInt8Types[index % 4].b;
        c.x_zp = ZeroPointAt(c.x_type, index), c.w_zp = static_cast<WeightZp>(index % 3);
        c.w_zp_value = ZeroPointAt(c.w_type, index + 1);
        c.bias = true, c.y_type = out, c.mode = mode, c.per_channel = per_channel;
        c.narrow_clamp = index % 2 == 1;
        RunDepthwise(machines, c, seed + index++);
      }
    }
  }
}

// Accumulators that wrap: extreme data and a bias near INT32_MAX, every INT8 type pair, and INT16.
TEST(ConvDepthwise, Int32Wrap) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9008);
  for (int i = 0; i < 5; ++i) {
    ConvCase c;
    c.s = Depthwise(40, 1 + i % 2, 4, 4);
    c.s.kernel_h = c.s.kernel_w = 7, c.s.pad_top = c.s.pad_bottom = c.s.pad_left = c.s.pad_right = 3;
    if (i < 4) {
      c.x_type = kInt8Types[i].a, c.w_type = kInt8Types[i].b;
      c.x_zp = ZeroPointAt(c.x_type, i), c.w_zp = WeightZp::kPerChannel;
    } else {
      c.x_type = c.w_type = DType::kI16;
    }
    c.data = Data::kExtreme, c.bias = true, c.bias_base = INT32_MAX - 50000;
    RunDepthwise(machines, c, seed + i);
  }
}

// Pixel strides beyond the channel counts: the band loader's per-pixel, per-channel and flattened DMAs.
TEST(ConvDepthwise, PixelStrides) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9009);
  int index = 0;
  for (int C : {3, 32, 40}) {
    for (int m : {1, 2}) {
      for (int extra : {0, 1, 7}) {
        if (HasFailure()) return;
        ConvCase c;
        c.s = Depthwise(C, m, 5, 9);
        c.s.stride_w = 1 + index % 2;
        c.x_type = DType::kU8, c.x_zp = 3, c.bias = true;
        c.x_stride_extra = extra, c.y_stride_extra = (extra + index) % 3;
        RunDepthwise(machines, c, seed + index++);
      }
    }
  }
}

// So small that a layer needs several bands, chunks of rows, one block of weights at a time and V
// registers reloaded per tap (7x7 = 49 taps in 8 registers).
AccelConfig SmallConfig() {
  AccelConfig c;
  c.sram_bytes = 24 << 10;
  c.acc_rows = 40;
  c.vector_regs = 8;
  return c;
}

TEST(ConvDepthwise, SmallConfigurationManyBands) {
  Machines machines(SmallConfig());
  const uint64_t seed = TestSeed(9010);
  int index = 0;
  struct Small {
    int C, m, H, W, k, s;
    DType x, w;
    WeightZp zp;
  };
  const Small cases[] = {
      {47, 1, 20, 18, 3, 1, DType::kU8, DType::kI8, WeightZp::kPerChannel},
      {70, 2, 13, 11, 3, 2, DType::kI8, DType::kU8, WeightZp::kPerTensor},
      {33, 1, 15, 9, 7, 1, DType::kU8, DType::kU8, WeightZp::kNone},
      {20, 3, 9, 10, 5, 2, DType::kI16, DType::kI16, WeightZp::kNone},
      {40, 1, 12, 17, 3, 1, DType::kBF16, DType::kBF16, WeightZp::kNone},
  };
  for (const Small& s : cases) {
    if (HasFailure()) return;
    ConvCase c;
    c.s = Depthwise(s.C, s.m, s.H, s.W);
    c.s.kernel_h = c.s.kernel_w = s.k, c.s.stride_h = c.s.stride_w = s.s;
    c.s.pad_top = c.s.pad_bottom = c.s.pad_left = c.s.pad_right = s.k / 2;
    c.s.batch = 2;
    c.x_type = s.x, c.w_type = s.w, c.w_zp = s.zp, c.w_zp_value = ZeroPointAt(s.w, index);
    if (IsInt8(s.x)) c.x_zp = ZeroPointAt(s.x, index + 2);
    c.bias = true;
    c.y_type = s.x == DType::kBF16 ? DType::kBF16 : DType::kI8;
    c.mode = kModes[index % 4], c.per_channel = index % 2 == 0;
    auto p = PrepareConv(c, seed + index);
    ASSERT_EQ(p->packed.algorithm, ConvAlgorithm::kDepthwise);
    // Several bands per image: more band loads than images.
    ScalarMachine probe(SmallConfig());
    ASSERT_TRUE(RunConvOn(probe, *p, 1)) << Describe(c, p->seed);
    const uint64_t emacs = probe.counters().per_opcode[Instr(ElemMac{}).index()];
    const int taps = s.k * s.k, blocks = (s.C * s.m + 31) / 32;
    EXPECT_GE(emacs, uint64_t(3 * c.s.batch * taps * blocks) * (s.zp == WeightZp::kNone ? 1 : 2)) << Describe(c, p->seed);
    RunConvEverywhere(machines, *p);
    ++index;
  }
}

// SRAM for a band of one output row and a few output rows only: the weights stream one block at a time,
// chunks split output rows; and ACC for one row (with row sums: 5 rows), V registers for 3 taps.
TEST(ConvDepthwise, TinyConfigurations) {
  const uint64_t seed = TestSeed(9015);
  int index = 0;
  for (int variant = 0; variant < 4; ++variant) {
    AccelConfig config;
    if (variant < 2) {
      config.sram_bytes = 6 << 10;
    } else {
      config.acc_rows = variant == 2 ? 1 : 5;
      config.vector_regs = 4;
    }
    Machines machines(config);
    ConvCase c;
    c.s = Depthwise(variant < 2 ? 256 / (1 + variant) : 40, 1 + variant % 2, 3 + variant, variant < 2 ? 3 : 9);
    c.x_type = DType::kU8, c.w_type = variant % 2 ? DType::kU8 : DType::kI8;
    c.x_zp = 7, c.bias = true, c.y_type = DType::kI8, c.per_channel = true;
    c.w_zp = variant == 2 ? WeightZp::kNone : WeightZp::kPerChannel;
    c.s.batch = 2;
    RunDepthwise(machines, c, seed + index++);
    if (HasFailure()) return;
  }
}

// kAuto picks depthwise for groups == in_channels (any multiplier), direct otherwise and when a direct
// layout is asked for.
TEST(ConvDepthwise, AutoPicksDepthwise) {
  const int8_t w[64 * 9] = {};
  ConvDesc d;
  d.in_channels = 8, d.out_channels = 16, d.groups = 8, d.kernel_h = d.kernel_w = 3;
  d.x_type = DType::kU8, d.w_type = DType::kI8, d.w = w;
  EXPECT_EQ(PackConv(d).algorithm, ConvAlgorithm::kDepthwise);
  EXPECT_TRUE(PackConv(d).lane_weights.size() == 9 * 32 && PackConv(d).weights.empty());
  d.out_channels = 8;
  EXPECT_EQ(PackConv(d).algorithm, ConvAlgorithm::kDepthwise);
  d.groups = 4;  // not depthwise: a 3x3 stride-1 INT8 layer within Winograd's bound goes to Winograd
  EXPECT_EQ(PackConv(d).algorithm, ConvAlgorithm::kWinograd);
  d.stride_h = 2;
  EXPECT_EQ(PackConv(d).algorithm, ConvAlgorithm::kDirect);
  d.stride_h = 1;
  d.groups = 8, d.layout = ConvLayout::kTapMajor;
  EXPECT_EQ(PackConv(d).algorithm, ConvAlgorithm::kDirect);
  d.layout = ConvLayout::kAuto, d.in_channels = 1, d.out_channels = 5, d.groups = 1;  // C = 1: groups == C
  EXPECT_EQ(PackConv(d).algorithm, ConvAlgorithm::kDepthwise);
  d.x_type = d.w_type = DType::kBF16;
  EXPECT_EQ(PackConv(d).algorithm, ConvAlgorithm::kDepthwise);
}

// The auto-picked depthwise computes the same bytes (the grids above ask for it explicitly).
// Depthwise leaves the channel padding of its input band as SRAM holds it (BandSource::pad_channels): with
// every SRAM byte random before each run, channel counts that pad (33, 47, 144, multiplier 2, stride 2) still
// give the reference's bytes, INT8 with per-channel weight zero points (their row sums read the padding
// lanes too), INT16 and BF16.
TEST(ConvDepthwise, StaleSramInChannelPadding) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9016);
  std::mt19937_64 rng(seed);
  int index = 0;
  for (const auto& [C, m, stride] : std::vector<std::array<int, 3>>{{33, 1, 1}, {47, 2, 1}, {144, 1, 2}, {47, 1, 2}}) {
    for (int family = 0; family < 3; ++family) {
      if (HasFailure()) return;
      ConvCase c;
      c.s = Depthwise(C, m, 9, 8);
      c.s.stride_h = c.s.stride_w = stride;
      c.algorithm = ConvAlgorithm::kDepthwise;
      Vary(c, index);
      StaleSramFamily(c, family);
      auto p = PrepareConv(c, seed + index++);
      ASSERT_EQ(p->packed.algorithm, ConvAlgorithm::kDepthwise) << Describe(c, p->seed);
      RunConvOnStaleSram(machines, *p, rng);
    }
  }
}

TEST(ConvDepthwise, AutoRunsDepthwise) {
  Machines machines(AccelConfig::Default());
  ConvCase c;
  c.s = Depthwise(48, 2, 7, 6);
  c.w_zp = WeightZp::kPerChannel, c.x_zp = 17, c.bias = true, c.y_type = DType::kU8;
  RunDepthwise(machines, c, TestSeed(9011));
}

TEST(ConvDepthwise, Errors) {
  const int8_t w[64 * 9] = {};
  ConvDesc d;
  d.in_channels = 8, d.out_channels = 8, d.groups = 1, d.kernel_h = d.kernel_w = 3;
  d.x_type = DType::kU8, d.w_type = DType::kI8, d.w = w;
  d.algorithm = ConvAlgorithm::kDepthwise;
  ExpectErrorMentioning([&] { PackConv(d); }, "desc.algorithm = depthwise cannot run this convolution");
  ExpectErrorMentioning([&] { PackConv(d); }, "groups = 1 with in_channels = 8");
  d.groups = 2;
  ExpectErrorMentioning([&] { PackConv(d); }, "one group per input channel");
  d.groups = 8, d.layout = ConvLayout::kFolded;
  ExpectErrorMentioning([&] { PackConv(d); }, "applies to the direct algorithm only");
  // A configuration whose SRAM holds less than a band of one output row.
  d.layout = ConvLayout::kAuto;
  const PackedConv p = PackConv(d);
  AccelConfig tiny;
  tiny.sram_bytes = 1 << 10;
  ScalarMachine m(tiny);
  std::vector<uint8_t> x(size_t(8) * 100 * 8), y(size_t(8) * 100 * 8 * 4);
  ConvArgs a;
  a.height = 8, a.width = 100, a.x = x.data(), a.y = y.data(), a.threads = 1;
  ExpectErrorMentioning([&] { Conv(m, p, a); }, "accelerator configuration too small");
  // y over the packed weights.
  a.y = const_cast<uint8_t*>(p.lane_weights.data());
  ExpectErrorMentioning([&] { Conv(m, p, a); }, "the packed weights");
  a.y = y.data();
  // Weight zero points need two ACC rows per row and two spare rows.
  const int32_t zp = 3;
  d.w_zero_points = &zp, d.w_zero_point_count = 1;
  const PackedConv pz = PackConv(d);
  AccelConfig few;
  few.acc_rows = 3;
  ScalarMachine m3(few);
  ExpectErrorMentioning([&] { Conv(m3, pz, a); }, "4 ACC rows");
}

// Threads 1 and 2 give the same bytes on MobileNetV2-sized layers, whose REQ, ACC_LD and DMA instructions
// the SIMD machine splits across threads (its EMAC split is tested by ConvDepthwiseEmac below).
TEST(ConvDepthwise, ThreadsGiveSameBytes) {
  const uint64_t seed = TestSeed(9012);
  SimdMachine simd(AccelConfig::Default());
  int index = 0;
  struct Layer {
    int C, m, H, s;
    DType x;
  };
  for (const Layer& l : {Layer{32, 1, 112, 1, DType::kU8}, Layer{144, 1, 56, 2, DType::kI8},
                         Layer{40, 2, 30, 1, DType::kU8}, Layer{64, 1, 40, 1, DType::kBF16}}) {
    if (HasFailure()) return;
    ConvCase c;
    c.s = Depthwise(l.C, l.m, l.H, l.H);
    c.s.stride_h = c.s.stride_w = l.s;
    c.x_type = c.w_type = l.x;
    if (l.x == DType::kU8) c.w_type = DType::kI8, c.x_zp = 128, c.w_zp = WeightZp::kPerChannel;
    c.bias = true;
    c.y_type = l.x == DType::kBF16 ? DType::kBF16 : DType::kU8;
    c.per_channel = true;
    auto p = PrepareConv(c, seed + index++);
    for (int64_t target : test::TargetsToTest()) {
      test::ScopedTarget scoped(target);
      for (int threads : {1, 2}) {
        EXPECT_TRUE(RunConvOn(simd, *p, threads)) << scoped.name() << " threads " << threads << " " << Describe(c, p->seed);
      }
    }
  }
}

// The SIMD machine's EMAC over many rows, split across a 2-thread arena, against the scalar machine: every
// mode, full-range weights and activations, ACC that wraps, an odd stride.
TEST(ConvDepthwiseEmac, SplitAcrossThreadsMatchesScalar) {
  AccelConfig config;
  config.acc_rows = 8192;
  std::mt19937_64 rng(TestSeed(9013));
  for (MacMode mode : {MacMode::kU8S8, MacMode::kS8S8, MacMode::kS16S16, MacMode::kBF16}) {
    ScalarMachine scalar(config);
    SramBytes& s = scalar.sram();
    for (size_t i = 0; i < size_t{1} << 20; ++i) s[i] = static_cast<uint8_t>(rng());
    if (mode == MacMode::kBF16) {  // mostly moderate bf16 values, some special
      for (size_t i = 0; i + 1 < size_t{1} << 20; i += 2) {
        const uint16_t v = gemm_test::RandomBf16(rng, Data::kSpecial);
        s[i] = static_cast<uint8_t>(v), s[i + 1] = static_cast<uint8_t>(v >> 8);
      }
    }
    SimdMachine simd(config);
    simd.sram() = s;
    const int elem = SizeOf(ActivationType(mode));
    std::vector<Instr> program;
    AccLoad acc;  // random ACC contents (int32 near the limits wrap; fp32 bits of any kind)
    acc.row = 0, acc.rows = 8192, acc.addr = 0, acc.row_stride = 128;
    program.push_back(acc);
    VLoad w;
    w.vd = 5, w.type = DType::kI32, w.addr = 1000, w.stride = 4;
    program.push_back(w);
    ElemMac e;
    e.mode = mode, e.acc_row = 0, e.rows = 8192, e.a_addr = 3 * 64, e.a_stride = 32 * elem + 6, e.vw = 5;
    program.push_back(e);
    e.acc_row = 7, e.rows = 3001, e.a_addr = 200000, e.a_stride = -(32 * elem), e.vw = 5;
    program.push_back(e);
    e.acc_row = 4001, e.rows = 4191, e.a_addr = 5, e.a_stride = 32 * elem, e.vw = 5;  // split, odd address
    program.push_back(e);
    for (const Instr& i : program) scalar.Execute(i);
    for (int64_t target : test::TargetsToTest()) {
      test::ScopedTarget scoped(target);
      for (int threads : {1, 2}) {
        simd.sram() = s;
        RunInArena(threads, [&] {
          for (const Instr& i : program) simd.Execute(i);
        });
        int bad = 0;
        for (uint32_t r = 0; r < 8192 && bad < 5; ++r) {
          for (int j = 0; j < kLanes; ++j) {
            if (simd.acc_row(r)[j] != scalar.acc_row(r)[j] && ++bad <= 5) {
              ADD_FAILURE() << NameOf(mode) << " " << scoped.name() << " threads " << threads << ": ACC[" << r << "]["
                            << j << "] = " << simd.acc_row(r)[j] << ", scalar " << scalar.acc_row(r)[j];
            }
          }
        }
      }
    }
  }
}

TEST(ConvDepthwise, RandomShapes) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9014);
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % uint64_t(hi - lo + 1)); };
  for (int i = 0; i < 16 && !HasFailure(); ++i) {
    ConvCase c;
    const int C = pick(1, 70), m = pick(1, 3);
    c.s = Depthwise(C, m, 1, 1);
    c.s.kernel_h = pick(1, 5), c.s.kernel_w = pick(1, 5);
    c.s.stride_h = pick(1, 3), c.s.stride_w = pick(1, 3);
    c.s.dilation_h = pick(1, 2), c.s.dilation_w = pick(1, 2);
    c.s.pad_top = pick(0, 2), c.s.pad_bottom = pick(0, 2), c.s.pad_left = pick(0, 2), c.s.pad_right = pick(0, 2);
    c.s.batch = pick(1, 2);
    c.s.height = std::max(pick(1, 12), (c.s.kernel_h - 1) * c.s.dilation_h + 1);
    c.s.width = std::max(pick(1, 12), (c.s.kernel_w - 1) * c.s.dilation_w + 1);
    const int family = pick(0, 5);
    if (family == 4) {
      c.x_type = c.w_type = DType::kI16, c.y_type = DType::kI32, c.bias = true;
    } else if (family == 5) {
      c.x_type = c.w_type = DType::kBF16, c.y_type = DType::kBF16, c.data = Data::kSpecial, c.bias = true;
    } else {
      Vary(c, pick(0, 1000));
    }
    RunDepthwise(machines, c, seed * 131 + i);
  }
}

}  // namespace
}  // namespace conv_test
}  // namespace tile32

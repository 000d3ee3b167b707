// Direct convolution (kernels/conv.h, ConvAlgorithm::kDirect, both layouts) against the textbook loops of
// tests/common/conv_reference.h, bit for bit, on the scalar machine and the SIMD machine under every target
// this CPU supports: the edge grid (channels 1 ... 200, sizes 1 ... odd, kernels larger than the
// input, strides larger than the kernel, dilation, asymmetric padding, groups up to C, batch 3, zero points
// at both ends, qmin/qmax, int32 wrap), every type family and output, random shapes with printed seeds.
#include <gtest/gtest.h>

#include <random>

#include "tests/common/conv_test_util.h"

namespace tile32 {
namespace conv_test {
namespace {

using gemm_test::kInt8Types;
using gemm_test::kModes;
using gemm_test::ZeroPointAt;
using testing::TestSeed;

AccelConfig SmallConfig() {
  AccelConfig c;
  c.sram_bytes = 512 << 10;
  c.acc_rows = 256;
  c.tile_regs = 4;
  return c;
}

class ConvDirect : public ::testing::TestWithParam<ConvLayout> {};

TEST_P(ConvDirect, ChannelGrid) {
  Machines machines(AccelConfig::Default());
  int index = 0;
  const uint64_t seed = TestSeed(8001);
  // The channel set for both C and K: each C with two K from the set, every K twice.
  const int set[] = {1, 3, 31, 32, 33, 47, 64, 94, 200};
  for (int i = 0; i < 9; ++i) {
    for (int K : {set[(i + 3) % 9], set[(i + 7) % 9]}) {
      const int C = set[i];
      if (HasFailure()) return;
      ConvCase c;
      c.s = Shape(C, K, 5 + index % 3, 4 + index % 4);
      c.algorithm = ConvAlgorithm::kDirect, c.layout = GetParam();
      Vary(c, index);
      RunConvEverywhere(machines, c, seed + index++);
    }
  }
}

TEST_P(ConvDirect, SpatialGrid) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(8002);
  int index = 0;
  struct Geo {
    int H, W, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr;
  };
  const Geo geos[] = {
      {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},  // a single pixel
      {1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  // kernel larger than the input, padding makes one output
      {2, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},
      {7, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},  // stride 2, odd sizes
      {9, 7, 3, 3, 4, 3, 1, 1, 0, 0, 0, 0},  // stride larger than the kernel
      {8, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},  // dilation 2
      {6, 11, 1, 7, 1, 1, 1, 1, 0, 0, 3, 3},  // 1x7
      {11, 6, 7, 1, 2, 1, 1, 1, 3, 2, 0, 0},  // 7x1, stride 2 down, asymmetric
      {5, 6, 2, 3, 1, 2, 1, 1, 0, 1, 2, 0},  // asymmetric everything
      {13, 13, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3},  // 7x7 stride 2 (ResNet's first layer's kind)
      {10, 10, 3, 3, 3, 1, 2, 3, 1, 4, 0, 2},
  };
  for (const Geo& g : geos) {
    for (int C : {3, 40}) {
      if (HasFailure()) return;
      ConvCase c;
      c.s = Shape(C, 35, g.H, g.W);
      c.s.kernel_h = g.kh, c.s.kernel_w = g.kw, c.s.stride_h = g.sh, c.s.stride_w = g.sw;
      c.s.dilation_h = g.dh, c.s.dilation_w = g.dw;
      c.s.pad_top = g.pt, c.s.pad_bottom = g.pb, c.s.pad_left = g.pl, c.s.pad_right = g.pr;
      c.algorithm = ConvAlgorithm::kDirect, c.layout = GetParam();
      Vary(c, index);
      RunConvEverywhere(machines, c, seed + index++);
    }
  }
}

TEST_P(ConvDirect, GroupsAndBatch) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(8003);
  int index = 0;
  const int shapes[][3] = {{6, 9, 3}, {64, 64, 2}, {47, 94, 47}, {32, 32, 32}, {12, 24, 12}, {200, 200, 4}};
  for (const auto& sh : shapes) {
    if (HasFailure()) return;
    ConvCase c;
    c.s = Shape(sh[0], sh[1], 5, 6);
    c.s.groups = sh[2];
    c.s.batch = 3;
    c.algorithm = ConvAlgorithm::kDirect, c.layout = GetParam();
    Vary(c, index);
    RunConvEverywhere(machines, c, seed + index++);
  }
}

TEST_P(ConvDirect, Int16AndBf16) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(8004);
  int index = 0;
  for (int C : {1, 31, 33, 70}) {
    for (DType t : {DType::kI16, DType::kBF16}) {
      for (Data data : {Data::kRandom, t == DType::kBF16 ? Data::kSpecial : Data::kExtreme}) {
        if (HasFailure()) return;
        ConvCase c;
        c.s = Shape(C, 40, 6, 5);
        c.s.stride_w = 2, c.s.pad_right = 0;
        c.x_type = c.w_type = t, c.data = data, c.bias = index % 2 == 0;
        c.y_type = t == DType::kBF16 ? (index % 4 < 2 ? DType::kF32 : DType::kBF16)
                                     : (index % 4 < 2 ? DType::kI32 : DType::kI16);
        c.mode = kModes[index % 4], c.per_channel = index % 3 == 0;
        c.x_stride_extra = index % 3 == 1 ? 2 : 0;
        c.algorithm = ConvAlgorithm::kDirect, c.layout = GetParam();
        RunConvEverywhere(machines, c, seed + index++);
      }
    }
  }
}

// BF16 channel padding must leave a -0.0 accumulator alone: x = -0.0 everywhere, weights positive, bias -0.0
// and no spatial padding keep every real step at -0.0 (fma(-0, w, -0) = -0); a padded channel holding +0.0
// would turn it into +0.0. C = 33 and 1 pad 31 and 63 channels per tap; 70 pads the folded reduction.
TEST_P(ConvDirect, Bf16NegativeZeroSurvivesChannelPadding) {
  Machines machines(AccelConfig::Default());
  for (int C : {1, 33, 70}) {
    ConvCase c;
    c.s = Shape(C, 5, 4, 4);
    c.s.pad_top = c.s.pad_bottom = c.s.pad_left = c.s.pad_right = 0;
    c.x_type = c.w_type = DType::kBF16, c.y_type = DType::kF32, c.bias = true;
    c.algorithm = ConvAlgorithm::kDirect, c.layout = GetParam();
    auto p = PrepareConv(c, 8008);
    for (size_t i = 0; i + 1 < p->x.size(); i += 2) p->x[i] = 0x00, p->x[i + 1] = 0x80;  // -0.0
    for (size_t i = 0; i + 1 < p->w.size(); i += 2) p->w[i] = 0x80, p->w[i + 1] = 0x3F;  // +1.0
    for (auto& b : p->bias_f32) b = -0.0f;
    p->packed = PackConv(DescOf(*p));
    for (size_t i = 0; i + 3 < p->want.size(); i += 4) {  // every output -0.0
      p->want[i] = p->want[i + 1] = p->want[i + 2] = 0, p->want[i + 3] = 0x80;
    }
    RunConvEverywhere(machines, *p);
  }
}

// The input band's channel padding is zeroed by the kernel itself (the TMAC's reduction runs over it): with
// every SRAM byte random before each run, channel counts that pad, INT8 with per-channel weight zero points,
// INT16 and BF16 still give the reference's bytes. Leaving the band padding unwritten fails it (tap-major).
TEST_P(ConvDirect, StaleSramInChannelPadding) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(5020);
  std::mt19937_64 rng(seed);
  int index = 0;
  for (int C : {33, 47, 70}) {
    for (int family = 0; family < 3; ++family) {
      if (HasFailure()) return;
      ConvCase c;
      c.s = Shape(C, 40, 9, 8);
      c.s.stride_h = c.s.stride_w = 1 + index % 2;
      c.algorithm = ConvAlgorithm::kDirect, c.layout = GetParam();
      Vary(c, index);
      StaleSramFamily(c, family);
      RunConvOnStaleSram(machines, *PrepareConv(c, seed + index++), rng);
    }
  }
}

// Accumulators that wrap: extreme data and a bias near INT32_MAX, every int8 type pair.
TEST_P(ConvDirect, Int32Wrap) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(8005);
  for (int i = 0; i < 4; ++i) {
    ConvCase c;
    c.s = Shape(200, 33, 4, 4);
    c.x_type = kInt8Types[i].a, c.w_type = kInt8Types[i].b;
    c.data = Data::kExtreme, c.bias = true, c.bias_base = INT32_MAX - 50000;
    c.x_zp = ZeroPointAt(c.x_type, i), c.w_zp = WeightZp::kPerChannel;
    c.algorithm = ConvAlgorithm::kDirect, c.layout = GetParam();
    RunConvEverywhere(machines, c, seed + i);
  }
}

// A small configuration: bands of few rows, weights streamed per chunk, row sums in half the ACC.
TEST_P(ConvDirect, SmallConfigurationStreams) {
  Machines machines(SmallConfig());
  const uint64_t seed = TestSeed(8006);
  int index = 0;
  for (int C : {47, 200}) {
    ConvCase c;
    c.s = Shape(C, 70, 20, 18);
    c.s.batch = 2;
    c.algorithm = ConvAlgorithm::kDirect, c.layout = GetParam();
    Vary(c, index);
    c.w_zp = WeightZp::kPerChannel;
    RunConvEverywhere(machines, c, seed + index++);
  }
}

// Weights too large to stay in SRAM: with room for two windows of tiles the next one comes while TMACs read
// the other (chunks of 4 tiles across a window's end, the first window again for the next band), else one
// chunk at a time.
TEST_P(ConvDirect, StreamedWeightWindows) {
  const uint64_t seed = TestSeed(8008);
  int index = 0;
  for (uint32_t kib : {128, 32}) {
    AccelConfig config = SmallConfig();
    config.sram_bytes = kib << 10;
    Machines machines(config);
    ConvCase c;
    c.s = Shape(200, 70, 9, 8);
    c.s.kernel_h = c.s.kernel_w = 3, c.s.pad_top = c.s.pad_bottom = c.s.pad_left = c.s.pad_right = 1;
    c.s.batch = 2;
    c.algorithm = ConvAlgorithm::kDirect, c.layout = GetParam();
    Vary(c, index);
    RunConvEverywhere(machines, c, seed + index++);
  }
}

TEST_P(ConvDirect, RandomShapes) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(8007);
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % uint64_t(hi - lo + 1)); };
  for (int i = 0; i < 12 && !HasFailure(); ++i) {
    ConvCase c;
    const int groups = pick(1, 3);
    c.s.groups = groups;
    c.s.in_channels = groups * pick(1, 40), c.s.out_channels = groups * pick(1, 40);
    c.s.kernel_h = pick(1, 5), c.s.kernel_w = pick(1, 5);
    c.s.stride_h = pick(1, 3), c.s.stride_w = pick(1, 3);
    c.s.dilation_h = pick(1, 2), c.s.dilation_w = pick(1, 2);
    c.s.pad_top = pick(0, 2), c.s.pad_bottom = pick(0, 2), c.s.pad_left = pick(0, 2), c.s.pad_right = pick(0, 2);
    c.s.batch = pick(1, 2);
    c.s.height = std::max(pick(1, 12), (c.s.kernel_h - 1) * c.s.dilation_h + 1);
    c.s.width = std::max(pick(1, 12), (c.s.kernel_w - 1) * c.s.dilation_w + 1);
    c.algorithm = ConvAlgorithm::kDirect, c.layout = GetParam();
    Vary(c, pick(0, 1000));
    RunConvEverywhere(machines, c, seed * 131 + i);
  }
}

// kAuto with C/G a multiple of 32: one packing, the layout chosen per call (small outputs gather patches).
TEST(ConvDirectAuto, LayoutPerCall) {
  Machines machines(AccelConfig::Default());
  int index = 0;
  for (int W : {5, 14, 40}) {
    for (int G : {1, 2}) {
      ConvCase c;
      c.s = Shape(64 * G, 33 * G, 9, W);
      c.s.groups = G;
      c.algorithm = ConvAlgorithm::kDirect;
      Vary(c, index);
      auto p = PrepareConv(c, TestSeed(8009) + index++);
      EXPECT_EQ(p->packed.layout, ConvLayout::kAuto);
      RunConvEverywhere(machines, *p);
    }
  }
  ConvCase c;  // C = 47: the layouts pack differently, the one with fewer tiles is chosen at pack time
  c.s = Shape(47, 20, 6, 6);
  c.algorithm = ConvAlgorithm::kDirect;
  EXPECT_EQ(PrepareConv(c, 1)->packed.layout, ConvLayout::kFolded);
  c.s.kernel_h = c.s.kernel_w = 1, c.s.pad_top = c.s.pad_bottom = c.s.pad_left = c.s.pad_right = 0;
  EXPECT_EQ(PrepareConv(c, 1)->packed.layout, ConvLayout::kTapMajor);
}

// An output row wider than the ACC: weights packed for either layout take the folded one; an explicit
// tap-major layout says what does not fit.
TEST(ConvDirectAuto, WideRowsFallBackToFolded) {
  AccelConfig config;
  config.acc_rows = 64;  // fewer rows than one output row of 70 (+2) pixels
  Machines machines(config);
  ConvCase c;
  c.s = Shape(32, 40, 3, 70);
  c.algorithm = ConvAlgorithm::kDirect, c.y_type = DType::kU8, c.x_zp = 5;
  RunConvEverywhere(machines, c, TestSeed(8010));
  c.layout = ConvLayout::kTapMajor;
  auto p = PrepareConv(c, TestSeed(8010));
  ScalarMachine m(config);
  const ::testing::AssertionResult r = RunConvOn(m, *p, 1);
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("too small for one output row"), std::string::npos) << r.message();
}

INSTANTIATE_TEST_SUITE_P(Layouts, ConvDirect, ::testing::Values(ConvLayout::kTapMajor, ConvLayout::kFolded),
                         [](const ::testing::TestParamInfo<ConvLayout>& info) {
                           return info.param == ConvLayout::kTapMajor ? std::string("TapMajor") : std::string("Folded");
                         });

}  // namespace
}  // namespace conv_test
}  // namespace tile32

// Exact integer Winograd F(2x2,3x3) (kernels/conv_winograd.cc, ConvAlgorithm::kWinograd) against the
// textbook loops of tests/common/conv_reference.h, bit for bit, on the scalar machine and the SIMD machine
// under every target this CPU supports, and against ConvAlgorithm::kDirect on the same data: sizes from 1x1
// to odd, asymmetric padding 0..2, groups, channels 1 ... 2048, every int8 type pair, zero points at both
// ends, per-channel weight zero points, every requant mode per tensor and per channel, clamps, batch 3,
// pixel strides, int32 outputs and wraps, threads; the transformed-domain bit widths; the exactness bound
// (a refused call writes nothing; kAuto's choice); small configurations (bands, streamed weights, chunks).
#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>

#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "tests/common/conv_test_util.h"
#include "tests/common/targets.h"

namespace tile32 {
namespace conv_test {
namespace {

using gemm_test::kInt8Types;
using gemm_test::kModes;
using gemm_test::ZeroPointAt;
using testing::ExpectErrorMentioning;
using testing::TestSeed;

// The case by Winograd everywhere (against the textbook), then the same data and weights by direct
// convolution on the SIMD machine, which must give the same bytes.
void RunBoth(Machines& machines, const ConvCase& wc, uint64_t seed) {
  ConvCase c = wc;
  c.algorithm = ConvAlgorithm::kWinograd;
  std::unique_ptr<ConvPrepared> p;
  try {
    p = PrepareConv(c, seed);
  } catch (const Error& e) {
    FAIL() << Describe(c, seed) << ": PackConv threw: " << e.what();
  }
  ASSERT_EQ(p->packed.algorithm, ConvAlgorithm::kWinograd) << Describe(c, seed);
  RunConvEverywhere(machines, *p);
  ConvPrepared direct = *p;  // (its quant points into p's arrays, which outlive it)
  ConvDesc dd = DescOf(*p);
  dd.algorithm = ConvAlgorithm::kDirect;
  direct.packed = PackConv(dd);
  direct.c.algorithm = ConvAlgorithm::kDirect;
  SimdMachine simd(AccelConfig::Default());
  EXPECT_TRUE(RunConvOn(simd, direct, 0)) << "direct convolution of the same data, " << Describe(direct.c, seed);
}

TEST(ConvWinograd, ChannelGrid) {
  Machines machines(AccelConfig::Default());
  int index = 0;
  const uint64_t seed = TestSeed(9001);
  for (int C : {1, 3, 31, 32, 33, 47, 64, 94, 200}) {
    for (int K : {1, 3, 31, 32, 33, 47, 64, 94, 200}) {
      if (HasFailure()) return;
      ConvCase c;
      c.s = Shape(C, K, 4 + index % 5, 3 + index % 6);
      Vary(c, index);
      RunBoth(machines, c, seed + index++);
    }
  }
}

// Every SRAM byte random before each run: the input band's channel padding and everything else Winograd
// reads it writes first (channel counts that pad, zero points at both ends, per-channel weight zero points).
TEST(ConvWinograd, StaleSramInChannelPadding) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9017);
  std::mt19937_64 rng(seed);
  int index = 0;
  for (int C : {33, 47, 70}) {
    if (HasFailure()) return;
    ConvCase c;
    c.s = Shape(C, 40, 9, 8);
    c.algorithm = ConvAlgorithm::kWinograd;
    Vary(c, index);
    StaleSramFamily(c, 0);  // INT8 only: Winograd's element-wise stage is for INT8 inputs
    RunConvOnStaleSram(machines, *PrepareConv(c, seed + index++), rng);
  }
}

// Sizes from a single pixel to odd, with every padding 0..2 on each side (asymmetric), so that tiles stick
// out of the output on the right and at the bottom, and bands start inside the padding.
TEST(ConvWinograd, SpatialGrid) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9002);
  int index = 0;
  const int sizes[][2] = {{1, 1}, {1, 2}, {2, 3}, {3, 1}, {3, 3}, {4, 4}, {5, 7}, {8, 8}, {13, 11}, {6, 17}, {16, 5}};
  const int pads[][4] = {{1, 1, 1, 1}, {0, 0, 0, 0}, {2, 2, 2, 2}, {0, 1, 2, 0}, {2, 0, 1, 2}, {1, 2, 0, 1}};
  for (const auto& hw : sizes) {
    for (const auto& pad : pads) {
      if (HasFailure()) return;
      ConvCase c;
      c.s = Shape(index % 3 == 0 ? 35 : 5, index % 2 ? 33 : 7, hw[0], hw[1]);
      c.s.pad_top = pad[0], c.s.pad_bottom = pad[1], c.s.pad_left = pad[2], c.s.pad_right = pad[3];
      if (testing::ConvRefOutH(c.s) < 1 || testing::ConvRefOutW(c.s) < 1) continue;
      Vary(c, index);
      RunBoth(machines, c, seed + index++);
    }
  }
}

TEST(ConvWinograd, GroupsAndBatch) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9003);
  int index = 0;
  const int shapes[][3] = {{6, 9, 3}, {64, 64, 2}, {47, 94, 47}, {32, 32, 32}, {12, 24, 12}, {200, 200, 4}, {66, 99, 3}};
  for (const auto& sh : shapes) {
    if (HasFailure()) return;
    ConvCase c;
    c.s = Shape(sh[0], sh[1], 5 + index % 2, 6 + index % 3);
    c.s.groups = sh[2];
    c.s.batch = 3;
    Vary(c, index);
    RunBoth(machines, c, seed + index++);
  }
}

// Many input channels (weights of 7 bits, so that the bound holds even at the far zero point), and many
// output channels: kb >= 8 blocks of 32, where the kernel leaves each tile row's slack tile out of V and M.
TEST(ConvWinograd, ManyChannels) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9004);
  int index = 0;
  const int shapes[][4] = {{2048, 40, 5, 4}, {1024, 33, 4, 7}, {40, 300, 6, 5}, {70, 257, 3, 9}, {300, 260, 7, 6}};
  for (const auto& sh : shapes) {
    if (HasFailure()) return;
    ConvCase c;
    c.s = Shape(sh[0], sh[1], sh[2], sh[3]);
    Vary(c, index);
    c.data = Data::kNarrowWeights;  // int8 weights in [-64, 63], uint8 in [64, 191]
    c.w_zp = WeightZp::kPerTensor;
    c.w_zp_value = c.w_type == DType::kU8 ? 128 : 0;
    RunBoth(machines, c, seed + index++);
  }
}

// Accumulators that wrap: extreme data and a bias near INT32_MAX (the bias cannot be folded into M, so it
// is added after the shift, wrapping as direct convolution wraps), every int8 type pair.
TEST(ConvWinograd, Int32Wrap) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9005);
  for (int i = 0; i < 4; ++i) {
    ConvCase c;
    c.s = Shape(200, 33, 4, 5);
    c.x_type = kInt8Types[i].a, c.w_type = kInt8Types[i].b;
    c.data = Data::kExtreme, c.bias = true, c.bias_base = i % 2 ? INT32_MAX - 50000 : INT32_MIN + 50000;
    c.x_zp = ZeroPointAt(c.x_type, i), c.w_zp = WeightZp::kPerChannel;
    c.y_type = i < 2 ? DType::kI32 : DType::kI16, c.mode = kModes[i];
    RunBoth(machines, c, seed + i);
  }
}

// A folded input shuffle (the weights' channels permuted at pack time) runs through Winograd unchanged: with
// x_pre the input before a shuffle of 3 groups (x = ChannelShuffle(x_pre)), Conv(x_pre) with the shuffle
// folded is Conv(x).
TEST(ConvWinograd, FoldedInputShuffle) {
  Machines machines(AccelConfig::Default());
  for (int index : {2, 5, 13}) {
    ConvCase c;
    c.s = Shape(48, 40, 6, 7);
    Vary(c, index);
    c.x_stride_extra = 0;
    c.algorithm = ConvAlgorithm::kWinograd;
    auto p = PrepareConv(c, TestSeed(9006) + index);
    const int pixels = c.s.height * c.s.width;
    p->x = testing::ChannelShuffleRef(pixels, 48, 48 / 3, 1, p->x.data());  // the inverse of 3 groups
    ConvDesc d = DescOf(*p);
    d.input_shuffle_groups = 3;
    p->packed = PackConv(d);
    ASSERT_EQ(p->packed.algorithm, ConvAlgorithm::kWinograd);
    RunConvEverywhere(machines, *p);
  }
}

// Small configurations: bands of few tile rows (the last one partial), the 16 U matrices streamed per chunk
// of tile registers through two SRAM slots, chains split into chunks of 4 and 3 tiles.
TEST(ConvWinograd, SmallConfigurationStreams) {
  AccelConfig cfg;
  cfg.sram_bytes = 512 << 10;
  cfg.acc_rows = 512;
  cfg.tile_regs = 4;
  Machines machines(cfg);
  const uint64_t seed = TestSeed(9007);
  int index = 0;
  for (int C : {47, 200}) {
    for (int K : {70, 260}) {
      if (HasFailure()) return;
      ConvCase c;
      c.s = Shape(C, K, 21, 18);
      c.s.batch = 2;
      c.s.pad_bottom = 2;
      Vary(c, index);
      c.w_zp = WeightZp::kPerChannel;
      ConvCase w = c;
      w.algorithm = ConvAlgorithm::kWinograd;
      RunConvEverywhere(machines, w, seed + index++);
    }
  }
}

// A tile row wider than the ACC holds is cut into windows of tile columns, each its own band: odd widths,
// asymmetric padding, groups, zero points, every machine, the same bytes as the textbook.
TEST(ConvWinograd, WideRowsInColumnWindows) {
  AccelConfig cfg;
  cfg.acc_rows = 200;  // one tile row of a 64-wide output (33 tile slots) needs 16 x 33 + ...: windows of 8 tiles
  Machines machines(cfg);
  const uint64_t seed = TestSeed(9012);
  int index = 0;
  for (int W : {64, 61, 77}) {
    ConvCase c;
    c.s = Shape(40, 36, 5, W);
    c.s.pad_left = index % 2 ? 2 : 1, c.s.pad_right = index % 2 ? 0 : 1;
    c.s.groups = index == 2 ? 4 : 1;
    Vary(c, index);
    c.algorithm = ConvAlgorithm::kWinograd;
    RunConvEverywhere(machines, c, seed + index++);
  }
}

// The schedules of the loop (kernels/conv_winograd.cc, Schedule), each against the textbook on every machine:
// serial (the input transform between bands) and the next band's transform pipelined beside the MACs in
// pieces of the band (the whole band, tile rows, column windows of a row with and without each row's slack
// tile in V), the ring of 4 quads (the previous block's M1 freed set by set) and of 5, and single buffers
// where the SRAM is small.
TEST(ConvWinograd, PipelinedAndSerialSchedules) {
  struct Case {
    int C, K, H, W, batch;
    uint32_t acc_rows, sram_bytes;
  };
  const Case cases[] = {
      {40, 70, 16, 10, 2, 4096, 8 << 20},  // serial, a band per image, two input buffers, 5 quads
      {40, 1280, 16, 20, 1, 1200, 8 << 20},  // pipelined in pieces of a tile row, 4 quads
      {8, 480, 4, 120, 1, 2000, 8 << 20},  // pipelined in column windows of one tile row (V without slack)
      {8, 200, 4, 400, 1, 6000, 8 << 20},  // the same with each row's slack tile in V, 4 quads
      {40, 70, 16, 10, 2, 4096, 56 << 10},  // serial, one input band, V and staging
      {40, 70, 16, 10, 2, 4096, 44 << 10},  // pipelined, the band one piece, with one input buffer
  };
  const uint64_t seed = TestSeed(9013);
  int index = 0;
  for (const Case& k : cases) {
    if (HasFailure()) return;
    AccelConfig cfg;
    cfg.acc_rows = k.acc_rows, cfg.sram_bytes = k.sram_bytes;
    Machines machines(cfg);
    ConvCase c;
    c.s = Shape(k.C, k.K, k.H, k.W);
    c.s.batch = k.batch;
    c.s.pad_left = index % 2 ? 2 : 1, c.s.pad_bottom = index % 3;
    Vary(c, index);
    c.data = Data::kNarrowWeights;
    c.algorithm = ConvAlgorithm::kWinograd;
    RunConvEverywhere(machines, c, seed + index++);
  }
}

// U streamed per band (it does not fit the SRAM): the fewest bands the ring holds, in column windows that fill
// it, the input transform in pieces of tile rows or of a tile row's columns where the band's does not fit the
// ACC whole; the column blocks alternately ascending and descending, those one band uses last cached for the
// next (fetched again per image and group), the rest through up to eight slots, loads ahead of the TMACs (in
// chunks smaller than a position's block too); and resident U fetched per position and column block, a
// window ahead of the TMACs that read it; every machine against the textbook.
TEST(ConvWinograd, StreamedWeightsInFewestBands) {
  struct Case {
    int C, K, H, W, batch, groups;
    uint32_t acc_rows, sram_bytes;
  };
  const Case cases[] = {
      {64, 256, 16, 30, 2, 1, 1024, 512 << 10},  // 2 bands of 4 tile rows (3 serially), pieces of 2, cache
      {40, 300, 4, 64, 1, 1, 512, 512 << 10},    // 2 bands of one 32-tile row (windows of 16), column pieces
      {300, 100, 16, 30, 2, 1, 1024, 1408 << 10},  // V and M with each row's slack tile (4 blocks)
      {96, 512, 15, 30, 1, 2, 1024, 512 << 10},  // groups, each its own weights and cache
      {64, 256, 16, 30, 1, 1, 1024, 232 << 10},  // SRAM for no cache, two slots
      {64, 256, 16, 30, 2, 1, 1024, 244 << 10},  // three bands, no cache, eight slots
      {40, 600, 8, 8, 2, 1, 1024, 2 << 20},      // resident U, a band per image: all of it before the band
      {40, 300, 24, 16, 2, 1, 600, 2 << 20},     // five serial bands per image: U ahead of the TMACs
  };
  const uint64_t seed = TestSeed(9014);
  int index = 0;
  for (const Case& k : cases) {
    if (HasFailure()) return;
    AccelConfig cfg;
    cfg.acc_rows = k.acc_rows, cfg.sram_bytes = k.sram_bytes;
    Machines machines(cfg);
    ConvCase c;
    c.s = Shape(k.C, k.K, k.H, k.W);
    c.s.batch = k.batch, c.s.groups = k.groups;
    c.s.pad_right = index % 2 ? 0 : 1, c.s.pad_bottom = 1 + index % 2;
    Vary(c, index + 3);
    c.data = Data::kNarrowWeights;
    c.algorithm = ConvAlgorithm::kWinograd;
    RunConvEverywhere(machines, c, seed + index++);
  }
}

TEST(ConvWinograd, ConfigurationTooSmall) {
  AccelConfig cfg;
  cfg.acc_rows = 40;  // not even the 16 sets of a single 2x2 tile fit
  SimdMachine m(cfg);
  ConvCase c;
  c.s = Shape(8, 8, 4, 64);
  c.algorithm = ConvAlgorithm::kWinograd;
  auto p = PrepareConv(c, 9008);
  std::vector<uint8_t> y(p->want.size());
  ConvArgs a;
  a.height = 4, a.width = 64, a.x = p->x.data(), a.y = y.data();
  ExpectErrorMentioning([&] { Conv(m, p->packed, a); }, "too small for winograd");
}

// The same bytes for every thread count (the SIMD machine splits TMACs and row copies across threads).
TEST(ConvWinograd, Threads) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9009);
  for (int threads : {1, 2, 3}) {
    ConvCase c;
    c.s = Shape(64, 300, 24, 22);
    Vary(c, threads * 7);
    c.threads = threads;
    c.algorithm = ConvAlgorithm::kWinograd;
    RunConvEverywhere(machines, c, seed + threads);
  }
}

TEST(ConvWinograd, RandomShapes) {
  Machines machines(AccelConfig::Default());
  const uint64_t seed = TestSeed(9010);
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % uint64_t(hi - lo + 1)); };
  for (int i = 0; i < 12 && !HasFailure(); ++i) {
    ConvCase c;
    const int groups = pick(1, 3);
    c.s = Shape(groups * pick(1, 40), groups * pick(1, 40), pick(1, 14), pick(1, 14));
    c.s.groups = groups;
    c.s.pad_top = pick(0, 2), c.s.pad_bottom = pick(0, 2), c.s.pad_left = pick(0, 2), c.s.pad_right = pick(0, 2);
    c.s.batch = pick(1, 2);
    c.s.height = std::max(c.s.height, 3 - c.s.pad_top - c.s.pad_bottom);
    c.s.width = std::max(c.s.width, 3 - c.s.pad_left - c.s.pad_right);
    Vary(c, pick(0, 1000));
    RunBoth(machines, c, seed * 131 + i);
  }
}

// ---- The transformed domain ----

constexpr int kBt[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
constexpr int kG2[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};
constexpr int kAt[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

// V = B^T d B, U = G' g G'^T, Y4 = A^T (U . V) A, written from the formulas (not from the kernel).
void InputTransformRef(const int64_t d[4][4], int64_t v[4][4]) {
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      v[i][j] = 0;
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) v[i][j] += int64_t{kBt[i][a]} * d[a][b] * kBt[j][b];
    }
}
void KernelTransformRef(const int64_t g[3][3], int64_t u[4][4]) {
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      u[i][j] = 0;
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) u[i][j] += int64_t{kG2[i][a]} * g[a][b] * kG2[j][b];
    }
}

// The bit widths docs/isa.md §9 claims, by exhaustion over the extremes (each V and U entry is linear in
// the inputs, so its extremes are attained with every input at an end of its range): |V| <= 1020 for
// uint8 data and 512 for int8 (int16 holds both), |U| <= 2295 for |g'| <= 255 (int16). And the identity
// the kernel relies on: A^T (U . V) A = 4 (g * d), the 2x2 correlation.
TEST(ConvWinogradTransform, BitWidthsAndIdentity) {
  for (DType t : {DType::kU8, DType::kI8}) {
    const ValueRange r = RangeOf(t);
    int64_t max_abs = 0;
    for (uint32_t bits = 0; bits < (1u << 16); ++bits) {
      int64_t d[4][4], v[4][4];
      for (int k = 0; k < 16; ++k) d[k / 4][k % 4] = (bits >> k) & 1 ? r.hi : r.lo;
      InputTransformRef(d, v);
      for (auto& row : v)
        for (int64_t e : row) max_abs = std::max<int64_t>(max_abs, e < 0 ? -e : e);
    }
    EXPECT_EQ(max_abs, t == DType::kU8 ? 1020 : 512) << NameOf(t);
  }
  int64_t u_max = 0;
  for (uint32_t bits = 0; bits < (1u << 9); ++bits) {
    int64_t g[3][3], u[4][4];
    for (int k = 0; k < 9; ++k) g[k / 3][k % 3] = (bits >> k) & 1 ? 255 : -255;
    KernelTransformRef(g, u);
    for (auto& row : u)
      for (int64_t e : row) u_max = std::max<int64_t>(u_max, e < 0 ? -e : e);
  }
  EXPECT_EQ(u_max, 2295);
  EXPECT_LE(u_max, 32767);
  std::mt19937_64 rng(TestSeed(9011));
  for (int trial = 0; trial < 1000; ++trial) {
    int64_t d[4][4], g[3][3], v[4][4], u[4][4];
    for (auto& row : d)
      for (int64_t& e : row) e = static_cast<int64_t>(rng() % 511) - 255;
    for (auto& row : g)
      for (int64_t& e : row) e = static_cast<int64_t>(rng() % 511) - 255;
    InputTransformRef(d, v);
    KernelTransformRef(g, u);
    for (int a = 0; a < 2; ++a) {
      for (int b = 0; b < 2; ++b) {
        int64_t y4 = 0, direct = 0;
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) y4 += kAt[a][i] * u[i][j] * v[i][j] * kAt[b][j];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) direct += g[ky][kx] * d[a + ky][b + kx];
        ASSERT_EQ(y4, 4 * direct) << "trial " << trial << " output (" << a << ", " << b << ")";
      }
    }
  }
  // A constant input transforms to 4c at (1, 1) and 0 elsewhere (the zero-point term of the kernel).
  int64_t d[4][4], v[4][4];
  for (auto& row : d)
    for (int64_t& e : row) e = 7;
  InputTransformRef(d, v);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(v[i][j], i == 1 && j == 1 ? 28 : 0) << i << "," << j;
}

// The packed U matrices are G' (w - w_zp) G'^T per position, in int16, with the zero-point term (the sum
// over input channels of U at (1, 1)) and the bound (sum |w - w_zp|) per output channel.
TEST(ConvWinogradTransform, PackedWeights) {
  for (int pair = 0; pair < 4; ++pair) {
    ConvCase c;
    c.s = Shape(37, 45, 4, 4);
    c.s.groups = 1 + pair % 2 * 2;  // 1 or 3 groups
    c.s.in_channels = 36, c.s.out_channels = 45;
    c.x_type = kInt8Types[pair].a, c.w_type = kInt8Types[pair].b;
    c.w_zp = WeightZp::kPerChannel;
    c.data = Data::kExtreme;
    c.algorithm = ConvAlgorithm::kWinograd;
    auto p = PrepareConv(c, 9012 + pair);
    const PackedConv& pk = p->packed;
    const int G = c.s.groups, cg = 36 / G, kg = 45 / G;
    ASSERT_EQ(pk.weights.size(), size_t(16) * G);
    ASSERT_EQ(pk.u11_sums.size(), 45u);
    ASSERT_EQ(pk.w_abs_sum.size(), 45u);
    std::vector<std::vector<int16_t>> u(pk.weights.size(), std::vector<int16_t>(size_t(cg) * kg));
    for (size_t i = 0; i < pk.weights.size(); ++i) {
      EXPECT_EQ(pk.weights[i].dtype, DType::kI16);
      UnpackWeightsI16(pk.weights[i], u[i].data(), kg);
    }
    for (int k = 0; k < 45; ++k) {
      const int g = k / kg, n = k % kg;
      int64_t u11 = 0, abs_sum = 0;
      for (int ch = 0; ch < cg; ++ch) {
        int64_t w[3][3], t[4][4];
        for (int ky = 0; ky < 3; ++ky) {
          for (int kx = 0; kx < 3; ++kx) {
            const size_t at = ((size_t(k) * 3 + ky) * 3 + kx) * cg + ch;
            const int64_t code = c.w_type == DType::kI8 ? int64_t{static_cast<int8_t>(p->w[at])} : int64_t{p->w[at]};
            w[ky][kx] = code - p->w_zps[k];
            abs_sum += w[ky][kx] < 0 ? -w[ky][kx] : w[ky][kx];
          }
        }
        KernelTransformRef(w, t);
        for (int pos = 0; pos < 16; ++pos) {
          ASSERT_EQ(u[size_t(g) * 16 + pos][size_t(ch) * kg + n], t[pos / 4][pos % 4])
              << "group " << g << " position " << pos << " channel " << ch << " output " << k;
        }
        u11 += t[1][1];
      }
      EXPECT_EQ(pk.u11_sums[k], static_cast<int32_t>(u11)) << k;
      EXPECT_EQ(pk.w_abs_sum[k], abs_sum) << k;
    }
  }
}

// ---- The exactness bound and the choice of algorithm ----

// C = 1000 input channels, output channel 0 at |w - w_zp| = 255 everywhere: sum |w - w_zp| = 2295000, so
// 128 * S < 2^29 <= 255 * S: an explicit kWinograd accepts (exact near the middle of the range), kAuto
// does not (not exact for every zero point).
struct BoundCase {
  std::vector<int8_t> w;
  int32_t w_zp = -128;
  ConvDesc desc;
  BoundCase(int C, ConvAlgorithm a) : w(size_t(2) * 9 * C) {
    std::mt19937_64 rng(TestSeed(9013));
    for (size_t i = 0; i < w.size(); ++i) w[i] = i < w.size() / 2 ? 127 : static_cast<int8_t>(rng() % 256);
    desc.in_channels = C, desc.out_channels = 2, desc.kernel_h = desc.kernel_w = 3;
    desc.pad_top = desc.pad_bottom = desc.pad_left = desc.pad_right = 1;
    desc.x_type = DType::kU8, desc.w_type = DType::kI8, desc.w = w.data();
    desc.w_zero_points = &w_zp, desc.w_zero_point_count = 1;
    desc.algorithm = a;
  }
};

TEST(ConvWinogradBound, RefusedCallWritesNothing) {
  BoundCase bc(1000, ConvAlgorithm::kWinograd);
  const PackedConv p = PackConv(bc.desc);
  ASSERT_EQ(p.algorithm, ConvAlgorithm::kWinograd);
  EXPECT_EQ(p.w_abs_sum[0], int64_t{9} * 1000 * 255);
  std::vector<uint8_t> x(size_t(3) * 3 * 1000);
  std::mt19937_64 rng(9014);
  for (auto& v : x) v = static_cast<uint8_t>(rng());
  ScalarMachine scalar(AccelConfig::Default());
  SimdMachine simd(AccelConfig::Default());
  for (Machine* m : {static_cast<Machine*>(&scalar), static_cast<Machine*>(&simd)}) {
    for (int32_t zp : {0, 255, 20}) {  // max |x - zp| = 255, 255, 235: all past the bound
      std::vector<int32_t> y(9 * 2, 0x5A5A5A5A);
      ConvArgs a;
      a.height = a.width = 3, a.x = x.data(), a.x_zero_point = zp, a.y = y.data();
      ExpectErrorMentioning([&] { Conv(*m, p, a); }, "2^29");
      ExpectErrorMentioning([&] { Conv(*m, p, a); }, "output channel 0");
      ExpectErrorMentioning([&] { Conv(*m, p, a); }, "x_zero_point = " + std::to_string(zp));
      for (int32_t v : y) ASSERT_EQ(v, 0x5A5A5A5A) << "a refused call wrote y";
      EXPECT_EQ(m->counters().instructions, 0u) << "a refused call issued instructions";
    }
  }
  // Near the middle of the range the same packed weights are exact, and equal direct convolution.
  ConvDesc dd = bc.desc;
  dd.algorithm = ConvAlgorithm::kDirect;
  const PackedConv pd = PackConv(dd);
  for (int32_t zp : {128, 127, 100}) {
    std::vector<int32_t> yw(18), yd(18);
    ConvArgs a;
    a.height = a.width = 3, a.x = x.data(), a.x_zero_point = zp, a.y = yw.data();
    Conv(simd, p, a);
    a.y = yd.data();
    Conv(simd, pd, a);
    EXPECT_EQ(yw, yd) << "x_zero_point " << zp;
    std::vector<int32_t> ys(18);
    a.y = ys.data();
    Conv(scalar, p, a);
    EXPECT_EQ(ys, yd) << "x_zero_point " << zp << " (scalar)";
  }
}

TEST(ConvWinogradBound, PackRefusesWhatNoZeroPointMakesExact) {
  BoundCase bc(2000, ConvAlgorithm::kWinograd);  // 128 * 9 * 2000 * 255 >= 2^29
  ExpectErrorMentioning([&] { PackConv(bc.desc); }, "not provably exact");
  ExpectErrorMentioning([&] { PackConv(bc.desc); }, "output channel 0");
}

TEST(ConvWinogradBound, AutoPicksWinogradOnlyWhenExactForEveryZeroPoint) {
  BoundCase far(1000, ConvAlgorithm::kAuto);  // 255 * S >= 2^29: direct
  EXPECT_EQ(PackConv(far.desc).algorithm, ConvAlgorithm::kDirect);
  BoundCase near(800, ConvAlgorithm::kAuto);  // 255 * 9 * 800 * 255 < 2^29: Winograd
  const PackedConv p = PackConv(near.desc);
  EXPECT_EQ(p.algorithm, ConvAlgorithm::kWinograd);
  EXPECT_NE(p.Describe().find("winograd"), std::string::npos) << p.Describe();
  // ... and then no activation zero point is refused.
  std::vector<uint8_t> x(size_t(2) * 2 * 800, 0);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(i * 37);
  SimdMachine simd(AccelConfig::Default());
  ConvDesc dd = near.desc;
  dd.algorithm = ConvAlgorithm::kDirect;
  const PackedConv pd = PackConv(dd);
  for (int32_t zp : {0, 255}) {
    std::vector<int32_t> yw(8), yd(8);
    ConvArgs a;
    a.height = a.width = 2, a.x = x.data(), a.x_zero_point = zp, a.y = yw.data();
    Conv(simd, p, a);
    a.y = yd.data();
    Conv(simd, pd, a);
    EXPECT_EQ(yw, yd) << "x_zero_point " << zp;
  }
}

TEST(ConvWinogradBound, AutoAndExplicitChoice) {
  ConvCase c;
  c.s = Shape(64, 64, 8, 8);
  auto p = PrepareConv(c, 9015);  // kAuto, u8 x s8, 3x3 stride 1: Winograd
  EXPECT_EQ(p->packed.algorithm, ConvAlgorithm::kWinograd);
  auto direct_for = [](ConvCase k) {
    k.algorithm = ConvAlgorithm::kAuto;
    return PrepareConv(k, 9016)->packed.algorithm;
  };
  ConvCase s2 = c;
  s2.s.stride_h = 2;
  EXPECT_EQ(direct_for(s2), ConvAlgorithm::kDirect);
  ConvCase d2 = c;
  d2.s.dilation_w = 2;
  EXPECT_EQ(direct_for(d2), ConvAlgorithm::kDirect);
  ConvCase k5 = c;
  k5.s.kernel_h = k5.s.kernel_w = 5;
  EXPECT_EQ(direct_for(k5), ConvAlgorithm::kDirect);
  ConvCase i16 = c;
  i16.x_type = i16.w_type = DType::kI16;
  EXPECT_EQ(direct_for(i16), ConvAlgorithm::kDirect);
  ConvCase bf = c;
  bf.x_type = bf.w_type = DType::kBF16, bf.y_type = DType::kF32;
  EXPECT_EQ(direct_for(bf), ConvAlgorithm::kDirect);
  // An explicit kWinograd names why it cannot run.
  auto refuse = [](ConvCase k, const std::string& why) {
    k.algorithm = ConvAlgorithm::kWinograd;
    ExpectErrorMentioning([&] { PrepareConv(k, 9017); }, why);
  };
  refuse(s2, "stride 1");
  refuse(d2, "dilation 1");
  refuse(k5, "3x3 kernel");
  refuse(i16, "18 bits");
  refuse(bf, "BF16 Winograd is not bit-identical");
}


// ---- The SIMD machine's paths that Winograd leans on, against the scalar machine on every target ----

// Runs `program` on the scalar machine and on the SIMD machine under every target, from the same random
// SRAM and ACC, and compares all of SRAM and ACC.
void ExpectSameState(const std::function<std::vector<Instr>(std::mt19937_64&)>& make, uint64_t seed) {
  AccelConfig cfg;
  cfg.sram_bytes = 1 << 16;
  cfg.acc_rows = 96;
  std::mt19937_64 rng(seed);
  const std::vector<Instr> program = make(rng);
  std::vector<uint8_t> sram(cfg.sram_bytes);
  for (auto& b : sram) b = static_cast<uint8_t>(rng());
  // Edge values where the requantization clamps: int32 ends, +-2^20, int16 ends.
  const int32_t edges[] = {INT32_MIN, INT32_MAX, -(1 << 20) - 1, 1 << 20, 32767, -32768, 32768, -32769, 0, -1};
  for (size_t i = 0; i < 64; ++i) std::memcpy(&sram[4 * (rng() % 4096)], &edges[i % 10], 4);
  auto run = [&](ScalarMachine& m) {
    m.sram().assign(sram.begin(), sram.end());
    AccLoad ld;  // ACC from the first 96 * 128 bytes of SRAM
    ld.row = 0, ld.rows = cfg.acc_rows, ld.addr = 0, ld.row_stride = 128, ld.type = DType::kI32;
    m.Execute(ld);
    m.Run(program);
  };
  ScalarMachine want(cfg);
  run(want);
  for (int64_t target : test::TargetsToTest()) {
    test::ScopedTarget scoped(target);
    SimdMachine got(cfg);
    run(got);
    ASSERT_EQ(got.sram(), want.sram()) << "SRAM on " << scoped.name() << ", seed " << seed;
    for (uint32_t r = 0; r < cfg.acc_rows; ++r) {
      ASSERT_EQ(std::memcmp(got.acc_row(r), want.acc_row(r), 4 * kLanes), 0)
          << "ACC row " << r << " on " << scoped.name() << ", seed " << seed;
    }
  }
}

// The identity requantization (TFL_SINGLE, multiplier 2^30, shift 1 in every lane) with any zero point and
// clamp, to every output type, over int32 values up to the ends; and the same with one lane off identity.
TEST(ConvWinogradMachine, IdentityRequant) {
  for (int trial = 0; trial < 24; ++trial) {
    ExpectSameState(
        [&](std::mt19937_64& rng) {
          std::vector<Instr> p;
          const DType outs[] = {DType::kI16, DType::kU8, DType::kI8};
          const DType out = outs[trial % 3];
          const ValueRange r = RangeOf(out);
          QuantConfig q;
          q.mode = RequantMode::kTflSingle;
          q.multiplier.fill(1 << 30);
          q.shift.fill(1);
          if (trial % 4 == 3) q.shift[rng() % kLanes] = 0;  // not the identity: the general path
          auto in_range = [&] { return r.lo + static_cast<int32_t>(rng() % uint64_t(r.hi - r.lo + 1)); };
          q.zero_point = trial % 2 ? in_range() : 0;
          q.qmin = in_range(), q.qmax = in_range();
          if (q.qmin > q.qmax) std::swap(q.qmin, q.qmax);
          if (trial % 5 == 0) q.qmin = r.lo, q.qmax = r.hi;
          p.push_back(SetQuant{q});
          for (int k = 0; k < 4; ++k) {
            Requant rq;
            rq.acc_row = static_cast<uint32_t>(rng() % 48), rq.rows = 1 + static_cast<uint32_t>(rng() % 48), rq.out = out;
            rq.row_stride = static_cast<int32_t>(SizeOf(out) * kLanes + (rng() % 3) * 7);
            rq.addr = 20000 + static_cast<uint32_t>(rng() % 2000);
            p.push_back(rq);
          }
          return p;
        },
        TestSeed(9020) + trial);
    if (HasFailure()) return;
  }
}

// AALU with every op, overlapping ranges at small offsets, negative and zero strides, and a fixed b row
// inside or outside the rows the instruction writes (the SIMD machine keeps such a row in registers only
// when no row writes it); typed ACC_LD of every narrow type.
TEST(ConvWinogradMachine, AccAluOverlapsAndTypedLoads) {
  for (int trial = 0; trial < 40; ++trial) {
    ExpectSameState(
        [&](std::mt19937_64& rng) {
          std::vector<Instr> p;
          for (int k = 0; k < 12; ++k) {
            AccAlu a;
            a.op = static_cast<AluOp>(rng() % 8);
            a.imm = a.op == AluOp::kMovi ? static_cast<int32_t>(rng()) : static_cast<int32_t>(rng() % 32);
            a.rows = 1 + static_cast<uint32_t>(rng() % 20);
            auto stride = [&] { return static_cast<int32_t>(rng() % 5) - 2; };
            a.dst_stride = stride(), a.a_stride = stride(), a.b_stride = rng() % 2 ? 0 : stride();
            auto row = [&](int32_t s) {  // a first row that keeps all rows in [0, 96)
              const int64_t lo = s < 0 ? -int64_t{s} * (a.rows - 1) : 0, hi = 95 - (s > 0 ? int64_t{s} * (a.rows - 1) : 0);
              return static_cast<uint32_t>(lo + static_cast<int64_t>(rng() % uint64_t(hi - lo + 1)));
            };
            a.dst = row(a.dst_stride), a.a = row(a.a_stride);
            if (rng() % 3 == 0) a.a = a.dst, a.a_stride = a.dst_stride;  // in place
            a.b = row(a.b_stride);
            if (a.b_stride == 0 && rng() % 2) a.b = a.dst + a.dst_stride * static_cast<int32_t>(rng() % a.rows);  // written
            p.push_back(a);
          }
          const DType types[] = {DType::kU8, DType::kI8, DType::kI16, DType::kBF16};
          for (int k = 0; k < 3; ++k) {
            AccLoad ld;
            ld.type = types[rng() % 4], ld.rows = 1 + static_cast<uint32_t>(rng() % 40);
            ld.row = static_cast<uint32_t>(rng() % (96 - ld.rows + 1));
            ld.addr = 30000 + static_cast<uint32_t>(rng() % 999);  // odd addresses too
            ld.row_stride = static_cast<int32_t>(rng() % 3 == 0 ? 0 : 1 + rng() % 130) * (rng() % 2 ? 1 : -1);
            if (ld.row_stride < 0) ld.addr += 130 * 40;
            p.push_back(ld);
          }
          return p;
        },
        TestSeed(9030) + trial);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace conv_test
}  // namespace tile32

// The GEMM family (kernels/gemm.h) on the scalar reference machine and on the SIMD machine forced to every
// Highway target this CPU supports, against the independent textbook loops of tests/common/reference.h,
// bit for bit (shared fixtures in tests/common/gemm_test_util.h).
// This file: INT16 and BF16 — their edge grids, BF16 special values and exact cases worked by hand.
// Seeds are fixed per test and printed on failure; TILE32_SEED overrides them all.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tests/common/gemm_test_util.h"

namespace tile32 {
namespace gemm_test {
namespace {

// ---- The edge grid, per family ----

TEST(Gemm, Int16EdgeGrid) {
  RunEdgeGrid(TestSeed(5002), [](Case& c, int index) {
    VaryInt(c, index, true);
    c.data = index % 5 == 2 ? Data::kExtreme : Data::kRandom;
  });
}

TEST(Gemm, Bf16EdgeGrid) {
  RunEdgeGrid(TestSeed(5003), [](Case& c, int index) {
    c.a_type = c.b_type = DType::kBF16;
    c.lda_extra = (index / 2) % 3 == 0 ? 0 : 7;
    c.ldb_extra = (index / 3) % 2 ? 5 : 0;
    c.ldc_extra = (index / 5) % 2 ? 3 : 0;
    c.bias = index % 4 != 0;
    c.c_type = index % 2 ? DType::kBF16 : DType::kF32;
    c.data = index % 3 == 1 ? Data::kSpecial : Data::kRandom;
  });
}

// An SRAM too small for a chunk of tile_regs int16 tiles (16 of 2 KiB) but large enough for smaller chunks:
// the weights stream in chunks that fit, bit for bit, in every family.
TEST(Gemm, SmallSramStreamsWeightsInSmallerChunks) {
  AccelConfig config;
  config.sram_bytes = 16 << 10;
  Machines machines(config);
  int index = 0;
  for (DType t : {DType::kI16, DType::kBF16, DType::kI8}) {
    Case c;
    c.M = 37, c.N = 70, c.K = 480;  // 15 K tiles
    c.a_type = c.b_type = t;
    if (t == DType::kI8) c.a_type = DType::kU8;
    c.c_type = t == DType::kBF16 ? DType::kF32 : DType::kI32;
    c.bias = true;
    RunEverywhere(machines, c, TestSeed(5009) + index++);
  }
}

// ---- BF16 special values ----

TEST(Gemm, Bf16SpecialValues) {
  const uint64_t seed = TestSeed(5008);
  Machines machines(SmallConfig());
  int index = 0;
  int total_nan = 0, total_inf = 0, total_denormal = 0, total_zero = 0;
  for (int K : {1, 7, 32, 45, 97, 200}) {
    for (DType c_type : {DType::kF32, DType::kBF16}) {
      Case c;
      c.M = 37, c.N = 35, c.K = K, c.a_type = c.b_type = DType::kBF16, c.data = Data::kSpecial;
      c.bias = index % 3 != 2, c.c_type = c_type, c.lda_extra = index % 2 * 3;
      const auto p = Prepare(c, seed + index++);
      RunPrepared(machines, *p);
      if (HasFailure()) return;
      if (c_type != DType::kF32) continue;
      // The data really are special: NaNs, infinities, denormals and zeros occur, most outputs are finite.
      int nan = 0, inf = 0, denormal = 0, zero = 0, finite = 0;
      for (int m = 0; m < c.M; ++m) {
        for (int n = 0; n < c.N; ++n) {
          uint32_t v;
          std::memcpy(&v, &p->want[(size_t(m) * p->ldc + n) * 4], 4);
          const uint32_t mag = v & 0x7FFFFFFFu;
          nan += v == 0x7FC00000u, inf += mag == 0x7F800000u, finite += mag < 0x7F800000u;
          denormal += mag != 0 && mag < 0x00800000u, zero += mag == 0;
        }
      }
      total_nan += nan, total_inf += inf, total_denormal += denormal, total_zero += zero;
      EXPECT_GT(finite, c.M * c.N / 2) << "K " << K << ": too few finite outputs to test anything (nan " << nan << ", inf " << inf << ")";
    }
  }
  EXPECT_GT(total_nan, 0);
  EXPECT_GT(total_inf, 0);
  EXPECT_GT(total_denormal, 0);
  EXPECT_GT(total_zero, 0);
}

// Exact cases worked by hand: -0 must survive the padded K steps, +0 without bias, Inf * 0 gives the
// canonical NaN, denormals are kept (not flushed), an overflowing product gives Inf, and a product that
// underflows is rounded once inside the fma.
TEST(Gemm, Bf16HandWorked) {
  Machines machines(SmallConfig());
  auto bf = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return static_cast<uint16_t>(u >> 16);
  };
  struct Hand {
    const char* what;
    std::vector<float> a, b;  // K entries each (exact bf16 values)
    bool has_bias;
    float bias;
    uint32_t want;  // fp32 bits
  };
  const float denorm = 1.0e-39f;  // fp32 denormal; bf16 keeps its top bits exactly only for some values
  uint32_t denorm_bits;
  std::memcpy(&denorm_bits, &denorm, 4);
  denorm_bits &= 0xFFFF0000u;  // representable in bf16
  float denorm_bf;
  std::memcpy(&denorm_bf, &denorm_bits, 4);
  const std::vector<Hand> cases = {
      {"-0 bias, -0 products, padded K", {-1.0f}, {0.0f}, true, -0.0f, 0x80000000u},
      {"-0 products, no bias: +0", {-1.0f}, {0.0f}, false, 0.0f, 0x00000000u},
      {"-0 bias, -0 products, K 33", std::vector<float>(33, -2.0f), std::vector<float>(33, 0.0f), true, -0.0f,
       0x80000000u},
      {"Inf * 0 = canonical NaN", {INFINITY, 1.0f}, {0.0f, 1.0f}, false, 0.0f, 0x7FC00000u},
      {"Inf survives", {INFINITY, 1.0f}, {2.0f, 1.0f}, true, 1.0f, 0x7F800000u},
      {"denormal kept", {denorm_bf}, {1.0f}, false, 0.0f, denorm_bits},
      {"overflowing product", {0x1p100f}, {0x1p100f}, true, -1.0f, 0x7F800000u},
      // 0x1.02p-70 * 0x1.02p-70 = 0x1.0404p-140: fp32 denormal spacing is 2^-149, so the exact product
      // needs rounding: fma rounds once to 0x1.04p-140 (= 0x00008200 + ...). Computed by the reference.
  };
  for (const Hand& h : cases) {
    SCOPED_TRACE(h.what);
    const int K = static_cast<int>(h.a.size());
    std::vector<uint16_t> a(static_cast<size_t>(K)), b(static_cast<size_t>(K));
    for (int k = 0; k < K; ++k) a[k] = bf(h.a[k]), b[k] = bf(h.b[k]);
    // The reference agrees with the hand-worked value.
    EXPECT_EQ(testing::GemmBf16Ref(1, 1, K, a.data(), K, b.data(), 1, h.has_bias ? &h.bias : nullptr)[0], h.want);
    GemmWeightsDesc d;
    d.a_type = d.b_type = DType::kBF16, d.K = K, d.N = 1, d.b = b.data(), d.ldb = 1;
    if (h.has_bias) d.bias_f32 = &h.bias;
    const PackedGemmWeights w = PackGemmWeights(d);
    machines.ForEach([&](Machine& machine, const std::string& name) {
      uint32_t out = 0x12345678;
      GemmArgs args;
      args.M = 1, args.a = a.data(), args.lda = K, args.c_type = DType::kF32, args.c = &out, args.ldc = 1;
      Gemm(machine, w, args);
      EXPECT_EQ(out, h.want) << name;
      uint16_t out16 = 0x1234;
      args.c_type = DType::kBF16, args.c = &out16;
      Gemm(machine, w, args);
      EXPECT_EQ(out16, testing::Bf16FromF32Ref(h.want)) << name;
    });
  }
  // Underflow inside the fma: the reference's std::fma rounds once; so must the machines.
  const float x = 0x1.02p-70f;
  const std::vector<uint16_t> a = {bf(x)}, b = {bf(x)};
  const uint32_t want = testing::GemmBf16Ref(1, 1, 1, a.data(), 1, b.data(), 1, nullptr)[0];
  EXPECT_NE(want, 0u);
  EXPECT_LT(want, 0x00800000u) << "expected an fp32 denormal";
  GemmWeightsDesc d;
  d.a_type = d.b_type = DType::kBF16, d.K = 1, d.N = 1, d.b = b.data(), d.ldb = 1;
  const PackedGemmWeights w = PackGemmWeights(d);
  machines.ForEach([&](Machine& machine, const std::string& name) {
    uint32_t out = 0;
    GemmArgs args;
    args.M = 1, args.a = a.data(), args.lda = 1, args.c_type = DType::kF32, args.c = &out, args.ldc = 1;
    Gemm(machine, w, args);
    EXPECT_EQ(out, want) << name;
  });
}

}  // namespace
}  // namespace gemm_test
}  // namespace tile32

// The GEMM family (kernels/gemm.h) on the scalar reference machine and on the SIMD machine forced to every
// Highway target this CPU supports, against the independent textbook loops of tests/common/reference.h,
// bit for bit (shared fixtures in tests/common/gemm_test_util.h).
// This file: thread counts and concurrent callers, TILE32_NUM_THREADS, weight packing and its reuse, tiny
// configurations that stream weights and activations, and the argument errors.
// Seeds are fixed per test and printed on failure; TILE32_SEED overrides them all.
#include <gtest/gtest.h>

#include <tbb/info.h>

#include <algorithm>
#include <climits>
#include <limits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "accel/error.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "kernels/gemm.h"
#include "kernels/operator.h"
#include "tests/common/gemm_test_util.h"
#include "tests/common/targets.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace gemm_test {
namespace {

// ---- Threads ----

// 1, 2 and 8 threads give the same bytes (and the reference's) on the SIMD machine, with TMACs large
// enough to be split across threads (> 256 row-tiles, 8-row blocks), and (families 2 to 4) DMA, ACC_ST
// and REQ large enough to be split too (>= 64 KiB of rows); family 5 DMAs one 128 KiB row of weights.
TEST(Gemm, ThreadCountsAreBitIdentical) {
  const uint64_t seed = TestSeed(5009);
  SimdMachine machine(AccelConfig::Default());
  int index = 0;
  for (int family = 0; family < 6; ++family) {
    Case c;
    c.M = family == 2 || family == 3 ? 700 : 300, c.N = 70, c.K = 200, c.bias = true, c.lda_extra = 1, c.ldc_extra = 2;
    if (family == 0) c.a_type = DType::kU8, c.b_type = DType::kI8, c.a_zp = 7, c.c_type = DType::kI8;
    if (family == 1) {
      c.a_type = DType::kI8, c.b_type = DType::kU8, c.a_zp = -3, c.b_zp = WeightZp::kPerChannel;
      c.c_type = DType::kU8, c.mode = RequantMode::kFloatRne, c.per_channel = true;
    }
    if (family == 2) c.a_type = c.b_type = DType::kI16, c.c_type = DType::kI32;
    if (family == 3) c.a_type = c.b_type = DType::kBF16, c.c_type = DType::kF32, c.data = Data::kSpecial;
    if (family == 4) c.M = 2100, c.N = 40, c.K = 40, c.a_type = DType::kU8, c.b_type = DType::kI8, c.c_type = DType::kI8;
    if (family == 5) c.M = 40, c.N = 128, c.K = 1024, c.a_type = c.b_type = DType::kI8, c.c_type = DType::kI32;
    SCOPED_TRACE(Describe(c, seed + index));
    const auto p = Prepare(c, seed + index++);
    for (int threads : {1, 2, 8}) {
      for (int64_t target : test::TargetsToTest()) {
        test::ScopedTarget scoped(target);
        EXPECT_TRUE(RunOn(machine, *p, threads)) << threads << " threads on " << scoped.name();
      }
    }
  }
}

// Gemm calls from several host threads at once, each on its own machine, with the same packed weights.
TEST(Gemm, ConcurrentCallersOnSeparateMachines) {
  Case c;
  c.M = 200, c.N = 50, c.K = 100, c.bias = true, c.a_zp = 4, c.b_zp = WeightZp::kPerChannel, c.c_type = DType::kI8;
  const auto p = Prepare(c, TestSeed(5016));
  SCOPED_TRACE(Describe(c, p->seed));
  std::vector<std::unique_ptr<SimdMachine>> machines;
  for (int i = 0; i < 3; ++i) machines.push_back(std::make_unique<SimdMachine>(SmallConfig()));
  std::vector<std::string> failures(machines.size());
  std::vector<std::thread> callers;
  for (size_t i = 0; i < machines.size(); ++i) {
    callers.emplace_back([&, i] {
      for (int rep = 0; rep < 3; ++rep) {
        const auto r = RunOn(*machines[i], *p, 1 + int(i) % 2);
        if (!r) failures[i] = r.message();
      }
    });
  }
  for (auto& t : callers) t.join();
  for (size_t i = 0; i < failures.size(); ++i) EXPECT_EQ(failures[i], "") << "caller " << i;
}

// Sets an environment variable for its lifetime and restores the previous value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

TEST(OperatorThreads, RequestEnvironmentDefault) {
  {
    ScopedEnv env("TILE32_NUM_THREADS", nullptr);
    EXPECT_EQ(OperatorThreads("Gemm", 3), 3);
    EXPECT_EQ(OperatorThreads("Gemm", 0), std::max(1, tbb::info::default_concurrency()));
    ExpectErrorMentioning([] { OperatorThreads("Gemm", -1); }, "threads = -1");
    ExpectErrorMentioning([] { OperatorThreads("Gemm", 1 << 20); }, "threads = 1048576");
  }
  {
    ScopedEnv env("TILE32_NUM_THREADS", "5");
    EXPECT_EQ(OperatorThreads("Gemm", 0), 5);
    EXPECT_EQ(OperatorThreads("Gemm", 2), 2);  // the request wins over the environment
  }
  for (const char* bad : {"0", "-2", "abc", "", "3x", " 4", "99999999999999999999"}) {
    SCOPED_TRACE(std::string("TILE32_NUM_THREADS='") + bad + "'");
    ScopedEnv env("TILE32_NUM_THREADS", bad);
    ExpectErrorMentioning([] { OperatorThreads("Gemm", 0); }, "TILE32_NUM_THREADS");
    EXPECT_EQ(OperatorThreads("Gemm", 4), 4);  // an explicit request never reads it
  }
}

// Gemm itself honours the environment (result unchanged) and reports a bad value.
TEST(OperatorThreads, GemmReadsTheEnvironment) {
  Case c;
  c.M = 64, c.N = 40, c.K = 70, c.bias = true;
  const auto p = Prepare(c, TestSeed(5010));
  SimdMachine machine(SmallConfig());
  {
    ScopedEnv env("TILE32_NUM_THREADS", "2");
    EXPECT_TRUE(RunOn(machine, *p, 0));
  }
  {
    ScopedEnv env("TILE32_NUM_THREADS", "many");
    std::vector<int32_t> out(size_t(c.M) * c.N);
    GemmArgs args;
    args.M = c.M, args.a = p->a.data(), args.lda = p->lda, args.c = out.data(), args.ldc = c.N;
    ExpectErrorMentioning([&] { Gemm(machine, p->weights, args); }, "TILE32_NUM_THREADS = 'many'");
  }
}

// ---- Packing ----

// PackGemmWeights keeps what the call's bias row bias - a_zp * colsum(w') + K * a_zp * z needs: the bias,
// colsum(w') and z, with w' = w (int8) or w - 128 (uint8) and z the shifted weight zero point; the tiles
// hold w'; padding is zero.
TEST(GemmPacking, PackedTermsEqualTheFormula) {
  const uint64_t seed = TestSeed(5011);
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  int index = 0;
  for (const TypePair& t : kInt8Types) {
    for (WeightZp kind : {WeightZp::kNone, WeightZp::kPerTensor, WeightZp::kPerChannel}) {
      const int K = 45 + index, N = 37, ldb = N + 2;
      const IntMatrix b = RandomInts(rng, t.b, size_t(K) * ldb, Data::kRandom);
      int32_t lo, hi;
      RangeOf(t.b, &lo, &hi);
      std::vector<int32_t> zps(size_t(N), 0);
      std::vector<int32_t> given;
      if (kind == WeightZp::kPerTensor) given = {index % 2 ? lo : hi}, std::fill(zps.begin(), zps.end(), given[0]);
      if (kind == WeightZp::kPerChannel) {
        for (auto& z : zps) z = lo + static_cast<int32_t>(rng() % uint64_t(hi - lo + 1));
        given = zps;
      }
      std::vector<int32_t> bias(static_cast<size_t>(N));
      for (auto& v : bias) v = static_cast<int32_t>(static_cast<uint32_t>(rng()));
      GemmWeightsDesc d;
      d.a_type = t.a, d.b_type = t.b, d.K = K, d.N = N, d.b = b.bytes.data(), d.ldb = ldb;
      if (!given.empty()) d.b_zero_points = given.data(), d.b_zero_point_count = static_cast<int>(given.size());
      d.bias = bias.data();
      const PackedGemmWeights w = PackGemmWeights(d);
      SCOPED_TRACE(std::string(NameOf(t.a)) + " x " + NameOf(t.b) + " zp kind " + std::to_string(int(kind)));

      const int shift = t.b == DType::kU8 ? 128 : 0;
      EXPECT_EQ(w.mode, t.a == DType::kU8 ? MacMode::kU8S8 : MacMode::kS8S8);
      ASSERT_EQ(w.tiles.dtype, DType::kI8);
      ASSERT_EQ(w.bias_row.size(), size_t{kLanes} * ((N + 31) / 32));
      ASSERT_EQ(w.b_zero_points.size(), size_t(N));
      bool any_z = false;
      for (int n = 0; n < N; ++n) {
        int64_t colsum = 0;
        for (int k = 0; k < K; ++k) colsum += b.values[size_t(k) * ldb + n] - shift;
        const int64_t z = zps[n] - shift;
        any_z |= z != 0;
        EXPECT_EQ(w.bias_row[n], static_cast<uint32_t>(bias[n])) << "n " << n;
        EXPECT_EQ(w.col_sums[n], static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(colsum)))) << "n " << n;
        EXPECT_EQ(w.b_zero_points[n], z) << "n " << n;
      }
      EXPECT_EQ(w.needs_row_sums, any_z);
      for (size_t n = N; n < w.bias_row.size(); ++n) EXPECT_EQ(w.bias_row[n], 0u);
      // The tiles hold w' (and zeros in the padding).
      std::vector<int8_t> unpacked(size_t(K) * N);
      UnpackWeightsI8(w.tiles, unpacked.data(), N);
      for (int k = 0; k < K; ++k) {
        for (int n = 0; n < N; ++n) {
          ASSERT_EQ(unpacked[size_t(k) * N + n], b.values[size_t(k) * ldb + n] - shift) << k << ", " << n;
        }
      }
      for (int k = 0; k < kLanes * w.tiles.k_tiles; ++k) {
        for (int n = 0; n < kLanes * w.tiles.n_tiles; ++n) {
          if (k >= K || n >= N) {
            ASSERT_EQ(w.tiles.bytes[w.tiles.ElementOffset(k, n)], 0) << k << ", " << n;
          }
        }
      }
      ++index;
    }
  }
}

// The common cases need no row sums: int8 weights with zero point 0, uint8 weights with 128.
TEST(GemmPacking, FastPathNeedsNoRowSums) {
  std::vector<uint8_t> b(6, 200);
  GemmWeightsDesc d;
  d.a_type = DType::kU8, d.b_type = DType::kI8, d.K = 2, d.N = 3, d.b = b.data(), d.ldb = 3;
  EXPECT_FALSE(PackGemmWeights(d).needs_row_sums);
  d.b_type = DType::kU8;
  const int32_t zp128 = 128, zp0 = 0;
  d.b_zero_points = &zp128, d.b_zero_point_count = 1;
  EXPECT_FALSE(PackGemmWeights(d).needs_row_sums);
  d.b_zero_points = &zp0;
  EXPECT_TRUE(PackGemmWeights(d).needs_row_sums);
  d.b_zero_points = nullptr, d.b_zero_point_count = 0;  // null means 0
  EXPECT_TRUE(PackGemmWeights(d).needs_row_sums);
}

TEST(GemmPacking, Int16AndBf16) {
  std::mt19937_64 rng(TestSeed(5012));
  const int K = 40, N = 33, ldb = 35;
  std::vector<int16_t> b16(size_t(K) * ldb);
  for (auto& v : b16) v = static_cast<int16_t>(rng());
  std::vector<int32_t> bias(static_cast<size_t>(N));
  for (auto& v : bias) v = static_cast<int32_t>(rng());
  GemmWeightsDesc d;
  d.a_type = d.b_type = DType::kI16, d.K = K, d.N = N, d.b = b16.data(), d.ldb = ldb, d.bias = bias.data();
  const PackedGemmWeights w = PackGemmWeights(d);
  EXPECT_EQ(w.mode, MacMode::kS16S16);
  EXPECT_FALSE(w.needs_row_sums);
  std::vector<int16_t> back(size_t(K) * N);
  UnpackWeightsI16(w.tiles, back.data(), N);
  for (int k = 0; k < K; ++k) {
    for (int n = 0; n < N; ++n) ASSERT_EQ(back[size_t(k) * N + n], b16[size_t(k) * ldb + n]);
  }
  for (int n = 0; n < 64; ++n) EXPECT_EQ(w.bias_row[n], n < N ? static_cast<uint32_t>(bias[n]) : 0u);

  std::vector<uint16_t> bbf(size_t(K) * ldb);
  for (auto& v : bbf) v = RandomBf16(rng, Data::kSpecial);
  std::vector<float> fbias(static_cast<size_t>(N));
  for (auto& v : fbias) v = RandomBias(rng, Data::kSpecial);
  GemmWeightsDesc e;
  e.a_type = e.b_type = DType::kBF16, e.K = K, e.N = N, e.b = bbf.data(), e.ldb = ldb, e.bias_f32 = fbias.data();
  const PackedGemmWeights v = PackGemmWeights(e);
  EXPECT_EQ(v.mode, MacMode::kBF16);
  std::vector<uint16_t> backbf(size_t(K) * N);
  UnpackWeightsBF16(v.tiles, backbf.data(), N);
  for (int k = 0; k < K; ++k) {
    for (int n = 0; n < N; ++n) ASSERT_EQ(backbf[size_t(k) * N + n], bbf[size_t(k) * ldb + n]);
  }
  for (int n = 0; n < N; ++n) {
    uint32_t bits;
    std::memcpy(&bits, &fbias[n], 4);
    EXPECT_EQ(v.bias_row[n], bits) << "raw bits, NaN payload kept";
  }
}

// One packed weight set serves many calls, machines and thread counts; families alternate on one machine.
TEST(Gemm, PackedWeightsAreReusable) {
  const uint64_t seed = TestSeed(5013);
  SimdMachine simd(SmallConfig());
  ScalarMachine scalar(SmallConfig());
  std::vector<std::unique_ptr<Prepared>> cases;
  Case c;
  c.M = 20, c.N = 70, c.K = 65, c.bias = true, c.a_zp = 9, c.b_zp = WeightZp::kPerChannel;
  cases.push_back(Prepare(c, seed));
  c.a_type = c.b_type = DType::kBF16, c.a_zp = 0, c.b_zp = WeightZp::kNone, c.c_type = DType::kBF16;
  cases.push_back(Prepare(c, seed + 1));
  c.a_type = c.b_type = DType::kI16, c.c_type = DType::kI32;
  cases.push_back(Prepare(c, seed + 2));
  for (int rep = 0; rep < 2; ++rep) {
    for (const auto& p : cases) {
      SCOPED_TRACE(Describe(p->c, p->seed));
      EXPECT_TRUE(RunOn(simd, *p, 1 + rep));
      EXPECT_TRUE(RunOn(scalar, *p, 1));
    }
  }
}

// ---- Small configurations: streamed weights and activations, row sums in half the ACC ----

TEST(Gemm, TinyConfigStreams) {
  const uint64_t seed = TestSeed(5014);
  Machines machines(TinyConfig());
  int index = 0;
  for (int family = 0; family < 5; ++family) {
    Case c;
    c.M = 37, c.N = 70, c.K = 1000, c.bias = true, c.lda_extra = 9, c.ldc_extra = 1;
    if (family == 0) c.a_type = DType::kU8, c.b_type = DType::kU8, c.a_zp = 255, c.b_zp = WeightZp::kPerChannel;
    if (family == 1) c.a_type = DType::kI8, c.b_type = DType::kI8, c.a_zp = -128, c.c_type = DType::kI8;
    if (family == 2) c.a_type = c.b_type = DType::kI16, c.c_type = DType::kI16, c.per_channel = true;
    if (family == 3) c.a_type = c.b_type = DType::kBF16, c.c_type = DType::kF32;
    if (family == 4) c.a_type = c.b_type = DType::kBF16, c.c_type = DType::kBF16, c.data = Data::kSpecial;
    c.mode = kModes[family % 4];
    RunEverywhere(machines, c, seed + index++);
  }
}

// A wide N on the tiny configuration: ten column blocks per row block, weights reloaded per block.
TEST(Gemm, TinyConfigWideOutput) {
  const uint64_t seed = TestSeed(5017);
  Machines machines(TinyConfig());
  int index = 0;
  for (int family = 0; family < 3; ++family) {
    Case c;
    c.M = 40, c.N = 300, c.K = 70, c.bias = true, c.ldc_extra = 5;
    if (family == 0) c.a_type = DType::kI8, c.b_type = DType::kU8, c.a_zp = 127, c.b_zp = WeightZp::kPerChannel;
    if (family == 1) c.a_type = c.b_type = DType::kI16, c.c_type = DType::kI16, c.mode = RequantMode::kFloatZpFirst;
    if (family == 2) c.a_type = c.b_type = DType::kBF16, c.c_type = DType::kBF16;
    RunEverywhere(machines, c, seed + index++);
  }
}

// Row sums take an ACC row per activation row and two more for the row-sum factors and the bias.
TEST(Gemm, RowSumsNeedFourAccRows) {
  AccelConfig config = TinyConfig();
  config.acc_rows = 4;  // one accumulator row, one row sum and the two rows of factors and bias
  Machines machines(config);
  Case c;
  c.M = 5, c.N = 40, c.K = 70, c.a_type = DType::kU8, c.b_type = DType::kU8, c.a_zp = 3;
  c.b_zp = WeightZp::kPerTensor, c.b_zp_value = 255, c.bias = true;
  RunEverywhere(machines, c, TestSeed(5015));

  config.acc_rows = 3;
  ScalarMachine machine(config);
  const auto p = Prepare(c, TestSeed(5015));
  std::vector<int32_t> out(size_t(c.M) * c.N);
  GemmArgs args;
  args.M = c.M, args.a = p->a.data(), args.lda = p->lda, args.c = out.data(), args.ldc = c.N;
  ExpectErrorMentioning([&] { Gemm(machine, p->weights, args); }, "acc_rows = 3");
  config.acc_rows = 1;
  ScalarMachine one(config);
  // Without weight zero points one ACC row suffices.
  c.b_zp = WeightZp::kNone, c.b_type = DType::kI8;
  const auto q = Prepare(c, TestSeed(5015));
  EXPECT_TRUE(RunOn(one, *q, 1));
}

// ---- Errors ----

TEST(GemmErrors, PackingNamesTheArgument) {
  std::vector<uint8_t> b(64, 1);
  const int32_t zp300 = 300, zp_neg = -1, zp200 = 200, zps2[2] = {0, 0};
  const int32_t bias = 1;
  const float fbias = 1.0f;
  auto base = [&] {
    GemmWeightsDesc d;
    d.a_type = DType::kU8, d.b_type = DType::kI8, d.K = 4, d.N = 4, d.b = b.data(), d.ldb = 4;
    return d;
  };
  auto expect = [&](const GemmWeightsDesc& d, const std::string& needle) {
    ExpectErrorMentioning([&] { PackGemmWeights(d); }, needle);
  };
  { auto d = base(); d.a_type = DType::kI32; expect(d, "desc.a_type = i32"); }
  { auto d = base(); d.b_type = DType::kI16; expect(d, "desc.b_type = i16"); }
  { auto d = base(); d.a_type = DType::kI16; expect(d, "desc.b_type = i8"); }
  { auto d = base(); d.a_type = DType::kBF16, d.b_type = DType::kI16; expect(d, "desc.b_type = i16"); }
  { auto d = base(); d.K = 0; expect(d, "desc.K = 0"); }
  { auto d = base(); d.N = -1; expect(d, "desc.N = -1"); }
  { auto d = base(); d.b = nullptr; expect(d, "desc.b is null"); }
  { auto d = base(); d.ldb = 3; expect(d, "desc.ldb = 3"); }
  { auto d = base(); d.b_zero_points = &zp200, d.b_zero_point_count = 1; expect(d, "desc.b_zero_points[0] = 200"); }
  { auto d = base(); d.b_type = DType::kU8, d.b_zero_points = &zp300, d.b_zero_point_count = 1; expect(d, "desc.b_zero_points[0] = 300"); }
  { auto d = base(); d.b_type = DType::kU8, d.b_zero_points = &zp_neg, d.b_zero_point_count = 1; expect(d, "desc.b_zero_points[0] = -1"); }
  { auto d = base(); d.b_zero_points = zps2, d.b_zero_point_count = 2; expect(d, "desc.b_zero_point_count = 2"); }
  { auto d = base(); d.b_zero_point_count = 4; expect(d, "desc.b_zero_point_count = 4"); }
  { auto d = base(); d.bias_f32 = &fbias; expect(d, "desc.bias_f32"); }
  // Packing whose images would need more than kMaxHostBytes fails at once, before allocating.
  { auto d = base(); d.K = std::numeric_limits<int>::max() - 31, d.N = 1, d.ldb = 1; expect(d, "the packed weights would need"); }
  { auto d = base(); d.a_type = d.b_type = DType::kI16, d.b_zero_points = &zp_neg, d.b_zero_point_count = 1; expect(d, "desc.b_zero_points"); }
  { auto d = base(); d.a_type = d.b_type = DType::kBF16, d.bias = &bias; expect(d, "desc.bias (int32)"); }
}

TEST(GemmErrors, GemmNamesTheArgument) {
  ScalarMachine machine(SmallConfig());
  std::vector<uint8_t> a(256, 1), b(256, 1);
  std::vector<int32_t> c(256);
  GemmWeightsDesc d;
  d.a_type = DType::kU8, d.b_type = DType::kI8, d.K = 4, d.N = 4, d.b = b.data(), d.ldb = 4;
  const PackedGemmWeights w = PackGemmWeights(d);
  GemmWeightsDesc dbf = d;
  dbf.a_type = dbf.b_type = DType::kBF16;
  const PackedGemmWeights wbf = PackGemmWeights(dbf);
  const int32_t mult = 1 << 30, shift = 0, bad_shift = 9;
  const float bad_scale = -1.0f;
  auto base = [&] {
    GemmArgs x;
    x.M = 4, x.a = a.data(), x.lda = 4, x.c = c.data(), x.ldc = 4, x.threads = 1;
    return x;
  };
  auto expect = [&](const PackedGemmWeights& weights, GemmArgs x, const std::string& needle) {
    ExpectErrorMentioning([&] { Gemm(machine, weights, x); }, needle);
  };
  { auto x = base(); x.M = 0; expect(w, x, "M = 0"); }
  { auto x = base(); x.M = -5; expect(w, x, "M = -5"); }
  { auto x = base(); x.a = nullptr; expect(w, x, "a is null"); }
  { auto x = base(); x.lda = 3; expect(w, x, "lda = 3"); }
  { auto x = base(); x.lda = INT64_MAX / 2; expect(w, x, "lda = "); }
  { auto x = base(); x.c = nullptr; expect(w, x, "c is null"); }
  { auto x = base(); x.ldc = 2; expect(w, x, "ldc = 2"); }
  { auto x = base(); x.threads = -2; expect(w, x, "threads = -2"); }
  { auto x = base(); x.a_zero_point = 256; expect(w, x, "a_zero_point = 256"); }
  { auto x = base(); x.a_zero_point = -1; expect(w, x, "a_zero_point = -1"); }
  { auto x = base(); x.c = a.data(); expect(w, x, "overlaps a"); }
  { auto x = base(); x.c = a.data() + 12; expect(w, x, "overlaps a"); }
  {
    GemmWeightsDesc d8 = d;
    d8.a_type = DType::kI8;
    const PackedGemmWeights w8 = PackGemmWeights(d8);
    auto x = base(); x.a_zero_point = 128; expect(w8, x, "a_zero_point = 128");
  }
  {
    GemmWeightsDesc d16 = d;
    d16.a_type = d16.b_type = DType::kI16;
    const PackedGemmWeights w16 = PackGemmWeights(d16);
    auto x = base(); x.a_zero_point = 1; expect(w16, x, "a_zero_point = 1");
  }
  { auto x = base(); x.c_type = DType::kF32; expect(w, x, "c_type = f32"); }
  { auto x = base(); x.c_type = DType::kBF16; expect(w, x, "c_type = bf16"); }
  { auto x = base(); x.c_type = DType::kI32; expect(wbf, x, "c_type = i32"); }
  { auto x = base(); x.c_type = DType::kI8; expect(wbf, x, "c_type = i8"); }
  { auto x = base(); x.c_type = DType::kI8; expect(w, x, "quant is null"); }
  { auto x = base(); x.c_type = DType::kI16; expect(w, x, "quant is null"); }
  {
    OutputQuant q;
    q.multiplier = &mult, q.shift = &shift, q.zero_point = 200;
    auto x = base(); x.c_type = DType::kI8; x.quant = &q; expect(w, x, "quant.zero_point = 200");
  }
  {
    OutputQuant q;
    q.multiplier = &mult, q.shift = &shift, q.qmin = -40000, q.qmax = 0;
    auto x = base(); x.c_type = DType::kI16; x.quant = &q; expect(w, x, "quant.qmin = -40000");
  }
  {
    OutputQuant q;
    q.multiplier = &mult, q.shift = &shift, q.qmin = 10, q.qmax = 5;
    auto x = base(); x.c_type = DType::kI8; x.quant = &q; expect(w, x, "quant.qmin");
  }
  {
    OutputQuant q;
    q.mode = RequantMode::kFloatRne, q.scale = &bad_scale, q.qmin = 0, q.qmax = 255;
    auto x = base(); x.c_type = DType::kU8; x.quant = &q; expect(w, x, "quant.scale[0]");
  }
  {
    OutputQuant q;
    q.mode = RequantMode::kTflSingle;
    auto x = base(); x.c_type = DType::kI8; x.quant = &q; expect(w, x, "quant.multiplier is null");
  }
  {
    OutputQuant q;
    q.multiplier = &mult, q.shift = &bad_shift;
    auto x = base(); x.c_type = DType::kI8; x.quant = &q; expect(w, x, "quant.shift[0] = 9");
  }
  {
    OutputQuant q;
    q.multiplier = &mult, q.shift = &shift, q.per_channel = true;  // needs N = 4 entries; 1 given is UB, so:
    std::vector<int32_t> mults = {mult, mult, -1, mult}, shifts(4, 0);
    q.multiplier = mults.data(), q.shift = shifts.data();
    auto x = base(); x.c_type = DType::kI8; x.quant = &q; expect(w, x, "quant.multiplier[2] = -1");
  }
  {
    PackedGemmWeights broken = w;
    broken.bias_row.pop_back();
    expect(broken, base(), "weights are not the result of PackGemmWeights");
  }
  {
    PackedGemmWeights broken = w;
    broken.mode = MacMode::kS16S16;
    expect(broken, base(), "weights are not the result of PackGemmWeights");
  }
  {
    PackedGemmWeights broken = w;
    broken.b_zero_points[1] = 5;  // a zero point without needs_row_sums would be silently ignored
    expect(broken, base(), "weights are not the result of PackGemmWeights");
  }
  {
    PackedGemmWeights broken = w;
    broken.desc.K = 40;
    expect(broken, base(), "weights are not the result of PackGemmWeights");
  }
  // A machine too small, and no segment left bound after any of these errors.
  AccelConfig tiny;
  tiny.sram_bytes = 1024;
  ScalarMachine small(tiny);
  ExpectErrorMentioning([&] { Gemm(small, w, base()); }, "sram_bytes = 1024");
  for (uint32_t s = 0; s < kMaxDramSegments; ++s) {
    EXPECT_FALSE(small.dram_bound(s)) << "segment " << s;
    EXPECT_FALSE(machine.dram_bound(s)) << "segment " << s;
  }
}

// A runtime author's own DRAM segments survive a call: Gemm binds only segments that were free and
// unbinds exactly those; with every segment taken it says so instead of unbinding one.
TEST(GemmSegments, CallerBindingsAreLeftAlone) {
  ScalarMachine machine(SmallConfig());
  std::vector<uint8_t> a(64, 3), b(64, 1), mine(16, 7);
  std::vector<int32_t> c(64);
  GemmWeightsDesc d;
  d.a_type = DType::kU8, d.b_type = DType::kI8, d.K = 8, d.N = 8, d.b = b.data(), d.ldb = 8;
  const PackedGemmWeights w = PackGemmWeights(d);
  GemmArgs x;
  x.M = 8, x.a = a.data(), x.lda = 8, x.c = c.data(), x.ldc = 8, x.threads = 1;
  for (uint32_t s : {0u, 56u, 60u, 63u}) machine.BindDramReadOnly(s, mine.data(), mine.size());
  Gemm(machine, w, x);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(c[i], 24) << i;
  for (uint32_t s = 0; s < kMaxDramSegments; ++s) {
    const bool caller = s == 0 || s == 56 || s == 60 || s == 63;
    EXPECT_EQ(machine.dram_bound(s), caller) << "segment " << s;
  }
  DmaIn in;  // the caller's segment 60 still reads the caller's buffer
  in.segment = 60, in.row_bytes = 16, in.sram = 0;
  machine.Execute(in);
  EXPECT_EQ(machine.sram()[15], 7);
  for (uint32_t s = 0; s < kMaxDramSegments; ++s) machine.BindDramReadOnly(s, mine.data(), mine.size());
  ExpectErrorMentioning([&] { Gemm(machine, w, x); }, "DRAM segments");
  for (uint32_t s = 0; s < kMaxDramSegments; ++s) EXPECT_TRUE(machine.dram_bound(s)) << "segment " << s;
}

// Dynamic quantization: one packing, calls with different activation zero points, each exact.
TEST(Gemm, ActivationZeroPointIsPerCall) {
  Machines machines(SmallConfig());
  for (const TypePair& t : kInt8Types) {
    Case c;
    c.M = 37, c.N = 45, c.K = 70, c.a_type = t.a, c.b_type = t.b, c.bias = true, c.b_zp = WeightZp::kPerChannel;
    auto p = Prepare(c, TestSeed(5101));
    for (int i = 0; i < 4; ++i) {
      // Same packed weights (p->weights), a new zero point and the matching expected bytes.
      Case ci = c;
      ci.a_zp = ZeroPointAt(t.a, i + 1);
      auto want = Prepare(ci, TestSeed(5101));
      want->weights = p->weights;
      RunPrepared(machines, *want);
    }
  }
}

// Whatever an earlier program left in SRAM, the result is the same.
TEST(Gemm, GarbageInSram) {
  ScalarMachine scalar(SmallConfig());
  SimdMachine simd(SmallConfig());
  Case c;
  c.M = 37, c.N = 50, c.K = 45, c.bias = true, c.b_zp = WeightZp::kPerTensor, c.b_zp_value = 3;
  auto p = Prepare(c, TestSeed(5102));
  for (uint8_t fill : {uint8_t{0xC3}, uint8_t{0x81}}) {
    std::fill(scalar.sram().begin(), scalar.sram().end(), fill);
    std::fill(simd.sram().begin(), simd.sram().end(), fill);
    EXPECT_TRUE(RunOn(scalar, *p, 1));
    EXPECT_TRUE(RunOn(simd, *p, 1));
  }
}

}  // namespace
}  // namespace gemm_test
}  // namespace tile32

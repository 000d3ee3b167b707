// GemmI8Simple and Conv3x3I8Simple against the textbook loops of tests/common/reference.h, bit for bit, on
// the scalar reference machine and the SIMD machine, with a small and the default configuration.
// Seeds are fixed per test and printed on failure; TILE32_SEED overrides them all.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "accel/error.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "kernels/conv_simple.h"
#include "kernels/gemm_driver.h"
#include "kernels/gemm_simple.h"
#include "tests/common/reference.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace {

using testing::RefQuant;

using testing::ExpectErrorMentioning;
using testing::TestSeed;

// ---- Machines ----

enum class MachineKind { kScalar, kSimd };
enum class ConfigKind { kSmall, kDefault };

AccelConfig SmallConfig() {
  AccelConfig c;
  c.sram_bytes = 256 << 10;
  c.acc_rows = 512;
  c.tile_regs = 4;
  return c;
}

AccelConfig ConfigOf(ConfigKind k) { return k == ConfigKind::kSmall ? SmallConfig() : AccelConfig::Default(); }

std::unique_ptr<Machine> MakeMachine(MachineKind k, const AccelConfig& c) {
  if (k == MachineKind::kScalar) return std::make_unique<ScalarMachine>(c);
  return std::make_unique<SimdMachine>(c);
}

// Readable parameters in gtest's messages ("where GetParam() = (simd, small)").
void PrintTo(MachineKind k, std::ostream* os) { *os << (k == MachineKind::kScalar ? "scalar" : "simd"); }
void PrintTo(ConfigKind k, std::ostream* os) { *os << (k == ConfigKind::kSmall ? "small" : "default"); }

using Param = std::tuple<MachineKind, ConfigKind>;

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  return std::string(std::get<0>(info.param) == MachineKind::kScalar ? "Scalar" : "Simd") +
         (std::get<1>(info.param) == ConfigKind::kSmall ? "SmallConfig" : "DefaultConfig");
}

// ---- Data ----

const char* ModeName(RequantMode m) { return NameOf(m); }

// Codes of `type` (kU8/kI8) as raw bytes, plus their widened values for the reference.
struct Activations {
  std::vector<uint8_t> bytes;
  std::vector<int32_t> values;
};

int32_t Widen(DType t, uint8_t byte) { return t == DType::kU8 ? int32_t{byte} : int32_t{static_cast<int8_t>(byte)}; }

Activations RandomActivations(std::mt19937_64& rng, DType t, size_t count, bool extreme) {
  Activations a;
  a.bytes.resize(count);
  a.values.resize(count);
  for (size_t i = 0; i < count; ++i) {
    uint8_t v = static_cast<uint8_t>(rng());
    if (extreme) v = t == DType::kU8 ? 255 : (rng() & 1 ? 0x80 : 0x7F);  // 255, or -128 / 127
    a.bytes[i] = v;
    a.values[i] = Widen(t, v);
  }
  return a;
}

std::vector<int8_t> RandomWeights(std::mt19937_64& rng, size_t count, bool extreme) {
  std::vector<int8_t> w(count);
  for (auto& v : w) v = extreme ? (rng() & 1 ? int8_t{-128} : int8_t{127}) : static_cast<int8_t>(rng());
  return w;
}

// Q31 multiplier and shift for a real multiplier r in (0, 2^7): r = M * 2^shift / 2^31.
void QuantizeMultiplier(double r, int32_t* multiplier, int32_t* shift) {
  int e = 0;
  const double f = std::frexp(r, &e);  // r = f * 2^e, f in [0.5, 1)
  int64_t m = std::llround(f * 2147483648.0);
  if (m == (int64_t{1} << 31)) m /= 2, ++e;
  if (e < -31) m = 0, e = 0;
  *multiplier = static_cast<int32_t>(m);
  *shift = std::min(e, 7);
}

// Output quantization chosen from the accumulators' range so that the whole output code range occurs
// (XNNPACK's tester does the same); per channel, each channel gets its own range and a jitter.
RefQuant ChooseQuant(std::mt19937_64& rng, RequantMode mode, bool per_channel, DType out,
                     const std::vector<int32_t>& acc, int M, int N, bool narrow_clamp) {
  RefQuant q;
  q.mode = mode;
  const int32_t lo = out == DType::kU8 ? 0 : -128, hi = out == DType::kU8 ? 255 : 127;
  auto range_of = [&](int n0, int n1) {
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (int m = 0; m < M; ++m) {
      for (int n = n0; n < n1; ++n) mn = std::min<int64_t>(mn, acc[size_t(m) * N + n]), mx = std::max<int64_t>(mx, acc[size_t(m) * N + n]);
    }
    return std::make_pair(mn, mx);
  };
  const auto all = range_of(0, N);
  q.zero_point = (lo + hi) / 2 + static_cast<int32_t>(rng() % 5) - 2;
  for (int n = 0; n < N; ++n) {
    const auto r = per_channel ? range_of(n, n + 1) : all;
    const double span = std::max<double>(1.0, double(r.second) - double(r.first));
    double real = 256.0 / span;
    if (per_channel) real *= 0.75 + 0.5 * double(rng() % 1000) / 1000.0;
    real = std::min(real, 100.0);
    int32_t mult, shift;
    QuantizeMultiplier(real, &mult, &shift);
    const float scale = static_cast<float>(real);
    if (per_channel || n == 0) {
      q.multiplier.push_back(mult), q.shift.push_back(shift), q.scale.push_back(scale);
    } else {
      q.multiplier.push_back(q.multiplier[0]), q.shift.push_back(q.shift[0]), q.scale.push_back(q.scale[0]);
    }
  }
  q.qmin = narrow_clamp ? lo + 20 : lo;
  q.qmax = narrow_clamp ? hi - 30 : hi;
  return q;
}

using testing::KernelQuant;

// Compares `got` (an M x N matrix of out-type codes in a buffer of leading dimension ld) with `want`
// (M x N int32), and checks that the ld padding still holds the sentinel.
template <typename T>
::testing::AssertionResult SameMatrix(const std::vector<T>& got, int64_t ld, const std::vector<int32_t>& want, int M,
                                      int N, T sentinel) {
  int mismatches = 0;
  std::ostringstream os;
  for (int m = 0; m < M; ++m) {
    for (int64_t n = 0; n < ld; ++n) {
      const T g = got[size_t(m * ld + n)];
      const bool bad = n < N ? int64_t{g} != want[size_t(m) * N + size_t(n)] : g != sentinel;
      if (bad && ++mismatches <= 5) {
        os << "\n  [" << m << "][" << n << "] got " << int64_t{g} << ", want "
           << (n < N ? int64_t{want[size_t(m) * N + size_t(n)]} : int64_t{sentinel}) << (n < N ? "" : " (ld padding)");
      }
    }
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << mismatches << " mismatches" << os.str();
}

// ---- GEMM ----

struct GemmCase {
  int M = 1, N = 1, K = 1;
  DType a_type = DType::kU8;
  int lda_extra = 0, ldb_extra = 0, ldc_extra = 0;
  bool bias = false;
  bool extreme = false;
  DType c_type = DType::kI32;
  RequantMode mode = RequantMode::kTflDouble;
  bool per_channel = false;
  bool narrow_clamp = false;
  int32_t bias_base = 0;  // added to every bias entry (near INT32_MAX to force a wrap)
};

std::string Describe(const GemmCase& c, uint64_t seed) {
  std::ostringstream os;
  os << "seed " << seed << " (TILE32_SEED overrides): M " << c.M << " N " << c.N << " K " << c.K << " a "
     << NameOf(c.a_type) << " lda+" << c.lda_extra << " ldb+" << c.ldb_extra << " ldc+" << c.ldc_extra
     << (c.bias ? " bias" : "") << (c.extreme ? " extreme" : "") << " c " << NameOf(c.c_type);
  if (c.c_type != DType::kI32) {
    os << " " << ModeName(c.mode) << (c.per_channel ? " per-channel" : " per-tensor")
       << (c.narrow_clamp ? " narrow-clamp" : "");
  }
  return os.str();
}

// Runs one case on `machine` and compares with the reference. Returns the reference accumulators.
std::vector<int32_t> RunGemmCase(Machine& machine, const GemmCase& c, uint64_t seed) {
  SCOPED_TRACE(Describe(c, seed));
  std::mt19937_64 rng(seed);
  const int64_t lda = c.K + c.lda_extra, ldb = c.N + c.ldb_extra, ldc = c.N + c.ldc_extra;
  const Activations a = RandomActivations(rng, c.a_type, size_t(c.M) * lda, c.extreme);
  const std::vector<int8_t> b = RandomWeights(rng, size_t(c.K) * ldb, c.extreme);
  std::vector<int32_t> bias(size_t(c.N));
  for (auto& v : bias) {
    v = static_cast<int32_t>(static_cast<uint32_t>(c.bias_base) + static_cast<uint32_t>(rng() % 200001) - 100000u);
  }
  const std::vector<int32_t> acc =
      testing::GemmRef(c.M, c.N, c.K, a.values.data(), lda, b.data(), ldb, c.bias ? bias.data() : nullptr);

  GemmI8Args args;
  args.M = c.M, args.N = c.N, args.K = c.K;
  args.a_type = c.a_type, args.a = a.bytes.data(), args.lda = lda;
  args.b = b.data(), args.ldb = ldb;
  args.bias = c.bias ? bias.data() : nullptr;
  args.c_type = c.c_type, args.ldc = ldc;
  if (c.c_type == DType::kI32) {
    const int32_t sentinel = 0x5A5A5A5A;
    std::vector<int32_t> out(size_t(c.M) * ldc, sentinel);
    args.c = out.data();
    GemmI8Simple(machine, args);
    EXPECT_TRUE(SameMatrix(out, ldc, acc, c.M, c.N, sentinel));
  } else {
    const RefQuant q = ChooseQuant(rng, c.mode, c.per_channel, c.c_type, acc, c.M, c.N, c.narrow_clamp);
    const OutputQuant kq = KernelQuant(q, c.per_channel);
    args.quant = &kq;
    const std::vector<int32_t> want = testing::RequantMatrixRef(acc, c.M, c.N, q);
    if (c.c_type == DType::kU8) {
      std::vector<uint8_t> out(size_t(c.M) * ldc, 0xA5);
      args.c = out.data();
      GemmI8Simple(machine, args);
      EXPECT_TRUE(SameMatrix<uint8_t>(out, ldc, want, c.M, c.N, 0xA5));
    } else {
      std::vector<int8_t> out(size_t(c.M) * ldc, int8_t{0x5A});
      args.c = out.data();
      GemmI8Simple(machine, args);
      EXPECT_TRUE(SameMatrix<int8_t>(out, ldc, want, c.M, c.N, int8_t{0x5A}));
    }
  }
  return acc;
}

class GemmI8SimpleTest : public ::testing::TestWithParam<Param> {
 protected:
  std::unique_ptr<Machine> Make() const { return MakeMachine(std::get<0>(GetParam()), ConfigOf(std::get<1>(GetParam()))); }
};

const RequantMode kModes[] = {RequantMode::kTflDouble, RequantMode::kTflSingle, RequantMode::kFloatRne,
                              RequantMode::kFloatZpFirst};

// K in {1, 31, 32, 33, 64, 100} x ragged M, N; every case varies activation type, leading dimensions,
// bias and output (int32 and the four requant modes, per tensor and per channel) by its index.
TEST_P(GemmI8SimpleTest, EdgeGrid) {
  const uint64_t seed = TestSeed(2001);
  auto machine = Make();
  int index = 0;
  for (int K : {1, 31, 32, 33, 64, 100}) {
    for (int M : {1, 5, 33, 70}) {
      for (int N : {1, 5, 33, 70}) {
        GemmCase c;
        c.M = M, c.N = N, c.K = K;
        c.a_type = index % 2 ? DType::kI8 : DType::kU8;
        c.lda_extra = (index / 2) % 3 == 0 ? 0 : 7;
        c.ldb_extra = (index / 3) % 2 ? 5 : 0;
        c.ldc_extra = (index / 5) % 2 ? 3 : 0;
        c.bias = (index / 4) % 2 == 1;
        const int out = index % 9;  // 0: int32; 1-8: 4 modes x {per-tensor, per-channel}
        if (out > 0) {
          c.c_type = (index / 7) % 2 ? DType::kI8 : DType::kU8;
          c.mode = kModes[(out - 1) / 2];
          c.per_channel = (out - 1) % 2 == 1;
          c.narrow_clamp = (index / 11) % 2 == 1;
        }
        RunGemmCase(*machine, c, seed + index);
        ++index;
        if (HasFailure()) return;
      }
    }
  }
}

// Every requant mode x per-tensor/per-channel x output type x activation type x clamp.
TEST_P(GemmI8SimpleTest, RequantModes) {
  const uint64_t seed = TestSeed(2002);
  auto machine = Make();
  int index = 0;
  for (RequantMode mode : kModes) {
    for (bool per_channel : {false, true}) {
      for (DType c_type : {DType::kU8, DType::kI8}) {
        for (DType a_type : {DType::kU8, DType::kI8}) {
          GemmCase c;
          c.M = 19, c.N = 45, c.K = 77;
          c.a_type = a_type, c.c_type = c_type, c.mode = mode, c.per_channel = per_channel;
          c.bias = true, c.lda_extra = 3, c.ldc_extra = 2;
          c.narrow_clamp = index % 3 == 1;
          RunGemmCase(*machine, c, seed + index++);
          if (HasFailure()) return;
        }
      }
    }
  }
}

TEST_P(GemmI8SimpleTest, ExtremeValues) {
  const uint64_t seed = TestSeed(2003);
  auto machine = Make();
  int index = 0;
  for (DType a_type : {DType::kU8, DType::kI8}) {
    for (DType c_type : {DType::kI32, DType::kU8, DType::kI8}) {
      GemmCase c;
      c.M = 33, c.N = 33, c.K = 100;
      c.a_type = a_type, c.c_type = c_type, c.extreme = true, c.bias = index % 2 == 0;
      c.mode = kModes[index % 4];
      RunGemmCase(*machine, c, seed + index++);
    }
  }
}

// Bias near INT32_MAX: the int32 accumulator wraps (mod 2^32), and the kernel must wrap exactly as the ISA.
TEST_P(GemmI8SimpleTest, AccumulatorWraps) {
  const uint64_t seed = TestSeed(2004);
  auto machine = Make();
  for (DType c_type : {DType::kI32, DType::kI8}) {
    GemmCase c;
    c.M = 9, c.N = 40, c.K = 100, c.a_type = DType::kU8, c.extreme = true, c.bias = true;
    c.bias_base = INT32_MAX - 1000, c.c_type = c_type, c.mode = RequantMode::kTflDouble;
    const std::vector<int32_t> acc = RunGemmCase(*machine, c, seed);
    // With A = 255 and weights +-127/-128 over K = 100, sums reach +-3.2e6: some must cross INT32_MAX.
    EXPECT_TRUE(std::any_of(acc.begin(), acc.end(), [](int32_t v) { return v < 0; })) << "no wrap happened";
  }
}

// M beyond acc_rows of the small configuration, K beyond its tile registers.
TEST_P(GemmI8SimpleTest, ManyRowBlocksAndTileChains) {
  const uint64_t seed = TestSeed(2005);
  auto machine = Make();
  GemmCase c;
  c.M = 600, c.N = 40, c.K = 300, c.a_type = DType::kI8, c.bias = true, c.lda_extra = 1;
  c.c_type = DType::kU8, c.mode = RequantMode::kFloatRne, c.per_channel = true;
  RunGemmCase(*machine, c, seed);
}

// SRAM is not zero between uses: fill it with garbage first; results are unchanged.
TEST_P(GemmI8SimpleTest, GarbageInSram) {
  const uint64_t seed = TestSeed(2006);
  auto machine = Make();
  auto* scalar = dynamic_cast<ScalarMachine*>(machine.get());
  ASSERT_NE(scalar, nullptr);
  std::fill(scalar->sram().begin(), scalar->sram().end(), uint8_t{0xC3});
  GemmCase c;
  c.M = 37, c.N = 50, c.K = 45, c.a_type = DType::kU8, c.bias = true;
  RunGemmCase(*machine, c, seed);
  std::fill(scalar->sram().begin(), scalar->sram().end(), uint8_t{0x81});
  c.a_type = DType::kI8, c.c_type = DType::kI8, c.mode = RequantMode::kTflSingle;
  RunGemmCase(*machine, c, seed + 1);
}

TEST_P(GemmI8SimpleTest, PrepackedWeightsAndRepeatedCalls) {
  const uint64_t seed = TestSeed(2007);
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto machine = Make();
  const int M = 20, N = 70, K = 65;
  const Activations a = RandomActivations(rng, DType::kU8, size_t(M) * K, false);
  const std::vector<int8_t> b = RandomWeights(rng, size_t(K) * N, false);
  const PackedWeights packed = PackWeightsI8(b.data(), K, N, N);
  const std::vector<int32_t> want = testing::GemmRef(M, N, K, a.values.data(), K, b.data(), N, nullptr);
  for (int rep = 0; rep < 2; ++rep) {
    std::vector<int32_t> out(size_t(M) * N, 0);
    GemmI8Args args;
    args.M = M, args.N = N, args.K = K, args.a = a.bytes.data(), args.lda = K;
    args.b_packed = &packed, args.c = out.data(), args.ldc = N;
    GemmI8Simple(*machine, args);
    EXPECT_TRUE(SameMatrix(out, N, want, M, N, 0));
  }
}

INSTANTIATE_TEST_SUITE_P(Machines, GemmI8SimpleTest,
                         ::testing::Combine(::testing::Values(MachineKind::kScalar, MachineKind::kSimd),
                                            ::testing::Values(ConfigKind::kSmall, ConfigKind::kDefault)),
                         ParamName);

// A configuration so small that neither all weights nor whole activation rows fit: weights and
// activations are both streamed per tile chunk, in blocks of 16 ACC rows.
TEST(GemmI8SimpleTiny, StreamsWeightsAndActivations) {
  AccelConfig config;
  config.sram_bytes = 8 << 10;
  config.acc_rows = 16;
  config.tile_regs = 2;
  for (MachineKind kind : {MachineKind::kScalar, MachineKind::kSimd}) {
    auto machine = MakeMachine(kind, config);
    GemmCase c;
    c.M = 70, c.N = 70, c.K = 1000, c.a_type = DType::kI8, c.bias = true, c.lda_extra = 9, c.ldc_extra = 1;
    RunGemmCase(*machine, c, TestSeed(2008));
    c.c_type = DType::kU8, c.mode = RequantMode::kFloatZpFirst, c.per_channel = true;
    RunGemmCase(*machine, c, TestSeed(2009));
  }
}

TEST(GemmI8SimpleTiny, ConfigTooSmallIsAnError) {
  AccelConfig config;
  config.sram_bytes = 1024;  // not even one tile image plus a row
  ScalarMachine machine(config);
  std::vector<uint8_t> a(4, 1);
  std::vector<int8_t> b(4, 1);
  std::vector<int32_t> c(4);
  GemmI8Args args;
  args.M = 2, args.N = 2, args.K = 2, args.a = a.data(), args.lda = 2, args.b = b.data(), args.ldb = 2;
  args.c = c.data(), args.ldc = 2;
  ExpectErrorMentioning([&] { GemmI8Simple(machine, args); }, "sram_bytes = 1024");
  // The failed call left no segment bound.
  DmaIn d;
  d.segment = kKernelFirstSegment, d.row_bytes = 1;
  ExpectErrorMentioning([&] { machine.Execute(d); }, "not bound");
}

TEST(GemmI8SimpleErrors, NameTheArgument) {
  ScalarMachine machine(SmallConfig());
  std::vector<uint8_t> a(64, 1);
  std::vector<int8_t> b(64, 1);
  std::vector<int32_t> c(64);
  const int32_t mult = 1 << 30, shift = 0;
  const float bad_scale = -1.0f;
  auto base = [&] {
    GemmI8Args x;
    x.M = 4, x.N = 4, x.K = 4, x.a = a.data(), x.lda = 4, x.b = b.data(), x.ldb = 4, x.c = c.data(), x.ldc = 4;
    return x;
  };
  auto expect = [&](GemmI8Args x, const std::string& needle) {
    ExpectErrorMentioning([&] { GemmI8Simple(machine, x); }, needle);
  };
  { auto x = base(); x.M = 0; expect(x, "M = 0"); }
  { auto x = base(); x.N = -3; expect(x, "N = -3"); }
  { auto x = base(); x.K = 0; expect(x, "K = 0"); }
  { auto x = base(); x.a = nullptr; expect(x, "a is null"); }
  { auto x = base(); x.lda = 3; expect(x, "lda = 3"); }
  { auto x = base(); x.b = nullptr; expect(x, "b is null"); }
  { auto x = base(); x.ldb = 2; expect(x, "ldb = 2"); }
  { auto x = base(); x.c = nullptr; expect(x, "c is null"); }
  { auto x = base(); x.ldc = 1; expect(x, "ldc = 1"); }
  { auto x = base(); x.a_type = DType::kI16; expect(x, "a_type"); }
  { auto x = base(); x.c_type = DType::kF32; expect(x, "c_type"); }
  { auto x = base(); x.c_type = DType::kI8; expect(x, "quant is null"); }
  {
    OutputQuant q;
    q.multiplier = &mult, q.shift = &shift, q.zero_point = 200;
    auto x = base(); x.c_type = DType::kI8; x.quant = &q; expect(x, "quant.zero_point = 200");
  }
  {
    OutputQuant q;
    q.multiplier = &mult, q.shift = &shift, q.qmin = 10, q.qmax = 5;
    auto x = base(); x.c_type = DType::kI8; x.quant = &q; expect(x, "quant.qmin");
  }
  {
    OutputQuant q;
    q.mode = RequantMode::kFloatRne, q.scale = &bad_scale, q.qmin = 0, q.qmax = 255;
    auto x = base(); x.c_type = DType::kU8; x.quant = &q; expect(x, "quant.scale[0]");
  }
  {
    OutputQuant q;
    q.mode = RequantMode::kTflSingle;
    auto x = base(); x.c_type = DType::kI8; x.quant = &q; expect(x, "quant.multiplier is null");
  }
  {
    const int32_t bad_shift = 9;
    OutputQuant q;
    q.multiplier = &mult, q.shift = &bad_shift;
    auto x = base(); x.c_type = DType::kI8; x.quant = &q; expect(x, "quant.shift[0] = 9");
  }
  {
    const PackedWeights p = PackWeightsI8(b.data(), 4, 5, 5);
    auto x = base(); x.b_packed = &p; expect(x, "b_packed");
  }
}

// ---- Convolution ----

struct ConvCase {
  int batch = 2, height = 6, width = 7, channels = 1, out_channels = 1, stride = 1, pad = 0;
  DType x_type = DType::kU8;
  int32_t x_zero_point = 0;
  bool bias = false;
  DType y_type = DType::kI32;
  RequantMode mode = RequantMode::kTflDouble;
  bool per_channel = false;
};

std::string Describe(const ConvCase& c, uint64_t seed) {
  std::ostringstream os;
  os << "seed " << seed << " (TILE32_SEED overrides): N " << c.batch << " H " << c.height << " W " << c.width
     << " C " << c.channels << " K " << c.out_channels << " stride " << c.stride << " pad " << c.pad << " x "
     << NameOf(c.x_type) << " zp " << c.x_zero_point << (c.bias ? " bias" : "") << " y " << NameOf(c.y_type);
  if (c.y_type != DType::kI32) os << " " << ModeName(c.mode) << (c.per_channel ? " per-channel" : " per-tensor");
  return os.str();
}

void RunConvCase(Machine& machine, const ConvCase& c, uint64_t seed) {
  SCOPED_TRACE(Describe(c, seed));
  std::mt19937_64 rng(seed);
  const size_t x_count = size_t(c.batch) * c.height * c.width * c.channels;
  const Activations x = RandomActivations(rng, c.x_type, x_count, false);
  const std::vector<int8_t> w = RandomWeights(rng, size_t(c.out_channels) * 9 * c.channels, false);
  std::vector<int32_t> bias(size_t(c.out_channels));
  for (auto& v : bias) v = static_cast<int32_t>(rng() % 100001) - 50000;
  const std::vector<int32_t> acc =
      testing::Conv2dRef(c.batch, c.height, c.width, c.channels, c.out_channels, c.stride, c.pad, x.values.data(),
                         c.x_zero_point, w.data(), c.bias ? bias.data() : nullptr);

  ConvI8Args args;
  args.batch = c.batch, args.height = c.height, args.width = c.width, args.channels = c.channels;
  args.out_channels = c.out_channels, args.stride = c.stride, args.pad = c.pad;
  args.x_type = c.x_type, args.x = x.bytes.data(), args.x_zero_point = c.x_zero_point;
  args.w = w.data(), args.bias = c.bias ? bias.data() : nullptr, args.y_type = c.y_type;
  const int pixels = c.batch * ConvOutHeight(args) * ConvOutWidth(args);
  ASSERT_EQ(size_t(pixels) * c.out_channels, acc.size());
  if (c.y_type == DType::kI32) {
    std::vector<int32_t> y(acc.size(), 0x5A5A5A5A);
    args.y = y.data();
    Conv3x3I8Simple(machine, args);
    EXPECT_TRUE(SameMatrix(y, c.out_channels, acc, pixels, c.out_channels, 0));
  } else {
    const RefQuant q = ChooseQuant(rng, c.mode, c.per_channel, c.y_type, acc, pixels, c.out_channels, false);
    const OutputQuant kq = KernelQuant(q, c.per_channel);
    args.quant = &kq;
    const std::vector<int32_t> want = testing::RequantMatrixRef(acc, pixels, c.out_channels, q);
    std::vector<uint8_t> y(acc.size(), 0xA5);
    args.y = y.data();
    Conv3x3I8Simple(machine, args);
    if (c.y_type == DType::kU8) {
      EXPECT_TRUE(SameMatrix<uint8_t>(y, c.out_channels, want, pixels, c.out_channels, 0));
    } else {
      std::vector<int8_t> ys(y.begin(), y.end());
      EXPECT_TRUE(SameMatrix<int8_t>(ys, c.out_channels, want, pixels, c.out_channels, 0));
    }
  }
}

class Conv3x3I8SimpleTest : public ::testing::TestWithParam<Param> {
 protected:
  std::unique_ptr<Machine> Make() const { return MakeMachine(std::get<0>(GetParam()), ConfigOf(std::get<1>(GetParam()))); }
};

// stride {1, 2} x pad {0, 1} x C {1, 3, 32, 47} x K {1, 32, 94}, batch 2; each case varies the input
// type, zero point, bias and output by its index.
TEST_P(Conv3x3I8SimpleTest, Grid) {
  const uint64_t seed = TestSeed(3001);
  auto machine = Make();
  int index = 0;
  for (int stride : {1, 2}) {
    for (int pad : {0, 1}) {
      for (int C : {1, 3, 32, 47}) {
        for (int K : {1, 32, 94}) {
          ConvCase c;
          c.stride = stride, c.pad = pad, c.channels = C, c.out_channels = K;
          c.x_type = index % 2 ? DType::kI8 : DType::kU8;
          const int32_t zps_u8[] = {0, 128, 255, 3};
          const int32_t zps_s8[] = {0, -128, 127, -5};
          c.x_zero_point = c.x_type == DType::kU8 ? zps_u8[(index / 2) % 4] : zps_s8[(index / 2) % 4];
          c.bias = (index / 3) % 2 == 0;
          const int out = index % 5;  // 0: int32, 1-4: the four modes
          if (out > 0) {
            c.y_type = (index / 5) % 2 ? DType::kI8 : DType::kU8;
            c.mode = kModes[out - 1];
            c.per_channel = (index / 4) % 2 == 1;
          }
          RunConvCase(*machine, c, seed + index++);
          if (HasFailure()) return;
        }
      }
    }
  }
}

// Small images where every output pixel touches the border, pad 2, and a single-pixel output.
TEST_P(Conv3x3I8SimpleTest, Borders) {
  const uint64_t seed = TestSeed(3002);
  auto machine = Make();
  const int shapes[][4] = {{1, 1, 1, 2}, {2, 2, 1, 2}, {3, 3, 0, 1}, {3, 5, 0, 2}, {4, 4, 2, 3}, {1, 9, 1, 1}};
  int index = 0;
  for (const auto& s : shapes) {
    ConvCase c;
    c.height = s[0], c.width = s[1], c.pad = s[2], c.stride = s[3], c.channels = 5, c.out_channels = 33;
    c.x_type = index % 2 ? DType::kI8 : DType::kU8;
    c.x_zero_point = c.x_type == DType::kU8 ? 200 : -77;
    c.bias = true;
    RunConvCase(*machine, c, seed + index++);
  }
}

INSTANTIATE_TEST_SUITE_P(Machines, Conv3x3I8SimpleTest,
                         ::testing::Combine(::testing::Values(MachineKind::kScalar, MachineKind::kSimd),
                                            ::testing::Values(ConfigKind::kSmall, ConfigKind::kDefault)),
                         ParamName);

TEST(Conv3x3I8SimpleErrors, NameTheArgument) {
  ScalarMachine machine(SmallConfig());
  std::vector<uint8_t> x(2 * 5 * 5 * 3, 1);
  std::vector<int8_t> w(4 * 9 * 3, 1);
  std::vector<int32_t> y(2 * 5 * 5 * 4);
  auto base = [&] {
    ConvI8Args a;
    a.batch = 2, a.height = 5, a.width = 5, a.channels = 3, a.out_channels = 4, a.stride = 1, a.pad = 1;
    a.x = x.data(), a.w = w.data(), a.y = y.data();
    return a;
  };
  auto expect = [&](ConvI8Args a, const std::string& needle) {
    ExpectErrorMentioning([&] { Conv3x3I8Simple(machine, a); }, needle);
  };
  { auto a = base(); a.batch = 0; expect(a, "batch = 0"); }
  { auto a = base(); a.height = -1; expect(a, "height = -1"); }
  { auto a = base(); a.width = 0; expect(a, "width = 0"); }
  { auto a = base(); a.channels = 0; expect(a, "channels = 0"); }
  { auto a = base(); a.out_channels = 0; expect(a, "out_channels = 0"); }
  { auto a = base(); a.stride = 0; expect(a, "stride = 0"); }
  { auto a = base(); a.pad = -1; expect(a, "pad = -1"); }
  { auto a = base(); a.pad = 3; expect(a, "pad = 3"); }
  { auto a = base(); a.height = 2; a.pad = 0; expect(a, "height + 2*pad = 2"); }
  { auto a = base(); a.width = 1; a.pad = 0; expect(a, "width + 2*pad = 1"); }
  { auto a = base(); a.x = nullptr; expect(a, "x is null"); }
  { auto a = base(); a.w = nullptr; expect(a, "w is null"); }
  { auto a = base(); a.y = nullptr; expect(a, "y is null"); }
  { auto a = base(); a.x_type = DType::kI16; expect(a, "x_type"); }
  { auto a = base(); a.x_zero_point = 256; expect(a, "x_zero_point = 256"); }
  { auto a = base(); a.x_type = DType::kI8; a.x_zero_point = 128; expect(a, "x_zero_point = 128"); }
  { auto a = base(); a.y_type = DType::kBF16; expect(a, "y_type"); }
  { auto a = base(); a.y_type = DType::kU8; expect(a, "quant is null"); }
  {
    const float scale = 0.0f;
    OutputQuant q;
    q.mode = RequantMode::kFloatZpFirst, q.scale = &scale, q.qmin = 0, q.qmax = 255;
    auto a = base(); a.y_type = DType::kU8; a.quant = &q; expect(a, "quant.scale[0]");
  }
}

// The tiny configuration for the convolution: 16 pixels per block, so blocks start in the middle of an
// output row and span images; patches are streamed in 64-column chunks that cut kernel rows apart.
TEST(Conv3x3I8SimpleTiny, StreamsPatchesAcrossBlocks) {
  AccelConfig config;
  config.sram_bytes = 8 << 10;
  config.acc_rows = 16;
  config.tile_regs = 2;
  for (MachineKind kind : {MachineKind::kScalar, MachineKind::kSimd}) {
    auto machine = MakeMachine(kind, config);
    ConvCase c;
    c.channels = 47, c.out_channels = 40, c.pad = 1, c.x_type = DType::kU8, c.x_zero_point = 77, c.bias = true;
    RunConvCase(*machine, c, TestSeed(3101));
    c.stride = 2, c.height = 9, c.width = 5, c.channels = 3, c.x_type = DType::kI8, c.x_zero_point = 100;
    c.y_type = DType::kI8, c.mode = RequantMode::kTflSingle, c.per_channel = true;
    RunConvCase(*machine, c, TestSeed(3102));
  }
}

// ---- Every SIMD target ----

// Forces dispatch to one Highway target for its lifetime (process-wide), back to the default after.
class ScopedSimdTarget {
 public:
  explicit ScopedSimdTarget(int64_t bits) { ForceSimdTarget(bits); }
  ~ScopedSimdTarget() { ForceSimdTarget(0); }
  ScopedSimdTarget(const ScopedSimdTarget&) = delete;
  ScopedSimdTarget& operator=(const ScopedSimdTarget&) = delete;
};

// The kernels on the SIMD machine forced to each target this CPU supports: TMACs below and above the
// machine's threading threshold, every requant mode, a convolution.
TEST(KernelsOnEverySimdTarget, MatchTheReference) {
  const uint64_t seed = TestSeed(4001);
  for (const SimdTarget& target : ListSimdTargets().supported) {
    SCOPED_TRACE("SIMD target " + target.name);
    ScopedSimdTarget scoped(target.bits);
    SimdMachine machine(SmallConfig());
    int index = 0;
    for (RequantMode mode : kModes) {
      GemmCase c;
      c.M = index % 2 ? 300 : 7, c.N = 40, c.K = 100, c.bias = true, c.lda_extra = 2;
      c.a_type = index % 2 ? DType::kI8 : DType::kU8;
      c.c_type = index / 2 ? DType::kI8 : DType::kU8, c.mode = mode, c.per_channel = index % 3 == 0;
      RunGemmCase(machine, c, seed + index++);
    }
    GemmCase c;
    c.M = 70, c.N = 33, c.K = 64, c.a_type = DType::kU8, c.extreme = true;
    RunGemmCase(machine, c, seed + index++);
    ConvCase conv;
    conv.channels = 47, conv.out_channels = 33, conv.stride = 2, conv.pad = 1, conv.x_type = DType::kI8;
    conv.x_zero_point = -3, conv.bias = true, conv.y_type = DType::kU8, conv.mode = RequantMode::kFloatZpFirst;
    RunConvCase(machine, conv, seed + index++);
    if (HasFailure()) return;
  }
}

// ---- The reference itself ----

TEST(RequantRef, DocumentedDivergence) {
  // docs/isa.md §5.2: x = 7984, M = 1583594044, s = -9 gives 12 in TFL_DOUBLE and 11 in TFL_SINGLE.
  EXPECT_EQ(testing::RequantRef(7984, RequantMode::kTflDouble, 1583594044, -9, 1.0f, 0, -128, 127), 12);
  EXPECT_EQ(testing::RequantRef(7984, RequantMode::kTflSingle, 1583594044, -9, 1.0f, 0, -128, 127), 11);
}

TEST(RequantRef, TiesAndClamps) {
  using testing::RequantRef;
  // M = 2^30, s = 0 is 0.5: SRDHM and TFL_SINGLE both round ties toward +inf.
  EXPECT_EQ(RequantRef(5, RequantMode::kTflDouble, 1 << 30, 0, 1.0f, 0, -128, 127), 3);
  EXPECT_EQ(RequantRef(-5, RequantMode::kTflDouble, 1 << 30, 0, 1.0f, 0, -128, 127), -2);
  EXPECT_EQ(RequantRef(-5, RequantMode::kTflSingle, 1 << 30, 0, 1.0f, 0, -128, 127), -2);
  // M = 2^30, s = -1 is 0.25: 6 * 0.25 = 1.5 (SRDHM gives 3, RDBPOT(3, 1) rounds away: 2).
  EXPECT_EQ(RequantRef(6, RequantMode::kTflDouble, 1 << 30, -1, 1.0f, 0, -128, 127), 2);
  EXPECT_EQ(RequantRef(-6, RequantMode::kTflDouble, 1 << 30, -1, 1.0f, 0, -128, 127), -2);
  // FLOAT_RNE: ties to even, then the zero point.
  EXPECT_EQ(RequantRef(5, RequantMode::kFloatRne, 0, 0, 0.5f, 10, -128, 127), 12);
  EXPECT_EQ(RequantRef(7, RequantMode::kFloatRne, 0, 0, 0.5f, 10, -128, 127), 14);
  EXPECT_EQ(RequantRef(-5, RequantMode::kFloatRne, 0, 0, 0.5f, 0, -128, 127), -2);
  // FLOAT_ZP_FIRST: zero point before rounding; 2.5 + 1 = 3.5 -> 4, vs FLOAT_RNE rne(2.5) + 1 = 3.
  EXPECT_EQ(RequantRef(5, RequantMode::kFloatZpFirst, 0, 0, 0.5f, 1, -128, 127), 4);
  EXPECT_EQ(RequantRef(5, RequantMode::kFloatRne, 0, 0, 0.5f, 1, -128, 127), 3);
  // Clamps and the extremes of x.
  EXPECT_EQ(RequantRef(INT32_MAX, RequantMode::kTflDouble, INT32_MAX, 0, 1.0f, 0, -128, 127), 127);
  // TFL_DOUBLE's left shift wraps: INT32_MAX * 2^7 = -128 (mod 2^32).
  EXPECT_EQ(RequantRef(INT32_MAX, RequantMode::kTflDouble, INT32_MAX, 7, 1.0f, 0, -128, 127), -128);
  EXPECT_EQ(RequantRef(INT32_MIN, RequantMode::kTflSingle, INT32_MAX, 7, 1.0f, 0, 0, 255), 0);
  EXPECT_EQ(RequantRef(INT32_MAX, RequantMode::kFloatRne, 0, 0, 3.0e38f, 5, 0, 255), 255);
  EXPECT_EQ(RequantRef(-1000, RequantMode::kFloatZpFirst, 0, 0, 1.0f, 0, -100, 100), -100);
}

}  // namespace
}  // namespace tile32

// The GEMM family (kernels/gemm.h) on the scalar reference machine and on the SIMD machine forced to every
// Highway target this CPU supports, against the independent textbook loops of tests/common/reference.h,
// bit for bit: every case is generated once, its expected bytes computed once, and every machine must
// write exactly those bytes (and leave the leading-dimension padding of C untouched).
// Seeds are fixed per test and printed on failure; TILE32_SEED overrides them all.
#include <gtest/gtest.h>

#include <tbb/info.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "accel/error.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "kernels/gemm.h"
#include "kernels/gemm_driver.h"
#include "tests/common/reference.h"
#include "tests/common/targets.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace {

using testing::RefQuant;

using testing::ExpectErrorMentioning;
using testing::TestSeed;

AccelConfig SmallConfig() {
  AccelConfig c;
  c.sram_bytes = 256 << 10;
  c.acc_rows = 512;
  c.tile_regs = 4;
  return c;
}

// So small that neither all weights nor whole activation rows fit: both are streamed per 2-tile chunk,
// in blocks of 16 ACC rows (8 with row sums).
AccelConfig TinyConfig() {
  AccelConfig c;
  c.sram_bytes = 12 << 10;
  c.acc_rows = 16;
  c.tile_regs = 2;
  return c;
}

// ---- The machines under test ----

// The scalar machine and one SIMD machine; the SIMD machine runs once per supported target.
class Machines {
 public:
  explicit Machines(const AccelConfig& config) : scalar_(config), simd_(config) {}

  // Calls f(machine, name) for the scalar machine and for the SIMD machine under each target.
  template <typename F>
  void ForEach(F&& f) {
    f(static_cast<Machine&>(scalar_), std::string("scalar"));
    for (int64_t target : test::TargetsToTest()) {
      test::ScopedTarget scoped(target);
      f(static_cast<Machine&>(simd_), "simd/" + scoped.name());
    }
  }

 private:
  ScalarMachine scalar_;
  SimdMachine simd_;
};

// ---- Cases ----

enum class Data { kRandom, kExtreme, kSpecial };  // kSpecial: bf16 NaN/Inf/denormal/-0/overflow/underflow
enum class WeightZp { kNone, kPerTensor, kPerChannel };

struct Case {
  int M = 1, N = 1, K = 1;
  DType a_type = DType::kU8, b_type = DType::kI8;
  int lda_extra = 0, ldb_extra = 0, ldc_extra = 0;
  bool bias = false;
  int32_t bias_base = 0;  // INT8/INT16: added to every bias entry (near INT32_MAX to force a wrap)
  Data data = Data::kRandom;
  int32_t a_zp = 0;
  WeightZp b_zp = WeightZp::kNone;
  int32_t b_zp_value = 0;  // per tensor; per channel draws each channel from the range, ends included
  DType c_type = DType::kI32;
  RequantMode mode = RequantMode::kTflDouble;
  bool per_channel = false;
  bool narrow_clamp = false;
  int threads = 0;
};

bool IsInt8(DType t) { return t == DType::kU8 || t == DType::kI8; }
bool IsRequant(DType t) { return t == DType::kI8 || t == DType::kU8 || t == DType::kI16; }

std::string Describe(const Case& c, uint64_t seed) {
  std::ostringstream os;
  os << "seed " << seed << " (TILE32_SEED overrides): M " << c.M << " N " << c.N << " K " << c.K << " "
     << NameOf(c.a_type) << " x " << NameOf(c.b_type) << " lda+" << c.lda_extra << " ldb+" << c.ldb_extra
     << " ldc+" << c.ldc_extra << (c.bias ? " bias" : "");
  if (c.bias_base != 0) os << " bias_base " << c.bias_base;
  if (c.data == Data::kExtreme) os << " extreme";
  if (c.data == Data::kSpecial) os << " special-floats";
  if (IsInt8(c.a_type)) {
    os << " a_zp " << c.a_zp;
    if (c.b_zp == WeightZp::kPerTensor) os << " b_zp " << c.b_zp_value;
    if (c.b_zp == WeightZp::kPerChannel) os << " b_zp per-channel";
  }
  os << " c " << NameOf(c.c_type);
  if (IsRequant(c.c_type)) {
    os << " " << NameOf(c.mode) << (c.per_channel ? " per-channel" : " per-tensor")
       << (c.narrow_clamp ? " narrow-clamp" : "");
  }
  os << " threads " << c.threads;
  return os.str();
}

void RangeOf(DType t, int32_t* lo, int32_t* hi) {
  switch (t) {
    case DType::kU8: *lo = 0, *hi = 255; return;
    case DType::kI8: *lo = -128, *hi = 127; return;
    default: *lo = -32768, *hi = 32767; return;
  }
}

// Integer codes of t (u8, i8, i16) as raw little-endian bytes plus their widened values.
struct IntMatrix {
  std::vector<uint8_t> bytes;
  std::vector<int32_t> values;
};

IntMatrix RandomInts(std::mt19937_64& rng, DType t, size_t count, Data data) {
  int32_t lo, hi;
  RangeOf(t, &lo, &hi);
  const int size = SizeOf(t);
  IntMatrix x;
  x.bytes.resize(count * size);
  x.values.resize(count);
  for (size_t i = 0; i < count; ++i) {
    int32_t v = lo + static_cast<int32_t>(rng() % uint64_t(hi - lo + 1));
    if (data == Data::kExtreme) v = rng() % 4 == 0 ? lo : hi;  // mostly the same sign: sums grow
    x.values[i] = v;
    const uint16_t raw = static_cast<uint16_t>(v);
    std::memcpy(&x.bytes[i * size], &raw, size);  // little-endian host: low bytes first
  }
  return x;
}

// bf16 bits: moderate values (products span 2^-16..2^16, so sums round and their order matters). kSpecial
// mixes in NaNs (quiet, signalling, negative, payloads), +-Inf and huge values whose products can overflow
// rarely enough (1 or 2 in `rare`) that most outputs stay finite, and often bf16 denormals, +-0 and tiny
// values whose products underflow fp32.
uint16_t RandomBf16(std::mt19937_64& rng, Data data, uint64_t rare = 256) {
  const uint16_t sign = static_cast<uint16_t>((rng() & 1) << 15);
  if (data == Data::kSpecial) {
    const uint64_t r = rng() % rare;
    if (r == 0) {
      const uint16_t nans[] = {0x7FC0, 0x7F81, 0xFFC1, 0x7FFF, 0xFFA3};
      return nans[rng() % 5];
    }
    if (r == 1) return sign | 0x7F80;  // +-Inf
    if (r < 4) return sign | static_cast<uint16_t>((240 + rng() % 10) << 7 | (rng() & 0x7F));  // ~2^120
    switch (rng() % 32) {
      case 0: case 1: return sign | static_cast<uint16_t>(1 + rng() % 0x7F);  // bf16 denormal
      case 2: case 3: return sign;                                            // +-0
      case 4: case 5: return sign | static_cast<uint16_t>((50 + rng() % 20) << 7 | (rng() & 0x7F));  // ~2^-70
      default: break;
    }
  }
  const uint16_t exponent = static_cast<uint16_t>(127 - 8 + rng() % 17);
  return sign | static_cast<uint16_t>(exponent << 7) | static_cast<uint16_t>(rng() & 0x7F);
}

float RandomBias(std::mt19937_64& rng, Data data) {
  if (data == Data::kSpecial) {
    switch (rng() % 32) {
      case 0: case 5: case 6: return -0.0f;
      case 1: {
        const uint32_t bits = 0x7FA00001u;  // signalling NaN with a payload: the output must be canonical
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
      }
      case 2: return rng() & 1 ? INFINITY : -INFINITY;
      case 3: case 4: return 1.0e-40f;  // fp32 denormal
      default: break;
    }
  }
  return static_cast<float>(static_cast<int64_t>(rng() % 20001) - 10000) / 64.0f;
}

// Q31 multiplier and shift for a real multiplier r in (0, 2^7): r = M * 2^shift / 2^31.
void QuantizeMultiplier(double r, int32_t* multiplier, int32_t* shift) {
  int e = 0;
  const double f = std::frexp(r, &e);
  int64_t m = std::llround(f * 2147483648.0);
  if (m == (int64_t{1} << 31)) m /= 2, ++e;
  if (e < -31) m = 0, e = 0;
  *multiplier = static_cast<int32_t>(m);
  *shift = std::min(e, 7);
}

// Output quantization from the accumulators' range so that the whole output code range occurs; per
// channel, each channel gets its own range and a jitter.
RefQuant ChooseQuant(std::mt19937_64& rng, const Case& c, const std::vector<int32_t>& acc) {
  RefQuant q;
  q.mode = c.mode;
  int32_t lo, hi;
  RangeOf(c.c_type, &lo, &hi);
  auto range_of = [&](int n0, int n1) {
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (int m = 0; m < c.M; ++m) {
      for (int n = n0; n < n1; ++n) {
        mn = std::min<int64_t>(mn, acc[size_t(m) * c.N + n]), mx = std::max<int64_t>(mx, acc[size_t(m) * c.N + n]);
      }
    }
    return std::make_pair(mn, mx);
  };
  const auto all = range_of(0, c.N);
  const int32_t mid = static_cast<int32_t>((int64_t{lo} + hi) / 2);
  q.zero_point = mid + static_cast<int32_t>(rng() % 5) - 2;
  for (int n = 0; n < c.N; ++n) {
    const auto r = c.per_channel ? range_of(n, n + 1) : all;
    const double span = std::max<double>(1.0, double(r.second) - double(r.first));
    double real = (double(hi) - double(lo) + 1) / span;
    if (c.per_channel) real *= 0.75 + 0.5 * double(rng() % 1000) / 1000.0;
    real = std::min(real, 100.0);
    int32_t mult, shift;
    QuantizeMultiplier(real, &mult, &shift);
    if (c.per_channel || n == 0) {
      q.multiplier.push_back(mult), q.shift.push_back(shift), q.scale.push_back(static_cast<float>(real));
    } else {
      q.multiplier.push_back(q.multiplier[0]), q.shift.push_back(q.shift[0]), q.scale.push_back(q.scale[0]);
    }
  }
  const int32_t margin = c.c_type == DType::kI16 ? 5000 : 20;
  q.qmin = c.narrow_clamp ? lo + margin : lo;
  q.qmax = c.narrow_clamp ? hi - margin - 10 : hi;
  return q;
}

OutputQuant KernelQuant(const RefQuant& q, bool per_channel) {
  OutputQuant k;
  k.mode = q.mode;
  k.per_channel = per_channel;
  k.multiplier = q.multiplier.data();
  k.shift = q.shift.data();
  k.scale = q.scale.data();
  k.zero_point = q.zero_point;
  k.qmin = q.qmin;
  k.qmax = q.qmax;
  return k;
}

constexpr uint8_t kSentinel = 0xA5;

// Everything one case needs: inputs, packed weights, quantization, and the bytes C must hold.
struct Prepared {
  Case c;
  uint64_t seed = 0;
  std::vector<uint8_t> a;  // M x lda elements of a_type, raw
  std::vector<uint8_t> b;  // K x ldb elements of b_type, raw
  std::vector<int32_t> b_zps;
  std::vector<int32_t> bias;
  std::vector<float> bias_f32;
  RefQuant ref_quant;
  OutputQuant quant;
  PackedGemmWeights weights;
  std::vector<uint8_t> want;  // M x ldc elements of c_type, the ldc padding = kSentinel
  int64_t lda = 0, ldb = 0, ldc = 0;
};

GemmWeightsDesc DescOf(const Prepared& p) {
  GemmWeightsDesc d;
  d.a_type = p.c.a_type, d.b_type = p.c.b_type, d.K = p.c.K, d.N = p.c.N, d.b = p.b.data(), d.ldb = p.ldb;
  d.a_zero_point = p.c.a_zp;
  if (!p.b_zps.empty()) d.b_zero_points = p.b_zps.data(), d.b_zero_point_count = static_cast<int>(p.b_zps.size());
  if (!p.bias.empty()) d.bias = p.bias.data();
  if (!p.bias_f32.empty()) d.bias_f32 = p.bias_f32.data();
  return d;
}

std::unique_ptr<Prepared> Prepare(const Case& c, uint64_t seed) {
  auto p = std::make_unique<Prepared>();
  p->c = c;
  p->seed = seed;
  std::mt19937_64 rng(seed);
  p->lda = c.K + c.lda_extra, p->ldb = c.N + c.ldb_extra, p->ldc = c.N + c.ldc_extra;
  const int c_size = SizeOf(c.c_type);
  std::vector<int32_t> acc;        // integer families
  std::vector<uint32_t> acc_bits;  // BF16
  if (c.a_type == DType::kBF16) {
    std::vector<uint16_t> a(size_t(c.M) * p->lda), b(size_t(c.K) * p->ldb);
    const uint64_t rare = std::max<uint64_t>(256, uint64_t{16} * c.K);  // NaN/Inf in a few outputs only
    for (auto& v : a) v = RandomBf16(rng, c.data, rare);
    for (auto& v : b) v = RandomBf16(rng, c.data, rare);
    if (c.bias) {
      p->bias_f32.resize(size_t(c.N));
      for (auto& v : p->bias_f32) v = RandomBias(rng, c.data);
    }
    acc_bits = testing::GemmBf16Ref(c.M, c.N, c.K, a.data(), p->lda, b.data(), p->ldb,
                                    c.bias ? p->bias_f32.data() : nullptr);
    p->a.resize(a.size() * 2), p->b.resize(b.size() * 2);
    std::memcpy(p->a.data(), a.data(), p->a.size());
    std::memcpy(p->b.data(), b.data(), p->b.size());
  } else {
    const IntMatrix a = RandomInts(rng, c.a_type, size_t(c.M) * p->lda, c.data);
    const IntMatrix b = RandomInts(rng, c.b_type, size_t(c.K) * p->ldb, c.data);
    p->a = a.bytes, p->b = b.bytes;
    std::vector<int32_t> zps(size_t(c.N), 0);
    if (c.b_zp == WeightZp::kPerTensor) {
      p->b_zps = {c.b_zp_value};
      std::fill(zps.begin(), zps.end(), c.b_zp_value);
    } else if (c.b_zp == WeightZp::kPerChannel) {
      int32_t lo, hi;
      RangeOf(c.b_type, &lo, &hi);
      for (int n = 0; n < c.N; ++n) {
        const int pick = static_cast<int>(rng() % 4);
        zps[n] = pick == 0 ? lo : pick == 1 ? hi : lo + static_cast<int32_t>(rng() % uint64_t(hi - lo + 1));
      }
      p->b_zps = zps;
    }
    if (c.bias) {
      p->bias.resize(size_t(c.N));
      for (auto& v : p->bias) {
        v = static_cast<int32_t>(static_cast<uint32_t>(c.bias_base) + static_cast<uint32_t>(rng() % 200001) - 100000u);
      }
    }
    acc = testing::GemmZpRef(c.M, c.N, c.K, a.values.data(), p->lda, c.a_zp, b.values.data(), p->ldb, zps.data(),
                             c.bias ? p->bias.data() : nullptr);
  }

  p->weights = PackGemmWeights(DescOf(*p));
  p->want.assign(size_t(c.M) * p->ldc * c_size, kSentinel);
  for (int m = 0; m < c.M; ++m) {
    for (int n = 0; n < c.N; ++n) {
      uint8_t* dst = &p->want[(size_t(m) * p->ldc + n) * c_size];
      const size_t i = size_t(m) * c.N + n;
      switch (c.c_type) {
        case DType::kF32: std::memcpy(dst, &acc_bits[i], 4); break;
        case DType::kBF16: {
          const uint16_t v = testing::Bf16FromF32Ref(acc_bits[i]);
          std::memcpy(dst, &v, 2);
          break;
        }
        case DType::kI32: std::memcpy(dst, &acc[i], 4); break;
        default: break;  // requantized below
      }
    }
  }
  if (IsRequant(c.c_type)) {
    p->ref_quant = ChooseQuant(rng, c, acc);
    p->quant = KernelQuant(p->ref_quant, c.per_channel);
    const std::vector<int32_t> q = testing::RequantMatrixRef(acc, c.M, c.N, p->ref_quant);
    for (int m = 0; m < c.M; ++m) {
      for (int n = 0; n < c.N; ++n) {
        const uint16_t v = static_cast<uint16_t>(q[size_t(m) * c.N + n]);
        std::memcpy(&p->want[(size_t(m) * p->ldc + n) * c_size], &v, c_size);
      }
    }
  }
  return p;
}

std::string Hex(const uint8_t* bytes, int size) {
  uint32_t v = 0;
  std::memcpy(&v, bytes, size);
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

// Runs the prepared case on `machine` with `threads` and compares every byte of C.
::testing::AssertionResult RunOn(Machine& machine, const Prepared& p, int threads) {
  const Case& c = p.c;
  const int c_size = SizeOf(c.c_type);
  std::vector<uint8_t> out(p.want.size(), kSentinel);
  GemmArgs args;
  args.M = c.M, args.a = p.a.data(), args.lda = p.lda;
  args.c_type = c.c_type, args.c = out.data(), args.ldc = p.ldc;
  args.quant = IsRequant(c.c_type) ? &p.quant : nullptr;
  args.threads = threads;
  try {
    Gemm(machine, p.weights, args);
  } catch (const Error& e) {
    return ::testing::AssertionFailure() << "threw: " << e.what();
  }
  int mismatches = 0;
  std::ostringstream os;
  for (int m = 0; m < c.M; ++m) {
    for (int64_t n = 0; n < p.ldc; ++n) {
      const size_t at = (size_t(m) * p.ldc + n) * c_size;
      if (std::memcmp(&out[at], &p.want[at], c_size) != 0 && ++mismatches <= 5) {
        os << "\n  [" << m << "][" << n << "] got " << Hex(&out[at], c_size) << ", want " << Hex(&p.want[at], c_size)
           << (n < c.N ? "" : " (ldc padding)");
      }
    }
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << mismatches << " mismatching elements" << os.str();
}

// The prepared case on the scalar machine and the SIMD machine under every target.
void RunPrepared(Machines& machines, const Prepared& p) {
  SCOPED_TRACE(Describe(p.c, p.seed));
  machines.ForEach([&](Machine& machine, const std::string& name) {
    EXPECT_TRUE(RunOn(machine, p, p.c.threads)) << "on " << name;
  });
}

void RunEverywhere(Machines& machines, const Case& c, uint64_t seed) { RunPrepared(machines, *Prepare(c, seed)); }

const RequantMode kModes[] = {RequantMode::kTflDouble, RequantMode::kTflSingle, RequantMode::kFloatRne,
                              RequantMode::kFloatZpFirst};

// Activation x weight types of the family, cycled by index.
struct TypePair {
  DType a, b;
};
const TypePair kInt8Types[] = {{DType::kU8, DType::kI8}, {DType::kI8, DType::kI8}, {DType::kU8, DType::kU8},
                               {DType::kI8, DType::kU8}};

// Zero points at both ends of the range (and 0) for type t, by index.
int32_t ZeroPointAt(DType t, int i) {
  const int32_t u8[] = {0, 255, 128, 3};
  const int32_t s8[] = {0, -128, 127, -5};
  return t == DType::kU8 ? u8[i % 4] : s8[i % 4];
}

// Varies the case's layout, bias, zero points and output by its index (ranges are coprime-ish, so the
// grid meets most combinations).
void VaryInt(Case& c, int index, bool int16) {
  c.lda_extra = (index / 2) % 3 == 0 ? 0 : 7;
  c.ldb_extra = (index / 3) % 2 ? 5 : 0;
  c.ldc_extra = (index / 5) % 2 ? 3 : 0;
  c.bias = (index / 4) % 2 == 1;
  if (!int16) {
    const TypePair t = kInt8Types[index % 4];
    c.a_type = t.a, c.b_type = t.b;
    c.a_zp = ZeroPointAt(c.a_type, index / 3);
    c.b_zp = static_cast<WeightZp>((index / 7) % 3);
    c.b_zp_value = ZeroPointAt(c.b_type, index / 5);
  } else {
    c.a_type = c.b_type = DType::kI16;
  }
  const int out = index % 9;  // 0: int32; 1-8: 4 modes x {per-tensor, per-channel}
  if (out > 0) {
    const DType outs[] = {DType::kU8, DType::kI8, DType::kI16};
    c.c_type = outs[(index / 7) % 3];
    c.mode = kModes[(out - 1) / 2];
    c.per_channel = (out - 1) % 2 == 1;
    c.narrow_clamp = (index / 11) % 2 == 1;
  }
}

// The edge grid: K in {1, 31, 32, 33, 64, 1000} x M, N in {1, 5, 33, 70} (ragged against 32), and
// one M = 300 per K, enough rows for the SIMD machine to split a TMAC across threads.
template <typename F>
void ForEachShape(F&& f) {
  for (int K : {1, 31, 32, 33, 64, 1000}) {
    for (int M : {1, 5, 33, 70}) {
      for (int N : {1, 5, 33, 70}) f(M, N, K);
    }
    f(300, 40, K);
  }
}

// ---- The edge grid, per family ----

TEST(Gemm, Int8EdgeGrid) {
  const uint64_t seed = TestSeed(5001);
  Machines machines(AccelConfig::Default());
  int index = 0;
  ForEachShape([&](int M, int N, int K) {
    if (HasFailure()) return;
    Case c;
    c.M = M, c.N = N, c.K = K;
    VaryInt(c, index, false);
    RunEverywhere(machines, c, seed + index++);
  });
}

TEST(Gemm, Int16EdgeGrid) {
  const uint64_t seed = TestSeed(5002);
  Machines machines(AccelConfig::Default());
  int index = 0;
  ForEachShape([&](int M, int N, int K) {
    if (HasFailure()) return;
    Case c;
    c.M = M, c.N = N, c.K = K;
    VaryInt(c, index, true);
    c.data = index % 5 == 2 ? Data::kExtreme : Data::kRandom;
    RunEverywhere(machines, c, seed + index++);
  });
}

TEST(Gemm, Bf16EdgeGrid) {
  const uint64_t seed = TestSeed(5003);
  Machines machines(AccelConfig::Default());
  int index = 0;
  ForEachShape([&](int M, int N, int K) {
    if (HasFailure()) return;
    Case c;
    c.M = M, c.N = N, c.K = K;
    c.a_type = c.b_type = DType::kBF16;
    c.lda_extra = (index / 2) % 3 == 0 ? 0 : 7;
    c.ldb_extra = (index / 3) % 2 ? 5 : 0;
    c.ldc_extra = (index / 5) % 2 ? 3 : 0;
    c.bias = index % 4 != 0;
    c.c_type = index % 2 ? DType::kBF16 : DType::kF32;
    c.data = index % 3 == 1 ? Data::kSpecial : Data::kRandom;
    RunEverywhere(machines, c, seed + index++);
  });
}

// ---- Requantization ----

// Every requant mode x per-tensor/per-channel x output type x family x clamp.
TEST(Gemm, RequantModes) {
  const uint64_t seed = TestSeed(5004);
  Machines machines(SmallConfig());
  int index = 0;
  for (RequantMode mode : kModes) {
    for (bool per_channel : {false, true}) {
      for (DType c_type : {DType::kU8, DType::kI8, DType::kI16}) {
        for (int family = 0; family < 3; ++family) {  // u8 x i8, i8 x u8, i16 x i16
          Case c;
          c.M = 19, c.N = 45, c.K = 77;
          c.a_type = family == 0 ? DType::kU8 : family == 1 ? DType::kI8 : DType::kI16;
          c.b_type = family == 0 ? DType::kI8 : family == 1 ? DType::kU8 : DType::kI16;
          if (family < 2) {
            c.a_zp = ZeroPointAt(c.a_type, index), c.b_zp = WeightZp::kPerChannel;
          }
          c.c_type = c_type, c.mode = mode, c.per_channel = per_channel;
          c.bias = true, c.lda_extra = 3, c.ldc_extra = 2;
          c.narrow_clamp = index % 3 == 1;
          RunEverywhere(machines, c, seed + index++);
          if (HasFailure()) return;
        }
      }
    }
  }
}

// Fused ReLU (qmin = zero point) and ReLU6-like clamps, per tensor, int8 and uint8 and int16.
TEST(Gemm, FusedClamps) {
  const uint64_t seed = TestSeed(5005);
  Machines machines(SmallConfig());
  int index = 0;
  for (DType c_type : {DType::kU8, DType::kI8, DType::kI16}) {
    Case c;
    c.M = 21, c.N = 40, c.K = 50, c.a_type = DType::kU8, c.b_type = DType::kI8, c.a_zp = 128, c.bias = true;
    c.c_type = c_type, c.mode = kModes[index % 4];
    auto p = Prepare(c, seed + index);
    int32_t lo, hi;
    RangeOf(c_type, &lo, &hi);
    p->ref_quant.qmin = p->ref_quant.zero_point;                                   // ReLU
    p->ref_quant.qmax = std::min(hi, p->ref_quant.zero_point + (hi - lo) / 5);     // ReLU6-like
    p->quant = KernelQuant(p->ref_quant, false);
    // Recompute the expected codes for the new clamp from the int32 results of the same case.
    Case raw = c;
    raw.c_type = DType::kI32;
    const auto acc = Prepare(raw, seed + index);
    std::vector<int32_t> acc_values(size_t(c.M) * c.N);
    for (int m = 0; m < c.M; ++m) {
      for (int n = 0; n < c.N; ++n) std::memcpy(&acc_values[size_t(m) * c.N + n], &acc->want[(size_t(m) * acc->ldc + n) * 4], 4);
    }
    const auto q = testing::RequantMatrixRef(acc_values, c.M, c.N, p->ref_quant);
    bool saw_min = false, saw_max = false;
    for (int m = 0; m < c.M; ++m) {
      for (int n = 0; n < c.N; ++n) {
        const int32_t v = q[size_t(m) * c.N + n];
        saw_min |= v == p->ref_quant.qmin, saw_max |= v == p->ref_quant.qmax;
        const uint16_t raw16 = static_cast<uint16_t>(v);
        std::memcpy(&p->want[(size_t(m) * p->ldc + n) * SizeOf(c_type)], &raw16, SizeOf(c_type));
      }
    }
    EXPECT_TRUE(saw_min && saw_max) << "the clamp is not exercised";
    SCOPED_TRACE(Describe(c, seed + index));
    machines.ForEach([&](Machine& machine, const std::string& name) { EXPECT_TRUE(RunOn(machine, *p, 0)) << name; });
    ++index;
  }
}

// ---- Extremes and wrap ----

// Zero points at both ends of the range for every INT8 type pair, per tensor and per channel, with
// extreme and random data.
TEST(Gemm, Int8ZeroPointExtremes) {
  const uint64_t seed = TestSeed(5006);
  Machines machines(SmallConfig());
  int index = 0;
  for (const TypePair& t : kInt8Types) {
    int32_t alo, ahi, blo, bhi;
    RangeOf(t.a, &alo, &ahi);
    RangeOf(t.b, &blo, &bhi);
    for (int32_t a_zp : {alo, ahi}) {
      for (int32_t b_zp : {blo, bhi}) {
        for (WeightZp kind : {WeightZp::kPerTensor, WeightZp::kPerChannel}) {
          Case c;
          c.M = 35, c.N = 37, c.K = 67;
          c.a_type = t.a, c.b_type = t.b, c.a_zp = a_zp, c.b_zp = kind, c.b_zp_value = b_zp;
          c.data = index % 2 ? Data::kExtreme : Data::kRandom;
          c.bias = index % 3 != 0;
          c.c_type = index % 4 == 3 ? DType::kI8 : DType::kI32, c.mode = kModes[index % 4];
          RunEverywhere(machines, c, seed + index++);
          if (HasFailure()) return;
        }
      }
    }
  }
}

// Accumulators that wrap mod 2^32: a bias next to INT32_MAX / INT32_MIN with extreme INT8 data and zero
// points, and int16 extremes (2^30 per product) over K = 1000.
TEST(Gemm, AccumulatorsWrap) {
  const uint64_t seed = TestSeed(5007);
  Machines machines(SmallConfig());
  int index = 0;
  for (int32_t base : {INT32_MAX - 50000, INT32_MIN + 50000}) {
    for (const TypePair& t : kInt8Types) {
      Case c;
      c.M = 9, c.N = 33, c.K = 300;
      c.a_type = t.a, c.b_type = t.b, c.data = Data::kExtreme, c.bias = true, c.bias_base = base;
      c.a_zp = ZeroPointAt(t.a, 1), c.b_zp = WeightZp::kPerTensor, c.b_zp_value = ZeroPointAt(t.b, 2 + index % 2);
      c.c_type = index % 2 ? DType::kI16 : DType::kI32, c.mode = RequantMode::kTflSingle;
      RunEverywhere(machines, c, seed + index++);
    }
  }
  for (DType c_type : {DType::kI32, DType::kI16, DType::kI8}) {
    Case c;
    c.M = 6, c.N = 35, c.K = 1000, c.a_type = c.b_type = DType::kI16, c.data = Data::kExtreme, c.bias = true;
    c.c_type = c_type, c.mode = kModes[index % 4], c.per_channel = true;
    RunEverywhere(machines, c, seed + index++);
  }
  // The int16 case really wraps: (-32768)^2 * 1000 is far beyond int32.
  std::vector<int16_t> a(1000, INT16_MIN), b(1000, INT16_MIN);
  GemmWeightsDesc d;
  d.a_type = d.b_type = DType::kI16, d.K = 1000, d.N = 1, d.b = b.data(), d.ldb = 1;
  const PackedGemmWeights w = PackGemmWeights(d);
  machines.ForEach([&](Machine& machine, const std::string& name) {
    int32_t out = 0;
    GemmArgs args;
    args.M = 1, args.a = a.data(), args.lda = 1000, args.c = &out, args.ldc = 1;
    Gemm(machine, w, args);
    EXPECT_EQ(out, static_cast<int32_t>(static_cast<uint32_t>(uint64_t{1000} << 30))) << name;
  });
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

// ---- Threads ----

// 1, 2 and 8 threads give the same bytes (and the reference's) on the SIMD machine, with TMACs large
// enough to be split across threads (> 256 row-tiles, 32-row blocks).
TEST(Gemm, ThreadCountsAreBitIdentical) {
  const uint64_t seed = TestSeed(5009);
  SimdMachine machine(AccelConfig::Default());
  int index = 0;
  for (int family = 0; family < 4; ++family) {
    Case c;
    c.M = 300, c.N = 70, c.K = 200, c.bias = true, c.lda_extra = 1, c.ldc_extra = 2;
    if (family == 0) c.a_type = DType::kU8, c.b_type = DType::kI8, c.a_zp = 7, c.c_type = DType::kI8;
    if (family == 1) {
      c.a_type = DType::kI8, c.b_type = DType::kU8, c.a_zp = -3, c.b_zp = WeightZp::kPerChannel;
      c.c_type = DType::kU8, c.mode = RequantMode::kFloatRne, c.per_channel = true;
    }
    if (family == 2) c.a_type = c.b_type = DType::kI16, c.c_type = DType::kI32;
    if (family == 3) c.a_type = c.b_type = DType::kBF16, c.c_type = DType::kF32, c.data = Data::kSpecial;
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

TEST(GemmThreads, RequestEnvironmentDefault) {
  {
    ScopedEnv env("TILE32_NUM_THREADS", nullptr);
    EXPECT_EQ(GemmThreads(3), 3);
    EXPECT_EQ(GemmThreads(0), std::max(1, tbb::info::default_concurrency()));
    ExpectErrorMentioning([] { GemmThreads(-1); }, "threads = -1");
    ExpectErrorMentioning([] { GemmThreads(1 << 20); }, "threads = 1048576");
  }
  {
    ScopedEnv env("TILE32_NUM_THREADS", "5");
    EXPECT_EQ(GemmThreads(0), 5);
    EXPECT_EQ(GemmThreads(2), 2);  // the request wins over the environment
  }
  for (const char* bad : {"0", "-2", "abc", "", "3x", " 4", "99999999999999999999"}) {
    SCOPED_TRACE(std::string("TILE32_NUM_THREADS='") + bad + "'");
    ScopedEnv env("TILE32_NUM_THREADS", bad);
    ExpectErrorMentioning([] { GemmThreads(0); }, "TILE32_NUM_THREADS");
    EXPECT_EQ(GemmThreads(4), 4);  // an explicit request never reads it
  }
}

// Gemm itself honours the environment (result unchanged) and reports a bad value.
TEST(GemmThreads, GemmReadsTheEnvironment) {
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

// PackGemmWeights folds bias - a_zp * colsum(w') + K * a_zp * z into bias_row, with w' = w (int8) or
// w - 128 (uint8) and z the shifted weight zero point; the tiles hold w'; padding is zero.
TEST(GemmPacking, FoldedBiasEqualsTheFormula) {
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
      int32_t alo, ahi;
      RangeOf(t.a, &alo, &ahi);
      GemmWeightsDesc d;
      d.a_type = t.a, d.b_type = t.b, d.K = K, d.N = N, d.b = b.bytes.data(), d.ldb = ldb;
      d.a_zero_point = index % 2 ? alo : ahi;
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
        const int64_t want = int64_t{bias[n]} - int64_t{d.a_zero_point} * colsum + int64_t{K} * d.a_zero_point * z;
        EXPECT_EQ(w.bias_row[n], static_cast<uint32_t>(static_cast<uint64_t>(want))) << "n " << n;
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

TEST(Gemm, RowSumsNeedTwoAccRows) {
  AccelConfig config = TinyConfig();
  config.acc_rows = 2;  // one accumulator row and one row sum per block
  Machines machines(config);
  Case c;
  c.M = 5, c.N = 40, c.K = 70, c.a_type = DType::kU8, c.b_type = DType::kU8, c.a_zp = 3;
  c.b_zp = WeightZp::kPerTensor, c.b_zp_value = 255, c.bias = true;
  RunEverywhere(machines, c, TestSeed(5015));

  config.acc_rows = 1;
  ScalarMachine machine(config);
  const auto p = Prepare(c, TestSeed(5015));
  std::vector<int32_t> out(size_t(c.M) * c.N);
  GemmArgs args;
  args.M = c.M, args.a = p->a.data(), args.lda = p->lda, args.c = out.data(), args.ldc = c.N;
  ExpectErrorMentioning([&] { Gemm(machine, p->weights, args); }, "acc_rows = 1");
  // Without weight zero points one ACC row suffices.
  c.b_zp = WeightZp::kNone, c.b_type = DType::kI8;
  const auto q = Prepare(c, TestSeed(5015));
  EXPECT_TRUE(RunOn(machine, *q, 1));
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
  { auto d = base(); d.a_zero_point = 256; expect(d, "desc.a_zero_point = 256"); }
  { auto d = base(); d.a_zero_point = -1; expect(d, "desc.a_zero_point = -1"); }
  { auto d = base(); d.a_type = DType::kI8, d.a_zero_point = 128; expect(d, "desc.a_zero_point = 128"); }
  { auto d = base(); d.b_zero_points = &zp200, d.b_zero_point_count = 1; expect(d, "desc.b_zero_points[0] = 200"); }
  { auto d = base(); d.b_type = DType::kU8, d.b_zero_points = &zp300, d.b_zero_point_count = 1; expect(d, "desc.b_zero_points[0] = 300"); }
  { auto d = base(); d.b_type = DType::kU8, d.b_zero_points = &zp_neg, d.b_zero_point_count = 1; expect(d, "desc.b_zero_points[0] = -1"); }
  { auto d = base(); d.b_zero_points = zps2, d.b_zero_point_count = 2; expect(d, "desc.b_zero_point_count = 2"); }
  { auto d = base(); d.b_zero_point_count = 4; expect(d, "desc.b_zero_point_count = 4"); }
  { auto d = base(); d.bias_f32 = &fbias; expect(d, "desc.bias_f32"); }
  { auto d = base(); d.a_type = d.b_type = DType::kI16, d.a_zero_point = 1; expect(d, "desc.a_zero_point = 1"); }
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
  for (uint32_t s = kKernelFirstSegment; s < kMaxDramSegments; ++s) {
    EXPECT_FALSE(small.dram_bound(s)) << "segment " << s;
    EXPECT_FALSE(machine.dram_bound(s)) << "segment " << s;
  }
}

}  // namespace
}  // namespace tile32

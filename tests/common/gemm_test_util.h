// Shared fixtures of the GEMM tests (tests/unit/gemm_*_test.cc): the machines under test, case
// generation, the expected bytes from the reference loops of tests/common/reference.h, and the runners
// that compare every byte of C. Every case is generated once, its expected bytes computed once, and every
// machine must write exactly those bytes (and leave the leading-dimension padding of C untouched).
// Seeds are fixed per test and printed on failure; TILE32_SEED overrides them all.
#pragma once

#include <gtest/gtest.h>

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
#include <utility>
#include <vector>

#include "accel/error.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "kernels/gemm.h"
#include "tests/common/reference.h"
#include "tests/common/targets.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace gemm_test {

using testing::RefQuant;

using testing::ExpectErrorMentioning;
using testing::TestSeed;

inline AccelConfig SmallConfig() {
  AccelConfig c;
  c.sram_bytes = 256 << 10;
  c.acc_rows = 512;
  c.tile_regs = 4;
  return c;
}

// So small that neither all weights nor whole activation rows fit: both are streamed per 2-tile chunk,
// in blocks of 16 ACC rows (8 with row sums).
inline AccelConfig TinyConfig() {
  AccelConfig c;
  c.sram_bytes = 12 << 10;
  c.acc_rows = 16;
  c.tile_regs = 2;
  return c;
}

// ---- The machines under test ----

// The scalar machine and one SIMD machine; the SIMD machine runs once per supported target, and once per
// variant of `extra` (test::AmxVariantsToTest()).
class Machines {
 public:
  explicit Machines(const AccelConfig& config, std::vector<int64_t> extra = {})
      : scalar_(config), simd_(config), targets_(test::TargetsToTest()) {
    targets_.insert(targets_.end(), extra.begin(), extra.end());
  }

  // Calls f(machine, name) for the scalar machine and for the SIMD machine under each target.
  template <typename F>
  void ForEach(F&& f) {
    f(static_cast<Machine&>(scalar_), std::string("scalar"));
    for (int64_t target : targets_) {
      test::ScopedTarget scoped(target);
      f(static_cast<Machine&>(simd_), "simd/" + scoped.name());
    }
  }

 private:
  ScalarMachine scalar_;
  SimdMachine simd_;
  std::vector<int64_t> targets_;
};

// ---- Cases ----

// kSpecial: bf16 NaN/Inf/denormal/-0/overflow/underflow. kNarrowWeights: int8 weights that pack to [-64, 63]
// (int8 B in [-64, 63], uint8 B in [64, 191]), the SIMD machine's pmaddubsw path, ends included.
enum class Data { kRandom, kExtreme, kSpecial, kNarrowWeights };
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

inline bool IsRequant(DType t) { return IsRequantOutput(t); }

inline std::string Describe(const Case& c, uint64_t seed) {
  std::ostringstream os;
  os << "seed " << seed << " (TILE32_SEED overrides): M " << c.M << " N " << c.N << " K " << c.K << " "
     << NameOf(c.a_type) << " x " << NameOf(c.b_type) << " lda+" << c.lda_extra << " ldb+" << c.ldb_extra
     << " ldc+" << c.ldc_extra << (c.bias ? " bias" : "");
  if (c.bias_base != 0) os << " bias_base " << c.bias_base;
  if (c.data == Data::kExtreme) os << " extreme";
  if (c.data == Data::kSpecial) os << " special-floats";
  if (c.data == Data::kNarrowWeights) os << " narrow-weights";
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

inline void RangeOf(DType t, int32_t* lo, int32_t* hi) {
  const ValueRange r = tile32::RangeOf(t);
  *lo = r.lo, *hi = r.hi;
}

// Integer codes of t (u8, i8, i16) as raw little-endian bytes plus their widened values.
struct IntMatrix {
  std::vector<uint8_t> bytes;
  std::vector<int32_t> values;
};

inline IntMatrix RandomInts(std::mt19937_64& rng, DType t, size_t count, Data data) {
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

// Int8 weights moved into the range that packs to [-64, 63] (packing subtracts 128 from uint8 weights),
// a quarter of them at its ends.
inline void NarrowWeights(std::mt19937_64& rng, DType t, IntMatrix* x) {
  const int32_t lo = t == DType::kU8 ? 64 : -64;
  for (size_t i = 0; i < x->values.size(); ++i) {
    int32_t v = lo + static_cast<int32_t>(rng() % 128);
    if (rng() % 4 == 0) v = rng() % 2 ? lo : lo + 127;
    x->values[i] = v;
    x->bytes[i] = static_cast<uint8_t>(v);
  }
}

// bf16 bits: moderate values (products span 2^-16..2^16, so sums round and their order matters). kSpecial
// mixes in NaNs (quiet, signalling, negative, payloads), +-Inf and huge values whose products can overflow
// rarely enough (1 or 2 in `rare`) that most outputs stay finite, and often bf16 denormals, +-0 and tiny
// values whose products underflow fp32.
inline uint16_t RandomBf16(std::mt19937_64& rng, Data data, uint64_t rare = 256) {
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

inline float RandomBias(std::mt19937_64& rng, Data data) {
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
inline void QuantizeMultiplier(double r, int32_t* multiplier, int32_t* shift) {
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
inline RefQuant ChooseQuant(std::mt19937_64& rng, const Case& c, const std::vector<int32_t>& acc) {
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

using testing::KernelQuant;

inline constexpr uint8_t kSentinel = 0xA5;

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

inline GemmWeightsDesc DescOf(const Prepared& p) {
  GemmWeightsDesc d;
  d.a_type = p.c.a_type, d.b_type = p.c.b_type, d.K = p.c.K, d.N = p.c.N, d.b = p.b.data(), d.ldb = p.ldb;
  if (!p.b_zps.empty()) d.b_zero_points = p.b_zps.data(), d.b_zero_point_count = static_cast<int>(p.b_zps.size());
  if (!p.bias.empty()) d.bias = p.bias.data();
  if (!p.bias_f32.empty()) d.bias_f32 = p.bias_f32.data();
  return d;
}

inline std::unique_ptr<Prepared> Prepare(const Case& c, uint64_t seed) {
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
    IntMatrix b = RandomInts(rng, c.b_type, size_t(c.K) * p->ldb, c.data == Data::kNarrowWeights ? Data::kRandom : c.data);
    if (c.data == Data::kNarrowWeights && SizeOf(c.b_type) == 1) NarrowWeights(rng, c.b_type, &b);
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

inline std::string Hex(const uint8_t* bytes, int size) {
  uint32_t v = 0;
  std::memcpy(&v, bytes, size);
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

// Runs the prepared case on `machine` with `threads` and compares every byte of C.
inline ::testing::AssertionResult RunOn(Machine& machine, const Prepared& p, int threads) {
  const Case& c = p.c;
  const int c_size = SizeOf(c.c_type);
  std::vector<uint8_t> out(p.want.size(), kSentinel);
  GemmArgs args;
  args.M = c.M, args.a = p.a.data(), args.lda = p.lda, args.a_zero_point = c.a_zp;
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
inline void RunPrepared(Machines& machines, const Prepared& p) {
  SCOPED_TRACE(Describe(p.c, p.seed));
  machines.ForEach([&](Machine& machine, const std::string& name) {
    EXPECT_TRUE(RunOn(machine, p, p.c.threads)) << "on " << name;
  });
}

inline void RunEverywhere(Machines& machines, const Case& c, uint64_t seed) {
  RunPrepared(machines, *Prepare(c, seed));
}

inline constexpr RequantMode kModes[] = {RequantMode::kTflDouble, RequantMode::kTflSingle, RequantMode::kFloatRne,
                                         RequantMode::kFloatZpFirst};

// Activation x weight types of the family, cycled by index.
struct TypePair {
  DType a, b;
};
inline constexpr TypePair kInt8Types[] = {{DType::kU8, DType::kI8}, {DType::kI8, DType::kI8}, {DType::kU8, DType::kU8},
                                          {DType::kI8, DType::kU8}};

// Zero points at both ends of the range (and 0) for type t, by index.
inline int32_t ZeroPointAt(DType t, int i) {
  const int32_t u8[] = {0, 255, 128, 3};
  const int32_t s8[] = {0, -128, 127, -5};
  return t == DType::kU8 ? u8[i % 4] : s8[i % 4];
}

// Varies the case's layout, bias, zero points and output by its index (ranges are coprime-ish, so the
// grid meets most combinations).
inline void VaryInt(Case& c, int index, bool int16) {
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
    if (index % 5 == 2) c.data = Data::kNarrowWeights;
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
inline void ForEachShape(F&& f) {
  for (int K : {1, 31, 32, 33, 64, 1000}) {
    for (int M : {1, 5, 33, 70}) {
      for (int N : {1, 5, 33, 70}) f(M, N, K);
    }
    f(300, 40, K);
  }
}

// The edge grid on the default configuration: every ForEachShape shape, the rest of the case set by
// `vary(case, index)`, each run on every machine and target (and `extra` variant) with seed + index. Stops at
// the first failure.
template <typename Vary>
inline void RunEdgeGrid(uint64_t seed, Vary&& vary, std::vector<int64_t> extra = {}) {
  Machines machines(AccelConfig::Default(), std::move(extra));
  int index = 0;
  ForEachShape([&](int M, int N, int K) {
    if (::testing::Test::HasFailure()) return;
    Case c;
    c.M = M, c.N = N, c.K = K;
    vary(c, index);
    RunEverywhere(machines, c, seed + index++);
  });
}

}  // namespace gemm_test
}  // namespace tile32

// Data for the random programs (tests/common/random_program.h): memory filled in chunks of one flavor each,
// from random bytes to int and bf16/fp32 extremes, and the requant building blocks — random QuantConfigs
// and accumulator values on exact rounding ties. The instruction generator is in random_program.cc.
#include "tests/common/random_program.h"

#include <algorithm>
#include <cstdlib>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

#include "accel/numeric.h"
#include "tests/common/random_program_internal.h"

namespace tile32::test {

using namespace random_detail;

namespace {

// ---- data flavors ----

enum Flavor {
  kRandomBytes,
  kExtremeBytes,
  kExtremeI16,
  kExtremeI32,
  kSmallI32,
  kBf16Moderate,
  kBf16Special,
  kBf16Tiny,
  kBf16Huge,
  kF32Special,
  kNumFlavors
};

uint16_t Bf16Special(Rng& r) {
  if (Chance(r, 0.4)) return Bf16Moderate(r);
  return Pick<uint16_t>(r, {
      0x7F81, 0x7FC0, 0x7FC1, 0x7FFF, 0xFF81, 0xFFC0, 0xFFFF, 0x7FA5,  // NaNs with payloads, both signs
      0x7F80, 0xFF80,                                                  // +-Inf
      0x0000, 0x8000,                                                  // +-0
      0x0001, 0x8001, 0x0040, 0x007F, 0x807F,                          // denormals
      0x0080, 0x8080,                                                  // smallest normals
      0x7F7F, 0xFF7F, 0x7F00,                                          // max finite, huge
      0x3F80, 0xBF80, 0x4000,                                          // 1, -1, 2
  });
}

uint16_t Bf16Tiny(Rng& r) {  // products of two of these underflow to denormals or zero
  const uint16_t sign = Chance(r, 0.5) ? 0x8000 : 0;
  const uint16_t exp = static_cast<uint16_t>(Chance(r, 0.2) ? 0 : Range(r, 1, 75));
  return static_cast<uint16_t>(sign | (exp << 7) | Range(r, 0, 127));
}

uint16_t Bf16Huge(Rng& r) {  // products of two of these overflow to +-Inf
  const uint16_t sign = Chance(r, 0.5) ? 0x8000 : 0;
  const uint16_t exp = static_cast<uint16_t>(Range(r, 185, 254));
  return static_cast<uint16_t>(sign | (exp << 7) | Range(r, 0, 127));
}

void FillFlavor(Rng& r, Flavor f, uint8_t* p, size_t n) {
  size_t i = 0;
  switch (f) {
    case kRandomBytes: break;
    case kExtremeBytes:
      for (; i < n; ++i) p[i] = Pick<uint8_t>(r, {0x80, 0x7F, 0x00, 0xFF, 0x01, 0x81, 0xFE, 0x80, 0x7F});
      break;
    case kExtremeI16:
      for (; i + 2 <= n; i += 2) {
        const uint16_t v = Chance(r, 0.2) ? static_cast<uint16_t>(r())
                                          : Pick<uint16_t>(r, {0x8000, 0x7FFF, 0x0000, 0xFFFF, 0x0001, 0x8001, 0x8000});
        Put16(p + i, v);
      }
      break;
    case kExtremeI32:
      for (; i + 4 <= n; i += 4) Put32(p + i, ExtremeI32(r));
      break;
    case kSmallI32:
      for (; i + 4 <= n; i += 4) Put32(p + i, static_cast<uint32_t>(static_cast<int32_t>(Range(r, -4096, 4096))));
      break;
    case kBf16Moderate:
      for (; i + 2 <= n; i += 2) Put16(p + i, Bf16Moderate(r));
      break;
    case kBf16Special:
      for (; i + 2 <= n; i += 2) Put16(p + i, Bf16Special(r));
      break;
    case kBf16Tiny:
      for (; i + 2 <= n; i += 2) Put16(p + i, Chance(r, 0.8) ? Bf16Tiny(r) : Bf16Moderate(r));
      break;
    case kBf16Huge:
      for (; i + 2 <= n; i += 2) Put16(p + i, Chance(r, 0.8) ? Bf16Huge(r) : Bf16Moderate(r));
      break;
    case kF32Special:
      for (; i + 4 <= n; i += 4) Put32(p + i, F32Special(r));
      break;
    default: break;
  }
  for (; i < n; ++i) p[i] = static_cast<uint8_t>(r());
}

// ---- requant parameters ----

int32_t RandomMultiplier(Rng& r) {
  switch (Range(r, 0, 3)) {
    case 0:
      return Pick<int32_t>(r, {0, 1, 1 << 30, kI32Max, 1583594044, 1431655765, 1 << 29, (1 << 30) + 1, 3});
    case 1: return static_cast<int32_t>(Range(r, 0, kI32Max));
    default: return static_cast<int32_t>(Range(r, 1 << 30, kI32Max));  // normalized, as TFLite produces
  }
}

int32_t RandomShift(Rng& r) {
  switch (Range(r, 0, 2)) {
    case 0: return Pick<int32_t>(r, {-31, -30, -9, -1, 0, 1, 7, 6});
    case 1: return static_cast<int32_t>(Range(r, -31, 7));
    default: return static_cast<int32_t>(Range(r, -14, 0));
  }
}

float RandomScale(Rng& r) {
  switch (Range(r, 0, 2)) {
    case 0:
      return Pick<float>(r, {1.0f / 3, 0.5f, 0.25f, 1.5f, 1.0f, 1e-3f, 1.0f / 255, 0x1p-20f, FLT_TRUE_MIN, FLT_MIN,
                             FLT_MAX, 1e6f, 3.0f, 0x1p-31f, 0.1f, 0.0123f});
    case 1: return std::ldexp(static_cast<float>(std::uniform_real_distribution<double>(1, 2)(r)),
                              static_cast<int>(Range(r, -24, 8)));
    default:  // typical x_scale * w_scale / y_scale
      return static_cast<float>(std::exp(std::uniform_real_distribution<double>(std::log(1e-5), std::log(0.5))(r)));
  }
}

// x with fl32(fl32(x) * scale) (+ fl32(zp) for FLOAT_ZP_FIRST) exactly n + 0.5, found by a local search.
bool FloatTie(Rng& r, float scale, bool zp_first, int32_t zp, int32_t* x) {
  for (int attempt = 0; attempt < 24; ++attempt) {
    const int64_t limit = Chance(r, 0.7) ? 400 : (1 << 22);
    const double target = static_cast<double>(Range(r, -limit, limit)) + 0.5 - (zp_first ? zp : 0);
    const double x0 = std::nearbyint(target / scale);
    if (!(std::fabs(x0) < 2147483000.0)) continue;
    for (int d = -6; d <= 6; ++d) {
      const int32_t cand = static_cast<int32_t>(x0) + d;
      float v = static_cast<float>(cand) * scale;
      if (zp_first) v = v + static_cast<float>(zp);
      if (std::isfinite(v) && v - std::floor(v) == 0.5f) {
        *x = cand;
        return true;
      }
    }
  }
  return false;
}

int Ctz32(uint32_t v) {
  int n = 0;
  while (!(v & 1)) v >>= 1, ++n;
  return n;
}

// An odd multiple of 2^e that fits in int32 (e <= 31), small magnitudes preferred.
int64_t OddMultiple(Rng& r, int e) {
  if (e >= 31) return kI32Min;
  const int64_t max_odd = ((int64_t{1} << 31) - 1) >> e;  // |odd| * 2^e <= 2^31 - 1
  const int64_t bound = Chance(r, 0.6) ? std::min<int64_t>(max_odd, 9) : max_odd;
  int64_t j = Range(r, 0, (bound - 1) / 2);
  int64_t odd = 2 * j + 1;
  if (Chance(r, 0.5)) odd = -odd;
  return odd * (int64_t{1} << e);
}

}  // namespace

void FillMixed(std::mt19937_64& rng, uint8_t* p, size_t n) {
  size_t pos = 0;
  while (pos < n) {
    const size_t len = std::min<size_t>(n - pos, static_cast<size_t>(Range(rng, 16, 512)));
    FillFlavor(rng, static_cast<Flavor>(Range(rng, 0, kNumFlavors - 1)), p + pos, len);
    pos += len;
  }
}

QuantConfig RandomQuant(std::mt19937_64& rng, RequantMode mode, DType out) {
  QuantConfig q;
  q.mode = mode;
  const bool per_tensor = Chance(rng, 0.4);
  for (int j = 0; j < kLanes; ++j) {
    if (j > 0 && per_tensor) {
      q.multiplier[j] = q.multiplier[0], q.shift[j] = q.shift[0], q.scale[j] = q.scale[0];
    } else {
      q.multiplier[j] = RandomMultiplier(rng), q.shift[j] = RandomShift(rng), q.scale[j] = RandomScale(rng);
    }
  }
  int32_t lo, hi;
  OutRange(out, &lo, &hi);
  switch (Range(rng, 0, 3)) {
    case 0: q.zero_point = lo; break;
    case 1: q.zero_point = hi; break;
    case 2: q.zero_point = std::clamp(0, lo, hi); break;
    default: q.zero_point = static_cast<int32_t>(Range(rng, lo, hi)); break;
  }
  switch (Range(rng, 0, 5)) {
    case 0:
    case 1:
    case 2: q.qmin = lo, q.qmax = hi; break;
    case 3: q.qmin = q.zero_point, q.qmax = hi; break;  // fused ReLU
    case 4: q.qmin = q.qmax = static_cast<int32_t>(Range(rng, lo, hi)); break;
    default:
      q.qmin = static_cast<int32_t>(Range(rng, lo, hi));
      q.qmax = static_cast<int32_t>(Range(rng, q.qmin, hi));
      break;
  }
  return q;
}

int32_t RequantTie(std::mt19937_64& rng, const QuantConfig& q, int lane) {
  const int32_t m = q.multiplier[lane];
  const int s = q.shift[lane];
  int32_t x;
  switch (q.mode) {
    case RequantMode::kTflSingle: {
      // x*M = odd * 2^(30-s): with M = m' * 2^t (m' odd), x = odd * 2^(30-s-t).
      if (m == 0) break;
      const int e = 30 - s - Ctz32(static_cast<uint32_t>(m));
      if (e < 0 || e > 31) break;
      return static_cast<int32_t>(OddMultiple(rng, e));
    }
    case RequantMode::kTflDouble: {
      if (m == 0) break;
      const int left = std::max(s, 0), right = std::max(-s, 0);
      if (right > 0 && Chance(rng, 0.6)) {
        // RDBPOT tie: h = SRDHM(x, M) = odd * 2^(right-1); x ~ h * 2^31 / M, then a local search.
        const double hmax = 2147483647.0 * m / 2147483648.0;
        const double unit = std::ldexp(1.0, right - 1);
        if (hmax >= unit) {
          for (int attempt = 0; attempt < 8; ++attempt) {
            const int64_t odd_max = static_cast<int64_t>((hmax / unit - 1) / 2);
            int64_t odd = 2 * Range(rng, 0, Chance(rng, 0.6) ? std::min<int64_t>(odd_max, 4) : odd_max) + 1;
            if (Chance(rng, 0.5)) odd = -odd;
            const int64_t h = odd * static_cast<int64_t>(unit);
            const double x0 = std::nearbyint(static_cast<double>(h) * 2147483648.0 / m);
            for (int d = -3; d <= 3; ++d) {
              const double xd = x0 + d;
              if (xd < kI32Min || xd > kI32Max) continue;
              const int32_t cand = static_cast<int32_t>(xd);
              if (SaturatingRoundingDoublingHighMul(cand, m) == h) return cand;
            }
          }
        }
      }
      // SRDHM tie: a*M = odd * 2^30, a = odd * 2^(30-t); x*2^left wraps to a.
      const int e = 30 - Ctz32(static_cast<uint32_t>(m));
      if (e < left) break;
      const int64_t a = OddMultiple(rng, e);
      int64_t xv = a >> left;
      if (left > 0 && Chance(rng, 0.3)) {  // same a after the wrap of x * 2^left
        const int64_t period = int64_t{1} << (32 - left);
        xv += period * Range(rng, -2, 2);
        if (xv < kI32Min || xv > kI32Max) xv = a >> left;
      }
      return static_cast<int32_t>(xv);
    }
    case RequantMode::kFloatRne:
      if (FloatTie(rng, q.scale[lane], false, q.zero_point, &x)) return x;
      break;
    case RequantMode::kFloatZpFirst:
      if (FloatTie(rng, q.scale[lane], true, q.zero_point, &x)) return x;
      break;
  }
  // No tie for these parameters: a value of typical magnitude.
  return static_cast<int32_t>(Chance(rng, 0.5) ? Range(rng, -100000, 100000) : static_cast<int64_t>(ExtremeI32(rng)));
}

}  // namespace tile32::test

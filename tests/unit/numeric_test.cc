// accel/numeric.h against docs/isa.md §2 and §5, through a separate re-implementation written from the
// spec's words rather than its code: requantization as exact rational rounding (__int128 floor division,
// fp32 products computed exactly in fp64), fp32 -> bf16 as "the nearer of the two neighbouring bf16 values".
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "accel/isa.h"
#include "accel/numeric.h"

namespace tile32 {
namespace {

constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

// ---- the independent reference ----

using i128 = __int128;

i128 FloorDiv(i128 a, i128 b) {  // b > 0
  i128 q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

// Nearest integer to n / 2^k, ties toward +infinity.
i128 RoundHalfUp(i128 n, int k) {
  if (k == 0) return n;
  const i128 d = i128{1} << k;
  const i128 q = FloorDiv(n, d);
  const i128 r = n - q * d;  // in [0, d)
  return 2 * r >= d ? q + 1 : q;
}

// Nearest integer to n / 2^k, ties away from zero.
i128 RoundHalfAway(i128 n, int k) {
  const i128 mag = RoundHalfUp(n < 0 ? -n : n, k);
  return n < 0 ? -mag : mag;
}

// §5.2 TFL_DOUBLE: x scaled by 2^left with wrap, the doubled high product rounded (ties up) and
// saturated, then divided by 2^right rounding ties away from zero.
int64_t RefTflDouble(int32_t x, int32_t m, int s) {
  const int left = s > 0 ? s : 0, right = s > 0 ? 0 : -s;
  const int32_t a = static_cast<int32_t>(static_cast<uint32_t>(x) << left);
  i128 h = RoundHalfUp(i128{a} * m, 31);
  if (h > kMax) h = kMax;
  return static_cast<int64_t>(RoundHalfAway(h, right));
}

// §5.2 TFL_SINGLE: x * M / 2^(31 - s), nearest, ties toward +infinity.
int64_t RefTflSingle(int32_t x, int32_t m, int s) { return static_cast<int64_t>(RoundHalfUp(i128{x} * m, 31 - s)); }

// Round half to even of a double holding an integer + fraction.
double RneOf(double v) {
  const double f = std::floor(v);
  const double d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return std::fmod(f, 2.0) == 0 ? f : f + 1;
}

float Fl32(double v) { return static_cast<float>(v); }  // one IEEE rounding, to nearest even

// §5.2 FLOAT_RNE and FLOAT_ZP_FIRST including the zero point and the clamp. fl32(x) and the product are
// computed exactly in fp64 (int32 and 24x24-bit products fit in 53 bits), then rounded once to fp32.
int64_t ClampToRange(double v, int32_t qmin, int32_t qmax) {
  if (v <= qmin) return qmin;
  if (v >= qmax) return qmax;
  return static_cast<int64_t>(v);
}

int32_t RefFloatRne(int32_t x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  const float p = Fl32(static_cast<double>(Fl32(static_cast<double>(x))) * scale);
  if (std::isinf(p)) return p > 0 ? qmax : qmin;
  const double y = RneOf(p);
  if (std::fabs(y) > 1e12) return y > 0 ? qmax : qmin;
  return static_cast<int32_t>(ClampToRange(y + zp, qmin, qmax));
}

int32_t RefFloatZpFirst(int32_t x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  const float p = Fl32(static_cast<double>(Fl32(static_cast<double>(x))) * scale);
  // p + zp in fp64 is exact whenever it matters: zp has at most 16 bits, and when |p| is so far from zp
  // that fp64 drops bits, fp32 rounding of the sum returns the larger operand either way.
  const float s = Fl32(static_cast<double>(p) + static_cast<double>(Fl32(zp)));
  if (std::isinf(s)) return s > 0 ? qmax : qmin;
  return static_cast<int32_t>(ClampToRange(RneOf(s), qmin, qmax));
}

// §2.1 by value: the nearer of the two bf16 neighbours (ties to the even one), overflow to Inf as IEEE
// does (a value at or beyond the midpoint between the max finite bf16 and 2^128 becomes Inf).
uint16_t RefF32ToBf16(uint32_t f) {
  const float v = BitsToF32(f);
  if (std::isnan(v)) return 0x7FC0;
  if (std::isinf(v) || v == 0) return static_cast<uint16_t>(f >> 16);
  const uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
  const double a = std::fabs(static_cast<double>(v));
  const uint16_t lo = static_cast<uint16_t>((f >> 16) & 0x7FFFu);  // |v| truncated to bf16
  const uint16_t hi = static_cast<uint16_t>(lo + 1);                 // next bf16 up (0x7F80 = Inf)
  const double lo_v = std::fabs(static_cast<double>(BitsToF32(uint32_t{lo} << 16)));
  const double hi_v = hi == 0x7F80 ? std::ldexp(1.0, 128) : static_cast<double>(BitsToF32(uint32_t{hi} << 16));
  const double dl = a - lo_v, dh = hi_v - a;
  uint16_t pick;
  if (dl < dh) {
    pick = lo;
  } else if (dh < dl) {
    pick = hi;
  } else {
    pick = (lo & 1) ? hi : lo;
  }
  return static_cast<uint16_t>(sign | pick);
}

// ---- inputs ----

std::vector<int32_t> ExtremeInputs() {
  std::vector<int32_t> v = {kMin, kMin + 1, kMax, kMax - 1, 0, 1, -1, 7984, -7984};
  for (int k = 1; k < 31; ++k) {
    const int32_t p = int32_t{1} << k;
    for (int32_t e : {p, p - 1, p + 1}) v.push_back(e), v.push_back(-e);
  }
  return v;
}

std::vector<int32_t> ExtremeMultipliers() {
  return {0, 1, 2, 3, 1 << 29, 1 << 30, (1 << 30) + 1, kMax, kMax - 1, 1583594044, 1431655765, 1073741823};
}

int32_t RandomInput(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0: return static_cast<int32_t>(rng());
    case 1: return static_cast<int32_t>(rng() % 20001) - 10000;
    case 2: {
      const int bits = static_cast<int>(rng() % 32);
      const int32_t mag = bits == 0 ? 0 : static_cast<int32_t>(static_cast<uint32_t>(rng()) >> (32 - bits));
      return (rng() & 1) ? -mag : mag;
    }
    default: {
      static const std::vector<int32_t> extremes = ExtremeInputs();
      return extremes[rng() % extremes.size()];
    }
  }
}

int32_t RandomMultiplier(std::mt19937_64& rng) {
  switch (rng() % 3) {
    case 0: {
      static const std::vector<int32_t> extremes = ExtremeMultipliers();
      return extremes[rng() % extremes.size()];
    }
    case 1: return static_cast<int32_t>(rng() % (uint64_t{1} << 31));
    default: return static_cast<int32_t>((uint64_t{1} << 30) + rng() % (uint64_t{1} << 30));
  }
}

float RandomScale(std::mt19937_64& rng) {
  static const float kScales[] = {1.0f / 3, 0.5f, 0.25f, 1.5f, 1.0f, 1e-3f, 1.0f / 255, FLT_TRUE_MIN, FLT_MIN,
                                  FLT_MAX, 1e6f, 3.0f, 0x1p-31f, 0.1f, 0.0123f};
  if (rng() % 3 == 0) return kScales[rng() % (sizeof(kScales) / sizeof(kScales[0]))];
  return std::ldexp(static_cast<float>(1.0 + (rng() % (1 << 23)) * 0x1p-23), static_cast<int>(rng() % 40) - 30);
}

// ---- TFL ----

TEST(NumericTest, TflKnownDivergentVector) {
  // docs/isa.md §5.2: double and single rounding disagree here.
  EXPECT_EQ(RequantTflDouble(7984, 1583594044, -9), 12);
  EXPECT_EQ(RequantTflSingle(7984, 1583594044, -9), 11);
  EXPECT_EQ(RefTflDouble(7984, 1583594044, -9), 12);
  EXPECT_EQ(RefTflSingle(7984, 1583594044, -9), 11);
}

TEST(NumericTest, SrdhmSaturatesOnlyAtMinTimesMin) {
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMin), kMax);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMax), -kMax);  // -2^31 * (2^31-1) * 2 / 2^32, exact
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMax, kMax), kMax - 1);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, 1 << 30), kMin / 2);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(0, kMin), 0);
}

TEST(NumericTest, SrdhmMatchesReference) {
  std::mt19937_64 rng(1);
  const std::vector<int32_t> ex = ExtremeInputs();
  for (int32_t a : ex) {
    for (int32_t b : ex) {
      i128 want = RoundHalfUp(i128{a} * b, 31);
      if (want > kMax) want = kMax;
      ASSERT_EQ(SaturatingRoundingDoublingHighMul(a, b), static_cast<int32_t>(want)) << a << " * " << b;
    }
  }
  for (int n = 0; n < 1000000; ++n) {
    const int32_t a = RandomInput(rng), b = static_cast<int32_t>(rng());
    const int32_t want = static_cast<int32_t>(RoundHalfUp(i128{a} * b, 31));
    ASSERT_EQ(SaturatingRoundingDoublingHighMul(a, b), want) << a << " * " << b;
  }
}

TEST(NumericTest, RoundingDivideByPotTiesAwayFromZero) {
  EXPECT_EQ(RoundingDivideByPOT(5, 1), 3);    // 2.5
  EXPECT_EQ(RoundingDivideByPOT(-5, 1), -3);  // -2.5
  EXPECT_EQ(RoundingDivideByPOT(3, 1), 2);
  EXPECT_EQ(RoundingDivideByPOT(-3, 1), -2);
  EXPECT_EQ(RoundingDivideByPOT(1, 1), 1);    // 0.5
  EXPECT_EQ(RoundingDivideByPOT(-1, 1), -1);  // -0.5
  EXPECT_EQ(RoundingDivideByPOT(6, 2), 2);    // 1.5
  EXPECT_EQ(RoundingDivideByPOT(-6, 2), -2);
  EXPECT_EQ(RoundingDivideByPOT(5, 2), 1);    // 1.25
  EXPECT_EQ(RoundingDivideByPOT(-7, 2), -2);  // -1.75
  EXPECT_EQ(RoundingDivideByPOT(kMin, 31), -1);
  EXPECT_EQ(RoundingDivideByPOT(kMax, 31), 1);
  EXPECT_EQ(RoundingDivideByPOT(kMin, 0), kMin);
  EXPECT_EQ(RoundingDivideByPOT(1 << 30, 31), 1);    // exactly 0.5
  EXPECT_EQ(RoundingDivideByPOT(-(1 << 30), 31), -1);
  std::mt19937_64 rng(2);
  for (int n = 0; n < 1000000; ++n) {
    const int32_t x = RandomInput(rng);
    const int e = static_cast<int>(rng() % 32);
    ASSERT_EQ(RoundingDivideByPOT(x, e), static_cast<int32_t>(RoundHalfAway(x, e))) << x << " / 2^" << e;
  }
}

TEST(NumericTest, TflTiesPerMode) {
  // TFL_SINGLE: one rounding, ties toward +infinity. M = 2^30 is 0.5 at shift 0.
  EXPECT_EQ(RequantTflSingle(1, 1 << 30, 0), 1);    // 0.5
  EXPECT_EQ(RequantTflSingle(-1, 1 << 30, 0), 0);   // -0.5
  EXPECT_EQ(RequantTflSingle(3, 1 << 30, 0), 2);    // 1.5
  EXPECT_EQ(RequantTflSingle(-3, 1 << 30, 0), -1);  // -1.5
  EXPECT_EQ(RequantTflSingle(-5, 1 << 30, -1), -1); // -1.25
  EXPECT_EQ(RequantTflSingle(-6, 1 << 30, -1), -1); // -1.5
  // TFL_DOUBLE at shift 0: only SRDHM rounds, ties toward +infinity.
  EXPECT_EQ(RequantTflDouble(1, 1 << 30, 0), 1);
  EXPECT_EQ(RequantTflDouble(-1, 1 << 30, 0), 0);
  EXPECT_EQ(RequantTflDouble(-3, 1 << 30, 0), -1);
  // TFL_DOUBLE, shift -1: SRDHM is exact (h = x/2), RDBPOT rounds its tie away from zero.
  EXPECT_EQ(RequantTflDouble(2, 1 << 30, -1), 1);    // h = 1, 0.5
  EXPECT_EQ(RequantTflDouble(-2, 1 << 30, -1), -1);  // h = -1, -0.5
  EXPECT_EQ(RequantTflDouble(6, 1 << 30, -1), 2);    // 1.5
  EXPECT_EQ(RequantTflDouble(-6, 1 << 30, -1), -2);  // -1.5: TFL_SINGLE gives -1 here
  EXPECT_EQ(RequantTflSingle(-6, 1 << 30, -1), -1);
  // Shift 7 with a wrapping left shift (TFL_DOUBLE wraps x * 2^7 to int32 first).
  EXPECT_EQ(RequantTflDouble(1 << 24, kMax, 7), RefTflDouble(1 << 24, kMax, 7));
  EXPECT_EQ(RequantTflDouble(1 << 24, 1 << 30, 7), kMin / 2);  // 2^31 wraps to -2^31, times 0.5
  EXPECT_EQ(RequantTflSingle(1 << 24, 1 << 30, 7), int64_t{1} << 30);  // no wrap in TFL_SINGLE
  // Extremes of multiplier and shift.
  EXPECT_EQ(RequantTflDouble(kMax, 0, 7), 0);
  EXPECT_EQ(RequantTflSingle(kMin, 0, -31), 0);
  EXPECT_EQ(RequantTflSingle(kMin, kMax, 7), RefTflSingle(kMin, kMax, 7));
  EXPECT_EQ(RequantTflSingle(kMax, kMax, 7), RefTflSingle(kMax, kMax, 7));
  EXPECT_EQ(RequantTflDouble(kMin, kMax, -31), -1);
  EXPECT_EQ(RequantTflSingle(kMin, kMax, -31), -1);
}

TEST(NumericTest, TflMatchReferenceOnEdgesAndRandom) {
  const std::vector<int32_t> xs = ExtremeInputs(), ms = ExtremeMultipliers();
  for (int32_t x : xs) {
    for (int32_t m : ms) {
      for (int s = -31; s <= 7; ++s) {
        ASSERT_EQ(RequantTflDouble(x, m, s), RefTflDouble(x, m, s)) << "x " << x << " M " << m << " s " << s;
        ASSERT_EQ(RequantTflSingle(x, m, s), RefTflSingle(x, m, s)) << "x " << x << " M " << m << " s " << s;
      }
    }
  }
  std::mt19937_64 rng(3);
  for (int n = 0; n < 2000000; ++n) {
    const int32_t x = RandomInput(rng), m = RandomMultiplier(rng);
    const int s = static_cast<int>(rng() % 39) - 31;
    ASSERT_EQ(RequantTflDouble(x, m, s), RefTflDouble(x, m, s)) << "x " << x << " M " << m << " s " << s;
    ASSERT_EQ(RequantTflSingle(x, m, s), RefTflSingle(x, m, s)) << "x " << x << " M " << m << " s " << s;
  }
}

TEST(NumericTest, TflConstructedTiesMatchReference) {
  // x * M = odd * 2^(30 - s): exactly half way for TFL_SINGLE, and for SRDHM at s = 0.
  std::mt19937_64 rng(4);
  int ties = 0;
  for (int n = 0; n < 200000; ++n) {
    const int s = static_cast<int>(rng() % 39) - 31;
    int32_t m = RandomMultiplier(rng);
    if (m == 0) continue;
    int t = 0;
    while (!((m >> t) & 1)) ++t;
    const int e = 30 - s - t;  // x must be an odd multiple of 2^e
    if (e < 0 || e > 30) continue;
    const int64_t odd = 2 * static_cast<int64_t>(rng() % (int64_t{1} << (30 - e))) + 1;
    const int32_t x = static_cast<int32_t>((rng() & 1) ? -(odd << e) : odd << e);
    const i128 prod = i128{x} * m, period = i128{1} << (31 - s);
    ASSERT_TRUE(prod - FloorDiv(prod, period) * period == period / 2) << "not a tie: x " << x << " M " << m;
    ++ties;
    ASSERT_EQ(RequantTflSingle(x, m, s), RefTflSingle(x, m, s)) << "tie x " << x << " M " << m << " s " << s;
    ASSERT_EQ(RequantTflDouble(x, m, s), RefTflDouble(x, m, s)) << "tie x " << x << " M " << m << " s " << s;
  }
  EXPECT_GT(ties, 10000);
}

// ---- FLOAT ----

int32_t Lane(const QuantConfig& q, int32_t x) { return RequantLane(q, 0, x); }

QuantConfig FloatConfig(RequantMode mode, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  QuantConfig q;
  q.mode = mode;
  q.scale.fill(scale);
  q.zero_point = zp;
  q.qmin = qmin;
  q.qmax = qmax;
  return q;
}

TEST(NumericTest, FloatTiesRoundToEven) {
  const QuantConfig rne = FloatConfig(RequantMode::kFloatRne, 0.5f, 0, -32768, 32767);
  EXPECT_EQ(Lane(rne, 1), 0);    // 0.5
  EXPECT_EQ(Lane(rne, 3), 2);    // 1.5
  EXPECT_EQ(Lane(rne, 5), 2);    // 2.5
  EXPECT_EQ(Lane(rne, 7), 4);    // 3.5
  EXPECT_EQ(Lane(rne, -1), 0);   // -0.5
  EXPECT_EQ(Lane(rne, -3), -2);  // -1.5
  EXPECT_EQ(Lane(rne, -5), -2);  // -2.5
  EXPECT_EQ(RequantFloatRne(3, 0.5f), 2);
  EXPECT_EQ(RequantFloatRne(-5, 0.5f), -2);
  const QuantConfig zp_first = FloatConfig(RequantMode::kFloatZpFirst, 0.5f, 0, -32768, 32767);
  EXPECT_EQ(Lane(zp_first, 5), 2);
  EXPECT_EQ(Lane(zp_first, -5), -2);
  // With an odd zero point the tie moves: FLOAT_RNE rounds 0.5 to 0 then adds 1; FLOAT_ZP_FIRST rounds 1.5.
  const QuantConfig rne1 = FloatConfig(RequantMode::kFloatRne, 0.5f, 1, -32768, 32767);
  const QuantConfig zp1 = FloatConfig(RequantMode::kFloatZpFirst, 0.5f, 1, -32768, 32767);
  EXPECT_EQ(Lane(rne1, 1), 1);
  EXPECT_EQ(Lane(zp1, 1), 2);
  EXPECT_EQ(Lane(rne1, 5), 3);  // 2.5 -> 2, + 1
  EXPECT_EQ(Lane(zp1, 5), 4);   // 3.5 -> 4
}

TEST(NumericTest, FloatRneAndZpFirstDifferByOneNearTies) {
  // Search for inputs where the product is NOT an exact tie but adding the zero point in fp32 rounds it
  // onto one (docs/isa.md §5.2: "within one ulp of a .5 tie"). Every difference must be exactly 1.
  std::mt19937_64 rng(5);
  int differ = 0, differ_inexact = 0;
  for (int n = 0; n < 2000000 && differ_inexact < 3; ++n) {
    // Small scales put fl32(x) * scale within a tiny fraction of an ulp of the sum p + zp from the tie.
    const float scale = std::ldexp(static_cast<float>(1.0 + (rng() % (1 << 23)) * 0x1p-23), -12 - static_cast<int>(rng() % 9));
    const int32_t zp = static_cast<int32_t>(rng() % 256) - 128;
    const double target = static_cast<double>(static_cast<int>(rng() % 201) - 100) + 0.5;
    const int32_t x = static_cast<int32_t>(std::nearbyint(target / scale)) + static_cast<int32_t>(rng() % 7) - 3;
    const QuantConfig a = FloatConfig(RequantMode::kFloatRne, scale, zp, -32768, 32767);
    const QuantConfig b = FloatConfig(RequantMode::kFloatZpFirst, scale, zp, -32768, 32767);
    const int32_t ya = Lane(a, x), yb = Lane(b, x);
    if (ya == yb) continue;
    ++differ;
    ASSERT_EQ(std::abs(ya - yb), 1) << "x " << x << " scale " << scale << " zp " << zp;
    const float p = static_cast<float>(x) * scale;
    if (p - std::floor(p) != 0.5f) {
      ++differ_inexact;
      std::printf("FLOAT_RNE %d vs FLOAT_ZP_FIRST %d at x = %d, scale = %a, zp = %d (product %.9g)\n", ya, yb, x,
                  static_cast<double>(scale), zp, static_cast<double>(p));
    }
  }
  EXPECT_GT(differ_inexact, 0) << "no divergence found off exact ties";
  EXPECT_GT(differ, 0);
}

TEST(NumericTest, FloatModesMatchReference) {
  std::mt19937_64 rng(6);
  const std::vector<int32_t> xs = ExtremeInputs();
  for (int n = 0; n < 2000000; ++n) {
    const float scale = RandomScale(rng);
    const int32_t x = (n % 8 == 0) ? xs[rng() % xs.size()] : RandomInput(rng);
    int32_t zp, qmin, qmax;
    switch (rng() % 3) {
      case 0: zp = -128 + static_cast<int32_t>(rng() % 256), qmin = -128, qmax = 127; break;
      case 1: zp = static_cast<int32_t>(rng() % 256), qmin = 0, qmax = 255; break;
      default: zp = static_cast<int32_t>(rng() % 65536) - 32768, qmin = -32768, qmax = 32767; break;
    }
    if (rng() % 4 == 0) qmin = std::max(qmin, zp);  // fused ReLU
    const QuantConfig a = FloatConfig(RequantMode::kFloatRne, scale, zp, qmin, qmax);
    const QuantConfig b = FloatConfig(RequantMode::kFloatZpFirst, scale, zp, qmin, qmax);
    ASSERT_EQ(Lane(a, x), RefFloatRne(x, scale, zp, qmin, qmax)) << "x " << x << " scale " << scale << " zp " << zp;
    ASSERT_EQ(Lane(b, x), RefFloatZpFirst(x, scale, zp, qmin, qmax)) << "x " << x << " scale " << scale << " zp " << zp;
  }
}

TEST(NumericTest, FloatProductOverflowClamps) {
  const QuantConfig q = FloatConfig(RequantMode::kFloatRne, FLT_MAX, 0, -128, 127);
  EXPECT_EQ(Lane(q, kMax), 127);  // +Inf
  EXPECT_EQ(Lane(q, kMin), -128); // -Inf
  EXPECT_EQ(Lane(q, 0), 0);
  const QuantConfig z = FloatConfig(RequantMode::kFloatZpFirst, FLT_MAX, 100, 0, 255);
  EXPECT_EQ(Lane(z, 2), 255);
  EXPECT_EQ(Lane(z, -2), 0);
  const QuantConfig tiny = FloatConfig(RequantMode::kFloatRne, FLT_TRUE_MIN, 5, -128, 127);
  EXPECT_EQ(Lane(tiny, kMax), 5);
}

TEST(NumericTest, RequantLaneAddsZeroPointWithoutWrap) {
  QuantConfig q;
  q.mode = RequantMode::kTflSingle;
  q.multiplier.fill(kMax);
  q.shift.fill(7);
  q.zero_point = 32767;
  q.qmin = -32768;
  q.qmax = 32767;
  EXPECT_EQ(RequantLane(q, 0, kMax), 32767);  // y ~ 2^38: clamps, no int32 wrap
  q.zero_point = -32768;
  EXPECT_EQ(RequantLane(q, 0, kMin), -32768);
  q.mode = RequantMode::kTflDouble;
  q.zero_point = 0;
  q.qmin = -5, q.qmax = 9;
  EXPECT_EQ(RequantLane(q, 0, 1 << 20), 9);
  EXPECT_EQ(RequantLane(q, 0, -(1 << 20)), -5);
  // Per-lane parameters: lane 3's multiplier is used for lane 3.
  q.multiplier.fill(0);
  q.multiplier[3] = 1 << 30;
  q.shift.fill(0);
  q.qmin = -128, q.qmax = 127;
  EXPECT_EQ(RequantLane(q, 3, 200), 100);
  EXPECT_EQ(RequantLane(q, 2, 200), 0);
}

// ---- bf16 ----

TEST(NumericTest, Bf16RoundToNearestEvenAndSpecials) {
  EXPECT_EQ(F32BitsToBf16(0x3F808000u), 0x3F80);  // tie, even below
  EXPECT_EQ(F32BitsToBf16(0x3F818000u), 0x3F82);  // tie, even above
  EXPECT_EQ(F32BitsToBf16(0x3F808001u), 0x3F81);
  EXPECT_EQ(F32BitsToBf16(0x3F807FFFu), 0x3F80);
  EXPECT_EQ(F32BitsToBf16(0xBF818000u), 0xBF82);  // negative tie
  EXPECT_EQ(F32BitsToBf16(0x7FC00000u), 0x7FC0);  // NaNs: canonical, sign and payload dropped
  EXPECT_EQ(F32BitsToBf16(0x7F800001u), 0x7FC0);
  EXPECT_EQ(F32BitsToBf16(0xFFC00000u), 0x7FC0);
  EXPECT_EQ(F32BitsToBf16(0xFFFFFFFFu), 0x7FC0);
  EXPECT_EQ(F32BitsToBf16(0x7FFF0000u), 0x7FC0);
  EXPECT_EQ(F32BitsToBf16(0x7F808000u), 0x7FC0);  // would round into Inf if treated as a number
  EXPECT_EQ(F32BitsToBf16(0x7F800000u), 0x7F80);  // +-Inf
  EXPECT_EQ(F32BitsToBf16(0xFF800000u), 0xFF80);
  EXPECT_EQ(F32BitsToBf16(0x80000000u), 0x8000);  // -0
  EXPECT_EQ(F32BitsToBf16(0x00000000u), 0x0000);
  EXPECT_EQ(F32BitsToBf16(0x00000001u), 0x0000);  // denormals round like any value
  EXPECT_EQ(F32BitsToBf16(0x00008000u), 0x0000);  // tie to even 0
  EXPECT_EQ(F32BitsToBf16(0x00018000u), 0x0002);  // tie to even 2
  EXPECT_EQ(F32BitsToBf16(0x00008001u), 0x0001);
  EXPECT_EQ(F32BitsToBf16(0x007FFFFFu), 0x0080);  // largest denormal rounds up to the smallest normal
  EXPECT_EQ(F32BitsToBf16(0x80008001u), 0x8001);
  EXPECT_EQ(F32BitsToBf16(0x7F7FFFFFu), 0x7F80);  // FLT_MAX overflows to +Inf
  EXPECT_EQ(F32BitsToBf16(0xFF7FFFFFu), 0xFF80);
  EXPECT_EQ(F32BitsToBf16(0x7F7F8000u), 0x7F80);  // tie above the max finite bf16 (odd): Inf
  EXPECT_EQ(F32BitsToBf16(0x7F7F7FFFu), 0x7F7F);
  EXPECT_EQ(F32BitsToBf16(0x7F7E8000u), 0x7F7E);  // tie, even below
}

TEST(NumericTest, Bf16MatchesReference) {
  // Every high half with a set of low halves around the rounding boundaries, then random patterns.
  for (uint32_t hi = 0; hi < 0x10000u; ++hi) {
    for (uint32_t lo : {0x0000u, 0x0001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu}) {
      const uint32_t f = hi << 16 | lo;
      ASSERT_EQ(F32BitsToBf16(f), RefF32ToBf16(f)) << std::hex << f;
    }
  }
  std::mt19937_64 rng(7);
  for (int n = 0; n < 4000000; ++n) {
    const uint32_t f = static_cast<uint32_t>(rng());
    ASSERT_EQ(F32BitsToBf16(f), RefF32ToBf16(f)) << std::hex << f;
  }
}

TEST(NumericTest, Bf16WideningIsExactAndKeepsNanPayloads) {
  EXPECT_EQ(Bf16ToF32Bits(0x7F81), 0x7F810000u);
  EXPECT_EQ(Bf16ToF32Bits(0xFFC1), 0xFFC10000u);
  EXPECT_EQ(Bf16ToF32Bits(0x8000), 0x80000000u);
  EXPECT_EQ(Bf16ToF32Bits(0x0001), 0x00010000u);  // a denormal, 2^-133
  EXPECT_EQ(BitsToF32(Bf16ToF32Bits(0x0001)), std::ldexp(1.0f, -133));
  for (uint32_t b = 0; b < 0x10000u; ++b) {
    const uint16_t bf = static_cast<uint16_t>(b);
    const uint32_t f = Bf16ToF32Bits(bf);
    ASSERT_EQ(f >> 16, b);
    ASSERT_EQ(f & 0xFFFFu, 0u);
    if ((b & 0x7FFFu) <= 0x7F80u) {
      ASSERT_EQ(F32BitsToBf16(f), bf) << "round trip " << std::hex << b;
    }
  }
  EXPECT_EQ(CanonicalizeNan(0x7F800001u), kCanonicalNanF32);
  EXPECT_EQ(CanonicalizeNan(0xFFFFFFFFu), kCanonicalNanF32);
  EXPECT_EQ(CanonicalizeNan(0xFF800000u), 0xFF800000u);
  EXPECT_EQ(CanonicalizeNan(0x00000001u), 0x00000001u);
}

TEST(NumericTest, WidenAndNarrowElements) {
  const uint8_t b[4] = {0x80, 0xFF, 0x34, 0x92};
  EXPECT_EQ(WidenElement(DType::kI8, b), 0xFFFFFF80u);
  EXPECT_EQ(WidenElement(DType::kU8, b), 0x80u);
  EXPECT_EQ(WidenElement(DType::kI16, b), 0xFFFFFF80u);      // 0xFF80 little-endian, sign-extended
  EXPECT_EQ(WidenElement(DType::kI16, b + 2), 0xFFFF9234u);
  EXPECT_EQ(WidenElement(DType::kBF16, b + 2), 0x92340000u);
  EXPECT_EQ(WidenElement(DType::kI32, b), 0x9234FF80u);
  EXPECT_EQ(WidenElement(DType::kF32, b), 0x9234FF80u);
  uint8_t out[4] = {0xAA, 0xAA, 0xAA, 0xAA};
  NarrowElement(DType::kI8, 0x12345687u, out);
  EXPECT_EQ(out[0], 0x87);
  EXPECT_EQ(out[1], 0xAA);
  NarrowElement(DType::kU8, 0xFFFFFF01u, out);
  EXPECT_EQ(out[0], 0x01);
  NarrowElement(DType::kI16, 0x0001FFFEu, out);  // wraps: low 16 bits
  EXPECT_EQ(out[0], 0xFE);
  EXPECT_EQ(out[1], 0xFF);
  EXPECT_EQ(out[2], 0xAA);
  NarrowElement(DType::kBF16, 0x3F818000u, out);  // rounds (tie to even)
  EXPECT_EQ(out[0], 0x82);
  EXPECT_EQ(out[1], 0x3F);
  NarrowElement(DType::kBF16, 0xFFC00001u, out);
  EXPECT_EQ(out[0], 0xC0);
  EXPECT_EQ(out[1], 0x7F);
  NarrowElement(DType::kF32, 0x7F800001u, out);  // raw: NaN payload kept
  EXPECT_EQ(WidenElement(DType::kF32, out), 0x7F800001u);
}

}  // namespace
}  // namespace tile32

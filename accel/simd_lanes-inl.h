// Per-target vector helpers shared by the SIMD machine's translation units (Highway's -inl.h pattern:
// included once per target from inside foreach_target, so the guard toggles with HWY_TARGET_TOGGLE).
#if defined(TILE32_ACCEL_SIMD_LANES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef TILE32_ACCEL_SIMD_LANES_INL_H_
#undef TILE32_ACCEL_SIMD_LANES_INL_H_
#else
#define TILE32_ACCEL_SIMD_LANES_INL_H_
#endif

#include <cstring>

#include "accel/isa.h"
#include "accel/numeric.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace tile32 {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DI = hn::ScalableTag<int32_t>;
using DU = hn::ScalableTag<uint32_t>;
using DF = hn::ScalableTag<float>;
using VI = hn::Vec<DI>;
using VF = hn::Vec<DF>;
constexpr size_t kN = hn::MaxLanes(DI());  // 32-bit lanes per vector
constexpr size_t kNV = kLanes / kN;        // vectors per 32-lane row

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr bool kHasFma = true;
#else
constexpr bool kHasFma = false;
#endif

// Sum of the two int16 products in each 32-bit lane, wrapped (pmaddwd; its single overflow case,
// (-32768)^2 * 2 = 2^31, gives -2^31, which is exactly wrap32).
HWY_INLINE VI PairDot(VI a, VI w) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VI{_mm512_madd_epi16(a.raw, w.raw)};
#elif HWY_TARGET == HWY_AVX2
  return VI{_mm256_madd_epi16(a.raw, w.raw)};
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
  return VI{_mm_madd_epi16(a.raw, w.raw)};
#else
  const DI di;
  const DU du;
  const VI a_lo = hn::ShiftRight<16>(hn::ShiftLeft<16>(a)), a_hi = hn::ShiftRight<16>(a);
  const VI w_lo = hn::ShiftRight<16>(hn::ShiftLeft<16>(w)), w_hi = hn::ShiftRight<16>(w);
  return hn::BitCast(di, hn::Add(hn::BitCast(du, hn::Mul(a_lo, w_lo)), hn::BitCast(du, hn::Mul(a_hi, w_hi))));
#endif
}

HWY_INLINE VI WrapAdd(VI a, VI b) {
  const DI di;
  const DU du;
  return hn::BitCast(di, hn::Add(hn::BitCast(du, a), hn::BitCast(du, b)));
}

// fma(a, b, c) with one rounding, where a and b are bf16 values. Without hardware FMA: a*b of two bf16 is
// exact in fp64, and rounding p + c first to fp64 then to fp32 gives the correctly rounded fp32 result
// (the fp64 sum is inexact only when one operand is below 2^-28 of the other, far from any fp32 tie).
HWY_INLINE VF FusedMulAdd(VF a, VF b, VF c) {
  if constexpr (kHasFma) {
    return hn::MulAdd(a, b, c);
  } else {
#if HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
    const __m128d lo = _mm_add_pd(_mm_mul_pd(_mm_cvtps_pd(a.raw), _mm_cvtps_pd(b.raw)), _mm_cvtps_pd(c.raw));
    const __m128d hi = _mm_add_pd(_mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(a.raw, a.raw)),
                                             _mm_cvtps_pd(_mm_movehl_ps(b.raw, b.raw))),
                                  _mm_cvtps_pd(_mm_movehl_ps(c.raw, c.raw)));
    return VF{_mm_movelh_ps(_mm_cvtpd_ps(lo), _mm_cvtpd_ps(hi))};
#else
    // EMU128 / SCALAR: Highway's emulated DemoteTo clamps instead of overflowing to Inf; use C++ casts.
    const DF df;
    alignas(64) float fa[kN], fb[kN], fc[kN];
    hn::Store(a, df, fa);
    hn::Store(b, df, fb);
    hn::Store(c, df, fc);
    for (size_t i = 0; i < kN; ++i) {
      fc[i] = static_cast<float>(static_cast<double>(fa[i]) * static_cast<double>(fb[i]) + static_cast<double>(fc[i]));
    }
    return hn::Load(df, fc);
#endif
  }
}

HWY_INLINE VF CanonicalNan(VF v) {
  const DF df;
  const DI di;
  return hn::IfThenElse(hn::IsNaN(v), hn::BitCast(df, hn::Set(di, static_cast<int32_t>(kCanonicalNanF32))), v);
}

// Widen `count` activations of a row (a multiple of 32) to int16 (integer modes).
HWY_INLINE void WidenToI16(MacMode mode, const uint8_t* src, int count, int16_t* dst) {
  const hn::ScalableTag<int16_t> d16;
  const int n = static_cast<int>(hn::Lanes(d16));
  if (mode == MacMode::kS16S16) {
    std::memcpy(dst, src, static_cast<size_t>(count) * 2);
  } else if (mode == MacMode::kU8S8) {
    const hn::Rebind<uint8_t, decltype(d16)> d8;
    const hn::Rebind<uint16_t, decltype(d16)> du16;
    for (int i = 0; i < count; i += n) {
      hn::StoreU(hn::BitCast(d16, hn::PromoteTo(du16, hn::LoadU(d8, src + i))), d16, dst + i);
    }
  } else {
    const hn::Rebind<int8_t, decltype(d16)> d8;
    for (int i = 0; i < count; i += n) {
      hn::StoreU(hn::PromoteTo(d16, hn::LoadU(d8, reinterpret_cast<const int8_t*>(src) + i)), d16, dst + i);
    }
  }
}

// Widen `count` bf16 activations (a multiple of 32) to fp32.
HWY_INLINE void WidenBf16(const uint8_t* src, int count, float* dst) {
  const DU du;
  const DF df;
  const hn::Rebind<uint16_t, DU> d16;
  for (int i = 0; i < count; i += static_cast<int>(kN)) {
    const auto bits = hn::LoadU(d16, reinterpret_cast<const uint16_t*>(src) + i);
    hn::StoreU(hn::BitCast(df, hn::ShiftLeft<16>(hn::PromoteTo(du, bits))), df, dst + i);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace tile32
HWY_AFTER_NAMESPACE();

#endif  // TILE32_ACCEL_SIMD_LANES_INL_H_

// The SIMD machine's REQ (docs/isa.md §5.2) per Highway target: the formulas of §5 in int64 and fp32 lanes,
// exactly the scalar machine's (accel/simd_rows.h, docs/simd_machine.md "Why each path is exact").
#include <cstring>

#include "accel/numeric.h"
#include "accel/simd_rows.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "accel/simd_requant.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "accel/simd_lanes-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tile32 {
namespace HWY_NAMESPACE {

// ---- REQ (docs/isa.md §5.2) ----
#if HWY_TARGET != HWY_SCALAR  // 64-bit lane pairs do not exist on HWY_SCALAR; it uses the scalar contract

using D64 = hn::Repartition<int64_t, DI>;
using V64 = hn::Vec<D64>;

// Low 32 bits of the int64 lanes of even (e) and odd (o) lane results, interleaved back into 32-bit lanes.
HWY_INLINE VI Interleave64(V64 e, V64 o) {
  const DI di;
  return hn::OddEven(hn::BitCast(di, hn::ShiftLeft<32>(o)), hn::BitCast(di, e));
}

// The odd 32-bit lanes moved to the even positions (sign-extended), for MulEven.
HWY_INLINE VI OddToEven(VI v) {
  const DI di;
  const D64 d64;
  return hn::BitCast(di, hn::ShiftRight<32>(hn::BitCast(d64, v)));
}

// y (before the zero point) for the lanes j0 .. j0+kN-1, clamped to +-2^20: beyond that every clamp range
// saturates alike, and adding the zero point in int32 cannot wrap.
// An fp32 vector holding integers of magnitude <= 2^20 as int32: the plain truncating conversion is exact
// for those (Highway's ConvertTo also fixes up values beyond int32, which these never are).
HWY_INLINE VI IntegralToInt(VF v) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VI{_mm512_maskz_cvttps_epi32(static_cast<__mmask16>(0xFFFF), v.raw)};  // maskz: GCC 12 warns on the plain form
#elif HWY_TARGET == HWY_AVX2
  return VI{_mm256_cvttps_epi32(v.raw)};
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
  return VI{_mm_cvttps_epi32(v.raw)};
#else
  return hn::ConvertTo(DI(), v);
#endif
}

struct RequantParams {
  alignas(64) int32_t mult[kLanes];
  alignas(64) int32_t pow2_left[kLanes];  // TFL_DOUBLE: 2^max(s,0)
  alignas(64) int32_t right[kLanes];      // TFL_DOUBLE: max(-s,0)
  alignas(64) int32_t mask[kLanes];       // TFL_DOUBLE: 2^right - 1
  // TFL_SINGLE: 2^(30-s) and 31-s, for the even and the odd lanes of vector v at [v * kN / 2, ...).
  alignas(64) int64_t round_even[kLanes / 2], round_odd[kLanes / 2];
  alignas(64) int64_t shift_even[kLanes / 2], shift_odd[kLanes / 2];
  alignas(64) float scale[kLanes];
  float zero_point;  // FLOAT_ZP_FIRST: fl32 of the zero point (held here, not read through q per vector)
  float lo, hi;      // FLOAT modes: the clamp range of the rounded value (qmin - zp, qmax - zp for RNE)
};

// rne of an fp32 vector holding values of magnitude <= 2^20, as int32, whatever the host's rounding mode.
HWY_INLINE VI RoundToInt(VF v) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VI{_mm512_maskz_cvt_roundps_epi32(static_cast<__mmask16>(0xFFFF), v.raw, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
#else
  return IntegralToInt(hn::Round(v));
#endif
}

template <RequantMode kMode>
HWY_INLINE VI RequantY(const QuantConfig& q, const RequantParams& p, size_t j0, VI x) {
  const DI di;
  const DF df;
  const D64 d64;
  const VI lim = hn::Set(di, 1 << 20);
  if constexpr (kMode == RequantMode::kTflDouble) {
      const VI a = hn::Mul(x, hn::Load(di, p.pow2_left + j0));  // wrap32(x * 2^left)
      const VI m = hn::Load(di, p.mult + j0);
      // SRDHM. QCFG guarantees m >= 0, so the (-2^31)^2 saturation case cannot occur.
      auto srdhm = [&](V64 prod) {
        const V64 zero = hn::Zero(d64);
        const V64 nudged = hn::Add(prod, hn::IfThenElse(hn::Lt(prod, zero), hn::Set(d64, 1 - (int64_t{1} << 30)),
                                                        hn::Set(d64, int64_t{1} << 30)));
        const V64 toward0 = hn::IfThenElseZero(hn::Lt(nudged, zero), hn::Set(d64, (int64_t{1} << 31) - 1));
        return hn::ShiftRight<31>(hn::Add(nudged, toward0));
      };
      const VI h = Interleave64(srdhm(hn::MulEven(a, m)), srdhm(hn::MulEven(OddToEven(a), OddToEven(m))));
      // RDBPOT with a per-lane exponent.
      const VI right = hn::Load(di, p.right + j0);
      const VI mask = hn::Load(di, p.mask + j0);
      const VI neg = hn::VecFromMask(di, hn::Lt(h, hn::Zero(di)));  // -1 where h < 0
      const VI threshold = hn::Sub(hn::ShiftRight<1>(mask), neg);
      const VI up = hn::VecFromMask(di, hn::Gt(hn::And(h, mask), threshold));
      const VI y = hn::Sub(h >> right, up);
      return hn::Min(hn::Max(y, hn::Sub(hn::Zero(di), lim)), lim);
  } else if constexpr (kMode == RequantMode::kTflSingle) {
      const VI m = hn::Load(di, p.mult + j0);
      const V64 lim64 = hn::Set(d64, int64_t{1} << 20);
      const size_t h0 = j0 / 2;
      auto single = [&](V64 prod, const int64_t* round, const int64_t* shift) {
        const V64 y = hn::Add(prod, hn::Load(d64, round + h0)) >> hn::Load(d64, shift + h0);
        return hn::Min(hn::Max(y, hn::Sub(hn::Zero(d64), lim64)), lim64);
      };
      const V64 ye = single(hn::MulEven(x, m), p.round_even, p.shift_even);
      const V64 yo = single(hn::MulEven(OddToEven(x), OddToEven(m)), p.round_odd, p.shift_odd);
      return Interleave64(ye, yo);
  } else if constexpr (kMode == RequantMode::kFloatRne) {
      // clamp(rne(v) + zp, qmin, qmax) = rne(clamp(v, qmin - zp, qmax - zp)) + zp: the bounds are integers
      // and rne is monotonic, so clamping before rounding gives the same code with fewer instructions.
      const VF prod = hn::Mul(hn::ConvertTo(df, x), hn::Load(df, p.scale + j0));
      return RoundToInt(hn::Min(hn::Max(prod, hn::Set(df, p.lo)), hn::Set(df, p.hi)));
  } else {  // kFloatZpFirst: clamp(rne(v + zp), qmin, qmax) = rne(clamp(v + zp, qmin, qmax)), likewise
      const VF prod = hn::Mul(hn::ConvertTo(df, x), hn::Load(df, p.scale + j0));
      const VF sum = hn::Add(prod, hn::Set(df, p.zero_point));
      return RoundToInt(hn::Min(hn::Max(sum, hn::Set(df, p.lo)), hn::Set(df, p.hi)));
  }
}

#endif  // HWY_TARGET != HWY_SCALAR

// The clamped codes of one vector (every lane in [qmin, qmax], inside the range of `out`) narrowed
// and stored: the saturating demotions keep such values as they are.
template <DType kOut>
HWY_INLINE void StoreNarrow(VI q, uint8_t* dst) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  // The values fit, so truncating is exact: one vpmovdb/vpmovdw instead of Highway's pack-and-permute.
  if constexpr (kOut == DType::kI16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm512_maskz_cvtepi32_epi16(static_cast<__mmask16>(0xFFFF), q.raw));
  } else {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_maskz_cvtepi32_epi8(static_cast<__mmask16>(0xFFFF), q.raw));
  }
  return;
#endif
  if constexpr (kOut == DType::kI16) {
    hn::StoreU(hn::DemoteTo(hn::Rebind<int16_t, DI>(), q), hn::Rebind<int16_t, DI>(), reinterpret_cast<int16_t*>(dst));
  } else if constexpr (kOut == DType::kU8) {
    hn::StoreU(hn::DemoteTo(hn::Rebind<uint8_t, DI>(), q), hn::Rebind<uint8_t, DI>(), dst);
  } else {
    hn::StoreU(hn::DemoteTo(hn::Rebind<int8_t, DI>(), q), hn::Rebind<int8_t, DI>(), reinterpret_cast<int8_t*>(dst));
  }
}

// TFL_SINGLE with multiplier 2^30 and shift 1 in every lane: y = (x 2^30 + 2^29) >> 30 = x for every int32
// x (the identity requantization, which Winograd uses to store its transformed input as int16).
// constexpr: constant-initialized, so no code compiled for this target runs at program start (a dynamic
// initializer here would execute AVX-512 instructions on hosts without them).
struct IdentityLanes {
  int32_t multiplier[kLanes] = {}, shift[kLanes] = {};
  constexpr IdentityLanes() {
    for (int j = 0; j < kLanes; ++j) multiplier[j] = int32_t{1} << 30, shift[j] = 1;
  }
};
constexpr IdentityLanes kIdentityLanes;

bool IsIdentityQuant(const QuantConfig& q) {
  return q.mode == RequantMode::kTflSingle &&
         std::memcmp(q.multiplier.data(), kIdentityLanes.multiplier, sizeof(kIdentityLanes.multiplier)) == 0 &&
         std::memcmp(q.shift.data(), kIdentityLanes.shift, sizeof(kIdentityLanes.shift)) == 0;
}

#if HWY_TARGET != HWY_SCALAR
// The per-lane constants of a QCFG, prepared once per REQ (or per fused EMAC batch) rather than per row.
RequantParams PrepareRequant(const QuantConfig& q) {
  RequantParams p;
  p.zero_point = static_cast<float>(q.zero_point);
  const int32_t zp = q.mode == RequantMode::kFloatRne ? q.zero_point : 0;  // |bounds| < 2^17: exact in fp32
  p.lo = static_cast<float>(int64_t{q.qmin} - zp), p.hi = static_cast<float>(int64_t{q.qmax} - zp);
  for (int j = 0; j < kLanes; ++j) {
    const int s = q.shift[j];
    p.mult[j] = q.multiplier[j];
    p.pow2_left[j] = s > 0 ? (1 << s) : 1;
    p.right[j] = s > 0 ? 0 : -s;
    p.mask[j] = static_cast<int32_t>((int64_t{1} << p.right[j]) - 1);
    p.scale[j] = q.scale[j];
    const size_t v = j / kN, lane = j % kN;  // even/odd split within each vector
    int64_t* round = lane % 2 ? p.round_odd : p.round_even;
    int64_t* shift = lane % 2 ? p.shift_odd : p.shift_even;
    round[v * kN / 2 + lane / 2] = int64_t{1} << (30 - s);
    shift[v * kN / 2 + lane / 2] = 31 - s;
  }
  return p;
}
#else
struct RequantParams {};
RequantParams PrepareRequant(const QuantConfig&) { return {}; }
#endif

void RequantRowsWith(const QuantConfig& q, const RequantParams& p, const uint32_t* acc, uint32_t rows, DType out,
                     uint8_t* sram, int64_t addr, int64_t row_stride) {
  const int size = SizeOf(out);
#if HWY_TARGET == HWY_SCALAR
  (void)p;
  for (uint32_t r = 0; r < rows; ++r) {
    for (int j = 0; j < kLanes; ++j) {
      const int32_t v = RequantLane(q, j, static_cast<int32_t>(acc[size_t{r} * kLanes + j]));
      NarrowElement(out, static_cast<uint32_t>(v), sram + addr + row_stride * int64_t{r} + size * j);
    }
  }
#else
  const DI di;
  const VI lo = hn::Set(di, q.qmin), hi = hn::Set(di, q.qmax);
  // One loop per y function and output type: no branch per vector.
  // kClamped: y_of already clamped (FLOAT modes): only the zero point is left to add (FLOAT_RNE) or nothing.
  auto run = [&](auto out_type, auto clamped, VI zp, auto y_of) {
    constexpr DType kOut = decltype(out_type)::value;
    constexpr bool kClamped = decltype(clamped)::value;
    for (uint32_t r = 0; r < rows; ++r) {
      const int32_t* x = reinterpret_cast<const int32_t*>(acc + size_t{r} * kLanes);
      uint8_t* dst = sram + addr + row_stride * int64_t{r};
      for (size_t v = 0; v < kNV; ++v) {
        const VI y = hn::Add(y_of(v * kN, hn::LoadU(di, x + v * kN)), zp);
        StoreNarrow<kOut>(kClamped ? y : hn::Min(hn::Max(y, lo), hi), dst + v * kN * size);
      }
    }
  };
  auto by_out = [&](auto clamped, VI zp, auto y_of) {
    if (out == DType::kU8) return run(std::integral_constant<DType, DType::kU8>{}, clamped, zp, y_of);
    if (out == DType::kI8) return run(std::integral_constant<DType, DType::kI8>{}, clamped, zp, y_of);
    run(std::integral_constant<DType, DType::kI16>{}, clamped, zp, y_of);
  };
  const std::false_type unclamped;
  const std::true_type clamped;
  const VI zp = hn::Set(di, q.zero_point);
  if (IsIdentityQuant(q) && out == DType::kI16 && q.zero_point == 0 && q.qmin == -32768 && q.qmax == 32767) {
    // clamp(clamp(x, +-2^20) + 0, int16 range) is the saturating narrowing of x: one instruction per vector
    // (Winograd's transformed input, every row of which passes here).
    const hn::Rebind<int16_t, DI> d16;
    for (uint32_t r = 0; r < rows; ++r) {
      const int32_t* x = reinterpret_cast<const int32_t*>(acc + size_t{r} * kLanes);
      int16_t* dst = reinterpret_cast<int16_t*>(sram + addr + row_stride * int64_t{r});
      for (size_t v = 0; v < kNV; ++v) hn::StoreU(hn::DemoteTo(d16, hn::LoadU(di, x + v * kN)), d16, dst + v * kN);
    }
    return;
  }
  if (IsIdentityQuant(q)) {
    // y = x, clamped to +-2^20 as RequantY clamps (every clamp range lies inside int16, so the result is the
    // same) so that adding the zero point cannot wrap.
    const VI lim = hn::Set(di, 1 << 20), neg_lim = hn::Set(di, -(1 << 20));
    return by_out(unclamped, zp, [&](size_t, VI x) { return hn::Min(hn::Max(x, neg_lim), lim); });
  }
  // A copy of the constants on the stack: the stores through uint8_t* may alias `p` as far as the compiler
  // knows, which reloaded and re-broadcast every constant for every vector; the copy's address never escapes.
  const RequantParams lp = p;
  switch (q.mode) {
    case RequantMode::kTflDouble:
      return by_out(unclamped, zp, [&](size_t j0, VI x) { return RequantY<RequantMode::kTflDouble>(q, lp, j0, x); });
    case RequantMode::kTflSingle:
      return by_out(unclamped, zp, [&](size_t j0, VI x) { return RequantY<RequantMode::kTflSingle>(q, lp, j0, x); });
    case RequantMode::kFloatRne:
      return by_out(clamped, zp, [&](size_t j0, VI x) { return RequantY<RequantMode::kFloatRne>(q, lp, j0, x); });
    default:  // FLOAT_ZP_FIRST: the zero point is inside y
      return by_out(clamped, hn::Zero(di), [&](size_t j0, VI x) { return RequantY<RequantMode::kFloatZpFirst>(q, lp, j0, x); });
  }
#endif
}

bool SameQuant(const QuantConfig& a, const QuantConfig& b) {
  return a.mode == b.mode && a.multiplier == b.multiplier && a.shift == b.shift &&
         std::memcmp(a.scale.data(), b.scale.data(), sizeof(a.scale)) == 0 && a.zero_point == b.zero_point &&
         a.qmin == b.qmin && a.qmax == b.qmax;
}

// Kernels issue many REQs of few rows under one QCFG (Winograd: one per position and block; depthwise: one
// per block), and preparing the constants cost ~100 ns, more than such a REQ: the last QCFG's are kept per
// thread.
const RequantParams& CachedRequant(const QuantConfig& q) {
  thread_local QuantConfig last;
  thread_local RequantParams params;
  thread_local bool valid = false;
  if (!valid || !SameQuant(q, last)) {
    params = PrepareRequant(q);
    last = q, valid = true;
  }
  return params;
}

void RequantRows(const QuantConfig& q, const uint32_t* acc, uint32_t rows, DType out, uint8_t* sram, int64_t addr,
                 int64_t row_stride) {
  RequantRowsWith(q, CachedRequant(q), acc, rows, out, sram, addr, row_stride);
}

}  // namespace HWY_NAMESPACE
}  // namespace tile32
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tile32 {

HWY_EXPORT(RequantRows);

void RunRequantRows(const QuantConfig& q, const uint32_t* acc, uint32_t rows, DType out, uint8_t* sram, int64_t addr,
                    int64_t row_stride) {
  HWY_DYNAMIC_DISPATCH(RequantRows)(q, acc, rows, out, sram, addr, row_stride);
}

}  // namespace tile32
#endif  // HWY_ONCE

// SimdMachine: docs/isa.md executed with Highway vectors, one code path per compiled target, chosen at run
// time (hwy/examples/skeleton.cc pattern). TMAC and the tile layouts are in accel/simd_tmac.cc; EMAC, REQ
// and ACC stores here. Every path computes exactly what accel/scalar_machine.cc computes:
//   - integer MACs: int32 wrap is associative, so any summation order gives the same bits;
//   - BF16 MACs: one fused multiply-add per k, k ascending, per lane (no reassociation, no dot-product
//     instructions whose order or denormal handling differ);
//   - requant: the formulas of docs/isa.md §5 in int64 / fp32 lanes.
#include "accel/simd_machine.h"

#include <tbb/blocked_range.h>
#include <tbb/partitioner.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>

#include "accel/numeric.h"
#include "accel/simd_tmac.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "accel/simd_machine.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "accel/simd_lanes-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tile32 {
namespace HWY_NAMESPACE {

// ---- EMAC (docs/isa.md §4.2): ACC[r][j] += A_r[j] * w_j ----
// The SIMD machine defers EMACs on the same ACC rows and runs them together, row by row (SimdMachine::
// FlushEmacs): every EMAC of the batch adds into the row while it is in registers, one load and one store
// of the row per batch instead of per EMAC. The same bits as one EMAC after the other: integer sums wrap
// (any order), and a BF16 lane still runs its fused multiply-adds in issue order, each followed by the
// canonical NaN. Rows are independent (one ACC row each, SRAM only read), so they may be split in any way.
//
// Integer modes: each activation widened into a 32-bit lane, whose low half is then the activation as int16
// (u8 and s8 fit; int16 is zero-extended), and each weight as int16 in the low half of a 32-bit lane whose
// high half is 0. A 16-bit pair product per lane (pmaddwd; vpdpwssd on AVX3_DL, which adds into the
// accumulator in the same instruction) is then lo*lo + hi*0: the exact product (|a*w| <= 2^30, no
// saturation, no pmaddwd overflow case since the high products are 0), added with int32 wrap.
template <MacMode M>
HWY_INLINE VI EmacLanes(const uint8_t* p) {  // kN activations, widened
  const DI di;
  const DU du;
  if constexpr (M == MacMode::kU8S8) {
    return hn::BitCast(di, hn::PromoteTo(du, hn::LoadU(hn::Rebind<uint8_t, DU>(), p)));
  } else if constexpr (M == MacMode::kS8S8) {
    return hn::PromoteTo(di, hn::LoadU(hn::Rebind<int8_t, DI>(), reinterpret_cast<const int8_t*>(p)));
  } else {  // int16 zero-extended: the high half meets a zero weight half
    return hn::BitCast(di, hn::PromoteTo(du, hn::LoadU(hn::Rebind<uint16_t, DU>(), reinterpret_cast<const uint16_t*>(p))));
  }
}

#if HWY_TARGET == HWY_AVX3_DL
// vpdpwssd (AVX512_VNNI) is missing from Highway 1.0.3, and Highway's AVX3_DL target string lacks the flag.
#define TILE32_EMAC_ATTR __attribute__((target(HWY_TARGET_STR ",avx512vnni")))
TILE32_EMAC_ATTR HWY_INLINE VI EmacAdd(VI acc, VI x, VI w) { return VI{_mm512_dpwssd_epi32(acc.raw, x.raw, w.raw)}; }
#else
#define TILE32_EMAC_ATTR
HWY_INLINE VI EmacAdd(VI acc, VI x, VI w) { return WrapAdd(acc, PairDot(x, w)); }
#endif

// Rows go in blocks of kEmacRowBlock: each row's accumulators are a chain of dependent adds through the
// batch, so independent rows side by side keep the multiply units busy instead of waiting on one chain.
constexpr uint32_t kEmacRowBlock = 4;

template <MacMode M, uint32_t kRows>
TILE32_EMAC_ATTR HWY_INLINE void EmacIntBlock(const uint8_t* sram, const EmacItem* items, int count, const int32_t* w16,
                                              uint32_t r, uint32_t* acc) {
  const DI di;
  constexpr size_t kElem = M == MacMode::kS16S16 ? 2 : 1;
  VI sum[kRows][kNV];
  for (uint32_t b = 0; b < kRows; ++b) {
    for (size_t v = 0; v < kNV; ++v) sum[b][v] = hn::Load(di, reinterpret_cast<int32_t*>(acc + size_t{r + b} * kLanes) + v * kN);
  }
  for (int e = 0; e < count; ++e) {
    const uint8_t* p = sram + items[e].a_addr + items[e].a_stride * int64_t{r};
    for (size_t v = 0; v < kNV; ++v) {
      const VI w = hn::Load(di, w16 + e * kLanes + v * kN);
      for (uint32_t b = 0; b < kRows; ++b) {
        sum[b][v] = EmacAdd(sum[b][v], EmacLanes<M>(p + items[e].a_stride * int64_t{b} + v * kN * kElem), w);
      }
    }
  }
  for (uint32_t b = 0; b < kRows; ++b) {
    for (size_t v = 0; v < kNV; ++v) hn::Store(sum[b][v], di, reinterpret_cast<int32_t*>(acc + size_t{r + b} * kLanes) + v * kN);
  }
}

template <MacMode M>
TILE32_EMAC_ATTR HWY_NOINLINE void EmacBatchIntRows(const uint8_t* sram, const EmacItem* items, int count,
                                                    const int32_t* w16, uint32_t r0, uint32_t r1, uint32_t* acc) {
  uint32_t r = r0;
  for (; r + kEmacRowBlock <= r1; r += kEmacRowBlock) EmacIntBlock<M, kEmacRowBlock>(sram, items, count, w16, r, acc);
  for (; r < r1; ++r) EmacIntBlock<M, 1>(sram, items, count, w16, r, acc);
}
#undef TILE32_EMAC_ATTR

template <uint32_t kRows>
HWY_INLINE void EmacBf16Block(const uint8_t* sram, const EmacItem* items, int count, const float* wf, uint32_t r,
                              uint32_t* acc) {
  const DF df;
  const DU du;
  const hn::Rebind<uint16_t, DU> d16;
  VF sum[kRows][kNV];
  for (uint32_t b = 0; b < kRows; ++b) {
    for (size_t v = 0; v < kNV; ++v) sum[b][v] = hn::Load(df, reinterpret_cast<float*>(acc + size_t{r + b} * kLanes) + v * kN);
  }
  for (int e = 0; e < count; ++e) {  // in issue order: each lane's fma chain
    const uint8_t* p = sram + items[e].a_addr + items[e].a_stride * int64_t{r};
    for (size_t v = 0; v < kNV; ++v) {
      const VF w = hn::Load(df, wf + e * kLanes + v * kN);
      for (uint32_t b = 0; b < kRows; ++b) {
        const uint16_t* q = reinterpret_cast<const uint16_t*>(p + items[e].a_stride * int64_t{b}) + v * kN;
        const VF x = hn::BitCast(df, hn::ShiftLeft<16>(hn::PromoteTo(du, hn::LoadU(d16, q))));
        sum[b][v] = CanonicalNan(FusedMulAdd(x, w, sum[b][v]));
      }
    }
  }
  for (uint32_t b = 0; b < kRows; ++b) {
    for (size_t v = 0; v < kNV; ++v) hn::Store(sum[b][v], df, reinterpret_cast<float*>(acc + size_t{r + b} * kLanes) + v * kN);
  }
}

HWY_NOINLINE void EmacBatchBf16Rows(const uint8_t* sram, const EmacItem* items, int count, const float* wf,
                                    uint32_t r0, uint32_t r1, uint32_t* acc) {
  uint32_t r = r0;
  for (; r + kEmacRowBlock <= r1; r += kEmacRowBlock) EmacBf16Block<kEmacRowBlock>(sram, items, count, wf, r, acc);
  for (; r < r1; ++r) EmacBf16Block<1>(sram, items, count, wf, r, acc);
}

#if HWY_TARGET == HWY_AVX3_DL
// INT8 EMACs four at a time on AVX3_DL: vpdpbusd adds four u8 x s8 products into each int32 lane, exactly
// (no saturation; the sum of four products fits), so lane j of one instruction takes the activations of
// four EMACs of the batch, gathered into one dword by vpermt2b, against their four weights: a quarter of
// the multiplies and half the loads of one EMAC per instruction. s8 activations enter as x + 128 (the sign
// bit flipped, a u8), and each row starts 128 * sum_e w_e[j] lower to compensate; every sum wraps mod 2^32,
// so the result is exactly the EMACs' one after the other. A batch whose size is not a multiple of 4 is
// padded with zero weights that read the first EMAC's activations again.
#define TILE32_QUAD_ATTR __attribute__((target(HWY_TARGET_STR ",avx512vnni,avx512vbmi")))

// vpermt2b indices: byte 4j+t of the result is lane j (lo: 0-15, hi: 16-31) of EMAC t, whose 32 activation
// bytes sit at 32t in the 128 bytes of the two sources.
struct QuadIndex {
  alignas(64) uint8_t lo[64], hi[64];
  QuadIndex() {
    for (int j = 0; j < 16; ++j) {
      for (int t = 0; t < 4; ++t) lo[4 * j + t] = static_cast<uint8_t>(32 * t + j), hi[4 * j + t] = static_cast<uint8_t>(32 * t + 16 + j);
    }
  }
};
const QuadIndex kQuadIndex;

// Rows per block: 4 (8 accumulators) measured 1.25x faster than 8 (which spilled) and 1.2x faster than 2.
constexpr uint32_t kQuadRowBlock = 4;

struct QuadBatch {
  int groups = 0;
  alignas(64) int32_t w[kMaxEmacBatch / 4 * kLanes];  // per group and lane: the four s8 weights, EMAC t in byte t
  alignas(64) int32_t start[kLanes];                  // added to each row first: -128 * sum of the weights (s8)
  const uint8_t* sram = nullptr;
  int64_t offset[kMaxEmacBatch], stride[kMaxEmacBatch];
};

TILE32_QUAD_ATTR HWY_INLINE __m512i QuadLoad(const uint8_t* p0, const uint8_t* p1) {
  // The masked insert: GCC 12 warns that the plain one's undefined pass-through is uninitialized.
  const __m512i lo = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0)));
  return _mm512_mask_inserti64x4(lo, 0xFF, lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p1)), 1);
}

// Rows r .. r + kRows - 1 start as they are in ACC, or as `seed` when there is one (a fused ACC_LD).
template <bool kSigned, uint32_t kRows>
TILE32_QUAD_ATTR HWY_INLINE void EmacQuadBlock(const QuadBatch& q, const uint32_t* seed, uint32_t r, uint32_t* acc) {
  __m512i sum[kRows][2];
  const __m512i start0 = _mm512_load_si512(q.start), start1 = _mm512_load_si512(q.start + 16);
  for (uint32_t b = 0; b < kRows; ++b) {
    const uint32_t* row = seed != nullptr ? seed : acc + size_t{r + b} * kLanes;
    sum[b][0] = _mm512_add_epi32(_mm512_loadu_si512(row), start0);
    sum[b][1] = _mm512_add_epi32(_mm512_loadu_si512(row + 16), start1);
  }
  const __m512i idx_lo = _mm512_load_si512(kQuadIndex.lo), idx_hi = _mm512_load_si512(kQuadIndex.hi);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int g = 0; g < q.groups; ++g) {
    const __m512i w0 = _mm512_load_si512(q.w + g * kLanes), w1 = _mm512_load_si512(q.w + g * kLanes + 16);
    const int64_t* offset = q.offset + 4 * g;
    const int64_t* stride = q.stride + 4 * g;
    for (uint32_t b = 0; b < kRows; ++b) {
      const int64_t rr = int64_t{r} + b;
      const __m512i a = QuadLoad(q.sram + offset[0] + stride[0] * rr, q.sram + offset[1] + stride[1] * rr);
      const __m512i c = QuadLoad(q.sram + offset[2] + stride[2] * rr, q.sram + offset[3] + stride[3] * rr);
      __m512i x0 = _mm512_permutex2var_epi8(a, idx_lo, c), x1 = _mm512_permutex2var_epi8(a, idx_hi, c);
      if constexpr (kSigned) x0 = _mm512_xor_si512(x0, flip), x1 = _mm512_xor_si512(x1, flip);
      sum[b][0] = _mm512_dpbusd_epi32(sum[b][0], x0, w0);
      sum[b][1] = _mm512_dpbusd_epi32(sum[b][1], x1, w1);
    }
  }
  for (uint32_t b = 0; b < kRows; ++b) {
    uint32_t* row = acc + size_t{r + b} * kLanes;
    _mm512_storeu_si512(row, sum[b][0]);
    _mm512_storeu_si512(row + 16, sum[b][1]);
  }
}

void PrepareQuad(const uint8_t* sram, const EmacItem* items, int count, bool is_signed, QuadBatch* q) {
  q->sram = sram;
  q->groups = (count + 3) / 4;
  int32_t wsum[kLanes] = {};
  for (int e = 0; e < 4 * q->groups; ++e) {
    const EmacItem& it = items[e < count ? e : 0];
    q->offset[e] = it.a_addr, q->stride[e] = it.a_stride;
    for (int j = 0; j < kLanes; ++j) {
      const int8_t w = e < count ? static_cast<int8_t>(it.w[j]) : 0;
      reinterpret_cast<uint8_t*>(q->w + (e / 4) * kLanes + j)[e % 4] = static_cast<uint8_t>(w);
      wsum[j] += w;
    }
  }
  for (int j = 0; j < kLanes; ++j) q->start[j] = is_signed ? -128 * wsum[j] : 0;
}

template <bool kSigned>
TILE32_QUAD_ATTR HWY_NOINLINE void EmacQuadRows(const QuadBatch& q, const uint32_t* seed, uint32_t r0, uint32_t r1,
                                               uint32_t* acc) {
  uint32_t r = r0;
  for (; r + kQuadRowBlock <= r1; r += kQuadRowBlock) EmacQuadBlock<kSigned, kQuadRowBlock>(q, seed, r, acc);
  for (; r < r1; ++r) EmacQuadBlock<kSigned, 1>(q, seed, r, acc);
}
#undef TILE32_QUAD_ATTR
#endif  // HWY_TARGET == HWY_AVX3_DL

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
struct IdentityLanes {
  int32_t multiplier[kLanes], shift[kLanes];
  IdentityLanes() {
    for (int j = 0; j < kLanes; ++j) multiplier[j] = int32_t{1} << 30, shift[j] = 1;
  }
};
const IdentityLanes kIdentityLanes;

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
  if (IsIdentityQuant(q)) {
    // y = x, clamped to +-2^20 as RequantY clamps (every clamp range lies inside int16, so the result is the
    // same) so that adding the zero point cannot wrap.
    const VI lim = hn::Set(di, 1 << 20), neg_lim = hn::Set(di, -(1 << 20));
    return by_out(unclamped, zp, [&](size_t, VI x) { return hn::Min(hn::Max(x, neg_lim), lim); });
  }
  switch (q.mode) {
    case RequantMode::kTflDouble:
      return by_out(unclamped, zp, [&](size_t j0, VI x) { return RequantY<RequantMode::kTflDouble>(q, p, j0, x); });
    case RequantMode::kTflSingle:
      return by_out(unclamped, zp, [&](size_t j0, VI x) { return RequantY<RequantMode::kTflSingle>(q, p, j0, x); });
    case RequantMode::kFloatRne:
      return by_out(clamped, zp, [&](size_t j0, VI x) { return RequantY<RequantMode::kFloatRne>(q, p, j0, x); });
    default:  // FLOAT_ZP_FIRST: the zero point is inside y
      return by_out(clamped, hn::Zero(di), [&](size_t j0, VI x) { return RequantY<RequantMode::kFloatZpFirst>(q, p, j0, x); });
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

// ---- An EMAC batch's pass over its rows, with the work fused into it (SimdMachine::FlushEmacs) ----
// Rows go in tiles of kTailRows: a tile is seeded, takes every EMAC of the batch and is requantized while
// its ACC rows (16 KiB) are still in L1, instead of three passes over up to 4096 rows in L2.
constexpr uint32_t kTailRows = 128;

// Rows [r0, r1) of a batch of `count` EMACs of `mode` on the same ACC rows (acc = the row of row 0), each
// tile of rows first seeded (tail.seed) and afterwards requantized (tail.quant) when the batch holds them.
void EmacBatchRows(MacMode mode, const uint8_t* sram, const EmacItem* items, int count, uint32_t r0, uint32_t r1,
                   uint32_t* acc, const EmacTail& tail) {
  std::function<void(uint32_t, uint32_t)> macs;  // the batch's EMACs on rows [t0, t1), weights prepared once
  const uint32_t* seed = tail.seed;              // rows still to be seeded before macs (nullptr: done)
#if HWY_TARGET == HWY_AVX3_DL
  QuadBatch quad;
  if (count > 0 && (mode == MacMode::kU8S8 || mode == MacMode::kS8S8)) {
    PrepareQuad(sram, items, count, mode == MacMode::kS8S8, &quad);
    macs = [&](uint32_t t0, uint32_t t1) {
      mode == MacMode::kS8S8 ? EmacQuadRows<true>(quad, tail.seed, t0, t1, acc)
                             : EmacQuadRows<false>(quad, tail.seed, t0, t1, acc);
    };
    seed = nullptr;  // the quad kernel starts its rows from the seed itself
  }
#endif
  alignas(64) int32_t w[kMaxEmacBatch * kLanes];  // per EMAC: int16 in the low half (integer) or fp32 (BF16)
  if (!macs && count > 0) {
    for (int e = 0; e < count; ++e) {
      for (int j = 0; j < kLanes; ++j) {
        const uint32_t lane = items[e].w[j];
        if (mode == MacMode::kBF16) {
          w[e * kLanes + j] = static_cast<int32_t>(lane & 0xFFFF0000u);
        } else {
          const int32_t wj = mode == MacMode::kS16S16 ? int32_t{static_cast<int16_t>(lane)} : int32_t{static_cast<int8_t>(lane)};
          w[e * kLanes + j] = wj & 0xFFFF;
        }
      }
    }
    macs = [&](uint32_t t0, uint32_t t1) {
      switch (mode) {
        case MacMode::kU8S8: return EmacBatchIntRows<MacMode::kU8S8>(sram, items, count, w, t0, t1, acc);
        case MacMode::kS8S8: return EmacBatchIntRows<MacMode::kS8S8>(sram, items, count, w, t0, t1, acc);
        case MacMode::kS16S16: return EmacBatchIntRows<MacMode::kS16S16>(sram, items, count, w, t0, t1, acc);
        default: return EmacBatchBf16Rows(sram, items, count, reinterpret_cast<const float*>(w), t0, t1, acc);
      }
    };
  }
  static const RequantParams kNone{};
  const RequantParams& params = tail.quant ? CachedRequant(*tail.quant) : kNone;
  for (uint32_t t0 = r0; t0 < r1; t0 += kTailRows) {
    const uint32_t t1 = std::min(r1, t0 + kTailRows);
    if (seed != nullptr) {
      for (uint32_t r = t0; r < t1; ++r) std::memcpy(acc + size_t{r} * kLanes, seed, 4 * kLanes);
    }
    if (count > 0) macs(t0, t1);
    if (tail.quant) {
      RequantRowsWith(*tail.quant, params, acc + size_t{t0} * kLanes, t1 - t0, tail.out, const_cast<uint8_t*>(sram),
                      tail.addr + tail.stride * int64_t{t0}, tail.stride);
    }
  }
}

// ---- ACC_LD of narrow types (docs/isa.md §3.5): each row's 32 elements widened as VLD widens them ----
// One loop per type (the switch is outside the row loop). ACC rows never overlap SRAM, so any order is exact.
template <DType kType>
HWY_INLINE void AccLoadTyped(const uint8_t* src, int64_t stride, uint32_t rows, uint32_t* acc) {
  const DI di;
  const DU du;
  for (uint32_t r = 0; r < rows; ++r) {
    const uint8_t* row = src + stride * int64_t{r};
    int32_t* out = reinterpret_cast<int32_t*>(acc + size_t{r} * kLanes);
    for (size_t v = 0; v < kNV; ++v) {
      VI x;
      if constexpr (kType == DType::kU8) {
        x = hn::BitCast(di, hn::PromoteTo(du, hn::LoadU(hn::Rebind<uint8_t, DU>(), row + v * kN)));
      } else if constexpr (kType == DType::kI8) {
        x = hn::PromoteTo(di, hn::LoadU(hn::Rebind<int8_t, DI>(), reinterpret_cast<const int8_t*>(row) + v * kN));
      } else if constexpr (kType == DType::kI16) {
        int16_t e[kN];  // 16-bit elements at any byte address: copy bytes, then widen
        std::memcpy(e, row + 2 * v * kN, sizeof(e));
        x = hn::PromoteTo(di, hn::LoadU(hn::Rebind<int16_t, DI>(), e));
      } else {  // kBF16: the bits << 16
        uint16_t e[kN];
        std::memcpy(e, row + 2 * v * kN, sizeof(e));
        x = hn::BitCast(di, hn::ShiftLeft<16>(hn::PromoteTo(du, hn::LoadU(hn::Rebind<uint16_t, DU>(), e))));
      }
      hn::StoreU(x, di, out + v * kN);
    }
  }
}

void AccLoadRows(DType type, const uint8_t* src, int64_t stride, uint32_t rows, uint32_t* acc) {
  switch (type) {
    case DType::kU8: return AccLoadTyped<DType::kU8>(src, stride, rows, acc);
    case DType::kI8: return AccLoadTyped<DType::kI8>(src, stride, rows, acc);
    case DType::kI16: return AccLoadTyped<DType::kI16>(src, stride, rows, acc);
    default: return AccLoadTyped<DType::kBF16>(src, stride, rows, acc);
  }
}

// ---- AALU (docs/isa.md §6.5): rows in ascending order, each row's operands read before it is written.
// Lanes are independent, so a row may be computed vector by vector even in place (dst row = a or b row):
// vector v of the result depends on vector v of the operands only. Rows stay strictly in order (no loads
// of row r+1 before the stores of row r), so overlapping ranges at any offset behave as in the scalar
// machine. Add, Sub, Mul and Sll in unsigned lanes: they wrap mod 2^32 without signed overflow.
template <AluOp kOp>
HWY_INLINE VI AluVec(VI x, VI y, int imm) {
  const DI di;
  const DU du;
  if constexpr (kOp == AluOp::kAdd) return hn::BitCast(di, hn::Add(hn::BitCast(du, x), hn::BitCast(du, y)));
  if constexpr (kOp == AluOp::kSub) return hn::BitCast(di, hn::Sub(hn::BitCast(du, x), hn::BitCast(du, y)));
  if constexpr (kOp == AluOp::kMul) return hn::BitCast(di, hn::Mul(hn::BitCast(du, x), hn::BitCast(du, y)));
  if constexpr (kOp == AluOp::kMin) return hn::Min(x, y);
  if constexpr (kOp == AluOp::kMax) return hn::Max(x, y);
  if constexpr (kOp == AluOp::kSra) return hn::ShiftRightSame(x, imm);
  if constexpr (kOp == AluOp::kSll) return hn::BitCast(di, hn::ShiftLeftSame(hn::BitCast(du, x), imm));
  return hn::Set(di, imm);  // kMovi
}

// Which operands an op reads: SRA and SLL ignore b, MOVI both (reading them has no effect).
template <AluOp kOp>
constexpr bool kReadsA = kOp != AluOp::kMovi;
template <AluOp kOp>
constexpr bool kReadsB = kOp != AluOp::kMovi && kOp != AluOp::kSra && kOp != AluOp::kSll;

template <AluOp kOp>
HWY_NOINLINE void AluRows(uint32_t rows, int32_t* acc, int64_t dst, int64_t ds, int64_t a, int64_t as, int64_t b,
                          int64_t bs, int32_t imm) {
  const DI di;
  int32_t* pd = acc + dst * kLanes;
  const int32_t* pa = acc + a * kLanes;
  const int32_t* pb = acc + b * kLanes;
  const int64_t sd = ds * kLanes, sa = as * kLanes, sb = bs * kLanes;
  // b one row that no row of the instruction writes (a bias row): held in registers.
  const bool b_fixed = kReadsB<kOp> && bs == 0 &&
                       (ds == 0 ? b != dst : (ds > 0 ? (b < dst || b > dst + ds * int64_t{rows - 1} || (b - dst) % ds != 0)
                                                      : (b > dst || b < dst + ds * int64_t{rows - 1} || (dst - b) % (-ds) != 0)));
  if (b_fixed) {
    VI y[kNV];
    for (size_t v = 0; v < kNV; ++v) y[v] = hn::LoadU(di, pb + v * kN);
    for (uint32_t r = 0; r < rows; ++r, pd += sd, pa += sa) {
      for (size_t v = 0; v < kNV; ++v) hn::StoreU(AluVec<kOp>(hn::LoadU(di, pa + v * kN), y[v], imm), di, pd + v * kN);
    }
    return;
  }
  const VI zero = hn::Zero(di);
  for (uint32_t r = 0; r < rows; ++r, pd += sd, pa += sa, pb += sb) {
    for (size_t v = 0; v < kNV; ++v) {
      const VI x = kReadsA<kOp> ? hn::LoadU(di, pa + v * kN) : zero;
      const VI y = kReadsB<kOp> ? hn::LoadU(di, pb + v * kN) : zero;
      hn::StoreU(AluVec<kOp>(x, y, imm), di, pd + v * kN);
    }
  }
}

void AccAluRows(AluOp op, uint32_t rows, uint32_t* acc, int64_t dst, int64_t ds, int64_t a, int64_t as, int64_t b,
                int64_t bs, int32_t imm) {
  int32_t* p = reinterpret_cast<int32_t*>(acc);
  switch (op) {
    case AluOp::kAdd: return AluRows<AluOp::kAdd>(rows, p, dst, ds, a, as, b, bs, imm);
    case AluOp::kSub: return AluRows<AluOp::kSub>(rows, p, dst, ds, a, as, b, bs, imm);
    case AluOp::kMul: return AluRows<AluOp::kMul>(rows, p, dst, ds, a, as, b, bs, imm);
    case AluOp::kMin: return AluRows<AluOp::kMin>(rows, p, dst, ds, a, as, b, bs, imm);
    case AluOp::kMax: return AluRows<AluOp::kMax>(rows, p, dst, ds, a, as, b, bs, imm);
    case AluOp::kSra: return AluRows<AluOp::kSra>(rows, p, dst, ds, a, as, b, bs, imm);
    case AluOp::kSll: return AluRows<AluOp::kSll>(rows, p, dst, ds, a, as, b, bs, imm);
    case AluOp::kMovi: return AluRows<AluOp::kMovi>(rows, p, dst, ds, a, as, b, bs, imm);
  }
}

// ---- RPERM (docs/isa.md §6.6) ----
void RowPermRows(const BytePerm& p, uint8_t* sram, int64_t dst, int64_t ds, int64_t src, int64_t ss, uint32_t rows) {
#if HWY_TARGET == HWY_AVX3_DL
  if (p.bytes <= 64) {  // u8 and 16-bit rows: one register, vpermb, one masked store
    const __mmask64 in = p.bytes == 64 ? ~__mmask64{0} : (__mmask64{1} << p.bytes) - 1;
    const __m512i idx = _mm512_loadu_si512(p.index);
    for (uint32_t r = 0; r < rows; ++r) {
      const __m512i row = _mm512_maskz_loadu_epi8(in, sram + src + ss * int64_t{r});
      _mm512_mask_storeu_epi8(sram + dst + ds * int64_t{r}, p.mask[0], _mm512_maskz_permutexvar_epi8(~__mmask64{0}, idx, row));
    }
    return;
  }
  // vpermb over the 128-byte row held in two registers: read whole before any byte is written.
  const __mmask64 in0 = p.bytes >= 64 ? ~__mmask64{0} : (__mmask64{1} << p.bytes) - 1;
  const __mmask64 in1 = p.bytes > 64 ? ~__mmask64{0} : 0;
  const __m512i idx0 = _mm512_loadu_si512(p.index), idx1 = _mm512_loadu_si512(p.index + 64);
  for (uint32_t r = 0; r < rows; ++r) {
    const uint8_t* s = sram + src + ss * int64_t{r};
    uint8_t* d = sram + dst + ds * int64_t{r};
    const __m512i lo = _mm512_maskz_loadu_epi8(in0, s), hi = _mm512_maskz_loadu_epi8(in1, s + 64);
    const __m512i out0 = _mm512_permutex2var_epi8(lo, idx0, hi);
    const __m512i out1 = _mm512_permutex2var_epi8(lo, idx1, hi);
    _mm512_mask_storeu_epi8(d, p.mask[0], out0);
    if (p.mask[1] != 0) _mm512_mask_storeu_epi8(d + 64, p.mask[1], out1);
  }
#else
  uint8_t row[4 * kLanes];
  for (uint32_t r = 0; r < rows; ++r) {
    std::memcpy(row, sram + src + ss * int64_t{r}, static_cast<size_t>(p.bytes));
    uint8_t* d = sram + dst + ds * int64_t{r};
    for (int k = 0; k < p.bytes; ++k) {
      if ((p.mask[k / 64] >> (k % 64)) & 1) d[k] = row[p.index[k]];
    }
  }
#endif
}

int64_t Target() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace tile32
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tile32 {

HWY_EXPORT(EmacBatchRows);
HWY_EXPORT(RequantRows);
HWY_EXPORT(AccLoadRows);
HWY_EXPORT(AccAluRows);
HWY_EXPORT(RowPermRows);
HWY_EXPORT(Target);

SimdMachine::SimdMachine(const AccelConfig& config)
    : ScalarMachine(config), canonical_stale_(config.tile_regs, 0), prepared_(config.tile_regs) {
  emacs_.reserve(kMaxEmacBatch);
}

SimdMachine::~SimdMachine() = default;

void SimdMachine::Do(const TileLoad& i) {
  PreparedTile& p = prepared_[i.td];
  p.sram_addr = i.addr;
  p.bytes = static_cast<uint32_t>(size_t{kLanes} * kLanes * SizeOf(i.type));
  p.data = sram_.data() + i.addr;
  p.built = 0;
  canonical_stale_[i.td] = 1;
}

void SimdMachine::SettleTiles(ByteSpan span) {
  for (PreparedTile& p : prepared_) {
    if (p.data == p.image || p.data == nullptr) continue;
    if (p.sram_addr < span.hi && span.lo < __int128{p.sram_addr} + p.bytes) {
      std::memcpy(p.image, p.data, p.bytes);
      p.data = p.image;
    }
  }
}

// The SRAM bytes the instruction being executed writes (its footprint) are about to change.
void SimdMachine::SettleWrites() {
  const Footprint& fp = footprint();
  for (int a = 0; a < fp.sram_count; ++a) {
    const SramAccess& w = fp.sram[a];
    if (w.write) SettleTiles(SpanOf(w.base, w.stride, w.count, w.bytes));
  }
}

void SimdMachine::BeforeHostSramWrite() {
  FlushEmacs();  // the deferred EMACs read SRAM as it is now
  SettleTiles({0, static_cast<__int128>(sram_.size())});
}

namespace {
// Runs rows(begin, end) over [0, rows) on the calling arena's threads when the rows move at least
// kParallelBytes and write disjoint destinations (|dst_stride| >= row_bytes: then no order can show);
// else in one call, in ascending order, as the scalar machine does. Many-row copies come between TMACs
// of the same kernel, which keep the arena's workers awake; a single row (a whole weight matrix, say) is
// never split: a worker asleep since the last parallel instruction took longer to wake than the copy of
// 1 MiB of GEMV weights.
constexpr uint64_t kParallelBytes = 64 << 10;
// (A parallel_for in a one-thread arena cost up to 25 us per piece here, so one thread never splits.)
bool ArenaHasThreads() { return tbb::this_task_arena::max_concurrency() > 1; }

// `work_bytes` per row measures the work when it is not the bytes written (a REQ reads 128-byte ACC rows and
// computes on them: 2048 rows of u8 outputs took 8 us on one thread and were never split by their 32 bytes).
template <typename F>
void ForRows(uint32_t rows, uint64_t row_bytes, int64_t dst_stride, const F& body, uint64_t work_bytes = 0) {
  const uint64_t stride = static_cast<uint64_t>(dst_stride < 0 ? -dst_stride : dst_stride);
  const uint64_t work = std::max(row_bytes, work_bytes);
  if (rows < 2 || uint64_t{rows} * work < kParallelBytes || stride < row_bytes || !ArenaHasThreads()) {
    return body(0u, rows);
  }
  const uint32_t grain = static_cast<uint32_t>(std::max<uint64_t>(1, (16 << 10) / std::max<uint64_t>(work, 1)));
  tbb::parallel_for(tbb::blocked_range<uint32_t>(0, rows, grain),
                    [&](const tbb::blocked_range<uint32_t>& r) { body(r.begin(), r.end()); });
}

// n bytes, 1 <= n <= 512, with fixed-size copies the compiler inlines (a libc memcpy call cost more than
// copying a 32-byte output row, and 17 % of a stride-2 depthwise layer went to memcpy calls of one 144-byte
// pixel each): 32-byte pieces from 64 bytes on, else 16-byte ones, the last piece overlapping the one
// before, or for n < 16 two overlapping pieces of 8, 4 or 1 and 2 bytes. Source and destination never overlap (different memories).
inline void CopySmall(uint8_t* d, const uint8_t* s, uint64_t n) {
  if (n >= 64) {
    for (uint64_t o = 0; o + 32 < n; o += 32) std::memcpy(d + o, s + o, 32);
    std::memcpy(d + n - 32, s + n - 32, 32);
  } else if (n >= 16) {
    for (uint64_t o = 0; o + 16 < n; o += 16) std::memcpy(d + o, s + o, 16);
    std::memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(d, s, 8), std::memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(d, s, 4), std::memcpy(d + n - 4, s + n - 4, 4);
  } else {
    d[0] = s[0], d[n - 1] = s[n - 1];
    if (n == 3) d[1] = s[1];
  }
}

// Rows [r0, r1) of a DMA, in ascending order; rows that lie back to back on both sides are one memcpy.
// (Measured on a 3136x576 activation load: no faster than a row at a time, since the copy is bound by
// reading the activations from L3; kept because it is no slower and both directions share it.)
void CopyRows(uint8_t* dst, uint64_t dst_stride, const uint8_t* src, uint64_t src_stride, uint64_t row_bytes,
              uint32_t r0, uint32_t r1) {
  if (dst_stride == row_bytes && src_stride == row_bytes) {
    std::memcpy(dst + row_bytes * r0, src + row_bytes * r0, row_bytes * (r1 - r0));
    return;
  }
  if (row_bytes <= 512) {
    for (uint32_t r = r0; r < r1; ++r) CopySmall(dst + dst_stride * r, src + src_stride * r, row_bytes);
    return;
  }
  for (uint32_t r = r0; r < r1; ++r) std::memcpy(dst + dst_stride * r, src + src_stride * r, row_bytes);
}

}  // namespace

void SimdMachine::Do(const DmaIn& i) {
  SettleWrites();
  const uint8_t* src = segment(i.segment).base + i.dram;
  uint8_t* dst = sram_at(i.sram);
  ForRows(i.rows, i.row_bytes, i.sram_stride, [&](uint32_t r0, uint32_t r1) {
    CopyRows(dst, i.sram_stride, src, i.dram_stride, i.row_bytes, r0, r1);
  });
}

void SimdMachine::Do(const DmaOut& i) {
  uint8_t* dst = segment(i.segment).base + i.dram;
  const uint8_t* src = sram_at(i.sram);
  const int64_t dram_stride = static_cast<int64_t>(std::min<uint64_t>(i.dram_stride, INT64_MAX));
  ForRows(i.rows, i.row_bytes, dram_stride, [&](uint32_t r0, uint32_t r1) {
    CopyRows(dst, i.dram_stride, src, i.sram_stride, i.row_bytes, r0, r1);
  });
}

// Unit stride (a kernel's weights, the common case): one loop per type, which the compiler vectorizes,
// instead of the scalar machine's widening per element.
void SimdMachine::Do(const VLoad& i) {
  const int size = SizeOf(i.type);
  if (i.stride != size) return ScalarMachine::Do(i);
  const uint8_t* p = sram_at(i.addr);
  uint32_t* v = vregs_[i.vd].data();
  switch (i.type) {
    case DType::kU8:
      for (int l = 0; l < kLanes; ++l) v[l] = p[l];
      return;
    case DType::kI8:
      for (int l = 0; l < kLanes; ++l) v[l] = static_cast<uint32_t>(int32_t{static_cast<int8_t>(p[l])});
      return;
    case DType::kI16:
    case DType::kBF16: {
      uint16_t e[kLanes];
      std::memcpy(e, p, sizeof(e));
      if (i.type == DType::kBF16) {
        for (int l = 0; l < kLanes; ++l) v[l] = Bf16ToF32Bits(e[l]);
      } else {
        for (int l = 0; l < kLanes; ++l) v[l] = static_cast<uint32_t>(int32_t{static_cast<int16_t>(e[l])});
      }
      return;
    }
    default:
      std::memcpy(v, p, 4 * kLanes);
  }
}

void SimdMachine::Do(const VStore& i) {
  SettleWrites();
  ScalarMachine::Do(i);
}

void SimdMachine::MaterializeTile(int t) const {
  if (!canonical_stale_[t]) return;
  DecodeTileImage(tile_type(t), prepared_[t].data, &tiles_[t]);
  canonical_stale_[t] = 0;
}

// TMACs of at least this many row-tiles (2 M MACs) are split across the arena's threads. Below it waking
// a worker cost more than it saved on the 2-vCPU development host: Winograd's TMACs (256 tile rows x 2
// tiles) ran 2 threads slower than 1 with a threshold of 256.
constexpr uint64_t kTmacParallelWork = 2048;

void SimdMachine::Do(const TileMac& i) {
  if (config().check_overflow) return ScalarMachine::Do(i);  // the flag needs exact per-lane sums
  PreparedTile* tiles = &prepared_[i.tile];
  TmacJob job{sram_.data(), int64_t{i.a_addr}, int64_t{i.a_stride}, 0, i.rows, tiles, i.tiles, i.mode,
              acc_at(i.acc_row), false, false, false};
  PrepareTmac(tiles, &job);
  // Rows are independent (distinct ACC rows, read-only SRAM), so any split across threads is exact.
  if (uint64_t{i.rows} * i.tiles < kTmacParallelWork || !ArenaHasThreads()) {
    RunTmacRows(job);
    return;
  }
  // Tasks of whole 24-row units (a multiple of every target's row block: 3 on AVX2, 8 on AVX-512, 4 on
  // SSE; with 8-row units a third of AVX2's tasks ended in single rows, each 2-3x slower), at least 2 units
  // each, balanced by work stealing: the calling thread starts at once while a sleeping worker wakes, and
  // takes over its share if it is late. Weights are re-read per task from L2 only (a task's passes keep
  // them in L1).
  constexpr uint32_t kUnit = 24;
  const uint32_t units = (i.rows + kUnit - 1) / kUnit;
  tbb::parallel_for(
      tbb::blocked_range<uint32_t>(0, units, 2),
      [&](const tbb::blocked_range<uint32_t>& range) {
        TmacJob part = job;
        part.row_begin = kUnit * range.begin();
        part.row_end = std::min(i.rows, kUnit * range.end());
        RunTmacRows(part);
      });
}

// A batch of EMACs is split across the arena's threads when it has at least this many row-EMACs: with the
// EMACs of a depthwise kernel's taps fused, a batch is compute-bound, and 2 threads take half the time.
constexpr uint64_t kEmacParallelWork = 4096;

void SimdMachine::Do(const ElemMac& i) {
  if (config().check_overflow) {  // the flag needs exact per-lane sums, instruction by instruction
    FlushEmacs();
    return ScalarMachine::Do(i);
  }
  const bool pending = !emacs_.empty() || seed_pending_;
  if (pending && (i.acc_row != emac_row_ || i.rows != emac_rows_ || req_pending_ ||
                  (!emacs_.empty() && i.mode != emac_mode_) || emacs_.size() == size_t{kMaxEmacBatch})) {
    FlushEmacs();
  }
  emac_mode_ = i.mode, emac_row_ = i.acc_row, emac_rows_ = i.rows;
  EmacItem item;
  item.a_addr = i.a_addr, item.a_stride = i.a_stride;
  std::memcpy(item.w, vreg(i.vw).data(), sizeof(item.w));  // the weights as they are now
  emacs_.push_back(item);
}

void SimdMachine::FlushEmacs() {
  if (emacs_.empty() && !seed_pending_) return;
  const auto start = host_timing_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  const int count = static_cast<int>(emacs_.size());
  uint32_t* acc = acc_at(emac_row_);
  EmacTail tail;
  if (seed_pending_) tail.seed = seed_;
  if (req_pending_) {
    tail.quant = &req_quant_, tail.out = req_.out, tail.addr = req_.addr, tail.stride = req_.row_stride;
  }
  auto rows = [&](uint32_t r0, uint32_t r1) {
    HWY_DYNAMIC_DISPATCH(EmacBatchRows)(emac_mode_, sram_.data(), emacs_.data(), count, r0, r1, acc, tail);
  };
  // Rows are independent: distinct ACC rows, EMACs only read SRAM, a fused REQ writes rows that neither
  // overlap each other nor anything an EMAC reads (FusesRequant).
  // A seed alone (the next instruction was no EMAC: a TMAC, say) is a copy, split as ForRows splits copies.
  const bool split = count > 0 ? uint64_t{emac_rows_} * count >= kEmacParallelWork
                               : uint64_t{emac_rows_} * 4 * kLanes >= kParallelBytes;
  if (!split || !ArenaHasThreads()) {
    rows(0, emac_rows_);
  } else {
    const uint32_t grain = std::max<uint32_t>(
        64, emac_rows_ / (4 * static_cast<uint32_t>(tbb::this_task_arena::max_concurrency())));
    tbb::parallel_for(tbb::blocked_range<uint32_t>(0, emac_rows_, grain),
                      [&](const tbb::blocked_range<uint32_t>& r) { rows(r.begin(), r.end()); });
  }
  emacs_.clear();
  seed_pending_ = req_pending_ = false;
  if (host_timing_) {  // the fused seed and REQ count as EMAC time in profiles
    const std::chrono::duration<double> spent = std::chrono::steady_clock::now() - start;
    AddHostSeconds(Instr(ElemMac{}).index(), spent.count());
  }
}

bool SimdMachine::FusesRequant(const Requant& i) const {
  if (emacs_.empty() || req_pending_ || i.acc_row != emac_row_ || i.rows != emac_rows_) return false;
  const uint64_t row_bytes = uint64_t{kLanes} * SizeOf(i.out);
  const uint64_t apart = static_cast<uint64_t>(i.row_stride < 0 ? -int64_t{i.row_stride} : int64_t{i.row_stride});
  if (i.rows > 1 && apart < row_bytes) return false;
  const ByteSpan out = SpanOf(i.addr, i.row_stride, i.rows, row_bytes);
  const uint64_t in_bytes = uint64_t{kLanes} * SizeOf(ActivationType(emac_mode_));
  for (const EmacItem& e : emacs_) {
    const ByteSpan in = SpanOf(static_cast<uint32_t>(e.a_addr), static_cast<int32_t>(e.a_stride), emac_rows_, in_bytes);
    if (in.lo < out.hi && out.lo < in.hi) return false;
  }
  return true;
}

// Instructions that touch nothing a deferred EMAC reads or writes (its weights were copied when it was
// issued; it reads SRAM and writes its ACC rows): a kernel's VLD of the next tap's weights, for one, does
// not break the batch. A REQ of the batch's rows joins it when it can (FusesRequant); after that only QCFG
// and register instructions wait. Everything else runs after the batch.
void SimdMachine::BeforeInstruction(const Instr& next) {
  if (std::holds_alternative<SetQuant>(next) || std::holds_alternative<VAlu>(next) ||
      std::holds_alternative<VPerm>(next)) {
    return;
  }
  if (!req_pending_) {
    if (std::holds_alternative<ElemMac>(next) || std::holds_alternative<VLoad>(next) ||
        std::holds_alternative<TileLoad>(next)) {
      return;
    }
    const auto* req = std::get_if<Requant>(&next);
    if (req != nullptr && !config().check_overflow && FusesRequant(*req)) return;
  }
  FlushEmacs();
}

void SimdMachine::SettleAcc() const { const_cast<SimdMachine*>(this)->FlushEmacs(); }
void SimdMachine::SettleSram() const { const_cast<SimdMachine*>(this)->FlushEmacs(); }

void SimdMachine::Do(const Requant& i) {
  const int64_t row_bytes = int64_t{kLanes} * SizeOf(i.out);
  SettleWrites();
  if (!config().check_overflow && FusesRequant(i)) {  // joins the batch (BeforeInstruction let it through)
    req_pending_ = true, req_ = i, req_quant_ = quant();
    return;
  }
  ForRows(
      i.rows, row_bytes, i.row_stride,
      [&](uint32_t r0, uint32_t r1) {
        HWY_DYNAMIC_DISPATCH(RequantRows)(quant(), acc_row(i.acc_row + r0), r1 - r0, i.out, sram_.data(),
                                          int64_t{i.addr} + int64_t{i.row_stride} * r0, i.row_stride);
      },
      4 * kLanes);
}

void SimdMachine::Do(const AccZero& i) {
  if (i.rows > 0 && !config().check_overflow) {  // a zero seed, deferred as a broadcast ACC_LD is
    std::memset(seed_, 0, sizeof(seed_));
    seed_pending_ = true, emac_row_ = i.row, emac_rows_ = i.rows;
    return;
  }
  ForRows(i.rows, 4 * kLanes, 4 * kLanes, [&](uint32_t r0, uint32_t r1) {
    std::memset(acc_at(i.row + r0), 0, size_t{r1 - r0} * 4 * kLanes);
  });
}

void SimdMachine::Do(const AccLoad& i) {  // ACC rows never overlap; little-endian int32 lanes as they are
  // A broadcast of one 32-bit row (a kernel seeding its rows with the bias) waits for the EMACs of the same
  // rows and starts their pass (FlushEmacs); BeforeInstruction has run the batch before it, if any.
  if (SizeOf(i.type) == 4 && i.row_stride == 0 && i.rows > 0 && !config().check_overflow) {
    std::memcpy(seed_, sram_at(i.addr), sizeof(seed_));
    seed_pending_ = true, emac_row_ = i.row, emac_rows_ = i.rows;
    return;
  }
  if (SizeOf(i.type) != 4) {
    return ForRows(i.rows, 4 * kLanes, 4 * kLanes, [&](uint32_t r0, uint32_t r1) {
      HWY_DYNAMIC_DISPATCH(AccLoadRows)(i.type, sram_at(int64_t{i.addr} + int64_t{i.row_stride} * r0), i.row_stride,
                                        r1 - r0, acc_at(i.row + r0));
    });
  }
  ForRows(i.rows, 4 * kLanes, 4 * kLanes, [&](uint32_t r0, uint32_t r1) {
    for (uint32_t r = r0; r < r1; ++r) {
      std::memcpy(acc_at(i.row + r), sram_at(int64_t{i.addr} + int64_t{i.row_stride} * r), 4 * kLanes);
    }
  });
}

void SimdMachine::Do(const AccStore& i) {
  SettleWrites();
  if (i.type == DType::kBF16) return ScalarMachine::Do(i);
  ForRows(i.rows, 4 * kLanes, i.row_stride, [&](uint32_t r0, uint32_t r1) {
    for (uint32_t r = r0; r < r1; ++r) {  // ascending rows: overlapping rows end as in the scalar machine
      std::memcpy(sram_at(int64_t{i.addr} + int64_t{i.row_stride} * r), acc_row(i.row + r), 4 * kLanes);
    }
  });
}

void SimdMachine::Do(const AccAlu& i) {
  if (config().check_overflow) return ScalarMachine::Do(i);  // the flag needs exact per-lane results
  HWY_DYNAMIC_DISPATCH(AccAluRows)(i.op, i.rows, acc_at(0), i.dst, i.dst_stride, i.a, i.a_stride, i.b, i.b_stride,
                                   i.imm);
}

void SimdMachine::Do(const RowPerm& i) {
  const int size = SizeOf(i.type);
  SettleWrites();
  BytePerm perm;
  perm.bytes = kLanes * size;
  for (int l = 0; l < kLanes; ++l) {
    for (int b = 0; b < size; ++b) {
      const int k = size * l + b;
      perm.index[k] = static_cast<uint8_t>(i.route[l] < 0 ? 0 : size * i.route[l] + b);
      if (i.route[l] >= 0) perm.mask[k / 64] |= uint64_t{1} << (k % 64);
    }
  }
  HWY_DYNAMIC_DISPATCH(RowPermRows)(perm, sram_.data(), i.dst, i.dst_stride, i.src, i.src_stride, i.rows);
}

SimdTargets ListSimdTargets() {
  SimdTargets out;
  const int64_t supported = hwy::SupportedTargets();
  for (int b = 0; b < 63; ++b) {
    const int64_t bit = int64_t{1} << b;
    if ((HWY_TARGETS & bit) == 0) continue;
    const SimdTarget t{bit, hwy::TargetName(bit)};
    out.compiled.push_back(t);
    if (supported & bit) out.supported.push_back(t);
  }
  const int64_t chosen = HWY_DYNAMIC_DISPATCH(Target)();
  out.dispatched = SimdTarget{chosen, hwy::TargetName(chosen)};
  return out;
}

void ForceSimdTarget(int64_t target) { hwy::SetSupportedTargetsForTest(target); }

}  // namespace tile32
#endif  // HWY_ONCE

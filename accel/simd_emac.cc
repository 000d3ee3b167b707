// The SIMD machine's EMAC (docs/isa.md §4.2) per Highway target: batches of EMACs on the same ACC rows, run
// row by row, with a batch's seed and REQ fused into its pass (accel/simd_rows.h, docs/simd_machine.md
// "EMAC"). Integer sums wrap (any order gives the same bits); BF16 runs each lane's fused multiply-adds in
// issue order.
#include <algorithm>
#include <cstring>
#include <functional>

#include "accel/simd_rows.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "accel/simd_emac.cc"
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

// Rows r .. r + kRows - 1 start as they are in ACC, or as `seed` when there is one (a fused ACC_LD): the seed
// is not stored into the rows first only to be loaded back.
template <MacMode M, uint32_t kRows>
TILE32_EMAC_ATTR HWY_INLINE void EmacIntBlock(const uint8_t* sram, const EmacItem* items, int count, const int32_t* w16,
                                              const uint32_t* seed, uint32_t r, uint32_t* acc) {
  const DI di;
  constexpr size_t kElem = M == MacMode::kS16S16 ? 2 : 1;
  VI sum[kRows][kNV];
  for (uint32_t b = 0; b < kRows; ++b) {
    const uint32_t* row = seed != nullptr ? seed : acc + size_t{r + b} * kLanes;
    for (size_t v = 0; v < kNV; ++v) sum[b][v] = hn::LoadU(di, reinterpret_cast<const int32_t*>(row) + v * kN);
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
                                                    const int32_t* w16, const uint32_t* seed, uint32_t r0, uint32_t r1,
                                                    uint32_t* acc) {
  uint32_t r = r0;
  for (; r + kEmacRowBlock <= r1; r += kEmacRowBlock) EmacIntBlock<M, kEmacRowBlock>(sram, items, count, w16, seed, r, acc);
  for (; r < r1; ++r) EmacIntBlock<M, 1>(sram, items, count, w16, seed, r, acc);
}
#undef TILE32_EMAC_ATTR

template <uint32_t kRows>
HWY_INLINE void EmacBf16Block(const uint8_t* sram, const EmacItem* items, int count, const float* wf,
                              const uint32_t* seed, uint32_t r, uint32_t* acc) {
  const DF df;
  const DU du;
  const hn::Rebind<uint16_t, DU> d16;
  VF sum[kRows][kNV];
  for (uint32_t b = 0; b < kRows; ++b) {
    const uint32_t* row = seed != nullptr ? seed : acc + size_t{r + b} * kLanes;
    for (size_t v = 0; v < kNV; ++v) sum[b][v] = hn::LoadU(df, reinterpret_cast<const float*>(row) + v * kN);
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
                                    const uint32_t* seed, uint32_t r0, uint32_t r1, uint32_t* acc) {
  uint32_t r = r0;
  for (; r + kEmacRowBlock <= r1; r += kEmacRowBlock) EmacBf16Block<kEmacRowBlock>(sram, items, count, wf, seed, r, acc);
  for (; r < r1; ++r) EmacBf16Block<1>(sram, items, count, wf, seed, r, acc);
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
// constexpr: constant-initialized, so no code compiled for this target runs at program start (a dynamic
// initializer here would execute AVX-512 instructions on hosts without them).
struct QuadIndex {
  alignas(64) uint8_t lo[64] = {}, hi[64] = {};
  constexpr QuadIndex() {
    for (int j = 0; j < 16; ++j) {
      for (int t = 0; t < 4; ++t) lo[4 * j + t] = static_cast<uint8_t>(32 * t + j), hi[4 * j + t] = static_cast<uint8_t>(32 * t + 16 + j);
    }
  }
};
constexpr QuadIndex kQuadIndex;

// A batch's last EMAC when it is alone in its group (9 taps = 4 + 4 + 1): vpermb puts lane j of its 32
// activations into byte 4j (lo: lanes 0-15, hi: 16-31) and zeroes the other bytes, which meet zero weights.
// Two shuffles instead of a padded quad's four (two inserts and two vpermt2b).
struct SingleIndex {
  alignas(64) uint8_t lo[64] = {}, hi[64] = {};
  constexpr SingleIndex() {
    for (int j = 0; j < 16; ++j) lo[4 * j] = static_cast<uint8_t>(j), hi[4 * j] = static_cast<uint8_t>(16 + j);
  }
};
constexpr SingleIndex kSingleIndex;
constexpr __mmask64 kSingleBytes = 0x1111111111111111ull;

// Rows per block: 4 (8 accumulators) measured 1.25x faster than 8 (which spilled) and 1.2x faster than 2.
constexpr uint32_t kQuadRowBlock = 4;

// Slides: three EMACs of one stride whose activations start one row apart (a depthwise kernel row of 3 taps
// at stride 1: tap kx reads pixel r + kx) read, for row r, rows r, r+1, r+2 of the first one's. The dwords of
// rows r .. r+3 gathered once therefore serve row r under the weights w0 w1 w2 0 and row r + 1 under
// 0 w0 w1 w2: per row half the shuffles and two thirds of the loads of the three EMACs in quads.
constexpr int kMaxSlides = kMaxEmacBatch / 3;

struct QuadBatch {
  int groups = 0;     // groups of four EMACs, the last one padded with zero weights
  bool single = false;  // the last group holds one EMAC and runs as such (kSingleIndex)
  int slides = 0;
  alignas(64) int32_t w[kMaxEmacBatch / 4 * kLanes];  // per group and lane: the four s8 weights, EMAC t in byte t
  alignas(64) int32_t start[kLanes];                  // added to each row first: -128 * sum of the weights (s8)
  alignas(64) int32_t slide_w[kMaxSlides][2][kLanes];  // per slide and lane: w0 w1 w2 0, and 0 w0 w1 w2
  const uint8_t* sram = nullptr;
  int64_t offset[kMaxEmacBatch], stride[kMaxEmacBatch];  // of the EMACs in groups
  int64_t slide_offset[kMaxSlides], slide_stride[kMaxSlides];
};

TILE32_QUAD_ATTR HWY_INLINE __m512i QuadLoad(const uint8_t* p0, const uint8_t* p1) {
  // The masked insert: GCC 12 warns that the plain one's undefined pass-through is uninitialized.
  const __m512i lo = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0)));
  return _mm512_mask_inserti64x4(lo, 0xFF, lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p1)), 1);
}

// One pair of rows of a slide: x holds the dwords of rows h .. h+3 (a: rows h, h+1; c: rows h+2, h+3) lane
// by lane; row h takes them under the weights w0 w1 w2 0 (e), row h+1 under 0 w0 w1 w2 (o).
template <bool kSigned>
TILE32_QUAD_ATTR HWY_INLINE void SlidePair(__m512i a, __m512i c, __m512i idx_lo, __m512i idx_hi, __m512i flip,
                                          __m512i e0, __m512i e1, __m512i o0, __m512i o1, __m512i* row_h,
                                          __m512i* row_h1) {
  __m512i x0 = _mm512_permutex2var_epi8(a, idx_lo, c), x1 = _mm512_permutex2var_epi8(a, idx_hi, c);
  if constexpr (kSigned) x0 = _mm512_xor_si512(x0, flip), x1 = _mm512_xor_si512(x1, flip);
  row_h[0] = _mm512_dpbusd_epi32(row_h[0], x0, e0);
  row_h[1] = _mm512_dpbusd_epi32(row_h[1], x1, e1);
  row_h1[0] = _mm512_dpbusd_epi32(row_h1[0], x0, o0);
  row_h1[1] = _mm512_dpbusd_epi32(row_h1[1], x1, o1);
}

// One slide over an even number of rows from base (row stride S), in pairs: rows h+2, h+3 are the next pair's
// first two, so each pair of rows is loaded once per slide.
template <bool kSigned, uint32_t kRows>
TILE32_QUAD_ATTR HWY_INLINE void SlideRows(const uint8_t* base, int64_t S, __m512i idx_lo, __m512i idx_hi,
                                          __m512i flip, __m512i e0, __m512i e1, __m512i o0, __m512i o1,
                                          __m512i (*sum)[2]) {
  __m512i c = QuadLoad(base, base + S);
  for (uint32_t h = 0; h < kRows; h += 2) {
    const uint8_t* p = base + S * int64_t{h};
    const __m512i a = c;
    c = QuadLoad(p + 2 * S, p + 3 * S);
    SlidePair<kSigned>(a, c, idx_lo, idx_hi, flip, e0, e1, o0, o1, sum[h], sum[h + 1]);
  }
}

// A block's rows as they start (from ACC, or all from `seed` when there is one: a fused ACC_LD), plus the
// batch's s8 offset; and the block's rows stored back.
template <uint32_t kRows>
TILE32_QUAD_ATTR HWY_INLINE void QuadStartRows(const QuadBatch& q, const uint32_t* seed, uint32_t r, const uint32_t* acc,
                                              __m512i (*sum)[2]) {
  const __m512i start0 = _mm512_load_si512(q.start), start1 = _mm512_load_si512(q.start + 16);
  for (uint32_t b = 0; b < kRows; ++b) {
    const uint32_t* row = seed != nullptr ? seed : acc + size_t{r + b} * kLanes;
    sum[b][0] = _mm512_add_epi32(_mm512_loadu_si512(row), start0);
    sum[b][1] = _mm512_add_epi32(_mm512_loadu_si512(row + 16), start1);
  }
}
template <uint32_t kRows>
TILE32_QUAD_ATTR HWY_INLINE void QuadStoreRows(const __m512i (*sum)[2], uint32_t r, uint32_t* acc) {
  for (uint32_t b = 0; b < kRows; ++b) {
    uint32_t* row = acc + size_t{r + b} * kLanes;
    _mm512_storeu_si512(row, sum[b][0]);
    _mm512_storeu_si512(row + 16, sum[b][1]);
  }
}

// Rows r .. r + kRows - 1 start as they are in ACC, or as `seed` when there is one (a fused ACC_LD).
template <bool kSigned, uint32_t kRows>
TILE32_QUAD_ATTR HWY_INLINE void EmacQuadBlock(const QuadBatch& q, const uint32_t* seed, uint32_t r, uint32_t* acc) {
  __m512i sum[kRows][2];
  QuadStartRows<kRows>(q, seed, r, acc, sum);
  const __m512i idx_lo = _mm512_load_si512(kQuadIndex.lo), idx_hi = _mm512_load_si512(kQuadIndex.hi);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int s = 0; s < q.slides; ++s) {
    const __m512i e0 = _mm512_load_si512(q.slide_w[s][0]), e1 = _mm512_load_si512(q.slide_w[s][0] + 16);
    const int64_t S = q.slide_stride[s];
    const uint8_t* base = q.sram + q.slide_offset[s] + S * int64_t{r};
    if constexpr (kRows % 2 == 0) {  // rows r+h .. r+h+3 serve rows r+h and r+h+1
      const __m512i o0 = _mm512_load_si512(q.slide_w[s][1]), o1 = _mm512_load_si512(q.slide_w[s][1] + 16);
      SlideRows<kSigned, kRows>(base, S, idx_lo, idx_hi, flip, e0, e1, o0, o1, sum);
    } else {  // a row alone: rows r, r+1, r+2 and r again under the zero weight (no row the EMACs do not read)
      for (uint32_t b = 0; b < kRows; ++b) {
        const uint8_t* p = base + S * int64_t{b};
        const __m512i a = QuadLoad(p, p + S), c = QuadLoad(p + 2 * S, p);
        __m512i x0 = _mm512_permutex2var_epi8(a, idx_lo, c), x1 = _mm512_permutex2var_epi8(a, idx_hi, c);
        if constexpr (kSigned) x0 = _mm512_xor_si512(x0, flip), x1 = _mm512_xor_si512(x1, flip);
        sum[b][0] = _mm512_dpbusd_epi32(sum[b][0], x0, e0);
        sum[b][1] = _mm512_dpbusd_epi32(sum[b][1], x1, e1);
      }
    }
  }
  const int quads = q.groups - (q.single ? 1 : 0);
  for (int g = 0; g < quads; ++g) {
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
  if (q.single) {
    const int g = quads;
    const __m512i w0 = _mm512_load_si512(q.w + g * kLanes), w1 = _mm512_load_si512(q.w + g * kLanes + 16);
    const __m512i s_lo = _mm512_load_si512(kSingleIndex.lo), s_hi = _mm512_load_si512(kSingleIndex.hi);
    for (uint32_t b = 0; b < kRows; ++b) {
      const uint8_t* p = q.sram + q.offset[4 * g] + q.stride[4 * g] * (int64_t{r} + b);
      const __m512i a = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
      __m512i x0 = _mm512_maskz_permutexvar_epi8(kSingleBytes, s_lo, a);
      __m512i x1 = _mm512_maskz_permutexvar_epi8(kSingleBytes, s_hi, a);
      if constexpr (kSigned) x0 = _mm512_xor_si512(x0, flip), x1 = _mm512_xor_si512(x1, flip);
      sum[b][0] = _mm512_dpbusd_epi32(sum[b][0], x0, w0);
      sum[b][1] = _mm512_dpbusd_epi32(sum[b][1], x1, w1);
    }
  }
  QuadStoreRows<kRows>(sum, r, acc);
}

void PrepareQuad(const uint8_t* sram, const EmacItem* items, int count, bool is_signed, QuadBatch* q) {
  q->sram = sram;
  int32_t wsum[kLanes] = {};
  // Slides, in issue order; every other EMAC into the groups.
  const EmacItem* rest[kMaxEmacBatch];
  int n = 0;
  q->slides = 0;
  for (int e = 0; e < count;) {
    const EmacItem& a = items[e];
    if (e + 2 < count && items[e + 1].a_stride == a.a_stride && items[e + 2].a_stride == a.a_stride &&
        items[e + 1].a_addr == a.a_addr + a.a_stride && items[e + 2].a_addr == a.a_addr + 2 * a.a_stride) {
      const int s = q->slides++;
      q->slide_offset[s] = a.a_addr, q->slide_stride[s] = a.a_stride;
      uint32_t* even = reinterpret_cast<uint32_t*>(q->slide_w[s][0]);
      uint32_t* odd = reinterpret_cast<uint32_t*>(q->slide_w[s][1]);
      for (int j = 0; j < kLanes; ++j) {
        const uint32_t w3 = (a.w[j] & 0xFFu) | (items[e + 1].w[j] & 0xFFu) << 8 | (items[e + 2].w[j] & 0xFFu) << 16;
        even[j] = w3, odd[j] = w3 << 8;
      }
      e += 3;
      continue;
    }
    rest[n++] = &items[e++];
  }
  for (int e = 0; e < count; ++e) {
    for (int j = 0; j < kLanes; ++j) wsum[j] += static_cast<int8_t>(items[e].w[j]);
  }
  q->groups = (n + 3) / 4;
  q->single = n % 4 == 1;
  // Lane loops innermost (the compiler vectorizes them): PrepareQuad runs once per batch, which on layers of
  // few pixels is as often as the batch's rows are few.
  for (int g = 0; g < q->groups; ++g) {
    uint32_t* word = reinterpret_cast<uint32_t*>(q->w + g * kLanes);
    for (int j = 0; j < kLanes; ++j) word[j] = 0;
    for (int t = 0; t < 4; ++t) {
      const int e = 4 * g + t;
      const EmacItem& it = *rest[e < n ? e : 0];
      q->offset[e] = it.a_addr, q->stride[e] = it.a_stride;
      if (e >= n) continue;  // padding: zero weights
      for (int j = 0; j < kLanes; ++j) word[j] |= (it.w[j] & 0xFFu) << (8 * t);
    }
  }
  for (int j = 0; j < kLanes; ++j) q->start[j] = is_signed ? -128 * wsum[j] : 0;
}

// A batch of slides only (a 3x3 depthwise kernel at stride 1: three of them): the slides' weights stay in
// registers across the blocks and their row pointers advance by a block at a time, where EmacQuadBlock
// reloaded both per block of 4 rows (its scalar set-up was as many instructions as its multiplies). Measured
// in one process on Ice Lake (a depthwise band of 2048 rows, five blocks of 32 channels): 7.48 -> 5.79 ns a
// row for the nine EMACs, 11.06 -> 8.67 with the fused REQ.
template <bool kSigned, int kSlides>
TILE32_QUAD_ATTR HWY_NOINLINE void EmacSlideRows(const QuadBatch& q, const uint32_t* seed, uint32_t r0, uint32_t r1,
                                                uint32_t* acc) {
  __m512i e0[kSlides], e1[kSlides], o0[kSlides], o1[kSlides];
  const uint8_t* p[kSlides];
  int64_t S[kSlides];
  for (int s = 0; s < kSlides; ++s) {
    e0[s] = _mm512_load_si512(q.slide_w[s][0]), e1[s] = _mm512_load_si512(q.slide_w[s][0] + 16);
    o0[s] = _mm512_load_si512(q.slide_w[s][1]), o1[s] = _mm512_load_si512(q.slide_w[s][1] + 16);
    S[s] = q.slide_stride[s];
    p[s] = q.sram + q.slide_offset[s] + S[s] * int64_t{r0};
  }
  const __m512i idx_lo = _mm512_load_si512(kQuadIndex.lo), idx_hi = _mm512_load_si512(kQuadIndex.hi);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  uint32_t r = r0;
  for (; r + kQuadRowBlock <= r1; r += kQuadRowBlock) {
    __m512i sum[kQuadRowBlock][2];
    QuadStartRows<kQuadRowBlock>(q, seed, r, acc, sum);
    for (int s = 0; s < kSlides; ++s) {
      SlideRows<kSigned, kQuadRowBlock>(p[s], S[s], idx_lo, idx_hi, flip, e0[s], e1[s], o0[s], o1[s], sum);
      p[s] += S[s] * int64_t{kQuadRowBlock};
    }
    QuadStoreRows<kQuadRowBlock>(sum, r, acc);
  }
  for (; r < r1; ++r) EmacQuadBlock<kSigned, 1>(q, seed, r, acc);
}

template <bool kSigned>
TILE32_QUAD_ATTR HWY_NOINLINE void EmacQuadRows(const QuadBatch& q, const uint32_t* seed, uint32_t r0, uint32_t r1,
                                               uint32_t* acc) {
  if (q.groups == 0 && !q.single && q.slides == 3) return EmacSlideRows<kSigned, 3>(q, seed, r0, r1, acc);
  uint32_t r = r0;
  for (; r + kQuadRowBlock <= r1; r += kQuadRowBlock) EmacQuadBlock<kSigned, kQuadRowBlock>(q, seed, r, acc);
  for (; r < r1; ++r) EmacQuadBlock<kSigned, 1>(q, seed, r, acc);
}
#undef TILE32_QUAD_ATTR
#endif  // HWY_TARGET == HWY_AVX3_DL

// ---- An EMAC batch's pass over its rows, with the work fused into it (SimdMachine::FlushEmacs; accel/simd_rows.h) ----
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
    const uint32_t* start = tail.seed;
    macs = [&, start](uint32_t t0, uint32_t t1) {
      switch (mode) {
        case MacMode::kU8S8: return EmacBatchIntRows<MacMode::kU8S8>(sram, items, count, w, start, t0, t1, acc);
        case MacMode::kS8S8: return EmacBatchIntRows<MacMode::kS8S8>(sram, items, count, w, start, t0, t1, acc);
        case MacMode::kS16S16: return EmacBatchIntRows<MacMode::kS16S16>(sram, items, count, w, start, t0, t1, acc);
        default: return EmacBatchBf16Rows(sram, items, count, reinterpret_cast<const float*>(w), start, t0, t1, acc);
      }
    };
    seed = nullptr;  // the row loops start from the seed themselves
  }
  for (uint32_t t0 = r0; t0 < r1; t0 += kTailRows) {
    const uint32_t t1 = std::min(r1, t0 + kTailRows);
    if (seed != nullptr) {
      for (uint32_t r = t0; r < t1; ++r) std::memcpy(acc + size_t{r} * kLanes, seed, 4 * kLanes);
    }
    if (count > 0) macs(t0, t1);
    if (tail.quant) {
      RunRequantRows(*tail.quant, acc + size_t{t0} * kLanes, t1 - t0, tail.out, const_cast<uint8_t*>(sram),
                     tail.addr + tail.stride * int64_t{t0}, tail.stride);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace tile32
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tile32 {

HWY_EXPORT(EmacBatchRows);

void RunEmacBatch(MacMode mode, const uint8_t* sram, const EmacItem* items, int count, uint32_t r0, uint32_t r1,
                  uint32_t* acc, const EmacTail& tail) {
  HWY_DYNAMIC_DISPATCH(EmacBatchRows)(mode, sram, items, count, r0, r1, acc, tail);
}

}  // namespace tile32
#endif  // HWY_ONCE

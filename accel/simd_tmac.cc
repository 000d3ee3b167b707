// SimdMachine's TMAC: the weight-stationary vector-by-tile product over a stream of rows, per Highway
// target, plus the tile layouts it reads (built by the first TMAC that needs them). Lanes of a vector are
// output columns j; activations are broadcast. Integer modes are exact in any order (int32 wrap is
// associative); BF16 keeps one fused multiply-add per k, k ascending (docs/isa.md §4). The paths and
// why each is exact: docs/simd_machine.md.
#include "accel/simd_tmac.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "accel/simd_amx.h"
#include "accel/simd_rows.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "accel/simd_tmac.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "accel/simd_lanes-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tile32 {
namespace HWY_NAMESPACE {

// ---- TMAC ----
// A row's 32-bit activation lane, as an asm memory operand: any element type, any alignment.
typedef uint32_t __attribute__((may_alias, aligned(1))) Lane32;
// The 32-bit weight lanes of a tile: k-quads of int8 tiles, k-pairs of 16-bit (or prepared int8) tiles.
HWY_INLINE const int32_t* QuadLanes(const PreparedTile& t) { return reinterpret_cast<const int32_t*>(t.data); }
HWY_INLINE const int32_t* PairLanes(const PreparedTile& t, MacMode mode) {
  return reinterpret_cast<const int32_t*>(mode == MacMode::kS16S16 ? static_cast<const void*>(t.data) : t.pairs);
}
// Lane (p2, j) of a 16-bit image holds T[2 p2][j] in its low half, T[2 p2 + 1][j] in its high half.
HWY_INLINE VF Bf16Even(hn::Vec<DU> lane) { return hn::BitCast(DF(), hn::ShiftLeft<16>(lane)); }
HWY_INLINE VF Bf16Odd(hn::Vec<DU> lane) { return hn::BitCast(DF(), hn::And(lane, hn::Set(DU(), 0xFFFF0000u))); }

// Blocking. A block of kRowsWide rows is computed kGroupWide column vectors at a time, so that its
// accumulators, the broadcast activation and the weights of one k-step stay in registers:
//   AVX2: 3 rows x the whole row (4 vectors): 12 accumulators of 16 registers, each broadcast used by 4
//         multiplies (BF16 in a bare loop: 3 x 4 45 GMAC/s, 6 x 2 39, 4 x 2 36; 12 FMA chains also cover
//         its 4-cycle latency at 2 per cycle);
//   AVX-512: 8 rows x the whole row (2 vectors): 16 accumulators of 32 registers, 16 chains for the 4-6
//         cycle latency of vpdpbusd / vpdpwssd / vfmadd at 2 per cycle; the VNNI paths take 12 rows (24
//         accumulators, TmacVnniQuadRows) first;
//   SSE / SCALAR: 4 rows x 2 vectors (a quarter of the row).
// Remaining rows go one at a time. Tiles are taken kPassTiles at a time over chunks of kChunkRows rows,
// so that their weights (1 KiB quads, 2 KiB pairs or 4 KiB fp32 per tile) stay in L1 and the chunk's
// activations in L2. Integer passes add into ACC with wrap, which is associative; a BF16 pass carries the
// fp32 accumulator through ACC unrounded, so k stays ascending with one fused multiply-add per k.
constexpr size_t kGroup = kNV < 2 ? kNV : 2;
constexpr int kRows = kNV == 2 ? 8 : 4;
constexpr int kRowsWide = kNV == 4 ? 3 : kRows;
constexpr size_t kGroupWide = kNV == 4 ? 4 : kGroup;
constexpr size_t kGroupsWide = kNV / kGroupWide;
constexpr int kPassTiles = 4;
// Tiles per pass on the VNNI paths (TmacRows): 16 KiB of images, which stay in L1 beside a block's rows.
constexpr int kVnniPassInt8 = 16, kVnniPassInt16 = 8;
constexpr uint32_t kChunkRows = 128;
// Column vectors per group for a block of R rows (single rows: kGroup).
template <int R>
constexpr size_t kGroupOf = R == kRowsWide ? kGroupWide : kGroup;

// ACC rows r0 .. r0+R-1, columns of group g: += acc - sub (wrapping).
template <int R, size_t G>
HWY_INLINE void AddToAcc(const TmacJob& job, uint32_t r0, size_t g, const VI (&acc)[R][G], const VI (&sub)[G]) {
  const DI di;
  const DU du;
  for (int r = 0; r < R; ++r) {
    int32_t* out = reinterpret_cast<int32_t*>(job.acc + size_t{r0 + r} * kLanes) + g * G * kN;
    for (size_t v = 0; v < G; ++v) {
      const auto diff = hn::Sub(hn::BitCast(du, acc[r][v]), hn::BitCast(du, sub[v]));
      hn::StoreU(WrapAdd(hn::LoadU(di, out + v * kN), hn::BitCast(di, diff)), di, out + v * kN);
    }
  }
}

#if HWY_TARGET == HWY_AVX2
// GCC 12 compiles the intrinsic form of the integer k-step with accumulators spilled to the stack or copied
// every step (15 to 25 % slower on the AVX2 TMAC benchmarks), so on AVX2 the step is one asm statement.
constexpr bool kAsmStep = true;
enum class AsmStep { kPairs, kNarrow };

// The k-step of 3 rows x the whole row (4 vectors), weights as memory operands at w: 12 accumulators, the
// broadcast, ones and one temporary fill the 16 registers, and each broadcast serves 4 multiplies (4 rows
// x 2 vectors, measured 10-20 % slower, serve 2). Row r's 32-bit activation lane is at p + r * s, read
// through base and index registers (one address per row as an operand each cost GCC extra address
// arithmetic per step). The rows are not declared operands (GCC allows 30; the accumulators take 24):
// TmacIntRows is not inlined and writes no activation memory, so no store to them can move across the step.
typedef struct {
  uint8_t b[128];
} __attribute__((may_alias, aligned(1))) Bytes128;
#define TILE32_QN(C, OFF) \
  "vpmaddubsw " OFF "(%[w]), %%ymm13, %%ymm14\n\tvpmaddwd %[k], %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %[" C "], %[" C "]\n\t"
#define TILE32_QP(C, OFF) "vpmaddwd " OFF "(%[w]), %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %[" C "], %[" C "]\n\t"
#define TILE32_ROW4(Q, A, C0, C1, C2, C3) \
  "vpbroadcastd " A ", %%ymm13\n\t" Q(C0, "0") Q(C1, "32") Q(C2, "64") Q(C3, "96")
#define TILE32_STEP3(Q)                                                                                          \
  asm(TILE32_ROW4(Q, "(%[p])", "c00", "c01", "c02", "c03") TILE32_ROW4(Q, "(%[p],%[s])", "c10", "c11", "c12", \
                                                                       "c13")                                   \
          TILE32_ROW4(Q, "(%[p],%[s],2)", "c20", "c21", "c22", "c23")                                           \
      : [c00] "+x"(c[0][0].raw), [c01] "+x"(c[0][1].raw), [c02] "+x"(c[0][2].raw), [c03] "+x"(c[0][3].raw),     \
        [c10] "+x"(c[1][0].raw), [c11] "+x"(c[1][1].raw), [c12] "+x"(c[1][2].raw), [c13] "+x"(c[1][3].raw),     \
        [c20] "+x"(c[2][0].raw), [c21] "+x"(c[2][1].raw), [c22] "+x"(c[2][2].raw), [c23] "+x"(c[2][3].raw)      \
      : [p] "r"(p), [s] "r"(s), [w] "r"(w), [wb] "m"(*reinterpret_cast<const Bytes128*>(w)), [k] "x"(k.raw)     \
      : "xmm13", "xmm14")
template <AsmStep S>
HWY_INLINE void Step3x4(const uint8_t* p, int64_t s, const int32_t* w, VI k, VI (&c)[3][4]) {
  if constexpr (S == AsmStep::kPairs) {
    TILE32_STEP3(TILE32_QP);
  } else {
    TILE32_STEP3(TILE32_QN);
  }
}
#undef TILE32_STEP3
#undef TILE32_ROW4
#undef TILE32_QP
#undef TILE32_QN
#else
constexpr bool kAsmStep = false;
enum class AsmStep { kPairs, kNarrow };
template <AsmStep S>
void Step3x4(const uint8_t*, int64_t, const int32_t*, VI, VI (&)[3][4]);  // declared only: no asm step here
#endif

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
constexpr bool kHasNarrowDot = true;
// Sum of the four u8 x s8 byte products in each 32-bit lane (pmaddubsw, then pmaddwd by ones). pmaddubsw
// saturates a pair sum to int16, so this is exact only for tiles whose weights are all in [-64, 63]:
// then |255 * 64 * 2| = 32640 fits. PrepareTmacTiles marks such tiles `narrow` (7-bit, "reduce_range"
// weights).
HWY_INLINE VI QuadDotNarrow(VI a, VI w, VI ones16) {
#if HWY_TARGET == HWY_AVX3
  return VI{_mm512_madd_epi16(_mm512_maddubs_epi16(a.raw, w.raw), ones16.raw)};
#elif HWY_TARGET == HWY_AVX2
  return VI{_mm256_madd_epi16(_mm256_maddubs_epi16(a.raw, w.raw), ones16.raw)};
#else
  return VI{_mm_madd_epi16(_mm_maddubs_epi16(a.raw, w.raw), ones16.raw)};
#endif
}

#else
constexpr bool kHasNarrowDot = false;
VI QuadDotNarrow(VI a, VI w, VI ones16);  // declared only: no narrow path on this target
#endif

// Integer TMAC (all but AVX3_DL): row r's activations at base + r * stride, as 32-bit lanes of
// - kPairs: int16 k-pairs (16 per tile row) against the pair layout, pmaddwd;
// - kNarrow: u8 k-quads (8 per tile row) against the quad layout of narrow tiles, pmaddubsw + pmaddwd;
//   s8 rows come flipped to u8 (plus 128) and kComp subtracts job.comp (the pass's 128 * column sums).
template <int R, size_t G, AsmStep D, bool kComp>
HWY_NOINLINE void TmacIntRows(const TmacJob& job, uint32_t r0, const uint8_t* base, int64_t stride) {
  const DI di;
  const VI ones16 = hn::Set(di, 0x00010001);
  constexpr int kSteps = D == AsmStep::kPairs ? 16 : 8;  // 32-bit lanes per tile row
  for (size_t g = 0; g < kNV / G; ++g) {
    VI acc[R][G];
    for (int r = 0; r < R; ++r)
      for (size_t v = 0; v < G; ++v) acc[r][v] = hn::Zero(di);
    for (int t = 0; t < job.ntiles; ++t) {
      const int32_t* lanes = D == AsmStep::kPairs ? PairLanes(job.tiles[t], job.mode) : QuadLanes(job.tiles[t]);
      for (int i = 0; i < kSteps; ++i) {
        const int32_t* w = lanes + i * kLanes + g * G * kN;
        const uint8_t* p = base + 4 * (kSteps * t + i);
        if constexpr (kAsmStep && R == 3 && G == 4) {
          Step3x4<D>(p, stride, w, ones16, acc);
          continue;
        }
        for (int r = 0; r < R; ++r) {
          int32_t lane;
          std::memcpy(&lane, p + stride * r, 4);
          const VI a = hn::Set(di, lane);
          for (size_t v = 0; v < G; ++v) {
            const VI wv = hn::LoadU(di, w + v * kN);
            if constexpr (D == AsmStep::kPairs) {
              acc[r][v] = WrapAdd(acc[r][v], PairDot(a, wv));
            } else {
              acc[r][v] = WrapAdd(acc[r][v], QuadDotNarrow(a, wv, ones16));
            }
          }
        }
      }
    }
    VI comp[G];
    for (size_t v = 0; v < G; ++v) comp[v] = kComp ? hn::Load(di, job.comp + (g * G + v) * kN) : hn::Zero(di);
    AddToAcc<R, G>(job, r0, g, acc, comp);
  }
}

// TMACs of fewer rows than this read int8 tiles as they are: a layout would cost more than the MACs.
constexpr uint32_t kDirectRows = 4;
// s8 x s8 TMACs that leave fewer rows than this to the vector unit take VnniStep::kS8W on AVX3_DL.
constexpr uint32_t kS8RowSumsRows = 8;

#if HWY_TARGET != HWY_SCALAR  // needs int16 lanes twice as many as int32 lanes
constexpr bool kHasDirect = true;
// Four activation bytes as four int16 (zero- or sign-extended), in one 64-bit word.
HWY_INLINE uint64_t Quad16(const uint8_t* a, bool u8) {
  uint32_t quad;
  std::memcpy(&quad, a, 4);
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL  // these imply BMI2
  const uint64_t x = _pdep_u64(quad, 0x00FF00FF00FF00FFull);
  // Sign extension: lanes whose bit 7 is set get 0xFF in their high byte (no carry crosses a lane).
  return u8 ? x : x | (((x & 0x0080008000800080ull) >> 7) * 0xFF00u);
#else
  uint64_t x = 0;
  for (int i = 0; i < 4; ++i) {
    const uint8_t b = static_cast<uint8_t>(quad >> (8 * i));
    const int16_t v = u8 ? int16_t{b} : int16_t{static_cast<int8_t>(b)};
    x |= uint64_t{static_cast<uint16_t>(v)} << (16 * i);
  }
  return x;
#endif
}

#if HWY_TARGET == HWY_AVX2
typedef struct {
  uint8_t b[16];
} __attribute__((may_alias, aligned(1))) Bytes16;
// One k-quad of the direct path on AVX2 as one asm statement (GCC spilled one of the 8 partial sums and
// copied the others every step): 16 weight bytes sign-extended to int16, pmaddwd with the quad, added.
#define TILE32_PART(M) \
  "vpmovsxbw %[w" #M "], %%ymm14\n\tvpmaddwd %%ymm14, %[a], %%ymm14\n\tvpaddd %%ymm14, %[p" #M "], %[p" #M "]\n\t"
template <size_t kParts>
HWY_INLINE void DirectStep8(const int8_t* w, VI a, VI (&part)[kParts]) {
  static_assert(kParts == 8, "AVX2: 8 partial-sum vectors per row");
  const Bytes16* v = reinterpret_cast<const Bytes16*>(w);
  asm(TILE32_PART(0) TILE32_PART(1) TILE32_PART(2) TILE32_PART(3) TILE32_PART(4) TILE32_PART(5) TILE32_PART(6)
          TILE32_PART(7)
      : [p0] "+x"(part[0].raw), [p1] "+x"(part[1].raw), [p2] "+x"(part[2].raw), [p3] "+x"(part[3].raw),
        [p4] "+x"(part[4].raw), [p5] "+x"(part[5].raw), [p6] "+x"(part[6].raw), [p7] "+x"(part[7].raw)
      : [a] "x"(a.raw), [w0] "m"(v[0]), [w1] "m"(v[1]), [w2] "m"(v[2]), [w3] "m"(v[3]), [w4] "m"(v[4]),
        [w5] "m"(v[5]), [w6] "m"(v[6]), [w7] "m"(v[7])
      : "xmm14");
}
#undef TILE32_PART
#else
template <size_t kParts>
void DirectStep8(const int8_t*, VI, VI (&)[kParts]);  // declared only: no asm step here
#endif

// Integer 8-bit modes, one row at a time, from the int8 tile image (k-quads, any weights): 2*kN weight
// bytes (kN/2 columns x 4 k) widen to int16, and pmaddwd against the row's k-quad repeated as four int16
// gives two partial sums per column (k 0-1 and k 2-3); adjacent lanes are added at the end.
template <int R>
HWY_NOINLINE void TmacDirectRows(const TmacJob& job, uint32_t r0) {
  const DI di;
  const hn::Repartition<int16_t, DI> d16;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  const hn::Repartition<int64_t, DI> d64;
  constexpr size_t kParts = 2 * kNV;  // partial-sum vectors per row
  constexpr size_t kPartBytes = 2 * kN;
  const bool u8 = job.mode == MacMode::kU8S8;
  for (int r = 0; r < R; ++r) {
    const uint8_t* row = job.sram + job.a_addr + job.a_stride * int64_t{r0 + r};
    VI part[kParts];
    for (size_t m = 0; m < kParts; ++m) part[m] = hn::Zero(di);
    for (int t = 0; t < job.ntiles; ++t) {
      const int8_t* image = reinterpret_cast<const int8_t*>(job.tiles[t].data);
      for (int q = 0; q < kLanes / 4; ++q) {
        const VI a = hn::BitCast(di, hn::Set(d64, static_cast<int64_t>(Quad16(row + kLanes * t + 4 * q, u8))));
        const int8_t* w = image + q * 4 * kLanes;
        if constexpr (kAsmStep && kParts == 8) {
          DirectStep8(w, a, part);
          continue;
        }
        for (size_t m = 0; m < kParts; ++m) {
          const auto w16 = hn::PromoteTo(d16, hn::LoadU(d8, w + m * kPartBytes));
          part[m] = WrapAdd(part[m], PairDot(a, hn::BitCast(di, w16)));
        }
      }
    }
    int32_t* out = reinterpret_cast<int32_t*>(job.acc + size_t{r0 + r} * kLanes);
    for (size_t v = 0; v < kNV; ++v) {
      const VI sum = WrapAdd(hn::ConcatEven(di, part[2 * v + 1], part[2 * v]),
                             hn::ConcatOdd(di, part[2 * v + 1], part[2 * v]));
      hn::StoreU(WrapAdd(hn::LoadU(di, out + v * kN), sum), di, out + v * kN);
    }
  }
}
#else
constexpr bool kHasDirect = false;
template <int R>
void TmacDirectRows(const TmacJob&, uint32_t);  // declared only: PrepareTmacTiles never picks it here
#endif

#if HWY_TARGET == HWY_AVX3_DL
// vpdpbusd and vpdpwssd are missing from Highway 1.0.3 and need avx512vnni, which Highway's AVX3_DL
// string lacks. Both add into 32-bit lanes with wrap, exactly the ISA's integer TMAC; vpdpwssd's products
// are 32-bit ((-32768)^2 = 2^30 fits), so the pmaddwd 2^31 case wraps in the accumulator add, as it must.
#define TILE32_VNNI __attribute__((target(HWY_TARGET_STR ",avx512vnni")))

// kS8W: s8 x s8 in few rows (TmacJob::s8_row_sums): the weights flipped to u8 (+128, xor 0x80) as vpdpbusd's
// unsigned operand and the activations as they are, so that the +128 adds 128 * (the row's activation sum),
// one number per row, where flipping the activations adds a column sum per tile (comp128, built per tile).
enum class VnniStep { kU8, kS8, kS16, kS8W };

// 128 * the sum of bytes [0, n) of `row` as s8, with wrap.
TILE32_VNNI HWY_INLINE int32_t RowSum128(const uint8_t* row, int n) {
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i sum = _mm512_setzero_si512();
  int i = 0;
  for (; i + 64 <= n; i += 64) sum = _mm512_dpbusd_epi32(sum, ones, _mm512_loadu_si512(row + i));
  if (i < n) sum = _mm512_dpbusd_epi32(sum, ones, _mm512_maskz_loadu_epi8(~uint64_t{0} >> (64 - (n - i)), row + i));
  alignas(64) uint32_t lanes[16];  // (GCC 12 warns on _mm512_reduce_add_epi32's undefined upper half)
  _mm512_store_si512(lanes, sum);
  uint32_t total = 0;
  for (uint32_t v : lanes) total += v;
  return static_cast<int32_t>(total << 7);
}

// ACC rows r0 .. r0+R-1 += acc[0 .. R-1], less the +128 compensation of s8 activations (job.comp).
template <int R, VnniStep S>
TILE32_VNNI HWY_INLINE void VnniAddToAcc(const TmacJob& job, uint32_t r0, const __m512i (*acc)[2]) {
  __m512i comp0 = _mm512_setzero_si512(), comp1 = _mm512_setzero_si512();
  if constexpr (S == VnniStep::kS8) {
    comp0 = _mm512_load_si512(job.comp);
    comp1 = _mm512_load_si512(job.comp + 16);
  }
  for (int r = 0; r < R; ++r) {
    uint32_t* out = job.acc + size_t{r0 + r} * kLanes;
    const __m512i o0 = _mm512_loadu_si512(out), o1 = _mm512_loadu_si512(out + 16);
    _mm512_storeu_si512(out, _mm512_add_epi32(o0, _mm512_sub_epi32(acc[r][0], comp0)));
    _mm512_storeu_si512(out + 16, _mm512_add_epi32(o1, _mm512_sub_epi32(acc[r][1], comp1)));
  }
}

// One k-step of 4 rows x 2 vectors as one asm statement, two per 8-row block (one for 8 rows would exceed
// GCC's 30 asm operands; GCC 12 copies every accumulator of the intrinsic form twice per step around the
// destructive vpdpbusd). Row r's 32-bit activation lane is at
// p + r * s; LOAD broadcasts it into zmm31 (xor 0x80 per byte for s8 activations), OP adds into the row's
// two accumulators: AT&T `op w, a, acc` is Intel `op acc, a, w`.
#define TILE32_ZBCAST(A) "vpbroadcastd %[" A "], %%zmm31\n\t"
#define TILE32_ZFLIP(A) "vpxord %[" A "]%{1to16%}, %[f], %%zmm31\n\t"
#define TILE32_ZROW(A, C0, C1, LOAD, OP) LOAD(A) OP " %[w0], %%zmm31, %[" C0 "]\n\t" OP " %[w1], %%zmm31, %[" C1 "]\n\t"
#define TILE32_ZSTEP(LOAD, OP)                                                                                      \
  asm(TILE32_ZROW("a0", "c00", "c01", LOAD, OP) TILE32_ZROW("a1", "c10", "c11", LOAD, OP)                          \
          TILE32_ZROW("a2", "c20", "c21", LOAD, OP) TILE32_ZROW("a3", "c30", "c31", LOAD, OP)                      \
      : [c00] "+v"(c00), [c01] "+v"(c01), [c10] "+v"(c10), [c11] "+v"(c11), [c20] "+v"(c20), [c21] "+v"(c21),   \
        [c30] "+v"(c30), [c31] "+v"(c31)                                                                         \
      : [a0] "m"(*reinterpret_cast<const Lane32*>(p)), [a1] "m"(*reinterpret_cast<const Lane32*>(p + s)),         \
        [a2] "m"(*reinterpret_cast<const Lane32*>(p + 2 * s)), [a3] "m"(*reinterpret_cast<const Lane32*>(p + 3 * s)), \
        [w0] "v"(w0), [w1] "v"(w1), [f] "v"(f)                                                                   \
      : "xmm31")

template <VnniStep S, typename Acc>
TILE32_VNNI HWY_INLINE void VnniStep4x2(const uint8_t* p, int64_t s, __m512i w0, __m512i w1, __m512i f, Acc& c00,
                                        Acc& c01, Acc& c10, Acc& c11, Acc& c20, Acc& c21, Acc& c30, Acc& c31) {
  if constexpr (S == VnniStep::kU8) {
    TILE32_ZSTEP(TILE32_ZBCAST, "vpdpbusd");
  } else if constexpr (S == VnniStep::kS8) {
    TILE32_ZSTEP(TILE32_ZFLIP, "vpdpbusd");
  } else {
    TILE32_ZSTEP(TILE32_ZBCAST, "vpdpwssd");
  }
}
#undef TILE32_ZSTEP
#undef TILE32_ZROW
#undef TILE32_ZFLIP
#undef TILE32_ZBCAST

// Blocks of 8 or 12 rows (kQuads = 2 or 3 quads of rows) with their accumulators as named variables: GCC
// keeps an array of them in memory. 12 rows (24 accumulators, 28 of the 32 registers with the weights, the
// flip and the broadcast) ran the k-step loop at ~90 % of the vpdpbusd peak on Ice Lake where 8 rows ran at
// ~68 %: with a broadcast load feeding every two of them, 16 chains did not keep both ports busy.
template <VnniStep S, int kQuads>
TILE32_VNNI void TmacVnniQuadRows(const TmacJob& job, uint32_t r0) {
  const __m512i z = _mm512_setzero_si512();
  __m512i c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
  __m512i c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
  __m512i c80 = z, c81 = z, c90 = z, c91 = z, ca0 = z, ca1 = z, cb0 = z, cb1 = z;
  const int64_t s = job.a_stride;
  const uint8_t* base = job.sram + job.a_addr + s * int64_t{r0};
  const __m512i flip = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
  constexpr int kSteps = S == VnniStep::kS16 ? 16 : 8;  // 32-bit lanes per tile row
  for (int t = 0; t < job.ntiles; ++t) {
    const int32_t* tile = S == VnniStep::kS16 ? PairLanes(job.tiles[t], MacMode::kS16S16) : QuadLanes(job.tiles[t]);
    for (int i = 0; i < kSteps; ++i) {
      const __m512i w0 = _mm512_loadu_si512(tile + i * kLanes), w1 = _mm512_loadu_si512(tile + i * kLanes + 16);
      const uint8_t* p = base + 4 * (kSteps * t + i);
      VnniStep4x2<S>(p, s, w0, w1, flip, c00, c01, c10, c11, c20, c21, c30, c31);
      VnniStep4x2<S>(p + 4 * s, s, w0, w1, flip, c40, c41, c50, c51, c60, c61, c70, c71);
      if constexpr (kQuads == 3) VnniStep4x2<S>(p + 8 * s, s, w0, w1, flip, c80, c81, c90, c91, ca0, ca1, cb0, cb1);
    }
  }
  const __m512i acc[12][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51},
                              {c60, c61}, {c70, c71}, {c80, c81}, {c90, c91}, {ca0, ca1}, {cb0, cb1}};
  VnniAddToAcc<4 * kQuads, S>(job, r0, acc);
}

// Integer TMAC: int8 k-quads (u8 x s8; s8 activations become u8 by adding 128, xor 0x80, and comp128
// removes 128 * column sum afterwards) or int16 k-pairs, against the tile image (16-bit tile order is the
// pair layout, int8 tile order the quad layout). The activation lanes are read in place from SRAM.
//
// Fewer than 4 rows (a GEMV's one) add the k-steps into kSets sets of accumulators in turn, summed at the end
// (wrapping addition: any grouping gives the same bits): one set made a row a chain of 8 dependent vpdpbusd
// per tile (6 cycles each), and a GEMV waited on it.
template <int R, VnniStep S>
TILE32_VNNI void TmacVnniRows(const TmacJob& job, uint32_t r0) {
  if constexpr (R == 8 || R == 12) return TmacVnniQuadRows<S, R / 4>(job, r0);
  constexpr int kSets = R == 1 ? 4 : R == 2 ? 2 : 1;
  __m512i acc[kSets][R][2];
#pragma GCC unroll 8
  for (int q = 0; q < kSets; ++q)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[q][r][0] = acc[q][r][1] = _mm512_setzero_si512();
  const uint8_t* base = job.sram + job.a_addr + job.a_stride * int64_t{r0};
  const __m512i flip = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
  constexpr int kSteps = S == VnniStep::kS16 ? 16 : 8;  // 32-bit lanes per tile row (a multiple of kSets)
  for (int t = 0; t < job.ntiles; ++t) {
    const int32_t* tile = S == VnniStep::kS16 ? PairLanes(job.tiles[t], MacMode::kS16S16) : QuadLanes(job.tiles[t]);
    for (int i0 = 0; i0 < kSteps; i0 += kSets) {
#pragma GCC unroll 4
      for (int q = 0; q < kSets; ++q) {
        const int i = i0 + q;
        __m512i w0 = _mm512_loadu_si512(tile + i * kLanes), w1 = _mm512_loadu_si512(tile + i * kLanes + 16);
        if constexpr (S == VnniStep::kS8W) w0 = _mm512_xor_si512(w0, flip), w1 = _mm512_xor_si512(w1, flip);
        // In registers: GCC folded each load into every row's vpdpbusd, loading the weights R times.
        if constexpr (R > 1) asm("" : "+v"(w0), "+v"(w1));
        const uint8_t* p = base + 4 * (kSteps * t + i);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          int32_t lane;
          std::memcpy(&lane, p + job.a_stride * r, 4);
          __m512i a = _mm512_set1_epi32(lane);
          if constexpr (S == VnniStep::kS16) {
            acc[q][r][0] = _mm512_dpwssd_epi32(acc[q][r][0], a, w0);
            acc[q][r][1] = _mm512_dpwssd_epi32(acc[q][r][1], a, w1);
          } else if constexpr (S == VnniStep::kS8W) {
            acc[q][r][0] = _mm512_dpbusd_epi32(acc[q][r][0], w0, a);
            acc[q][r][1] = _mm512_dpbusd_epi32(acc[q][r][1], w1, a);
          } else {
            if constexpr (S == VnniStep::kS8) a = _mm512_xor_si512(a, flip);
            acc[q][r][0] = _mm512_dpbusd_epi32(acc[q][r][0], a, w0);
            acc[q][r][1] = _mm512_dpbusd_epi32(acc[q][r][1], a, w1);
          }
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int q = 1; q < kSets; ++q)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      acc[0][r][0] = _mm512_add_epi32(acc[0][r][0], acc[q][r][0]);
      acc[0][r][1] = _mm512_add_epi32(acc[0][r][1], acc[q][r][1]);
    }
  if constexpr (S == VnniStep::kS8W) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512i sum = _mm512_set1_epi32(RowSum128(base + job.a_stride * r, kLanes * job.ntiles));
      acc[0][r][0] = _mm512_sub_epi32(acc[0][r][0], sum);
      acc[0][r][1] = _mm512_sub_epi32(acc[0][r][1], sum);
    }
  }
  VnniAddToAcc<R, S>(job, r0, acc[0]);
}
#undef TILE32_VNNI
#endif

// BF16: k ascending, one fused multiply-add per k and lane; a[r] is row r0 + r widened to fp32. Weights
// from the fp32 layout (kTable) or widened from the image k-pair by k-pair.
template <int R, bool kTable>
HWY_NOINLINE void TmacBf16Rows(const TmacJob& job, uint32_t r0, const float* const* a) {
  const DF df;
  const DU du;
  for (size_t g = 0; g < kGroupsWide; ++g) {
    VF acc[R][kGroupWide];
    for (int r = 0; r < R; ++r)
      for (size_t v = 0; v < kGroupWide; ++v)
        acc[r][v] = hn::LoadU(df, reinterpret_cast<const float*>(job.acc + size_t{r0 + r} * kLanes) + (g * kGroupWide + v) * kN);
    for (int t = 0; t < job.ntiles; ++t) {
      if constexpr (kTable) {
        for (int kk = 0; kk < kLanes; ++kk) {
          const float* w = job.tiles[t].f32[kk] + g * kGroupWide * kN;
          for (int r = 0; r < R; ++r) {
            const VF b = hn::Set(df, a[r][kLanes * t + kk]);
            for (size_t v = 0; v < kGroupWide; ++v) acc[r][v] = FusedMulAdd(b, hn::Load(df, w + v * kN), acc[r][v]);
          }
        }
      } else {
        const uint32_t* lanes = reinterpret_cast<const uint32_t*>(job.tiles[t].data) + g * kGroupWide * kN;
        for (int kk = 0; kk < kLanes; kk += 2) {
          VF w_even[kGroupWide], w_odd[kGroupWide];
          for (size_t v = 0; v < kGroupWide; ++v) {
            const auto lane = hn::LoadU(du, lanes + (kk / 2) * kLanes + v * kN);
            w_even[v] = Bf16Even(lane), w_odd[v] = Bf16Odd(lane);
          }
          for (int r = 0; r < R; ++r) {
            const VF b0 = hn::Set(df, a[r][kLanes * t + kk]), b1 = hn::Set(df, a[r][kLanes * t + kk + 1]);
            for (size_t v = 0; v < kGroupWide; ++v) acc[r][v] = FusedMulAdd(b0, w_even[v], acc[r][v]);
            for (size_t v = 0; v < kGroupWide; ++v) acc[r][v] = FusedMulAdd(b1, w_odd[v], acc[r][v]);
          }
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      float* out = reinterpret_cast<float*>(job.acc + size_t{r0 + r} * kLanes) + g * kGroupWide * kN;
      for (size_t v = 0; v < kGroupWide; ++v) hn::StoreU(CanonicalNan(acc[r][v]), df, out + v * kN);
    }
  }
}

// dst = src xor 0x80 per byte: s8 as u8 plus 128. count is a multiple of 32.
HWY_INLINE void FlipSignBits(const uint8_t* src, int count, uint8_t* dst) {
  const hn::CappedTag<uint8_t, 32> d8;
  const auto flip = hn::Set(d8, 0x80);
  for (int i = 0; i < count; i += static_cast<int>(hn::Lanes(d8))) hn::StoreU(hn::Xor(hn::LoadU(d8, src + i), flip), d8, dst + i);
}

// out = the sum of the tiles' comp128 (wrapping).
HWY_INLINE void SumComp128(const PreparedTile* tiles, int ntiles, int32_t* out) {
  const DI di;
  for (size_t v = 0; v < kNV; ++v) {
    VI sum = hn::Zero(di);
    for (int t = 0; t < ntiles; ++t) sum = WrapAdd(sum, hn::Load(di, tiles[t].comp128 + v * kN));
    hn::Store(sum, di, out + v * kN);
  }
}

#if HWY_TARGET == HWY_AVX3_DL
template <int R>
HWY_INLINE void TmacVnniBlock(const TmacJob& job, uint32_t r0) {
  if (job.mode == MacMode::kS16S16) {
    TmacVnniRows<R, VnniStep::kS16>(job, r0);
  } else if (job.mode == MacMode::kS8S8 && job.s8_row_sums) {
    if constexpr (R <= 4) {
      TmacVnniRows<R, VnniStep::kS8W>(job, r0);
    } else {  // blocks of 4: PrepareTmacTiles picks row sums for fewer than kS8RowSumsRows rows, but a chain
              // that the AMX path then declines runs all its rows through TmacRows
      for (int q = 0; q < R; q += 4) TmacVnniRows<4, VnniStep::kS8W>(job, r0 + static_cast<uint32_t>(q));
    }
  } else if (job.mode == MacMode::kS8S8) {
    TmacVnniRows<R, VnniStep::kS8>(job, r0);
  } else {
    TmacVnniRows<R, VnniStep::kU8>(job, r0);
  }
}
#endif

template <int R>
HWY_INLINE void TmacBlock(const TmacJob& job, uint32_t r0, int16_t* i16_buf, float* f32_buf) {
  const int depth = kLanes * job.ntiles;
  if (job.mode == MacMode::kBF16) {
    const float* rows[R];
    for (int r = 0; r < R; ++r) {
      float* dst = f32_buf + static_cast<size_t>(r) * depth;
      WidenBf16(job.sram + job.a_addr + job.a_stride * int64_t{r0 + r}, depth, dst);
      rows[r] = dst;
    }
    // The next block's rows, which the widening reads next as cold streams (a GEMM's column blocks each
    // read all of A again, from L3 when it exceeds L2): 1.01-1.07x on BF16 GEMMs, measured in one process.
    if (r0 + 2 * R <= job.row_end) {
      for (int r = R; r < 2 * R; ++r) {
        const uint8_t* next = job.sram + job.a_addr + job.a_stride * int64_t{r0 + r};
        for (int b = 0; b < 2 * depth; b += 64) __builtin_prefetch(next + b);
      }
    }
    if (job.f32) {
      TmacBf16Rows<R, true>(job, r0, rows);
    } else {
      TmacBf16Rows<R, false>(job, r0, rows);
    }
    return;
  }
  if constexpr (kHasDirect) {
    if (job.direct) return TmacDirectRows<R>(job, r0);
  }
#if HWY_TARGET == HWY_AVX3_DL
  return TmacVnniBlock<R>(job, r0);
#endif
  const uint8_t* base = job.sram + job.a_addr + job.a_stride * int64_t{r0};
  uint8_t* buf = reinterpret_cast<uint8_t*>(i16_buf);  // R rows of up to 2 * depth bytes
  if (job.mode == MacMode::kS16S16) {  // read in place
    TmacIntRows<R, kGroupOf<R>, AsmStep::kPairs, false>(job, r0, base, job.a_stride);
  } else if (!job.narrow) {  // int8 widened to int16 pairs
    for (int r = 0; r < R; ++r) WidenToI16(job.mode, base + job.a_stride * r, depth, i16_buf + size_t(depth) * r);
    TmacIntRows<R, kGroupOf<R>, AsmStep::kPairs, false>(job, r0, buf, 2 * depth);
  } else if constexpr (kHasNarrowDot) {  // (PrepareTmacTiles sets narrow only where the path exists)
    if (job.mode == MacMode::kS8S8) {  // s8 -> u8 once per row and pass, not once per k-step
      for (int r = 0; r < R; ++r) FlipSignBits(base + job.a_stride * r, depth, buf + size_t(depth) * r);
      TmacIntRows<R, kGroupOf<R>, AsmStep::kNarrow, true>(job, r0, buf, depth);
    } else {
      TmacIntRows<R, kGroupOf<R>, AsmStep::kNarrow, false>(job, r0, base, job.a_stride);
    }
  }
}

void TmacRows(const TmacJob& job) {
  // Per-thread scratch for widened rows: no allocation per instruction once warm.
  thread_local std::vector<int16_t> i16_buf(size_t{kLanes} * kPassTiles * kRows);
  thread_local std::vector<float> f32_buf(size_t{kLanes} * kPassTiles * kRowsWide);
  const int64_t elem = job.mode == MacMode::kS16S16 || job.mode == MacMode::kBF16 ? 2 : 1;
  alignas(64) int32_t comp[kLanes];
  const bool uses_comp =
      job.mode == MacMode::kS8S8 && !job.direct && !job.s8_row_sums && (HWY_TARGET == HWY_AVX3_DL || job.narrow);
  // The VNNI paths read the tile images in place: 16 KiB of them per pass, which stay in L1 beside a 12-row
  // block's activations (each pass adds into ACC once more; 16 int8 tiles ran 1.1-1.2x faster than 4).
  const bool vnni = HWY_TARGET == HWY_AVX3_DL && job.mode != MacMode::kBF16 && !job.direct;
  const int pass_tiles = !vnni ? kPassTiles : job.mode == MacMode::kS16S16 ? kVnniPassInt16 : kVnniPassInt8;
  // Rows in chunks whose activations stay in L2 across the passes.
  for (uint32_t c0 = job.row_begin; c0 < job.row_end; c0 += kChunkRows) {
    const uint32_t c1 = std::min(job.row_end, c0 + kChunkRows);
    if (job.seed != nullptr) {
      for (uint32_t r = c0; r < c1; ++r) std::memcpy(job.acc + size_t{r} * kLanes, job.seed, 4 * kLanes);
    }
    for (int t0 = 0; t0 < job.ntiles; t0 += pass_tiles) {
      TmacJob pass = job;
      pass.tiles = job.tiles + t0;
      pass.ntiles = std::min(pass_tiles, job.ntiles - t0);
      pass.a_addr = job.a_addr + int64_t{kLanes} * elem * t0;
      if (uses_comp) {
        SumComp128(pass.tiles, pass.ntiles, comp);
        pass.comp = comp;
      }
      uint32_t r = c0;
#if HWY_TARGET == HWY_AVX3_DL
      if (vnni) {
        for (; r + 12 <= c1; r += 12) TmacVnniBlock<12>(pass, r);
      }
#endif
      for (; r + kRowsWide <= c1; r += kRowsWide) TmacBlock<kRowsWide>(pass, r, i16_buf.data(), f32_buf.data());
#if HWY_TARGET == HWY_AVX3_DL
      // The rows after the last block of 8 in blocks of 4, 3 or 2 on the VNNI paths: one at a time, 4 rows
      // took as long as 8.
      if (pass.mode != MacMode::kBF16 && !pass.direct) {
        if (r + 4 <= c1) TmacVnniBlock<4>(pass, r), r += 4;
        if (r + 3 == c1) TmacVnniBlock<3>(pass, r), r += 3;
        if (r + 2 == c1) TmacVnniBlock<2>(pass, r), r += 2;
      }
#endif
      for (; r < c1; ++r) TmacBlock<1>(pass, r, i16_buf.data(), f32_buf.data());
    }
    RunTmacTail(job.tail, job.acc, c0, c1);  // the rows are final: requantize or store them while they are in L1
  }
}

// ---- TLD: the layouts of PreparedTile, built from the tile image with 32-bit lane operations ----
// int8 lane (q, j) holds T[4q .. 4q+3][j], one byte each; its bytes sign-extended are b0 .. b3.
#define TILE32_INT8_QUAD_BYTES(x)                                                                            \
  const VI b0 = hn::ShiftRight<24>(hn::ShiftLeft<24>(x)), b1 = hn::ShiftRight<24>(hn::ShiftLeft<16>(x)); \
  const VI b2 = hn::ShiftRight<24>(hn::ShiftLeft<8>(x)), b3 = hn::ShiftRight<24>(x)

HWY_INLINE VI QuadVector(const PreparedTile& p, int q, size_t v) {
  return hn::LoadU(DI(), QuadLanes(p) + q * kLanes + v * kN);
}

// bf16 tiles take the fp32 layout for a TMAC of this many rows or more; fewer rows widen the weights on
// the fly (two lane operations per weight vector and row, instead of building 4 KiB).
constexpr uint32_t kF32TableRows = 4;

// Whether every weight is in [-64, 63]: (b + 64) mod 256 < 128 for every byte.
HWY_INLINE bool IsNarrow(const PreparedTile& p) {
  const hn::ScalableTag<uint8_t> d8;
  const size_t n = hn::Lanes(d8);
  auto any = hn::Zero(d8);
  for (size_t i = 0; i < size_t{kLanes} * kLanes; i += n) any = hn::Or(any, hn::Add(hn::LoadU(d8, p.data + i), hn::Set(d8, 64)));
  return hn::AllTrue(d8, hn::Eq(hn::And(any, hn::Set(d8, 0x80)), hn::Zero(d8)));
}

void BuildComp128(PreparedTile* p) {
  const DI di;
  for (size_t v = 0; v < kNV; ++v) {
    VI colsum = hn::Zero(di);
    for (int q = 0; q < kLanes / 4; ++q) {
      TILE32_INT8_QUAD_BYTES(QuadVector(*p, q, v));
      colsum = hn::Add(colsum, hn::Add(hn::Add(b0, b1), hn::Add(b2, b3)));
    }
    hn::Store(hn::ShiftLeft<7>(colsum), di, p->comp128 + v * kN);
  }
}

void BuildPairs(PreparedTile* p) {
  const DI di;
  const VI lo16 = hn::Set(di, 0xFFFF);
  for (int q = 0; q < kLanes / 4; ++q) {
    for (size_t v = 0; v < kNV; ++v) {
      TILE32_INT8_QUAD_BYTES(QuadVector(*p, q, v));
      hn::Store(hn::Or(hn::And(b0, lo16), hn::ShiftLeft<16>(b1)), di, reinterpret_cast<int32_t*>(p->pairs[2 * q]) + v * kN);
      hn::Store(hn::Or(hn::And(b2, lo16), hn::ShiftLeft<16>(b3)), di,
                reinterpret_cast<int32_t*>(p->pairs[2 * q + 1]) + v * kN);
    }
  }
}

void BuildF32(PreparedTile* p) {
  const DU du;
  const DF df;
  const uint32_t* lanes = reinterpret_cast<const uint32_t*>(p->data);
  for (int p2 = 0; p2 < kLanes / 2; ++p2) {
    for (size_t v = 0; v < kNV; ++v) {
      const auto lane = hn::LoadU(du, lanes + p2 * kLanes + v * kN);
      hn::Store(Bf16Even(lane), df, p->f32[2 * p2] + v * kN);
      hn::Store(Bf16Odd(lane), df, p->f32[2 * p2 + 1] + v * kN);
    }
  }
}

void PrepareTmacTiles(PreparedTile* tiles, TmacJob* job) {
  const int n = job->ntiles;
  job->narrow = false;
  job->f32 = false;
  job->direct = false;
  job->s8_row_sums = false;
  auto ensure = [](PreparedTile& t, uint8_t what, auto build) {
    if ((t.built & what) == 0) build(&t), t.built |= what;
  };
  if (job->mode == MacMode::kBF16) {
    if (job->row_end - job->row_begin < kF32TableRows) return;
    for (int t = 0; t < n; ++t) ensure(tiles[t], PreparedTile::kF32, BuildF32);
    job->f32 = true;
    return;
  }
  if (job->mode == MacMode::kS16S16) return;
  // VNNI reads u8 x s8 from the tile image itself (the quad layout): nothing to build, so few rows go there
  // too; the direct path's widening ran a 1-row TMAC of 16 tiles 1.4x slower. s8 x s8 in few rows flips the
  // weights instead of the activations (VnniStep::kS8W): comp128 built per tile made a GEMV, whose tiles are
  // each used once, 25 % slower than the direct path; kS8W made it 1.4x faster.
  // (Likewise the few rows that the AMX path leaves, 196 = 12 x 16 + 4 say: comp128 would be built for them.)
  const uint32_t rows = job->row_end - job->row_begin;
  const bool few = rows < kDirectRows;
  const uint32_t amx_rows = CurrentAmxEngine() != AmxEngine::kNone ? AmxTmacRows(job->mode, rows, n) : 0;
  if (HWY_TARGET == HWY_AVX3_DL && job->mode == MacMode::kS8S8 && rows - amx_rows < kS8RowSumsRows) {
    job->s8_row_sums = true;
    return;
  }
  const bool image_is_layout = HWY_TARGET == HWY_AVX3_DL && job->mode == MacMode::kU8S8;
  if (kHasDirect && few && !image_is_layout) {
    job->direct = true;
    return;
  }
  bool narrow = kHasNarrowDot;  // only targets with the pmaddubsw path look
  for (int t = 0; narrow && t < n; ++t) {
    ensure(tiles[t], PreparedTile::kNarrow, [](PreparedTile* p) { p->narrow = IsNarrow(*p); });
    narrow = tiles[t].narrow;
  }
  job->narrow = narrow;
  const bool quads = HWY_TARGET == HWY_AVX3_DL || (kHasNarrowDot && narrow);  // else pmaddwd on pairs
  for (int t = 0; t < n; ++t) {
    if (quads && job->mode == MacMode::kS8S8) ensure(tiles[t], PreparedTile::kComp, BuildComp128);
    if (!quads) ensure(tiles[t], PreparedTile::kPairs, BuildPairs);
  }
}
#undef TILE32_INT8_QUAD_BYTES

}  // namespace HWY_NAMESPACE
}  // namespace tile32
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tile32 {

HWY_EXPORT(TmacRows);
HWY_EXPORT(PrepareTmacTiles);

void RunTmacRows(const TmacJob& job) { HWY_DYNAMIC_DISPATCH(TmacRows)(job); }

void RunTmacTail(const TmacTail& t, const uint32_t* acc, uint32_t r0, uint32_t r1) {
  if (t.quant != nullptr) {
    RunRequantRows(*t.quant, acc + size_t{r0} * kLanes, r1 - r0, t.out, t.sram, t.addr + t.stride * int64_t{r0},
                   t.stride);
  } else if (t.store) {
    for (uint32_t r = r0; r < r1; ++r) {
      std::memcpy(t.sram + t.addr + t.stride * int64_t{r}, acc + size_t{r} * kLanes, 4 * kLanes);
    }
  }
}

void PrepareTmac(PreparedTile* tiles, TmacJob* job) { HWY_DYNAMIC_DISPATCH(PrepareTmacTiles)(tiles, job); }

}  // namespace tile32
#endif  // HWY_ONCE

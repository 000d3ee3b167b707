// The SIMD machine's RPERM (docs/isa.md §6.6): one instruction's rows through a byte permutation, and
// batches of RPERMs deferred and run together row by row (SimdMachine::Do(const RowPerm&), PlanPerms,
// FlushPerms; docs/simd_machine.md "RPERM"), bit-identical to running them one after the other.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "accel/simd_rows.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "accel/simd_rperm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "accel/simd_lanes-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tile32 {
namespace HWY_NAMESPACE {

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

#if HWY_TARGET == HWY_AVX3_DL
// Rows [r0, r1) of one chunk of kG groups (kG = 0: any number), the groups' indices and masks in registers.
template <int kG>
HWY_INLINE void PermChunkRows(const PermPlan& plan, const PermChunk& k, uint8_t* sram, uint32_t r0, uint32_t r1) {
  constexpr int kN = kG > 0 ? kG : 1;
  const PermGroup* groups = plan.groups.data() + k.group_begin;
  const int n = kG > 0 ? kG : static_cast<int>(k.group_end - k.group_begin);
  __m512i idx[kN];
  __mmask64 mask[kN], in0[kN], in1[kN];
  const uint8_t* src[kN];
  for (int g = 0; g < (kG > 0 ? kG : 0); ++g) {
    const PermGroup& p = groups[g];
    idx[g] = _mm512_load_si512(p.index), mask[g] = p.mask, src[g] = sram + p.src;
    in0[g] = p.span >= 64 ? ~__mmask64{0} : (__mmask64{1} << p.span) - 1;
    in1[g] = p.span <= 64 ? 0 : p.span == 128 ? ~__mmask64{0} : (__mmask64{1} << (p.span - 64)) - 1;
  }
  const bool old = k.written != k.window, whole = k.window == ~uint64_t{0};
  const int64_t ss = plan.src_stride, ds = plan.dst_stride;
  uint8_t* d = sram + k.dst + ds * int64_t{r0};
  for (uint32_t r = r0; r < r1; ++r, d += ds) {
    const int64_t so = ss * int64_t{r};
    __m512i v = old ? _mm512_maskz_loadu_epi8(k.window, d) : _mm512_setzero_si512();
    for (int g = 0; g < n; ++g) {
      if constexpr (kG == 0) {  // loaded per row: only plans with many groups per chunk get here
        const PermGroup& p = groups[g];
        idx[0] = _mm512_load_si512(p.index), mask[0] = p.mask, src[0] = sram + p.src;
        in0[0] = p.span >= 64 ? ~__mmask64{0} : (__mmask64{1} << p.span) - 1;
        in1[0] = p.span <= 64 ? 0 : p.span == 128 ? ~__mmask64{0} : (__mmask64{1} << (p.span - 64)) - 1;
      }
      const int q = kG > 0 ? g : 0;
      const uint8_t* s = src[q] + so;
      if (in1[q] == 0) {
        v = _mm512_mask_permutexvar_epi8(v, mask[q], idx[q], _mm512_maskz_loadu_epi8(in0[q], s));
      } else {
        const __m512i lo = _mm512_loadu_si512(s), hi = _mm512_maskz_loadu_epi8(in1[q], s + 64);
        v = _mm512_mask_blend_epi8(mask[q], v, _mm512_permutex2var_epi8(lo, idx[q], hi));
      }
    }
    if (whole) {
      _mm512_storeu_si512(d, v);
    } else {
      _mm512_mask_storeu_epi8(d, k.window, v);
    }
  }
}
#endif

// Rows [r0, r1) of one chunk, byte by byte: the bytes of the window nothing writes stay as they are.
void ScalarChunkRows(const PermPlan& plan, const PermChunk& k, const PermGroup* groups, uint8_t* sram, uint32_t r0,
                     uint32_t r1) {
  uint8_t buf[64];
  for (uint32_t r = r0; r < r1; ++r) {
    uint8_t* d = sram + k.dst + plan.dst_stride * int64_t{r};
    for (int j = 0; j < 64; ++j) buf[j] = (k.window >> j) & 1 ? d[j] : 0;
    for (uint32_t g = k.group_begin; g < k.group_end; ++g) {
      const PermGroup& p = groups[g];
      const uint8_t* s = sram + p.src + plan.src_stride * int64_t{r};
      for (int j = 0; j < 64; ++j) {
        if ((p.mask >> j) & 1) buf[j] = s[p.index[j]];
      }
    }
    for (int j = 0; j < 64; ++j) {
      if ((k.window >> j) & 1) d[j] = buf[j];
    }
  }
}

#if HWY_TARGET != HWY_AVX3_DL && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
// Rows [r0, r1) of a chunk of a whole 64-byte window, for targets without vpermb, in vectors of 16, 32 or 64
// bytes: per group and 16-byte source block the vector reads, one broadcast of the block and one byte lookup
// (index 0x80 gives 0, so the groups' bytes combine by OR), then the bytes nothing writes as they were. The
// (group, block) pairs of each vector are found once for all rows. A block that reaches past the bytes the
// batch reads is copied first: no load touches a byte an RPERM of the batch writes (another thread may be
// writing it) or one past SRAM.
void LookupChunkRows(const PermPlan& plan, const PermChunk& k, const PermGroup* groups, uint8_t* sram, uint32_t r0,
                     uint32_t r1) {
  const hn::ScalableTag<uint8_t> d8;
  const size_t N = hn::Lanes(d8);
  struct Pair {
    int64_t src;           // row 0's first byte of the block
    uint32_t bytes;        // of the block that are the group's sources (16 unless the group's span ends in it)
    const uint8_t* index;  // the block's lookup for this vector's bytes
  };
  Pair pairs[4][64];
  int count[4] = {};
  const int64_t ss = plan.src_stride, ds = plan.dst_stride;
  const int64_t far = ss * int64_t{ss >= 0 ? r1 - 1 : r0};  // the row offset reaching furthest up
  bool near_end = false;
  for (size_t p = 0, v = 0; p < 64; p += N, ++v) {
    for (uint32_t g = k.group_begin; g < k.group_end; ++g) {
      const PermGroup& grp = groups[g];
      unsigned used = 0;
      for (size_t q = p / 16; q < (p + N) / 16; ++q) used |= grp.used[q];
      for (; used != 0; used &= used - 1) {
        const uint32_t b = static_cast<uint32_t>(__builtin_ctz(used));
        const int64_t src = grp.src + 16 * b;
        pairs[v][count[v]++] = {src, std::min<uint32_t>(16, grp.span - 16 * b), grp.block_index[b] + p};
        near_end = near_end || src + far + 16 > plan.read_end;
      }
    }
  }
  alignas(16) uint8_t tail[16] = {};
  for (uint32_t r = r0; r < r1; ++r) {
    const int64_t so = ss * int64_t{r};
    uint8_t* dst = sram + k.dst + ds * int64_t{r};
    for (size_t p = 0, v = 0; p < 64; p += N, ++v) {
      auto acc = hn::Zero(d8);
      for (int e = 0; e < count[v]; ++e) {
        const uint8_t* from = sram + pairs[v][e].src + so;
        if (near_end && pairs[v][e].src + so + 16 > plan.read_end) from = static_cast<const uint8_t*>(std::memcpy(tail, from, pairs[v][e].bytes));
        acc = hn::Or(acc, hn::TableLookupBytesOr0(hn::LoadDup128(d8, from), hn::Load(d8, pairs[v][e].index)));
      }
      if (k.written != ~uint64_t{0}) acc = hn::Or(acc, hn::And(hn::Load(d8, k.kept + p), hn::LoadU(d8, dst + p)));
      hn::StoreU(acc, d8, dst + p);
    }
  }
}
#endif

// A batch of RPERMs (PermPlan), rows [r0, r1). Every source byte is as it was before the batch and the rows'
// windows are disjoint (SimdMachine::Do(const RowPerm&) admits no other batch), so rows run in any order,
// and so do chunks: chunks that overlap write the same bytes there. A window of at least 64 bytes is stored
// as whole 64-byte chunks, the last one overlapping the one before (no masked store, which costs more on
// Zen 4). AVX3_DL runs blocks of rows (a few KiB, in L1) chunk by chunk, each chunk's groups in registers.
void RowPermBatch(const PermPlan& plan, uint8_t* sram, uint32_t r0, uint32_t r1) {
  const PermChunk* chunks = plan.chunks.data();
  const PermGroup* groups = plan.groups.data();
  const size_t n = plan.chunks.size();
#if HWY_TARGET == HWY_AVX3_DL
  (void)groups;
  const int64_t row_bytes = std::max<int64_t>({64, std::abs(plan.src_stride), std::abs(plan.dst_stride)});
  const uint32_t block = static_cast<uint32_t>(std::max<int64_t>(1, (8 << 10) / row_bytes));
  for (uint32_t b0 = r0; b0 < r1; b0 += std::min(block, r1 - b0)) {
    const uint32_t b1 = b0 + std::min(block, r1 - b0);
    for (size_t c = 0; c < n; ++c) {
      switch (chunks[c].group_end - chunks[c].group_begin) {
        case 1: PermChunkRows<1>(plan, chunks[c], sram, b0, b1); break;
        case 2: PermChunkRows<2>(plan, chunks[c], sram, b0, b1); break;
        case 3: PermChunkRows<3>(plan, chunks[c], sram, b0, b1); break;
        case 4: PermChunkRows<4>(plan, chunks[c], sram, b0, b1); break;
        default: PermChunkRows<0>(plan, chunks[c], sram, b0, b1);
      }
    }
  }
#elif HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
  const int64_t row_bytes = std::max<int64_t>({64, std::abs(plan.src_stride), std::abs(plan.dst_stride)});
  const uint32_t block = static_cast<uint32_t>(std::max<int64_t>(1, (8 << 10) / row_bytes));
  for (uint32_t b0 = r0; b0 < r1; b0 += std::min(block, r1 - b0)) {
    const uint32_t b1 = b0 + std::min(block, r1 - b0);
    for (size_t c = 0; c < n; ++c) {
      if (chunks[c].window == ~uint64_t{0}) {
        LookupChunkRows(plan, chunks[c], groups, sram, b0, b1);
      } else {
        ScalarChunkRows(plan, chunks[c], groups, sram, b0, b1);
      }
    }
  }
#else
  for (size_t c = 0; c < n; ++c) ScalarChunkRows(plan, chunks[c], groups, sram, r0, r1);
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace tile32
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tile32 {

HWY_EXPORT(RowPermRows);
HWY_EXPORT(RowPermBatch);

namespace {
bool Overlap(const ByteSpan& a, const ByteSpan& b) { return a.lo < a.hi && b.lo < b.hi && a.lo < b.hi && b.lo < a.hi; }
// SpanOf for a validated RPERM (its rows lie inside SRAM, so the products fit int64), inlined.
ByteSpan RowsSpan(int64_t base, int32_t stride, uint32_t rows, int64_t bytes) {
  const int64_t reach = int64_t{stride} * (int64_t{rows} - 1);
  return {base + std::min<int64_t>(reach, 0), base + std::max<int64_t>(reach, 0) + bytes};
}
ByteSpan Hull(const ByteSpan& a, const ByteSpan& b) {
  if (a.lo >= a.hi) return b;
  if (b.lo >= b.hi) return a;
  return {std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
}
// Widest row window a batch is planned for (the plan holds one source per window byte); wider batches run
// RPERM by RPERM within each row.
constexpr int64_t kMaxPermWindow = 16 << 10;
}  // namespace

// Joins the batch when the result still has the properties FlushPerms relies on (see simd_machine.h):
// same rows and strides, the written bytes of all rows (hull) apart from the read rows of all rows (hull),
// and the rows' windows of written bytes no wider than the destination stride, so rows never share a byte.
void SimdMachine::Do(const RowPerm& i) {
  const int size = SizeOf(i.type);
  SettleWrites();  // tiles read in place copy their bytes now, before any deferred write
  uint32_t lanes = 0;  // the lanes written: the sign bits of the route, 8 lanes per multiply (a loop of 32 shifts
  for (int q = 0; q < kLanes / 8; ++q) {  // cost a third of this function)
    uint64_t x;
    std::memcpy(&x, i.route.data() + 8 * q, 8);
    lanes |= static_cast<uint32_t>(((x & 0x8080808080808080u) * 0x0002040810204081u) >> 56) << (8 * q);
  }
  lanes = ~lanes;
  const int first = lanes == 0 ? kLanes : __builtin_ctz(lanes), last = lanes == 0 ? -1 : 31 - __builtin_clz(lanes);
  const int64_t lo = last < 0 ? 0 : int64_t{i.dst} + size * first, hi = last < 0 ? 0 : int64_t{i.dst} + size * (last + 1);
  const uint64_t bytes = uint64_t{kLanes} * static_cast<uint64_t>(size);
  const ByteSpan reads = RowsSpan(i.src, i.src_stride, i.rows, static_cast<int64_t>(bytes));
  const ByteSpan writes = lo < hi ? RowsSpan(lo, i.dst_stride, i.rows, hi - lo) : ByteSpan{0, 0};
  if (perm_count_ != 0) {
    bool joins = perm_count_ < uint32_t{kMaxPermBatch} && i.rows == perm_rows_ &&
                 i.src_stride == perm_src_stride_ && i.dst_stride == perm_dst_stride_ &&
                 !Overlap(Hull(perm_reads_, reads), Hull(perm_writes_, writes));
    if (joins && i.rows > 1 && lo < hi) {
      const int64_t win_lo = perm_win_lo_ < perm_win_hi_ ? std::min(perm_win_lo_, lo) : lo;
      const int64_t win_hi = perm_win_lo_ < perm_win_hi_ ? std::max(perm_win_hi_, hi) : hi;
      joins = win_hi - win_lo <= std::abs(int64_t{i.dst_stride});
    }
    if (!joins) FlushPerms();
  }
  if (perm_count_ == 0) {
    perm_rows_ = i.rows, perm_src_stride_ = i.src_stride, perm_dst_stride_ = i.dst_stride;
    perm_reads_ = reads, perm_writes_ = writes, perm_win_lo_ = lo, perm_win_hi_ = hi;
  } else {
    perm_reads_ = Hull(perm_reads_, reads), perm_writes_ = Hull(perm_writes_, writes);
    if (lo < hi) {
      if (perm_win_lo_ == perm_win_hi_) perm_win_lo_ = lo, perm_win_hi_ = hi;
      perm_win_lo_ = std::min(perm_win_lo_, lo), perm_win_hi_ = std::max(perm_win_hi_, hi);
    }
  }
  // Every field written (the slot is reused: no zeroing of the whole item, which cost as much as the rest).
  PermItem& item = perms_[perm_count_++];
  item.src = i.src, item.dst = i.dst;
  BytePerm& perm = item.perm;
  perm.bytes = static_cast<int>(bytes);
  perm.mask[0] = perm.mask[1] = 0;
  if (size == 1) {
    perm.mask[0] = lanes;
    for (int l = 0; l < kLanes; ++l) perm.index[l] = static_cast<uint8_t>(i.route[l] < 0 ? 0 : i.route[l]);
    return;
  }
  for (int l = 0; l < kLanes; ++l) {
    for (int b = 0; b < size; ++b) {
      const int k = size * l + b;
      perm.index[k] = static_cast<uint8_t>(i.route[l] < 0 ? 0 : size * i.route[l] + b);
      if (i.route[l] >= 0) perm.mask[k / 64] |= uint64_t{1} << (k % 64);
    }
  }
}

namespace {
bool SameItems(const PermItem* a, const PermItem* b, uint32_t n) {
  for (uint32_t k = 0; k < n; ++k) {
    const PermItem &x = a[k], &y = b[k];
    if (x.src != y.src || x.dst != y.dst || x.perm.bytes != y.perm.bytes || x.perm.mask[0] != y.perm.mask[0] ||
        x.perm.mask[1] != y.perm.mask[1] || std::memcmp(x.perm.index, y.perm.index, static_cast<size_t>(x.perm.bytes)) != 0) {
      return false;
    }
  }
  return true;
}
}  // namespace

bool SimdMachine::PlanPerms() {
  PermPlan& plan = perm_plan_;
  // A kernel's loop issues the same batch band after band (the plan does not depend on rows).
  if (plan_valid_ && plan.src_stride == perm_src_stride_ && plan.dst_stride == perm_dst_stride_ &&
      plan_count_ == perm_count_ && SameItems(perms_.data(), plan_items_.data(), perm_count_)) {
    return true;
  }
  plan_valid_ = false;
  plan.chunks.clear(), plan.groups.clear();
  plan.src_stride = perm_src_stride_, plan.dst_stride = perm_dst_stride_;
  const int64_t base = perm_win_lo_, window = perm_win_hi_ - perm_win_lo_;
  if (window > kMaxPermWindow) return false;
  // The source of each window byte in row 0: its last writer's (later RPERMs of a row overwrite earlier ones).
  std::vector<int64_t> from(static_cast<size_t>(window), -1);
  for (uint32_t n = 0; n < perm_count_; ++n) {
    const PermItem& it = perms_[n];
    for (int k = 0; k < it.perm.bytes; ++k) {
      if ((it.perm.mask[k / 64] >> (k % 64)) & 1) from[static_cast<size_t>(it.dst + k - base)] = it.src + it.perm.index[k];
    }
  }
  std::pair<int64_t, int> bytes[64];  // (source, chunk byte)
  auto add = [&](int64_t offset, uint64_t window_mask) {
    PermChunk c;
    c.dst = base + offset, c.window = window_mask;
    int n = 0;
    for (int j = 0; j < 64; ++j) {
      if (((window_mask >> j) & 1) && from[static_cast<size_t>(offset + j)] >= 0) {
        bytes[n++] = {from[static_cast<size_t>(offset + j)], j};
        c.written |= uint64_t{1} << j;
      }
    }
    if (n == 0) return;  // nothing written here: the chunk keeps its bytes
    // The fewest groups of 128 consecutive source bytes covering the sources (greedy over sorted sources).
    std::sort(bytes, bytes + n);
    c.group_begin = static_cast<uint32_t>(plan.groups.size());
    for (int k = 0; k < n;) {
      PermGroup g;
      g.src = bytes[k].first;
      std::memset(g.block_index, 0x80, sizeof(g.block_index));
      for (; k < n && bytes[k].first < g.src + 128; ++k) {
        const int j = bytes[k].second, from_src = static_cast<int>(bytes[k].first - g.src);
        g.index[j] = static_cast<uint8_t>(from_src);
        g.mask |= uint64_t{1} << j;
        g.span = static_cast<uint32_t>(from_src + 1);
        g.block_index[from_src / 16][j] = static_cast<uint8_t>(from_src % 16);
        g.used[j / 16] = static_cast<uint8_t>(g.used[j / 16] | 1 << (from_src / 16));
      }
      plan.groups.push_back(g);
    }
    c.group_end = static_cast<uint32_t>(plan.groups.size());
    for (int j = 0; j < 64; ++j) c.kept[j] = (c.written >> j) & 1 ? 0 : 0xFF;
    plan.chunks.push_back(c);
  };
  if (window < 64) {
    if (window > 0) add(0, (uint64_t{1} << window) - 1);
  } else {
    for (int64_t o = 0; o + 64 <= window; o += 64) add(o, ~uint64_t{0});
    if (window % 64 != 0) add(window - 64, ~uint64_t{0});
  }
  std::copy_n(perms_.data(), perm_count_, plan_items_.data());
  plan_count_ = perm_count_;
  plan_valid_ = true;
  return true;
}

// Runs the deferred RPERMs. A batch of one that overlaps itself (in place) runs as the instruction reads.
void SimdMachine::FlushPerms() {
  if (perm_count_ == 0) return;
  const auto start = host_timing_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  uint8_t* sram = sram_.data();
  const uint32_t rows = perm_rows_;
  const int64_t ss = perm_src_stride_, ds = perm_dst_stride_;
  const int64_t window = perm_win_hi_ - perm_win_lo_;
  const bool apart = !Overlap(perm_reads_, perm_writes_) && (rows == 1 || window <= std::abs(ds));
  if (!apart) {  // only a batch of one gets here (Do admits no second RPERM)
    const PermItem& it = perms_[0];
    HWY_DYNAMIC_DISPATCH(RowPermRows)(it.perm, sram, it.dst, ds, it.src, ss, rows);
  } else if (PlanPerms()) {
    perm_plan_.read_end = perm_reads_.hi;
    ForRows(rows, static_cast<uint64_t>(std::max<int64_t>(window, 1)), ds, [&](uint32_t r0, uint32_t r1) {
      HWY_DYNAMIC_DISPATCH(RowPermBatch)(perm_plan_, sram, r0, r1);
    });
  } else {
    for (uint32_t r = 0; r < rows; ++r) {
      for (uint32_t n = 0; n < perm_count_; ++n) {
        const PermItem& it = perms_[n];
        HWY_DYNAMIC_DISPATCH(RowPermRows)(it.perm, sram, it.dst + ds * r, ds, it.src + ss * r, ss, 1);
      }
    }
  }
  perm_count_ = 0;
  if (host_timing_) {
    const std::chrono::duration<double> spent = std::chrono::steady_clock::now() - start;
    AddHostSeconds(Instr(RowPerm{}).index(), spent.count());
  }
}

}  // namespace tile32
#endif  // HWY_ONCE

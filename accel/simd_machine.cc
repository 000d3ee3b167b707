// SimdMachine: docs/isa.md executed with Highway vectors, one code path per compiled target, chosen at run
// time (hwy/examples/skeleton.cc pattern). TMAC and the tile layouts are in accel/simd_tmac.cc (its AMX
// path in accel/simd_amx.cc), EMAC in accel/simd_emac.cc, REQ in accel/simd_requant.cc; here the machine
// (deferred batches, tiles read in place, threads) and the small row kernels (ACC_LD, AALU); RPERM in
// accel/simd_rperm.cc. Every path computes exactly what accel/scalar_machine.cc computes:
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
#include <type_traits>

#include "accel/numeric.h"
#include "accel/simd_amx.h"
#include "accel/simd_rows.h"
#include "accel/simd_tmac.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "accel/simd_machine.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "accel/simd_lanes-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tile32 {
namespace HWY_NAMESPACE {

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

int64_t Target() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace tile32
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tile32 {

HWY_EXPORT(AccLoadRows);
HWY_EXPORT(AccAluRows);
HWY_EXPORT(Target);

SimdMachine::SimdMachine(const AccelConfig& config)
    : ScalarMachine(config), canonical_stale_(config.tile_regs, 0), prepared_(config.tile_regs) {
  emacs_.reserve(kMaxEmacBatch);
  tmac_job_ = std::make_unique<TmacJob>();
  perms_.resize(kMaxPermBatch);
  plan_items_.resize(kMaxPermBatch);
}

SimdMachine::~SimdMachine() = default;

void SimdMachine::Do(const TileLoad& i) {
  if (tmac_pending_) DetachTmacTiles();  // BeforeInstruction let it through: a TMAC may chain (TmacMayChain)
  PreparedTile& p = prepared_[i.td];
  p.sram_addr = i.addr;
  p.bytes = static_cast<uint32_t>(size_t{kLanes} * kLanes * SizeOf(i.type));
  p.data = sram_.data() + i.addr;
  p.built = 0;
  canonical_stale_[i.td] = 1;
}

void SimdMachine::SettleTiles(ByteSpan span) {
  if (!held_.empty()) {
    held_.erase(std::remove_if(held_.begin(), held_.end(),
                               [&](const HeldCopy& h) { return h.span.lo < span.hi && span.lo < h.span.hi; }),
                held_.end());
  }
  for (PreparedTile& p : prepared_) {
    if (!p.ReadsSram()) continue;
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
  FlushTmac();
  FlushPerms();
  FlushEmacs();  // the deferred EMACs read SRAM as it is now
  SettleTiles({0, static_cast<__int128>(sram_.size())});
}

// Unit stride (a kernel's weights, the common case): one loop per type, which the compiler vectorizes,
// instead of the scalar machine's widening per element.
void SimdMachine::Do(const VLoad& i) {
  const int size = SizeOf(i.type);
  if (i.stride != size) return ScalarMachine::Do(i);
  const uint8_t* __restrict p = sram_at(i.addr);  // SRAM and a register never overlap: no aliasing check
  uint32_t* __restrict v = vregs_[i.vd].data();
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

// Unit stride of an integer type or 32-bit words: one narrowing loop instead of a call per lane (lanes at
// distinct addresses, so their order cannot show); bf16 rounding and other strides as the scalar machine.
void SimdMachine::Do(const VStore& i) {
  SettleWrites();
  const int size = SizeOf(i.type);
  if (i.stride != size || i.type == DType::kBF16) return ScalarMachine::Do(i);
  uint8_t* __restrict p = sram_at(i.addr);
  const uint32_t* __restrict v = vregs_[i.vs].data();
  if (size == 1) {
    for (int l = 0; l < kLanes; ++l) p[l] = static_cast<uint8_t>(v[l]);
  } else if (size == 2) {
    uint16_t e[kLanes];
    for (int l = 0; l < kLanes; ++l) e[l] = static_cast<uint16_t>(v[l]);
    std::memcpy(p, e, sizeof(e));
  } else {
    std::memcpy(p, v, 4 * kLanes);
  }
}

void SimdMachine::MaterializeTile(int t) const {
  if (!canonical_stale_[t]) return;
  DecodeTileImage(tile_type(t), prepared_[t].data, &tiles_[t]);
  canonical_stale_[t] = 0;
}

// TMACs of at least this many row-tiles (2 M MACs) are split across the arena's threads. Below it waking
// a worker cost more than it saved on the 2-vCPU development host: Winograd's TMACs (256 tile rows x 2
// tiles) ran 2 threads slower than 1 with a threshold of 256. Smaller TMACs on rows apart run as a group
// instead (TmacChains), spread over the threads whole.
constexpr uint64_t kTmacParallelWork = 2048;

void SimdMachine::Do(const TileMac& i) {
  // A deferred seed of exactly these rows (BeforeInstruction let the TMAC through) starts the rows of the
  // vectorized TMAC; the other paths read ACC, so it is written there first.
  const bool seeded = seed_pending_ && emacs_.empty();
  if (config().check_overflow) {  // the flag needs exact per-lane sums
    FlushEmacs();
    return ScalarMachine::Do(i);
  }
  PreparedTile* tiles = &prepared_[i.tile];
  TmacJob job{sram_.data(), int64_t{i.a_addr}, int64_t{i.a_stride}, 0, i.rows, tiles, i.tiles, i.mode,
              acc_at(i.acc_row), false, false, false, false};
  PrepareTmac(tiles, &job);
  const ByteSpan reads =
      SpanOf(i.a_addr, i.a_stride, i.rows, uint64_t{kLanes} * i.tiles * SizeOf(ActivationType(i.mode)));
  // The SRAM bytes its tiles read ({0, 0}: none; a tile with a copy of its own is out of reach of SRAM writes).
  auto hull = [](const ByteSpan& a, const ByteSpan& b) {
    return a.hi == 0 ? b : b.hi == 0 ? a : ByteSpan{std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
  };
  // In 64 bits (SRAM addresses): the 128-bit hull per tile was half the machine's own work on a GEMV's TMAC.
  uint64_t tiles_lo = UINT64_MAX, tiles_hi = 0;
  for (int t = 0; t < i.tiles; ++t) {
    const PreparedTile& p = tiles[t];
    if (!p.ReadsSram()) continue;
    tiles_lo = std::min<uint64_t>(tiles_lo, p.sram_addr);
    tiles_hi = std::max<uint64_t>(tiles_hi, uint64_t{p.sram_addr} + p.bytes);
  }
  const ByteSpan tile_bytes = tiles_hi == 0 ? ByteSpan{0, 0} : ByteSpan{tiles_lo, tiles_hi};
  if (tmac_pending_) {  // BeforeInstruction found that it chains (TmacChains)
    tmac_tile_bytes_ = hull(tmac_tile_bytes_, tile_bytes);
    if (i.acc_row != tmac_acc_row_) tmac_group_ = true;
    tmac_acc_rows_.push_back({i.acc_row, i.rows});
    tmac_chain_.push_back(job);
    tmac_reads_ = {std::min(tmac_reads_.lo, reads.lo), std::max(tmac_reads_.hi, reads.hi)};
    return;
  }
  if (seeded) {  // its own copy: a seed of other rows may come while the TMAC waits (SeedBesideTmac)
    std::memcpy(tmac_seed_, seed_, sizeof(tmac_seed_));
    job.seed = tmac_seed_, seed_pending_ = false;
  }
  *tmac_job_ = job;
  tmac_pending_ = true, tmac_acc_row_ = i.acc_row, tmac_group_ = false;
  tmac_acc_rows_.assign(1, {i.acc_row, i.rows});
  tmac_reads_ = reads, tmac_tile_bytes_ = tile_bytes;
}

namespace {

// Rows [0, rows) of a TMAC or chain of `tiles` tiles in all, through body(r0, r1) on the arena's threads.
// Rows are independent (distinct ACC rows, read-only SRAM, a tail writing rows apart from everything the
// TMACs read), so any split across threads is exact.
template <class Body>
void SplitTmacRows(uint32_t rows, uint64_t tiles, const Body& body) {
  // Tasks of whole 24-row units (a multiple of every target's row block: 3 on AVX2, 8 on AVX-512, 12 on VNNI,
  // 4 on SSE; with 8-row units a third of AVX2's tasks ended in single rows, each 2-3x slower), at least 2 units
  // each, balanced by work stealing: the calling thread starts at once while a sleeping worker wakes, and
  // takes over its share if it is late. Weights are re-read per task from L2 only (a task's passes keep
  // them in L1).
  constexpr uint32_t kUnit = 24;
  // Fewer than 4 units make fewer than two whole tasks: a 7x7x512 3x3 layer's 63 rows ran as tasks of 48 and
  // 15 rows, each reading all 144 weight tiles (the worker from the other core's cache), and 2 threads took
  // 3-15 % longer than 1 on the Ice Lake host. Such TMACs run on the calling thread alone.
  if (uint64_t{rows} * tiles < kTmacParallelWork || rows < 4 * kUnit || !ArenaHasThreads()) {
    body(0u, rows);
    return;
  }
  const uint32_t units = (rows + kUnit - 1) / kUnit;
  tbb::parallel_for(tbb::blocked_range<uint32_t>(0, units, 2), [&](const tbb::blocked_range<uint32_t>& range) {
    body(kUnit * range.begin(), std::min(rows, kUnit * range.end()));
  });
}

// Rows per chunk of a chain: each chunk's ACC rows (16 KiB) stay in L1 through every TMAC of the chain.
constexpr uint32_t kChainChunkRows = 128;
// TMACs of fewer rows do not chain: the weight layouts a chained TMAC copies (up to 4 KiB a tile, BF16)
// would cost more than the pass it saves.
constexpr uint32_t kChainRows = 48;
constexpr size_t kMaxTmacChain = 16;

// What a TMAC reads of a tile register, into a copy that a TLD of the register leaves as it is. The image
// stays where it is (SRAM, or the register's `image`): nothing writes either while the TMAC waits.
void CopyPreparedTile(const PreparedTile& from, PreparedTile* to) {
  to->data = from.data, to->sram_addr = from.sram_addr, to->bytes = from.bytes;
  to->narrow = from.narrow, to->built = from.built;
  if (from.built & PreparedTile::kComp) std::memcpy(to->comp128, from.comp128, sizeof(to->comp128));
  if (from.built & PreparedTile::kPairs) std::memcpy(to->pairs, from.pairs, sizeof(to->pairs));
  if (from.built & PreparedTile::kF32) std::memcpy(to->f32, from.f32, sizeof(to->f32));
}

// The rows of a TMAC or chain of TMACs on the same ACC rows, `tiles` in all, that the AMX path takes (0: none):
// as AmxTmacRows for the chain's tiles, where each TMAC has two tiles or more (AMX reads 64 activation bytes
// per step).
uint32_t AmxChainRows(const TmacJob* const* jobs, size_t n, uint64_t tiles) {
  for (size_t j = 0; j < n; ++j) {
    if (jobs[j]->ntiles < 2) return 0;
  }
  const uint32_t rows = AmxTmacRows(jobs[0]->mode, jobs[0]->row_end, static_cast<int>(tiles));  // at most 16 x 255
  return rows > 0 && CurrentAmxEngine() != AmxEngine::kNone ? rows : 0;
}

// AMX chains of fewer rows stay on the calling thread: tasks of 32 rows each read the chain's whole B for few
// rows, and a worker woken per TMAC costs more than it saves (ResNet-50 14x14x256 3x3 direct, 196 rows x 72
// tiles, two threads: 198 -> 138 us; 7x7x512: 498 -> 385 us; one run each).
constexpr uint32_t kAmxParallelRows = 256;

}  // namespace

bool SimdMachine::RunTmacOnAmx(const TmacJob* const* jobs, size_t n, uint64_t tiles, const TmacTail& tail) {
  const uint32_t amx_rows = AmxChainRows(jobs, n, tiles);
  if (amx_rows == 0) return false;
  const bool parallel =
      uint64_t{jobs[0]->row_end} * tiles >= kTmacParallelWork && amx_rows >= kAmxParallelRows && ArenaHasThreads();
  RunTmacAmx(jobs, n, tail, amx_rows, CurrentAmxEngine(), parallel, &amx_pairs_);
  return true;
}

void SimdMachine::RunTmac(const TmacJob& job) {
  const TmacJob* one = &job;
  if (RunTmacOnAmx(&one, 1, uint64_t(job.ntiles), job.tail)) return;
  SplitTmacRows(job.row_end, uint64_t(job.ntiles), [&](uint32_t r0, uint32_t r1) {
    TmacJob part = job;
    part.row_begin = r0, part.row_end = r1;
    RunTmacRows(part);
  });
}

bool SimdMachine::TmacMayChain() const {
  return tmac_pending_ && !config().check_overflow && tmac_job_->row_end >= kChainRows &&
         tmac_chain_.size() + 1 < kMaxTmacChain;
}

bool SimdMachine::TmacChains(const TileMac& next) const {
  if (!TmacMayChain() || !emacs_.empty()) return false;
  if (next.rows != tmac_job_->row_end || next.mode != tmac_job_->mode) return false;
  const bool apart = AccRowsApartFromTmacs(next.acc_row, uint64_t{next.acc_row} + next.rows);
  if (next.acc_row != tmac_acc_row_ || tmac_group_) {
    // A group: of TMACs each too small to split, on rows apart from the waiting ones', where there are threads.
    // (Not beside a waiting seed of its rows, which it must start from.)
    const bool seed_apart = !seed_pending_ || uint64_t{next.acc_row} >= uint64_t{emac_row_} + emac_rows_ ||
                            uint64_t{next.acc_row} + next.rows <= emac_row_;
    if (!apart || !seed_apart || (!tmac_group_ && !tmac_chain_.empty()) || !ArenaHasThreads()) return false;
    if (uint64_t{tmac_job_->row_end} * uint64_t(tmac_job_->ntiles) >= kTmacParallelWork) return false;
  }
  if (next.acc_row == tmac_acc_row_ && !tmac_group_) return true;  // the AMX path runs such chains too
  return AmxTmacRows(next.mode, next.rows, next.tiles) == 0 || CurrentAmxEngine() == AmxEngine::kNone;
}

void SimdMachine::DetachTmacTiles() {
  const auto lo = reinterpret_cast<uintptr_t>(prepared_.data());
  const auto hi = reinterpret_cast<uintptr_t>(prepared_.data() + prepared_.size());
  auto detach = [&](TmacJob& job, size_t j) {
    const auto at = reinterpret_cast<uintptr_t>(job.tiles);
    if (at < lo || at >= hi) return;  // copied already
    if (chain_tiles_.size() <= j) chain_tiles_.resize(j + 1);
    std::vector<PreparedTile>& copies = chain_tiles_[j];
    if (copies.size() < size_t(job.ntiles)) copies.resize(size_t(job.ntiles));
    for (int t = 0; t < job.ntiles; ++t) CopyPreparedTile(job.tiles[t], &copies[size_t(t)]);
    job.tiles = copies.data();
  };
  detach(*tmac_job_, 0);
  for (size_t j = 0; j < tmac_chain_.size(); ++j) detach(tmac_chain_[j], j + 1);
}

void SimdMachine::RunTmacChain(const TmacTail& tail) {
  const size_t n = tmac_chain_.size() + 1;
  auto job_at = [&](size_t j) -> const TmacJob& { return j == 0 ? *tmac_job_ : tmac_chain_[j - 1]; };
  uint64_t tiles = 0;
  for (size_t j = 0; j < n; ++j) tiles += uint64_t(job_at(j).ntiles);
  if (tmac_group_) {  // whole TMACs over the threads, each with its tiles in L1 (rows apart: any order); no tail
    auto run = [&](size_t j0, size_t j1) {
      for (size_t j = j0; j < j1; ++j) RunTmacRows(job_at(j));
    };
    if (uint64_t{tmac_job_->row_end} * tiles < kTmacParallelWork) {
      run(0, n);
    } else {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, n, 1),
                        [&](const tbb::blocked_range<size_t>& r) { run(r.begin(), r.end()); });
    }
    tmac_chain_.clear();
    return;
  }
  const TmacJob* jobs[kMaxTmacChain] = {};  // (TmacMayChain keeps n within it)
  for (size_t j = 0; j < n; ++j) jobs[j] = &job_at(j);
  if (RunTmacOnAmx(jobs, n, tiles, tail)) {
    tmac_chain_.clear();
    return;
  }
  SplitTmacRows(tmac_job_->row_end, tiles, [&](uint32_t r0, uint32_t r1) {
    for (uint32_t c0 = r0; c0 < r1; c0 += kChainChunkRows) {
      for (size_t j = 0; j < n; ++j) {  // in issue order: a BF16 row's fma chain runs k ascending
        TmacJob part = job_at(j);
        part.row_begin = c0, part.row_end = std::min(r1, c0 + kChainChunkRows);
        if (j + 1 == n) part.tail = tail;
        RunTmacRows(part);
      }
    }
  });
  tmac_chain_.clear();
}

void SimdMachine::RunTmacWithTail(const TmacTail& tail, int joined) {
  const auto start = host_timing_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  tmac_pending_ = false;
  if (!tmac_chain_.empty()) {
    RunTmacChain(tail);
  } else {
    tmac_job_->tail = tail;
    RunTmac(*tmac_job_);
  }
  tmac_group_ = false;
  if (host_timing_) {  // a joined REQ or ACC_ST counts as TMAC time in profiles (not also as its own)
    const std::chrono::duration<double> spent = std::chrono::steady_clock::now() - start;
    AddHostSeconds(Instr(TileMac{}).index(), spent.count());
    if (joined >= 0) AddHostSeconds(static_cast<size_t>(joined), -spent.count());
  }
}

void SimdMachine::FlushTmac() {
  if (tmac_pending_) RunTmacWithTail(TmacTail{}, -1);
}

// A GEMM loop with two ACC sets seeds one set between the TMAC of the other and its store: a broadcast
// ACC_LD or ACC_ZERO that Do defers as the seed, of rows apart from the TMAC's, when no seed is pending yet,
// lets the TMAC wait for its store.
bool SimdMachine::SeedBesideTmac(const Instr& next) const {
  if (seed_pending_ || !emacs_.empty() || config().check_overflow) return false;
  uint32_t row = 0, rows = 0;
  if (const auto* z = std::get_if<AccZero>(&next)) {
    row = z->row, rows = z->rows;
  } else if (const auto* ld = std::get_if<AccLoad>(&next)) {
    if (SizeOf(ld->type) != 4 || ld->row_stride != 0) return false;
    row = ld->row, rows = ld->rows;
  } else {
    return false;
  }
  return rows > 0 && AccRowsApartFromTmacs(row, uint64_t{row} + rows);
}

bool SimdMachine::AccRowsApartFromTmacs(uint64_t lo, uint64_t hi) const {
  for (const auto& [row, rows] : tmac_acc_rows_) {
    if (lo < uint64_t{row} + rows && row < hi) return false;
  }
  return true;
}

// Nor over a register's tile bytes: their copy into its image (SettleTiles) could overwrite the image a waiting
// TMAC reads.
bool SimdMachine::SramWriteApartFromTmacs(const ByteSpan& w) const {
  auto apart = [&](const ByteSpan& r) { return r.hi <= w.lo || w.hi <= r.lo; };
  for (const PreparedTile& p : prepared_) {
    if (!p.ReadsSram()) continue;
    if (!apart({p.sram_addr, __int128{p.sram_addr} + p.bytes})) return false;
  }
  return apart(tmac_reads_) && apart(tmac_tile_bytes_);
}

bool SimdMachine::ReqApartFromTmacs(const Instr& next) const {
  const auto* r = std::get_if<Requant>(&next);
  if (r == nullptr || r->rows == 0) return false;
  const bool rows_apart = AccRowsApartFromTmacs(r->acc_row, uint64_t{r->acc_row} + r->rows);
  const ByteSpan out = SpanOf(r->addr, r->row_stride, r->rows, uint64_t{kLanes} * SizeOf(r->out));
  return rows_apart && SramWriteApartFromTmacs(out);
}

bool SimdMachine::AaluApartFromTmacs(const Instr& next) const {
  const auto* a = std::get_if<AccAlu>(&next);
  if (a == nullptr || a->rows == 0) return false;
  auto apart = [&](uint32_t base, int32_t stride) {
    const int64_t end = int64_t{base} + int64_t{stride} * (int64_t{a->rows} - 1);
    if (end < 0) return false;  // out of range: it throws
    const uint64_t lo = uint64_t(std::min<int64_t>(base, end)), hi = uint64_t(std::max<int64_t>(base, end)) + 1;
    return AccRowsApartFromTmacs(lo, hi);
  };
  return apart(a->dst, a->dst_stride) && apart(a->a, a->a_stride) && apart(a->b, a->b_stride);
}

bool SimdMachine::TmacJoins(const Instr& next) const {
  uint32_t row = 0, rows = 0;
  int64_t addr = 0, stride = 0;
  uint64_t row_bytes = 0;
  if (const auto* r = std::get_if<Requant>(&next)) {
    row = r->acc_row, rows = r->rows, addr = r->addr, stride = r->row_stride, row_bytes = uint64_t{kLanes} * SizeOf(r->out);
  } else if (const auto* st = std::get_if<AccStore>(&next)) {
    if (st->type != DType::kI32 && st->type != DType::kF32) return false;
    row = st->row, rows = st->rows, addr = st->addr, stride = st->row_stride, row_bytes = 4 * kLanes;
  } else {
    return false;
  }
  if (tmac_group_ || row != tmac_acc_row_ || rows != tmac_job_->row_end) return false;
  if (rows > 1 && static_cast<uint64_t>(stride < 0 ? -stride : stride) < row_bytes) return false;
  const ByteSpan out = SpanOf(addr, stride, rows, row_bytes);
  return !(out.lo < tmac_reads_.hi && tmac_reads_.lo < out.hi);
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
    RunEmacBatch(emac_mode_, sram_.data(), emacs_.data(), count, r0, r1, acc, tail);
  };
  // Rows are independent: distinct ACC rows, EMACs only read SRAM, a fused REQ writes rows that neither
  // overlap each other nor anything an EMAC reads (FusesRequant).
  // A seed alone (the next instruction was no EMAC, nor a TMAC of its rows) runs on the calling thread: split,
  // its rows came back from the other core's cache to the TMACs that add into them (Winograd's ring).
  const bool split = count > 0 && uint64_t{emac_rows_} * count >= kEmacParallelWork;
  if (!split || !ArenaHasThreads()) {
    rows(0, emac_rows_);
  } else {
    const uint32_t grain = std::max<uint32_t>(
        64, emac_rows_ / (4 * static_cast<uint32_t>(tbb::this_task_arena::max_concurrency())));
    tbb::parallel_for(
        tbb::blocked_range<uint32_t>(0, emac_rows_, grain),
        [&](const tbb::blocked_range<uint32_t>& r) { rows(r.begin(), r.end()); }, tbb::static_partitioner());
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
  const int64_t in_bytes = int64_t{kLanes} * SizeOf(ActivationType(emac_mode_));
  // The EMACs passed validation, so their spans lie in SRAM: int64 holds them (SpanOf's int128 took ~60
  // instructions an EMAC, a depthwise block's nine ~550 a REQ).
  const int64_t last = int64_t{emac_rows_} - 1;
  for (const EmacItem& e : emacs_) {
    const int64_t reach = e.a_stride * last, lo = e.a_addr + std::min<int64_t>(reach, 0);
    const int64_t hi = e.a_addr + std::max<int64_t>(reach, 0) + in_bytes;
    if (lo < out.hi && out.lo < hi) return false;
  }
  return true;
}

// Instructions that touch nothing a deferred EMAC reads or writes (its weights were copied when it was
// issued; it reads SRAM and writes its ACC rows): a kernel's VLD of the next tap's weights, for one, does
// not break the batch. A REQ of the batch's rows joins it when it can (FusesRequant); after that only QCFG
// and register instructions wait. Everything else runs after the batch.
void SimdMachine::BeforeInstruction(const Instr& next) {
  tmac_joins_ = false;  // set for a REQ or ACC_ST that joins the deferred TMAC, read by its Do
  req_joins_ = false;   // set below for a REQ that joins the EMAC batch, read by its Do
  if (tmac_pending_) {
    // The TMAC's own BeforeInstruction ran every other batch; since then at most a seed of other ACC rows
    // (SeedBesideTmac) is pending, which a store of the TMAC's rows does not touch.
    if (!config().check_overflow && TmacJoins(next)) {
      tmac_joins_ = true;
      return;
    }
    // Beside a group, a seed already waiting is written now (its rows are apart from the group's), so that the
    // next seed can wait too (Winograd zeroes the sets of a quad of its ring in one to three seeds) and the next
    // TMAC may join whatever its rows.
    if (tmac_group_ && seed_pending_ && emacs_.empty() &&
        (std::holds_alternative<AccZero>(next) || std::holds_alternative<AccLoad>(next) ||
         std::holds_alternative<TileMac>(next))) {
      FlushEmacs();
    }
    // Register instructions touch nothing the TMAC reads or writes (a kernel sets Q between its last TMAC
    // and the REQ of the rows), and VLD only reads SRAM: the TMAC keeps waiting.
    if (std::holds_alternative<SetQuant>(next) || std::holds_alternative<VAlu>(next) ||
        std::holds_alternative<VPerm>(next) || std::holds_alternative<VLoad>(next) || SeedBesideTmac(next)) {
      return;
    }
    // A DMA_IN of SRAM bytes apart from everything the TMACs read runs beside them (Winograd's loads of the
    // next band come among the positions' TMACs; a direct convolution loads the next band in parts between
    // the TMACs of a block, which then still chain: on a 14x14x1024 1x1 layer two threads went from 8 %
    // slower than one to 5 % faster).
    if (const auto* d = std::get_if<DmaIn>(&next); d != nullptr && d->rows > 0 &&
        SramWriteApartFromTmacs(SpanOf(d->sram, d->sram_stride, d->rows, d->row_bytes))) {
      return;
    }
    // The TLDs of a TMAC that may chain onto it, and that TMAC (Do(const TileLoad&), Do(const TileMac&)).
    if (std::holds_alternative<TileLoad>(next) && TmacMayChain()) return;
    // (A seed pending meanwhile is of other rows (SeedBesideTmac): it waits for its own TMAC.)
    if (const auto* tmac = std::get_if<TileMac>(&next); tmac != nullptr && TmacChains(*tmac)) return;
    // Any TMAC waits through a DMA_OUT (TMACs write no SRAM, read no DRAM): a direct convolution stores the
    // block before between the first TMAC of a block and the next, which then chains onto it. A group also
    // waits through an AALU on ACC rows apart from its own (Winograd's output transform of the block before
    // comes among the positions' TMACs) and a REQ of none of its rows into SRAM apart. These run now, after
    // the other batches below.
    const bool waits = std::holds_alternative<DmaOut>(next) ||
                       (tmac_group_ && (AaluApartFromTmacs(next) || ReqApartFromTmacs(next)));
    if (!waits) FlushTmac();
  }
  // The RPERM batch (FlushPerms) first: only another RPERM may join it, in Do(const RowPerm&).
  if (perm_count_ != 0 && !std::holds_alternative<RowPerm>(next)) FlushPerms();
  if (emacs_.empty() && !seed_pending_) return;  // no EMAC batch: FlushEmacs would do nothing
  if (std::holds_alternative<SetQuant>(next) || std::holds_alternative<VAlu>(next) ||
      std::holds_alternative<VPerm>(next)) {
    return;
  }
  if (!req_pending_) {
    if (std::holds_alternative<ElemMac>(next) || std::holds_alternative<VLoad>(next) ||
        std::holds_alternative<TileLoad>(next)) {
      return;
    }
    // A TMAC of exactly a pending seed's rows starts them from the seed itself (Do(const TileMac&)).
    const auto* tmac = std::get_if<TileMac>(&next);
    if (tmac != nullptr && emacs_.empty() && tmac->acc_row == emac_row_ && tmac->rows == emac_rows_) return;
    const auto* req = std::get_if<Requant>(&next);
    if (req != nullptr && !config().check_overflow && FusesRequant(*req)) {
      req_joins_ = true;
      return;
    }
  }
  FlushEmacs();
}

void SimdMachine::SettleAcc() const {
  const_cast<SimdMachine*>(this)->FlushTmac();
  const_cast<SimdMachine*>(this)->FlushEmacs();
}
void SimdMachine::SettleSram() const {
  const_cast<SimdMachine*>(this)->FlushTmac();
  const_cast<SimdMachine*>(this)->FlushPerms();
  const_cast<SimdMachine*>(this)->FlushEmacs();
}

void SimdMachine::Do(const Requant& i) {
  const int64_t row_bytes = int64_t{kLanes} * SizeOf(i.out);
  SettleWrites();
  if (tmac_joins_) {
    tmac_joins_ = false;
    TmacTail tail;
    tail.quant = &quant(), tail.out = i.out, tail.sram = sram_.data(), tail.addr = i.addr, tail.stride = i.row_stride;
    return RunTmacWithTail(tail, static_cast<int>(Instr(Requant{}).index()));
  }
  if (req_joins_) {  // BeforeInstruction found that it joins the batch (FusesRequant) and let it through
    req_joins_ = false;
    req_pending_ = true, req_ = i, req_quant_ = quant();
    return;
  }
  // A group of TMACs still waiting is on other rows (BeforeInstruction let it wait: ReqApartFromTmacs).
  FlushEmacs();
  if (!(tmac_pending_ && tmac_group_)) FlushTmac();
  ForRows(
      i.rows, row_bytes, i.row_stride,
      [&](uint32_t r0, uint32_t r1) {
        RunRequantRows(quant(), acc_at(i.acc_row + r0), r1 - r0, i.out, sram_.data(),
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
  if (tmac_joins_) {
    tmac_joins_ = false;
    TmacTail tail;
    tail.store = true, tail.sram = sram_.data(), tail.addr = i.addr, tail.stride = i.row_stride;
    return RunTmacWithTail(tail, static_cast<int>(Instr(AccStore{}).index()));
  }
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

void ForceSimdTarget(int64_t target) {
  hwy::SetSupportedTargetsForTest(target);
  NoteSimdTargetForced(target != 0);
}

}  // namespace tile32
#endif  // HWY_ONCE

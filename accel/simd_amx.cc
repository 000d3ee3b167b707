// accel/simd_amx.h: INT8 TMAC rows on Intel AMX, and the process-wide choice of TMAC path.
//
// One TDPBUSD / TDPBSSD step multiplies 16 rows by K = 64 (two ISA tiles) into 16 columns. A TMAC row is an
// ACC row of 32 int32, so a group of 16 rows has two C tiles (columns 0-15, 16-31) loaded from ACC and
// stored back to it: the products are added to ACC with wrap, as the ISA adds them. The B operand of a step
// is two tile images back to back, read with a 128-byte stride: the int8 tile order holds k-quads of 32
// columns (lane (q, j) = T[4q .. 4q+3][j]), which is AMX's B layout (a 64-byte row of four k per column) for
// 16 columns, the other 16 columns 64 bytes on.
//
// The GCC 12 intrinsics are not used: _tile_loadconfig is declared as reading only 8 bytes, and GCC deleted
// the stores that filled a tile configuration on the stack (the next tile load raised SIGILL); _tile_loadd
// has no memory clobber. Every tile instruction here is an asm statement with a memory clobber, and
// ldtilecfg reads the whole 64-byte configuration as its memory operand.
#include "accel/simd_amx.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "accel/error.h"
#include "accel/host_cpu.h"

namespace tile32 {
namespace {

// Palette 1 (8 tiles of up to 16 rows x 64 bytes), every tile 16 x 64:
//   tmm0 .. tmm3  C of row group g (0, 1) and column half h (0: columns 0-15, 1: 16-31) in tmm(2g + h),
//   tmm4, tmm5    A of row group 0, 1: 16 rows x 64 activation bytes (k = 64 s ... 64 s + 63 of step s),
//   tmm6, tmm7    B of column half 0, 1: 16 k-quads x 16 columns.
// Two row groups share each B load: per step 4 tile loads feed 4 dot products (one group alone: 3 for 2).
struct alignas(64) TileConfig {
  uint8_t palette, start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
constexpr int kTileRows = 16, kTileBytes = 64;
constexpr TileConfig MakeTileConfig() {
  TileConfig c{};
  c.palette = 1;
  for (int t = 0; t < 8; ++t) c.colsb[t] = kTileBytes, c.rows[t] = kTileRows;
  return c;
}
alignas(64) constexpr TileConfig kTileConfig = MakeTileConfig();
constexpr int64_t kAccStride = 4 * kLanes;  // bytes per ACC row
constexpr int64_t kPairStride = 4 * kLanes;  // bytes per k-quad row of an int8 tile image
constexpr size_t kInt8TileBytes = size_t{kLanes} * kLanes;
static_assert(sizeof(TileConfig) == 64, "ldtilecfg reads 64 bytes");

#if defined(__x86_64__)
// The host's tile unit. Constructed at the start of a batch of tile work and destroyed at its end: tile
// state is not kept across unrelated code (a configuration load and a release cost about 85 ns together).
// Only constructed where HostCpu::AmxInt8Usable() holds; before Linux grants the tile data permission any
// tile instruction raises SIGILL.
class HardwareTiles {
 public:
  HardwareTiles() { asm volatile("ldtilecfg %0" ::"m"(kTileConfig) : "memory"); }
  ~HardwareTiles() { asm volatile("tilerelease" ::: "memory"); }
  HardwareTiles(const HardwareTiles&) = delete;
  HardwareTiles& operator=(const HardwareTiles&) = delete;

  template <int T>
  void Load(const void* p, int64_t stride) {
    asm volatile("tileloadd (%0,%1,1), %%tmm%c2" ::"r"(p), "r"(stride), "i"(T) : "memory");
  }
  template <int T>
  void Store(void* p, int64_t stride) {
    asm volatile("tilestored %%tmm%c2, (%0,%1,1)" ::"r"(p), "r"(stride), "i"(T) : "memory");
  }
  // C += A x B; AT&T operands reversed: Intel `tdpbusd tmmC, tmmA, tmmB`.
  template <int C, int A, int B, bool kSigned>
  void Dot() {
    if constexpr (kSigned) {
      asm volatile("tdpbssd %%tmm%c2, %%tmm%c1, %%tmm%c0" ::"i"(C), "i"(A), "i"(B) : "memory");
    } else {
      asm volatile("tdpbusd %%tmm%c2, %%tmm%c1, %%tmm%c0" ::"i"(C), "i"(A), "i"(B) : "memory");
    }
  }
};
constexpr bool kHaveHardwareTiles = true;
#else
class HardwareTiles {
 public:
  template <int T>
  void Load(const void*, int64_t) {}
  template <int T>
  void Store(void*, int64_t) {}
  template <int C, int A, int B, bool kSigned>
  void Dot() {}
};
constexpr bool kHaveHardwareTiles = false;
#endif

// The tile unit computed in C++ from the Intel SDM's definitions of TILELOADD, TILESTORED, TDPBUSD and
// TDPBSSD, shapes taken from the same configuration, so that the AMX path's blocking, weight layout and
// addressing run (and are compared bit for bit) on hosts without AMX. A shape the hardware would refuse
// (#UD) aborts.
class SoftwareTiles {
 public:
  SoftwareTiles() { std::memset(t_, 0, sizeof(t_)); }  // as ldtilecfg leaves them

  template <int T>
  void Load(const void* p, int64_t stride) {
    for (int m = 0; m < kTileConfig.rows[T]; ++m)
      std::memcpy(t_[T][m], static_cast<const uint8_t*>(p) + stride * m, kTileConfig.colsb[T]);
  }
  template <int T>
  void Store(void* p, int64_t stride) {
    for (int m = 0; m < kTileConfig.rows[T]; ++m)
      std::memcpy(static_cast<uint8_t*>(p) + stride * m, t_[T][m], kTileConfig.colsb[T]);
  }
  template <int C, int A, int B, bool kSigned>
  void Dot() {
    static_assert(C != A && C != B && A != B, "TDPB*D needs three distinct tiles");
    const int rows = kTileConfig.rows[C], k_quads = kTileConfig.colsb[A] / 4, cols = kTileConfig.colsb[C] / 4;
    if (kTileConfig.rows[A] != rows || kTileConfig.rows[B] != k_quads || kTileConfig.colsb[B] != 4 * cols) std::abort();
    for (int m = 0; m < rows; ++m) {
      for (int n = 0; n < cols; ++n) {
        uint32_t sum;
        std::memcpy(&sum, t_[C][m] + 4 * n, 4);
        for (int k = 0; k < k_quads; ++k) {
          for (int i = 0; i < 4; ++i) {
            const uint8_t a = t_[A][m][4 * k + i];
            const int32_t av = kSigned ? int32_t{static_cast<int8_t>(a)} : int32_t{a};
            sum += static_cast<uint32_t>(av * int32_t{static_cast<int8_t>(t_[B][k][4 * n + i])});
          }
        }
        std::memcpy(t_[C][m] + 4 * n, &sum, 4);
      }
    }
  }

 private:
  uint8_t t_[8][kTileRows][kTileBytes];
};

// One step of the AMX path: B (two tile images, 128-byte k-quad rows) against 64 activation bytes of each row,
// row r's at a + stride * r. Step s of a TMAC covers its tiles 2s and 2s+1; with an odd count the last step
// reads the last two tiles' activations against zeros for the first of them, so no row is read beyond its
// 32 * tiles bytes (hence no TMAC of one tile on this path: AmxChainRows).
struct AmxStep {
  const uint8_t* b;
  const uint8_t* a;
  int64_t stride;
};

// The steps of `job`, appended to `steps`; weights that must be copied go to staging[*used ...].
void PlanSteps(const TmacJob& job, std::vector<AmxPairBlock>* staging, size_t* used, std::vector<AmxStep>* steps) {
  const int n = job.ntiles;
  const uint8_t* a = job.sram + job.a_addr;
  for (int s = 0; 2 * s < n; ++s) {
    if (2 * s + 1 < n) {
      const uint8_t* first = job.tiles[2 * s].data;
      const uint8_t* second = job.tiles[2 * s + 1].data;
      if (second == first + kInt8TileBytes) {  // loaded from consecutive SRAM: read in place
        steps->push_back({first, a + int64_t{2 * kLanes} * s, job.a_stride});
        continue;
      }
      uint8_t* block = (*staging)[(*used)++].bytes;
      std::memcpy(block, first, kInt8TileBytes);
      std::memcpy(block + kInt8TileBytes, second, kInt8TileBytes);
      steps->push_back({block, a + int64_t{2 * kLanes} * s, job.a_stride});
    } else {
      uint8_t* block = (*staging)[(*used)++].bytes;
      std::memset(block, 0, kInt8TileBytes);
      std::memcpy(block + kInt8TileBytes, job.tiles[n - 1].data, kInt8TileBytes);
      steps->push_back({block, a + int64_t{kLanes} * (n - 2), job.a_stride});
    }
  }
}

// A TMAC or a chain of TMACs on the same ACC rows, as the AMX path runs it: every step of every TMAC in issue
// order on one group of rows while its C tiles stay loaded.
struct AmxChain {
  const AmxStep* steps;
  const size_t* pass_ends;  // passes: steps [pass_ends[p - 1], pass_ends[p]) (below)
  size_t passes;
  uint32_t* acc;         // ACC row of row 0
  const uint32_t* seed;  // when set, the rows start as this ACC row instead of from ACC
  TmacTail tail;
  bool s8;
};

// Rows [r0, r1) (r0 and r1 - r0 multiples of 16) of steps [s0, s1) of a chain on the tile unit `tu`, starting
// from `seed` where set (the seed row repeated: a stride of 0), else from ACC.
template <class Tiles, bool kSigned>
void AmxRows(Tiles& tu, const AmxChain& ch, size_t s0, size_t s1, const uint32_t* seed, uint32_t r0, uint32_t r1) {
  const int64_t c_stride = seed != nullptr ? 0 : kAccStride;
  auto c_from = [&](const uint32_t* c) { return seed != nullptr ? seed : c; };
  uint32_t r = r0;
  for (; r + 2 * kTileRows <= r1; r += 2 * kTileRows) {
    uint32_t* c0 = ch.acc + size_t{r} * kLanes;
    uint32_t* c1 = c0 + size_t{kTileRows} * kLanes;
    tu.template Load<0>(c_from(c0), c_stride);
    tu.template Load<1>(c_from(c0) + 16, c_stride);
    tu.template Load<2>(c_from(c1), c_stride);
    tu.template Load<3>(c_from(c1) + 16, c_stride);
    for (size_t st = s0; st < s1; ++st) {
      const AmxStep& p = ch.steps[st];
      tu.template Load<4>(p.a + p.stride * int64_t{r}, p.stride);
      tu.template Load<5>(p.a + p.stride * int64_t{r + kTileRows}, p.stride);
      tu.template Load<6>(p.b, kPairStride);
      tu.template Load<7>(p.b + kTileBytes, kPairStride);
      tu.template Dot<0, 4, 6, kSigned>();
      tu.template Dot<1, 4, 7, kSigned>();
      tu.template Dot<2, 5, 6, kSigned>();
      tu.template Dot<3, 5, 7, kSigned>();
    }
    tu.template Store<0>(c0, kAccStride);
    tu.template Store<1>(c0 + 16, kAccStride);
    tu.template Store<2>(c1, kAccStride);
    tu.template Store<3>(c1 + 16, kAccStride);
  }
  if (r < r1) {  // one group of 16 rows left
    uint32_t* c0 = ch.acc + size_t{r} * kLanes;
    tu.template Load<0>(c_from(c0), c_stride);
    tu.template Load<1>(c_from(c0) + 16, c_stride);
    for (size_t st = s0; st < s1; ++st) {
      const AmxStep& p = ch.steps[st];
      tu.template Load<4>(p.a + p.stride * int64_t{r}, p.stride);
      tu.template Load<6>(p.b, kPairStride);
      tu.template Load<7>(p.b + kTileBytes, kPairStride);
      tu.template Dot<0, 4, 6, kSigned>();
      tu.template Dot<1, 4, 7, kSigned>();
    }
    tu.template Store<0>(c0, kAccStride);
    tu.template Store<1>(c0 + 16, kAccStride);
  }
}

// Rows per piece of a batch: the tail (REQ or ACC_ST) of a piece reads its ACC rows (16 KiB) from L1, and so
// does each pass after the first.
constexpr uint32_t kPieceRows = 128;
// A piece runs the chain's steps in passes that read at most this many B blocks (16 KiB), which then stay
// in L1 across the piece's rows; each pass loads and stores C. The 32 tiles of a 1024^3 GEMM's chain in
// two passes: 1384 -> 1275 us (u8s8, one thread, medians of 3). A chain that repeats its tiles (a TMAC
// repeated on the same rows) stays one pass.
constexpr int kPassBlocks = 8;

// Where the passes of `steps` end.
void PlanPasses(const std::vector<AmxStep>& steps, std::vector<size_t>* ends) {
  ends->clear();
  const uint8_t* seen[kPassBlocks];
  int n = 0;
  for (size_t st = 0; st < steps.size(); ++st) {
    if (std::find(seen, seen + n, steps[st].b) != seen + n) continue;
    if (n == kPassBlocks) ends->push_back(st), n = 0;
    seen[n++] = steps[st].b;
  }
  ends->push_back(steps.size());
}

// One batch of tile work on rows [r0, r1): configure, run each piece's passes and then its tail, release.
template <class Tiles>
void AmxBatchOn(const AmxChain& ch, uint32_t r0, uint32_t r1) {
  Tiles tu;
  for (uint32_t p0 = r0; p0 < r1; p0 += kPieceRows) {
    const uint32_t p1 = std::min(r1, p0 + kPieceRows);
    for (size_t p = 0; p < ch.passes; ++p) {
      const size_t s0 = p == 0 ? 0 : ch.pass_ends[p - 1], s1 = ch.pass_ends[p];
      const uint32_t* seed = p == 0 ? ch.seed : nullptr;  // the first pass stored the rows
      ch.s8 ? AmxRows<Tiles, true>(tu, ch, s0, s1, seed, p0, p1) : AmxRows<Tiles, false>(tu, ch, s0, s1, seed, p0, p1);
    }
    RunTmacTail(ch.tail, ch.acc, p0, p1);
  }
}

void AmxBatch(AmxEngine engine, const AmxChain& ch, uint32_t r0, uint32_t r1) {
  if (engine == AmxEngine::kHardware && kHaveHardwareTiles) {
    AmxBatchOn<HardwareTiles>(ch, r0, r1);
  } else {
    AmxBatchOn<SoftwareTiles>(ch, r0, r1);
  }
}

// ---- The path ----

bool AmxUsableHere(std::string* why = nullptr) {
#if defined(__x86_64__)
  return Host().AmxInt8Usable(why);
#else
  if (why != nullptr) *why = "not an x86-64 build";
  return false;
#endif
}

[[noreturn]] void FailAmxUnusable() {
  std::string why;
  AmxUsableHere(&why);
  Fail("TMAC path amx: AMX-INT8 cannot run on this host: ", why);
}

TmacPath PathFromEnvironment() {
  const char* v = std::getenv("TILE32_TMAC_PATH");
  if (v == nullptr || *v == '\0') return TmacPath::kAuto;
  for (TmacPath p : {TmacPath::kAuto, TmacPath::kAmx, TmacPath::kAmxSoftware, TmacPath::kHighway}) {
    if (std::string(v) != NameOf(p)) continue;
    if (p == TmacPath::kAmx && !AmxUsableHere()) FailAmxUnusable();
    return p;
  }
  Fail("TILE32_TMAC_PATH: '", v, "' is none of auto, amx, amx-software, highway");
}

// Read from the environment at first use; a bad value throws there, and again at the next use.
std::atomic<int>& PathSlot() {
  static std::atomic<int> slot{static_cast<int>(PathFromEnvironment())};
  return slot;
}

std::atomic<bool> g_target_forced{false};
std::atomic<uint64_t> g_amx_rows_run{0};

}  // namespace

const char* NameOf(TmacPath path) {
  switch (path) {
    case TmacPath::kAuto: return "auto";
    case TmacPath::kAmx: return "amx";
    case TmacPath::kAmxSoftware: return "amx-software";
    case TmacPath::kHighway: return "highway";
  }
  return "?";
}

void ForceTmacPath(TmacPath path) {
  if (path == TmacPath::kAmx && !AmxUsableHere()) FailAmxUnusable();
  PathSlot().store(static_cast<int>(path), std::memory_order_relaxed);
}

TmacPath ForcedTmacPath() { return static_cast<TmacPath>(PathSlot().load(std::memory_order_relaxed)); }

AmxEngine AmxEngineFor(TmacPath path, bool amx_usable, bool target_forced) {
  switch (path) {
    case TmacPath::kAuto: return amx_usable && !target_forced ? AmxEngine::kHardware : AmxEngine::kNone;
    case TmacPath::kAmx: return amx_usable ? AmxEngine::kHardware : AmxEngine::kNone;
    case TmacPath::kAmxSoftware: return AmxEngine::kSoftware;
    case TmacPath::kHighway: return AmxEngine::kNone;
  }
  return AmxEngine::kNone;
}

AmxEngine CurrentAmxEngine() {
  static const bool usable = AmxUsableHere();
  return AmxEngineFor(ForcedTmacPath(), usable, g_target_forced.load(std::memory_order_relaxed));
}

void NoteSimdTargetForced(bool forced) { g_target_forced.store(forced, std::memory_order_relaxed); }

uint64_t AmxTmacRowsRun() { return g_amx_rows_run.load(std::memory_order_relaxed); }

void RunTmacAmx(const TmacJob* const* jobs, size_t n, const TmacTail& tail, uint32_t amx_rows, AmxEngine engine,
                bool parallel, std::vector<AmxPairBlock>* staging) {
  thread_local std::vector<AmxStep> steps;
  thread_local std::vector<size_t> pass_ends;
  steps.clear();
  size_t blocks = 0;
  for (size_t j = 0; j < n; ++j) blocks += size_t(jobs[j]->ntiles + 1) / 2;
  if (staging->size() < blocks) staging->resize(blocks);
  size_t used = 0;
  for (size_t j = 0; j < n; ++j) PlanSteps(*jobs[j], staging, &used, &steps);
  PlanPasses(steps, &pass_ends);
  const TmacJob& first = *jobs[0];
  const AmxChain ch{steps.data(), pass_ends.data(), pass_ends.size(), first.acc, first.seed, tail,
                    first.mode == MacMode::kS8S8};
  g_amx_rows_run.fetch_add(amx_rows, std::memory_order_relaxed);
  if (!parallel) {
    AmxBatch(engine, ch, 0, amx_rows);
  } else {
    // One task of whole 32-row blocks per thread: each task reads the chain's B from its own core's caches
    // once per piece, and configures and releases the tile unit once (about 85 ns). Against tasks of 1024 to
    // 2048 row-tiles, two threads: 1024^3 u8s8 866-880 -> 812-836 us, 3136x64x576 148-150 -> 133-149,
    // ResNet-50 28x28x128 3x3 direct 126-127 -> 116-120 (two runs each).
    constexpr uint32_t kUnit = 2 * kTileRows;
    const uint32_t units = (amx_rows + kUnit - 1) / kUnit;
    const auto threads = static_cast<uint32_t>(tbb::this_task_arena::max_concurrency());
    const uint32_t grain = (units + threads - 1) / threads;
    tbb::parallel_for(tbb::blocked_range<uint32_t>(0, units, grain), [&](const tbb::blocked_range<uint32_t>& range) {
      AmxBatch(engine, ch, kUnit * range.begin(), std::min(amx_rows, kUnit * range.end()));
    });
  }
  if (amx_rows < first.row_end) {  // the rows after the last group of 16, TMAC by TMAC in issue order
    for (size_t j = 0; j < n; ++j) {
      TmacJob rest = *jobs[j];
      rest.row_begin = amx_rows;
      if (j + 1 == n) rest.tail = tail;
      RunTmacRows(rest);
    }
  }
}

}  // namespace tile32

#include "kernels/gemm_loop.h"

#include <algorithm>
#include <vector>

#include "accel/error.h"

namespace tile32 {
namespace {

// Sources of the activation padding (K up to a whole number of tiles), at least 32 elements of the widest
// activation type. Integer modes: zero bytes (padded weights are zero too, so any byte would give an exact
// 0; zeros keep SRAM deterministic). BF16: -0.0 (bf16 0x8000, little-endian 00 80), see gemm_loop.h.
const uint8_t kZeros[2 * kLanes] = {};
struct NegZeroBf16 {
  uint8_t bytes[2 * kLanes];
  NegZeroBf16() {
    for (int i = 0; i < kLanes; ++i) bytes[2 * i] = 0x00, bytes[2 * i + 1] = 0x80;
  }
};
const NegZeroBf16 kNegZerosBf16;

}  // namespace

uint64_t BlockRowsCap(const AccelConfig& c, uint64_t a_row_bytes) {
  const uint64_t by_acc = std::max<uint64_t>(kLanes, c.acc_rows / kBlockRowsShare);
  const uint64_t by_sram = c.sram_bytes / kBlockSramShare / std::max<uint64_t>(1, a_row_bytes) / kLanes * kLanes;
  return by_sram >= kBlockSramRowsMin ? std::min(by_acc, by_sram) : by_acc;
}

GemmLoopPlan PlanGemmLoop(const AccelConfig& c, const GemmLoopShape& g) {
  const bool row_sums = g.row_sums;
  const uint64_t elem = SizeOf(ActivationType(g.mode));
  const uint64_t kp = uint64_t{kLanes} * g.k_tiles * elem;
  const int most_chunk = static_cast<int>(std::min<uint64_t>({c.tile_regs, uint64_t(g.k_tiles), 255}));
  const uint64_t out_row = Align64(uint64_t{kLanes} * SizeOf(g.out));
  const uint64_t epilogue_bytes = g.epilogue_bytes;
  const uint64_t images = g.tile_bytes * uint64_t(g.k_tiles) * uint64_t(g.n_tiles);
  // Row sums: a second ACC row per row, and two spare rows for the factors and the bias.
  auto acc_cap = [&](int sets) -> uint64_t {
    return row_sums ? (c.acc_rows < 2 ? 0 : (c.acc_rows - 2) / (sets + 1)) : c.acc_rows / sets;
  };
  if (acc_cap(1) == 0) {
    Fail(g.fn, ": accelerator configuration too small: acc_rows = ", c.acc_rows,
         " cannot hold one accumulator row, one row sum and the two rows of factors and bias (weight zero points "
         "need at least 4)");
  }

  // In order of preference: weights and activations resident; activations resident, weights streamed
  // per chunk; both streamed per chunk. The first that fits `want` rows wins, else the most rows.
  auto plan = [&](int sets, int bufs, int chunk) {
    const uint64_t want = std::min<uint64_t>({uint64_t(g.M), acc_cap(sets), BlockRowsCap(c, kp)});
    GemmLoopPlan best;
    const bool options[3][2] = {{true, true}, {false, true}, {false, false}};
    for (const auto& o : options) {
      if (bufs == 2 && !o[1]) continue;  // streamed A is reloaded per chunk: nothing to load ahead
      GemmLoopPlan p;
      p.w_resident = o[0];
      p.a_full = o[1];
      p.chunk_tiles = chunk;
      p.sets = sets, p.bufs = bufs;
      // Slack for SramPlan::Take rounding each region's start up to 64 bytes.
      const uint64_t fixed = WeightTiles::SramBytes(images, g.tile_bytes, p.w_resident, chunk, row_sums) +
                             epilogue_bytes + 64 * 6;
      const uint64_t a_row = p.a_full ? kp : uint64_t{kLanes} * chunk * elem;
      const uint64_t per_row = bufs * a_row + sets * out_row;
      const uint64_t rows = want == 0 || fixed >= c.sram_bytes ? 0 : std::min(want, (c.sram_bytes - fixed) / per_row);
      p.rows = static_cast<uint32_t>(rows < uint64_t(g.M) && rows >= uint64_t(g.row_quantum) && g.row_quantum > 1
                                          ? rows / g.row_quantum * g.row_quantum : rows);
      p.a_row = static_cast<uint32_t>(a_row);
      if (p.rows > best.rows) best = p;
      if (rows == want) return p;
    }
    return best;
  };
  // Streamed weights come `chunk` tiles at a time: as many as there are tile registers, fewer (down to one)
  // when an SRAM that small holds no more.
  GemmLoopPlan single = plan(1, 1, most_chunk);
  for (int chunk = most_chunk / 2; single.rows == 0 && chunk >= 1; chunk /= 2) single = plan(1, 1, chunk);
  if (single.rows == 0) {
    const uint64_t need = WeightTiles::SramBytes(images, g.tile_bytes, false, 1, row_sums) + epilogue_bytes +
                          kLanes * elem + out_row;
    Fail(g.fn, ": accelerator configuration too small: sram_bytes = ", c.sram_bytes, " cannot hold one ",
         g.tile_bytes, "-byte weight tile, the bias and row-sum rows and one activation + output row (needs about ",
         need, ")");
  }
  // Two ACC sets, two A buffers, or both, only where the blocks one set holds stay whole: smaller blocks
  // mean more TMACs, and the SIMD machine's threads pay a wake-up per TMAC (ResNet-50's 3x3 56x56 layer as
  // an im2col GEMM, 3136 rows cut into 2048 + 1088: 4 % slower; the model machine gained 1-3 % on the
  // network). One row block needs one A buffer.
  GemmLoopPlan chosen = single;
  for (const auto& [sets, bufs] : {std::pair{2, 2}, std::pair{2, 1}, std::pair{1, 2}}) {
    const GemmLoopPlan two = plan(sets, bufs, single.chunk_tiles);
    if (bufs == 2 && two.rows >= g.M) continue;
    if (two.rows > 0 && two.rows >= single.rows && two.w_resident >= single.w_resident &&
        two.a_full >= single.a_full) {
      chosen = two;
      break;
    }
  }
  // Streamed weights take what SRAM has left beside the rest (the plan left room for one chunk) for two
  // windows.
  const uint64_t others = epilogue_bytes + chosen.bufs * Align64(uint64_t{chosen.rows} * chosen.a_row) +
                          chosen.sets * Align64(uint64_t{chosen.rows} * out_row);
  chosen.w_budget = c.sram_bytes > others ? c.sram_bytes - others : 0;
  return chosen;
}

GemmLoopShape GemmLoopShapeOf(const GemmLoopArgs& g, const AccelConfig& c, const EpilogueArgs& e) {
  GemmLoopShape s;
  s.fn = g.fn;
  s.M = g.M, s.row_quantum = g.row_quantum, s.mode = g.mode;
  s.K = g.b->K, s.N = g.b->N, s.k_tiles = g.b->k_tiles, s.n_tiles = g.b->n_tiles, s.tile_bytes = g.b->tile_bytes();
  s.row_sums = g.epilogue.row_sum_scale != nullptr;
  s.out = g.epilogue.out;
  s.epilogue_bytes = Epilogue::SramBytes(c, e);
  return s;
}

void RunGemmLoop(Machine& m, DramBindings& dram, const GemmLoopArgs& g) {
  const PackedWeights& b = *g.b;
  if (b.dtype != WeightType(g.mode)) {
    Fail(g.fn, ": packed weights hold ", NameOf(b.dtype), ", TMAC ", NameOf(g.mode), " needs ",
         NameOf(WeightType(g.mode)));
  }
  const bool row_sums = g.epilogue.row_sum_scale != nullptr;
  if (row_sums && !IsInt8(ActivationType(g.mode))) {
    Fail(g.fn, ": row sums are only defined for the INT8 modes, not ", NameOf(g.mode));
  }
  EpilogueArgs ea = g.epilogue;
  ea.resident = true;  // a per-block bias DMA would queue behind the loads and hold up the seed
  const GemmLoopPlan p = PlanGemmLoop(m.config(), GemmLoopShapeOf(g, m.config(), ea));
  const int K = b.K, N = b.N, k_tiles = b.k_tiles, n_tiles = b.n_tiles;
  const uint32_t elem = static_cast<uint32_t>(SizeOf(ActivationType(g.mode)));

  SramPlan sram(m.config(), g.fn);
  const uint32_t out_row = static_cast<uint32_t>(Align64(uint64_t{kLanes} * SizeOf(ea.out)));
  // Resident weights in windows only for blocks of a TMAC's worth of rows: with fewer (a GEMV) there are hardly
  // any TMACs to hide the DMAs behind (ResNet-50's fc, default preset: 124,152 -> 119,965 cycles), and the SIMD
  // machine took 2-3 % longer on gemm/tile32/u8s8/M:1/N:1024/K:1024 (1 MiB of weights) with windows.
  WeightTiles weights(m, dram, sram, b, p.w_resident, p.chunk_tiles, row_sums,
                      p.w_budget, p.rows >= kLanes);
  Epilogue epilogue(m, dram, sram, ea);
  uint32_t a_addr[2], out_addr[2];
  for (int i = 0; i < p.bufs; ++i) a_addr[i] = sram.Take("the activation rows", uint64_t{p.rows} * p.a_row);
  for (int i = 0; i < p.sets; ++i) out_addr[i] = sram.Take("the output rows", uint64_t{p.rows} * out_row);
  const uint32_t seg_pad = g.mode == MacMode::kBF16 ? dram.BindReadOnly(kNegZerosBf16.bytes, sizeof(kNegZerosBf16.bytes))
                                                    : dram.BindReadOnly(kZeros, sizeof(kZeros));
  // Padding in columns [from, to) (elements) of `rows` A rows at `at`; to - from < 32.
  auto pad_columns = [&](uint32_t at, uint32_t rows, uint32_t from, uint32_t to) {
    if (from >= to) return;
    DmaIn d;
    d.sram = at + from * elem, d.segment = seg_pad, d.rows = rows, d.row_bytes = (to - from) * elem;
    d.dram_stride = 0, d.sram_stride = p.a_row;
    m.Execute(d);
  };
  // All of A's columns of rows [m0, m0 + rows) into buffer `buf`, padded (plan a_full).
  auto load_a_rows = [&](int64_t m0, uint32_t rows, int buf) {
    g.load_a(m0, rows, 0, K, a_addr[buf], p.a_row);
    pad_columns(a_addr[buf], rows, static_cast<uint32_t>(K), static_cast<uint32_t>(kLanes * k_tiles));
  };
  // A columns [32*kt0, 32*(kt0 + tiles)) of rows [m0, m0 + rows) at a_addr[0], padded (streamed plan).
  auto load_a_chunk = [&](int64_t m0, uint32_t rows, int kt0, int tiles) {
    const int k0 = kLanes * kt0;
    const int cols = std::min(K - k0, kLanes * tiles);
    g.load_a(m0, rows, k0, cols, a_addr[0], p.a_row);
    pad_columns(a_addr[0], rows, static_cast<uint32_t>(cols), static_cast<uint32_t>(kLanes * tiles));
  };
  // The TMACs of one K chain into ACC rows [acc_row, +rows), chunk by chunk in ascending K; `after_first`
  // once the first TMAC is issued (work that may overlap the chain).
  auto chain = [&](int64_t m0, uint32_t rows, int buf, uint32_t acc_row, int nt, auto&& after_first) {
    const bool wrap = m0 + p.rows < g.M;  // another row block walks the weights again
    for (int kt0 = 0; kt0 < k_tiles; kt0 += p.chunk_tiles) {
      const int tiles = std::min(p.chunk_tiles, k_tiles - kt0);
      if (nt >= 0) {
        weights.Load(kt0, tiles, nt);
      } else {
        weights.LoadOnes(tiles);
      }
      uint32_t a = a_addr[buf] + uint32_t{kLanes} * elem * kt0;
      if (!p.a_full) load_a_chunk(m0, rows, kt0, tiles), a = a_addr[0];
      IssueTmac(m, g.mode, acc_row, rows, a, static_cast<int32_t>(p.a_row), tiles);
      weights.Prefetch(wrap);
      if (kt0 == 0) after_first();
    }
  };

  // A column block whose TMACs are issued: requantized (or stored as is) into staging rows after the next
  // block's seed, stored after the next block's first TMAC. Blocks of 1-byte outputs (32 bytes a row) go in
  // pairs (GemmStagingPair): both into one 64-byte staging row, stored together after the second.
  struct Unit {
    int64_t m0;
    uint32_t rows;
    int nt, set, region;  // column block, ACC set, staging region
  };
  const int pair = GemmStagingPair(ea.out);
  std::vector<Unit> to_convert, to_store;  // at most one of each
  auto store = [&]() {
    for (const Unit& q : to_store) {
      if (!GemmStagingComplete(q.nt, n_tiles, pair)) continue;  // the first of a pair: left with the second
      const int nt0 = q.nt - q.nt % pair;
      g.store_c(q.m0, q.rows, kLanes * nt0, std::min(kLanes * pair, N - kLanes * nt0), out_addr[q.region], out_row);
    }
    to_store.clear();
  };
  auto convert = [&]() {
    for (const Unit& q : to_convert) {
      store();  // its staging rows are free once their last block left
      const uint32_t at = out_addr[q.region] + static_cast<uint32_t>((q.nt % pair) * kLanes * SizeOf(ea.out));
      epilogue.Convert(q.set * p.rows, q.rows, kLanes * q.nt, N, at, static_cast<int32_t>(out_row));
      to_store.push_back(q);
    }
    to_convert.clear();
  };

  const uint32_t sums_row = p.sets * p.rows, spare_rows = sums_row + p.rows;  // row sums: after the sets
  int units = 0;
  for (int64_t m0 = 0, bi = 0; m0 < g.M; m0 += p.rows, ++bi) {
    const uint32_t rows = static_cast<uint32_t>(std::min<int64_t>(p.rows, g.M - m0));
    const int buf = static_cast<int>(bi % p.bufs);
    if (p.a_full && (m0 == 0 || p.bufs == 1)) load_a_rows(m0, rows, buf);
    if (row_sums) {  // sums_row + r holds sum_k A[m0 + r][k] in every lane, for every column block
      AccZero z;
      z.row = sums_row, z.rows = rows;
      m.Execute(z);
      chain(m0, rows, buf, sums_row, -1, [] {});
    }
    for (int nt = 0; nt < n_tiles; ++nt) {
      const Unit u{m0, rows, nt, units++ % p.sets, GemmStagingRegion(bi, nt, n_tiles, pair, p.sets)};
      if (!to_convert.empty() && to_convert[0].set == u.set) convert();  // one set: it is needed now
      if (row_sums) {
        epilogue.SeedWithRowSums(u.set * p.rows, rows, nt, sums_row, spare_rows);
      } else {
        epilogue.Seed(u.set * p.rows, rows, nt);
      }
      // The previous block's REQ after this block's seed (which it would hold up) and before its TMACs
      // (which would hold it up); its store, and halfway through the column blocks the next row block's
      // loads, behind the first TMAC.
      convert();
      chain(m0, rows, buf, u.set * p.rows, nt, [&] {
        store();
        if (p.bufs == 2 && nt == n_tiles / 2 && m0 + p.rows < g.M) {
          load_a_rows(m0 + p.rows, static_cast<uint32_t>(std::min<int64_t>(p.rows, g.M - m0 - p.rows)), 1 - buf);
        }
      });
      to_convert.push_back(u);
    }
  }
  convert();
  store();
}

}  // namespace tile32

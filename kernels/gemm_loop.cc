#include "kernels/gemm_loop.h"

#include <algorithm>

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

// The shape of one call's SRAM use, chosen from the configuration.
struct Plan {
  bool w_resident = false;  // all packed tiles stay in SRAM for the whole call
  bool a_full = false;      // an A row holds all 32*k_tiles columns (A then stays across N blocks)
  int chunk_tiles = 0;      // tiles per TMAC (<= tile_regs)
  uint32_t rows = 0;        // A rows (= ACC rows) per block; row sums, if any, in ACC [rows, 2*rows)
  uint32_t a_row = 0;       // bytes per A row in SRAM
};

Plan MakePlan(const AccelConfig& c, const GemmLoopArgs& g) {
  const PackedWeights& b = *g.b;
  const bool row_sums = g.epilogue.row_sum_scale != nullptr;
  const uint64_t elem = SizeOf(ActivationType(g.mode));
  const uint64_t kp = uint64_t{kLanes} * b.k_tiles * elem;
  const int chunk = static_cast<int>(std::min<uint64_t>({c.tile_regs, uint64_t(b.k_tiles), 255}));
  const uint64_t out_row = Align64(uint64_t{kLanes} * SizeOf(g.epilogue.out));
  const uint64_t epilogue_bytes = (g.epilogue.bias != nullptr ? 128 : 0) + (row_sums ? 128 : 0);
  // Row sums: a second ACC row per row, and two spare rows for the factors and the bias.
  const uint64_t acc_rows = row_sums ? (c.acc_rows < 2 ? 0 : (c.acc_rows - 2) / 2) : c.acc_rows;
  if (acc_rows == 0) {
    Fail(g.fn, ": accelerator configuration too small: acc_rows = ", c.acc_rows,
         " cannot hold one accumulator row, one row sum and the two rows of factors and bias (weight zero points "
         "need at least 4)");
  }
  const uint64_t want = std::min<uint64_t>(uint64_t(g.M), acc_rows);

  // In order of preference: weights and activations resident; activations resident, weights streamed
  // per chunk; both streamed per chunk. The first that fits `want` rows wins, else the most rows.
  Plan best;
  const bool options[3][2] = {{true, true}, {false, true}, {false, false}};
  for (const auto& o : options) {
    Plan p;
    p.w_resident = o[0];
    p.a_full = o[1];
    p.chunk_tiles = chunk;
    // Slack for SramPlan::Take rounding each region's start up to 64 bytes.
    const uint64_t fixed = WeightTiles::SramBytes(b, p.w_resident, chunk, row_sums) + epilogue_bytes + 64 * 4;
    const uint64_t a_row = p.a_full ? kp : uint64_t{kLanes} * chunk * elem;
    const uint64_t rows = fixed >= c.sram_bytes ? 0 : std::min(want, (c.sram_bytes - fixed) / (a_row + out_row));
    p.rows = static_cast<uint32_t>(rows);
    p.a_row = static_cast<uint32_t>(a_row);
    if (p.rows > best.rows) best = p;
    if (p.rows == want) return p;
  }
  if (best.rows == 0) {
    const uint64_t need = WeightTiles::SramBytes(b, false, 1, row_sums) + epilogue_bytes + kLanes * elem + out_row;
    Fail(g.fn, ": accelerator configuration too small: sram_bytes = ", c.sram_bytes, " cannot hold one ",
         b.tile_bytes(), "-byte weight tile, the bias and row-sum rows and one activation + output row (needs about ",
         need, ")");
  }
  return best;
}

}  // namespace

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
  const Plan p = MakePlan(m.config(), g);
  const int K = b.K, N = b.N, k_tiles = b.k_tiles, n_tiles = b.n_tiles;
  const uint32_t elem = static_cast<uint32_t>(SizeOf(ActivationType(g.mode)));

  SramPlan sram(m.config(), g.fn);
  WeightTiles weights(m, dram, sram, b, p.w_resident, p.chunk_tiles, row_sums);
  Epilogue epilogue(m, dram, sram, g.epilogue);
  const uint32_t a_addr = sram.Take("the activation rows", uint64_t{p.rows} * p.a_row);
  const uint32_t out_row = static_cast<uint32_t>(Align64(epilogue.row_bytes()));
  const uint32_t out_addr = sram.Take("the output rows", uint64_t{p.rows} * out_row);
  const uint32_t seg_pad = g.mode == MacMode::kBF16 ? dram.BindReadOnly(kNegZerosBf16.bytes, sizeof(kNegZerosBf16.bytes))
                                                    : dram.BindReadOnly(kZeros, sizeof(kZeros));
  // Padding in columns [from, to) (elements) of `rows` A rows; to - from < 32.
  auto pad_columns = [&](uint32_t rows, uint32_t from, uint32_t to) {
    if (from >= to) return;
    DmaIn d;
    d.sram = a_addr + from * elem, d.segment = seg_pad, d.rows = rows, d.row_bytes = (to - from) * elem;
    d.dram_stride = 0, d.sram_stride = p.a_row;
    m.Execute(d);
  };
  // A columns [32*kt0, 32*(kt0 + tiles)) of rows [m0, m0 + rows) at a_addr, padded (streamed plan).
  auto load_a_chunk = [&](int64_t m0, uint32_t rows, int kt0, int tiles) {
    const int k0 = kLanes * kt0;
    const int cols = std::min(K - k0, kLanes * tiles);
    g.load_a(m0, rows, k0, cols, a_addr, p.a_row);
    pad_columns(rows, static_cast<uint32_t>(cols), static_cast<uint32_t>(kLanes * tiles));
  };
  // The TMACs of one K chain into ACC rows [acc_row, +rows), chunk by chunk in ascending K.
  auto chain = [&](int64_t m0, uint32_t rows, uint32_t acc_row, int nt) {
    for (int kt0 = 0; kt0 < k_tiles; kt0 += p.chunk_tiles) {
      const int tiles = std::min(p.chunk_tiles, k_tiles - kt0);
      if (nt >= 0) {
        weights.Load(kt0, tiles, nt);
      } else {
        weights.LoadOnes(tiles);
      }
      uint32_t a = a_addr + uint32_t{kLanes} * elem * kt0;
      if (!p.a_full) load_a_chunk(m0, rows, kt0, tiles), a = a_addr;
      IssueTmac(m, g.mode, acc_row, rows, a, static_cast<int32_t>(p.a_row), tiles);
    }
  };

  for (int64_t m0 = 0; m0 < g.M; m0 += p.rows) {
    const uint32_t rows = static_cast<uint32_t>(std::min<int64_t>(p.rows, g.M - m0));
    if (p.a_full) {
      g.load_a(m0, rows, 0, K, a_addr, p.a_row);
      pad_columns(rows, static_cast<uint32_t>(K), static_cast<uint32_t>(kLanes * k_tiles));
    }
    const uint32_t sums_row = p.rows, spare_rows = 2 * p.rows;  // row sums: ACC [rows, 2 rows) and two more
    if (row_sums) {  // sums_row + r holds sum_k A[m0 + r][k] in every lane, for every column block
      AccZero z;
      z.row = sums_row, z.rows = rows;
      m.Execute(z);
      chain(m0, rows, sums_row, -1);
    }
    for (int nt = 0; nt < n_tiles; ++nt) {
      if (row_sums) {
        epilogue.SeedWithRowSums(0, rows, nt, sums_row, spare_rows);
      } else {
        epilogue.Seed(0, rows, nt);
      }
      chain(m0, rows, 0, nt);
      epilogue.Convert(0, rows, kLanes * nt, N, out_addr, static_cast<int32_t>(out_row));
      g.store_c(m0, rows, kLanes * nt, std::min(kLanes, N - kLanes * nt), out_addr, out_row);
    }
  }
}

}  // namespace tile32

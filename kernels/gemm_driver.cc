#include "kernels/gemm_driver.h"

#include <algorithm>
#include <cstring>

#include "accel/error.h"

namespace tile32 {

// ---- DramBindings ----

DramBindings::~DramBindings() {
  for (uint32_t s = kKernelFirstSegment; s < next_; ++s) machine_.UnbindDram(s);
}

uint32_t DramBindings::Next() {
  if (next_ >= kMaxDramSegments) {
    Fail(fn_, ": needs more than ", kMaxDramSegments - kKernelFirstSegment, " DRAM segments");
  }
  return next_++;
}

uint32_t DramBindings::BindReadOnly(const void* base, uint64_t bytes) {
  const uint32_t s = Next();
  machine_.BindDramReadOnly(s, base, bytes);
  return s;
}

uint32_t DramBindings::Bind(void* base, uint64_t bytes) {
  const uint32_t s = Next();
  machine_.BindDram(s, base, bytes);
  return s;
}

// ---- The GEMM loop ----

namespace {

// Sources of the activation padding (K up to a whole number of tiles), at least 32 elements of the
// widest activation type. Integer modes: zero bytes (padded weights are zero too, so any byte would give
// an exact 0; zeros keep SRAM deterministic). BF16: -0.0 (bf16 0x8000, little-endian 00 80), because
// fma(-0, +0, acc) = acc for every acc, while fma(+0, +0, -0) = +0 would change a -0 result.
const uint8_t kZeros[2 * kLanes] = {};
struct NegZeroBf16 {
  uint8_t bytes[2 * kLanes];
  NegZeroBf16() {
    for (int i = 0; i < kLanes; ++i) bytes[2 * i] = 0x00, bytes[2 * i + 1] = 0x80;
  }
};
const NegZeroBf16 kNegZerosBf16;

// The all-ones int8 tile image used for row sums: TMAC against it puts sum_k A[k] in all 32 lanes.
struct OnesTile {
  uint8_t bytes[kLanes * kLanes];
  OnesTile() {
    for (auto& b : bytes) b = 1;
  }
};
const OnesTile kOnesTile;

// Where everything sits in SRAM for one call, chosen from the configuration.
struct Plan {
  bool w_resident = false;  // all packed tiles stay in SRAM for the whole call
  bool a_full = false;      // an A row holds all 32*k_tiles columns (A then stays across N blocks)
  int chunk_tiles = 0;      // tiles per TMAC (<= tile_regs)
  uint32_t rows = 0;        // A rows (= ACC rows) per block; row sums, if any, in ACC [rows, 2*rows)
  uint32_t a_row = 0;       // bytes per A row in SRAM
  uint32_t out_row = 0;     // bytes per staged output row (32 lanes)
  uint32_t w_addr = 0, bias_addr = 0, scale_addr = 0, ones_addr = 0, a_addr = 0, out_addr = 0;
};

Plan MakePlan(const AccelConfig& c, const GemmDriverArgs& g) {
  const PackedWeights& b = *g.b;
  const bool row_sums = g.row_sum_scale != nullptr;
  const uint64_t elem = SizeOf(ActivationType(g.mode));
  const uint64_t tile_bytes = b.tile_bytes();
  const uint64_t kp = uint64_t{kLanes} * b.k_tiles * elem;
  const int chunk = static_cast<int>(std::min<uint64_t>({c.tile_regs, uint64_t(b.k_tiles), 255}));
  const uint64_t out_row = uint64_t{kLanes} * SizeOf(g.out);
  const uint64_t bias_bytes = g.bias != nullptr ? 4 * kLanes : 0;
  // Row sums: the ones tile image and one row of scale factors in SRAM, and a second ACC row per row.
  const uint64_t row_sum_bytes = row_sums ? sizeof(kOnesTile.bytes) + 4 * kLanes : 0;
  const uint64_t acc_rows = row_sums ? c.acc_rows / 2 : c.acc_rows;
  if (acc_rows == 0) {
    Fail(g.fn, ": accelerator configuration too small: acc_rows = ", c.acc_rows,
         " cannot hold one accumulator row and one row sum (weight zero points need at least 2)");
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
    const uint64_t w_bytes = p.w_resident ? tile_bytes * b.k_tiles * b.n_tiles : tile_bytes * chunk;
    const uint64_t a_row = p.a_full ? kp : uint64_t{kLanes} * chunk * elem;
    const uint64_t fixed = w_bytes + bias_bytes + row_sum_bytes;
    const uint64_t rows = fixed >= c.sram_bytes ? 0 : std::min(want, (c.sram_bytes - fixed) / (a_row + out_row));
    p.rows = static_cast<uint32_t>(rows);
    p.a_row = static_cast<uint32_t>(a_row);
    p.out_row = static_cast<uint32_t>(out_row);
    p.w_addr = 0;
    p.bias_addr = static_cast<uint32_t>(w_bytes);
    p.scale_addr = static_cast<uint32_t>(w_bytes + bias_bytes);
    p.ones_addr = p.scale_addr + (row_sums ? 4 * kLanes : 0);
    p.a_addr = static_cast<uint32_t>(fixed);
    p.out_addr = static_cast<uint32_t>(fixed + rows * a_row);
    if (p.rows > best.rows) best = p;
    if (p.rows == want) return p;
  }
  if (best.rows == 0) {
    const uint64_t need = tile_bytes + bias_bytes + row_sum_bytes + kLanes * elem + out_row;
    Fail(g.fn, ": accelerator configuration too small: sram_bytes = ", c.sram_bytes, " cannot hold one ",
         tile_bytes, "-byte weight tile, ", bias_bytes + row_sum_bytes, " bytes of bias and row-sum data and one ",
         kLanes * elem + out_row, "-byte activation + output row (needs at least ", need, ")");
  }
  return best;
}

bool IsRequant(DType out) { return out == DType::kI8 || out == DType::kU8 || out == DType::kI16; }

}  // namespace

void RunGemmDriver(Machine& m, DramBindings& dram, const GemmDriverArgs& g) {
  const PackedWeights& b = *g.b;
  if (b.dtype != WeightType(g.mode)) {
    Fail(g.fn, ": packed weights hold ", NameOf(b.dtype), ", TMAC ", NameOf(g.mode), " needs ",
         NameOf(WeightType(g.mode)));
  }
  const bool row_sums = g.row_sum_scale != nullptr;
  if (row_sums && g.mode != MacMode::kU8S8 && g.mode != MacMode::kS8S8) {
    Fail(g.fn, ": row sums are only defined for the INT8 modes, not ", NameOf(g.mode));
  }
  const Plan p = MakePlan(m.config(), g);
  const int K = b.K, N = b.N, k_tiles = b.k_tiles, n_tiles = b.n_tiles;
  const uint32_t tile_bytes = static_cast<uint32_t>(b.tile_bytes());
  const uint32_t elem = static_cast<uint32_t>(SizeOf(ActivationType(g.mode)));

  const uint32_t seg_w = dram.BindReadOnly(b.bytes.data(), b.bytes.size());
  const uint32_t seg_pad = g.mode == MacMode::kBF16 ? dram.BindReadOnly(kNegZerosBf16.bytes, sizeof(kNegZerosBf16.bytes))
                                                    : dram.BindReadOnly(kZeros, sizeof(kZeros));
  const uint32_t seg_bias = g.bias != nullptr ? dram.BindReadOnly(g.bias, uint64_t{4} * kLanes * n_tiles) : 0;
  const uint32_t seg_scale = row_sums ? dram.BindReadOnly(g.row_sum_scale, uint64_t{4} * kLanes * n_tiles) : 0;

  auto dma_in = [&](uint32_t sram, uint32_t seg, uint64_t dram_off, uint32_t rows, uint32_t row_bytes,
                    uint64_t dram_stride, uint32_t sram_stride) {
    DmaIn d;
    d.sram = sram, d.segment = seg, d.dram = dram_off, d.rows = rows, d.row_bytes = row_bytes;
    d.dram_stride = dram_stride, d.sram_stride = sram_stride;
    m.Execute(d);
  };
  // Padding in columns [from, to) (elements) of `rows` A rows; to - from < 32.
  auto pad_columns = [&](uint32_t rows, uint32_t from, uint32_t to) {
    if (from < to) dma_in(p.a_addr + from * elem, seg_pad, 0, rows, (to - from) * elem, 0, p.a_row);
  };
  // A columns [32*kt0, 32*(kt0 + tiles)) of rows [m0, m0 + rows) at p.a_addr, padded (streamed plan).
  auto load_a_chunk = [&](int64_t m0, uint32_t rows, int kt0, int tiles) {
    const int k0 = kLanes * kt0;
    const int cols = std::min(K - k0, kLanes * tiles);
    g.load_a(m0, rows, k0, cols, p.a_addr, p.a_row);
    pad_columns(rows, static_cast<uint32_t>(cols), static_cast<uint32_t>(kLanes * tiles));
  };
  auto tmac = [&](uint32_t acc_row, uint32_t rows, uint32_t a, int tiles) {
    TileMac mac;
    mac.mode = g.mode, mac.acc_row = acc_row, mac.rows = rows, mac.a_addr = a;
    mac.a_stride = static_cast<int32_t>(p.a_row), mac.tile = 0, mac.tiles = static_cast<uint8_t>(tiles);
    m.Execute(mac);
  };

  if (p.w_resident) {
    dma_in(p.w_addr, seg_w, 0, 1, static_cast<uint32_t>(b.bytes.size()), 0, 0);
  }
  if (row_sums) {
    const uint32_t seg_ones = dram.BindReadOnly(kOnesTile.bytes, sizeof(kOnesTile.bytes));
    dma_in(p.ones_addr, seg_ones, 0, 1, sizeof(kOnesTile.bytes), 0, 0);
  }
  const bool requant = IsRequant(g.out);
  const bool per_channel_q = requant && g.quant->per_channel;
  if (requant && !per_channel_q) {
    m.Execute(SetQuant{LaneQuant(*g.quant, 0, kLanes)});  // per tensor: every lane alike, once
  }

  // Vector registers of the row-sum initialisation.
  constexpr uint8_t kVScale = 0, kVBias = 1, kVTmp = 2;
  int64_t loaded_kt0 = -1, loaded_nt = -1;  // chunk now in T0.., to skip reloading the same tiles
  for (int64_t m0 = 0; m0 < g.M; m0 += p.rows) {
    const uint32_t rows = static_cast<uint32_t>(std::min<int64_t>(p.rows, g.M - m0));
    if (p.a_full) {
      g.load_a(m0, rows, 0, K, p.a_addr, p.a_row);
      pad_columns(rows, static_cast<uint32_t>(K), static_cast<uint32_t>(kLanes * k_tiles));
    }
    if (row_sums) {
      // ACC[p.rows + r] = sum_k A[m0 + r][k] in every lane, by the same TMAC mode against ones.
      const int ones = std::min(p.chunk_tiles, k_tiles);
      for (int t = 0; t < ones; ++t) {
        TileLoad tl;
        tl.td = static_cast<uint8_t>(t), tl.type = DType::kI8, tl.addr = p.ones_addr;
        m.Execute(tl);
      }
      loaded_kt0 = -1, loaded_nt = -1;
      AccZero z;
      z.row = p.rows, z.rows = rows;
      m.Execute(z);
      for (int kt0 = 0; kt0 < k_tiles; kt0 += p.chunk_tiles) {
        const int tiles = std::min(p.chunk_tiles, k_tiles - kt0);
        uint32_t a = p.a_addr + uint32_t{kLanes} * elem * kt0;
        if (!p.a_full) load_a_chunk(m0, rows, kt0, tiles), a = p.a_addr;
        tmac(p.rows, rows, a, tiles);
      }
    }
    for (int nt = 0; nt < n_tiles; ++nt) {
      if (row_sums) {
        // ACC[r] = bias + scale * rowsum, lane by lane, wrapping like the TMAC that follows.
        dma_in(p.scale_addr, seg_scale, uint64_t{4} * kLanes * nt, 1, 4 * kLanes, 0, 0);
        m.Execute(VLoad{kVScale, DType::kI32, p.scale_addr, 4});
        if (g.bias != nullptr) {
          dma_in(p.bias_addr, seg_bias, uint64_t{4} * kLanes * nt, 1, 4 * kLanes, 0, 0);
          m.Execute(VLoad{kVBias, DType::kI32, p.bias_addr, 4});
        } else {
          m.Execute(VAlu{AluOp::kMovi, kVBias, 0, 0, 0});
        }
        for (uint32_t r = 0; r < rows; ++r) {
          m.Execute(VFromAcc{kVTmp, p.rows + r});
          m.Execute(VAlu{AluOp::kMul, kVTmp, kVTmp, kVScale, 0});
          m.Execute(VAlu{AluOp::kAdd, kVTmp, kVTmp, kVBias, 0});
          m.Execute(VToAcc{r, kVTmp});
        }
      } else if (g.bias != nullptr) {
        dma_in(p.bias_addr, seg_bias, uint64_t{4} * kLanes * nt, 1, 4 * kLanes, 0, 0);
        AccLoad ld;
        ld.row = 0, ld.rows = rows, ld.addr = p.bias_addr, ld.row_stride = 0;
        m.Execute(ld);
      } else {
        AccZero z;
        z.row = 0, z.rows = rows;
        m.Execute(z);
      }
      // K ascending: chunk after chunk, each TMAC's tiles in K order (BF16's fma chain needs it).
      for (int kt0 = 0; kt0 < k_tiles; kt0 += p.chunk_tiles) {
        const int tiles = std::min(p.chunk_tiles, k_tiles - kt0);
        if (loaded_kt0 != kt0 || loaded_nt != nt) {
          uint32_t w = p.w_addr + static_cast<uint32_t>(b.TileOffset(kt0, nt));
          if (!p.w_resident) {
            dma_in(p.w_addr, seg_w, b.TileOffset(kt0, nt), 1, tile_bytes * tiles, 0, 0);
            w = p.w_addr;
          }
          for (int t = 0; t < tiles; ++t) {
            TileLoad tl;
            tl.td = static_cast<uint8_t>(t), tl.type = b.dtype, tl.addr = w + tile_bytes * t;
            m.Execute(tl);
          }
          loaded_kt0 = kt0, loaded_nt = nt;
        }
        uint32_t a = p.a_addr + uint32_t{kLanes} * elem * kt0;
        if (!p.a_full) load_a_chunk(m0, rows, kt0, tiles), a = p.a_addr;
        tmac(0, rows, a, tiles);
      }
      if (!requant) {
        AccStore st;
        st.row = 0, st.rows = rows, st.type = g.out, st.addr = p.out_addr;
        st.row_stride = static_cast<int32_t>(p.out_row);
        m.Execute(st);
      } else {
        if (per_channel_q) m.Execute(SetQuant{LaneQuant(*g.quant, kLanes * nt, N)});
        Requant rq;
        rq.acc_row = 0, rq.rows = rows, rq.out = g.out, rq.addr = p.out_addr;
        rq.row_stride = static_cast<int32_t>(p.out_row);
        m.Execute(rq);
      }
      g.store_c(m0, rows, kLanes * nt, std::min(kLanes, N - kLanes * nt), p.out_addr, p.out_row);
    }
  }
}

}  // namespace tile32

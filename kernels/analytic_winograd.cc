// kernels/analytic.h for Winograd F(2x2,3x3) (kernels/conv_winograd.cc): the loop's instructions in its
// order, from PlanWinograd's schedule, with the dependencies that hold them up on the model machine: the
// band's DMAs an ACC_LD reads, the input transform's ACC rows and V buffers, the ring's quads (zeroed once
// the block before has read them), the output staging, the weight slots.
//
// As the networks run it (zero data): every seed of M(1,1) is zero and the bias folds into it, so no seed
// rows and no bias row are issued.
#include <algorithm>
#include <array>
#include <deque>
#include <vector>

#include <memory>

#include "accel/cost.h"
#include "accel/error.h"
#include "kernels/analytic_conv.h"
#include "kernels/conv_impl.h"
#include "kernels/input_band.h"
#include "kernels/middle_end.h"
#include "layout/tile_pack.h"

namespace tile32::analytic {

namespace {
constexpr int kPositions = 16;

// Values computed once per key.
struct Memo {
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  template <class F>
  uint64_t operator()(uint64_t key, F&& f) {
    for (const auto& [k0, v] : seen) {
      if (k0 == key) return v;
    }
    seen.emplace_back(key, f());
    return seen.back().second;
  }
};
}  // namespace

void ModelWinograd(Pipe& P, const Costs& k, const ConvShape& s) {
  const AccelConfig& c = k.c;
  const ConvGeometry& geo = s.geo;
  const int cb = Ceil32(s.Cg), kb = Ceil32(s.Kg);
  const int chunk = static_cast<int>(std::min<int64_t>({c.tile_regs, cb, 255}));
  const uint64_t tile_bytes = TileImageBytes(DType::kI16);
  const uint64_t image = uint64_t(cb) * kb * tile_bytes;  // one position's U of one group
  const uint64_t resident_bytes = kPositions * Align64(image), streamed_bytes = 2 * Align64(tile_bytes * uint64_t(chunk));
  const uint32_t out_row = static_cast<uint32_t>(Align64(uint64_t{kLanes} * s.out_elem));
  const WinogradPlan wp = PlanWinograd(c, geo, cb, kb, resident_bytes, streamed_bytes, false, out_row, SramPlan(c, "Conv"));
  if (wp.w_bytes > SramPlan(c, "Conv").left() || wp.s.band_rows == 0) {
    Fail("Conv: accelerator configuration too small for winograd on one 2x2 output tile");
  }
  const WinogradSchedule& sc = wp.s;
  const bool compact = wp.compact, resident = wp.resident, pipelined = sc.pipelined;
  const uint32_t w = sc.tiles_w, pitch = w + 1;
  const uint64_t rp = compact ? w : w + 1;
  const uint64_t v_row = uint64_t(cb) * kLanes * 2;
  const int v_bufs = pipelined ? 2 : 1;
  const bool requant = IsRequantOutput(s.out);

  ConvGeometry tg = geo;
  tg.out_h = (geo.out_h + 1) / 2, tg.out_w = (geo.out_w + 1) / 2;
  tg.kernel_h = tg.kernel_w = 4, tg.stride_h = tg.stride_w = 2, tg.dilation_h = tg.dilation_w = 1;
  const uint32_t all_tiles_w = static_cast<uint32_t>(tg.out_w);
  tg.out_w = static_cast<int>(w);
  BandLayout band = MakeBandLayout(tg, sc.band_rows, s.Cg, 1, 0);
  const uint32_t pb = band.pixel_bytes;
  const int image_bands = static_cast<int>(CeilDiv(all_tiles_w, w) * CeilDiv(uint64_t(tg.out_h), uint64_t(sc.band_rows)));

  // The SRAM the loop takes before U's extra slots and cache (no epilogue rows or seed rows: the bias folds),
  // so that these come out as many as the loop's.
  SramPlan plan(c, "Conv");
  plan.Take("the transformed weights", wp.w_bytes);
  const uint64_t t_max = uint64_t(sc.band_rows) * rp;
  for (int i = 0; i < sc.in_bufs; ++i) plan.Take("the input band", band.bytes());
  for (int i = 0; i < v_bufs; ++i) plan.Take("the V matrices", kPositions * t_max * v_row);
  for (int i = 0; i < sc.staging_bufs; ++i) plan.Take("the output staging", 4 * t_max * out_row);
  const uint64_t chunk_bytes = Align64(tile_bytes * uint64_t(chunk)), block_bytes = tile_bytes * uint64_t(cb);
  const int more_slots = resident || image_bands < 2 ? 0 : static_cast<int>(std::min<uint64_t>(6, plan.left() / chunk_bytes));
  if (more_slots > 0) plan.Take("more chunks of transformed weight tiles", chunk_bytes * uint64_t(more_slots));
  const int cached = resident || image_bands < 2 ? 0 : static_cast<int>(std::min<uint64_t>(uint64_t(kb), plan.left() / (kPositions * block_bytes)));
  const int cached_from = kb - cached, n_slots = 2 + more_slots, chunks = static_cast<int>(CeilDiv(cb, chunk));

  // The instructions' §8.1 cycles on their unit (rows shared over the units of a kind, §8.3), costed once
  // per kind and row count (CostOf works out the instruction's whole footprint).
  Memo memo[7];
  auto vec = [&](const Instr& i) { return k.Vector(CostOf(i, c).cycles); };
  auto acc_ld = [&](uint32_t rows) {
    return memo[0](rows, [&] {
      AccLoad ld;
      ld.rows = rows, ld.type = ActivationType(MacMode::kU8S8), ld.row_stride = static_cast<int32_t>(pb);
      return vec(Instr{ld});
    });
  };
  auto alu = [&](uint32_t rows) {
    return memo[1](rows, [&] {
      AccAlu a;
      a.rows = rows;
      return vec(Instr{a});
    });
  };
  auto zero = [&](uint32_t rows) {
    return memo[2](rows, [&] {
      AccZero z;
      z.rows = rows;
      return vec(Instr{z});
    });
  };
  auto req_v = [&](uint32_t rows) {
    return memo[3](rows, [&] {
      Requant r;
      r.rows = rows, r.out = DType::kI16, r.row_stride = static_cast<int32_t>(v_row);
      return k.Requant(CostOf(Instr{r}, c).cycles);
    });
  };
  auto req_y = [&](uint32_t rows) {
    return memo[4](rows, [&] {
      Requant r;
      r.rows = rows, r.out = s.out, r.row_stride = static_cast<int32_t>(2 * out_row);
      if (requant) return k.Requant(CostOf(Instr{r}, c).cycles);
      AccStore st;
      st.rows = rows, st.type = s.out, st.row_stride = static_cast<int32_t>(2 * out_row);
      return vec(Instr{st});
    });
  };
  const int out_unit = requant ? kRequant : kVector;
  auto tmac = [&](uint32_t rows, int tiles, uint64_t* array) {
    const uint64_t key = uint64_t(rows) << 8 | uint64_t(tiles);
    *array += memo[5](key, [&] {
      TileMac t;
      t.mode = MacMode::kS16S16, t.rows = rows, t.tiles = static_cast<uint8_t>(tiles), t.a_stride = static_cast<int32_t>(v_row);
      return CostOf(Instr{t}, c).tile_cycles;
    });
    return memo[6](key, [&] {
      TileMac t;
      t.mode = MacMode::kS16S16, t.rows = rows, t.tiles = static_cast<uint8_t>(tiles), t.a_stride = static_cast<int32_t>(v_row);
      return CeilDiv(CostOf(Instr{t}, c).cycles, c.tile_units);
    });
  };
  const uint64_t tld = k.Tld(tile_bytes);

  struct Band {
    int n;
    uint32_t tx0;
    int ty0, rows;
    bool reversed;
  };
  std::vector<Band> bands;
  for (int n = 0; n < s.batch; ++n) {
    bool reversed = false;
    for (uint32_t tx0 = 0; tx0 < all_tiles_w; tx0 += w) {
      for (int ty0 = 0; ty0 < tg.out_h; ty0 += sc.band_rows) {
        bands.push_back({n, tx0, ty0, std::min(sc.band_rows, tg.out_h - ty0), reversed});
        reversed = cached > 0 && !reversed;
      }
    }
  }
  const int nb = static_cast<int>(bands.size());
  auto tiles_of = [&](const Band& bd) { return static_cast<uint32_t>(uint64_t(bd.rows) * rp); };
  struct Piece {
    int t0, rows;
    uint32_t c0, cols;
  };
  auto pieces_of = [&](const Band& bd) {
    std::vector<Piece> out;
    if (sc.piece_rows == 0 && sc.piece_cols == 0) {
      out.push_back({0, bd.rows, 0, 0});
    } else if (sc.piece_rows > 0) {
      for (int t0 = 0; t0 < bd.rows; t0 += sc.piece_rows) out.push_back({t0, std::min(sc.piece_rows, bd.rows - t0), 0, 0});
    } else {
      for (int t = 0; t < bd.rows; ++t) {
        for (uint32_t c0 = 0; c0 < w; c0 += sc.piece_cols) out.push_back({t, 1, c0, std::min(sc.piece_cols, w - c0)});
      }
    }
    return out;
  };

  BandSource src;
  src.segment = kSegX, src.fill_segment = kSegFill;
  src.pixel_stride = s.C, src.elem_bytes = 1;
  src.pad_channels = false;  // as kernels/conv_winograd.cc loads it
  // Band loads per window (its own left padding), tallied once per interior band.
  std::vector<std::pair<uint32_t, BandLayout>> layouts;
  std::vector<std::unique_ptr<BandLoads>> loaders;
  auto loader = [&](uint32_t tx0) -> BandLoads& {
    for (size_t i = 0; i < layouts.size(); ++i) {
      if (layouts[i].first == tx0) return *loaders[i];
    }
    BandLayout bl = band;
    bl.g.pad_left = geo.pad_left - 2 * static_cast<int>(tx0);
    layouts.emplace_back(tx0, bl);
    loaders.push_back(std::make_unique<BandLoads>(k, layouts.back().second, src));
    return *loaders.back();
  };
  layouts.reserve(all_tiles_w / w + 2);

  // ---- state: when each thing is done or free ----
  Filling filling[2];
  uint64_t buf_read[2] = {};      // the last ACC_LD reading each band buffer
  uint64_t req_done[kPositions] = {};  // the transform's sets: the last REQ reading each position's V
  uint64_t column_done[kPositions] = {};  // the column pass's AALU that leaves V(pos) in ACC
  uint64_t v_ready[2][kPositions] = {}, v_read[2] = {};  // V buffers: written by REQs, read by TMACs
  std::deque<int> free_quads;
  uint64_t quad_free[5] = {};     // each quad's rows: the last instruction reading them
  uint64_t staging_free[4] = {};  // each staging buffer: the last DMA_OUT reading it
  // U: resident images and cached blocks per (column block, position), in SRAM once `fetched`; streamed
  // chunks through n_slots slots, use i into slot i % n_slots, its DMA issued with the load of use
  // i - n_slots + 1 (with two slots, as it is loaded).
  const size_t entries = size_t(kb) * kPositions;
  std::vector<uint64_t> u_ready(entries), cache_read(entries);
  std::vector<char> fetched(entries);
  uint64_t slot_read[8] = {}, slot_in[8] = {};
  int64_t used = 0, issued = 0, next_use = 0, fed = 0;
  int next_slot = 0;
  bool feeding = false;  // the first band's transform steps each fetch one more resident image
  const int64_t band_uses = int64_t{kb - cached} * kPositions * chunks;
  const int64_t streamed_total = more_slots > 0 ? band_uses * nb : 0;
  // A chunk's DMA costs one of two (the last chunk of a position may be short): worked out once.
  const int last_tiles = cb - (chunks - 1) * chunk;
  const DmaCost chunk_dma = k.Dma(tile_bytes * uint64_t(chunk)), last_dma = k.Dma(tile_bytes * uint64_t(last_tiles));
  const DmaCost block_dma = k.Dma(block_bytes);
  auto fetch = [&](int pos, int nt) {
    const size_t e = size_t(nt) * kPositions + size_t(pos);
    if (fetched[e]) return;
    fetched[e] = 1;
    u_ready[e] = P.Run(kDma, block_dma, cache_read[e]);
    P.dram_bytes += block_bytes;
  };
  auto fetch_through = [&](int64_t i) {
    for (; resident && next_use <= i && next_use < int64_t(entries); ++next_use) {
      fetch(static_cast<int>(next_use % kPositions), static_cast<int>(next_use / kPositions));
    }
  };
  // T0 .. T(tiles - 1) <- the next chunk of position pos, column block nt.
  auto u_load = [&](int pos, int tiles, int nt) {
    if (resident || nt >= cached_from) {
      fetch(pos, nt);
      const size_t e = size_t(nt) * kPositions + size_t(pos);
      cache_read[e] = P.RunEach(kTile, tld, u_ready[e], uint64_t(tiles));
      return;
    }
    int slot = 0;
    if (more_slots == 0) {
      slot = next_slot, next_slot ^= 1;
      slot_in[slot] = P.Run(kDma, tiles == chunk ? chunk_dma : last_dma, slot_read[slot]);
      P.dram_bytes += tile_bytes * tiles;
    } else {
      for (; issued < streamed_total && issued < used + n_slots; ++issued) {
        const int sl = static_cast<int>(issued % n_slots);
        const bool last = issued % chunks == chunks - 1;
        slot_in[sl] = P.Run(kDma, last ? last_dma : chunk_dma, slot_read[sl]);
        P.dram_bytes += tile_bytes * uint64_t(last ? last_tiles : chunk);
      }
      slot = static_cast<int>(used++ % n_slots);
    }
    slot_read[slot] = P.RunEach(kTile, tld, slot_in[slot], uint64_t(tiles));
  };
  bool identity_loaded = false, epi_quant = false;
  struct Block {
    int band = 0, b = 0, staging = 0;
    uint32_t T = 0;
    int quad[4] = {-1, -1, -1, -1};
    uint64_t set_ready[kPositions] = {};  // its sets zeroed
    uint64_t pos_done[kPositions] = {};   // its last TMAC of each position
    uint64_t converted = 0;               // its last REQ into staging
  };
  uint64_t stored_first = 0;  // the first DMA_OUT of the last block stored is done
  int stored_band = -1;
  const uint64_t L = c.dram_latency_cycles;

  auto load = [&](int kk, int part, int parts) {
    const Band& bd = bands[size_t(kk)];
    Filling& f = filling[kk % sc.in_bufs];
    const Dmas d = loader(bd.tx0).Load(P, f, bd.n, bd.ty0, part, parts);
    f.Placed(d.Run(P, buf_read[kk % sc.in_bufs]), d.finish);
  };
  auto transform = [&](int kk, int cblk, const Piece& pc, int step) {
    const int buf = kk % sc.in_bufs, vb = kk % v_bufs;
    const bool whole = pc.cols == 0;
    const uint32_t lp = whole ? pitch : pc.cols + 1;
    const uint32_t R = (whole ? static_cast<uint32_t>(pc.rows) : 1) * lp, S = R + lp + 1, Q = R + 1;
    // The transform's sets hold the V of the piece before until its REQs have read them: the planes those of
    // positions 0, 3, 12, 15, the row pass's E(1, px) and E(2, px) those of 4, 7, 8, 11, the column pass's
    // V(i, 1) and V(i, 2) those of the rest. Serial, they are the ring's rows too.
    // Serial, the ACC rows [lo, hi) of the transform are those of the quads it overlaps.
    const uint64_t quad_rows = 4 * uint64_t(sc.band_rows) * rp;
    auto ring_free = [&](uint64_t lo, uint64_t hi) {
      uint64_t t = 0;
      for (int q = 0; q < sc.quads && !pipelined; ++q) {
        if (q * quad_rows < hi && lo < (q + 1) * quad_rows) t = std::max(t, quad_free[q]);
      }
      return t;
    };
    auto extra = [&](int i) { return 4 * uint64_t(S) + uint64_t(Q) * i; };
    if (step == 0) {
      static constexpr int kPlanePos[4] = {0, 3, 12, 15};
      auto ld = [&](uint32_t rows, int plane_index, uint64_t pixel, uint64_t row0) {
        const uint64_t lo = uint64_t(plane_index) * band.plane_bytes + pixel * pb + uint64_t(cblk) * kLanes;
        const uint64_t in = filling[buf].Ready(lo, lo + uint64_t(rows - 1) * pb + kLanes, P.free[kVector], L);
        buf_read[buf] = P.Run(kVector, acc_ld(rows),
                              std::max({in, ring_free(row0, row0 + rows), req_done[kPlanePos[plane_index]]}));
      };
      for (int q = 0; q < 4; ++q) {
        if (whole) {
          ld(S, q, uint64_t(pc.t0) * pitch, uint64_t(S) * q);
        } else {
          ld(lp, q, uint64_t(pc.t0) * pitch + pc.c0, uint64_t(S) * q);
          ld(lp + 1, q, uint64_t(pc.t0 + 1) * pitch + pc.c0, uint64_t(S) * q + lp);
        }
      }
      static constexpr int kRowPos[2][2] = {{4, 8}, {7, 11}};
      // Nothing holding the row pass up once the vector unit is free: its AALUs back to back.
      uint64_t held = ring_free(extra(0), extra(4));
      for (const auto& px : kRowPos) held = std::max({held, req_done[px[0]], req_done[px[1]]});
      if (held <= P.free[kVector]) {
        P.RunEach(kVector, alu(Q), 0, 8);
        return;
      }
      for (int px = 0; px < 2; ++px) {
        for (int i = 0; i < 2; ++i) {
          const uint64_t lo = extra(2 * px + i);
          P.Run(kVector, alu(Q), std::max(req_done[kRowPos[px][i]], ring_free(lo, lo + Q)));
        }
        P.RunEach(kVector, alu(Q), 0, 2);
      }
      return;
    }
    if (step == 1) {
      // Per row i of B^T d: V(i, 1), V(i, 2), then V(i, 0) and V(i, 3) in place, each one AALU.
      const uint64_t each = alu(R);
      static constexpr int kOrder[4] = {2, 0, 1, 3};  // AALU of V(i, j) within row i's four
      uint64_t held = ring_free(extra(4), extra(12));
      for (int i = 0; i < 4; ++i) held = std::max({held, req_done[4 * i + 1], req_done[4 * i + 2]});
      if (held <= P.free[kVector]) {
        const uint64_t start = P.RunEach(kVector, each, 0, 16) - 16 * each;
        for (int pos = 0; pos < kPositions; ++pos) column_done[pos] = start + each * uint64_t(4 * (pos / 4) + kOrder[pos % 4] + 1);
        return;
      }
      for (int i = 0; i < 4; ++i) {
        const uint64_t lo1 = extra(4 + 2 * i), lo2 = extra(5 + 2 * i);
        column_done[4 * i + 1] = P.Run(kVector, each, std::max(req_done[4 * i + 1], ring_free(lo1, lo1 + R)));
        column_done[4 * i + 2] = P.Run(kVector, each, std::max(req_done[4 * i + 2], ring_free(lo2, lo2 + R)));
        column_done[4 * i] = P.Run(kVector, each, 0);
        column_done[4 * i + 3] = P.Run(kVector, each, 0);
      }
      return;
    }
    if (!identity_loaded) P.Run(kRequant, 4, 0), identity_loaded = true, epi_quant = false;
    // Every V in ACC and its buffer free once the requantization unit is: the REQs back to back.
    const uint32_t req_rows = !whole ? pc.cols + (!compact && pc.c0 + pc.cols == w ? 1 : 0) : !compact ? R : w;
    const uint64_t per_pos = whole && compact ? uint64_t(pc.rows) : 1, each = req_v(req_rows);
    if (std::max(*std::max_element(column_done, column_done + kPositions), v_read[vb]) <= P.free[kRequant]) {
      const uint64_t start = P.RunEach(kRequant, each, 0, kPositions * per_pos) - kPositions * per_pos * each;
      for (int pos = 0; pos < kPositions; ++pos) v_ready[vb][pos] = req_done[pos] = start + (pos + 1) * per_pos * each;
      return;
    }
    for (int pos = 0; pos < kPositions; ++pos) {
      const uint64_t ready = std::max(column_done[pos], v_read[vb]);
      uint64_t end = 0;
      if (!whole) {
        end = P.Run(kRequant, req_v(pc.cols + (!compact && pc.c0 + pc.cols == w ? 1 : 0)), ready);
      } else if (!compact) {
        end = P.Run(kRequant, req_v(R), ready);
      } else {
        end = P.RunEach(kRequant, req_v(w), ready, uint64_t(pc.rows));
      }
      v_ready[vb][pos] = req_done[pos] = end;
    }
  };
  constexpr int kSteps = 3;
  std::vector<Piece> pieces;
  int pieces_band = -1;
  auto transform_steps = [&](int kk, int64_t s0, int64_t s1) {
    if (s0 >= s1) return;
    if (pieces_band != kk) pieces = pieces_of(bands[size_t(kk)]), pieces_band = kk;
    const int64_t n = static_cast<int64_t>(pieces.size());
    for (int64_t i = s0; i < s1; ++i) {
      const int64_t unit = i / kSteps;
      transform(kk, static_cast<int>(unit / n), pieces[size_t(unit % n)], static_cast<int>(i % kSteps));
      if (feeding) fetch_through(++fed);
    }
  };
  auto steps_of = [&](int kk) { return int64_t{kSteps} * cb * static_cast<int64_t>(pieces_of(bands[size_t(kk)]).size()); };

  auto take = [&](Block& blk, int role) {
    if (blk.quad[role] >= 0) return;
    const int q = free_quads.front();
    free_quads.pop_front();
    blk.quad[role] = q;
    const uint64_t end = P.Run(kVector, zero(4 * blk.T), quad_free[q]);
    for (int i = 0; i < 4; ++i) blk.set_ready[4 * role + i] = end;
  };
  // Each AALU waits for the TMACs of the positions it reads.
  auto done = [&](const Block& blk, int pos0, int pos1) {
    return *std::max_element(blk.pos_done + pos0, blk.pos_done + pos1);
  };
  auto row_pass = [&](Block& blk, Block* next) {
    const uint32_t T = blk.T;
    const uint64_t* d = blk.pos_done;
    if (next != nullptr && next->quad[0] < 0 && free_quads.empty() && next->T == T) {
      next->quad[0] = blk.quad[1];
      for (int i = 0; i < 4; ++i) {
        P.Run(kVector, alu(T), std::max(d[4 + i], d[12 + i])), P.Run(kVector, alu(T), std::max(d[i], d[4 + i]));
        next->set_ready[i] = P.Run(kVector, zero(T), 0);
      }
    } else {
      P.Run(kVector, alu(4 * T), std::max(done(blk, 4, 8), done(blk, 12, 16)));
      quad_free[blk.quad[1]] = P.Run(kVector, alu(4 * T), done(blk, 0, 8));
      free_quads.push_back(blk.quad[1]);
    }
    P.Run(kVector, alu(4 * T), done(blk, 8, 12));
    quad_free[blk.quad[2]] = P.Run(kVector, alu(4 * T), done(blk, 8, 16));
    free_quads.push_back(blk.quad[2]);
  };
  auto column_pass = [&](Block& blk) {
    quad_free[blk.quad[3]] = P.RunEach(kVector, alu(blk.T), 0, 8);
    free_quads.push_back(blk.quad[3]);
    P.Run(kVector, alu(4 * blk.T), 0);  // SRA 2
  };
  std::vector<Block> to_store;
  auto convert = [&](Block& blk) {
    identity_loaded = identity_loaded && !requant;
    const uint64_t ready = std::max(P.free[kVector], staging_free[blk.staging]);
    if (requant && !epi_quant) P.Run(kRequant, 4, 0), epi_quant = true;
    blk.converted = P.RunEach(out_unit, req_y(blk.T), ready, 4);
    quad_free[blk.quad[0]] = blk.converted;
    free_quads.push_back(blk.quad[0]);
    to_store.push_back(blk);
  };
  auto store = [&](const Block& blk) {
    const Band& bd = bands[size_t(blk.band)];
    const int n0 = kLanes * (blk.b % kb), cols = std::min(kLanes, s.Kg - n0);
    const int ox0 = 2 * static_cast<int>(bd.tx0), ox1 = std::min(geo.out_w, 2 * static_cast<int>(bd.tx0 + w));
    const uint64_t bytes = uint64_t(ox1 - ox0) * cols * s.out_elem;
    uint64_t n = 0;
    for (int t = 0; t < bd.rows; ++t) {
      for (int a = 0; a < 2; ++a) n += 2 * (bd.ty0 + t) + a < geo.out_h;
    }
    const DmaCost each = k.Y(bytes);
    Dmas d;
    d.AddTimes(each, n);
    P.dram_bytes += bytes * n;
    // The blocks of a band write the same pixels' other channels: within each other's DRAM span.
    const uint64_t start = std::max(blk.converted, blk.band == stored_band ? stored_first : 0);
    staging_free[blk.staging] = d.Run(P, start);
    stored_first = staging_free[blk.staging] - d.finish + each.occupied + each.latency, stored_band = blk.band;
  };
  auto store_some = [&](size_t keep) {
    if (to_store.size() <= keep) return;
    const size_t count = to_store.size() - keep;
    for (size_t i = 0; i < count; ++i) store(to_store[i]);
    to_store.erase(to_store.begin(), to_store.begin() + static_cast<std::ptrdiff_t>(count));
  };

  for (int g = 0; g < s.G; ++g) {
    src.channel_offset = g * s.Cg;
    std::fill(fetched.begin(), fetched.end(), 0);
    used = issued = next_use = 0, next_slot = 0;
    free_quads.clear();
    for (int q = 0; q < sc.quads; ++q) free_quads.push_back(q);
    // Resident U: a window of images ahead of their TMACs where an image has three bands or more, else whole.
    constexpr int kAhead = 12;
    fed = kAhead - 1;
    if (image_bands >= 3) {
      fetch_through(fed);
    } else if (resident) {
      for (int pos = 0; pos < kPositions; ++pos) {
        const uint64_t end = P.Run(kDma, k.Dma(image), 0);
        P.dram_bytes += image;
        for (int nt = 0; nt < kb; ++nt) u_ready[size_t(nt) * kPositions + size_t(pos)] = end;
      }
      std::fill(fetched.begin(), fetched.end(), 1);
      next_use = int64_t(entries);
    }
    load(0, 0, 1);
    feeding = true;
    if (pipelined) transform_steps(0, 0, steps_of(0)), feeding = false;
    constexpr int kFirstSlot = kPositions / 2;
    // The TLDs and TMACs of one position of a block, the weights' chunks streamed or resident.
    auto macs_one = [&](Block& blk, int vb, int pos) {
      const int nt = blk.b - g * kb;
      for (int c0 = 0; c0 < cb; c0 += chunk) {
        const int tiles = std::min(chunk, cb - c0);
        u_load(pos, tiles, nt);
        v_read[vb] = blk.pos_done[pos] =
            P.Run(kTile, tmac(blk.T, tiles, &P.array_cycles), std::max(blk.set_ready[pos], v_ready[vb][pos]));
      }
    };
    auto macs = [&](Block& blk, int j, int pos0, int pos1) {
      const int kk = blk.band, vb = kk % v_bufs;
      const int64_t steps = pipelined && kk + 1 < nb ? steps_of(kk + 1) : 0;
      const int64_t slots = int64_t{kb} * (kPositions - kFirstSlot);
      // With nothing between them to issue and every position's weights, V and sets ready once the first is
      // issued, the TLDs and TMACs after the first position run back to back: one chain.
      const int nt = blk.b - g * kb;
      if (resident && next_use >= int64_t(entries) && (steps == 0 || pos1 <= kFirstSlot) && pos1 - pos0 > 1) {
        uint64_t ready = 0;
        for (int pos = pos0 + 1; pos < pos1; ++pos) {
          ready = std::max({ready, u_ready[size_t(nt) * kPositions + size_t(pos)], blk.set_ready[pos], v_ready[vb][pos]});
        }
        macs_one(blk, vb, pos0);
        if (ready <= P.free[kTile]) {
          Dmas chain;
          uint64_t ends[kPositions];
          for (int pos = pos0 + 1; pos < pos1; ++pos) {
            for (int c0 = 0; c0 < cb; c0 += chunk) {
              const int tiles = std::min(chunk, cb - c0);
              chain.Add(tld, uint64_t(tiles)), chain.Add(tmac(blk.T, tiles, &P.array_cycles));
            }
            ends[pos] = chain.span;
          }
          const uint64_t end = chain.Run(P, 0, kTile), start = end - chain.finish;
          for (int pos = pos0 + 1; pos < pos1; ++pos) blk.pos_done[pos] = start + ends[pos];
          v_read[vb] = end;
          return;
        }
        ++pos0;
      }
      for (int pos = pos0; pos < pos1; ++pos) {
        fetch_through(int64_t{nt} * kPositions + pos + kAhead);
        if (pos >= kFirstSlot) {
          const int64_t slot = int64_t{j} * (kPositions - kFirstSlot) + pos - kFirstSlot;
          transform_steps(kk + 1, steps * slot / slots, steps * (slot + 1) / slots);
        }
        macs_one(blk, vb, pos);
      }
    };
    Block prev, next;
    bool has_prev = false;
    int block_index = 0;
    auto do_band = [&](int kk) {
      const int parts = std::min({kb, band.plane_rows, 8});
      for (int j = 0; j < kb; ++j, ++block_index) {
        Block cur = next;
        cur.band = kk, cur.b = g * kb + (bands[size_t(kk)].reversed ? kb - 1 - j : j), cur.T = tiles_of(bands[size_t(kk)]);
        cur.staging = block_index % sc.staging_bufs;
        next = Block();
        // A new image fetches the cached blocks again (every image costs the same).
        if (j == 0 && kk > 0 && bands[size_t(kk)].n != bands[size_t(kk - 1)].n && !resident) {
          std::fill(fetched.begin(), fetched.end(), 0);
        }
        bool prev_open = has_prev;
        if (j == 0 && (!pipelined || kk == 0)) {
          if (has_prev) {
            row_pass(prev, nullptr);
            column_pass(prev);
            convert(prev);
            prev_open = false;
          }
          if (!pipelined) transform_steps(kk, 0, steps_of(kk));
          feeding = false;
          for (int role = 0; role < 4; ++role) take(cur, role);
        } else {
          if (has_prev) row_pass(prev, &cur);
          for (int role = 0; role < 4 && (role == 0 || !free_quads.empty()); ++role) take(cur, role);
        }
        const int next_load = kk + sc.in_bufs;
        if (sc.in_bufs == 1 && j == 0 && next_load < nb) load(next_load, 0, 1);
        const bool second = sc.in_bufs == 2 && kk == 0 && j == 0 && nb > 1;
        macs(cur, j, 0, 4);
        if (prev_open) {
          column_pass(prev);
          convert(prev);
        }
        for (int role = 1; role < 4; ++role) take(cur, role);
        if (second) load(1, 0, 1);
        const bool next_serial = j + 1 == kb && (!pipelined || kk + 1 == nb);
        if (!free_quads.empty() && !next_serial) {
          next.b = g * kb + (j + 1) % kb, next.T = tiles_of(bands[size_t(j + 1 == kb ? kk + 1 : kk)]);
          take(next, 0);
        }
        store_some(size_t(sc.staging_bufs - 1));
        for (int part = 0; part < parts && sc.in_bufs == 2 && next_load < nb; ++part) {
          if (part * kb / parts == j) load(next_load, part, parts);
        }
        macs(cur, j, 4, 16);
        prev = cur;
        has_prev = true;
      }
    };
    // Bands of one shape in a row (a window's bands inside the image) repeat once the pipeline has settled,
    // every `period` bands (the buffers and the staging come round again): the middle ones in closed form.
    int period = 1;
    while ((period * kb) % sc.staging_bufs != 0 || (cached > 0 && period % 2 != 0)) {
      ++period;
    }
    auto shape = [&](int kk) {
      const Band& bd = bands[size_t(kk)];
      return std::array<int64_t, 4>{bd.tx0, bd.rows, bd.ty0 == 0, bd.ty0 + bd.rows == tg.out_h};
    };
    for (int kk = 0; kk < nb;) {
      int end = kk + 1;
      while (end < nb && shape(end) == shape(kk)) ++end;
      if (end - kk >= 4 * period + 2) {
        do_band(kk++);
        Periods(
            P, (end - kk - period - 1) / period,
            [&] {
              for (int i = 0; i < period; ++i) do_band(kk++);
            },
            [&](uint64_t shift, int64_t periods) {
              const int bands_on = static_cast<int>(periods * period);
              filling[0].Shift(shift), filling[1].Shift(shift);
              // Bands alternate their input and V buffers: an odd count of them moves each buffer's state
              // to the other.
              if (bands_on % 2 != 0) {
                if (sc.in_bufs == 2) std::swap(filling[0], filling[1]), std::swap(buf_read[0], buf_read[1]);
                if (v_bufs == 2) std::swap(v_ready[0], v_ready[1]), std::swap(v_read[0], v_read[1]);
              }
              for (uint64_t* t : {&buf_read[0], &buf_read[1], &v_read[0], &v_read[1], &stored_first}) *t += shift;
              for (uint64_t* a : {req_done, column_done, v_ready[0], v_ready[1]}) {
                for (int i = 0; i < kPositions; ++i) a[i] += shift;
              }
              for (std::vector<uint64_t>* a : {&u_ready, &cache_read}) {
                for (uint64_t& t : *a) t += shift;
              }
              // The streamed uses move on by the skipped bands' count, each slot's state with its use.
              const int64_t on = more_slots > 0 ? band_uses * bands_on : 0;
              uint64_t r[8], in[8];
              for (int i = 0; i < n_slots; ++i) {
                r[(i + on) % n_slots] = slot_read[i] + shift, in[(i + on) % n_slots] = slot_in[i] + shift;
              }
              std::copy(r, r + n_slots, slot_read), std::copy(in, in + n_slots, slot_in);
              used += on, issued += on;
              for (uint64_t& t : quad_free) t += shift;
              for (uint64_t& t : staging_free) t += shift;
              for (Block* b : {&prev, &next}) {
                for (uint64_t& t : b->set_ready) t += shift;
                for (uint64_t& t : b->pos_done) t += shift;
                b->converted += shift, b->band += bands_on;
              }
              for (Block& b : to_store) b.converted += shift, b.band += bands_on;
              stored_band += bands_on, pieces_band = -1;
              block_index += bands_on * kb;
              kk += bands_on;
            });
      }
      for (; kk < end; ++kk) do_band(kk);
    }
    if (has_prev) {
      row_pass(prev, nullptr);
      column_pass(prev);
      convert(prev);
    }
    store_some(0);
  }
}

}  // namespace tile32::analytic

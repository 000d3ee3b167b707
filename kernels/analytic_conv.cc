// kernels/analytic.h for the convolutions: direct tap-major (kernels/conv_direct.cc), direct folded (the GEMM
// loop on gathered patches), depthwise (kernels/conv_depthwise.cc) and Winograd (kernels/conv_winograd.cc).
#include <array>
#include <functional>
#include <numeric>
#include <vector>

#include "accel/error.h"
#include "kernels/analytic_conv.h"
#include "kernels/conv_impl.h"
#include "kernels/input_band.h"
#include "kernels/middle_end.h"
#include "kernels/patch_gather.h"
#include "layout/tile_pack.h"

namespace tile32::analytic {
namespace {

ConvShape ShapeOf(const Layer& l, const LayerChoice& choice, const RunOptions& o) {
  const Types t(o.precision);
  ConvShape s;
  s.C = choice.input_shuffle_groups > 1 ? choice.input_shuffle_channels : l.in_c;
  s.K = l.out_c, s.G = l.groups, s.Cg = s.C / s.G, s.Kg = s.K / s.G, s.taps = l.kernel_h * l.kernel_w;
  s.batch = o.batch, s.mode = t.mode, s.out = t.y;
  s.elem = SizeOf(ActivationType(t.mode)), s.out_elem = SizeOf(t.y);
  ConvGeometry& g = s.geo;
  g.height = l.in_h, g.width = l.in_w, g.out_h = l.OutH(), g.out_w = l.OutW();
  g.kernel_h = l.kernel_h, g.kernel_w = l.kernel_w, g.stride_h = l.stride_h, g.stride_w = l.stride_w;
  g.dilation_h = g.dilation_w = 1, g.pad_top = l.pad_top, g.pad_left = l.pad_left;
  return s;
}

// ---- folded: the GEMM loop on patch rows ----

// Patch rows gathered by DMA. Rows of one image whose kernel windows lie inside the image vertically take the
// same DMAs as any other such rows starting at the same column: tallied once.
class PatchIo : public GemmIo {
 public:
  PatchIo(const Costs& k, const PatchSource& src) : k_(k), src_(src) {}
  Dmas LoadA(Pipe& p, int64_t m0, uint32_t rows, int k0, int cols, int padded, uint32_t stride) const override {
    const int64_t col = LoadKey(m0, rows);  // -1: not inside (its DMAs its own)
    const bool inside = col >= 0;
    if (inside) {
      for (const Tally& t : tallies_) {
        if (t.col == col && t.rows == rows && t.k0 == k0 && t.cols == cols && t.padded == padded) {
          p.dram_bytes += t.bytes;
          return t.dmas;
        }
      }
    }
    DmaTally t(k_);
    GatherPatchesWith(t, src_, m0, rows, k0, cols, 0, stride);
    if (cols < padded) {  // the pad of kernels/gemm_loop.cc, in the same tally: it waits for what it overlaps
      DmaIn pad;
      pad.sram = static_cast<uint32_t>(uint64_t(cols) * src_.elem), pad.segment = kSegFill, pad.rows = rows;
      pad.row_bytes = static_cast<uint32_t>(uint64_t(padded - cols) * src_.elem), pad.sram_stride = stride;
      t(pad);
    }
    p.dram_bytes += t.bytes;
    if (inside) tallies_.push_back({col, rows, k0, cols, padded, t.dmas, t.bytes});
    return t.dmas;
  }
  // Inside one image, kernel windows inside it vertically: the DMAs depend on the first row's column alone.
  int64_t LoadKey(int64_t m0, uint32_t rows) const override {
    const ConvGeometry& g = src_.geo;
    const int64_t image = int64_t{g.out_h} * g.out_w, first = m0 % image;
    const int64_t oy0 = first / g.out_w, oy1 = (first + rows - 1) / g.out_w;
    const bool inside = first + rows <= image && oy0 * g.stride_h - g.pad_top >= 0 &&
                        oy1 * g.stride_h - g.pad_top + (g.kernel_h - 1) * g.dilation_h < g.height;
    return inside ? first % g.out_w : -1;
  }

 private:
  struct Tally {
    int64_t col;
    uint32_t rows;
    int k0, cols, padded;
    Dmas dmas;
    uint64_t bytes;
  };
  const Costs& k_;
  const PatchSource& src_;
  mutable std::vector<Tally> tallies_;
};

void ModelFolded(Pipe& p, const Costs& k, const ConvShape& s) {
  PatchSource src;
  src.geo = s.geo, src.channels = s.Cg, src.elem = s.elem, src.x_pixel = uint64_t(s.C) * s.elem;
  src.merge = s.G == 1;
  src.seg_x = kSegX, src.seg_fill = kSegFill;
  GemmLoopShape g;
  g.fn = "Conv";
  g.M = int64_t{s.batch} * s.geo.out_h * s.geo.out_w, g.row_quantum = s.geo.out_w, g.mode = s.mode;
  g.K = s.taps * s.Cg, g.N = s.Kg;
  g.k_tiles = Ceil32(g.K), g.n_tiles = Ceil32(s.Kg);
  g.tile_bytes = TileImageBytes(WeightType(s.mode));
  g.out = s.out;
  for (int grp = 0; grp < s.G; ++grp) {
    src.channel_offset = grp * s.Cg;
    ModelGemmLoop(p, k, g, PatchIo(k, src));
  }
}

// ---- tap-major ----

// Returns false when not even one output row fits (the caller may fall back to folded).
bool ModelTapMajor(Pipe& P, const Costs& k, const ConvShape& s, bool fall_back) {
  const AccelConfig& c = k.c;
  const ConvGeometry& geo = s.geo;
  const int cb = Ceil32(s.Cg), bpg = Ceil32(s.Kg);
  const int chunk = static_cast<int>(std::min<int64_t>({c.tile_regs, int64_t{s.taps} * cb, 255}));
  const uint64_t tile_bytes = TileImageBytes(WeightType(s.mode));
  const int64_t k_tiles = int64_t{s.taps} * cb, total = k_tiles * bpg;
  const uint32_t out_row = static_cast<uint32_t>(Align64(uint64_t{kLanes} * s.out_elem));
  const TapMajorPlan tp = PlanTapMajor(c, geo, s.Cg, s.elem, uint64_t(total) * tile_bytes, tile_bytes, chunk, false,
                                       out_row, bpg, s.out, SramPlan(c, "Conv"));
  if (tp.band_rows == 0) {
    if (fall_back) return false;
    Fail("Conv: accelerator configuration too small for one output row");
  }
  BandLayout band = MakeBandLayout(geo, tp.band_rows, s.Cg, s.elem, 0);
  const int sets = tp.shape.sets, buffers = tp.shape.buffers;
  const int pair = tp.pair, regions = tp.regions;  // blocks stored together, staging regions (kernels/conv_direct.cc)
  const int pitch = band.pitch;
  const bool whole = pitch == geo.out_w;
  const int parts = TapMajorLoadParts(bpg, band.plane_rows);
  const bool requant = IsRequantOutput(s.out);
  const int out_unit = requant ? kRequant : kVector;
  // Runs of taps whose activations lie back to back (one stretch of tiles each).
  struct Run {
    int taps;
    uint32_t addr;
  };
  std::vector<Run> runs;
  for (int t0 = 0; t0 < s.taps;) {
    const uint32_t a0 = band.TapAddress(t0 / geo.kernel_w, t0 % geo.kernel_w);
    int t1 = t0 + 1;
    while (t1 < s.taps && band.TapAddress(t1 / geo.kernel_w, t1 % geo.kernel_w) == a0 + (t1 - t0) * band.pixel_bytes) ++t1;
    runs.push_back({t1 - t0, a0});
    t0 = t1;
  }
  // The TMACs of a block: per run of taps, chunks of at most `chunk` tiles (the same for every block).
  struct Chunk {
    int kt, tiles;
    uint64_t lo, hi = 0;  // the SRAM of the band it reads
    uint64_t tmac = 0, array = 0;
    uint64_t sum_cycles = 0, sum_n = 0, sum_array = 0;  // of its TLDs and TMAC and those of the chunks before
  };
  std::vector<Chunk> chunks;
  int t0 = 0;
  for (const Run& run : runs) {
    const int run_tiles = run.taps * cb;
    for (int k0 = 0; k0 < run_tiles; k0 += chunk) {
      chunks.push_back({t0 * cb + k0, std::min(chunk, run_tiles - k0), run.addr + uint64_t(k0) * kLanes * s.elem});
    }
    t0 += run.taps;
  }
  // When each chunk's TMAC of the latest block ends: with one input buffer, the next band's DMAs wait for them.
  std::vector<uint64_t> chunk_end(chunks.size(), 0);
  std::vector<Written> band_reads;
  const uint64_t weights_tld = k.Tld(tile_bytes);
  // Chunks [c0, c1) as one chain of TLDs and TMACs: their sums, and the cycles of the last kTail. The same
  // stretches come back block after block: each worked out once per band height (`chains`, cleared with it).
  struct Chain {
    size_t c0, c1;
    Dmas d;
  };
  std::vector<Chain> chains;
  auto ChainOf = [&](size_t c0, size_t c1) -> const Dmas& {
    for (const Chain& ch : chains) {
      if (ch.c0 == c0 && ch.c1 == c1) return ch.d;
    }
    uint64_t tail[kTail], kept = 0;
    for (size_t i = c1; i-- > c0 && kept < kTail;) {
      tail[kTail - ++kept] = chunks[i].tmac;
      for (int t = 0; t < chunks[i].tiles && kept < kTail; ++t) tail[kTail - ++kept] = weights_tld;
    }
    const Chunk& last = chunks[c1 - 1];
    const uint64_t before_cycles = c0 > 0 ? chunks[c0 - 1].sum_cycles : 0, before_n = c0 > 0 ? chunks[c0 - 1].sum_n : 0;
    const uint64_t before = last.sum_cycles - before_cycles - std::accumulate(tail + kTail - kept, tail + kTail, uint64_t{0});
    Dmas d;
    d.n = last.sum_n - before_n - kept, d.busy = d.span = d.finish = before, d.at = d.n % kTail;
    for (uint64_t i = kTail - kept; i < kTail; ++i) d.Add(tail[i]);
    chains.push_back({c0, c1, d});
    return chains.back().d;
  };
  Dmas rest;
  uint64_t rest_array = 0, rest_rows = 0;
  const int bands_per_image = (geo.out_h + tp.band_rows - 1) / tp.band_rows;
  const int64_t nb = int64_t{s.batch} * bands_per_image;
  auto rows_of = [&](int64_t kb) { return std::min(tp.band_rows, geo.out_h - int(kb % bands_per_image) * tp.band_rows); };
  BandSource src;
  src.segment = kSegX, src.fill_segment = kSegFill;
  src.pixel_stride = s.C, src.elem_bytes = s.elem;
  Filling filling[2];
  BandLoads loads(k, band, src);
  auto load_cycles = [&](int64_t kb, int part, int nparts, Filling& f) {
    return loads.Load(P, f, int(kb / bands_per_image), int(kb % bands_per_image) * tp.band_rows, part, nparts);
  };
  const uint64_t req_row = k.Bank(uint64_t{kLanes} * s.out_elem);
  bool quant_set = false;

  for (int grp = 0; grp < s.G; ++grp) {
    src.channel_offset = grp * s.Cg;
    const int64_t window = WeightTiles::WindowTiles(total, int(k_tiles), tile_bytes, tp.resident, chunk, false,
                                                    tp.w_bytes, false);
    Weights weights(P, k, total, int(k_tiles), tile_bytes, window, tp.resident);
    uint64_t set_free[2] = {}, staging_free[4] = {}, buf_ready[2] = {}, buf_free[2] = {};
    struct Block {
      uint64_t at;
      int rows_here, b, set;
      int64_t band;
      int region;  // b: the pair's first once converted
    };
    uint64_t stored_first = 0;  // when the first DMA of the last block stored is done
    int64_t stored_band = -1;
    Block to_convert{}, to_store[4];
    bool converting = false;
    int storing = 0;
    auto store = [&](const Block& q) {
      const int cols = std::min(kLanes * pair, s.Kg - kLanes * q.b);
      const uint64_t row_bytes = uint64_t(cols) * s.out_elem;
      const uint64_t n = whole ? 1 : uint64_t(q.rows_here);
      const DmaCost each = k.Y(uint64_t(q.rows_here) * geo.out_w * row_bytes / n);
      Dmas d;
      d.AddTimes(each, n);
      P.dram_bytes += uint64_t(q.rows_here) * geo.out_w * row_bytes;
      // The blocks of a band write the same pixels' other channels: within each other's DRAM span, so a
      // block's first DMA waits for the block before's first to be done.
      const uint64_t start = std::max(q.at, q.band == stored_band ? stored_first : 0);
      staging_free[q.region] = d.Run(P, start);
      stored_first = staging_free[q.region] - d.finish + each.occupied + each.latency, stored_band = q.band;
    };
    auto store_some = [&](int count, int region) {
      int kept = 0;
      for (int i = 0; i < storing; ++i) {
        if (i < count || to_store[i].region == region) {
          store(to_store[i]);
        } else {
          to_store[kept++] = to_store[i];
        }
      }
      storing = kept;
    };
    auto convert = [&] {
      if (!converting) return;
      const Block q = to_convert;
      store_some(0, q.region);
      if (requant && !quant_set) P.Run(kRequant, 4, 0), quant_set = true;
      const uint64_t rows = uint64_t(q.rows_here) * pitch * req_row;
      const uint64_t done = P.Run(out_unit, requant ? k.Requant(rows) : k.Vector(rows), std::max(q.at, staging_free[q.region]));
      set_free[q.set] = done;
      if (GemmStagingComplete(q.b, bpg, pair)) to_store[storing++] = {done, q.rows_here, q.b - q.b % pair, q.set, q.band, q.region};
      converting = false;
    };

    auto load = [&](int64_t kb, int part, int nparts, uint64_t ready, int buf) {
      const Dmas d = load_cycles(kb, part, nparts, filling[buf]);
      const uint64_t end = d.Run(P, ready);
      filling[buf].Placed(end, d.finish);
      return end;
    };
    buf_ready[0] = load(0, 0, 1, 0, 0);
    auto do_band = [&](int64_t kb) {
      const int buf = static_cast<int>(kb % buffers);
      if (kb > 0 && buffers == 1) {
        // One buffer: each DMA of the band waits for the last block's TMACs that read the bytes it overwrites.
        band_reads.clear();
        for (size_t c = 0; c < chunks.size(); ++c) band_reads.push_back({chunks[c].lo, chunks[c].hi, chunk_end[c]});
        const uint64_t start = P.StartOf(kDma, 0);
        const Dmas d = loads.Load(P, filling[0], int(kb / bands_per_image), int(kb % bands_per_image) * tp.band_rows, 0, 1,
                                  &band_reads, start);
        buf_ready[0] = d.Run(P, start);
        filling[0].Placed(buf_ready[0], d.finish);
      }
      const int rows_here = rows_of(kb);
      const uint64_t rows = uint64_t(rows_here) * pitch;
      // After a block's first chunk, with the weights resident and in SRAM and the band loaded, the rest are
      // TLDs and TMACs back to back on the arrays: one chain, the same for every block of the band.
      if (rest_rows != rows) {
        rest_rows = rows, chains.clear();
        uint64_t sum_cycles = 0, sum_n = 0, sum_array = 0;
        for (Chunk& ch : chunks) {
          const uint64_t tiles = uint64_t(ch.tiles), row_bytes = uint64_t{kLanes} * tiles * s.elem;
          ch.tmac = k.Tmac(rows, tiles, row_bytes), ch.array = k.TmacArray(rows, tiles);
          ch.hi = ch.lo + (rows - 1) * band.pixel_bytes + row_bytes;
          ch.sum_cycles = sum_cycles += tiles * weights_tld + ch.tmac;
          ch.sum_n = sum_n += tiles + 1;
          ch.sum_array = sum_array += ch.array;
        }
        rest = ChainOf(1, chunks.size()), rest_array = sum_array - chunks[0].sum_array;
      }
      auto block = [&](int j) {
        const int set = static_cast<int>((kb * bpg + j) % sets), region = GemmStagingRegion(kb, j, bpg, pair, regions);
        if (converting && to_convert.set == set) convert();
        const uint64_t seeded = P.Run(kVector, k.Vector(rows), set_free[set]);
        convert();
        uint64_t tmac_end = 0;
        for (size_t c = 0; c < chunks.size(); ++c) {
          const Chunk& ch = chunks[c];
          weights.Load(ch.kt, ch.tiles, j);
          const uint64_t in = filling[buf].Ready(ch.lo, ch.hi, P.free[kTile], k.c.dram_latency_cycles);
          tmac_end = chunk_end[c] = P.Run(kTile, ch.tmac, std::max(seeded, in));
          P.array_cycles += ch.array;
          buf_free[buf] = tmac_end;
          weights.Prefetch(kb + 1 < nb);
          if (c == 0) {
            store_some(storing, -1);
            if (j < parts && buffers == 2 && kb + 1 < nb) {
              const int nbuf = 1 - buf;
              // The parts of the next band come one DMA batch after another; the band is ready after the last.
              buf_ready[nbuf] = load(kb + 1, j, parts, j == 0 ? buf_free[nbuf] : 0, nbuf);
            }
          }
          if (c + 1 == chunks.size() || std::max(seeded, filling[buf].all) > P.free[kTile]) continue;
          if (c == 0 && weights.Settled(j, chunks[1].kt, int(k_tiles) - 1, P.free[kTile])) {
            tmac_end = buf_free[buf] = rest.Run(P, 0, kTile);
            for (size_t i = 1; i < chunks.size(); ++i) chunk_end[i] = tmac_end - (chunks.back().sum_cycles - chunks[i].sum_cycles);
            P.array_cycles += rest_array;
            weights.Loaded(chunks.back().kt, chunks.back().tiles, j);
            break;
          }
          // The next chunks that read the same window, once it and the band are there: one chain.
          size_t e = c + 1;
          const int64_t window_end = weights.WindowEnd(j);
          while (e < chunks.size() && chunks[e].kt + chunks[e].tiles <= window_end) ++e;
          if (e > c + 2 && weights.InWindow(j, chunks[c + 1].kt, chunks[e - 1].kt + chunks[e - 1].tiles, P.free[kTile], kb + 1 < nb)) {
            tmac_end = buf_free[buf] = ChainOf(c + 1, e).Run(P, 0, kTile);
            for (size_t i = c + 1; i < e; ++i) chunk_end[i] = tmac_end - (chunks[e - 1].sum_cycles - chunks[i].sum_cycles);
            P.array_cycles += chunks[e - 1].sum_array - chunks[c].sum_array;
            weights.LoadedInWindow(chunks[e - 1].kt, chunks[e - 1].tiles, j, tmac_end - chunks[e - 1].tmac);
            c = e - 1;
          }
        }
        to_convert = {tmac_end, rows_here, j, set, kb, region};
        converting = true;
      };
      // With the weights resident, blocks after the band's load parts repeat once the pipeline has settled,
      // every `per` blocks (the two ACC sets; pairs of blocks taking turns in the staging regions).
      int j = 0;
      const int lead = parts + 2, per = pair == 1 ? 2 : pair * regions;
      if (tp.resident && bpg >= lead + 8) {
        for (; j < lead; ++j) block(j);
        Periods(
            P, (bpg - j - per) / per,
            [&] {
              for (const int end = j + per; j < end; ++j) block(j);
            },
            [&](uint64_t shift, int64_t pairs) {
              weights.Shift(shift);
              filling[0].Shift(shift), filling[1].Shift(shift);
              for (uint64_t* t : {&set_free[0], &set_free[1], &buf_ready[0], &buf_ready[1], &buf_free[0], &buf_free[1],
                                  &to_convert.at, &stored_first}) {
                *t += shift;
              }
              for (uint64_t& t : staging_free) t += shift;
              for (int i = 0; i < storing; ++i) to_store[i].at += shift;
              for (uint64_t& e : chunk_end) e += shift;
              j += static_cast<int>(per * pairs);
            });
      }
      for (; j < bpg; ++j) block(j);
    };
    // Bands repeat (two buffers, two sets; per image the first and last differ) once the pipeline has settled;
    // the last period and band run as they are.
    // (Pairs of blocks take turns in the staging regions across bands too: whole turns of them.)
    const int64_t pairs_per_band = (bpg + pair - 1) / pair;
    const int64_t period = std::lcm(s.batch > 1 ? (bands_per_image % 2 == 0 ? bands_per_image : 2 * bands_per_image) : 2,
                                    regions / std::gcd(pairs_per_band, int64_t{regions}));
    int64_t kb = 0;
    if (nb >= 4 * period + 2) {
      do_band(kb++);
      Periods(
          P, (nb - kb - period - 1) / period,
          [&] {
            for (int64_t i = 0; i < period; ++i) do_band(kb++);
          },
          [&](uint64_t shift, int64_t periods) {
            weights.Shift(shift);
            filling[0].Shift(shift), filling[1].Shift(shift);
            for (uint64_t* t : {&set_free[0], &set_free[1], &buf_ready[0], &buf_ready[1], &buf_free[0], &buf_free[1],
                                &to_convert.at, &stored_first}) {
              *t += shift;
            }
            for (uint64_t& t : staging_free) t += shift;
            for (int i = 0; i < storing; ++i) to_store[i].at += shift, to_store[i].band += periods * period;
            for (uint64_t& e : chunk_end) e += shift;
            stored_band += periods * period, to_convert.band += periods * period;
            kb += periods * period;
          });
    }
    for (; kb < nb; ++kb) do_band(kb);
    convert();
    store_some(storing, -1);
  }
  return true;
}

// ---- depthwise ----

void ModelDepthwise(Pipe& P, const Costs& k, const ConvShape& s) {
  const AccelConfig& c = k.c;
  const ConvGeometry& geo = s.geo;
  const int K = s.K, taps = s.taps, blocks = Ceil32(K), mult = K / s.C;
  const int welem = SizeOf(WeightType(s.mode));
  const DepthwisePlan dp = PlanDepthwise(c, geo, K, taps, s.elem, welem, s.out_elem, false, SramPlan(c, "Conv"));
  if (dp.band_rows == 0) Fail("Conv: accelerator configuration too small for one output row of the depthwise band");
  BandLayout band = MakeBandLayout(geo, dp.band_rows, K, s.elem, 0);
  const uint32_t pitch = static_cast<uint32_t>(band.pitch);
  const uint32_t limit = static_cast<uint32_t>(dp.chunk_limit);
  const uint32_t chunk = pitch <= limit ? limit / pitch * pitch : limit;
  const uint64_t block_w = dp.block_weights;
  const bool requant = IsRequantOutput(s.out);
  const int out_unit = requant ? kRequant : kVector;
  const uint64_t stage_row = dp.stage_row;
  const uint64_t emac_row_bytes = uint64_t{kLanes} * s.elem;
  // A block's conversion into its columns of the staging rows, K elements apart: rows that start off a bank
  // word take a cycle more where the banks are narrow. Its cycles by the §8.1 rule, once per chunk height (a
  // block's columns start 32 elements into the row, on a bank word like the staging region).
  uint32_t convert_rows[2] = {};  // the chunk's rows and the last chunk's
  uint64_t convert_cycles[2] = {};
  auto convert_cost = [&](uint32_t rows) {
    const int at = rows == convert_rows[0] ? 0 : 1;
    if (rows != convert_rows[at]) {
      Instr i = Requant{};
      if (requant) {
        Requant r;
        r.rows = rows, r.out = s.out, r.row_stride = static_cast<int32_t>(stage_row);
        i = r;
      } else {
        AccStore st;
        st.rows = rows, st.type = s.out, st.row_stride = static_cast<int32_t>(stage_row);
        i = st;
      }
      const uint64_t cycles = CostOf(i, c).cycles;
      convert_rows[at] = rows, convert_cycles[at] = requant ? k.Requant(cycles) : k.Vector(cycles);
    }
    return convert_cycles[at];
  };
  // VLDs of the weight vectors: the kernel's direct-mapped cache of (block, tap) over the V registers.
  const int slots = static_cast<int>(c.vector_regs);
  std::array<int64_t, 256> holds;  // vector_regs <= 256 (AccelConfig::Validate)
  holds.fill(-1);
  // Per V register: when its VLD is done (an EMAC reads it after) and its last EMAC (a VLD overwrites it after).
  std::array<uint64_t, 256> reg_loaded{}, reg_read{};
  auto shift_regs = [&](uint64_t shift) {
    for (int v = 0; v < slots; ++v) reg_loaded[size_t(v)] += shift, reg_read[size_t(v)] += shift;
  };
  // The register of (block b, tap 0); each next tap's is one further round: a division per block, not per tap.
  auto first_slot = [&](int64_t b) { return static_cast<int>(b * taps % slots); };
  auto next_slot = [&](int v) { return v + 1 == slots ? 0 : v + 1; };
  const uint64_t vld = k.Bank(uint64_t{kLanes} * welem);

  if (dp.resident) P.dram_bytes += dp.weights;
  uint64_t w_ready = dp.resident ? P.Run(kDma, k.Dma(dp.weights), 0) : 0;
  int w_block = -1;
  uint64_t w_read = 0;  // when the last VLD of the block's weights ended (not resident)

  BandSource src;
  src.segment = kSegX, src.fill_segment = kSegFill;
  src.pixel_stride = s.C, src.elem_bytes = s.elem, src.channels = s.C, src.band_channels = K, src.replicate = mult;
  src.pad_channels = false;  // as kernels/conv_depthwise.cc loads it
  uint64_t acc_free = 0, band_free = 0;
  std::vector<std::pair<uint32_t, uint64_t>> stores;  // the last chunk's DMAs: first staging row, when done
  bool quant_set = false;
  const int bands_per_image = (geo.out_h + dp.band_rows - 1) / dp.band_rows;
  Filling filling;
  BandLoads loads(k, band, src);
  std::vector<uint32_t> tap_addr(static_cast<size_t>(taps));
  for (int tap = 0; tap < taps; ++tap) tap_addr[size_t(tap)] = band.TapAddress(tap / geo.kernel_w, tap % geo.kernel_w);

  auto do_band = [&](int n, int oy0) {
    const int rows_here = std::min(dp.band_rows, geo.out_h - oy0);
    const uint32_t band_total = static_cast<uint32_t>(rows_here) * pitch;
    const Dmas d = loads.Load(P, filling, n, oy0, 0, 1);
    filling.Placed(d.Run(P, band_free), d.finish);
    for (uint32_t r0 = 0; r0 < band_total; r0 += chunk) {
      const uint32_t rows = std::min(chunk, band_total - r0);
      uint64_t converted = 0;
      auto block = [&](int b) {
        const uint64_t seeded = P.Run(kVector, k.Vector(rows), acc_free);
        uint64_t emac_end = seeded;
        // With every tap's weights in a V register and the band loaded, the block's EMACs run back to back.
        bool held_all = filling.all <= std::max(seeded, P.free[kTile]);
        uint64_t loaded = 0;
        for (int tap = 0, v = first_slot(b); tap < taps && held_all; ++tap, v = next_slot(v)) {
          held_all = holds[size_t(v)] == int64_t{b} * taps + tap;
          loaded = std::max(loaded, reg_loaded[size_t(v)]);
        }
        held_all = held_all && loaded <= std::max(seeded, P.free[kTile]);
        if (held_all) {
          emac_end = P.RunEach(kTile, k.Emac(rows, emac_row_bytes), seeded, uint64_t(taps));
          for (int tap = 0, v = first_slot(b); tap < taps; ++tap, v = next_slot(v)) reg_read[size_t(v)] = emac_end;
          P.array_cycles += uint64_t(rows) * k.pass * uint64_t(taps);
        }
        for (int tap = 0, v = first_slot(b); tap < taps && !held_all; ++tap, v = next_slot(v)) {
          const int64_t key = int64_t{b} * taps + tap;
          if (int64_t& held = holds[size_t(v)]; held != key) {
            held = key;
            uint64_t ready = w_ready;
            if (!dp.resident && w_block != b) {
              P.dram_bytes += block_w;
              w_ready = ready = P.Run(kDma, k.Dma(block_w), w_read);
              w_block = b;
            }
            w_read = reg_loaded[size_t(v)] = P.Run(kVector, vld, std::max(ready, reg_read[size_t(v)]));
          }
          const uint64_t lo = tap_addr[size_t(tap)] + uint64_t(b) * emac_row_bytes + uint64_t(r0) * band.pixel_bytes;
          const uint64_t in = filling.Ready(lo, lo + uint64_t(rows - 1) * band.pixel_bytes + emac_row_bytes, P.free[kTile],
                                           k.c.dram_latency_cycles);
          emac_end = reg_read[size_t(v)] =
              P.Run(kTile, k.Emac(rows, emac_row_bytes), std::max({seeded, in, emac_end, reg_loaded[size_t(v)]}));
          P.array_cycles += uint64_t(rows) * k.pass;
        }
        band_free = emac_end;
        if (requant && !quant_set) P.Run(kRequant, 4, 0), quant_set = true;
        uint64_t staging_free = 0;
        for (const auto& st : stores) {
          if (st.first < rows) staging_free = std::max(staging_free, st.second);
        }
        converted = acc_free = P.Run(out_unit, convert_cost(rows), std::max(emac_end, staging_free));
      };
      // The chunk's blocks repeat when the weight cache misses every tap of every block or holds every one (the
      // same VLDs and DMAs per block): the blocks after two alike in closed form, the cache filled as they would.
      int b = blocks - 1;
      if (blocks >= 8) {  // fewer: the check costs more than the blocks it saves
        std::array<int64_t, 256> after;
        std::copy_n(holds.begin(), slots, after.begin());
        int hits = 0;
        for (int bb = blocks - 1; bb >= 0; --bb) {
          for (int tap = 0, v = first_slot(bb); tap < taps; ++tap, v = next_slot(v)) {
            const int64_t key = int64_t{bb} * taps + tap;
            hits += after[size_t(v)] == key;
            after[size_t(v)] = key;
          }
        }
        if (hits == 0 || hits == blocks * taps) {
          Periods(
              P, blocks - 1, [&] { block(b--); },
              [&](uint64_t shift, int64_t skipped) {
                for (int64_t bb = b; bb > b - skipped; --bb) {
                  for (int tap = 0, v = first_slot(bb); tap < taps; ++tap, v = next_slot(v)) {
                    holds[size_t(v)] = bb * taps + tap;
                  }
                }
                b -= static_cast<int>(skipped);
                if (!dp.resident && hits == 0) w_block = b + 1;
                for (uint64_t* t : {&w_ready, &w_read, &acc_free, &band_free, &converted}) *t += shift;
                shift_regs(shift);
              });
        }
      }
      for (; b >= 0; --b) block(b);
      // The chunk's valid outputs: one DMA (a network's output is dense), or one per plane row piece. The next
      // chunk's REQs write staging rows [0, its rows): they wait for the DMAs that read those rows only.
      Dmas d;
      uint64_t bytes = 0;
      stores.clear();
      if (pitch == static_cast<uint32_t>(geo.out_w)) {
        bytes = uint64_t(rows) * stage_row;
        stores.push_back({0, d.Add(k.Y(bytes))});
      } else if (r0 % pitch == 0 && rows % pitch == 0) {  // whole plane rows of a dense output: one DMA
        bytes = uint64_t(rows / pitch) * uint64_t(geo.out_w) * stage_row;
        stores.push_back({0, d.Add(k.Y(bytes))});
      } else {
        for (uint32_t q = r0 / pitch; q * pitch < r0 + rows; ++q) {
          const uint32_t lo = std::max(r0, q * pitch);
          const uint32_t hi = std::min(r0 + rows, q * pitch + static_cast<uint32_t>(geo.out_w));
          if (lo < hi) bytes += uint64_t(hi - lo) * stage_row, stores.push_back({lo - r0, d.Add(k.Y(uint64_t(hi - lo) * stage_row))});
        }
      }
      P.dram_bytes += bytes;
      const uint64_t start = d.Run(P, converted) - d.finish;
      for (auto& st : stores) st.second += start;
    }
  };
  // An image's bands inside it (neither first nor last) repeat once the pipeline has settled: the middle ones
  // in closed form.
  for (int n = 0; n < s.batch; ++n) {
    int i = 0;
    if (bands_per_image >= 8) {
      do_band(n, i++ * dp.band_rows);
      Periods(
          P, bands_per_image - i - 2, [&] { do_band(n, i++ * dp.band_rows); },
          [&](uint64_t shift, int64_t bands) {
            filling.Shift(shift);
            for (uint64_t* t : {&w_ready, &w_read, &acc_free, &band_free}) *t += shift;
            shift_regs(shift);
            for (auto& st : stores) st.second += shift;
            i += static_cast<int>(bands);
          });
    }
    for (; i < bands_per_image; ++i) do_band(n, i * dp.band_rows);
  }
}

}  // namespace

void ModelConv(Pipe& p, const Layer& l, const LayerChoice& choice, const Costs& k, const RunOptions& o) {
  const ConvShape s = ShapeOf(l, choice, o);
  ConvAlgorithm a = choice.algorithm;
  if (a == ConvAlgorithm::kAuto) {
    a = s.G == s.C && choice.layout == ConvLayout::kAuto ? ConvAlgorithm::kDepthwise
        : l.kernel_h == 3 && l.kernel_w == 3 && l.stride_h == 1 && l.stride_w == 1 && o.precision == Precision::kInt8 &&
                choice.layout == ConvLayout::kAuto
            ? ConvAlgorithm::kWinograd
            : ConvAlgorithm::kDirect;
  }
  if (a == ConvAlgorithm::kDepthwise) {
    if (s.G != s.C) Fail("Conv: depthwise needs one group per input channel");
    return ModelDepthwise(p, k, s);
  }
  if (a == ConvAlgorithm::kWinograd) return ModelWinograd(p, k, s);
  // Direct: the layout packed (kAuto when C/G is a multiple of 32: the same weights serve both), then per call.
  ConvLayout layout = choice.layout;
  if (layout == ConvLayout::kAuto && s.Cg % kLanes != 0) {
    layout = Ceil32(int64_t{s.taps} * s.Cg) < int64_t{s.taps} * Ceil32(s.Cg) ? ConvLayout::kFolded : ConvLayout::kTapMajor;
  }
  const ConvLayout run = DirectLayoutForCall(layout, s.geo);
  if (run == ConvLayout::kFolded) return ModelFolded(p, k, s);
  if (!ModelTapMajor(p, k, s, layout == ConvLayout::kAuto)) ModelFolded(p, k, s);
}

}  // namespace tile32::analytic

// kernels/analytic.h: the front end, the GEMM loop (GEMMs, fully connected layers, folded direct convolution
// and the permutation shuffle run it) and the channel shuffle by routes.
#include "kernels/analytic.h"

#include <algorithm>
#include <array>

#include "accel/cost.h"
#include "accel/error.h"
#include "kernels/analytic_impl.h"
#include "kernels/channel_shuffle.h"
#include "kernels/middle_end.h"
#include "layout/tile_pack.h"

namespace tile32::analytic {

Costs::Costs(const AccelConfig& config, MacMode mode, bool x_on_chip, bool y_on_chip)
    : c(config), x_on_chip(x_on_chip), y_on_chip(y_on_chip) {
  const uint32_t rate = mode == MacMode::kBF16     ? c.macs_per_cycle_bf16
                        : mode == MacMode::kS16S16 ? c.macs_per_cycle_int16
                                                   : c.macs_per_cycle_int8;
  pass = CeilDiv(uint64_t{kLanes} * kLanes, rate);
}

void ModelGemmLoop(Pipe& P, const Costs& k, const GemmLoopShape& s, const GemmIo& io) {
  const AccelConfig& c = k.c;
  const GemmLoopPlan p = PlanGemmLoop(c, s);
  const int k_tiles = s.k_tiles, n_tiles = s.n_tiles;
  const int64_t total = int64_t{k_tiles} * n_tiles;
  const int64_t window = WeightTiles::WindowTiles(total, k_tiles, s.tile_bytes, p.w_resident, p.chunk_tiles, false,
                                                  p.w_budget, p.rows >= kLanes);
  Weights weights(P, k, total, k_tiles, s.tile_bytes, window, p.w_resident);
  // Column blocks of 1-byte outputs convert in pairs into one staging region (kernels/gemm_loop.cc).
  const int pair = GemmStagingPair(s.out);
  const int col_period = weights.ColumnPeriod(p.sets * pair);
  const uint64_t elem = SizeOf(ActivationType(s.mode)), out_elem = SizeOf(s.out);
  const bool requant = IsRequantOutput(s.out);
  const int out_unit = requant ? kRequant : kVector;

  // When each ACC set is free to seed (its last block converted), each staging region free to convert into
  // (its last blocks stored), each A buffer loaded and last read.
  uint64_t set_free[2] = {}, staging_free[2] = {}, buf_ready[2] = {}, buf_free[2] = {};
  bool quant_set = false;
  struct Pending {
    bool any = false;
    uint64_t at = 0;  // TMACs done (to convert) or converted (to store)
    uint32_t rows = 0;
    int nt = 0, set = 0, region = 0;  // column block, ACC set, staging region
    int64_t bi = 0;                   // the row block
  } to_convert, to_store;
  uint64_t stored = 0;  // when the last store is done
  int64_t stored_bi = -1;
  int64_t units = 0;

  auto load_a_rows = [&](int64_t m0, uint32_t rows, int buf) {
    const Dmas d = io.LoadA(P, m0, rows, 0, s.K, kLanes * k_tiles, p.a_row);
    buf_ready[buf] = d.Run(P, buf_free[buf]);
  };
  auto store = [&] {
    if (!to_store.any) return;
    to_store.any = false;
    if (!GemmStagingComplete(to_store.nt, n_tiles, pair)) return;  // stored with the second of its pair
    const int nt0 = to_store.nt - to_store.nt % pair;
    const uint64_t cols = std::min(kLanes * pair, s.N - kLanes * nt0);
    const uint64_t bytes = to_store.rows * cols * out_elem;
    P.dram_bytes += bytes;
    // C's rows are N apart: the column blocks of one row block write within each other's span, and a DMA
    // waits for one whose DRAM it overlaps to be done (one row does not).
    const uint64_t after = to_store.bi == stored_bi && to_store.rows > 1 ? stored : 0;
    stored = staging_free[to_store.region] = P.Run(kDma, k.Y(bytes), std::max(to_store.at, after));
    stored_bi = to_store.bi;
  };
  auto convert = [&] {
    if (!to_convert.any) return;
    store();
    if (requant && !quant_set) P.Run(kRequant, 4, 0), quant_set = true;
    const uint64_t rows = to_convert.rows * k.Bank(uint64_t{kLanes} * out_elem);
    const uint64_t done = P.Run(out_unit, requant ? k.Requant(rows) : k.Vector(rows),
                                std::max(to_convert.at, staging_free[to_convert.region]));
    set_free[to_convert.set] = done;
    to_store = to_convert, to_store.at = done;
    to_convert.any = false;
  };

  struct Chunk {
    int64_t m0 = -1;
    Dmas dmas;
    uint64_t bytes = 0;
  };
  std::vector<Chunk> chunks(p.a_full ? 0 : CeilDiv(uint64_t(k_tiles), uint64_t(p.chunk_tiles)));
  const uint64_t tld = k.Tld(s.tile_bytes);
  Dmas rest;
  uint64_t rest_array = 0, rest_rows = 0;
  auto row_block = [&](int64_t bi) {
    const int64_t m0 = bi * p.rows;
    const uint32_t rows = static_cast<uint32_t>(std::min<int64_t>(p.rows, s.M - m0));
    const int buf = static_cast<int>(bi % p.bufs);
    const bool wrap = m0 + p.rows < s.M;
    if (p.a_full && (m0 == 0 || p.bufs == 1)) load_a_rows(m0, rows, buf);
    auto column = [&](int nt) {
      const int set = static_cast<int>(units++ % p.sets);
      if (to_convert.any && to_convert.set == set) convert();
      const uint64_t seeded = P.Run(kVector, k.Vector(rows), set_free[set]);
      convert();
      uint64_t tmac_end = 0;
      for (int kt0 = 0; kt0 < k_tiles; kt0 += p.chunk_tiles) {
        const int tiles = std::min(p.chunk_tiles, k_tiles - kt0);
        // The rest of the column block's chunks back to back (as in ModelTapMajor) when nothing can hold them.
        if (kt0 == p.chunk_tiles && p.a_full && std::max(seeded, buf_ready[buf]) <= P.free[kTile] &&
            weights.Settled(nt, kt0, k_tiles - 1, P.free[kTile])) {
          if (rest_rows != rows) {
            rest = Dmas{}, rest_array = 0, rest_rows = rows;
            for (int kt = p.chunk_tiles; kt < k_tiles; kt += p.chunk_tiles) {
              const uint64_t n = uint64_t(std::min(p.chunk_tiles, k_tiles - kt));
              rest.Add(tld, n), rest.Add(k.Tmac(rows, n, uint64_t{kLanes} * n * elem));
              rest_array += k.TmacArray(rows, n);
            }
          }
          tmac_end = buf_free[buf] = rest.Run(P, 0, kTile);
          P.array_cycles += rest_array;
          const int last = (k_tiles - 1) / p.chunk_tiles * p.chunk_tiles;
          weights.Loaded(last, k_tiles - last, nt);
          break;
        }
        weights.Load(kt0, tiles, nt);
        uint64_t a_ready = buf_ready[buf];
        if (!p.a_full) {
          // The same columns of the same rows for every column block: their DMAs tallied once per row block.
          Chunk& a = chunks[size_t(kt0 / p.chunk_tiles)];
          if (a.m0 != m0) {
            const uint64_t bytes = P.dram_bytes;
            const int cols = std::min(s.K - kLanes * kt0, kLanes * tiles);
            a.dmas = io.LoadA(P, m0, rows, kLanes * kt0, cols, kLanes * tiles, p.a_row);
            a.bytes = P.dram_bytes - bytes, a.m0 = m0;
          } else {
            P.dram_bytes += a.bytes;
          }
          a_ready = buf_ready[0] = a.dmas.Run(P, buf_free[0]);
        }
        tmac_end = P.Run(kTile, k.Tmac(rows, tiles, uint64_t{kLanes} * tiles * elem), std::max(seeded, a_ready));
        P.array_cycles += k.TmacArray(rows, tiles);
        buf_free[buf] = tmac_end;
        weights.Prefetch(wrap);
        if (kt0 == 0) {
          store();
          if (p.bufs == 2 && nt == n_tiles / 2 && wrap) {
            load_a_rows(m0 + p.rows, static_cast<uint32_t>(std::min<int64_t>(p.rows, s.M - m0 - p.rows)), 1 - buf);
          }
        }
      }
      to_convert = {true, tmac_end, rows, nt, set, GemmStagingRegion(bi, nt, n_tiles, pair, p.sets), bi};
    };
    // Column blocks repeat with a period of whole weight windows and ACC sets (none in the middle of the row
    // block's next A load): the last period runs as it is, the partial block and the end of the prefetches.
    int nt = 0;
    if (col_period > 0 && !(p.bufs == 2 && wrap)) {
      Periods(
          P, n_tiles / col_period - 1, [&] { for (const int end = nt + col_period; nt < end; ++nt) column(nt); },
          [&](uint64_t shift, int64_t periods) {
            const int cols = col_period * static_cast<int>(periods);
            weights.Skip(shift / uint64_t(periods), periods, int64_t{col_period} * k_tiles);
            for (uint64_t* t : {&set_free[0], &set_free[1], &staging_free[0], &staging_free[1], &buf_ready[0],
                                &buf_ready[1], &buf_free[0], &buf_free[1], &to_convert.at, &to_store.at, &stored}) {
              *t += shift;
            }
            nt += cols, units += cols, to_convert.nt += cols, to_store.nt += cols;
          });
    }
    for (; nt < n_tiles; ++nt) column(nt);
  };

  // Row blocks repeat with a period of two (A buffers, ACC sets) once the pipeline has settled, within a run of
  // blocks whose loads are alike (GemmIo::LoadKey; a convolution's blocks that meet an image's edge or the next
  // image differ): the first two and the last two of the run as they are.
  const int64_t blocks = (s.M + p.rows - 1) / p.rows;
  auto key_of = [&](int64_t b) {
    return b + 1 < blocks || s.M % p.rows == 0 ? io.LoadKey(b * p.rows, p.rows) : -1;
  };
  int64_t bi = 0;
  while (bi < blocks) {
    const int64_t key = key_of(bi);
    int64_t end = bi + 1;
    while (key >= 0 && end < blocks && key_of(end) == key) ++end;
    if (key < 0 || end - bi < 10) {
      for (; bi < end; ++bi) row_block(bi);
      continue;
    }
    const int64_t first = bi;
    for (; bi < first + 2; ++bi) row_block(bi);
    Periods(
        P, (end - bi - 2) / 2, [&] { row_block(bi), row_block(bi + 1), bi += 2; },
        [&](uint64_t shift, int64_t pairs) {
          weights.Shift(shift);
          for (uint64_t* t : {&set_free[0], &set_free[1], &staging_free[0], &staging_free[1], &buf_ready[0],
                              &buf_ready[1], &buf_free[0], &buf_free[1], &to_convert.at, &to_store.at, &stored}) {
            *t += shift;
          }
          bi += 2 * pairs;
          to_convert.bi += 2 * pairs, to_store.bi += 2 * pairs, stored_bi += 2 * pairs;
        });
    for (; bi < end; ++bi) row_block(bi);
  }
  convert();
  store();
}

namespace {

// A matrix in DRAM: one DMA per load (rows x cols elements).
class MatrixIo : public GemmIo {
 public:
  MatrixIo(const Costs& k, uint64_t elem) : k_(k), elem_(elem) {}
  Dmas LoadA(Pipe& p, int64_t, uint32_t rows, int, int cols, int padded, uint32_t) const override {
    p.dram_bytes += uint64_t(rows) * cols * elem_;
    Dmas d;
    d.Add(k_.X(uint64_t(rows) * cols * elem_));
    if (cols < padded) {
      const uint64_t pad = uint64_t(rows) * uint64_t(padded - cols) * elem_;
      p.dram_bytes += pad;
      // Rows apart, the rows' span holds the pad's first rows: after them. A single row's pad lies past it.
      d.Add(k_.Dma(pad), rows > 1 ? d.finish : 0);
    }
    return d;
  }
  int64_t LoadKey(int64_t, uint32_t) const override { return 0; }  // every block of `rows` rows alike

 private:
  const Costs& k_;
  uint64_t elem_;
};

GemmLoopShape MatrixShape(int64_t M, int K, int N, MacMode mode, DType out) {
  GemmLoopShape s;
  s.fn = "Gemm";
  s.M = M, s.mode = mode, s.K = K, s.N = N;
  s.k_tiles = static_cast<int>(CeilDiv(uint64_t(K), kLanes)), s.n_tiles = static_cast<int>(CeilDiv(uint64_t(N), kLanes));
  s.tile_bytes = TileImageBytes(WeightType(mode));
  s.out = out;
  return s;
}

void ModelGemm(Pipe& p, const Costs& k, int64_t M, int K, int N, MacMode mode, DType out) {
  const MatrixIo io(k, SizeOf(ActivationType(mode)));
  ModelGemmLoop(p, k, MatrixShape(M, K, N, mode, out), io);
}

// The routes' loop (kernels/channel_shuffle.cc): per band, DMA_IN, one RPERM per route, DMA_OUT. The single
// input and output bands make each step wait for the one before.
void ModelShuffleRoutes(Pipe& p, const Layer& l, const Costs& k, const RunOptions& o) {
  const AccelConfig& c = k.c;
  const Types t(o.precision);
  const int C = l.in_c, elem = SizeOf(t.x);
  const int64_t pixels = int64_t{o.batch} * l.in_h * l.in_w;
  const uint64_t band = ShuffleBandPixels(c, C, elem, pixels);
  if (band == 0) Fail("ChannelShuffle: accelerator configuration too small for one pixel of ", C, " channels");
  ChannelShuffleDesc d;
  d.channels = C, d.groups = l.groups, d.type = t.x;
  const std::vector<ShuffleRoute> routes = BuildRoutes(d);
  const uint64_t pixel = uint64_t(C) * elem, slack = uint64_t{kLanes} * elem;
  const uint32_t in = 0, out = static_cast<uint32_t>(Align64(band * pixel + slack));
  // The input band is free to load once the band before's RPERMs have read it, the output band free to
  // permute into once its DMA_OUT is done: the next band's DMA_IN runs beside the RPERMs' wait for that store.
  uint64_t in_read = 0, out_stored = 0;
  auto step = [&](uint32_t rows) {
    const uint64_t bytes = uint64_t(rows) * pixel;
    uint64_t at = std::max(p.Run(kDma, k.X(bytes), in_read), out_stored);
    for (const ShuffleRoute& r : routes) {
      RowPerm perm;
      perm.type = t.x, perm.rows = rows;
      perm.src = in + static_cast<uint32_t>(r.src_channel * elem), perm.src_stride = static_cast<int32_t>(pixel);
      perm.dst = out + static_cast<uint32_t>(r.out_block * kLanes * elem), perm.dst_stride = static_cast<int32_t>(pixel);
      perm.route = r.route;
      at = p.Run(kVector, k.Vector(CostOf(Instr{perm}, c).cycles), at);
    }
    in_read = at;
    out_stored = p.Run(kDma, k.Y(bytes), at);
    p.dram_bytes += 2 * bytes;
  };
  const int64_t whole = pixels / int64_t(band), rest = pixels % int64_t(band);
  // Whole bands repeat once the overlap of one band's store with the next one's load has settled.
  Periods(p, whole, [&] { step(static_cast<uint32_t>(band)); }, [&](uint64_t shift, int64_t) {
    in_read += shift, out_stored += shift;
  });
  if (rest > 0) step(static_cast<uint32_t>(rest));
}

}  // namespace
}  // namespace tile32::analytic

namespace tile32 {

LayerEstimate AnalyticLayer(const Layer& l, const LayerChoice& choice, const AccelConfig& config, const RunOptions& o) {
  using namespace analytic;
  if (o.batch < 1 || o.batch > 4096) Fail("AnalyticLayer: batch = ", o.batch, " is outside [1, 4096]");
  const Types t(o.precision);
  // The tensors kept in SRAM, as kernels/network_run.cc binds them (a folded shuffle has none): the kernels
  // plan within what they leave (Machine::ReserveSram).
  const bool folded_shuffle = l.kind == LayerKind::kShuffle && choice.shuffle_folded;
  const int in_c = l.kind == LayerKind::kConv && choice.input_shuffle_groups > 1 ? choice.input_shuffle_channels : l.in_c;
  const uint64_t x_bytes = uint64_t(o.batch) * l.in_h * l.in_w * in_c * SizeOf(t.x);
  const uint64_t y_bytes = l.kind == LayerKind::kShuffle ? x_bytes
                           : l.kind == LayerKind::kFc    ? uint64_t(o.batch) * l.out_c * SizeOf(t.y)
                                                         : uint64_t(o.batch) * l.OutH() * l.OutW() * l.out_c * SizeOf(t.y);
  const bool x_kept = choice.input_in_sram && !folded_shuffle, y_kept = choice.output_in_sram && !folded_shuffle;
  const uint64_t reserved = (x_kept ? Align64(x_bytes) : 0) + (y_kept ? Align64(y_bytes) : 0);
  AccelConfig c = config;
  if (reserved > 0) {
    if (reserved > c.sram_bytes || c.sram_bytes - reserved < (1u << 10)) {
      Fail("Machine: keeping ", reserved, " bytes in SRAM leaves less than 1 KiB of sram_bytes = ", c.sram_bytes,
           " to the kernels");
    }
    c.sram_bytes = static_cast<uint32_t>(c.sram_bytes - reserved);
  }
  const Costs k(c, t.mode, x_kept, y_kept);
  Pipe p;
  switch (l.kind) {
    case LayerKind::kFc: ModelGemm(p, k, o.batch, l.in_h * l.in_w * l.in_c, l.out_c, t.mode, t.y); break;
    case LayerKind::kShuffle:
      if (choice.shuffle_folded) break;
      if (choice.shuffle == ShuffleAlgorithm::kPermutation) {
        if (o.precision == Precision::kBF16) Fail("AnalyticLayer: a permutation shuffle cannot move bf16");
        ModelGemm(p, k, int64_t{o.batch} * l.in_h * l.in_w, l.in_c, l.in_c, t.mode, t.x);
      } else {
        ModelShuffleRoutes(p, l, k, o);
      }
      break;
    case LayerKind::kConv: ModelConv(p, l, choice, k, o); break;
  }
  LayerEstimate e;
  e.cycles = p.end;
  std::copy(std::begin(p.busy), std::end(p.busy), e.busy);
  e.array_cycles = p.array_cycles;
  e.dram_bytes = p.dram_bytes;
  e.macs = l.Macs() * uint64_t(o.batch);
  return e;
}

std::vector<LayerEstimate> AnalyticNetwork(const Network& net, const AccelConfig& config, const RunOptions& options,
                                           const std::vector<LayerChoice>* choices) {
  if (choices != nullptr && choices->size() != net.layers.size()) {
    Fail("AnalyticNetwork: ", choices->size(), " choices for the ", net.layers.size(), " layers of ", net.name);
  }
  // A layer of the same shape and choice as an earlier one has the same estimate (as the counted mode counts
  // it once): the networks repeat their blocks.
  using Key = std::array<int, 22>;
  auto key_of = [](const Layer& l, const LayerChoice& c) {
    return Key{static_cast<int>(l.kind), l.in_h, l.in_w, l.in_c, l.out_c, l.kernel_h, l.kernel_w, l.stride_h,
               l.stride_w, l.pad_top, l.pad_bottom, l.pad_left, l.pad_right, l.groups,
               static_cast<int>(c.algorithm), static_cast<int>(c.layout), static_cast<int>(c.shuffle),
               c.shuffle_folded, c.input_shuffle_groups, c.input_shuffle_channels,
               c.input_in_sram * 2 + c.output_in_sram, 0};
  };
  // With a hash of the key beside it: most layers differ from most earlier ones, and the hash tells so first.
  auto hash_of = [](const Key& key) {
    uint64_t h = 1469598103934665603ull;
    for (const int v : key) h = (h ^ uint32_t(v)) * 1099511628211ull;
    return h;
  };
  struct Seen {
    uint64_t hash;
    Key key;
    size_t at;
  };
  std::vector<Seen> seen;
  seen.reserve(net.layers.size());
  std::vector<LayerEstimate> out;
  out.reserve(net.layers.size());
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    const LayerChoice& choice = choices == nullptr ? LayerChoice{} : (*choices)[i];
    const Key key = key_of(l, choice);
    const uint64_t hash = hash_of(key);
    const auto same = std::find_if(seen.begin(), seen.end(), [&](const Seen& s) { return s.hash == hash && s.key == key; });
    if (same != seen.end()) {
      out.push_back(out[same->at]);
      continue;
    }
    try {
      out.push_back(AnalyticLayer(l, choice, config, options));
    } catch (const Error& e) {
      Fail(net.name, ": layer '", l.name, "': ", e.what());
    }
    seen.push_back({hash, key, i});
  }
  return out;
}

}  // namespace tile32

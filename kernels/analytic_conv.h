// Between kernels/analytic_conv.cc and kernels/analytic_winograd.cc: a convolution's shape as the kernels see
// it, and the band loads' DMAs with what each writes. Internal to kernels/.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/analytic_impl.h"
#include "kernels/input_band.h"
#include "layout/band.h"

namespace tile32::analytic {

// The segments the analytic loops name: the input x (possibly kept in SRAM) and the fill rows (in DRAM).
constexpr uint32_t kSegX = 1, kSegFill = 2;

// The SRAM a DMA writes (strided: the whole span) and when it ends, counted from its piece's start.
struct Written {
  uint64_t lo, hi, end;
};

// A tally of DMAs: their cycles on the engines, one after the other, and their bytes; with `written`, what
// each writes (so that an instruction reading part of a band waits only for the DMAs it reads).
struct DmaTally {
  const Costs& k;
  Dmas dmas;
  uint64_t bytes = 0;
  std::vector<Written>* written = nullptr;
  // The last DMA's size and cost per segment kind (most come in runs of one size).
  uint64_t last_bytes[2] = {~0ull, ~0ull};
  DmaCost last_cost[2] = {};
  // The last few DMAs: a DMA whose SRAM overlaps one of them waits until that one is done (strided DMAs
  // cover their whole span, so a gather's or a band's DMAs mostly wait for the one before).
  static constexpr uint64_t kRecent = 8;  // a power of two
  Written recent[kRecent] = {};
  uint64_t recent_n = 0;
  // The end of the last kRecent DMAs' SRAM: one starting there overlaps none of them and waits for nothing (a
  // band's rows come in ascending order).
  uint64_t hi_recent = 0;
  // The SRAM bytes from a DMA's first written byte to its last (a strided DMA covers its whole span).
  static uint64_t SpanBytes(const DmaIn& d) { return uint64_t(d.rows - 1) * d.sram_stride + d.row_bytes; }
  void operator()(const DmaIn& d) {
    const uint64_t b = uint64_t(d.rows) * d.row_bytes;
    const int x = d.segment == kSegX;
    if (last_bytes[x] != b) last_bytes[x] = b, last_cost[x] = x ? k.X(b) : k.Dma(b);
    const uint64_t lo = d.sram, hi = d.sram + SpanBytes(d);
    uint64_t after = 0;
    if (lo < hi_recent) {
      // Newest first. Done by the time the engines are free, a DMA holds up nothing; one done a DRAM latency
      // before that is as old as any before it can be (a DMA within SRAM has none).
      const uint64_t span = dmas.span, latency = k.c.dram_latency_cycles;
      for (uint64_t i = recent_n, stop = recent_n > kRecent ? recent_n - kRecent : 0; i-- > stop;) {
        const Written& w = recent[i & (kRecent - 1)];
        if (w.end + latency <= span) break;
        if (w.end > span && w.lo < hi && lo < w.hi) {
          after = w.end;
          break;
        }
      }
    }
    const uint64_t done = dmas.Add(last_cost[x], after);
    Written& slot = recent[recent_n & (kRecent - 1)];
    const bool evicts_end = recent_n++ >= kRecent && slot.hi == hi_recent && hi < hi_recent;
    slot = {lo, hi, done};
    if (evicts_end) {  // the end moves down: that of the entries now held
      hi_recent = 0;
      for (const Written& w : recent) hi_recent = std::max(hi_recent, w.hi);
    } else {
      hi_recent = std::max(hi_recent, hi);
    }
    bytes += b;
    if (written != nullptr) written->push_back({lo, hi, done});
  }
  // `count` DMAs like `d`, each `sram_step` bytes on in SRAM (kernels/dma_run.h), in closed form where the
  // rule above settles every one after the first alike: spans apart and ascending, none waits (when nothing
  // older can hold them up); each span overlapping the one before, each waits for that one's data (its
  // latency) and for nothing older.
  void Run(DmaIn d, uint32_t count, uint32_t sram_step, uint64_t dram_step) {
    (*this)(d);
    const uint64_t len = SpanBytes(d);
    const int x = d.segment == kSegX;
    const DmaCost cost = last_cost[x];
    const bool chained = sram_step > 0 && sram_step < len && cost.latency > 0;
    // Apart: no held DMA but the first reaches past its span (the rest start above it), or every other held
    // one is done by the time the first leaves the engines (then none can hold up a later one).
    bool apart = sram_step >= len;
    if (apart && hi_recent != d.sram + len) {
      const uint64_t newest = (recent_n - 1) & (kRecent - 1);
      for (uint64_t i = 0; i < kRecent && apart; ++i) apart = i == newest || recent[i].end <= dmas.span;
    }
    if (count < 3 || !(chained || apart)) {
      for (uint32_t i = 1; i < count; ++i) d.sram += sram_step, d.dram += dram_step, (*this)(d);
      return;
    }
    const uint64_t more = count - 1, gap = chained ? cost.latency : 0;
    dmas.AddChained(cost, more, gap);
    bytes += more * d.rows * d.row_bytes;
    // What DMA j of the run (1 <= j <= more) writes, and when it is done: each ends step_end after the one before.
    const uint64_t step_end = cost.occupied + gap, last_done = dmas.span + cost.latency;
    auto nth = [&](uint64_t j) {
      const uint64_t lo = d.sram + j * sram_step;
      return Written{lo, lo + len, last_done - (more - j) * step_end};
    };
    if (written != nullptr) {
      for (uint64_t j = 1; j <= more; ++j) written->push_back(nth(j));
    }
    // The last kRecent of them held, newest last.
    const uint64_t kept = std::min<uint64_t>(more, kRecent);
    recent_n += more - kept;
    for (uint64_t j = more - kept + 1; j <= more; ++j) recent[recent_n++ & (kRecent - 1)] = nth(j);
    hi_recent = 0;
    for (const Written& w : recent) hi_recent = std::max(hi_recent, w.hi);
  }
};

// A band buffer filling: the DMAs of its loads since the last one that began it, with absolute ends, so that
// an instruction reading [lo, hi) of it waits for the last DMA it overlaps (the model machine's footprint
// dependency), not for the whole band.
struct Filling {
  std::vector<Written> dmas;
  uint64_t all = 0;  // when the last DMA ends
  size_t done = 0;   // dmas[0, done) have absolute ends
  void Begin() { dmas.clear(), all = 0, done = 0; }
  // The DMAs added since the last Placed ran as one piece done at `end`, `finish` after its start.
  void Placed(uint64_t end, uint64_t finish) {
    for (; done < dmas.size(); ++done) dmas[done].end += end - finish;
    all = std::max(all, end);
  }
  void Shift(uint64_t d) {
    for (size_t i = 0; i < done; ++i) dmas[i].end += d;
    all += d;
  }
  // The DMAs leave the engines in order, each done at most `latency` after: once one ends that long before
  // the latest end found, none before it can end later.
  uint64_t Ready(uint64_t lo, uint64_t hi, uint64_t after, uint64_t latency) const {
    if (after >= all) return all;
    uint64_t r = 0;
    for (size_t i = done; i-- > 0 && dmas[i].end + latency > r;) {
      if (dmas[i].lo < hi && lo < dmas[i].hi) r = std::max(r, dmas[i].end);
    }
    return r;
  }
};

// The DMAs of band loads into a Filling. A band whose plane rows all lie inside the image takes the same DMAs
// as any other such band but for their DRAM addresses: tallied once per part.
class BandLoads {
 public:
  BandLoads(const Costs& k, const BandLayout& band, const BandSource& src) : k_(k), band_(band), src_(src) {}
  Dmas Load(Pipe& p, Filling& f, int n, int oy0, int part, int parts) {
    const ConvGeometry& g = band_.g;
    const bool inside = oy0 * g.stride_h - g.pad_top >= 0 && (oy0 + band_.plane_rows) * g.stride_h - g.pad_top <= g.height;
    if (part == 0) f.Begin();
    if (inside) {
      for (const Tally& t : tallies_) {
        if (t.part == part && t.parts == parts) {
          f.dmas.insert(f.dmas.end(), t.written.begin(), t.written.end());
          p.dram_bytes += t.bytes;
          return t.dmas;
        }
      }
    }
    const size_t from = f.dmas.size();
    DmaTally t{k_, {}, 0, &f.dmas};
    LoadBandWith(t, band_, src_, n, oy0, part, parts);
    p.dram_bytes += t.bytes;
    if (inside) tallies_.push_back({part, parts, t.dmas, t.bytes, {f.dmas.begin() + long(from), f.dmas.end()}});
    return t.dmas;
  }

 private:
  struct Tally {
    int part, parts;
    Dmas dmas;
    uint64_t bytes;
    std::vector<Written> written;
  };
  const Costs& k_;
  const BandLayout& band_;
  const BandSource& src_;
  std::vector<Tally> tallies_;
};

// The convolution as the kernels see it: its geometry and the facts of its packing.
struct ConvShape {
  ConvGeometry geo;
  int C = 0, K = 0, G = 1, Cg = 0, Kg = 0, taps = 0, batch = 1;
  MacMode mode = MacMode::kU8S8;
  DType out = DType::kU8;
  int elem = 1, out_elem = 1;
};

void ModelWinograd(Pipe& P, const Costs& k, const ConvShape& s);

}  // namespace tile32::analytic

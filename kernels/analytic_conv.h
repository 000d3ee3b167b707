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
class DmaTally {
 public:
  explicit DmaTally(const Costs& k, std::vector<Written>* written = nullptr) : k_(k), written_(written) {
    // At most a DRAM latency and one more DMAs follow the oldest one still under way (each holds the engines a
    // cycle at least): the ring holds them all, in place up to the presets' latency.
    const uint64_t need = uint64_t{k.c.dram_latency_cycles} + 2;
    if (need > kInline) {
      uint64_t cap = kInline;
      while (cap < need) cap *= 2;
      heap_.resize(cap);
    }
    ring_ = heap_.empty() ? inline_ : heap_.data();
    mask_ = (heap_.empty() ? kInline : heap_.size()) - 1;
  }
  DmaTally(const DmaTally&) = delete;
  DmaTally& operator=(const DmaTally&) = delete;

  // Instructions of other units that read SRAM the DMAs may overwrite, each with the cycle it ends (absolute),
  // and the cycle the tally's first DMA starts: a DMA that overlaps one waits for it (not before its end).
  void WaitForReads(const std::vector<Written>* reads, uint64_t start) {
    reads_ = reads, reads_start_ = start, reads_end_ = 0;
    for (const Written& r : *reads) reads_end_ = std::max(reads_end_, r.end);
    DropDoneReads();
  }

  Dmas dmas;
  uint64_t bytes = 0;

  // The SRAM bytes from a DMA's first written byte to its last (a strided DMA covers its whole span).
  static uint64_t SpanBytes(const DmaIn& d) { return uint64_t(d.rows - 1) * d.sram_stride + d.row_bytes; }

  // One DMA: it waits for the last to end of the DMAs still under way whose SRAM it overlaps (as the model
  // machine orders DMAs by footprint: one from DRAM may end after a later one within SRAM).
  void operator()(const DmaIn& d) {
    const uint64_t b = uint64_t(d.rows) * d.row_bytes;
    const int x = d.segment == kSegX;
    if (last_bytes_[x] != b) last_bytes_[x] = b, last_cost_[x] = x ? k_.X(b) : k_.Dma(b);
    const uint64_t lo = d.sram, hi = d.sram + SpanBytes(d);
    Prune();
    DropDoneReads();
    uint64_t after = 0;
    if (reads_ != nullptr) {
      for (const Written& r : *reads_) {
        if (r.end > reads_start_ + after && r.lo < hi && lo < r.hi) after = r.end - reads_start_;
      }
    }
    if (lo < hi_live_) {
      // Newest first: once one is done a DRAM latency before the engines are free, every older one left them
      // before it and is done by then (a DMA within SRAM has no latency).
      const uint64_t span = dmas.span, latency = k_.c.dram_latency_cycles;
      for (uint64_t i = end_; i-- > live_from_;) {
        const Written& w = ring_[i & mask_];
        if (w.end + latency <= span) break;
        if (w.end > after && w.lo < hi && lo < w.hi) after = w.end;
      }
    }
    Push({lo, hi, dmas.Add(last_cost_[x], after)});
    bytes += b;
  }

  // `count` DMAs like `d`, each `sram_step` bytes on in SRAM (kernels/dma_run.h), in closed form where the
  // rule above settles every one after the first alike: spans apart and ascending, or within SRAM, none waits
  // (when nothing older can hold them up); each span overlapping the one before, from DRAM, each waits for
  // that one's data (its latency) and for nothing older.
  void Run(DmaIn d, uint32_t count, uint32_t sram_step, uint64_t dram_step) {
    // One by one while reads of other units may still hold them up.
    for (; reads_ != nullptr && count > 1; --count) (*this)(d), d.sram += sram_step, d.dram += dram_step;
    (*this)(d);
    const uint64_t len = SpanBytes(d);
    const int x = d.segment == kSegX;
    const DmaCost cost = last_cost_[x];
    const bool chained = sram_step > 0 && sram_step < len && cost.latency > 0;
    // Apart: spans that do not overlap each other (or within SRAM, where a DMA is done as it leaves the
    // engines), nor any DMA still under way: then none waits. The first of them that overlap one still under
    // way go one by one.
    const bool apart = sram_step >= len || cost.latency == 0;
    if (apart) {
      auto overlaps_under_way = [&] {
        const uint64_t run_lo = d.sram + sram_step, run_hi = d.sram + uint64_t(count - 1) * sram_step + len;
        if (hi_live_ <= run_lo) return false;
        for (uint64_t i = live_from_; i < end_; ++i) {
          const Written& w = ring_[i & mask_];
          if (w.end > dmas.span && w.lo < run_hi && run_lo < w.hi) return true;
        }
        return false;
      };
      for (; count >= 3 && overlaps_under_way(); --count) d.sram += sram_step, d.dram += dram_step, (*this)(d);
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
    if (written_ != nullptr) {
      for (uint64_t j = 1; j <= more; ++j) written_->push_back(nth(j));
    }
    // The ring keeps what is still under way once the engines are free: the DMAs before the run that are, then
    // those of the run that are (the last ends a latency after, each one before it step_end earlier).
    uint64_t to = live_from_;
    for (uint64_t i = live_from_; i < end_; ++i) {
      if (ring_[i & mask_].end > dmas.span) ring_[to++ & mask_] = ring_[i & mask_];
    }
    end_ = to, hi_live_ = 0;
    for (uint64_t i = live_from_; i < end_; ++i) hi_live_ = std::max(hi_live_, ring_[i & mask_].hi);
    const uint64_t live = std::min<uint64_t>(more, cost.latency / std::max<uint64_t>(step_end, 1) + 1);
    for (uint64_t j = more - live + 1; j <= more; ++j) Push(nth(j), false);
  }

  // The DMAs still under way once the engines are free, oldest first: what can hold up a later one (tests).
  std::vector<Written> UnderWay() {
    std::vector<Written> out;
    for (uint64_t i = live_from_; i < end_; ++i) {
      if (ring_[i & mask_].end > dmas.span) out.push_back(ring_[i & mask_]);
    }
    return out;
  }

 private:
  static constexpr uint64_t kInline = 128;  // a power of two

  // Once the engines are free only after every read is done, no later DMA can wait for one.
  void DropDoneReads() {
    if (reads_ != nullptr && reads_start_ + dmas.span >= reads_end_) reads_ = nullptr;
  }
  void Push(const Written& w, bool record = true) {
    if (record && written_ != nullptr) written_->push_back(w);
    if (end_ - live_from_ > mask_) ++live_from_;  // full: the oldest held (never under way by then)
    ring_[end_++ & mask_] = w;
    hi_live_ = std::max(hi_live_, w.hi);
  }
  // Drops the oldest DMAs done by the time the engines are free: none of them holds up a later DMA. (The ones
  // after the oldest still under way stay, done or not: at most a latency's worth.) The highest SRAM byte of
  // those left is recounted when a dropped one held it.
  void Prune() {
    bool top = false;
    for (; live_from_ < end_ && ring_[live_from_ & mask_].end <= dmas.span; ++live_from_) {
      top = top || ring_[live_from_ & mask_].hi == hi_live_;
    }
    if (!top) return;
    hi_live_ = 0;
    for (uint64_t i = live_from_; i < end_; ++i) hi_live_ = std::max(hi_live_, ring_[i & mask_].hi);
  }

  const Costs& k_;
  std::vector<Written>* written_;
  const std::vector<Written>* reads_ = nullptr;
  uint64_t reads_start_ = 0, reads_end_ = 0;
  // The last DMA's size and cost per segment kind (most come in runs of one size).
  uint64_t last_bytes_[2] = {~0ull, ~0ull};
  DmaCost last_cost_[2] = {};
  // The ring of DMAs, [live_from_, end_) of it held, oldest first; past the presets' DRAM latency on the heap.
  // Left uninitialized: only held entries are read.
  Written inline_[kInline];
  std::vector<Written> heap_;
  Written* ring_ = nullptr;  // inline_ or heap_ (the tally is neither copied nor moved)
  uint64_t mask_ = 0, end_ = 0, live_from_ = 0;
  // The end of the held DMAs' SRAM: one starting there overlaps none of them and waits for nothing (a band's
  // rows come in ascending order).
  uint64_t hi_live_ = 0;
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
  // Part `part` of `parts` of the band at image n, rows from oy0. With `reads` (the whole band, into a buffer
  // that instructions of other units still read, absolute ends), each DMA waits for those whose SRAM it
  // overwrites, the first starting at `start` (Pipe::StartOf); a band inside the image whose reads end as long
  // after `start` as another's takes the same DMAs.
  Dmas Load(Pipe& p, Filling& f, int n, int oy0, int part, int parts, const std::vector<Written>* reads = nullptr,
            uint64_t start = 0) {
    std::vector<uint64_t> after;
    if (reads != nullptr) {
      for (const Written& r : *reads) after.push_back(r.end > start ? r.end - start : 0);
    }
    const bool inside = Inside(oy0);
    if (part == 0) f.Begin();
    if (inside) {
      for (const Tally& t : tallies_) {
        if (t.part == part && t.parts == parts && t.after == after) {
          f.dmas.insert(f.dmas.end(), t.written.begin(), t.written.end());
          p.dram_bytes += t.bytes;
          return t.dmas;
        }
      }
    }
    const size_t from = f.dmas.size();
    DmaTally t(k_, &f.dmas);
    if (reads != nullptr) t.WaitForReads(reads, start);
    LoadBandWith(t, band_, src_, n, oy0, part, parts);
    p.dram_bytes += t.bytes;
    if (inside) {
      tallies_.push_back({part, parts, std::move(after), t.dmas, t.bytes, {f.dmas.begin() + long(from), f.dmas.end()}});
    }
    return t.dmas;
  }

 private:
  // Whether a band's plane rows all lie inside the image (its DMAs are any such band's, but for DRAM addresses).
  bool Inside(int oy0) const {
    const ConvGeometry& g = band_.g;
    return oy0 * g.stride_h - g.pad_top >= 0 && (oy0 + band_.plane_rows) * g.stride_h - g.pad_top <= g.height;
  }
  struct Tally {
    int part, parts;
    std::vector<uint64_t> after;  // with reads: how long after the first DMA's start each ends (none: empty)
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

// Between the analytic model's front end (kernels/analytic.cc) and its kernel families (analytic_*.cc):
// instruction costs in closed form (docs/isa.md §8.1, §8.3) and the units' timelines. Internal to kernels/.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "accel/config.h"
#include "accel/footprint.h"
#include "accel/isa.h"
#include "accel/model_machine.h"
#include "kernels/analytic.h"
#include "kernels/gemm_loop.h"
#include "layout/band.h"

namespace tile32::analytic {

inline uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

constexpr int kDma = static_cast<int>(Unit::kDma), kTile = static_cast<int>(Unit::kTile),
              kVector = static_cast<int>(Unit::kVector), kRequant = static_cast<int>(Unit::kRequant);

// A DMA on the engines: the cycles it holds them, then those until its data are there.
struct DmaCost {
  uint64_t occupied, latency;
};

// The §8.1 costs of the instructions the loops issue, on one unit's timeline (shared rows already divided
// over the units of their kind, §8.3), for one configuration and MAC mode.
struct Costs {
  Costs(const AccelConfig& c, MacMode mode, bool x_on_chip = false, bool y_on_chip = false);
  const AccelConfig& c;
  uint64_t pass = 1;  // tile cycles of one row and one tile
  // Worked out once: every DMA and every bank access asks for them.
  double dram_rate = c.DramBytesPerCycle();
  uint64_t bank_row = uint64_t{c.bank_bytes} * c.sram_banks;
  // The layer's input and output kept in SRAM by the plan: their DMAs move within SRAM (ModelMachine::KeepOnChip).
  bool x_on_chip = false, y_on_chip = false;
  // Bank cycles of `bytes` contiguous bytes starting on a bank word.
  uint64_t Bank(uint64_t bytes) const {
    return std::max<uint64_t>(1, CeilDiv(std::max<uint64_t>(bytes, 1), bank_row));  // = ceil(ceil(b / bank) / banks)
  }
  // A DMA through DRAM holds the engines for its transfer; its data are there dram_latency later (docs/isa.md
  // §8.3: the next DMA's latency overlaps this one's transfer).
  DmaCost Dma(uint64_t bytes) const {
    const double q = static_cast<double>(bytes) / dram_rate;
    const uint64_t transfer = static_cast<uint64_t>(std::ceil(q * (1 - 1e-12)));
    if (transfer == 0) return {c.dram_latency_cycles, 0};
    return {transfer, c.dram_latency_cycles};
  }
  DmaCost OnChip(uint64_t bytes) const {
    return {std::max<uint64_t>(1, CeilDiv(bytes, bank_row)), 0};
  }
  // One DMA of the input (X) or the output (Y): through DRAM, or within SRAM when the plan keeps it there.
  DmaCost X(uint64_t bytes) const { return x_on_chip ? OnChip(bytes) : Dma(bytes); }
  DmaCost Y(uint64_t bytes) const { return y_on_chip ? OnChip(bytes) : Dma(bytes); }
  uint64_t Tld(uint64_t tile_bytes) const { return Bank(tile_bytes); }
  // A TMAC of `rows` rows of `tiles` tiles, each row's activations `row_bytes` (tile cycles unshared).
  uint64_t TmacArray(uint64_t rows, uint64_t tiles) const { return rows * tiles * pass; }
  uint64_t Tmac(uint64_t rows, uint64_t tiles, uint64_t row_bytes) const {
    return CeilDiv(rows * std::max(tiles * pass, Bank(row_bytes)), c.tile_units);
  }
  uint64_t Emac(uint64_t rows, uint64_t row_bytes) const {
    return CeilDiv(rows * std::max(pass, Bank(row_bytes)), c.tile_units);
  }
  uint64_t Vector(uint64_t row_cycles) const { return CeilDiv(row_cycles, c.vector_units); }
  uint64_t Requant(uint64_t row_cycles) const { return CeilDiv(row_cycles, c.requant_units); }
};

// The units' timelines: each runs its work in the order given, a piece starting when its unit is free, when
// what it waits for is ready and when it may enter its unit's queue. The model machine's queues hold the last
// kQueueDepth instructions of each unit: an instruction enters only once the one kQueueDepth before it on its
// unit has started, and holds up the entry of every later one until then (the issue is in program order, as
// the pieces are given). A piece of n instructions runs them back to back: equal ones, or with the cycles of
// the last kTail given, the only ones whose starts later entries wait for.
constexpr uint64_t kTail = kQueueDepth + 1;
struct Pipe {
  static constexpr uint64_t kDepth = kQueueDepth;
  uint64_t free[kUnits] = {};
  uint64_t busy[kUnits] = {};
  uint64_t end = 0;
  uint64_t dram_bytes = 0, array_cycles = 0;
  uint64_t entry = 0;            // when the next instruction may enter its queue
  uint64_t count[kUnits] = {};   // instructions so far per unit
  uint64_t starts[kUnits][kDepth] = {};  // start of unit u's instruction j at [u][j % kDepth] (the last kDepth)

  // One instruction; a DMA's data are there `latency` after it leaves the engines.
  uint64_t Run(int unit, uint64_t cycles, uint64_t ready, uint64_t latency = 0) {
    uint64_t& slot = starts[unit][count[unit] % kDepth];  // the start of the one kDepth before, if any
    if (count[unit]++ >= kDepth) entry = std::max(entry, slot);
    const uint64_t start = std::max({free[unit], ready, entry});
    slot = start;
    return Finish(unit, start, cycles, latency);
  }
  uint64_t Run(int unit, DmaCost d, uint64_t ready) { return Run(unit, d.occupied, ready, d.latency); }
  // When the next instruction (or piece) on `unit` would start, not before `ready`.
  uint64_t StartOf(int unit, uint64_t ready) const {
    const uint64_t j0 = count[unit];
    const uint64_t e = j0 >= kDepth ? std::max(entry, starts[unit][j0 % kDepth]) : entry;
    return std::max({free[unit], ready, e});
  }
  // n instructions of `each` cycles.
  uint64_t RunEach(int unit, uint64_t each, uint64_t ready, uint64_t n) {
    if (n == 1) return Run(unit, each, ready);
    uint64_t* ring = starts[unit];
    const uint64_t j0 = count[unit], last = j0 + n - 1;
    if (j0 >= kDepth) entry = std::max(entry, ring[j0 % kDepth]);
    const uint64_t start = std::max({free[unit], ready, entry});
    if (last >= kDepth) {
      const uint64_t back = last - kDepth;
      entry = std::max(entry, back >= j0 ? start + (back - j0) * each : ring[back % kDepth]);
    }
    const uint64_t kept = std::min(n, kDepth), first_kept = last + 1 - kept;
    Keep(ring, first_kept, kept, [&](uint64_t i) { return start + (first_kept + i - j0) * each; });
    count[unit] = last + 1;
    return Finish(unit, start, each * n, 0);
  }
  // n instructions that hold the unit for `busy` cycles in all and leave it free `span` after the first starts,
  // the last done `finish` after; `starts` are the starts of the last min(n, kTail) (oldest first), from the
  // first's.
  uint64_t RunPiece(int unit, uint64_t ready, uint64_t n, uint64_t busy_cycles, uint64_t span, uint64_t finish,
                    const uint64_t* starts_from_first) {
    uint64_t* ring = starts[unit];
    const uint64_t j0 = count[unit], last = j0 + n - 1;
    if (j0 >= kDepth) entry = std::max(entry, ring[j0 % kDepth]);
    const uint64_t start = std::max({free[unit], ready, entry});
    const uint64_t kept = std::min(n, kTail), first_kept = last + 1 - kept;
    if (last >= kDepth) {
      const uint64_t back = last - kDepth;
      entry = std::max(entry, back >= first_kept ? start + starts_from_first[(back - first_kept) % kTail]
                                                 : ring[back % kDepth]);
    }
    const uint64_t skip = kept > kDepth ? kept - kDepth : 0;  // starts the ring has no room for
    Keep(ring, first_kept + skip, kept - skip, [&](uint64_t i) { return start + starts_from_first[skip + i]; });
    count[unit] = last + 1;
    free[unit] = start + span;
    busy[unit] += busy_cycles;
    end = std::max(end, start + finish);
    return start + finish;
  }
  // ring[(first + i) % kDepth] = start_of(i) for i < count <= kDepth: two stretches, no modulo per entry.
  template <class F>
  static void Keep(uint64_t* ring, uint64_t first, uint64_t count, F start_of) {
    const uint64_t at = first % kDepth, head = std::min(count, kDepth - at);
    for (uint64_t i = 0; i < head; ++i) ring[at + i] = start_of(i);
    for (uint64_t i = head; i < count; ++i) ring[i - head] = start_of(i);
  }
  uint64_t Finish(int unit, uint64_t start, uint64_t cycles, uint64_t latency) {
    free[unit] = start + cycles;
    busy[unit] += cycles;
    end = std::max(end, free[unit] + latency);
    return free[unit] + latency;
  }
  void Shift(uint64_t d) {
    for (uint64_t& f : free) f += d;
    for (auto& ring : starts) {
      for (uint64_t& t : ring) t += d;
    }
    end += d, entry += d;
  }
};

// Runs up to n periods of a loop (`step` runs one and moves the loop on). Once two periods in a row have
// moved the end and the free time of every unit that worked on by the same cycles, the pipeline repeats: the
// periods left are that step times their count, and `skip(cycles, periods)` moves the loop's own state on.
template <class Step, class Skip>
void Periods(Pipe& P, int64_t n, Step&& step, Skip&& skip) {
  struct Mark {
    uint64_t free[kUnits], busy[kUnits], end, entry, bytes, array;
  };
  auto mark = [&] {
    Mark m;
    std::copy(std::begin(P.free), std::end(P.free), m.free);
    std::copy(std::begin(P.busy), std::end(P.busy), m.busy);
    m.end = P.end, m.entry = P.entry, m.bytes = P.dram_bytes, m.array = P.array_cycles;
    return m;
  };
  Mark before = mark();
  // Per unit its free time's move, then the end's, then the queues' entry's (a full queue holding up issue is
  // state the units' times alone do not show).
  uint64_t last[kUnits + 2] = {};
  for (int64_t i = 0; i < n; ++i) {
    step();
    const Mark after = mark();
    uint64_t d[kUnits + 2];
    d[kUnits] = after.end - before.end;
    d[kUnits + 1] = after.entry - before.entry;
    bool steady = i > 0;
    for (int u = 0; u < kUnits; ++u) {
      d[u] = after.free[u] - before.free[u];
      if (after.busy[u] != before.busy[u] && d[u] != d[kUnits]) steady = false;
    }
    for (int u = 0; u < kUnits + 2; ++u) steady = steady && d[u] == last[u];
    if (steady && i + 1 < n) {
      const uint64_t k = uint64_t(n - i - 1), shift = d[kUnits] * k;
      P.Shift(shift);
      for (int u = 0; u < kUnits; ++u) P.busy[u] += (after.busy[u] - before.busy[u]) * k;
      P.dram_bytes += (after.bytes - before.bytes) * k;
      P.array_cycles += (after.array - before.array) * k;
      skip(shift, int64_t(k));
      return;
    }
    std::copy(std::begin(d), std::end(d), last);
    before = after;
  }
}

// The weight tiles of the loop (kernels/middle_end.cc, WeightTiles): which window each Load reads, which
// DMA brings it, and when; the same decisions in the same order, with times instead of instructions.
class Weights {
 public:
  static constexpr int kMostResident = 17;  // windows of resident weights: at most 16 (kMostWindows), or 1

  Weights(Pipe& p, const Costs& k, int64_t total, int k_tiles, uint64_t tile_bytes, int64_t window, bool resident)
      : p_(p), k_(k), total_(total), k_tiles_(k_tiles), tile_bytes_(tile_bytes), window_(window), resident_(resident),
        tld_(k.Tld(tile_bytes)) {
    if (window_ > 0) windows_ = (total_ + window_ - 1) / window_;
    if (resident_ && windows_ == 1) Fetch(0, 0);
  }

  // T0.. <- tiles [kt0, +tiles) of column block nt: the TLDs, after the window's DMA.
  void Load(int kt0, int tiles, int nt) {
    if (loaded_kt0_ == kt0 && loaded_nt_ == nt && loaded_tiles_ >= tiles) return;
    if (window_ == 0) {
      // Each chunk lands at the start of one region, tile t at t tile images in: its DMA overwrites (and waits
      // for) the TLDs that read its first `tiles` tiles, not those of tiles past them.
      if (tile_read_.size() < size_t(tiles)) tile_read_.resize(size_t(tiles));
      const uint64_t in = p_.Run(kDma, k_.Dma(tile_bytes_ * tiles),
                                 *std::max_element(tile_read_.begin(), tile_read_.begin() + tiles));
      p_.dram_bytes += tile_bytes_ * tiles;
      const uint64_t end = p_.RunEach(kTile, tld_, in, uint64_t(tiles));
      for (int t = 0; t < tiles; ++t) tile_read_[size_t(t)] = end - uint64_t(tiles - 1 - t) * tld_;
    } else if (const int64_t first = int64_t{nt} * k_tiles_ + kt0; first >= cur_lo_ && first + tiles <= cur_hi_) {
      const uint64_t end = p_.RunEach(kTile, tld_, Ready(cur_slot_), uint64_t(tiles));
      if (!resident_) slot_read_[cur_slot_] = end;
    } else {
      const int64_t w0 = first / window_, w1 = (first + tiles - 1) / window_;
      const auto [s0, s1] = WeightTiles::WindowSlots(
          w0, w1, resident_, cur_slot_, [this](int64_t w) { return Find(w); },
          [this](int64_t w, int slot) { Fetch(w, slot); });
      // The TLDs of each window wait for its own DMA; a slot is free again once its last TLD is done.
      const int split = static_cast<int>(std::min<int64_t>(tiles, (w0 + 1) * window_ - first));
      uint64_t end = p_.RunEach(kTile, tld_, Ready(s0), uint64_t(split));
      if (!resident_) slot_read_[s0] = end;
      if (split < tiles) {
        end = p_.RunEach(kTile, tld_, Ready(s1), uint64_t(tiles - split));
        if (!resident_) slot_read_[s1] = end;
      }
      cur_slot_ = s1, cur_window_ = w1;
      cur_lo_ = w1 * window_, cur_hi_ = std::min(cur_lo_ + window_, total_);
    }
    loaded_kt0_ = kt0, loaded_nt_ = nt, loaded_tiles_ = tiles;
  }

  // Resident, and the windows of tiles [first, last] of column block nt and the next one in SRAM by `t`:
  // the Loads of those tiles are TLDs only, ready by then, and the Prefetches after them nothing.
  bool Settled(int nt, int first, int last, uint64_t t) const {
    if (!resident_ || window_ == 0) return false;
    const int64_t base = int64_t{nt} * k_tiles_, w1 = (base + last) / window_;
    for (int64_t w = (base + first) / window_; w <= w1; ++w) {
      if (!fetched_[size_t(w)] || ready_[size_t(w)] > t) return false;
    }
    return w1 + 1 == windows_ || fetched_[size_t(w1 + 1)];
  }
  // What Load(kt0, tiles, nt) leaves behind when Settled (its TLDs timed by the caller).
  void Loaded(int kt0, int tiles, int nt) {
    const int64_t w1 = (int64_t{nt} * k_tiles_ + kt0 + tiles - 1) / window_;
    cur_slot_ = static_cast<int>(w1), cur_window_ = w1;
    cur_lo_ = w1 * window_, cur_hi_ = std::min(cur_lo_ + window_, total_);
    loaded_kt0_ = kt0, loaded_nt_ = nt, loaded_tiles_ = tiles;
  }

  // Tiles [kt0, kt1) of column block nt lie in the window the last Load ended in, that window is in SRAM by
  // `t` and the Prefetch after each Load would do nothing: their Loads are TLDs only, back to back.
  bool InWindow(int nt, int kt0, int kt1, uint64_t t, bool wrap) const {
    if (window_ == 0 || cur_window_ < 0) return false;
    const int64_t base = int64_t{nt} * k_tiles_;
    if (base + kt0 < cur_lo_ || base + kt1 > cur_hi_ || Ready(cur_slot_) > t) return false;
    int64_t next = cur_window_ + 1;
    if (next == windows_) {
      if (!wrap || resident_) return true;
      next = 0;
    }
    return Find(next) >= 0;
  }
  // After such Loads, the last of tiles [kt0, +tiles) and its last TLD ending at `tld_end`.
  void LoadedInWindow(int kt0, int tiles, int nt, uint64_t tld_end) {
    if (!resident_) slot_read_[cur_slot_] = tld_end;
    loaded_kt0_ = kt0, loaded_nt_ = nt, loaded_tiles_ = tiles;
  }
  int64_t WindowEnd(int nt) const { return cur_hi_ - int64_t{nt} * k_tiles_; }

  void Prefetch(bool wrap) {
    if (window_ == 0 || cur_window_ < 0) return;
    int64_t next = cur_window_ + 1;
    if (next == windows_) {
      if (!wrap || resident_) return;
      next = 0;
    }
    if (Find(next) < 0) Fetch(next, WeightTiles::SlotFor(next, resident_, cur_slot_));
  }

  void Shift(uint64_t d) {
    for (uint64_t& t : ready_) t += d;
    for (uint64_t& t : slot_read_) t += d;
    for (uint64_t& t : tile_read_) t += d;
  }

  // Column blocks per period of the loop over one row block's column blocks: whole resident windows (the
  // windows a period fetches are those of the period before, moved on) and a multiple of `sets`; 0 if none.
  int ColumnPeriod(int sets) const {
    if (!resident_ || window_ == 0) return 0;
    if (windows_ == 1) return sets;
    int cols = 1;
    while (cols * int64_t{k_tiles_} % window_ != 0 || cols % sets != 0) {
      if (++cols > 64) return 0;
    }
    return cols;
  }
  // `periods` periods of `tiles` tiles skipped, each `d` cycles as the last one run: the windows fetched in the
  // last one, moved on by whole periods, are fetched as those would be.
  void Skip(uint64_t d, int64_t periods, int64_t tiles) {
    const int64_t step = tiles / window_;
    if (step > 0) {
      int64_t top = windows_ - 1;
      while (top >= 0 && !fetched_[size_t(top)]) --top;
      for (int64_t j = 1; j <= periods; ++j) {
        for (int64_t w = std::max<int64_t>(0, top - step + 1); w <= top; ++w) {
          if (w + step * j >= windows_) break;
          fetched_[size_t(w + step * j)] = true;
          ready_[size_t(w + step * j)] = ready_[size_t(w)] + d * uint64_t(j);
        }
      }
      cur_window_ += step * periods, cur_slot_ = static_cast<int>(cur_window_);
      cur_lo_ = cur_window_ * window_, cur_hi_ = std::min(cur_lo_ + window_, total_);
    }
    loaded_nt_ += tiles / k_tiles_ * periods;
  }

 private:
  int Find(int64_t win) const {
    if (resident_) return fetched_[size_t(win)] ? static_cast<int>(win) : -1;
    return slot_window_[0] == win ? 0 : slot_window_[1] == win ? 1 : -1;
  }
  uint64_t Ready(int slot) const { return ready_[size_t(slot)]; }
  void Fetch(int64_t win, int slot) {
    const int64_t first = win * window_, tiles = std::min(window_, total_ - first);
    const uint64_t bytes = uint64_t(tiles) * tile_bytes_;
    // A slot's new window waits for the TLDs that read its old one (the DMA writes what they read).
    ready_[size_t(slot)] = p_.Run(kDma, k_.Dma(bytes), resident_ ? 0 : slot_read_[slot]);
    p_.dram_bytes += bytes;
    if (resident_) {
      fetched_[size_t(win)] = true;
    } else {
      slot_window_[slot] = win;
      if (slot == cur_slot_) cur_lo_ = cur_hi_ = 0;
    }
  }

  Pipe& p_;
  const Costs& k_;
  int64_t total_;
  int k_tiles_;
  uint64_t tile_bytes_;
  int64_t window_, windows_ = 0;
  bool resident_;
  uint64_t tld_;
  std::array<uint64_t, kMostResident> ready_{};  // per slot (streamed) or window (resident): when its DMA ends
  std::array<bool, kMostResident> fetched_{};
  uint64_t slot_read_[2] = {};  // streamed: when the last TLD reading the slot ends
  std::vector<uint64_t> tile_read_;  // no window: when the last TLD reading each tile of the region ends
  int64_t slot_window_[2] = {-1, -1};
  int cur_slot_ = 1;
  int64_t cur_window_ = -1, cur_lo_ = 0, cur_hi_ = 0;
  int64_t loaded_kt0_ = -1, loaded_nt_ = -1, loaded_tiles_ = 0;
};


// Instructions of one unit issued one after the other (DMAs, or a chain of TLDs and TMACs), placed from the
// first's start: each starts when the one before leaves the unit, or (a DMA) when an earlier one it must wait
// for is done; the starts of the last kTail kept (what the queues' entries wait for).
struct Dmas {
  uint64_t n = 0, busy = 0;
  uint64_t span = 0;          // when the unit is free after the last
  uint64_t finish = 0;        // when the last of them is done (a DMA's data there)
  uint64_t starts[kTail] = {};  // the starts of the last ones, at [i % kTail]
  uint64_t at = 0;            // n % kTail
  void Add(uint64_t c) { Place(span, c, 0); }
  // A DMA not started before `not_before`; returns when it is done.
  uint64_t Add(DmaCost d, uint64_t not_before = 0) { return Place(std::max(span, not_before), d.occupied, d.latency); }
  void Add(uint64_t c, uint64_t times) { AddTimes(DmaCost{c, 0}, times); }
  void AddTimes(DmaCost d, uint64_t times) { AddChained(d, times, 0); }
  // `times` DMAs, each started `gap` after the one before leaves the engines.
  void AddChained(DmaCost d, uint64_t times, uint64_t gap) {
    if (times > kTail) {
      const uint64_t skipped = times - kTail;
      n += skipped, busy += d.occupied * skipped, span += (d.occupied + gap) * skipped, at = n % kTail, times = kTail;
    }
    for (; times > 0; --times) Place(span + gap, d.occupied, d.latency);
  }
  uint64_t Place(uint64_t start, uint64_t occupied, uint64_t latency) {
    starts[at] = start, ++n, busy += occupied, span = start + occupied;
    if (++at == kTail) at = 0;
    finish = std::max(finish, span + latency);
    return span + latency;
  }
  // On `unit` (the DMA engines unless said) after `ready`; returns when the last is done.
  uint64_t Run(Pipe& p, uint64_t ready, int unit = kDma) const {
    // Oldest first: with kTail or more, the oldest is the slot written next (two stretches, no modulo).
    uint64_t tail[kTail];
    if (n < kTail) {
      std::copy(starts, starts + n, tail);
    } else {
      std::copy(starts + at, starts + kTail, tail);
      std::copy(starts, starts + at, tail + (kTail - at));
    }
    return p.RunPiece(unit, ready, n, busy, span, finish, tail);
  }
};

// A loop's per-step DMAs, as cycles on the DMA engines (bytes tallied into the pipe).
class GemmIo {
 public:
  virtual ~GemmIo() = default;
  // The DMAs that put A[m0 + r][k0 + c] (r < rows, c < cols) into SRAM, rows `stride` bytes apart, then the
  // one that pads columns [cols, padded) of every row from the fill rows (kernels/gemm_loop.cc), which waits
  // for the DMAs whose SRAM it overlaps. Its bytes tallied into the pipe.
  virtual Dmas LoadA(Pipe& p, int64_t m0, uint32_t rows, int k0, int cols, int padded, uint32_t stride) const = 0;
  // Row blocks whose loads have the same key (>= 0) take the same DMAs: the loop may count a run of them in
  // closed form. -1: this block's loads are its own.
  virtual int64_t LoadKey(int64_t m0, uint32_t rows) const = 0;
};

// The GEMM loop of kernels/gemm_loop.cc on the timelines, as it runs with `shape` (no row sums, no bias: what
// the networks run). Output columns leave by one DMA per block.
void ModelGemmLoop(Pipe& p, const Costs& k, const GemmLoopShape& shape, const GemmIo& io);

// Convolution families (kernels/analytic_conv.cc).
// `k` holds the configuration as the kernels see it (less the SRAM the plan keeps tensors in).
void ModelConv(Pipe& p, const Layer& l, const LayerChoice& choice, const Costs& k, const RunOptions& o);

// The element types of a precision (as kernels/network_run.cc runs it).
struct Types {
  explicit Types(Precision p)
      : mode(MacModeOf(p)),
        x(ActivationType(mode)),
        y(p == Precision::kInt8 ? DType::kU8 : p == Precision::kInt16 ? DType::kI16 : DType::kBF16) {}
  MacMode mode;
  DType x, y;
};

}  // namespace tile32::analytic

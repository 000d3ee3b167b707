// accel/model_machine.h: in-order issue, per-unit occupancy and footprint dependencies (docs/isa.md §8.3).
#include "accel/model_machine.h"

#include <algorithm>

namespace tile32 {
namespace {

// How many units share the rows of an instruction: a TMAC's or EMAC's rows are independent and the tile_units
// arrays share them (each holding the tiles); so are the rows of the ACC-row instructions over the vector
// units and a REQ's over the requantization units (docs/isa.md §8.3).
uint64_t SharingUnits(const Instr& instr, const InstrCost& cost, const AccelConfig& c) {
  if (cost.tile_cycles > 0) return c.tile_units;
  if (std::holds_alternative<Requant>(instr)) return c.requant_units;
  if (std::holds_alternative<AccZero>(instr) || std::holds_alternative<AccLoad>(instr) ||
      std::holds_alternative<AccStore>(instr) || std::holds_alternative<AccAlu>(instr) ||
      std::holds_alternative<RowPerm>(instr)) {
    return c.vector_units;
  }
  return 1;
}

bool Overlap(const Touches::Span& a, const Touches::Span& b) { return a.lo < b.hi && b.lo < a.hi; }

bool RegConflict(const RegAccess& a, const RegAccess& b) {
  auto v_touch = [](const RegAccess& r, int v) { return r.v_read[0] == v || r.v_read[1] == v || r.v_write == v; };
  if (a.v_write >= 0 && v_touch(b, a.v_write)) return true;
  if (b.v_write >= 0 && v_touch(a, b.v_write)) return true;
  if ((a.tile_write || b.tile_write) && a.tile_count > 0 && b.tile_count > 0 &&
      a.tile_first < b.tile_first + b.tile_count && b.tile_first < a.tile_first + a.tile_count) {
    return true;
  }
  return (a.quant_write && (b.quant_read || b.quant_write)) || (b.quant_write && a.quant_read);
}

// Some span of a's overlaps some span of b's, one of the two written.
bool SpansConflict(const Touches::Span* a, int na, const Touches::Span* b, int nb) {
  for (int i = 0; i < na; ++i) {
    for (int j = 0; j < nb; ++j) {
      if ((a[i].write || b[j].write) && Overlap(a[i], b[j])) return true;
    }
  }
  return false;
}

}  // namespace

Touches TouchesOf(const Footprint& f) {
  Touches t;
  auto span = [](int64_t base, int64_t stride, uint32_t count, uint64_t bytes, bool write) {
    const ByteSpan s = SpanOf(base, stride, count, bytes);
    return Touches::Span{s.lo, s.hi, write};
  };
  t.sram_count = static_cast<uint8_t>(f.sram_count), t.acc_count = static_cast<uint8_t>(f.acc_count);
  for (int i = 0; i < f.sram_count; ++i) {
    const SramAccess& x = f.sram[i];
    t.sram[i] = span(x.base, x.stride, x.count, x.bytes, x.write);
  }
  for (int i = 0; i < f.acc_count; ++i) {
    const AccAccess& x = f.acc[i];
    t.acc[i] = span(x.row, x.stride, x.count, 1, x.write);
  }
  t.dram_used = f.dram.used;
  if (f.dram.used) {
    t.dram_segment = f.dram.segment;
    t.dram = span(static_cast<int64_t>(f.dram.offset), static_cast<int64_t>(f.dram.stride), f.dram.rows,
                  f.dram.row_bytes, f.dram.write);
  }
  t.regs = f.regs;
  return t;
}

bool Conflicts(const Touches& a, const Touches& b) {
  return RegConflict(a.regs, b.regs) || SpansConflict(a.acc, a.acc_count, b.acc, b.acc_count) ||
         SpansConflict(a.sram, a.sram_count, b.sram, b.sram_count) ||
         (a.dram_used && b.dram_used && a.dram_segment == b.dram_segment && SpansConflict(&a.dram, 1, &b.dram, 1));
}

bool Conflicts(const Footprint& a, const Footprint& b) { return Conflicts(TouchesOf(a), TouchesOf(b)); }

ModelMachine::ModelMachine(const AccelConfig& config) : Machine(config) {}

void ModelMachine::ResetTiming() {
  timing_ = ModelTiming{};
  entry_ = 0, entry_cause_ = kNoCause;
  for (std::deque<uint32_t>& q : queue_) q.clear();
  std::fill(std::begin(unit_free_), std::end(unit_free_), 0);
  std::fill(std::begin(last_on_), std::end(last_on_), kNoCause);
  last_finisher_ = kNoCause;
  flight_finish_.clear(), flight_record_.clear(), flight_touches_.clear();
  prune_at_ = kFirstPrune;
  records_.clear();
}

// Each record's start is the finish of its cause (the unit was busy, or a dependency) or the start of its
// cause (in-order issue), so following causes back covers [from, to) without gap or overlap: each cause's
// running time inside the interval is charged to its unit.
void ModelMachine::AttributeIdle(uint32_t first, uint64_t from, uint64_t to, uint64_t* idle_on) const {
  uint64_t cur = to;
  for (uint32_t j = first; j != kNoCause && cur > from; j = records_[j].cause) {
    const Record& r = records_[j];
    const uint64_t begin = std::max(r.start, from);
    if (r.finish >= cur && begin < cur) idle_on[static_cast<int>(r.unit)] += cur - begin, cur = begin;
  }
  // Nothing ran in [from, cur) (cannot happen with causes set as AfterInstruction sets them): kept exact.
  if (cur > from) idle_on[static_cast<int>(Unit::kTile)] += cur - from;
}

ModelTiming ModelMachine::timing() const {
  ModelTiming t = timing_;
  const uint64_t arrays_done = unit_free_[static_cast<int>(Unit::kTile)];
  if (t.cycles > arrays_done) AttributeIdle(last_finisher_, arrays_done, t.cycles, t.idle_on);
  return t;
}

bool ModelMachine::OnChip(const Instr& instr) const {
  if (on_chip_.empty()) return false;
  const auto* in = std::get_if<DmaIn>(&instr);
  const auto* out = std::get_if<DmaOut>(&instr);
  const auto base = reinterpret_cast<uintptr_t>(segment(in != nullptr ? in->segment : out->segment).base);
  for (const HostRange& r : on_chip_) {
    const auto lo = reinterpret_cast<uintptr_t>(r.base);
    if (base >= lo && base - lo < r.bytes) return true;
  }
  return false;
}

void ModelMachine::AfterInstruction(const Instr& instr, const Footprint& fp, const InstrCost& cost) {
  const int u = static_cast<int>(fp.unit);
  const uint32_t self = static_cast<uint32_t>(records_.size());
  // Instructions enter their unit's queue in program order; a full queue holds up the entry of this and
  // every later instruction until its oldest has started.
  std::deque<uint32_t>& queue = queue_[u];
  if (queue.size() == kQueueDepth) {
    const uint32_t oldest = queue.front();
    queue.pop_front();
    if (records_[oldest].start > entry_) entry_ = records_[oldest].start, entry_cause_ = oldest;
  }
  const uint64_t ready = std::max(entry_, unit_free_[u]);
  uint32_t cause = unit_free_[u] >= entry_ ? last_on_[u] : entry_cause_;
  if (ready == 0) cause = kNoCause;
  uint64_t start = ready;
  int waited_unit = -1;
  const Touches touches = TouchesOf(fp);
  for (size_t i = 0; i < flight_finish_.size(); ++i) {
    if (flight_finish_[i] > start && Conflicts(touches, flight_touches_[i])) {
      start = flight_finish_[i], cause = flight_record_[i], waited_unit = static_cast<int>(records_[cause].unit);
    }
  }
  const uint64_t arrays = config().tile_units;
  const uint64_t sharing = SharingUnits(instr, cost, config());
  uint64_t cycles = (cost.cycles + sharing - 1) / sharing;
  const bool on_chip = fp.unit == Unit::kDma && OnChip(instr);
  if (on_chip) {
    const uint64_t width = uint64_t{config().sram_banks} * config().bank_bytes;
    cycles = std::max<uint64_t>(1, (cost.dram_bytes + width - 1) / width);
    timing_.on_chip_bytes += cost.dram_bytes;
  }
  const uint64_t finish = start + cycles;
  // A DMA holds the DRAM channel only while its bytes move: its first-byte latency overlaps the transfers
  // of the DMAs before it (the engines keep several requests outstanding). Its data is there at `finish`.
  const uint64_t occupied =
      fp.unit == Unit::kDma && !on_chip && cost.dram_bytes > 0 && cycles > config().dram_latency_cycles
          ? cycles - config().dram_latency_cycles
          : cycles;
  UnitTime& t = timing_.unit[u];
  t.busy += occupied;
  if (fp.unit == Unit::kTile) {
    // The arrays stood idle from their last finish to this start: charged to what held this start up.
    if (start > unit_free_[u]) AttributeIdle(cause, unit_free_[u], start, timing_.idle_on);
    if (cost.tile_cycles > 0) {
      timing_.mac_busy += cycles;
      timing_.mac_array += (cost.tile_cycles + arrays - 1) / arrays;
    } else {
      timing_.tile_load += cycles;
    }
  }
  ++t.instructions;
  if (start > ready) {
    t.dep_stall += start - ready;
    timing_.waited_on[waited_unit] += start - ready;
  }
  unit_free_[u] = start + occupied;
  last_on_[u] = self;
  queue.push_back(self);
  if (finish >= timing_.cycles) timing_.cycles = finish, last_finisher_ = self;
  records_.push_back({start, finish, cause, fp.unit});
  // Every later instruction starts at entry_ or after: those finished by then can delay nothing (the scan
  // passes them over by their finish) and are dropped once they could make up half the arrays.
  if (flight_finish_.size() >= prune_at_) {
    size_t to = 0;
    for (size_t i = 0; i < flight_finish_.size(); ++i) {
      if (flight_finish_[i] <= entry_) continue;
      if (to != i) {
        flight_finish_[to] = flight_finish_[i], flight_record_[to] = flight_record_[i];
        flight_touches_[to] = flight_touches_[i];
      }
      ++to;
    }
    flight_finish_.resize(to), flight_record_.resize(to), flight_touches_.resize(to);
    prune_at_ = std::max<size_t>(kFirstPrune, 2 * to);
  }
  flight_finish_.push_back(finish), flight_record_.push_back(self), flight_touches_.push_back(touches);
}

}  // namespace tile32

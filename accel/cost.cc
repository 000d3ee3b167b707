// docs/isa.md §8, one function per row of the cost table.
#include "accel/cost.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace tile32 {
namespace {

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

uint64_t TileCyclesPerPass(const AccelConfig& c, MacMode m) {
  const uint32_t rate = m == MacMode::kBF16     ? c.macs_per_cycle_bf16
                        : m == MacMode::kS16S16 ? c.macs_per_cycle_int16
                                                : c.macs_per_cycle_int8;
  return CeilDiv(uint64_t{kLanes} * kLanes, rate);
}

// Rows of `bytes` each at addr + r*stride: the bank cycles of every row, summed, with the per-row minimum
// `floor` (a row never takes less than `floor` cycles; the excess over it is a stall).
InstrCost RowsCost(const AccelConfig& c, uint32_t addr, int32_t stride, uint32_t rows, uint64_t bytes,
                   uint64_t floor) {
  // A row's bank cycles depend only on its address modulo bank_bytes, which repeats with period
  // bank_bytes / gcd(stride, bank_bytes) rows: cost one period and scale, instead of every row.
  const uint64_t w = c.bank_bytes;
  const uint64_t step = static_cast<uint64_t>((int64_t{stride} % static_cast<int64_t>(w) + static_cast<int64_t>(w))) % w;
  const uint64_t period = std::min<uint64_t>(rows, w / std::gcd(step, w));
  const uint64_t whole = rows / period, partial = rows % period;
  InstrCost one_period, rest;  // rows [0, period), and rows [0, partial) of the last, partial period
  for (uint32_t r = 0; r < period; ++r) {
    const BankCycles b = BankCyclesOfRange(c, addr + int64_t{stride} * r, bytes);
    for (InstrCost* sum : {&one_period, &rest}) {
      if (sum == &rest && r >= partial) break;
      sum->sram_cycles += b.cycles;
      sum->conflict_cycles += b.cycles - b.ideal;
      sum->cycles += std::max<uint64_t>(b.cycles, floor);
    }
  }
  InstrCost cost;
  cost.sram_cycles = whole * one_period.sram_cycles + rest.sram_cycles;
  cost.conflict_cycles = whole * one_period.conflict_cycles + rest.conflict_cycles;
  cost.cycles = whole * one_period.cycles + rest.cycles;
  return cost;
}

// The bank cycles of one SRAM access of a footprint (§8.2): a gathered set at once, or rows one after the
// other, each at least `floor` cycles.
InstrCost SramCost(const AccelConfig& c, const SramAccess& a, uint64_t floor) {
  if (!a.gathered) {
    return RowsCost(c, static_cast<uint32_t>(a.base), static_cast<int32_t>(a.stride), a.count, a.bytes, floor);
  }
  BankCycles b;
  if (a.count == 1 || a.stride == 0 || a.stride == a.bytes) {  // one contiguous range
    const uint64_t items = a.stride == 0 ? 1 : a.count;
    b = BankCyclesOfRange(c, static_cast<uint64_t>(a.base), items * a.bytes);
  } else {
    int64_t addr[kLanes];
    const int n = static_cast<int>(std::min<uint32_t>(a.count, kLanes));
    for (int i = 0; i < n; ++i) addr[i] = a.base + a.stride * i;
    b = BankCyclesOf(c, addr, n, static_cast<int>(a.bytes));
  }
  InstrCost cost;
  cost.cycles = cost.sram_cycles = b.cycles;
  cost.conflict_cycles = b.cycles - b.ideal;
  return cost;
}

// What an instruction costs beyond the bank cycles of its SRAM accesses, and the per-row minimum of those.
struct CostVisitor {
  const AccelConfig& c;
  uint64_t* floor;  // cycles a row of an SRAM access takes at least (1; the tile cycles of a row for MACs)

  InstrCost Dma(uint32_t rows, uint32_t row_bytes) const {
    InstrCost cost;
    cost.dram_bytes = uint64_t{rows} * row_bytes;
    // Ceiling of bytes / (bytes per cycle); the 1e-12 keeps an exact quotient's rounding noise from
    // adding a cycle.
    const double q = static_cast<double>(cost.dram_bytes) / c.DramBytesPerCycle();
    cost.cycles = c.dram_latency_cycles + static_cast<uint64_t>(std::ceil(q * (1 - 1e-12)));
    return cost;
  }
  InstrCost Cycles(uint64_t n) const {
    InstrCost cost;
    cost.cycles = n;
    return cost;
  }

  InstrCost operator()(const DmaIn& i) const { return Dma(i.rows, i.row_bytes); }
  InstrCost operator()(const DmaOut& i) const { return Dma(i.rows, i.row_bytes); }
  InstrCost operator()(const VLoad&) const { return {}; }
  InstrCost operator()(const VStore&) const { return {}; }
  InstrCost operator()(const TileLoad&) const { return {}; }
  InstrCost operator()(const AccZero& i) const { return Cycles(i.rows); }
  InstrCost operator()(const AccLoad&) const { return {}; }
  InstrCost operator()(const AccStore&) const { return {}; }
  InstrCost operator()(const TileMac& i) const {
    const uint64_t per_row = TileCyclesPerPass(c, i.mode) * i.tiles;
    *floor = per_row;  // the array stalls when a row's activations take longer than its MACs
    InstrCost cost;
    cost.tile_cycles = per_row * i.rows;
    cost.macs = uint64_t{i.rows} * i.tiles * kLanes * kLanes;
    return cost;
  }
  InstrCost operator()(const ElemMac& i) const {
    const uint64_t per_row = TileCyclesPerPass(c, i.mode);
    *floor = per_row;
    InstrCost cost;
    cost.tile_cycles = per_row * i.rows;
    cost.macs = uint64_t{i.rows} * kLanes;
    return cost;
  }
  InstrCost operator()(const SetQuant&) const { return Cycles(4); }
  InstrCost operator()(const Requant&) const { return {}; }
  InstrCost operator()(const VAlu&) const { return Cycles(1); }
  InstrCost operator()(const VPerm& i) const {
    InstrCost cost;
    cost.cycles = cost.mux_passes = MuxPasses(i.route.data());
    return cost;
  }
  InstrCost operator()(const VFromAcc&) const { return Cycles(1); }
  InstrCost operator()(const VToAcc&) const { return Cycles(1); }
  InstrCost operator()(const AccAlu& i) const {
    return Cycles(i.rows);  // the vector unit reads, computes and writes one ACC row per cycle
  }
  InstrCost operator()(const RowPerm& i) const {
    InstrCost cost;
    cost.cycles = cost.mux_passes = uint64_t{i.rows} * MuxPasses(i.route.data());
    return cost;
  }
};

}  // namespace

InstrCost CostOf(const Instr& instr, const AccelConfig& config) { return CostOf(instr, FootprintOf(instr), config); }

// The instruction's own cost plus, except for DMA (whose SRAM side streams at the DMA's rate), the bank
// cycles of every SRAM access of its footprint.
InstrCost CostOf(const Instr& instr, const Footprint& fp, const AccelConfig& config) {
  uint64_t floor = 1;
  InstrCost cost = std::visit(CostVisitor{config, &floor}, instr);
  if (fp.unit == Unit::kDma) return cost;
  for (int a = 0; a < fp.sram_count; ++a) {
    const InstrCost s = SramCost(config, fp.sram[a], floor);
    cost.cycles += s.cycles;
    cost.sram_cycles += s.sram_cycles;
    cost.conflict_cycles += s.conflict_cycles;
  }
  return cost;
}

BankCycles BankCyclesOf(const AccelConfig& c, const int64_t* addr, int count, int bytes) {
  // Elements back to back (unit stride) or all at one address (a broadcast) are one contiguous range.
  bool contiguous = true, same = true;
  for (int i = 1; i < count && (contiguous || same); ++i) {
    contiguous &= addr[i] == addr[i - 1] + bytes;
    same &= addr[i] == addr[0];
  }
  if (count > 0 && (contiguous || same)) {
    return BankCyclesOfRange(c, static_cast<uint64_t>(addr[0]), uint64_t(same ? 1 : count) * uint64_t(bytes));
  }
  // Distinct (bank, word) pairs; a few dozen at most, so a sorted array on the stack beats a hash set (an
  // allocation per VLD cost more than the rest of the instruction).
  constexpr size_t kStack = 256;
  std::pair<uint32_t, uint64_t> stack[kStack];
  std::vector<std::pair<uint32_t, uint64_t>> heap;
  size_t n = 0;
  const uint64_t most = uint64_t(count) * (uint64_t(bytes) / c.bank_bytes + 2);
  std::pair<uint32_t, uint64_t>* words = stack;
  if (most > kStack) heap.resize(most), words = heap.data();
  for (int i = 0; i < count; ++i) {
    const uint64_t first = static_cast<uint64_t>(addr[i]) / c.bank_bytes;
    const uint64_t last = static_cast<uint64_t>(addr[i] + bytes - 1) / c.bank_bytes;
    for (uint64_t w = first; w <= last; ++w) words[n++] = {static_cast<uint32_t>(w % c.sram_banks), w};
  }
  std::sort(words, words + n);
  n = static_cast<size_t>(std::unique(words, words + n) - words);
  BankCycles out;
  uint64_t run = 0;
  for (size_t i = 0; i < n; ++i) {
    run = (i > 0 && words[i].first == words[i - 1].first) ? run + 1 : 1;
    out.cycles = std::max(out.cycles, run);
  }
  out.cycles = std::max<uint64_t>(out.cycles, 1);
  out.ideal = std::max<uint64_t>(CeilDiv(n, c.sram_banks), 1);
  return out;
}

BankCycles BankCyclesOfRange(const AccelConfig& c, uint64_t addr, uint64_t bytes) {
  // A contiguous range of n words visits the banks round-robin: ceil(n / banks) words in the busiest bank.
  // Every instruction pays this in every machine, and 64-bit divisions by the configuration's sizes were
  // half the cost of a TLD: powers of two (the usual sizes) shift instead.
  const uint64_t end = addr + std::max<uint64_t>(bytes, 1) - 1;
  const uint64_t bank_bytes = c.bank_bytes, banks = c.sram_banks;
  uint64_t words;
  if ((bank_bytes & (bank_bytes - 1)) == 0) {
    const int s = __builtin_ctzll(bank_bytes);
    words = (end >> s) - (addr >> s) + 1;
  } else {
    words = end / bank_bytes - addr / bank_bytes + 1;
  }
  BankCycles out;
  out.cycles = out.ideal = (banks & (banks - 1)) == 0 ? (words + banks - 1) >> __builtin_ctzll(banks) : CeilDiv(words, banks);
  return out;
}

int MuxPasses(const int8_t* route) {
  bool seen[kLanes] = {};
  int passes = 0;
  for (int i = 0; i < kLanes; ++i) {
    if (route[i] < 0) continue;
    const int d = ((route[i] - i) % kLanes + kLanes) % kLanes;
    if (!seen[d]) seen[d] = true, ++passes;
  }
  return std::max(passes, 1);
}

}  // namespace tile32

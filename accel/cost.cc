// docs/isa.md §8: the per-kind costs are inline in accel/cost.h; here what is too long or too rare to inline.
#include "accel/cost.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace tile32 {
namespace {

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

int Log2IfPowerOfTwo(uint64_t v) { return (v & (v - 1)) == 0 ? __builtin_ctzll(v) : -1; }

// Cycles of one 32x32 pass at `rate` MACs per cycle. 0 for a rate of 0: a table is also made for
// BankCyclesOf(AccelConfig), whose callers may fill in only the SRAM fields.
uint64_t PassCycles(uint32_t rate) { return rate == 0 ? 0 : CeilDiv(uint64_t{kLanes} * kLanes, rate); }

}  // namespace

CostTable::CostTable(const AccelConfig& c)
    : bank_bytes(c.bank_bytes),
      banks(c.sram_banks),
      bank_shift(Log2IfPowerOfTwo(c.bank_bytes)),
      banks_shift(Log2IfPowerOfTwo(c.sram_banks)),
      tile_cycles_per_pass{PassCycles(c.macs_per_cycle_int8), PassCycles(c.macs_per_cycle_int16),
                           PassCycles(c.macs_per_cycle_bf16)},
      dram_bytes_per_cycle(c.DramBytesPerCycle()),
      dram_latency_cycles(c.dram_latency_cycles) {}

namespace cost_internal {

InstrCost RowsCost(const CostTable& t, uint32_t addr, int32_t stride, uint32_t rows, uint64_t bytes, uint64_t floor) {
  // A row's bank cycles depend only on its address modulo bank_bytes, which repeats with period
  // bank_bytes / gcd(stride, bank_bytes) rows: cost one period and scale, instead of every row.
  const uint64_t w = t.bank_bytes;
  const uint64_t step = static_cast<uint64_t>((int64_t{stride} % static_cast<int64_t>(w) + static_cast<int64_t>(w))) % w;
  const uint64_t period = std::min<uint64_t>(rows, w / std::gcd(step, w));
  const uint64_t whole = rows / period, partial = rows % period;
  InstrCost one_period, rest;  // rows [0, period), and rows [0, partial) of the last, partial period
  for (uint32_t r = 0; r < period; ++r) {
    const BankCycles b = BankCyclesOfRange(t, addr + int64_t{stride} * r, bytes);
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

}  // namespace cost_internal

InstrCost CostOf(const Instr& instr, const AccelConfig& config) { return CostOf(instr, FootprintOf(instr), config); }

InstrCost CostOf(const Instr& instr, const Footprint& fp, const AccelConfig& config) {
  const CostTable table(config);
  return std::visit([&](const auto& i) { return CostOfKind(i, fp, table); }, instr);
}

BankCycles BankCyclesOf(const AccelConfig& c, const int64_t* addr, int count, int bytes) {
  return BankCyclesOf(CostTable(c), addr, count, bytes);
}

BankCycles BankCyclesOf(const CostTable& t, const int64_t* addr, int count, int bytes) {
  // Elements back to back (unit stride) or all at one address (a broadcast) are one contiguous range.
  bool contiguous = true, same = true;
  for (int i = 1; i < count && (contiguous || same); ++i) {
    contiguous &= addr[i] == addr[i - 1] + bytes;
    same &= addr[i] == addr[0];
  }
  if (count > 0 && (contiguous || same)) {
    return BankCyclesOfRange(t, static_cast<uint64_t>(addr[0]), uint64_t(same ? 1 : count) * uint64_t(bytes));
  }
  // Distinct (bank, word) pairs; a few dozen at most, so a sorted array on the stack beats a hash set (an
  // allocation per VLD cost more than the rest of the instruction).
  constexpr size_t kStack = 256;
  std::pair<uint32_t, uint64_t> stack[kStack];
  std::vector<std::pair<uint32_t, uint64_t>> heap;
  size_t n = 0;
  const uint64_t most = uint64_t(count) * (uint64_t(bytes) / t.bank_bytes + 2);
  std::pair<uint32_t, uint64_t>* words = stack;
  if (most > kStack) heap.resize(most), words = heap.data();
  for (int i = 0; i < count; ++i) {
    const uint64_t first = static_cast<uint64_t>(addr[i]) / t.bank_bytes;
    const uint64_t last = static_cast<uint64_t>(addr[i] + bytes - 1) / t.bank_bytes;
    for (uint64_t w = first; w <= last; ++w) words[n++] = {static_cast<uint32_t>(w % t.banks), w};
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
  out.ideal = std::max<uint64_t>(CeilDiv(n, t.banks), 1);
  return out;
}

BankCycles BankCyclesOfRange(const AccelConfig& c, uint64_t addr, uint64_t bytes) {
  return BankCyclesOfRange(CostTable(c), addr, bytes);
}

int MuxPasses(const int8_t* route) {
  // The distinct rotations (route[i] - i) mod 32 of the routed lanes, as bits of one word, counted: every
  // RPERM's cost asks (a byte array marked and summed took 37-41 ns against 20-32, in one process).
  uint32_t rotations = 0;
#pragma GCC unroll 32
  for (int i = 0; i < kLanes; ++i) rotations |= route[i] < 0 ? 0u : 1u << ((route[i] - i) & (kLanes - 1));
  return std::max(__builtin_popcount(rotations), 1);
}

}  // namespace tile32

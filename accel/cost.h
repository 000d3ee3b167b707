// The cycle cost of each instruction (docs/isa.md §8), computed from the instruction and the AccelConfig
// alone. Every machine accumulates these counters; the performance model builds on them.
#pragma once

#include <cmath>
#include <cstdint>

#include "accel/config.h"
#include "accel/footprint.h"
#include "accel/isa.h"

namespace tile32 {

struct InstrCost {
  uint64_t cycles = 0;          // issue-to-retire cycles of this instruction on one tile unit
  uint64_t tile_cycles = 0;     // cycles the 32x32 array is busy (TMAC, EMAC)
  uint64_t sram_cycles = 0;     // SRAM bank cycles (ideal + conflict)
  uint64_t conflict_cycles = 0; // SRAM cycles beyond the conflict-free minimum
  uint64_t mux_passes = 0;      // lane-multiplexor passes (VPERM)
  uint64_t dram_bytes = 0;      // bytes moved to or from DRAM
  uint64_t macs = 0;            // useful multiply-accumulates
};

struct Counters {
  uint64_t instructions = 0;
  uint64_t per_opcode[kInstrKinds] = {};  // indexed by Instr::index()
  InstrCost total;
  // Host time spent executing each opcode (validation included), when Machine::set_host_timing(true):
  // where an emulator's time goes, for profiling it. Seconds, indexed by Instr::index().
  double host_seconds[kInstrKinds] = {};
};

InstrCost CostOf(const Instr& instr, const AccelConfig& config);
// The same, with the instruction's footprint already at hand (FootprintOf(instr)): its SRAM accesses are the
// ones whose bank cycles count.
InstrCost CostOf(const Instr& instr, const Footprint& fp, const AccelConfig& config);

// SRAM bank cycles to touch the byte ranges [addr[i], addr[i] + bytes): the largest number of distinct
// words any one bank must deliver (at least 1), and the conflict-free minimum for the same bytes.
struct BankCycles {
  uint64_t cycles = 0;
  uint64_t ideal = 0;
};
BankCycles BankCyclesOf(const AccelConfig& config, const int64_t* addr, int count, int bytes);
// Bank cycles of one contiguous range.
BankCycles BankCyclesOfRange(const AccelConfig& config, uint64_t addr, uint64_t bytes);

// Mux passes a route needs: one per distinct lane distance (src - dst) mod 32 among routed lanes, min 1.
int MuxPasses(const int8_t* route);

// What the cost model reads of an AccelConfig, derived once: a machine costs every instruction, and the
// divisions by the configuration's sizes and rates were a fifth of a VLD's host time. Shifts replace the
// divisions by sizes that are powers of two (the usual ones); results are those of the divisions.
struct CostTable {
  explicit CostTable(const AccelConfig& c);
  uint64_t bank_bytes, banks;
  int bank_shift, banks_shift;  // log2 of bank_bytes and sram_banks, or -1 when not a power of two
  uint64_t tile_cycles_per_pass[3];  // 32x32 MACs per pass at the int8, int16 and bf16 rates, rounded up
  double dram_bytes_per_cycle;
  uint64_t dram_latency_cycles;

  // ceil(words / banks): the cycles of `words` consecutive bank words.
  uint64_t BanksFor(uint64_t words) const {
    return banks_shift >= 0 ? (words + banks - 1) >> banks_shift : (words + banks - 1) / banks;
  }

  uint64_t TileCyclesPerPass(MacMode m) const {
    return tile_cycles_per_pass[m == MacMode::kBF16 ? 2 : m == MacMode::kS16S16 ? 1 : 0];
  }

  // Cycles to move `bytes` over DRAM, latency included: the ceiling of bytes / (bytes per cycle), the 1e-12
  // keeping an exact quotient's rounding noise from adding a cycle. Computed in floating point, which with
  // its division was half a small DMA's host time: the last few byte counts are remembered (kernels move the
  // same sizes over and over).
  uint64_t DmaCycles(uint64_t bytes) const {
    DmaMemo& m = dma_memo_[(bytes ^ (bytes >> 5)) % kDmaMemo];
    if (m.bytes != bytes) {
      const double q = static_cast<double>(bytes) / dram_bytes_per_cycle;
      m.bytes = bytes;
      m.cycles = dram_latency_cycles + static_cast<uint64_t>(std::ceil(q * (1 - 1e-12)));
    }
    return m.cycles;
  }

 private:
  static constexpr int kDmaMemo = 8;
  struct DmaMemo {
    uint64_t bytes = ~uint64_t{0};  // no DMA moves this many (rows * row_bytes < 2^64 - 1)
    uint64_t cycles = 0;
  };
  mutable DmaMemo dma_memo_[kDmaMemo];
};

BankCycles BankCyclesOf(const CostTable& t, const int64_t* addr, int count, int bytes);

// A contiguous range of n words visits the banks round-robin: ceil(n / banks) words in the busiest bank.
inline BankCycles BankCyclesOfRange(const CostTable& t, uint64_t addr, uint64_t bytes) {
  const uint64_t end = addr + (bytes > 1 ? bytes : 1) - 1;
  const uint64_t words =
      t.bank_shift >= 0 ? (end >> t.bank_shift) - (addr >> t.bank_shift) + 1 : end / t.bank_bytes - addr / t.bank_bytes + 1;
  BankCycles out;
  out.cycles = out.ideal = t.BanksFor(words);
  return out;
}

// The per-kind parts of CostOf (docs/isa.md §8), inline so that Machine::Execute costs an instruction whose
// kind it already knows without a dispatch or a call; CostOf(Instr) dispatches to the same.
namespace cost_internal {

// Rows of `bytes` each at addr + r*stride (two or more): their bank cycles summed, each row at least `floor`.
InstrCost RowsCost(const CostTable& t, uint32_t addr, int32_t stride, uint32_t rows, uint64_t bytes, uint64_t floor);

// The bank cycles of one SRAM access of a footprint (§8.2): a gathered set at once, or rows one after the
// other, each at least `floor` cycles.
inline InstrCost SramCost(const CostTable& t, const SramAccess& a, uint64_t floor) {
  InstrCost cost;
  if (!a.gathered) {
    // A row of n bytes (at least 1) touches ceil(n / bank_bytes) bank words or one more, by its alignment.
    // When both counts take the same ceil(words / banks) cycles, every row does, conflict-free, wherever it
    // lies: the rows' sum without visiting them (EMAC and REQ rows are such; a depthwise layer spent 5 % of
    // its host time costing them row by row).
    const uint64_t n = a.bytes > 1 ? a.bytes : 1;
    const uint64_t words = t.bank_shift >= 0 ? (n + t.bank_bytes - 1) >> t.bank_shift : (n + t.bank_bytes - 1) / t.bank_bytes;
    const uint64_t fewest = t.BanksFor(words);
    if (fewest == t.BanksFor(words + 1)) {
      cost.sram_cycles = uint64_t{a.count} * fewest;
      cost.cycles = uint64_t{a.count} * (fewest > floor ? fewest : floor);
      return cost;
    }
    if (a.count != 1) {
      return RowsCost(t, static_cast<uint32_t>(a.base), static_cast<int32_t>(a.stride), a.count, a.bytes, floor);
    }
    const BankCycles b = BankCyclesOfRange(t, static_cast<uint32_t>(a.base), a.bytes);
    cost.sram_cycles = b.cycles;
    cost.conflict_cycles = b.cycles - b.ideal;
    cost.cycles = b.cycles > floor ? b.cycles : floor;
    return cost;
  }
  BankCycles b;
  if (a.count == 1 || a.stride == 0 || a.stride == a.bytes) {  // one contiguous range
    const uint64_t items = a.stride == 0 ? 1 : a.count;
    b = BankCyclesOfRange(t, static_cast<uint64_t>(a.base), items * a.bytes);
  } else {
    int64_t addr[kLanes];
    const int n = static_cast<int>(a.count < uint32_t{kLanes} ? a.count : uint32_t{kLanes});
    for (int i = 0; i < n; ++i) addr[i] = a.base + a.stride * i;
    b = BankCyclesOf(t, addr, n, static_cast<int>(a.bytes));
  }
  cost.cycles = cost.sram_cycles = b.cycles;
  cost.conflict_cycles = b.cycles - b.ideal;
  return cost;
}

// What an instruction costs beyond the bank cycles of its SRAM accesses; *floor: the cycles a row of an SRAM
// access takes at least (1; the tile cycles of a row for MACs).
inline InstrCost Cycles(uint64_t n) {
  InstrCost cost;
  cost.cycles = n;
  return cost;
}
inline InstrCost Dma(const CostTable& t, uint32_t rows, uint32_t row_bytes) {
  InstrCost cost;
  cost.dram_bytes = uint64_t{rows} * row_bytes;
  cost.cycles = t.DmaCycles(cost.dram_bytes);
  return cost;
}
inline InstrCost OwnCost(const DmaIn& i, const CostTable& t, uint64_t*) { return Dma(t, i.rows, i.row_bytes); }
inline InstrCost OwnCost(const DmaOut& i, const CostTable& t, uint64_t*) { return Dma(t, i.rows, i.row_bytes); }
inline InstrCost OwnCost(const VLoad&, const CostTable&, uint64_t*) { return {}; }
inline InstrCost OwnCost(const VStore&, const CostTable&, uint64_t*) { return {}; }
inline InstrCost OwnCost(const TileLoad&, const CostTable&, uint64_t*) { return {}; }
inline InstrCost OwnCost(const AccZero& i, const CostTable&, uint64_t*) { return Cycles(i.rows); }
inline InstrCost OwnCost(const AccLoad&, const CostTable&, uint64_t*) { return {}; }
inline InstrCost OwnCost(const AccStore&, const CostTable&, uint64_t*) { return {}; }
inline InstrCost OwnCost(const TileMac& i, const CostTable& t, uint64_t* floor) {
  const uint64_t per_row = t.TileCyclesPerPass(i.mode) * i.tiles;
  *floor = per_row;  // the array stalls when a row's activations take longer than its MACs
  InstrCost cost;
  cost.tile_cycles = per_row * i.rows;
  cost.macs = uint64_t{i.rows} * i.tiles * kLanes * kLanes;
  return cost;
}
inline InstrCost OwnCost(const ElemMac& i, const CostTable& t, uint64_t* floor) {
  const uint64_t per_row = t.TileCyclesPerPass(i.mode);
  *floor = per_row;
  InstrCost cost;
  cost.tile_cycles = per_row * i.rows;
  cost.macs = uint64_t{i.rows} * kLanes;
  return cost;
}
inline InstrCost OwnCost(const SetQuant&, const CostTable&, uint64_t*) { return Cycles(4); }
inline InstrCost OwnCost(const Requant&, const CostTable&, uint64_t*) { return {}; }
inline InstrCost OwnCost(const VAlu&, const CostTable&, uint64_t*) { return Cycles(1); }
inline InstrCost OwnCost(const VPerm& i, const CostTable&, uint64_t*) {
  InstrCost cost;
  cost.cycles = cost.mux_passes = MuxPasses(i.route.data());
  return cost;
}
inline InstrCost OwnCost(const VFromAcc&, const CostTable&, uint64_t*) { return Cycles(1); }
inline InstrCost OwnCost(const VToAcc&, const CostTable&, uint64_t*) { return Cycles(1); }
inline InstrCost OwnCost(const AccAlu& i, const CostTable&, uint64_t*) {
  return Cycles(i.rows);  // the vector unit reads, computes and writes one ACC row per cycle
}
inline InstrCost OwnCost(const RowPerm& i, const CostTable&, uint64_t*) {
  InstrCost cost;
  cost.cycles = cost.mux_passes = uint64_t{i.rows} * MuxPasses(i.route.data());
  return cost;
}

}  // namespace cost_internal

// CostOf for an instruction of kind T: its own cost plus, except for DMA (whose SRAM side streams at the
// DMA's rate), the bank cycles of every SRAM access of its footprint.
template <typename T>
InstrCost CostOfKind(const T& instr, const Footprint& fp, const CostTable& table) {
  uint64_t floor = 1;
  InstrCost cost = cost_internal::OwnCost(instr, table, &floor);
  if (fp.unit == Unit::kDma) return cost;
  // The count and each access read into locals before any call: the compiler then keeps what it knows of a
  // footprint just filled in (one gathered access for a VLD) instead of reloading it after RowsCost.
  const int count = fp.sram_count;
  for (int a = 0; a < count; ++a) {
    const SramAccess access = fp.sram[a];
    const InstrCost s = cost_internal::SramCost(table, access, floor);
    cost.cycles += s.cycles;
    cost.sram_cycles += s.sram_cycles;
    cost.conflict_cycles += s.conflict_cycles;
  }
  return cost;
}

}  // namespace tile32

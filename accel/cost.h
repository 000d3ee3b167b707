// The cycle cost of each instruction (docs/isa.md §8), computed from the instruction and the AccelConfig
// alone. Every machine accumulates these counters; the performance model builds on them.
#pragma once

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

}  // namespace tile32

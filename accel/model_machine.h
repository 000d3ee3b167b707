// The third machine: runs the same kernels as the scalar and SIMD machines without computing any data (as
// VTA's simulator skips execution) and times them by the rule of docs/isa.md §8.3. Instructions issue in
// order; each starts when its unit is free and every earlier instruction whose footprint conflicts with its
// own has finished, then takes its §8.1 cycles (a TMAC or EMAC 1/tile_units of them: its rows are split
// over the tile arrays); units overlap otherwise. It validates every instruction and
// keeps the same counters as the other machines (Machine), so counts agree with and without data.
#pragma once

#include <cstdint>
#include <deque>

#include "accel/footprint.h"
#include "accel/machine.h"

namespace tile32 {

inline constexpr int kUnits = 4;  // Unit::kDma .. Unit::kRequant

struct UnitTime {
  uint64_t busy = 0;        // cycles the unit executes instructions
  uint64_t dep_stall = 0;   // cycles an instruction of the unit waited for an earlier one it depends on
  uint64_t instructions = 0;
};

struct ModelTiming {
  uint64_t cycles = 0;  // from the first issue to the last finish
  UnitTime unit[kUnits];
  // Cycles an instruction waited because a conflicting earlier instruction of the given unit had not
  // finished (the cause of dep_stall, by the unit waited for).
  uint64_t waited_on[kUnits] = {};
};

class ModelMachine : public Machine {
 public:
  explicit ModelMachine(const AccelConfig& config);
  const char* name() const override { return "model"; }

  const ModelTiming& timing() const { return timing_; }
  void ResetTiming();

 protected:
  void AfterInstruction(const Instr& instr, const Footprint& fp, const InstrCost& cost) override;
  // No data: every instruction only validates (Machine::Execute) and is timed.
  void Do(const DmaIn&) override {}
  void Do(const DmaOut&) override {}
  void Do(const VLoad&) override {}
  void Do(const VStore&) override {}
  void Do(const TileLoad&) override {}
  void Do(const AccZero&) override {}
  void Do(const AccLoad&) override {}
  void Do(const AccStore&) override {}
  void Do(const TileMac&) override {}
  void Do(const ElemMac&) override {}
  void Do(const Requant&) override {}
  void Do(const VAlu&) override {}
  void Do(const VPerm&) override {}
  void Do(const VFromAcc&) override {}
  void Do(const VToAcc&) override {}
  void Do(const AccAlu&) override {}
  void Do(const RowPerm&) override {}

 private:
  struct InFlight {
    Footprint fp;
    uint64_t finish;
  };
  ModelTiming timing_;
  uint64_t issue_ = 0;                // the earliest start of the next instruction (in-order issue)
  uint64_t unit_free_[kUnits] = {};   // when each unit is next free
  std::deque<InFlight> in_flight_;    // instructions that may still finish after a later one starts
};

// Whether two footprints conflict: one writes what the other reads or writes (SRAM bytes, ACC rows, a
// vector or tile register, the requant register, DRAM bytes of a segment). Strided accesses count as the
// whole span they cover.
bool Conflicts(const Footprint& a, const Footprint& b);

}  // namespace tile32

// The third machine: runs the same kernels as the scalar and SIMD machines without computing any data (as
// VTA's simulator skips execution) and times them by the rule of docs/isa.md §8.3. Instructions enter their
// unit's queue (kQueueDepth deep) in program order; each starts when its unit is free and every earlier
// instruction whose footprint conflicts with its own has finished, then takes its §8.1 cycles (a TMAC or EMAC
// 1/tile_units of them, an ACC-row instruction 1/vector_units, a REQ 1/requant_units: its rows are split over
// the units of its kind; a DMA holds the DMA engines only for its transfer, its latency overlapping the next
// DMA's); units overlap otherwise. It validates every instruction and keeps the same counters
// as the other machines (Machine), so counts agree with and without data.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "accel/footprint.h"
#include "accel/machine.h"

namespace tile32 {

inline constexpr int kUnits = 4;  // Unit::kDma .. Unit::kRequant
// Instructions each unit's queue holds (docs/isa.md §8.3).
inline constexpr size_t kQueueDepth = 16;

struct UnitTime {
  uint64_t busy = 0;        // cycles the unit executes instructions (a DMA: its transfer, not its latency)
  uint64_t dep_stall = 0;   // cycles an instruction of the unit waited for an earlier one it depends on
  uint64_t instructions = 0;
};

struct ModelTiming {
  uint64_t cycles = 0;  // from the first issue to the last finish
  UnitTime unit[kUnits];
  // Cycles an instruction waited because a conflicting earlier instruction of the given unit had not
  // finished (the cause of dep_stall, by the unit waited for).
  uint64_t waited_on[kUnits] = {};

  // The tile arrays' timeline from 0 to `cycles`, cut into parts that add up to it exactly:
  //   mac_busy + tile_load + sum of idle_on == cycles.
  uint64_t mac_busy = 0;   // TMAC and EMAC, from start to finish (array cycles and feed stalls)
  uint64_t mac_array = 0;  // of mac_busy, the array cycles (§8.1 tile cycles shared over the tile_units)
  uint64_t tile_load = 0;  // TLD
  // Cycles the arrays stood idle, by the unit whose instructions held up the next tile instruction (or the
  // end of the layer): found by following each start back to what determined it (in-order issue, the unit
  // being busy, or a dependency) until the arrays' last finish.
  uint64_t idle_on[kUnits] = {};
  // Bytes of DMAs whose DRAM side is a tensor kept on chip (ModelMachine::KeepOnChip): moved within SRAM,
  // never through DRAM (they are in InstrCost::dram_bytes, which counts what the instructions name).
  uint64_t on_chip_bytes = 0;
};

// What a footprint touches, as Conflicts compares footprints: each access's span worked out once.
struct Touches {
  struct Span {
    __int128 lo = 0, hi = 0;
    bool write = false;
  };
  Span sram[2], acc[3], dram;
  uint8_t sram_count = 0, acc_count = 0;
  bool dram_used = false;
  uint32_t dram_segment = 0;
  RegAccess regs;
};
Touches TouchesOf(const Footprint& f);

class ModelMachine : public Machine {
 public:
  explicit ModelMachine(const AccelConfig& config);
  const char* name() const override { return "model"; }

  // The timing so far; the arrays' idle cycles after their last instruction are attributed on each call.
  ModelTiming timing() const;
  void ResetTiming();

  // Host buffers that stand for tensors a plan keeps in SRAM between layers (their bytes reserved with
  // ReserveSram): a DMA to or from a DRAM segment inside one moves its bytes within SRAM, at the banks'
  // width per cycle (sram_banks * bank_bytes), with no DRAM latency and no DRAM traffic. Replaces the set.
  struct HostRange {
    const void* base;
    uint64_t bytes;
  };
  void KeepOnChip(std::vector<HostRange> ranges) { on_chip_ = std::move(ranges); }

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
  static constexpr uint32_t kNoCause = ~0u;
  // One executed instruction of the current layer: when it ran and which earlier one set its start.
  struct Record {
    uint64_t start, finish;
    uint32_t cause;  // index into records_, or kNoCause (started at 0)
    Unit unit;
  };
  // Whether a DMA's DRAM segment lies in a tensor kept on chip.
  bool OnChip(const Instr& instr) const;
  // Adds to idle_on the cycles in [from, to) by following the causes back from record `first`.
  void AttributeIdle(uint32_t first, uint64_t from, uint64_t to, uint64_t* idle_on) const;

  ModelTiming timing_;
  uint64_t entry_ = 0;                // when the next instruction can enter its unit's queue
  uint32_t entry_cause_ = kNoCause;   // the record whose start set entry_
  std::deque<uint32_t> queue_[kUnits];  // each unit's queue: records of its last kQueueDepth instructions
  uint64_t unit_free_[kUnits] = {};   // when each unit is next free
  uint32_t last_on_[kUnits] = {kNoCause, kNoCause, kNoCause, kNoCause};  // record of each unit's last instruction
  uint32_t last_finisher_ = kNoCause;  // the record that finishes last
  // Instructions that may still finish after a later one starts, oldest first, as arrays: most are passed over
  // by their finish alone. Those done by entry_ can hold up nothing (every later start is at entry_ or after)
  // and are dropped in batches, when the arrays reach prune_at_.
  static constexpr size_t kFirstPrune = 64;
  std::vector<uint64_t> flight_finish_;
  std::vector<uint32_t> flight_record_;
  std::vector<Touches> flight_touches_;
  size_t prune_at_ = kFirstPrune;
  std::vector<Record> records_;
  std::vector<HostRange> on_chip_;
};

// Whether two footprints conflict: one writes what the other reads or writes (SRAM bytes, ACC rows, a
// vector or tile register, the requant register, DRAM bytes of a segment). Strided accesses count as the
// whole span they cover.
bool Conflicts(const Footprint& a, const Footprint& b);
bool Conflicts(const Touches& a, const Touches& b);  // the same, on spans worked out once (TouchesOf)

}  // namespace tile32

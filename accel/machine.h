// The one interface through which kernels reach the accelerator. Kernels take a Machine& and issue
// instructions; they never see which machine runs them. Machine itself validates every instruction
// (docs/isa.md §7: a failed instruction throws tile32::Error and changes nothing) and counts its cost
// (accel/cost.h); derived machines only execute:
//   ScalarMachine  (accel/scalar_machine.h)  the spec as plain C++, the reference;
//   SimdMachine    (accel/simd_machine.h)    Highway, bit-identical to the reference, fast;
//   ModelMachine   (accel/model_machine.h)   computes nothing, times by footprint dependencies.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "accel/config.h"
#include "accel/cost.h"
#include "accel/footprint.h"
#include "accel/isa.h"

namespace tile32 {

// The bytes [lo, hi) that `count` items of `bytes` each at base + i * stride touch (exact for any int64
// inputs). Validation checks them against SRAM; the SIMD machine finds the tiles a write lands on.
struct ByteSpan {
  __int128 lo, hi;
};
inline ByteSpan SpanOf(int64_t base, int64_t stride, uint64_t count, uint64_t bytes) {
  const __int128 span = static_cast<__int128>(stride) * static_cast<__int128>(count - 1);
  return {base + (span < 0 ? span : 0), base + (span > 0 ? span : 0) + static_cast<__int128>(bytes)};
}

class Machine {
 public:
  explicit Machine(const AccelConfig& config);
  virtual ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  const AccelConfig& config() const { return config_; }
  virtual const char* name() const = 0;

  // The top `bytes` of SRAM hold data kept there across layers (a plan's tensors kept on chip): config()
  // then shows sram_bytes less them, so kernels plan within the rest and validation refuses the rest. 0
  // gives it all back. Throws tile32::Error when less than 1 KiB would be left.
  void ReserveSram(uint64_t bytes);
  uint64_t sram_reserved() const { return sram_total_ - config_.sram_bytes; }

  // DRAM is host memory, bound as numbered segments. A read-only segment cannot be written by DMA_OUT.
  // The caller keeps the buffer alive while bound. Rebinding a segment replaces it. `version`, if not 0,
  // promises that every buffer ever bound with that version holds the same bytes, unchanged (packed weights,
  // ImageBytes::version): a machine may then skip a DMA_IN whose bytes its SRAM still holds.
  void BindDram(uint32_t segment, void* base, uint64_t bytes);
  void BindDramReadOnly(uint32_t segment, const void* base, uint64_t bytes, uint64_t version = 0);
  void UnbindDram(uint32_t segment);
  bool dram_bound(uint32_t segment) const {
    return segment < segments_.size() && segments_[segment].base != nullptr;
  }

  // Validate, count, execute. Throws tile32::Error (machine unchanged) on a bad instruction.
  void Execute(const Instr& instr);
  void Run(const std::vector<Instr>& program) {
    for (const Instr& i : program) Execute(i);
  }

  const Counters& counters() const { return counters_; }
  void ResetCounters() { counters_ = Counters{}; }
  // Off by default: two clock reads per instruction, a third of a small GEMV's time.
  void set_host_timing(bool on) { host_timing_ = on; }

  // The sticky overflow flag (§6): set only when config().check_overflow.
  bool overflow() const { return overflow_; }
  void ClearOverflow() { overflow_ = false; }

  // Control state that validation needs: the requant register and each tile register's type
  // (kI8/kI16/kBF16, or kI32 for "never loaded").
  const QuantConfig& quant() const { return quant_; }
  DType tile_type(int t) const { return tile_types_[t]; }

 protected:
  struct Segment {
    uint8_t* base = nullptr;
    uint64_t bytes = 0;
    bool writable = false;
    uint64_t version = 0;  // BindDramReadOnly's promise, or 0
  };
  const Segment& segment(uint32_t id) const { return segments_[id]; }
  // The bytes of every bound segment together: what the program's DRAM traffic can touch.
  uint64_t dram_bound_bytes() const { return dram_bound_bytes_; }

  virtual void Do(const DmaIn&) = 0;
  virtual void Do(const DmaOut&) = 0;
  virtual void Do(const VLoad&) = 0;
  virtual void Do(const VStore&) = 0;
  virtual void Do(const TileLoad&) = 0;
  virtual void Do(const AccZero&) = 0;
  virtual void Do(const AccLoad&) = 0;
  virtual void Do(const AccStore&) = 0;
  virtual void Do(const TileMac&) = 0;
  virtual void Do(const ElemMac&) = 0;
  virtual void Do(const SetQuant&) {}  // quant_ is already set by Execute
  virtual void Do(const Requant&) = 0;
  virtual void Do(const VAlu&) = 0;
  virtual void Do(const VPerm&) = 0;
  virtual void Do(const VFromAcc&) = 0;
  virtual void Do(const VToAcc&) = 0;
  virtual void Do(const AccAlu&) = 0;
  virtual void Do(const RowPerm&) = 0;

  // Called at the start of Execute, before validation, for every instruction: a machine that defers work
  // (the SIMD machine batches EMACs on the same ACC rows) completes it here unless `next` can join it.
  virtual void BeforeInstruction(const Instr& /*next*/) {}
  // Called at the end of Execute for every instruction that ran, with its footprint and cost (the model
  // machine times it here).
  virtual void AfterInstruction(const Instr& /*instr*/, const Footprint& /*fp*/, const InstrCost& /*cost*/) {}
  // Host time spent on instructions of kind `index` outside their own Execute (deferred work).
  void AddHostSeconds(size_t index, double seconds) { counters_.host_seconds[index] += seconds; }

  // What the instruction being executed touches (set before its Do): where a machine's own state may alias
  // what the instruction writes (the SIMD machine's tiles read in place) it looks here.
  const Footprint& footprint() const { return footprint_; }

  bool overflow_ = false;
  bool host_timing_ = false;

 private:
  struct FieldChecks;  // accel/machine.cc
  // Execute for an instruction of kind T: one dispatch on the variant, then everything inline.
  template <typename T>
  void Step(const Instr& instr, const T& i);
  // The ranges of the footprint: SRAM bytes, ACC rows, the DRAM rows of a DMA. `op` names the instruction.
  void CheckRanges(const char* op, const Footprint& fp) const;

  AccelConfig config_;
  CostTable cost_table_;  // from config_; ReserveSram changes nothing it holds
  uint32_t sram_total_ = 0;  // config_.sram_bytes before any reservation
  std::vector<Segment> segments_;
  uint64_t dram_bound_bytes_ = 0;
  QuantConfig quant_;
  std::vector<DType> tile_types_;
  Counters counters_;
  Footprint footprint_;
};

// Largest number of DRAM segments a machine binds.
inline constexpr uint32_t kMaxDramSegments = 64;

}  // namespace tile32

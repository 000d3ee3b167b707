// The SIMD emulator: the scalar machine's state and semantics, with the hot instructions (TMAC, EMAC,
// REQ, ACC moves, VALU) executed by Highway vector code chosen at run time (dynamic dispatch). It must be
// bit-identical to ScalarMachine on every target; tests/bitexact proves it per target.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accel/scalar_machine.h"

namespace tile32 {

struct PreparedTile;

class SimdMachine : public ScalarMachine {
 public:
  explicit SimdMachine(const AccelConfig& config);
  ~SimdMachine() override;
  const char* name() const override { return "simd"; }

 protected:
  void Do(const TileLoad&) override;
  void Do(const TileMac&) override;
  void Do(const ElemMac&) override;
  void Do(const Requant&) override;
  void Do(const AccStore&) override;
  void Do(const VAlu&) override;

 private:
  // Tile registers re-laid out for the vector unit at TLD (derived state, never observable).
  std::vector<PreparedTile> prepared_;  // indexed by tile register, contiguous for TMAC chains
};

// Highway targets: compiled into this binary, supported by this CPU (and compiled), and the one dynamic
// dispatch picks now. Bits are HWY_* target bits; names are Highway's ("AVX3_DL", "AVX2", ...).
struct SimdTarget {
  int64_t bits = 0;
  std::string name;
};
struct SimdTargets {
  std::vector<SimdTarget> compiled;
  std::vector<SimdTarget> supported;
  SimdTarget dispatched;
};
SimdTargets ListSimdTargets();

// Restricts dynamic dispatch to `target` (one HWY_* bit) for every SimdMachine until called with 0.
// Used by tests and benchmarks to run each compiled target on one machine.
void ForceSimdTarget(int64_t target);

}  // namespace tile32

// The whole architectural state of a machine (docs/isa.md §1) as a value, and the first difference between
// two machines or two states, as text naming the location. Used to prove that a failed instruction changes
// nothing (§7) and that the SIMD machine matches the scalar one bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accel/cost.h"
#include "accel/isa.h"
#include "accel/scalar_machine.h"

namespace tile32::test {

struct MachineState {
  std::vector<uint8_t> sram;
  std::vector<ScalarMachine::Lanes> vregs;
  std::vector<ScalarMachine::Tile> tiles;
  std::vector<DType> tile_types;  // kI32 = never loaded
  std::vector<uint32_t> acc;      // acc_rows * 32 raw words
  bool overflow = false;
  Counters counters;
  QuantConfig quant;
};

MachineState Snapshot(const ScalarMachine& m);

// "" when equal; otherwise the first differing location and both values, e.g.
// "ACC[12][3]: 0x7fc00000 vs 0x7fc00001". Order: SRAM, V, T, tile types, ACC, overflow, Q, counters.
std::string FirstDifference(const MachineState& a, const MachineState& b);
// The same without copying (for a check after every instruction). Configs must be equal.
std::string FirstDifference(const ScalarMachine& a, const ScalarMachine& b);
// First differing byte of two buffers ("" when equal); `what` names the buffer in the message.
std::string FirstDifference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, const std::string& what);

}  // namespace tile32::test

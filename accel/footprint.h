// What one instruction touches, and which unit runs it (docs/isa.md §8.3): the single source from which
// validation checks ranges (accel/machine.cc), the SIMD machine finds the tile registers a write lands on,
// the cost model counts bank cycles (accel/cost.cc), and a timing model orders dependent instructions.
// It depends on the instruction alone (not on configuration or machine state).
#pragma once

#include <cstdint>

#include "accel/isa.h"

namespace tile32 {

// The units of docs/isa.md §8.3. Instructions of different units may overlap in time; instructions of one
// unit run one after the other.
enum class Unit : uint8_t {
  kDma,      // DMA_IN, DMA_OUT: the DMA engines between DRAM and SRAM
  kTile,     // TLD, TMAC, EMAC: the tile arrays (tile_units of them)
  kVector,   // VLD, VST, VALU, VPERM, VMOV, ACC_ZERO, ACC_LD, ACC_ST, AALU, RPERM: the vector unit and muxes
  kRequant,  // QCFG, REQ: the requantization unit
};
const char* NameOf(Unit u);

// `count` items of `bytes` bytes at base + i * stride of SRAM.
struct SramAccess {
  const char* field = "";  // the operand, as validation names it ("addr", "a_addr", "src", ...)
  int64_t base = 0, stride = 0;
  uint32_t count = 0, bytes = 0;
  bool write = false;
  // All items in one access (VLD/VST's 32 elements, TLD's image): their bank cycles are those of the set.
  // Otherwise each item (a row) is an access of its own, one after the other.
  bool gathered = false;
};

// ACC rows row + i * stride, i < count.
struct AccAccess {
  const char* field = nullptr;  // AALU's operand ("dst", "a", "b"); nullptr: the instruction's ACC rows
  int64_t row = 0, stride = 1;
  uint32_t count = 0;
  bool read = false, write = false;
};

// Registers: vector registers read (up to two) and written, tile registers [first, first + count).
struct RegAccess {
  int16_t v_read[2] = {-1, -1};
  int16_t v_write = -1;
  int16_t tile_first = -1;  // read by TMAC, written by TLD
  uint16_t tile_count = 0;
  bool tile_write = false;
  bool quant_read = false, quant_write = false;  // the requant register (QCFG writes, REQ reads)
};

// DRAM rows of a DMA: rows of row_bytes at offset + r * stride of a segment.
struct DramAccess {
  bool used = false, write = false;
  uint32_t segment = 0;
  uint64_t offset = 0, stride = 0;
  uint32_t rows = 0, row_bytes = 0;
};

struct Footprint {
  Unit unit = Unit::kVector;
  SramAccess sram[2];  // reads before writes, in the order validation checks them
  int sram_count = 0;
  AccAccess acc[3];
  int acc_count = 0;
  RegAccess regs;
  DramAccess dram;
};

Footprint FootprintOf(const Instr& instr);
// The same into *out (what the machines do for every instruction: no temporary to copy).
void FootprintOf(const Instr& instr, Footprint* out);

}  // namespace tile32

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

// One overload per instruction kind, read off docs/isa.md §3-6, inline: Machine::Execute fills the footprint
// of every instruction it runs, and for a VLD a call and a variant dispatch cost as much as the filling.
namespace footprint_internal {

struct Builder {
  Footprint& f;

  Builder& On(Unit u) {
    f.unit = u;
    f.sram_count = f.acc_count = 0;
    f.regs = RegAccess{};
    f.dram.used = false;
    return *this;
  }
  Builder& Sram(const char* field, int64_t base, int64_t stride, uint32_t count, uint32_t bytes, bool write,
                bool gathered = false) {
    SramAccess& a = f.sram[f.sram_count++];
    a.field = field, a.base = base, a.stride = stride, a.count = count, a.bytes = bytes, a.write = write;
    a.gathered = gathered;
    return *this;
  }
  Builder& Acc(const char* field, int64_t row, int64_t stride, uint32_t count, bool read, bool write) {
    AccAccess& a = f.acc[f.acc_count++];
    a.field = field, a.row = row, a.stride = stride, a.count = count, a.read = read, a.write = write;
    return *this;
  }
  Builder& Dram(uint32_t segment, uint64_t offset, uint64_t stride, uint32_t rows, uint32_t row_bytes, bool write) {
    f.dram = {true, write, segment, offset, stride, rows, row_bytes};
    return *this;
  }
  RegAccess& Regs() { return f.regs; }
};

}  // namespace footprint_internal

inline void FootprintOf(const DmaIn& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kDma).Dram(i.segment, i.dram, i.dram_stride, i.rows, i.row_bytes, false)
      .Sram("sram", i.sram, i.sram_stride, i.rows, i.row_bytes, true);
}
inline void FootprintOf(const DmaOut& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kDma).Dram(i.segment, i.dram, i.dram_stride, i.rows, i.row_bytes, true)
      .Sram("sram", i.sram, i.sram_stride, i.rows, i.row_bytes, false);
}
inline void FootprintOf(const VLoad& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kVector)
      .Sram("addr", i.addr, i.stride, kLanes, uint32_t(SizeOf(i.type)), false, true)
      .Regs().v_write = i.vd;
}
inline void FootprintOf(const VStore& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kVector)
      .Sram("addr", i.addr, i.stride, kLanes, uint32_t(SizeOf(i.type)), true, true)
      .Regs().v_read[0] = i.vs;
}
inline void FootprintOf(const TileLoad& i, Footprint* f) {
  RegAccess& r = footprint_internal::Builder{*f}.On(Unit::kTile)
                     .Sram("addr", i.addr, 0, 1, uint32_t{kLanes} * kLanes * SizeOf(i.type), false, true)
                     .Regs();
  r.tile_first = i.td, r.tile_count = 1, r.tile_write = true;
}
inline void FootprintOf(const AccZero& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kVector).Acc(nullptr, i.row, 1, i.rows, false, true);
}
inline void FootprintOf(const AccLoad& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kVector)
      .Sram("addr", i.addr, i.row_stride, i.rows, uint32_t{kLanes} * SizeOf(i.type), false)
      .Acc(nullptr, i.row, 1, i.rows, false, true);
}
inline void FootprintOf(const AccStore& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kVector)
      .Acc(nullptr, i.row, 1, i.rows, true, false)
      .Sram("addr", i.addr, i.row_stride, i.rows, uint32_t{kLanes} * SizeOf(i.type), true);
}
inline void FootprintOf(const TileMac& i, Footprint* f) {
  RegAccess& r =
      footprint_internal::Builder{*f}.On(Unit::kTile)
          .Sram("a_addr", i.a_addr, i.a_stride, i.rows, uint32_t{kLanes} * i.tiles * SizeOf(ActivationType(i.mode)), false)
          .Acc(nullptr, i.acc_row, 1, i.rows, true, true)
          .Regs();
  r.tile_first = i.tile, r.tile_count = i.tiles;
}
inline void FootprintOf(const ElemMac& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kTile)
      .Sram("a_addr", i.a_addr, i.a_stride, i.rows, uint32_t{kLanes} * SizeOf(ActivationType(i.mode)), false)
      .Acc(nullptr, i.acc_row, 1, i.rows, true, true)
      .Regs().v_read[0] = i.vw;
}
inline void FootprintOf(const SetQuant&, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kRequant).Regs().quant_write = true;
}
inline void FootprintOf(const Requant& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kRequant)
      .Acc(nullptr, i.acc_row, 1, i.rows, true, false)
      .Sram("addr", i.addr, i.row_stride, i.rows, uint32_t{kLanes} * SizeOf(i.out), true)
      .Regs().quant_read = true;
}
inline void FootprintOf(const VAlu& i, Footprint* f) {
  RegAccess& r = footprint_internal::Builder{*f}.On(Unit::kVector).Regs();
  r.v_read[0] = i.va, r.v_read[1] = i.vb, r.v_write = i.vd;
}
inline void FootprintOf(const VPerm& i, Footprint* f) {
  RegAccess& r = footprint_internal::Builder{*f}.On(Unit::kVector).Regs();
  r.v_read[0] = i.vs, r.v_write = i.vd;
}
inline void FootprintOf(const VFromAcc& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kVector).Acc(nullptr, i.row, 1, 1, true, false).Regs().v_write = i.vd;
}
inline void FootprintOf(const VToAcc& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kVector).Acc(nullptr, i.row, 1, 1, false, true).Regs().v_read[0] = i.vs;
}
inline void FootprintOf(const AccAlu& i, Footprint* f) {
  footprint_internal::Builder{*f}.On(Unit::kVector)
      .Acc("dst", i.dst, i.dst_stride, i.rows, false, true)
      .Acc("a", i.a, i.a_stride, i.rows, true, false)
      .Acc("b", i.b, i.b_stride, i.rows, true, false);
}
inline void FootprintOf(const RowPerm& i, Footprint* f) {
  const uint32_t bytes = uint32_t{kLanes} * SizeOf(i.type);
  footprint_internal::Builder{*f}.On(Unit::kVector)
      .Sram("src", i.src, i.src_stride, i.rows, bytes, false)
      .Sram("dst", i.dst, i.dst_stride, i.rows, bytes, true);
}

}  // namespace tile32

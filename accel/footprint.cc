// accel/footprint.h: one function per instruction, read off docs/isa.md §3-6.
#include "accel/footprint.h"

#include <variant>

namespace tile32 {
namespace {

struct Builder {
  Footprint f;

  Builder& On(Unit u) {
    f.unit = u;
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
};

struct Visitor {
  Footprint operator()(const DmaIn& i) const {
    return Builder()
        .On(Unit::kDma)
        .Dram(i.segment, i.dram, i.dram_stride, i.rows, i.row_bytes, false)
        .Sram("sram", i.sram, i.sram_stride, i.rows, i.row_bytes, true)
        .f;
  }
  Footprint operator()(const DmaOut& i) const {
    return Builder()
        .On(Unit::kDma)
        .Dram(i.segment, i.dram, i.dram_stride, i.rows, i.row_bytes, true)
        .Sram("sram", i.sram, i.sram_stride, i.rows, i.row_bytes, false)
        .f;
  }
  Footprint operator()(const VLoad& i) const {
    Builder b;
    b.On(Unit::kVector).Sram("addr", i.addr, i.stride, kLanes, static_cast<uint32_t>(SizeOf(i.type)), false, true);
    b.f.regs.v_write = i.vd;
    return b.f;
  }
  Footprint operator()(const VStore& i) const {
    Builder b;
    b.On(Unit::kVector).Sram("addr", i.addr, i.stride, kLanes, static_cast<uint32_t>(SizeOf(i.type)), true, true);
    b.f.regs.v_read[0] = i.vs;
    return b.f;
  }
  Footprint operator()(const TileLoad& i) const {
    Builder b;
    b.On(Unit::kTile).Sram("addr", i.addr, 0, 1, uint32_t{kLanes} * kLanes * SizeOf(i.type), false, true);
    b.f.regs.tile_first = i.td, b.f.regs.tile_count = 1, b.f.regs.tile_write = true;
    return b.f;
  }
  Footprint operator()(const AccZero& i) const { return Builder().On(Unit::kVector).Acc(nullptr, i.row, 1, i.rows, false, true).f; }
  Footprint operator()(const AccLoad& i) const {
    return Builder()
        .On(Unit::kVector)
        .Sram("addr", i.addr, i.row_stride, i.rows, uint32_t{kLanes} * SizeOf(i.type), false)
        .Acc(nullptr, i.row, 1, i.rows, false, true)
        .f;
  }
  Footprint operator()(const AccStore& i) const {
    return Builder()
        .On(Unit::kVector)
        .Acc(nullptr, i.row, 1, i.rows, true, false)
        .Sram("addr", i.addr, i.row_stride, i.rows, uint32_t{kLanes} * SizeOf(i.type), true)
        .f;
  }
  Footprint operator()(const TileMac& i) const {
    Builder b;
    b.On(Unit::kTile)
        .Sram("a_addr", i.a_addr, i.a_stride, i.rows, uint32_t{kLanes} * i.tiles * SizeOf(ActivationType(i.mode)), false)
        .Acc(nullptr, i.acc_row, 1, i.rows, true, true);
    b.f.regs.tile_first = i.tile, b.f.regs.tile_count = i.tiles;
    return b.f;
  }
  Footprint operator()(const ElemMac& i) const {
    Builder b;
    b.On(Unit::kTile)
        .Sram("a_addr", i.a_addr, i.a_stride, i.rows, uint32_t{kLanes} * SizeOf(ActivationType(i.mode)), false)
        .Acc(nullptr, i.acc_row, 1, i.rows, true, true);
    b.f.regs.v_read[0] = i.vw;
    return b.f;
  }
  Footprint operator()(const SetQuant&) const {
    Builder b;
    b.On(Unit::kRequant).f.regs.quant_write = true;
    return b.f;
  }
  Footprint operator()(const Requant& i) const {
    Builder b;
    b.On(Unit::kRequant)
        .Acc(nullptr, i.acc_row, 1, i.rows, true, false)
        .Sram("addr", i.addr, i.row_stride, i.rows, uint32_t{kLanes} * SizeOf(i.out), true);
    b.f.regs.quant_read = true;
    return b.f;
  }
  Footprint operator()(const VAlu& i) const {
    Builder b;
    b.On(Unit::kVector);
    b.f.regs.v_read[0] = i.va, b.f.regs.v_read[1] = i.vb, b.f.regs.v_write = i.vd;
    return b.f;
  }
  Footprint operator()(const VPerm& i) const {
    Builder b;
    b.On(Unit::kVector);
    b.f.regs.v_read[0] = i.vs, b.f.regs.v_write = i.vd;
    return b.f;
  }
  Footprint operator()(const VFromAcc& i) const {
    Builder b;
    b.On(Unit::kVector).Acc(nullptr, i.row, 1, 1, true, false);
    b.f.regs.v_write = i.vd;
    return b.f;
  }
  Footprint operator()(const VToAcc& i) const {
    Builder b;
    b.On(Unit::kVector).Acc(nullptr, i.row, 1, 1, false, true);
    b.f.regs.v_read[0] = i.vs;
    return b.f;
  }
  Footprint operator()(const AccAlu& i) const {
    return Builder()
        .On(Unit::kVector)
        .Acc("dst", i.dst, i.dst_stride, i.rows, false, true)
        .Acc("a", i.a, i.a_stride, i.rows, true, false)
        .Acc("b", i.b, i.b_stride, i.rows, true, false)
        .f;
  }
  Footprint operator()(const RowPerm& i) const {
    const uint32_t bytes = uint32_t{kLanes} * SizeOf(i.type);
    return Builder()
        .On(Unit::kVector)
        .Sram("src", i.src, i.src_stride, i.rows, bytes, false)
        .Sram("dst", i.dst, i.dst_stride, i.rows, bytes, true)
        .f;
  }
};

}  // namespace

const char* NameOf(Unit u) {
  switch (u) {
    case Unit::kDma: return "DMA";
    case Unit::kTile: return "tile";
    case Unit::kVector: return "vector";
    case Unit::kRequant: return "requant";
  }
  return "invalid";
}

Footprint FootprintOf(const Instr& instr) { return std::visit(Visitor{}, instr); }

}  // namespace tile32

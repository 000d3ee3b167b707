// accel/footprint.h: one function per instruction, read off docs/isa.md §3-6.
#include "accel/footprint.h"

#include <variant>

namespace tile32 {
namespace {

// Fills a Footprint in place (the machines do this for every instruction: no temporary, no copy).
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

struct Visitor {
  Footprint& f;

  void operator()(const DmaIn& i) const {
    Builder{f}.On(Unit::kDma).Dram(i.segment, i.dram, i.dram_stride, i.rows, i.row_bytes, false)
        .Sram("sram", i.sram, i.sram_stride, i.rows, i.row_bytes, true);
  }
  void operator()(const DmaOut& i) const {
    Builder{f}.On(Unit::kDma).Dram(i.segment, i.dram, i.dram_stride, i.rows, i.row_bytes, true)
        .Sram("sram", i.sram, i.sram_stride, i.rows, i.row_bytes, false);
  }
  void operator()(const VLoad& i) const {
    Builder{f}.On(Unit::kVector).Sram("addr", i.addr, i.stride, kLanes, uint32_t(SizeOf(i.type)), false, true)
        .Regs().v_write = i.vd;
  }
  void operator()(const VStore& i) const {
    Builder{f}.On(Unit::kVector).Sram("addr", i.addr, i.stride, kLanes, uint32_t(SizeOf(i.type)), true, true)
        .Regs().v_read[0] = i.vs;
  }
  void operator()(const TileLoad& i) const {
    RegAccess& r = Builder{f}.On(Unit::kTile)
                       .Sram("addr", i.addr, 0, 1, uint32_t{kLanes} * kLanes * SizeOf(i.type), false, true)
                       .Regs();
    r.tile_first = i.td, r.tile_count = 1, r.tile_write = true;
  }
  void operator()(const AccZero& i) const { Builder{f}.On(Unit::kVector).Acc(nullptr, i.row, 1, i.rows, false, true); }
  void operator()(const AccLoad& i) const {
    Builder{f}.On(Unit::kVector)
        .Sram("addr", i.addr, i.row_stride, i.rows, uint32_t{kLanes} * SizeOf(i.type), false)
        .Acc(nullptr, i.row, 1, i.rows, false, true);
  }
  void operator()(const AccStore& i) const {
    Builder{f}.On(Unit::kVector)
        .Acc(nullptr, i.row, 1, i.rows, true, false)
        .Sram("addr", i.addr, i.row_stride, i.rows, uint32_t{kLanes} * SizeOf(i.type), true);
  }
  void operator()(const TileMac& i) const {
    RegAccess& r =
        Builder{f}.On(Unit::kTile)
            .Sram("a_addr", i.a_addr, i.a_stride, i.rows, uint32_t{kLanes} * i.tiles * SizeOf(ActivationType(i.mode)), false)
            .Acc(nullptr, i.acc_row, 1, i.rows, true, true)
            .Regs();
    r.tile_first = i.tile, r.tile_count = i.tiles;
  }
  void operator()(const ElemMac& i) const {
    Builder{f}.On(Unit::kTile)
        .Sram("a_addr", i.a_addr, i.a_stride, i.rows, uint32_t{kLanes} * SizeOf(ActivationType(i.mode)), false)
        .Acc(nullptr, i.acc_row, 1, i.rows, true, true)
        .Regs().v_read[0] = i.vw;
  }
  void operator()(const SetQuant&) const { Builder{f}.On(Unit::kRequant).Regs().quant_write = true; }
  void operator()(const Requant& i) const {
    Builder{f}.On(Unit::kRequant)
        .Acc(nullptr, i.acc_row, 1, i.rows, true, false)
        .Sram("addr", i.addr, i.row_stride, i.rows, uint32_t{kLanes} * SizeOf(i.out), true)
        .Regs().quant_read = true;
  }
  void operator()(const VAlu& i) const {
    RegAccess& r = Builder{f}.On(Unit::kVector).Regs();
    r.v_read[0] = i.va, r.v_read[1] = i.vb, r.v_write = i.vd;
  }
  void operator()(const VPerm& i) const {
    RegAccess& r = Builder{f}.On(Unit::kVector).Regs();
    r.v_read[0] = i.vs, r.v_write = i.vd;
  }
  void operator()(const VFromAcc& i) const {
    Builder{f}.On(Unit::kVector).Acc(nullptr, i.row, 1, 1, true, false).Regs().v_write = i.vd;
  }
  void operator()(const VToAcc& i) const {
    Builder{f}.On(Unit::kVector).Acc(nullptr, i.row, 1, 1, false, true).Regs().v_read[0] = i.vs;
  }
  void operator()(const AccAlu& i) const {
    Builder{f}.On(Unit::kVector)
        .Acc("dst", i.dst, i.dst_stride, i.rows, false, true)
        .Acc("a", i.a, i.a_stride, i.rows, true, false)
        .Acc("b", i.b, i.b_stride, i.rows, true, false);
  }
  void operator()(const RowPerm& i) const {
    const uint32_t bytes = uint32_t{kLanes} * SizeOf(i.type);
    Builder{f}.On(Unit::kVector)
        .Sram("src", i.src, i.src_stride, i.rows, bytes, false)
        .Sram("dst", i.dst, i.dst_stride, i.rows, bytes, true);
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

void FootprintOf(const Instr& instr, Footprint* out) { std::visit(Visitor{*out}, instr); }

Footprint FootprintOf(const Instr& instr) {
  Footprint f;
  FootprintOf(instr, &f);
  return f;
}

}  // namespace tile32

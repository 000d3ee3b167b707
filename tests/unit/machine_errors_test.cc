// The machines against docs/isa.md, error paths: every error of §7 (tile32::Error naming the instruction
// and the field, nothing changed), unbound DMA segments and invalid configurations. Each test runs on the
// scalar machine and on the SIMD machine forced to every Highway target this CPU supports (the suite is
// instantiated in machine_semantics_test.cc; shared fixtures in tests/common/machine_test_util.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "accel/error.h"
#include "accel/numeric.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "tests/common/machine_state.h"
#include "tests/common/machine_test_util.h"
#include "tests/common/random_program.h"
#include "tests/common/targets.h"

namespace tile32::test::machine_test {
namespace {

// ---------------------------------------------------------------------------------------------------
// §7 errors

struct ErrorCase {
  std::string name;
  std::function<void(ScalarMachine&)> setup;  // optional, runs before the snapshot
  Instr instr;
  std::vector<std::string> words;  // each must appear in what()
};

std::vector<ErrorCase> ErrorCases(const AccelConfig& c) {
  const uint32_t sram = c.sram_bytes;
  std::vector<ErrorCase> v;
  auto add = [&](const std::string& name, const Instr& i, std::vector<std::string> words,
                 std::function<void(ScalarMachine&)> setup = nullptr) { v.push_back({name, setup, i, words}); };
  auto quant = [](int32_t zp, int32_t qmin, int32_t qmax) {
    return [=](ScalarMachine& m) {
      QuantConfig q;
      q.multiplier.fill(1 << 30);
      q.zero_point = zp, q.qmin = qmin, q.qmax = qmax;
      m.Execute(SetQuant{q});
    };
  };
  {
    VLoad i;
    i.type = DType::kI32, i.addr = sram - 3, i.stride = 0;
    add("VLD past the end", i, {"VLD", "addr"});
    i.addr = 10, i.stride = -1, i.type = DType::kI8;
    add("VLD below 0", i, {"VLD", "addr"});
    i.addr = 0xFFFFFFF0u, i.stride = 1;
    add("VLD 32-bit wrap", i, {"VLD", "addr"});
    i.addr = 0, i.stride = 0x7FFFFFFF;
    add("VLD huge stride", i, {"VLD", "addr"});
    i.addr = sram - 64, i.stride = 0x7FFFFFFF / 31 * 2;  // wraps to a small number in 32 bits
    add("VLD stride wrapping 32 bits", i, {"VLD", "addr"});
    i = VLoad{};
    i.vd = static_cast<uint8_t>(c.vector_regs);
    add("VLD vd", i, {"VLD", "vd", std::to_string(c.vector_regs)});
    i.vd = 0, i.type = static_cast<DType>(6);
    add("VLD type", i, {"VLD", "type"});
  }
  {
    VStore i;
    i.vs = static_cast<uint8_t>(c.vector_regs + 3);
    add("VST vs", i, {"VST", "vs"});
    i.vs = 0, i.type = DType::kBF16, i.addr = sram - 62, i.stride = 2;
    add("VST addr", i, {"VST", "addr"});
    i.type = DType::kI32, i.addr = 100, i.stride = -4;
    add("VST below 0", i, {"VST", "addr"});
  }
  {
    TileLoad i;
    i.td = static_cast<uint8_t>(c.tile_regs);
    add("TLD td", i, {"TLD", "td"});
    i.td = 0;
    for (DType t : {DType::kU8, DType::kI32, DType::kF32}) {
      i.type = t;
      add(std::string("TLD type ") + NameOf(t), i, {"TLD", "type", NameOf(t)});
    }
    i.type = DType::kI16, i.addr = sram - 2047;
    add("TLD addr", i, {"TLD", "addr"});
  }
  {
    AccZero i;
    i.rows = 0;
    add("ACC_ZERO rows 0", i, {"ACC_ZERO", "rows"});
    i.row = c.acc_rows - 2, i.rows = 3;
    add("ACC_ZERO rows past the end", i, {"ACC_ZERO", "ACC rows"});
    i.row = 0xFFFFFFFFu, i.rows = 2;
    add("ACC_ZERO row wraps", i, {"ACC_ZERO", "ACC rows"});
  }
  {
    AccLoad i;
    i.rows = 2, i.addr = sram - 200;
    add("ACC_LD addr", i, {"ACC_LD", "addr"});
    i.addr = 0, i.row = c.acc_rows;
    add("ACC_LD row", i, {"ACC_LD", "ACC rows"});
    i.row = 0, i.rows = 0;
    add("ACC_LD rows 0", i, {"ACC_LD", "rows"});
  }
  {
    AccStore i;
    for (DType t : {DType::kI8, DType::kU8, DType::kI16}) {
      i.type = t;
      add(std::string("ACC_ST type ") + NameOf(t), i, {"ACC_ST", "type", NameOf(t)});
    }
    i.type = DType::kI32, i.rows = 3, i.row_stride = -128, i.addr = 200;
    add("ACC_ST addr", i, {"ACC_ST", "addr"});
  }
  {
    TileMac i;  // tiles T0 (i8), T1 (i16), T2 (bf16) are loaded by the setup of every case; T3.. never
    i.mode = MacMode::kS8S8, i.tiles = 0;
    add("TMAC tiles 0", i, {"TMAC", "tiles"});
    i.tile = static_cast<uint8_t>(c.tile_regs - 1), i.tiles = 2;
    add("TMAC tiles past the end", i, {"TMAC", "tiles", std::to_string(c.tile_regs)});
    i.tile = 3, i.tiles = 1;
    add("TMAC never loaded", i, {"TMAC", "T3", "never loaded"});
    i.tile = 0, i.tiles = 2;
    add("TMAC chain into a tile of another type", i, {"TMAC", "T1", "i16"});
    i.tile = 0, i.tiles = 1, i.mode = MacMode::kS16S16;
    add("TMAC type mismatch", i, {"TMAC", "T0", "i8"});
    i.mode = MacMode::kBF16, i.tile = 1;
    add("TMAC bf16 on i16", i, {"TMAC", "T1", "bf16"});
    i.mode = static_cast<MacMode>(4), i.tile = 0;
    add("TMAC mode", i, {"TMAC", "mode"});
    i.mode = MacMode::kS8S8, i.a_addr = sram - 31;
    add("TMAC a_addr", i, {"TMAC", "a_addr"});
    i.a_addr = 0, i.rows = 4, i.a_stride = -32;
    add("TMAC a_addr below 0", i, {"TMAC", "a_addr"});
    i.rows = 0, i.a_stride = 32;
    add("TMAC rows 0", i, {"TMAC", "rows"});
    i.rows = 2, i.acc_row = c.acc_rows - 1;
    add("TMAC acc rows", i, {"TMAC", "ACC rows"});
  }
  {
    ElemMac i;
    i.vw = static_cast<uint8_t>(c.vector_regs);
    add("EMAC vw", i, {"EMAC", "vw"});
    i.vw = 0, i.mode = MacMode::kS16S16, i.a_addr = sram - 63;
    add("EMAC a_addr", i, {"EMAC", "a_addr"});
    i.a_addr = 0, i.mode = static_cast<MacMode>(9);
    add("EMAC mode", i, {"EMAC", "mode"});
    i.mode = MacMode::kBF16, i.rows = 0;
    add("EMAC rows 0", i, {"EMAC", "rows"});
  }
  {
    QuantConfig q;
    q.multiplier.fill(1 << 30);
    QuantConfig b = q;
    b.multiplier[17] = -1;
    add("QCFG multiplier", SetQuant{b}, {"QCFG", "multiplier[17]", "-1"});
    b = q, b.shift[3] = 8;
    add("QCFG shift 8", SetQuant{b}, {"QCFG", "shift[3]", "8"});
    b = q, b.shift[0] = -32, b.mode = RequantMode::kTflSingle;
    add("QCFG shift -32", SetQuant{b}, {"QCFG", "shift[0]"});
    b = q, b.qmin = 5, b.qmax = 4;
    add("QCFG qmin > qmax", SetQuant{b}, {"QCFG", "qmin", "qmax"});
    b = q, b.mode = static_cast<RequantMode>(4);
    add("QCFG mode", SetQuant{b}, {"QCFG", "mode"});
    QuantConfig f;
    f.mode = RequantMode::kFloatRne;
    f.scale.fill(0.5f);
    for (float bad : {0.0f, -0.0f, -1.0f, std::numeric_limits<float>::infinity(),
                      std::numeric_limits<float>::quiet_NaN()}) {
      b = f, b.scale[31] = bad;
      add("QCFG scale " + std::to_string(bad), SetQuant{b}, {"QCFG", "scale[31]"});
    }
    b = f, b.mode = RequantMode::kFloatZpFirst;  // scale 0 in all lanes is the reset value: invalid
    b.scale.fill(0.0f);
    add("QCFG zero scales", SetQuant{b}, {"QCFG", "scale[0]"});
  }
  {
    Requant i;
    i.out = DType::kBF16;
    add("REQ type bf16", i, {"REQ", "type"});
    i.out = DType::kI32;
    add("REQ type i32", i, {"REQ", "type"});
    i.out = DType::kI8;
    add("REQ zero_point outside i8", i, {"REQ", "zero_point", "200"}, quant(200, 0, 255));
    i.out = DType::kU8;
    add("REQ qmin outside u8", i, {"REQ", "qmin", "-1"}, quant(0, -1, 255));
    add("REQ qmax outside u8", i, {"REQ", "qmax", "300"}, quant(0, 0, 300));
    i.out = DType::kI16;
    add("REQ zero_point outside i16", i, {"REQ", "zero_point"}, quant(40000, 0, 1));
    i.out = DType::kI8, i.addr = sram - 31;
    add("REQ addr", i, {"REQ", "addr"});
    i.addr = 0, i.rows = 0;
    add("REQ rows 0", i, {"REQ", "rows"});
  }
  {
    VAlu i;
    i.op = AluOp::kSra, i.imm = 32;
    add("VALU sra imm 32", i, {"VALU", "imm", "32"});
    i.op = AluOp::kSll, i.imm = -1;
    add("VALU sll imm -1", i, {"VALU", "imm", "-1"});
    i.op = static_cast<AluOp>(8), i.imm = 0;
    add("VALU op", i, {"VALU", "op"});
    i.op = AluOp::kAdd;
    i.vd = static_cast<uint8_t>(c.vector_regs);
    add("VALU vd", i, {"VALU", "vd"});
    i.vd = 0, i.va = 255;
    add("VALU va", i, {"VALU", "va"});
    i.va = 0, i.vb = static_cast<uint8_t>(c.vector_regs);
    add("VALU vb", i, {"VALU", "vb"});
    i.op = AluOp::kMovi, i.vb = 0, i.vd = static_cast<uint8_t>(c.vector_regs);
    add("VALU movi vd", i, {"VALU", "vd"});
  }
  {
    VPerm i;
    i.route = IdentityRoute();
    i.route[5] = 32;
    add("VPERM route 32", i, {"VPERM", "route[5]", "32"});
    i.route[5] = -2;
    add("VPERM route -2", i, {"VPERM", "route[5]", "-2"});
    i.route = IdentityRoute();
    i.vd = static_cast<uint8_t>(c.vector_regs);
    add("VPERM vd", i, {"VPERM", "vd"});
    i.vd = 0, i.vs = static_cast<uint8_t>(c.vector_regs);
    add("VPERM vs", i, {"VPERM", "vs"});
  }
  {
    VFromAcc f;
    f.row = c.acc_rows;
    add("VMOV.FROMACC row", f, {"VMOV.FROMACC", "row"});
    f.row = 0, f.vd = static_cast<uint8_t>(c.vector_regs);
    add("VMOV.FROMACC vd", f, {"VMOV.FROMACC", "vd"});
    VToAcc t;
    t.row = c.acc_rows + 100;
    add("VMOV.TOACC row", t, {"VMOV.TOACC", "row"});
    t.row = 0, t.vs = static_cast<uint8_t>(c.vector_regs);
    add("VMOV.TOACC vs", t, {"VMOV.TOACC", "vs"});
  }
  {
    DmaIn i;  // segment 0: 4096 bytes writable; segment 1: 1024 bytes read-only (see the test)
    i.row_bytes = 16;
    i.rows = 0;
    add("DMA_IN rows 0", i, {"DMA_IN", "rows"});
    i.rows = 1, i.row_bytes = 0;
    add("DMA_IN row_bytes 0", i, {"DMA_IN", "row_bytes"});
    i.row_bytes = 16, i.segment = 64;
    add("DMA_IN segment 64", i, {"DMA_IN", "segment", "64"});
    i.segment = 5;
    add("DMA_IN unbound segment", i, {"DMA_IN", "segment 5", "not bound"});
    i.segment = 1, i.dram = 1020;
    add("DMA_IN past the segment", i, {"DMA_IN", "DRAM", "segment 1"});
    i.dram = 0, i.rows = 3, i.dram_stride = 512;
    add("DMA_IN rows past the segment", i, {"DMA_IN", "DRAM"});
    i.rows = 1, i.dram = ~uint64_t{0} - 4;
    add("DMA_IN 64-bit DRAM wrap", i, {"DMA_IN", "DRAM"});
    i.dram = 0, i.dram_stride = ~uint64_t{0}, i.rows = 2;
    add("DMA_IN DRAM stride wrap", i, {"DMA_IN", "DRAM"});
    i.dram_stride = 0, i.rows = 1, i.sram = sram - 8;
    add("DMA_IN sram", i, {"DMA_IN", "sram"});
    i.sram = 0, i.rows = 2, i.sram_stride = sram;
    add("DMA_IN sram stride", i, {"DMA_IN", "sram"});
    DmaOut o;
    o.row_bytes = 8, o.segment = 1;
    add("DMA_OUT read-only", o, {"DMA_OUT", "read-only"});
    o.segment = 0, o.sram = sram - 4;
    add("DMA_OUT sram", o, {"DMA_OUT", "sram"});
    o.sram = 0, o.dram = 4090;
    add("DMA_OUT past the segment", o, {"DMA_OUT", "DRAM", "segment 0"});
    o.dram = 0, o.segment = 2;
    add("DMA_OUT unbound", o, {"DMA_OUT", "not bound"});
  }
  return v;
}

// A machine in a busy state: random SRAM, three tiles of the three types, vector registers, ACC rows,
// a requant configuration, the overflow flag set and nonzero counters.
void MakeBusy(ScalarMachine& m) {
  std::mt19937_64 rng(99);
  FillMixed(rng, m.sram().data(), m.sram().size());
  TileLoad t;
  t.td = 0, t.type = DType::kI8, t.addr = 0;
  m.Execute(t);
  t.td = 1, t.type = DType::kI16, t.addr = 4096;
  m.Execute(t);
  t.td = 2, t.type = DType::kBF16, t.addr = 8192;
  m.Execute(t);
  for (uint8_t v = 0; v < 8; ++v) {
    VLoad ld;
    ld.vd = v, ld.type = DType::kI32, ld.addr = 1000u + 128u * v, ld.stride = 4;
    m.Execute(ld);
  }
  AccLoad al;
  al.rows = 32, al.addr = 16384;
  m.Execute(al);
  QuantConfig q;
  q.mode = RequantMode::kTflSingle;
  for (int j = 0; j < kLanes; ++j) q.multiplier[j] = 1000000 * j, q.shift[j] = -j;
  q.zero_point = 3;
  m.Execute(SetQuant{q});
  VAlu add;
  add.op = AluOp::kMovi, add.vd = 7, add.imm = 0x7FFFFFFF;
  m.Execute(add);
  add.op = AluOp::kAdd, add.vd = 6, add.va = 7, add.vb = 7;  // overflows: sets the flag if checking
  m.Execute(add);
}

TEST_P(MachineTest, EveryErrorNamesTheFieldAndChangesNothing) {
  for (bool check : {false, true}) {
    const AccelConfig c = SmallConfig(check);
    for (const ErrorCase& e : ErrorCases(c)) {
      SCOPED_TRACE(e.name + (check ? " (check_overflow on)" : ""));
      std::unique_ptr<ScalarMachine> m = Make(c);
      std::vector<uint8_t> rw(4096, 0xA5), ro(1024, 0x5A);
      m->BindDram(0, rw.data(), rw.size());
      m->BindDramReadOnly(1, ro.data(), ro.size());
      MakeBusy(*m);
      if (e.setup) e.setup(*m);
      EXPECT_EQ(m->overflow(), check);
      const MachineState before = Snapshot(*m);
      const std::vector<uint8_t> rw_before = rw, ro_before = ro;
      std::string what;
      try {
        m->Execute(e.instr);
      } catch (const Error& err) {
        what = err.what();
      }
      ASSERT_FALSE(what.empty()) << ToString(e.instr) << " was accepted";
      for (const std::string& w : e.words) EXPECT_NE(what.find(w), std::string::npos) << "'" << w << "' not in: " << what;
      EXPECT_EQ(FirstDifference(before, Snapshot(*m)), "") << what;
      EXPECT_EQ(rw, rw_before);
      EXPECT_EQ(ro, ro_before);
    }
  }
}

TEST_P(MachineTest, UnbindingASegmentMakesDmaFail) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig());
  std::vector<uint8_t> rw(256, 1);
  m->BindDram(0, rw.data(), rw.size());
  DmaIn d;
  d.row_bytes = 16;
  m->Execute(d);
  m->UnbindDram(0);
  EXPECT_THROW(m->Execute(d), Error);
  EXPECT_THROW(m->BindDram(64, rw.data(), rw.size()), Error);
  EXPECT_THROW(m->BindDram(1, nullptr, 16), Error);
}

TEST_P(MachineTest, ReservedSramIsOutsideWhatKernelsMayUse) {
  AccelConfig c = SmallConfig();
  std::unique_ptr<ScalarMachine> m = Make(c);
  const uint32_t all = c.sram_bytes;
  m->ReserveSram(4096);
  EXPECT_EQ(m->config().sram_bytes, all - 4096);
  EXPECT_EQ(m->sram_reserved(), 4096u);
  VLoad v;  // the last 32 bytes of SRAM: now in the reserved part
  v.type = DType::kU8, v.addr = all - 32, v.stride = 1;
  EXPECT_THROW(m->Execute(v), Error);
  m->ReserveSram(0);
  EXPECT_EQ(m->config().sram_bytes, all);
  m->Execute(v);
  try {
    m->ReserveSram(all);
    ADD_FAILURE() << "reserving all of SRAM accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("less than 1 KiB"), std::string::npos) << e.what();
  }
  EXPECT_EQ(m->config().sram_bytes, all);  // unchanged by the refused reservation
}

TEST(MachineConfigTest, InvalidConfigurationsAreRejected) {
  auto rejects = [](const std::function<void(AccelConfig&)>& f, const char* field) {
    AccelConfig c;
    f(c);
    try {
      ScalarMachine m(c);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << field << " accepted";
  };
  rejects([](AccelConfig& c) { c.sram_bytes = 1000; }, "sram_bytes");
  rejects([](AccelConfig& c) { c.sram_banks = 0; }, "sram_banks");
  rejects([](AccelConfig& c) { c.bank_bytes = 257; }, "bank_bytes");
  rejects([](AccelConfig& c) { c.vector_regs = 3; }, "vector_regs");
  rejects([](AccelConfig& c) { c.tile_regs = 0; }, "tile_regs");
  rejects([](AccelConfig& c) { c.acc_rows = (1u << 20) + 1; }, "acc_rows");
  rejects([](AccelConfig& c) { c.macs_per_cycle_bf16 = 0; }, "macs_per_cycle_bf16");
  rejects([](AccelConfig& c) { c.clock_mhz = 0; }, "clock_mhz");
  rejects([](AccelConfig& c) { c.dram_gb_per_s = std::numeric_limits<double>::infinity(); }, "dram_gb_per_s");
}

}  // namespace
}  // namespace tile32::test::machine_test

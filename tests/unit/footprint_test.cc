// FootprintOf (accel/footprint.h) against what instructions really do on the scalar machine, over random
// programs: everything an instruction changes lies inside its footprint's writes, and nothing outside its
// footprint's SRAM reads and writes changes its result. Plus a few footprints spelled out.
#include "accel/footprint.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "accel/error.h"
#include "accel/scalar_machine.h"
#include "tests/common/machine_state.h"
#include "tests/common/random_program.h"

namespace tile32 {
namespace {

bool InSram(const SramAccess& a, int64_t x) {
  for (uint32_t i = 0; i < a.count; ++i) {
    const int64_t lo = a.base + a.stride * int64_t{i};
    if (x >= lo && x < lo + a.bytes) return true;
  }
  return false;
}

bool InAcc(const AccAccess& a, int64_t row) {
  for (uint32_t i = 0; i < a.count; ++i) {
    if (row == a.row + a.stride * int64_t{i}) return true;
  }
  return false;
}

bool Executes(Machine& m, const Instr& ins) {
  try {
    m.Execute(ins);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// A machine with a random program's memories bound.
struct Bound {
  Bound(const AccelConfig& c, const test::RandomProgram& p) : m(c), rw(p.dram_rw), ro(p.dram_ro) {
    m.sram().assign(p.sram.begin(), p.sram.end());
    m.BindDram(test::kDramRwSegment, rw.data(), rw.size());
    m.BindDramReadOnly(test::kDramRoSegment, ro.data(), ro.size());
  }
  ScalarMachine m;
  std::vector<uint8_t> rw, ro;
};

constexpr int kPrograms = 150;

TEST(Footprint, EverythingAnInstructionChangesIsInsideItsWrites) {
  size_t checked = 0;
  for (uint64_t seed = 1; seed <= kPrograms; ++seed) {
    const AccelConfig config = test::RandomSmallConfig(seed);
    const test::RandomProgram p = test::GenerateRandomProgram(config, seed, {});
    Bound b(config, p);
    for (size_t n = 0; n < p.program.size(); ++n) {
      const Instr& ins = p.program[n];
      const test::MachineState before = test::Snapshot(b.m);
      const std::vector<uint8_t> rw_before = b.rw;
      if (!Executes(b.m, ins)) continue;
      ++checked;
      const test::MachineState after = test::Snapshot(b.m);
      const Footprint fp = FootprintOf(ins);
      const std::string at = "seed " + std::to_string(seed) + " #" + std::to_string(n) + " " + ToString(ins);
      for (size_t x = 0; x < after.sram.size(); ++x) {
        if (after.sram[x] == before.sram[x]) continue;
        bool inside = false;
        for (int a = 0; a < fp.sram_count; ++a) inside |= fp.sram[a].write && InSram(fp.sram[a], int64_t(x));
        ASSERT_TRUE(inside) << at << ": SRAM byte " << x << " changed outside the footprint's writes";
      }
      for (size_t row = 0; row < config.acc_rows; ++row) {
        bool changed = false;
        for (int j = 0; j < kLanes; ++j) changed |= after.acc[row * kLanes + j] != before.acc[row * kLanes + j];
        if (!changed) continue;
        bool inside = false;
        for (int a = 0; a < fp.acc_count; ++a) inside |= fp.acc[a].write && InAcc(fp.acc[a], int64_t(row));
        ASSERT_TRUE(inside) << at << ": ACC row " << row << " changed outside the footprint's writes";
      }
      for (size_t v = 0; v < after.vregs.size(); ++v) {
        if (after.vregs[v] != before.vregs[v]) {
          ASSERT_EQ(int(v), fp.regs.v_write) << at << ": V" << v << " changed";
        }
      }
      for (size_t t = 0; t < after.tiles.size(); ++t) {
        if (after.tiles[t] != before.tiles[t] || after.tile_types[t] != before.tile_types[t]) {
          ASSERT_TRUE(fp.regs.tile_write && int(t) >= fp.regs.tile_first &&
                      int(t) < fp.regs.tile_first + fp.regs.tile_count)
              << at << ": T" << t << " changed";
        }
      }
      for (size_t x = 0; x < b.rw.size(); ++x) {
        if (b.rw[x] == rw_before[x]) continue;
        const DramAccess& d = fp.dram;
        bool inside = false;
        for (uint32_t r = 0; d.used && d.write && r < d.rows && !inside; ++r) {
          inside = x >= d.offset + d.stride * r && x < d.offset + d.stride * r + d.row_bytes;
        }
        ASSERT_TRUE(inside) << at << ": DRAM byte " << x << " changed outside the footprint's DRAM write";
      }
    }
  }
  EXPECT_GT(checked, size_t{kPrograms} * 30);
}

// Two machines in the same state run each instruction; before it, the second's SRAM outside the
// instruction's footprint is scrambled. Their states must agree afterwards everywhere but on the scrambled
// bytes (then the second is set back to the first's SRAM).
TEST(Footprint, NothingOutsideTheSramFootprintChangesTheResult) {
  size_t checked = 0;
  std::mt19937_64 rng(5);
  for (uint64_t seed = 1; seed <= kPrograms / 3; ++seed) {
    const AccelConfig config = test::RandomSmallConfig(seed);
    const test::RandomProgram p = test::GenerateRandomProgram(config, seed, {});
    Bound a(config, p), b(config, p);
    for (size_t n = 0; n < p.program.size(); ++n) {
      const Instr& ins = p.program[n];
      const Footprint fp = FootprintOf(ins);
      SramBytes& sb = b.m.sram();
      std::vector<bool> touched(sb.size(), false);
      for (int k = 0; k < fp.sram_count; ++k) {
        const SramAccess& s = fp.sram[k];
        for (uint32_t i = 0; i < s.count; ++i) {
          for (uint32_t y = 0; y < s.bytes; ++y) {
            const int64_t x = s.base + s.stride * int64_t{i} + y;
            if (x >= 0 && x < int64_t(sb.size())) touched[size_t(x)] = true;
          }
        }
      }
      for (size_t x = 0; x < sb.size(); ++x) {
        if (!touched[x]) sb[x] = static_cast<uint8_t>(rng());
      }
      const bool ok_a = Executes(a.m, ins), ok_b = Executes(b.m, ins);
      ASSERT_EQ(ok_a, ok_b) << ToString(ins);
      const std::string at = "seed " + std::to_string(seed) + " #" + std::to_string(n) + " " + ToString(ins);
      test::MachineState sa = test::Snapshot(a.m), sb_state = test::Snapshot(b.m);
      for (size_t x = 0; x < sa.sram.size(); ++x) {
        if (!touched[x]) sb_state.sram[x] = sa.sram[x];
      }
      ASSERT_EQ(test::FirstDifference(sa, sb_state), "") << at;
      ASSERT_EQ(a.rw, b.rw) << at << ": DRAM differs";
      b.m.sram() = a.m.sram();
      checked += ok_a;
    }
  }
  EXPECT_GT(checked, size_t{kPrograms} * 10);
}

TEST(Footprint, SpelledOut) {
  TileMac t;
  t.mode = MacMode::kS16S16, t.acc_row = 8, t.rows = 5, t.a_addr = 100, t.a_stride = -64, t.tile = 2, t.tiles = 3;
  Footprint f = FootprintOf(t);
  EXPECT_EQ(f.unit, Unit::kTile);
  ASSERT_EQ(f.sram_count, 1);
  EXPECT_EQ(f.sram[0].base, 100);
  EXPECT_EQ(f.sram[0].stride, -64);
  EXPECT_EQ(f.sram[0].count, 5u);
  EXPECT_EQ(f.sram[0].bytes, 3u * 32 * 2);
  EXPECT_FALSE(f.sram[0].write);
  ASSERT_EQ(f.acc_count, 1);
  EXPECT_TRUE(f.acc[0].read && f.acc[0].write);
  EXPECT_EQ(f.regs.tile_first, 2);
  EXPECT_EQ(f.regs.tile_count, 3);

  DmaOut d;
  d.sram = 64, d.segment = 5, d.dram = 1000, d.rows = 3, d.row_bytes = 16, d.dram_stride = 100, d.sram_stride = 32;
  f = FootprintOf(d);
  EXPECT_EQ(f.unit, Unit::kDma);
  EXPECT_TRUE(f.dram.used && f.dram.write);
  EXPECT_EQ(f.dram.segment, 5u);
  ASSERT_EQ(f.sram_count, 1);
  EXPECT_FALSE(f.sram[0].write);

  VLoad v;
  v.vd = 7, v.type = DType::kI16, v.addr = 10, v.stride = 6;
  f = FootprintOf(v);
  EXPECT_TRUE(f.sram[0].gathered);
  EXPECT_EQ(f.regs.v_write, 7);

  Requant r;
  f = FootprintOf(r);
  EXPECT_EQ(f.unit, Unit::kRequant);
  EXPECT_TRUE(f.regs.quant_read);
  EXPECT_TRUE(FootprintOf(SetQuant{}).regs.quant_write);

  AccAlu alu;
  alu.rows = 4, alu.dst = 10, alu.a = 20, alu.b = 30, alu.b_stride = 0;
  f = FootprintOf(alu);
  ASSERT_EQ(f.acc_count, 3);
  EXPECT_STREQ(f.acc[2].field, "b");
  EXPECT_EQ(f.acc[2].stride, 0);
  EXPECT_STREQ(NameOf(Unit::kVector), "vector");
}

}  // namespace
}  // namespace tile32

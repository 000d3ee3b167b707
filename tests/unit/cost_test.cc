// Cycle costs (docs/isa.md §1.5, §1.6, §8): SRAM bank cycles, lane-multiplexor passes and the
// per-instruction table, against hand-computed values and against a brute-force count written from §1.5.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "accel/cost.h"
#include "accel/isa.h"
#include "accel/scalar_machine.h"

namespace tile32 {
namespace {

// §1.5 literally: every byte's (bank, word); cycles = the most distinct words any bank delivers (>= 1).
uint64_t BruteBankCycles(const AccelConfig& c, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  std::set<std::pair<uint64_t, uint64_t>> words;
  for (const auto& [addr, bytes] : ranges) {
    for (int64_t a = addr; a < addr + bytes; ++a) {
      words.emplace((static_cast<uint64_t>(a) / c.bank_bytes) % c.sram_banks,
                    static_cast<uint64_t>(a) / (uint64_t{c.bank_bytes} * c.sram_banks));
    }
  }
  std::map<uint64_t, uint64_t> per_bank;
  for (const auto& w : words) ++per_bank[w.first];
  uint64_t most = 1;
  for (const auto& [bank, n] : per_bank) most = std::max(most, n);
  return most;
}

InstrCost Cost(const Instr& i, const AccelConfig& c = AccelConfig::Default()) { return CostOf(i, c); }

VLoad Vld(DType t, uint32_t addr, int32_t stride) {
  VLoad i;
  i.type = t;
  i.addr = addr;
  i.stride = stride;
  return i;
}

// ---- bank cycles (default: 32 banks x 8 bytes) ----

TEST(CostTest, UnitStrideIsConflictFree) {
  for (DType t : {DType::kI8, DType::kI16, DType::kBF16, DType::kI32, DType::kF32}) {
    for (uint32_t addr : {0u, 3u, 8u, 4093u}) {
      const InstrCost c = Cost(Vld(t, addr, SizeOf(t)));
      EXPECT_EQ(c.cycles, 1u) << NameOf(t) << " at " << addr;
      EXPECT_EQ(c.conflict_cycles, 0u);
    }
  }
  // 32 x i32 with stride 8: one word in each of the 32 banks.
  EXPECT_EQ(Cost(Vld(DType::kI32, 0, 8)).cycles, 1u);
}

TEST(CostTest, StrideOfAllBanksHitsOneBank32Times) {
  const AccelConfig c = AccelConfig::Default();
  const int32_t all_banks = static_cast<int32_t>(c.sram_banks * c.bank_bytes);  // 256 bytes
  for (DType t : {DType::kI8, DType::kI16, DType::kI32}) {
    InstrCost cost = Cost(Vld(t, 0, all_banks));
    EXPECT_EQ(cost.cycles, 32u) << NameOf(t);
    EXPECT_EQ(cost.sram_cycles, 32u);
    EXPECT_EQ(cost.conflict_cycles, 31u);  // 32 words fit one cycle of 32 banks
    cost = Cost(Vld(t, 31u * all_banks + 5, -all_banks));  // negative stride, same banks
    EXPECT_EQ(cost.cycles, 32u) << NameOf(t);
  }
  // VST costs the same as VLD.
  VStore st;
  st.type = DType::kI8;
  st.stride = all_banks;
  EXPECT_EQ(Cost(st).cycles, 32u);
  // Stride 16 bytes: words 0, 2, 4, ... use the even banks only, two words each.
  EXPECT_EQ(Cost(Vld(DType::kI32, 0, 16)).cycles, 2u);
  EXPECT_EQ(Cost(Vld(DType::kI32, 0, 16)).conflict_cycles, 1u);
}

TEST(CostTest, BroadcastIsOneCycle) {
  for (DType t : {DType::kI8, DType::kU8, DType::kI16, DType::kBF16, DType::kI32, DType::kF32}) {
    const InstrCost c = Cost(Vld(t, 1234, 0));
    EXPECT_EQ(c.cycles, 1u) << NameOf(t);
    EXPECT_EQ(c.conflict_cycles, 0u);
  }
  AccLoad bias;  // ACC_LD with row_stride 0 broadcasts a bias row: one cycle per row
  bias.rows = 7;
  bias.row_stride = 0;
  EXPECT_EQ(Cost(bias).cycles, 7u);
}

TEST(CostTest, ElementStraddlingBankWords) {
  // An i32 at byte 6 touches words 0 and 1 (banks 0 and 1): still one cycle.
  const AccelConfig c = AccelConfig::Default();
  int64_t addr[1] = {6};
  EXPECT_EQ(BankCyclesOf(c, addr, 1, 4).cycles, 1u);
  // Two i32 elements 256 bytes apart in the same bank: two cycles.
  int64_t two[2] = {0, 256};
  EXPECT_EQ(BankCyclesOf(c, two, 2, 4).cycles, 2u);
  EXPECT_EQ(BankCyclesOf(c, two, 2, 4).ideal, 1u);
  // The same word twice is delivered once.
  int64_t same[2] = {16, 17};
  EXPECT_EQ(BankCyclesOf(c, same, 2, 1).cycles, 1u);
}

TEST(CostTest, BankCyclesMatchBruteForce) {
  std::mt19937_64 rng(1);
  for (int n = 0; n < 3000; ++n) {
    AccelConfig c;
    c.sram_banks = static_cast<uint32_t>(1 + rng() % 40);
    c.bank_bytes = static_cast<uint32_t>(1 + rng() % 16);
    const int count = static_cast<int>(1 + rng() % 32);
    const int bytes = static_cast<int>(1 + rng() % 8);
    const int64_t base = static_cast<int64_t>(rng() % 100000);
    const int64_t stride = static_cast<int64_t>(rng() % 600) - 300;
    std::vector<int64_t> addr;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (int i = 0; i < count; ++i) {
      addr.push_back(base + 300 * 32 + stride * i);
      ranges.emplace_back(addr.back(), bytes);
    }
    const BankCycles b = BankCyclesOf(c, addr.data(), count, bytes);
    ASSERT_EQ(b.cycles, BruteBankCycles(c, ranges)) << "banks " << c.sram_banks << " x " << c.bank_bytes << " stride "
                                                    << stride << " bytes " << bytes;
    ASSERT_LE(b.ideal, b.cycles);
    const uint64_t len = 1 + rng() % 3000;
    ASSERT_EQ(BankCyclesOfRange(c, static_cast<uint64_t>(base), len).cycles, BruteBankCycles(c, {{base, len}}))
        << "range " << base << " + " << len;
  }
}

TEST(CostTest, RowCostsEqualThePerRowSum) {
  // CostOf sums row costs one period of (address mod bank_bytes) at a time; it must equal the plain
  // per-row sum of docs/isa.md §8.1 for every stride, row count and bank width.
  std::mt19937_64 rng(77);
  for (int trial = 0; trial < 400; ++trial) {
    AccelConfig c;
    c.bank_bytes = 1u << (rng() % 6);
    c.sram_banks = 1 + static_cast<uint32_t>(rng() % 40);
    const uint32_t rows = 1 + static_cast<uint32_t>(rng() % 300);
    const int32_t stride = static_cast<int32_t>(rng() % 700) - 350;
    const uint32_t addr = 200000 + static_cast<uint32_t>(rng() % 1000);
    const uint8_t tiles = static_cast<uint8_t>(1 + rng() % 3);
    const TileMac tmac{MacMode::kU8S8, 0, rows, addr, stride, 0, tiles};
    uint64_t cycles = 0, sram = 0, conflicts = 0;
    for (uint32_t r = 0; r < rows; ++r) {
      const BankCycles b = BankCyclesOfRange(c, addr + int64_t{stride} * r, 32u * tiles);
      sram += b.cycles;
      conflicts += b.cycles - b.ideal;
      cycles += std::max<uint64_t>(b.cycles, tiles);
    }
    const InstrCost got = CostOf(tmac, c);
    EXPECT_EQ(got.cycles, cycles) << "trial " << trial;
    EXPECT_EQ(got.sram_cycles, sram) << "trial " << trial;
    EXPECT_EQ(got.conflict_cycles, conflicts) << "trial " << trial;
  }
}

TEST(CostTest, TileLoadReadsItsImageAtFullWidth) {
  TileLoad t;
  t.type = DType::kI8;
  EXPECT_EQ(Cost(t).cycles, 4u);   // 1 KiB = 128 words over 32 banks
  t.type = DType::kI16;
  EXPECT_EQ(Cost(t).cycles, 8u);   // 2 KiB
  t.type = DType::kBF16;
  t.addr = 4;                      // unaligned: 257 words -> 9 in the busiest bank
  EXPECT_EQ(Cost(t).cycles, 9u);
}

// ---- mux passes ----

std::array<int8_t, kLanes> ChannelShuffle(int groups) {
  std::array<int8_t, kLanes> r{};
  const int n = kLanes / groups;
  for (int i = 0; i < kLanes; ++i) r[i] = static_cast<int8_t>((i % groups) * n + i / groups);
  return r;
}

int BruteMuxPasses(const std::array<int8_t, kLanes>& route) {
  std::set<int> d;
  for (int i = 0; i < kLanes; ++i)
    if (route[i] >= 0) d.insert(((route[i] - i) % kLanes + kLanes) % kLanes);
  return std::max<int>(1, static_cast<int>(d.size()));
}

TEST(CostTest, RotationIsOnePass) {
  for (int by = -33; by <= 33; ++by) {
    VPerm p;
    p.route = RotateRoute(by);
    EXPECT_EQ(MuxPasses(p.route.data()), 1) << by;
    EXPECT_EQ(Cost(p).cycles, 1u);
    EXPECT_EQ(Cost(p).mux_passes, 1u);
  }
  EXPECT_EQ(MuxPasses(IdentityRoute().data()), 1);
  std::array<int8_t, kLanes> none;
  none.fill(-1);
  EXPECT_EQ(MuxPasses(none.data()), 1);  // at least one pass
  std::array<int8_t, kLanes> half = RotateRoute(3);
  for (int i = 0; i < kLanes; i += 2) half[i] = -1;  // a subset of lanes, one distance
  EXPECT_EQ(MuxPasses(half.data()), 1);
}

TEST(CostTest, ChannelShuffleNeedsManyPasses) {
  // groups = 2 of 16: output i takes input (i % 2) * 16 + i / 2. Even i need distances -i/2, odd i
  // 15 - i/2 (mod 32): 31 distinct distances.
  VPerm p;
  p.route = ChannelShuffle(2);
  EXPECT_EQ(MuxPasses(p.route.data()), 31);
  EXPECT_EQ(Cost(p).cycles, 31u);
  EXPECT_EQ(Cost(p).mux_passes, 31u);
  EXPECT_EQ(MuxPasses(ChannelShuffle(4).data()), BruteMuxPasses(ChannelShuffle(4)));
  EXPECT_GT(MuxPasses(ChannelShuffle(4).data()), 8);
  std::array<int8_t, kLanes> reverse{};
  for (int i = 0; i < kLanes; ++i) reverse[i] = static_cast<int8_t>(kLanes - 1 - i);
  EXPECT_EQ(MuxPasses(reverse.data()), 16);  // distances 31 - 2i: the 16 odd ones
  std::array<int8_t, kLanes> bcast;
  bcast.fill(5);  // broadcast of one lane: every lane its own distance
  EXPECT_EQ(MuxPasses(bcast.data()), 32);
}

// AALU: one ACC row per cycle. RPERM: passes per row plus the bank cycles of its reads and writes.
TEST(CostTest, AccAluAndRowPerm) {
  AccAlu a;
  a.rows = 37;
  EXPECT_EQ(Cost(a).cycles, 37u);
  RowPerm p;
  p.type = DType::kU8, p.rows = 10, p.src = 0, p.src_stride = 32, p.dst = 4096, p.dst_stride = 32;
  p.route = RotateRoute(3);
  InstrCost c = Cost(p);
  EXPECT_EQ(c.mux_passes, 10u);
  EXPECT_EQ(c.cycles, 10u + 10u + 10u);  // a pass and one bank cycle each way per 32-byte row
  for (int i = 0; i < kLanes; ++i) p.route[i] = static_cast<int8_t>((i % 2) * 16 + i / 2);  // shuffle, g = 2
  c = Cost(p);
  EXPECT_EQ(c.mux_passes, 10u * MuxPasses(p.route.data()));
  EXPECT_GT(MuxPasses(p.route.data()), 16);
  AccLoad ld;  // typed ACC_LD reads 32 elements of its type per row
  ld.rows = 4, ld.type = DType::kU8, ld.row_stride = 32;
  EXPECT_EQ(Cost(ld).sram_cycles, 4u);
}

TEST(CostTest, MuxPassesMatchBruteForce) {
  std::mt19937_64 rng(2);
  for (int n = 0; n < 20000; ++n) {
    std::array<int8_t, kLanes> r{};
    for (int i = 0; i < kLanes; ++i) r[i] = static_cast<int8_t>(static_cast<int>(rng() % 33) - 1);
    ASSERT_EQ(MuxPasses(r.data()), BruteMuxPasses(r));
  }
}

// ---- compute ----

TileMac Tmac(MacMode mode, uint32_t rows, int tiles) {
  TileMac t;
  t.mode = mode;
  t.rows = rows;
  t.tiles = static_cast<uint8_t>(tiles);
  t.a_stride = kLanes * tiles * SizeOf(ActivationType(mode));
  return t;
}

TEST(CostTest, TmacCostsRowsTimesTilesAndBf16Twice) {
  for (uint32_t rows : {1u, 4u, 33u}) {
    for (int tiles : {1, 3, 16}) {
      for (MacMode m : {MacMode::kU8S8, MacMode::kS8S8, MacMode::kS16S16}) {
        const InstrCost c = Cost(Tmac(m, rows, tiles));
        EXPECT_EQ(c.tile_cycles, uint64_t{rows} * tiles) << NameOf(m);
        EXPECT_EQ(c.cycles, uint64_t{rows} * tiles) << NameOf(m) << ": rows read within their tile cycles";
        EXPECT_EQ(c.macs, uint64_t{rows} * tiles * 1024);
      }
      const InstrCost b = Cost(Tmac(MacMode::kBF16, rows, tiles));
      EXPECT_EQ(b.tile_cycles, 2 * uint64_t{rows} * tiles);  // BF16 at half rate
      EXPECT_EQ(b.cycles, 2 * uint64_t{rows} * tiles);
      EXPECT_EQ(b.macs, uint64_t{rows} * tiles * 1024);
    }
  }
}

TEST(CostTest, TmacStallsWhenBanksCannotFeedTheArray) {
  AccelConfig c;
  c.sram_banks = 1;  // one 8-byte word per cycle: a 32-byte int8 row takes 4 cycles, 1 of compute
  const InstrCost cost = Cost(Tmac(MacMode::kS8S8, 5, 1), c);
  EXPECT_EQ(cost.tile_cycles, 5u);
  EXPECT_EQ(cost.cycles, 20u);
  EXPECT_EQ(cost.sram_cycles, 20u);
  // With 16 tiles a row has 512 bytes = 64 words = 64 cycles against 16 tile cycles.
  EXPECT_EQ(Cost(Tmac(MacMode::kS8S8, 2, 16), c).cycles, 128u);
  // Rates from the configuration.
  AccelConfig slow;
  slow.macs_per_cycle_int8 = 256;
  EXPECT_EQ(Cost(Tmac(MacMode::kU8S8, 3, 2), slow).tile_cycles, 3u * 2 * 4);
  slow.macs_per_cycle_int16 = 100;  // ceil(1024 / 100) = 11
  EXPECT_EQ(Cost(Tmac(MacMode::kS16S16, 1, 1), slow).tile_cycles, 11u);
}

TEST(CostTest, EmacCostsAFullArrayCyclePerRow) {
  ElemMac e;
  e.rows = 9;
  e.mode = MacMode::kS8S8;
  EXPECT_EQ(Cost(e).tile_cycles, 9u);
  EXPECT_EQ(Cost(e).cycles, 9u);
  EXPECT_EQ(Cost(e).macs, 9u * 32);
  e.mode = MacMode::kBF16;
  e.a_stride = 64;
  EXPECT_EQ(Cost(e).tile_cycles, 18u);
  EXPECT_EQ(Cost(e).macs, 9u * 32);
}

// ---- the rest of the table ----

TEST(CostTest, FixedCosts) {
  AccZero z;
  z.rows = 13;
  EXPECT_EQ(Cost(z).cycles, 13u);
  EXPECT_EQ(Cost(SetQuant{}).cycles, 4u);
  EXPECT_EQ(Cost(VAlu{}).cycles, 1u);
  EXPECT_EQ(Cost(VFromAcc{}).cycles, 1u);
  EXPECT_EQ(Cost(VToAcc{}).cycles, 1u);
  AccLoad ld;
  ld.rows = 5;  // 128-byte rows: 16 words, one cycle each
  EXPECT_EQ(Cost(ld).cycles, 5u);
  AccStore st;
  st.rows = 3;
  st.type = DType::kBF16;
  st.row_stride = 64;
  EXPECT_EQ(Cost(st).cycles, 3u);
  Requant rq;
  rq.rows = 6;
  EXPECT_EQ(Cost(rq).cycles, 6u);
  AccelConfig one_bank;
  one_bank.sram_banks = 1;
  EXPECT_EQ(Cost(ld, one_bank).cycles, 5u * 16);  // 16 words through one bank per row
}

// ceil(bytes / (GB/s * 1e3 / MHz)) computed exactly: bytes * MHz / (GB/s * 1000) with integer MHz, GB/s.
uint64_t ExactDmaCycles(uint64_t bytes, uint64_t mhz, uint64_t gbps_times_1000) {
  return (bytes * mhz + gbps_times_1000 - 1) / gbps_times_1000;
}

TEST(CostTest, DmaCostsLatencyPlusBandwidth) {
  DmaIn d;
  d.rows = 10;
  d.row_bytes = 100;
  const InstrCost c = Cost(d);
  EXPECT_EQ(c.dram_bytes, 1000u);
  EXPECT_EQ(c.cycles, 100u + 55u);  // 1000 / (17000 / 933) = 54.88...
  DmaOut o;
  o.rows = 1;
  o.row_bytes = 17000;
  EXPECT_EQ(Cost(o).cycles, 100u + 933u);
  for (uint64_t bytes = 1; bytes <= 200000; ++bytes) {
    DmaIn i;
    i.row_bytes = static_cast<uint32_t>(bytes);
    ASSERT_EQ(Cost(i).cycles, 100u + ExactDmaCycles(bytes, 933, 17000)) << bytes << " bytes";
  }
}

// docs/isa.md §8.1 says ceil(bytes / bytes_per_cycle). accel/cost.cc adds 0.999999 and truncates, which
// drops a cycle when the fraction is below 1e-6 (here 1e9 + 1 bytes at 1e9 bytes per cycle: 1.000000001
// cycles must cost 2). Disabled until accel/cost.cc is fixed (reported to the lead).
TEST(CostTest, DmaCeilExactForHighBandwidth) {
  AccelConfig c;
  c.clock_mhz = 1.0;
  c.dram_gb_per_s = 1e6;  // 1e9 bytes per cycle
  c.dram_latency_cycles = 0;
  DmaIn d;
  d.rows = 1000000001;
  d.row_bytes = 1;
  EXPECT_EQ(Cost(d, c).cycles, 2u);
}

TEST(CostTest, MachineCountersSumInstructionCosts) {
  AccelConfig c;
  c.sram_bytes = 1 << 16;
  c.acc_rows = 64;
  ScalarMachine m(c);
  std::vector<uint8_t> dram(4096);
  m.BindDram(0, dram.data(), dram.size());
  DmaIn din;
  din.rows = 2;
  din.row_bytes = 1000;
  din.dram_stride = 1000;
  din.sram_stride = 1000;
  TileLoad tld;
  AccZero zero;
  zero.rows = 4;
  VPerm perm;
  perm.route = ChannelShuffle(2);
  std::vector<Instr> program = {din, Vld(DType::kI8, 0, 256), tld, Tmac(MacMode::kS8S8, 4, 1), zero, perm};
  Counters want;
  for (const Instr& i : program) {
    m.Execute(i);
    const InstrCost k = CostOf(i, c);
    ++want.instructions;
    ++want.per_opcode[i.index()];
    want.total.cycles += k.cycles;
    want.total.macs += k.macs;
    want.total.mux_passes += k.mux_passes;
    want.total.dram_bytes += k.dram_bytes;
  }
  EXPECT_EQ(m.counters().instructions, want.instructions);
  for (int op = 0; op < 16; ++op) EXPECT_EQ(m.counters().per_opcode[op], want.per_opcode[op]) << op;
  EXPECT_EQ(m.counters().total.cycles, want.total.cycles);
  EXPECT_EQ(m.counters().total.macs, 4u * 1024);
  EXPECT_EQ(m.counters().total.mux_passes, 31u);
  EXPECT_EQ(m.counters().total.dram_bytes, 2000u);
  EXPECT_EQ(m.counters().total.conflict_cycles, 31u);  // the stride-256 VLD
  m.ResetCounters();
  EXPECT_EQ(m.counters().instructions, 0u);
  EXPECT_EQ(m.counters().total.cycles, 0u);
}

}  // namespace
}  // namespace tile32

// The SIMD machine's INT8 TMAC paths (accel/simd_amx.h, docs/simd_machine.md "AMX"): which rows the AMX path
// takes and when, forcing a path (an error naming why where AMX cannot run, never SIGILL), and the AMX path
// against the Highway target's path (VNNI on AVX3_DL) and the scalar machine, bit for bit: on the host's
// tile unit where it has AMX, on the software model everywhere. A host without AMX prints so.
#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "accel/error.h"
#include "accel/host_cpu.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "tests/common/targets.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace {

// Restores the process-wide path on scope exit.
class PathGuard {
 public:
  PathGuard() : before_(ForcedTmacPath()) {}
  ~PathGuard() { ForceTmacPath(before_); }

 private:
  TmacPath before_;
};

TEST(TmacPath, AmxTakesWholeGroupsOf16RowsOfInt8TmacsOfAtLeast4Tiles) {
  for (MacMode mode : {MacMode::kU8S8, MacMode::kS8S8}) {
    EXPECT_EQ(AmxTmacRows(mode, 16, 4), 16u);
    EXPECT_EQ(AmxTmacRows(mode, 17, 4), 16u);
    EXPECT_EQ(AmxTmacRows(mode, 31, 5), 16u);
    EXPECT_EQ(AmxTmacRows(mode, 32, 16), 32u);
    EXPECT_EQ(AmxTmacRows(mode, 1000, 7), 992u);
    EXPECT_EQ(AmxTmacRows(mode, 15, 16), 0u) << "fewer rows than a group";
    EXPECT_EQ(AmxTmacRows(mode, 1, 16), 0u);
    EXPECT_EQ(AmxTmacRows(mode, 2048, 3), 0u) << "K = 96: the loads and stores per call cost more than AMX saves";
    EXPECT_EQ(AmxTmacRows(mode, 2048, 1), 0u);
  }
  EXPECT_EQ(AmxTmacRows(MacMode::kS16S16, 2048, 16), 0u);
  EXPECT_EQ(AmxTmacRows(MacMode::kBF16, 2048, 16), 0u) << "BF16 stays on the fp32 FMA chain";
}

TEST(TmacPath, EngineFollowsThePathTheHostAndAForcedTarget) {
  for (bool forced : {false, true}) {
    EXPECT_EQ(AmxEngineFor(TmacPath::kAuto, true, forced), forced ? AmxEngine::kNone : AmxEngine::kHardware)
        << "a forced Highway target keeps its own TMAC path under auto";
    EXPECT_EQ(AmxEngineFor(TmacPath::kAuto, false, forced), AmxEngine::kNone);
    EXPECT_EQ(AmxEngineFor(TmacPath::kAmx, true, forced), AmxEngine::kHardware);
    EXPECT_EQ(AmxEngineFor(TmacPath::kAmx, false, forced), AmxEngine::kNone);
    for (bool usable : {false, true}) {
      EXPECT_EQ(AmxEngineFor(TmacPath::kAmxSoftware, usable, forced), AmxEngine::kSoftware);
      EXPECT_EQ(AmxEngineFor(TmacPath::kHighway, usable, forced), AmxEngine::kNone);
    }
  }
  EXPECT_STREQ(NameOf(TmacPath::kAuto), "auto");
  EXPECT_STREQ(NameOf(TmacPath::kAmx), "amx");
  EXPECT_STREQ(NameOf(TmacPath::kAmxSoftware), "amx-software");
  EXPECT_STREQ(NameOf(TmacPath::kHighway), "highway");
}

TEST(TmacPath, ForcingAmxRunsOrThrowsWhyNot) {
  PathGuard guard;
  std::string why;
  if (Host().AmxInt8Usable(&why)) {
    EXPECT_NO_THROW(ForceTmacPath(TmacPath::kAmx));
    EXPECT_EQ(ForcedTmacPath(), TmacPath::kAmx);
    return;
  }
  EXPECT_FALSE(test::ReportAmxCoverage());
  ForceTmacPath(TmacPath::kHighway);
  testing::ExpectErrorMentioning([] { ForceTmacPath(TmacPath::kAmx); }, "AMX-INT8 cannot run on this host: " + why);
  EXPECT_EQ(ForcedTmacPath(), TmacPath::kHighway) << "a refused path changes nothing";
  ForceTmacPath(TmacPath::kAmxSoftware);
  EXPECT_EQ(ForcedTmacPath(), TmacPath::kAmxSoftware);
}

// One machine's ACC after a program of INT8 TMACs over random tiles and activations.
std::vector<uint32_t> RunTmacs(ScalarMachine& m, uint64_t seed, int threads) {
  std::mt19937_64 rng(seed);
  SramBytes& sram = m.sram();
  for (uint8_t& x : sram) x = static_cast<uint8_t>(rng() % 8 ? rng() : (rng() % 2 ? 0x80 : 0x7F));
  std::vector<Instr> program;
  for (uint32_t r = 0; r < 64; ++r) {  // ACC rows near the wrap
    AccLoad ld;
    ld.row = 4 * r, ld.rows = 4, ld.addr = 40000 + 128 * r, ld.row_stride = 0;
    program.push_back(ld);
  }
  // Groups of 16 rows and ragged ones, odd tile counts, up to 40 tiles, strides negative, zero, odd, overlapping.
  struct Shape {
    uint32_t acc_row, rows;
    int32_t stride;
    uint8_t tile, tiles;
    uint32_t a_offset;
  };
  const Shape shapes[] = {{0, 16, 512, 0, 4, 0},    {16, 17, 160, 0, 5, 0},      {40, 32, 224, 1, 7, 0},
                          {80, 48, 96, 0, 16, 0},   {130, 47, -200, 2, 6, 9400}, {180, 40, 0, 3, 9, 5},
                          {0, 100, 37, 0, 4, 3},    {200, 15, 64, 0, 8, 0},      {220, 33, 64, 0, 3, 0},
                          {0, 200, 64, 0, 16, 1},   {0, 48, 64, 5, 37, 0},       {60, 20, 1280, 8, 40, 0},
                          {8, 33, 1000, 2, 5, 8800}, {30, 20, -900, 9, 7, 40736}, {100, 32, 64, 44, 4, 0}};
  // (The last three read up to SRAM's last byte: activation rows ending there, going up or down, and a
  // tile pair read in place that ends there. The AMX path must read no byte beyond them.)
  for (uint32_t spacing : {1024u, 1536u}) {  // tiles back to back in SRAM (AMX reads them in place), then apart
    for (uint32_t t = 0; t < m.config().tile_regs; ++t) {
      TileLoad tl;
      tl.td = static_cast<uint8_t>(t), tl.type = DType::kI8, tl.addr = spacing * t % 24576;
      if (t >= 46) tl.addr = m.config().sram_bytes - 1024 * (48 - t);
      program.push_back(tl);
    }
    for (MacMode mode : {MacMode::kU8S8, MacMode::kS8S8}) {
      for (const Shape& sh : shapes) {
        TileMac i;
        i.mode = mode, i.acc_row = sh.acc_row, i.rows = sh.rows, i.a_stride = sh.stride;
        i.tile = sh.tile, i.tiles = sh.tiles, i.a_addr = 24576 + sh.a_offset;
        program.push_back(i);
      }
      for (int tiles : {4, 5, 8, 11, 16}) {
        for (uint32_t rows : {16u, 33u, 64u, 250u}) {
          TileMac i;
          i.mode = mode, i.acc_row = static_cast<uint32_t>(rng() % 6), i.rows = rows;
          i.tile = static_cast<uint8_t>(rng() % (17 - tiles)), i.tiles = static_cast<uint8_t>(tiles);
          i.a_addr = static_cast<uint32_t>(24576 + rng() % 64);
          i.a_stride = static_cast<int32_t>(1 + rng() % 90);
          if (rng() % 3 == 0 && i.a_addr + 32u * tiles * rows <= m.config().sram_bytes) i.a_stride = 32 * tiles;
          program.push_back(i);
        }
      }
    }
  }
  tbb::task_arena arena(threads);
  arena.execute([&] {
    for (const Instr& i : program) m.Execute(i);
  });
  std::vector<uint32_t> acc;
  for (uint32_t r = 0; r < m.config().acc_rows; ++r) acc.insert(acc.end(), m.acc_row(r), m.acc_row(r) + kLanes);
  return acc;
}

// `run(machine, seed, threads)` (a program's final state) on the Highway path and on the AMX path (its software
// model, and the host's tile unit where it has one) equals the scalar machine's, on 1 and 2 threads;
// `rows_taken(n, path)` checks the n rows the AMX path took in each run.
template <class Run, class RowsTaken>
void ExpectPathsAgree(const AccelConfig& c, uint64_t fixed_seed, const Run& run, const RowsTaken& rows_taken) {
  PathGuard guard;
  const bool hardware = test::ReportAmxCoverage();
  for (int threads : {1, 2}) {
    const uint64_t seed = testing::TestSeed(fixed_seed) + threads;
    ScalarMachine scalar(c);
    const auto want = run(scalar, seed, threads);
    ForceTmacPath(TmacPath::kHighway);
    SimdMachine highway(c);
    EXPECT_EQ(run(highway, seed, threads), want) << "Highway path, " << threads << " threads, seed " << seed;
    std::vector<TmacPath> paths = {TmacPath::kAmxSoftware};
    if (hardware) paths.push_back(TmacPath::kAmx);
    for (TmacPath path : paths) {
      ForceTmacPath(path);
      SimdMachine amx(c);
      const uint64_t before = AmxTmacRowsRun();
      EXPECT_EQ(run(amx, seed, threads), want) << NameOf(path) << ", " << threads << " threads, seed " << seed;
      rows_taken(AmxTmacRowsRun() - before, path);
    }
  }
}

TEST(TmacPath, AmxMatchesTheHighwayPathAndTheScalarMachine) {
  AccelConfig c;
  c.sram_bytes = 1u << 16;
  c.acc_rows = 256;
  c.tile_regs = 48;  // TMACs of more than 16 tiles too
  ExpectPathsAgree(c, 21, RunTmacs, [](uint64_t rows, TmacPath path) {
    EXPECT_GT(rows, 0u) << NameOf(path) << " did not run";
  });
}
// Chains of TMACs on the same ACC rows (a reduction over more tiles than the registers hold, with TLDs
// between), started from a deferred ACC_ZERO or broadcast ACC_LD, ended by an ACC_ST or REQ that joins the
// last TMAC: the AMX path runs each group of rows through every TMAC of the chain, then the tail.
std::vector<uint8_t> RunChains(ScalarMachine& m, uint64_t seed, int threads) {
  std::mt19937_64 rng(seed);
  SramBytes& sram = m.sram();
  for (uint8_t& x : sram) x = static_cast<uint8_t>(rng() % 8 ? rng() : (rng() % 2 ? 0x80 : 0x7F));
  std::vector<Instr> program;
  QuantConfig q;
  q.multiplier.fill(1 << 30), q.shift.fill(-9), q.zero_point = 3;
  program.push_back(SetQuant{q});
  struct Part {
    uint8_t tile, tiles;
    int32_t stride;
    uint32_t a_addr;
  };
  // Parts of 2 to 17 tiles (odd ones too), strides that differ between parts; the third chain has a TMAC
  // of one tile, which the AMX path does not take (the whole chain runs on the Highway path).
  const std::vector<std::vector<Part>> chains = {
      {{0, 6, 320, 20000}, {8, 2, 64, 90000}, {0, 3, 96, 60000}},
      {{0, 9, 288, 20000}, {10, 4, 128, 70000}},
      {{2, 4, 128, 20000}, {0, 1, 32, 60032}},
      {{0, 17, 640, 20000}, {20, 6, 192, 100000}},  // more B than one pass reads (simd_amx.cc, kPassBlocks)
  };
  for (uint32_t rows : {16u, 47u, 200u, 300u}) {  // (from 256 rows on, split across threads)
    uint32_t out = 250000;  // each output apart from everything the chains read
    for (size_t c = 0; c < chains.size(); ++c) {
      for (int tail = 0; tail < 3; ++tail) {  // ACC_ST, REQ, none (a TMAC of other rows runs it)
        const uint32_t acc_row = 8 * static_cast<uint32_t>(c);
        if (c % 2 == 0) {
          program.push_back(AccZero{acc_row, rows});
        } else {
          AccLoad ld;
          ld.row = acc_row, ld.rows = rows, ld.addr = 130000 + 128 * uint32_t(c), ld.row_stride = 0;
          program.push_back(ld);
        }
        for (const Part& part : chains[c]) {
          for (uint32_t t = 0; t < part.tiles; ++t) {  // in place (consecutive SRAM) or apart
            TileLoad tl;
            tl.td = static_cast<uint8_t>(part.tile + t), tl.type = DType::kI8;
            tl.addr = (part.tiles % 2 ? 1536 : 1024) * (part.tile + t) + 1024 * uint32_t(c);
            program.push_back(tl);
          }
          TileMac i;
          i.mode = c == 1 ? MacMode::kS8S8 : MacMode::kU8S8, i.acc_row = acc_row, i.rows = rows;
          i.a_addr = part.a_addr, i.a_stride = part.stride, i.tile = part.tile, i.tiles = part.tiles;
          program.push_back(i);
        }
        if (tail == 0) {
          AccStore st;
          st.row = acc_row, st.rows = rows, st.addr = out, st.row_stride = 128;
          program.push_back(st), out += 128 * rows;
        } else if (tail == 1) {
          Requant rq;
          rq.acc_row = acc_row, rq.rows = rows, rq.out = DType::kI8, rq.addr = out, rq.row_stride = 32;
          program.push_back(rq), out += 32 * rows;
        }
      }
    }
  }
  tbb::task_arena arena(threads);
  arena.execute([&] {
    for (const Instr& i : program) m.Execute(i);
  });
  const SramBytes& after = std::as_const(m).sram();
  std::vector<uint8_t> state(after.begin(), after.end());
  for (uint32_t r = 0; r < m.config().acc_rows; ++r) {
    const auto* row = reinterpret_cast<const uint8_t*>(m.acc_row(r));
    state.insert(state.end(), row, row + 4 * kLanes);
  }
  return state;
}

TEST(TmacPath, AmxRunsChainsOnTheSameAccRowsWithTheirSeedAndTail) {
  AccelConfig c;
  c.sram_bytes = 1u << 19;
  c.acc_rows = 512;
  c.tile_regs = 32;
  ExpectPathsAgree(c, 23, RunChains, [](uint64_t rows, TmacPath path) {
    // Per tail: 200 and 300 rows chain, and the three chains without a TMAC of one tile take 192 and 288 rows;
    // 16 and 47 rows do not chain (fewer than 48), and each TMAC of 4 tiles or more (6) takes 16 or 32 rows.
    EXPECT_EQ(rows, 3u * (3 * (192 + 288) + 6 * 16 + 6 * 32)) << NameOf(path);
  });
}

}  // namespace
}  // namespace tile32

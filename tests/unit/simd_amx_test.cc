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

TEST(TmacPath, AmxMatchesTheHighwayPathAndTheScalarMachine) {
  PathGuard guard;
  const bool hardware = test::ReportAmxCoverage();
  AccelConfig c;
  c.sram_bytes = 1u << 16;
  c.acc_rows = 256;
  c.tile_regs = 48;  // TMACs of more than 16 tiles too
  for (int threads : {1, 2}) {
    const uint64_t seed = testing::TestSeed(21) + threads;
    ScalarMachine scalar(c);
    const std::vector<uint32_t> want = RunTmacs(scalar, seed, threads);
    ForceTmacPath(TmacPath::kHighway);
    SimdMachine highway(c);
    EXPECT_EQ(RunTmacs(highway, seed, threads), want) << "Highway path, " << threads << " threads, seed " << seed;
    std::vector<TmacPath> paths = {TmacPath::kAmxSoftware};
    if (hardware) paths.push_back(TmacPath::kAmx);
    for (TmacPath path : paths) {
      ForceTmacPath(path);
      SimdMachine amx(c);
      const uint64_t before = AmxTmacRowsRun();
      EXPECT_EQ(RunTmacs(amx, seed, threads), want) << NameOf(path) << ", " << threads << " threads, seed " << seed;
      EXPECT_GT(AmxTmacRowsRun(), before) << NameOf(path) << " did not run";
    }
  }
}

}  // namespace
}  // namespace tile32

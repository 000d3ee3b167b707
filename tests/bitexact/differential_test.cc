// The SIMD machine against the scalar reference, bit for bit, on every Highway target this CPU runs and on
// the AMX path (its software model where the host has no AMX, which is printed): random programs
// (tests/common/random_program.h) compared after every instruction. Hand-built extreme-value programs per
// MAC mode: tests/bitexact/extreme_test.cc; the comparison itself: tests/bitexact/machine_pair.h.
//
// Replay one failing program:
//   TILE32_SEED=<seed> build/tests/tile32_bitexact_tests --gtest_filter='*RandomPrograms*'
// TILE32_PROGRAMS=<n> changes the number of programs per target (default 300, 100 under AddressSanitizer),
// TILE32_PROGRAM_LENGTH=<n> their length (default 60); a replay needs the same length.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/bitexact/machine_pair.h"
#include "tests/common/random_program.h"
#include "tests/common/targets.h"
#include "tests/common/test_util.h"

namespace tile32::test {
namespace {

#ifdef TILE32_TEST_ASAN
constexpr int kDefaultPrograms = 100;
#else
constexpr int kDefaultPrograms = 300;
#endif
constexpr int kProgramLength = 60;

std::optional<uint64_t> EnvU64(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::strtoull(v, nullptr, 0);
}

// ---------------------------------------------------------------------------------------------------
// Random programs

class DifferentialTest : public ::testing::TestWithParam<int64_t> {};

// Runs the random programs of TILE32_SEED, or of seeds 1 .. TILE32_PROGRAMS, on both machines. `batched`:
// programs whose MACs, seeds and REQs often share ACC rows, compared at sparse checkpoints, so that the
// SIMD machine's EMAC batches (docs/simd_machine.md, "EMAC") run with every instruction kind around them.
void RunRandomPrograms(const std::string& target, const char* test, bool batched) {
  std::vector<uint64_t> seeds;
  if (const auto seed = EnvU64("TILE32_SEED")) {
    seeds.push_back(*seed);
  } else {
    const uint64_t n = EnvU64("TILE32_PROGRAMS").value_or(kDefaultPrograms);
    for (uint64_t s = 1; s <= n; ++s) seeds.push_back(s);
  }
  RandomProgramOptions options;
  options.instructions = static_cast<int>(EnvU64("TILE32_PROGRAM_LENGTH").value_or(kProgramLength));
  options.batches = batched;
  int failures = 0;
  size_t instructions = 0;
  for (uint64_t seed : seeds) {
    const AccelConfig config = RandomSmallConfig(seed);
    const RandomProgram p = GenerateRandomProgram(config, seed, options);
    instructions += p.program.size();
    const std::string label = std::string(batched ? "batched " : "") + "seed " + std::to_string(seed) + ", target " + target;
    const std::string f = batched ? RunAndCompare(config, p, label, nullptr, seed) : RunAndCompare(config, p, label);
    if (!f.empty()) {
      ADD_FAILURE() << f << "\n  replay: TILE32_SEED=" << seed << " tile32_bitexact_tests --gtest_filter='*" << test
                    << "/" << target << "'";
      if (++failures >= 5) {
        ADD_FAILURE() << "stopping after 5 failing seeds";
        break;
      }
    }
  }
  std::printf("[ %s ] %zu programs, %zu instructions compared %s\n", target.c_str(), seeds.size(), instructions,
              batched ? "at checkpoints" : "after every step");
}

// On the AMX variants, the programs' TMACs must have reached the AMX path (all of them together: one program
// replayed by TILE32_SEED may have no TMAC the AMX path takes).
void ExpectAmxRan(int64_t param, uint64_t amx_rows_before) {
  if ((param & (kAmxBit | kAmxSoftwareBit)) == 0) return;
  ReportAmxCoverage();
  std::printf("[ %s ] %llu TMAC rows on the AMX path\n", TargetName(param).c_str(),
              static_cast<unsigned long long>(AmxTmacRowsRun() - amx_rows_before));
  if (EnvU64("TILE32_SEED")) return;
  EXPECT_GT(AmxTmacRowsRun(), amx_rows_before) << "no TMAC reached the AMX path";
}

TEST_P(DifferentialTest, RandomPrograms) {
  const uint64_t amx_rows_before = AmxTmacRowsRun();
  {
    ScopedTarget target(GetParam());
    RunRandomPrograms(target.name(), "RandomPrograms", false);
  }
  ExpectAmxRan(GetParam(), amx_rows_before);
}

TEST_P(DifferentialTest, RandomBatchedPrograms) {
  const uint64_t amx_rows_before = AmxTmacRowsRun();
  {
    ScopedTarget target(GetParam());
    RunRandomPrograms(target.name(), "RandomBatchedPrograms", true);
  }
  ExpectAmxRan(GetParam(), amx_rows_before);
}

INSTANTIATE_TEST_SUITE_P(Targets, DifferentialTest, ::testing::ValuesIn(TargetsToTest()), TargetParamName);
// The AMX path on its software model (on hosts with AMX the hardware path is in Targets).
INSTANTIATE_TEST_SUITE_P(Amx, DifferentialTest, ::testing::ValuesIn(AmxVariantsToTest()), TargetParamName);

// The generator itself: deterministic, and it reaches every instruction, mode and type.
TEST(RandomProgramTest, IsDeterministic) {
  const AccelConfig c = RandomSmallConfig(42);
  const RandomProgram a = GenerateRandomProgram(c, 42), b = GenerateRandomProgram(c, 42);
  ASSERT_EQ(a.program.size(), b.program.size());
  for (size_t i = 0; i < a.program.size(); ++i) EXPECT_EQ(ToString(a.program[i]), ToString(b.program[i]));
  EXPECT_EQ(a.sram, b.sram);
  EXPECT_EQ(a.dram_rw, b.dram_rw);
  EXPECT_EQ(a.invalid, b.invalid);
}

TEST(RandomProgramTest, CoversEveryInstructionModeAndType) {
  std::set<std::string> seen;
  int invalid = 0, total = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const RandomProgram p = GenerateRandomProgram(RandomSmallConfig(seed), seed);
    RequantMode mode = RequantMode::kTflDouble;
    for (size_t i = 0; i < p.program.size(); ++i) {
      ++total;
      if (p.invalid[i]) {
        ++invalid;
        continue;
      }
      const Instr& ins = p.program[i];
      seen.insert("op" + std::to_string(ins.index()));
      if (const auto* t = std::get_if<TileMac>(&ins)) {
        seen.insert(std::string("TMAC.") + NameOf(t->mode));
        if (t->tiles > 1) seen.insert(std::string("TMAC.tiles>1.") + NameOf(t->mode));
        if (t->tiles == 16) seen.insert("TMAC.tiles=16");
        if (t->a_stride < 0) seen.insert("TMAC.negative_stride");
        if (t->a_stride == 0 && t->rows > 1) seen.insert("TMAC.zero_stride");
        if (uint32_t{t->rows} * t->tiles >= 256) seen.insert("TMAC.rows*tiles>=256");
      } else if (const auto* e = std::get_if<ElemMac>(&ins)) {
        seen.insert(std::string("EMAC.") + NameOf(e->mode));
      } else if (const auto* q = std::get_if<SetQuant>(&ins)) {
        mode = q->q.mode;
        for (int j = 0; j < kLanes; ++j) {
          if (q->q.shift[j] == -31) seen.insert("shift=-31");
          if (q->q.shift[j] == 7) seen.insert("shift=7");
          if (q->q.multiplier[j] == 0) seen.insert("multiplier=0");
          if (q->q.multiplier[j] == 2147483647) seen.insert("multiplier=2^31-1");
        }
      } else if (const auto* r = std::get_if<Requant>(&ins)) {
        seen.insert(std::string("REQ.") + NameOf(mode) + "." + NameOf(r->out));
      } else if (const auto* v = std::get_if<VLoad>(&ins)) {
        seen.insert(std::string("VLD.") + NameOf(v->type));
      } else if (const auto* v = std::get_if<VStore>(&ins)) {
        seen.insert(std::string("VST.") + NameOf(v->type));
        if (v->stride != 0 && std::abs(v->stride) < SizeOf(v->type)) seen.insert("VST.overlapping");
      } else if (const auto* t = std::get_if<TileLoad>(&ins)) {
        seen.insert(std::string("TLD.") + NameOf(t->type));
      } else if (const auto* a = std::get_if<AccStore>(&ins)) {
        seen.insert(std::string("ACC_ST.") + NameOf(a->type));
      } else if (const auto* a = std::get_if<VAlu>(&ins)) {
        seen.insert(std::string("VALU.") + NameOf(a->op));
      } else if (const auto* d = std::get_if<DmaIn>(&ins)) {
        seen.insert("DMA_IN.segment" + std::to_string(d->segment));
      }
    }
  }
  std::vector<std::string> expected;
  for (int op = 0; op < 16; ++op) expected.push_back("op" + std::to_string(op));
  for (MacMode m : {MacMode::kU8S8, MacMode::kS8S8, MacMode::kS16S16, MacMode::kBF16}) {
    expected.push_back(std::string("TMAC.") + NameOf(m));
    expected.push_back(std::string("TMAC.tiles>1.") + NameOf(m));
    expected.push_back(std::string("EMAC.") + NameOf(m));
  }
  for (RequantMode m : {RequantMode::kTflDouble, RequantMode::kTflSingle, RequantMode::kFloatRne,
                        RequantMode::kFloatZpFirst}) {
    for (DType t : {DType::kI8, DType::kU8, DType::kI16}) expected.push_back(std::string("REQ.") + NameOf(m) + "." + NameOf(t));
  }
  for (DType t : {DType::kI8, DType::kU8, DType::kI16, DType::kBF16, DType::kI32, DType::kF32}) {
    expected.push_back(std::string("VLD.") + NameOf(t));
    expected.push_back(std::string("VST.") + NameOf(t));
  }
  for (DType t : {DType::kI8, DType::kI16, DType::kBF16}) expected.push_back(std::string("TLD.") + NameOf(t));
  for (DType t : {DType::kI32, DType::kF32, DType::kBF16}) expected.push_back(std::string("ACC_ST.") + NameOf(t));
  for (AluOp op : {AluOp::kAdd, AluOp::kSub, AluOp::kMul, AluOp::kMin, AluOp::kMax, AluOp::kSra, AluOp::kSll,
                   AluOp::kMovi}) {
    expected.push_back(std::string("VALU.") + NameOf(op));
  }
  for (const char* s : {"TMAC.tiles=16", "TMAC.rows*tiles>=256", "TMAC.negative_stride", "TMAC.zero_stride", "shift=-31", "shift=7",
                        "multiplier=0", "multiplier=2^31-1", "VST.overlapping", "DMA_IN.segment0", "DMA_IN.segment3"}) {
    expected.push_back(s);
  }
  for (const std::string& e : expected) EXPECT_TRUE(seen.count(e)) << "never generated: " << e;
  EXPECT_GT(invalid, total / 100) << "too few invalid instructions";
  EXPECT_LT(invalid, total / 10);
}

}  // namespace
}  // namespace tile32::test

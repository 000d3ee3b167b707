// Packed weights kept in SRAM (docs/simd_machine.md): the SIMD machine skips a DMA_IN of a version of packed
// weights that its SRAM still holds at the same place. These tests call the same weights again after
// everything that must make it copy them anew (a host write, an instruction writing part of them, other
// weights of the same shape at the same place), and check every result and the whole SRAM against the scalar
// machine, which always copies.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "kernels/gemm.h"
#include "tests/common/gemm_test_util.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace gemm_test {
namespace {

// One case per MAC family, resident weights on SmallConfig.
std::vector<std::unique_ptr<Prepared>> Families(uint64_t seed) {
  std::vector<std::unique_ptr<Prepared>> cases;
  Case c;
  c.M = 37, c.N = 70, c.K = 200, c.bias = true, c.a_zp = 7, c.b_zp = WeightZp::kPerChannel;
  cases.push_back(Prepare(c, seed));
  c.a_type = c.b_type = DType::kI16, c.a_zp = 0, c.b_zp = WeightZp::kNone, c.c_type = DType::kI32;
  cases.push_back(Prepare(c, seed + 1));
  c.a_type = c.b_type = DType::kBF16, c.c_type = DType::kF32;
  cases.push_back(Prepare(c, seed + 2));
  return cases;
}

// Both machines run p; their outputs are right and their SRAMs equal. SRAM is read through the const
// accessor: the other one is for host writes, and would drop every held copy.
void RunBoth(ScalarMachine& scalar, SimdMachine& simd, const Prepared& p) {
  SCOPED_TRACE(Describe(p.c, p.seed));
  EXPECT_TRUE(RunOn(scalar, p, 1));
  EXPECT_TRUE(RunOn(simd, p, 1));
  EXPECT_TRUE(static_cast<const ScalarMachine&>(simd).sram() == static_cast<const ScalarMachine&>(scalar).sram());
}

TEST(HeldWeights, SecondCallSkipsTheCopy) {
  for (const auto& p : Families(TestSeed(5201))) {
    ScalarMachine scalar(SmallConfig());
    SimdMachine simd(SmallConfig());
    RunBoth(scalar, simd, *p);
    const uint64_t first = simd.dma_ins_skipped();
    RunBoth(scalar, simd, *p);
    EXPECT_GT(simd.dma_ins_skipped(), first) << Describe(p->c, p->seed);
    // A copy of the packed weights holds the same bytes under the same version: skipped as well.
    auto twin = std::make_unique<Prepared>(*p);
    const uint64_t second = simd.dma_ins_skipped();
    RunBoth(scalar, simd, *twin);
    EXPECT_GT(simd.dma_ins_skipped(), second);
  }
}

// A host write anywhere in SRAM: the next call copies the weights again.
TEST(HeldWeights, HostWriteMakesItCopyAgain) {
  for (const auto& p : Families(TestSeed(5202))) {
    ScalarMachine scalar(SmallConfig());
    SimdMachine simd(SmallConfig());
    RunBoth(scalar, simd, *p);
    for (uint8_t fill : {uint8_t{0x5A}, uint8_t{0xFF}}) {
      std::fill(scalar.sram().begin(), scalar.sram().end(), fill);
      std::fill(simd.sram().begin(), simd.sram().end(), fill);
      const uint64_t skipped = simd.dma_ins_skipped();
      RunBoth(scalar, simd, *p);
      EXPECT_EQ(simd.dma_ins_skipped(), skipped) << "a weight DMA_IN was skipped after the host wrote SRAM";
    }
  }
}

// Instructions writing 32 bytes of every 4 KiB of SRAM (VST of v0, zeros on both machines) or all of it (DMA_IN
// from another buffer):
// whatever of the weights they overwrite is copied again.
TEST(HeldWeights, InstructionWritesMakeItCopyAgain) {
  for (const auto& p : Families(TestSeed(5203))) {
    ScalarMachine scalar(SmallConfig());
    SimdMachine simd(SmallConfig());
    RunBoth(scalar, simd, *p);
    const uint32_t sram_bytes = SmallConfig().sram_bytes;
    for (Machine* m : {static_cast<Machine*>(&scalar), static_cast<Machine*>(&simd)}) {
      for (uint32_t at = 1000; at + 32 <= sram_bytes; at += 4096) {
        VStore st;
        st.vs = 0, st.type = DType::kU8, st.addr = at, st.stride = 1;
        m->Execute(st);
      }
    }
    RunBoth(scalar, simd, *p);
    std::vector<uint8_t> noise(sram_bytes, 0xA5);
    for (Machine* m : {static_cast<Machine*>(&scalar), static_cast<Machine*>(&simd)}) {
      m->BindDramReadOnly(0, noise.data(), noise.size());
      DmaIn d;
      d.segment = 0, d.rows = 1, d.row_bytes = sram_bytes;
      m->Execute(d);
      m->UnbindDram(0);
    }
    RunBoth(scalar, simd, *p);
  }
}

// Other weights of the same shape land where these were: a new version, so they are copied.
TEST(HeldWeights, OtherWeightsAtTheSamePlace) {
  const uint64_t seed = TestSeed(5204);
  auto ones = Families(seed);
  auto others = Families(seed + 10);
  ScalarMachine scalar(SmallConfig());
  SimdMachine simd(SmallConfig());
  for (int rep = 0; rep < 2; ++rep) {
    for (size_t f = 0; f < ones.size(); ++f) {
      RunBoth(scalar, simd, *ones[f]);
      RunBoth(scalar, simd, *others[f]);
    }
  }
}

}  // namespace
}  // namespace gemm_test
}  // namespace tile32

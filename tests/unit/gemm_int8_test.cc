// The GEMM family (kernels/gemm.h) on the scalar reference machine and on the SIMD machine forced to every
// Highway target this CPU supports, against the independent textbook loops of tests/common/reference.h,
// bit for bit (shared fixtures in tests/common/gemm_test_util.h).
// This file: INT8 and the requantized outputs — the INT8 edge grid (on the AMX path too), every requant mode,
// fused clamps, zero points at both ends of the range and accumulators that wrap.
// Seeds are fixed per test and printed on failure; TILE32_SEED overrides them all.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/gemm_loop.h"
#include "layout/tile_pack.h"
#include "tests/common/gemm_test_util.h"

namespace tile32 {
namespace gemm_test {
namespace {

// ---- The edge grid, per family ----

// Also on the AMX path (its software model where the host has no AMX, which is printed): the grid's TMACs of
// K = 1000 and M >= 16 go to it.
TEST(Gemm, Int8EdgeGrid) {
  test::ReportAmxCoverage();
  const uint64_t amx_rows_before = AmxTmacRowsRun();
  RunEdgeGrid(TestSeed(5001), [](Case& c, int index) { VaryInt(c, index, false); }, test::AmxVariantsToTest());
  EXPECT_GT(AmxTmacRowsRun(), amx_rows_before) << "no TMAC of the grid took the AMX path";
}

// ---- Requantization ----

// Every requant mode x per-tensor/per-channel x output type x family x clamp.
TEST(Gemm, RequantModes) {
  const uint64_t seed = TestSeed(5004);
  Machines machines(SmallConfig());
  int index = 0;
  for (RequantMode mode : kModes) {
    for (bool per_channel : {false, true}) {
      for (DType c_type : {DType::kU8, DType::kI8, DType::kI16}) {
        for (int family = 0; family < 3; ++family) {  // u8 x i8, i8 x u8, i16 x i16
          Case c;
          c.M = 19, c.N = 45, c.K = 77;
          c.a_type = family == 0 ? DType::kU8 : family == 1 ? DType::kI8 : DType::kI16;
          c.b_type = family == 0 ? DType::kI8 : family == 1 ? DType::kU8 : DType::kI16;
          if (family < 2) {
            c.a_zp = ZeroPointAt(c.a_type, index), c.b_zp = WeightZp::kPerChannel;
          }
          c.c_type = c_type, c.mode = mode, c.per_channel = per_channel;
          c.bias = true, c.lda_extra = 3, c.ldc_extra = 2;
          c.narrow_clamp = index % 3 == 1;
          RunEverywhere(machines, c, seed + index++);
          if (HasFailure()) return;
        }
      }
    }
  }
}

// Fused ReLU (qmin = zero point) and ReLU6-like clamps, per tensor, int8 and uint8 and int16.
TEST(Gemm, FusedClamps) {
  const uint64_t seed = TestSeed(5005);
  Machines machines(SmallConfig());
  int index = 0;
  for (DType c_type : {DType::kU8, DType::kI8, DType::kI16}) {
    Case c;
    c.M = 21, c.N = 40, c.K = 50, c.a_type = DType::kU8, c.b_type = DType::kI8, c.a_zp = 128, c.bias = true;
    c.c_type = c_type, c.mode = kModes[index % 4];
    auto p = Prepare(c, seed + index);
    int32_t lo, hi;
    RangeOf(c_type, &lo, &hi);
    p->ref_quant.qmin = p->ref_quant.zero_point;                                   // ReLU
    p->ref_quant.qmax = std::min(hi, p->ref_quant.zero_point + (hi - lo) / 5);     // ReLU6-like
    p->quant = KernelQuant(p->ref_quant, false);
    // Recompute the expected codes for the new clamp from the int32 results of the same case.
    Case raw = c;
    raw.c_type = DType::kI32;
    const auto acc = Prepare(raw, seed + index);
    std::vector<int32_t> acc_values(size_t(c.M) * c.N);
    for (int m = 0; m < c.M; ++m) {
      for (int n = 0; n < c.N; ++n) std::memcpy(&acc_values[size_t(m) * c.N + n], &acc->want[(size_t(m) * acc->ldc + n) * 4], 4);
    }
    const auto q = testing::RequantMatrixRef(acc_values, c.M, c.N, p->ref_quant);
    bool saw_min = false, saw_max = false;
    for (int m = 0; m < c.M; ++m) {
      for (int n = 0; n < c.N; ++n) {
        const int32_t v = q[size_t(m) * c.N + n];
        saw_min |= v == p->ref_quant.qmin, saw_max |= v == p->ref_quant.qmax;
        const uint16_t raw16 = static_cast<uint16_t>(v);
        std::memcpy(&p->want[(size_t(m) * p->ldc + n) * SizeOf(c_type)], &raw16, SizeOf(c_type));
      }
    }
    EXPECT_TRUE(saw_min && saw_max) << "the clamp is not exercised";
    SCOPED_TRACE(Describe(c, seed + index));
    machines.ForEach([&](Machine& machine, const std::string& name) { EXPECT_TRUE(RunOn(machine, *p, 0)) << name; });
    ++index;
  }
}

// ---- Extremes and wrap ----

// Zero points at both ends of the range for every INT8 type pair, per tensor and per channel, with
// extreme and random data.
TEST(Gemm, Int8ZeroPointExtremes) {
  const uint64_t seed = TestSeed(5006);
  Machines machines(SmallConfig());
  int index = 0;
  for (const TypePair& t : kInt8Types) {
    int32_t alo, ahi, blo, bhi;
    RangeOf(t.a, &alo, &ahi);
    RangeOf(t.b, &blo, &bhi);
    for (int32_t a_zp : {alo, ahi}) {
      for (int32_t b_zp : {blo, bhi}) {
        for (WeightZp kind : {WeightZp::kPerTensor, WeightZp::kPerChannel}) {
          Case c;
          c.M = 35, c.N = 37, c.K = 67;
          c.a_type = t.a, c.b_type = t.b, c.a_zp = a_zp, c.b_zp = kind, c.b_zp_value = b_zp;
          c.data = index % 2 ? Data::kExtreme : Data::kRandom;
          c.bias = index % 3 != 0;
          c.c_type = index % 4 == 3 ? DType::kI8 : DType::kI32, c.mode = kModes[index % 4];
          RunEverywhere(machines, c, seed + index++);
          if (HasFailure()) return;
        }
      }
    }
  }
}

// Accumulators that wrap mod 2^32: a bias next to INT32_MAX / INT32_MIN with extreme INT8 data and zero
// points, and int16 extremes (2^30 per product) over K = 1000.
TEST(Gemm, AccumulatorsWrap) {
  const uint64_t seed = TestSeed(5007);
  Machines machines(SmallConfig());
  int index = 0;
  for (int32_t base : {INT32_MAX - 50000, INT32_MIN + 50000}) {
    for (const TypePair& t : kInt8Types) {
      Case c;
      c.M = 9, c.N = 33, c.K = 300;
      c.a_type = t.a, c.b_type = t.b, c.data = Data::kExtreme, c.bias = true, c.bias_base = base;
      c.a_zp = ZeroPointAt(t.a, 1), c.b_zp = WeightZp::kPerTensor, c.b_zp_value = ZeroPointAt(t.b, 2 + index % 2);
      c.c_type = index % 2 ? DType::kI16 : DType::kI32, c.mode = RequantMode::kTflSingle;
      RunEverywhere(machines, c, seed + index++);
    }
  }
  for (DType c_type : {DType::kI32, DType::kI16, DType::kI8}) {
    Case c;
    c.M = 6, c.N = 35, c.K = 1000, c.a_type = c.b_type = DType::kI16, c.data = Data::kExtreme, c.bias = true;
    c.c_type = c_type, c.mode = kModes[index % 4], c.per_channel = true;
    RunEverywhere(machines, c, seed + index++);
  }
  // The int16 case really wraps: (-32768)^2 * 1000 is far beyond int32.
  std::vector<int16_t> a(1000, INT16_MIN), b(1000, INT16_MIN);
  GemmWeightsDesc d;
  d.a_type = d.b_type = DType::kI16, d.K = 1000, d.N = 1, d.b = b.data(), d.ldb = 1;
  const PackedGemmWeights w = PackGemmWeights(d);
  machines.ForEach([&](Machine& machine, const std::string& name) {
    int32_t out = 0;
    GemmArgs args;
    args.M = 1, args.a = a.data(), args.lda = 1000, args.c = &out, args.ldc = 1;
    Gemm(machine, w, args);
    EXPECT_EQ(out, static_cast<int32_t>(static_cast<uint32_t>(uint64_t{1000} << 30))) << name;
  });
}

// Resident weights DMA'd in windows ahead of their TMACs: 40 column blocks of 3 tiles in windows of 8 (a
// sixteenth of them), so that chunks cross a window's end, with and without the row sums' ones tiles between.
TEST(Gemm, ResidentWeightWindows) {
  const uint64_t seed = TestSeed(5008);
  Machines machines(SmallConfig());
  int index = 0;
  for (const TypePair& t : kInt8Types) {
    Case c;
    c.M = 40, c.N = 1270, c.K = 96;
    c.a_type = t.a, c.b_type = t.b, c.bias = index % 2 == 0;
    if (index % 2 == 1) c.b_zp = WeightZp::kPerChannel;
    RunEverywhere(machines, c, seed + index++);
  }
}

// A GEMM whose rows ACC and SRAM could hold at once still runs in blocks of BlockRowsCap rows (a quarter of
// ACC), with two ACC sets and two A buffers, so that the next block's loads overlap this block's TMACs; a
// ragged last block, on every machine and target, bit for bit.
TEST(Gemm, RowBlocksOfAQuarterOfAcc) {
  const AccelConfig config = AccelConfig::Default();
  const uint64_t cap = BlockRowsCap(config, 96);
  EXPECT_EQ(cap, config.acc_rows / 4);
  GemmLoopShape shape;
  shape.fn = "Gemm", shape.M = 2 * int64_t(cap) + 45, shape.mode = MacMode::kU8S8;
  shape.K = 96, shape.N = 70, shape.k_tiles = 3, shape.n_tiles = 3;
  shape.tile_bytes = TileImageBytes(DType::kI8), shape.out = DType::kI32;
  const GemmLoopPlan plan = PlanGemmLoop(config, shape);
  EXPECT_EQ(plan.rows, cap);
  EXPECT_EQ(plan.sets, 2);
  EXPECT_EQ(plan.bufs, 2);
  shape.M = int64_t(cap);  // one block: nothing to load ahead
  EXPECT_EQ(PlanGemmLoop(config, shape).bufs, 1);

  const uint64_t seed = TestSeed(5009);
  Machines machines(config);
  int index = 0;
  for (const TypePair& t : kInt8Types) {
    Case c;
    c.M = 2 * int(cap) + 45, c.N = 70, c.K = 96;
    c.a_type = t.a, c.b_type = t.b, c.bias = index % 2 == 0;
    RunEverywhere(machines, c, seed + index++);
  }
}

// Long activation rows: a block's A takes at most an eighth of SRAM (BlockRowsCap), in whole multiples of 32
// rows, unless that leaves fewer than 256 rows (then a quarter of ACC, as for short rows). Bit for bit on every
// machine and target where the SRAM share sets the blocks (a small SRAM, BF16 and INT16 rows).
TEST(Gemm, RowBlocksOfAnEighthOfSram) {
  AccelConfig config = AccelConfig::Default();
  EXPECT_EQ(BlockRowsCap(config, 2048), 512u);    // 1024^3 BF16: 1 MiB of A a block
  EXPECT_EQ(BlockRowsCap(config, 1152), 896u);    // K = 576 BF16: 910 rows, whole 32s
  EXPECT_EQ(BlockRowsCap(config, 1024), 1024u);   // 1024^3 INT8: ACC's quarter
  EXPECT_EQ(BlockRowsCap(config, 8192), 1024u);   // 128 rows would walk the weights too often
  config.sram_bytes = 256 << 10;
  EXPECT_EQ(BlockRowsCap(config, 128), 256u);
  GemmLoopShape shape;
  shape.fn = "Gemm", shape.M = 557, shape.mode = MacMode::kBF16;
  shape.K = 64, shape.N = 70, shape.k_tiles = 2, shape.n_tiles = 3;
  shape.tile_bytes = TileImageBytes(DType::kBF16), shape.out = DType::kF32;
  const GemmLoopPlan plan = PlanGemmLoop(config, shape);
  EXPECT_EQ(plan.rows, 256u);
  EXPECT_TRUE(plan.a_full);

  const uint64_t seed = TestSeed(5011);
  Machines machines(config);
  int index = 0;
  for (DType t : {DType::kBF16, DType::kI16}) {
    Case c;
    c.M = 557, c.N = 70, c.K = 64;
    c.a_type = t, c.b_type = t, c.bias = index % 2 == 0;
    c.c_type = t == DType::kBF16 ? DType::kF32 : DType::kI32;
    RunEverywhere(machines, c, seed + index++);
  }
}

}  // namespace
}  // namespace gemm_test
}  // namespace tile32

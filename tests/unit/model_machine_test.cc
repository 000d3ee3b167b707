// The model machine (accel/model_machine.h): the same counts as the machines that compute, for every
// operator; and its timing rule on hand-made programs (independent units overlap, dependent instructions
// wait, in-order issue).
#include "accel/model_machine.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <vector>

#include "accel/error.h"
#include "accel/scalar_machine.h"
#include "kernels/channel_shuffle.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"

namespace tile32 {
namespace {

// Every operator once (GEMM, direct, Winograd and depthwise convolution, channel shuffle), on any machine.
void RunOperators(Machine& m) {
  std::vector<int8_t> b(96 * 70, 3);
  GemmWeightsDesc wd;
  wd.K = 96, wd.N = 70, wd.b = b.data(), wd.ldb = 70;
  const PackedGemmWeights w = PackGemmWeights(wd);
  std::vector<uint8_t> a(50 * 96, 7);
  std::vector<int32_t> c(50 * 70);
  GemmArgs ga;
  ga.M = 50, ga.a = a.data(), ga.lda = 96, ga.c = c.data(), ga.ldc = 70, ga.threads = 1;
  Gemm(m, w, ga);

  for (ConvAlgorithm alg : {ConvAlgorithm::kDirect, ConvAlgorithm::kWinograd, ConvAlgorithm::kDepthwise}) {
    const int C = 40, K = alg == ConvAlgorithm::kDepthwise ? 40 : 48;
    std::vector<int8_t> cw(size_t(K) * 9 * (alg == ConvAlgorithm::kDepthwise ? 1 : C), 1);
    ConvDesc d;
    d.in_channels = C, d.out_channels = K, d.kernel_h = d.kernel_w = 3;
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1, d.w = cw.data(), d.algorithm = alg;
    if (alg == ConvAlgorithm::kDepthwise) d.groups = C;
    const PackedConv p = PackConv(d);
    std::vector<uint8_t> x(size_t(11) * 13 * C, 5);
    std::vector<int32_t> y(size_t(11) * 13 * K);
    ConvArgs ca;
    ca.height = 11, ca.width = 13, ca.x = x.data(), ca.y = y.data(), ca.threads = 1;
    Conv(m, p, ca);
  }

  ChannelShuffleDesc sd;
  sd.channels = 116, sd.groups = 2;
  const PackedChannelShuffle sp = PackChannelShuffle(sd);
  std::vector<uint8_t> sx(size_t(9) * 116, 1), sy(sx.size());
  ChannelShuffleArgs sa;
  sa.height = 3, sa.width = 3, sa.x = sx.data(), sa.y = sy.data(), sa.threads = 1;
  ChannelShuffle(m, sp, sa);
}

TEST(ModelMachine, SameCountsWithAndWithoutData) {
  ScalarMachine scalar(AccelConfig::Default());
  ModelMachine model(AccelConfig::Default());
  RunOperators(scalar);
  RunOperators(model);
  const Counters &s = scalar.counters(), &m = model.counters();
  EXPECT_EQ(m.instructions, s.instructions);
  for (size_t i = 0; i < kInstrKinds; ++i) EXPECT_EQ(m.per_opcode[i], s.per_opcode[i]) << MnemonicOf(i);
  EXPECT_EQ(m.total.cycles, s.total.cycles);
  EXPECT_EQ(m.total.tile_cycles, s.total.tile_cycles);
  EXPECT_EQ(m.total.sram_cycles, s.total.sram_cycles);
  EXPECT_EQ(m.total.conflict_cycles, s.total.conflict_cycles);
  EXPECT_EQ(m.total.mux_passes, s.total.mux_passes);
  EXPECT_EQ(m.total.dram_bytes, s.total.dram_bytes);
  EXPECT_EQ(m.total.macs, s.total.macs);
  // The timed makespan is at most the serial sum, and so is every unit's busy cycles (the MACs' cycles shared
  // by the tile arrays, the DMAs' latencies overlapping).
  const ModelTiming& t = model.timing();
  uint64_t busy = 0;
  for (const UnitTime& u : t.unit) busy += u.busy;
  EXPECT_LE(busy, m.total.cycles);
  EXPECT_LE(t.cycles, m.total.cycles);
  EXPECT_GT(t.cycles, 0u);
  // The arrays' timeline adds up exactly: MACs, tile loads and idle cycles by cause.
  uint64_t idle = 0;
  for (uint64_t c : t.idle_on) idle += c;
  EXPECT_EQ(t.mac_busy + t.tile_load + idle, t.cycles);
  EXPECT_EQ(t.idle_on[int(Unit::kTile)], 0u);  // the arrays never wait on themselves
  EXPECT_LE(t.mac_array, t.mac_busy);
}

TEST(ModelMachine, BadInstructionsAreRefusedAsOnTheOtherMachines) {
  ModelMachine model(AccelConfig::Default());
  TileMac t;  // tile T0 never loaded
  EXPECT_THROW(model.Execute(t), Error);
  EXPECT_EQ(model.counters().instructions, 0u);
  EXPECT_EQ(model.timing().cycles, 0u);
}

class ModelTimingTest : public ::testing::Test {
 protected:
  ModelTimingTest() : m(OneArray()), dram(1 << 16) { m.BindDram(0, dram.data(), dram.size()); }
  static AccelConfig OneArray() {
    AccelConfig c;
    c.tile_units = 1;  // a MAC takes its §8.1 cycles
    return c;
  }
  uint64_t Cost(const Instr& i) { return CostOf(i, m.config()).cycles; }
  // The cycles a DMA holds the DRAM channel: its cost less the first-byte latency (§8.3).
  uint64_t Transfer(const DmaIn& d) { return Cost(d) - m.config().dram_latency_cycles; }
  DmaIn Load(uint32_t sram) {
    DmaIn d;
    d.sram = sram, d.segment = 0, d.rows = 1, d.row_bytes = 4096;
    return d;
  }
  TileMac Mac(uint32_t a_addr) {
    TileMac t;
    t.mode = MacMode::kU8S8, t.rows = 64, t.a_addr = a_addr, t.a_stride = 32, t.tile = 0, t.tiles = 1;
    return t;
  }
  ModelMachine m;
  std::vector<uint8_t> dram;
};

TEST_F(ModelTimingTest, IndependentUnitsOverlap) {
  TileLoad tl;  // the tile image at 0
  m.Execute(tl);
  m.ResetTiming();
  // The TMAC reads [8192, +2048); the DMA writes [65536, +4096): no conflict, different units.
  m.Execute(Load(65536));
  m.Execute(Mac(8192));
  EXPECT_EQ(m.timing().cycles, std::max(Cost(Load(65536)), Cost(Mac(8192))));
  EXPECT_EQ(m.timing().unit[int(Unit::kTile)].dep_stall, 0u);
}

TEST_F(ModelTimingTest, ADependentInstructionWaits) {
  TileLoad tl;
  m.Execute(tl);
  m.ResetTiming();
  // The TMAC reads what the DMA writes: it starts when the DMA has finished.
  m.Execute(Load(8192));
  m.Execute(Mac(8192));
  EXPECT_EQ(m.timing().cycles, Cost(Load(8192)) + Cost(Mac(8192)));
  EXPECT_EQ(m.timing().unit[int(Unit::kTile)].dep_stall, Cost(Load(8192)));
  EXPECT_EQ(m.timing().waited_on[int(Unit::kDma)], Cost(Load(8192)));
  // The arrays stood idle for the whole DMA, and it is charged to the DMA engines.
  EXPECT_EQ(m.timing().idle_on[int(Unit::kDma)], Cost(Load(8192)));
  EXPECT_EQ(m.timing().mac_busy, Cost(Mac(8192)));
}

TEST_F(ModelTimingTest, IdleCyclesFollowTheChainOfCauses) {
  TileLoad tl;
  m.Execute(tl);
  m.ResetTiming();
  // DMA, then an ACC_LD of what it loaded into the ACC rows the TMAC adds to (the TMAC waits on the vector
  // unit, which waited on the DMA), then a REQ of the TMAC's rows and a DMA_OUT of what it wrote.
  m.Execute(Load(8192));
  AccLoad add;  // the seed: 64 rows of int32 from the loaded bytes
  add.rows = 64, add.addr = 8192;
  m.Execute(add);
  m.Execute(Mac(8192));
  SetQuant q;
  q.q.multiplier.fill(1 << 30);
  m.Execute(q);
  Requant r;
  r.rows = 64, r.addr = 32768;
  m.Execute(r);
  DmaOut o;
  o.sram = 32768, o.segment = 0, o.dram = 0, o.rows = 64, o.row_bytes = 32, o.dram_stride = 32, o.sram_stride = 32;
  m.Execute(o);
  const ModelTiming t = m.timing();
  uint64_t idle = 0;
  for (uint64_t c : t.idle_on) idle += c;
  EXPECT_EQ(t.mac_busy + t.tile_load + idle, t.cycles);
  EXPECT_EQ(t.mac_busy, Cost(Mac(8192)));
  // Before the MAC: the DMA and then the ACC_LD; after it, the REQ and then the DMA_OUT (the QCFG ran while
  // the MAC did).
  EXPECT_EQ(t.idle_on[int(Unit::kVector)], Cost(add));
  EXPECT_EQ(t.idle_on[int(Unit::kRequant)], Cost(r));
  EXPECT_EQ(t.idle_on[int(Unit::kDma)], Cost(Load(8192)) + Cost(o));
}

TEST_F(ModelTimingTest, OneUnitRunsOneInstructionAtATime) {
  AccZero z;
  z.rows = 64;
  m.Execute(z);
  z.row = 64;  // independent, but the same unit
  m.Execute(z);
  EXPECT_EQ(m.timing().cycles, 2 * Cost(z));
  EXPECT_EQ(m.timing().unit[int(Unit::kVector)].busy, 2 * Cost(z));
}

// DMAs share the one DRAM channel, one transfer at a time, but the next one's first-byte latency overlaps
// the transfer before it (the engines keep several requests outstanding).
TEST_F(ModelTimingTest, DmasShareTheChannelWithTheirLatenciesOverlapped) {
  m.Execute(Load(0));
  m.Execute(Load(65536));
  const uint64_t latency = m.config().dram_latency_cycles;
  ASSERT_GT(latency, 0u);
  EXPECT_EQ(m.timing().cycles, latency + 2 * Transfer(Load(0)));
  EXPECT_EQ(m.timing().unit[int(Unit::kDma)].busy, 2 * Transfer(Load(0)));
}

// A DMA waiting for the DMA engine holds up no other unit: the MAC after it starts at once.
TEST_F(ModelTimingTest, AUnitWaitingForItsTurnHoldsUpNoOtherUnit) {
  TileLoad tl;
  m.Execute(tl);
  m.ResetTiming();
  m.Execute(Load(16384));
  m.Execute(Load(65536));  // waits for the first
  m.Execute(Mac(8192));    // independent of both
  EXPECT_EQ(m.timing().cycles, std::max(m.config().dram_latency_cycles + 2 * Transfer(Load(0)), Cost(Mac(8192))));
  // The arrays ran from 0; after the MAC they wait for the DMAs to end the layer.
  EXPECT_EQ(m.timing().idle_on[int(Unit::kDma)], m.timing().cycles - Cost(Mac(8192)));
}

// A unit's queue holds kQueueDepth instructions: with the DMA engine busy, the DMA after that many more waits
// to enter, and so does the independent MAC behind it in program order.
TEST_F(ModelTimingTest, AFullQueueHoldsUpTheInstructionsBehindIt) {
  for (uint8_t t = 0; t < 4; ++t) {
    TileLoad tl;
    tl.td = t;
    m.Execute(tl);
  }
  m.ResetTiming();
  const uint64_t load = Transfer(Load(0));  // how long each holds the DMA engine
  for (size_t i = 0; i < kQueueDepth + 2; ++i) m.Execute(Load(16384 + 4096 * uint32_t(i % 8)));
  TileMac mac = Mac(65536 + 8192);
  mac.rows = 2048, mac.tiles = 4;  // longer than all the DMAs
  ASSERT_GT(Cost(mac), (kQueueDepth + 2) * load);
  m.Execute(mac);
  // The last DMA entered when the second started (at `load`: the first had left the queue at 0); the MAC
  // entered with it, and the arrays waited those cycles on the DMA engine's queue.
  EXPECT_EQ(m.timing().cycles, load + Cost(mac));
  EXPECT_EQ(m.timing().idle_on[int(Unit::kDma)], load);
}

TEST_F(ModelTimingTest, TheTileArraysShareAMacsRows) {
  AccelConfig four;
  four.tile_units = 4;
  ModelMachine m4(four);
  TileLoad tl;
  m4.Execute(tl);
  m4.ResetTiming();
  m4.Execute(Mac(8192));
  EXPECT_EQ(m4.timing().cycles, (Cost(Mac(8192)) + 3) / 4);
}

TEST_F(ModelTimingTest, TheVectorAndRequantUnitsShareARowInstructionsRows) {
  AccelConfig c;
  c.vector_units = 4, c.requant_units = 2;
  ModelMachine m4(c);
  AccAlu add;  // 10 rows: ceil(10 / 4) = 3 cycles on four vector units
  add.rows = 10, add.dst = 0, add.a = 100, add.b = 200;
  m4.Execute(add);
  EXPECT_EQ(m4.timing().cycles, (Cost(add) + 3) / 4);
  m4.ResetTiming();
  Requant req;  // 10 int8 rows at 32-byte strides: one bank cycle each, ceil(10 / 2) = 5 on two requant units
  req.acc_row = 300, req.rows = 10, req.out = DType::kI8, req.addr = 8192, req.row_stride = 32;
  m4.Execute(req);
  EXPECT_EQ(Cost(req), 10u);
  EXPECT_EQ(m4.timing().cycles, 5u);
  m4.ResetTiming();
  VAlu one;  // one vector: nothing to share
  m4.Execute(one);
  EXPECT_EQ(m4.timing().cycles, Cost(one));
}

TEST_F(ModelTimingTest, ADmaOfATensorKeptOnChipMovesWithinSram) {
  std::vector<uint8_t> kept(1 << 16), other(1 << 16);
  m.BindDram(1, kept.data() + 4096, 8192);  // a segment inside the kept tensor
  m.BindDram(2, other.data(), other.size());
  m.KeepOnChip({{kept.data(), kept.size()}});
  DmaIn in = Load(0);
  in.segment = 1;
  m.Execute(in);
  const uint64_t width = uint64_t{m.config().sram_banks} * m.config().bank_bytes;
  EXPECT_EQ(m.timing().cycles, (4096 + width - 1) / width);  // no DRAM latency, the banks' width per cycle
  EXPECT_EQ(m.timing().on_chip_bytes, 4096u);
  EXPECT_EQ(m.counters().total.dram_bytes, 4096u);  // what the instruction names, as on every machine
  m.ResetTiming();
  in.segment = 2;  // another tensor: through DRAM
  m.Execute(in);
  EXPECT_EQ(m.timing().cycles, Cost(in));
  EXPECT_EQ(m.timing().on_chip_bytes, 0u);
  m.ResetTiming();
  m.KeepOnChip({});
  in.segment = 1;
  m.Execute(in);
  EXPECT_EQ(m.timing().cycles, Cost(in));
}

TEST_F(ModelTimingTest, DoubleBufferingHidesTheDma) {
  TileLoad tl;
  m.Execute(tl);
  m.ResetTiming();
  // Band k is computed from buffer k % 2 while band k + 1 loads into the other.
  const uint32_t buf[2] = {16384, 65536};
  m.Execute(Load(buf[0]));
  for (int k = 0; k < 8; ++k) {
    if (k + 1 < 8) m.Execute(Load(buf[(k + 1) % 2]));
    m.Execute(Mac(buf[k % 2]));
  }
  const uint64_t load = Cost(Load(0)), mac = Cost(Mac(0)), longer = std::max(Transfer(Load(0)), mac);
  EXPECT_LT(m.timing().cycles, 8 * (load + mac));  // serial
  // Pipelined: the first load, then one step of the longer of the two per band, then the last MAC.
  EXPECT_LE(m.timing().cycles, load + 8 * longer + mac);
  EXPECT_GE(m.timing().cycles, 8 * longer);
}

}  // namespace
}  // namespace tile32

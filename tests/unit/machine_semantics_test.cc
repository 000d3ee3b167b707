// The machines against docs/isa.md, semantics: the overflow flag of §6.3, and small hand-computed examples
// of TLD tile order, TMAC, EMAC, REQ, VPERM, VALU, VLD/VST and ACC moves. Each test runs on the scalar
// machine and on the SIMD machine forced to every Highway target this CPU supports (shared fixtures in
// tests/common/machine_test_util.h; error paths in machine_errors_test.cc).
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
// §3.4 a tile register is a copy: host writes to SRAM after TLD do not change it

TEST_P(MachineTest, HostSramWritesAfterTldLeaveTheTileAlone) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig(false));
  for (int i = 0; i < kLanes * kLanes; ++i) m->sram()[i] = 2;  // T0 = 2
  std::memset(m->sram().data() + 2048, 3, 32);                   // A = 3
  TileLoad t;
  m->Execute(t);
  std::memset(m->sram().data(), 5, kLanes * kLanes);  // SRAM under T0 changes, T0 does not
  TileMac mac;
  mac.mode = MacMode::kS8S8, mac.a_addr = 2048;
  m->Execute(mac);
  for (int j = 0; j < kLanes; ++j) EXPECT_EQ(Acc(*m, 0, j), 32 * 2 * 3) << "lane " << j;
  for (int k = 0; k < kLanes; ++k) EXPECT_EQ(m->tile(0)[k * kLanes + 7], 2) << "k " << k;
}

// ---------------------------------------------------------------------------------------------------
// §6.3 overflow flag

TEST_P(MachineTest, OverflowFlagOnlyWhenCheckingAndResultsIdentical) {
  // The same program with check_overflow off and on: identical state except the flag.
  auto run = [&](bool check) {
    std::unique_ptr<ScalarMachine> m = Make(SmallConfig(check));
    for (int k = 0; k < kLanes; ++k)
      for (int j = 0; j < kLanes; ++j) m->sram()[(k / 4) * 128 + j * 4 + k % 4] = 0x7F;  // T0 = 127
    std::memset(m->sram().data() + 2048, 0x7F, 32);                                    // A = 127
    TileLoad t;
    m->Execute(t);
    SetAcc(*m, 0, Fill(0x7FFFFFFF - 100));
    TileMac mac;
    mac.mode = MacMode::kS8S8, mac.a_addr = 2048;
    EXPECT_FALSE(m->overflow());
    m->Execute(mac);  // + 32 * 16129: wraps
    return m;
  };
  std::unique_ptr<ScalarMachine> off = run(false), on = run(true);
  EXPECT_FALSE(off->overflow());
  EXPECT_TRUE(on->overflow());
  for (int j = 0; j < kLanes; ++j) {
    EXPECT_EQ(Acc(*off, 0, j), static_cast<int32_t>(0x7FFFFFFFu - 100u + 32u * 16129u));
    EXPECT_EQ(off->acc_row(0)[j], on->acc_row(0)[j]);
  }
  MachineState a = Snapshot(*off), b = Snapshot(*on);
  b.overflow = false;
  EXPECT_EQ(FirstDifference(a, b), "");
  on->ClearOverflow();
  EXPECT_FALSE(on->overflow());
}

TEST_P(MachineTest, OverflowFlagPerOperation) {
  struct Case {
    const char* name;
    std::function<void(ScalarMachine&)> run;
    bool overflows;
  };
  auto alu = [](AluOp op, int32_t a, int32_t b, int32_t imm) {
    return [=](ScalarMachine& m) {
      SetV(m, 1, Fill(a));
      SetV(m, 2, Fill(b));
      VAlu i;
      i.op = op, i.vd = 3, i.va = 1, i.vb = 2, i.imm = imm;
      m.Execute(i);
    };
  };
  auto emac = [](MacMode mode, int32_t acc, uint8_t act_byte, uint32_t w) {
    return [=](ScalarMachine& m) {
      SetAcc(m, 4, Fill(acc));
      std::memset(m.sram().data() + 3000, act_byte, 64);
      SetV(m, 0, Fill(static_cast<int32_t>(w)));
      ElemMac e;
      e.mode = mode, e.acc_row = 4, e.a_addr = 3000, e.vw = 0;
      m.Execute(e);
    };
  };
  const std::vector<Case> cases = {
      {"add overflows", alu(AluOp::kAdd, INT32_MAX, 1, 0), true},
      {"add in range", alu(AluOp::kAdd, INT32_MAX, 0, 0), false},
      {"add negative overflow", alu(AluOp::kAdd, INT32_MIN, -1, 0), true},
      {"sub overflows", alu(AluOp::kSub, 0, INT32_MIN, 0), true},
      {"sub in range", alu(AluOp::kSub, -1, INT32_MIN, 0), false},
      {"mul overflows", alu(AluOp::kMul, INT32_MIN, -1, 0), true},
      {"mul in range", alu(AluOp::kMul, -65536, 32768, 0), false},
      {"mul overflows 65536^2", alu(AluOp::kMul, 65536, 65536, 0), true},
      {"sll 1 << 31 overflows", alu(AluOp::kSll, 1, 0, 31), true},
      {"sll -1 << 31 is in range", alu(AluOp::kSll, -1, 0, 31), false},
      {"sll 0x40000000 << 1 overflows", alu(AluOp::kSll, 0x40000000, 0, 1), true},
      {"sra never", alu(AluOp::kSra, INT32_MIN, 0, 31), false},
      {"min never", alu(AluOp::kMin, INT32_MIN, INT32_MAX, 0), false},
      {"max never", alu(AluOp::kMax, INT32_MIN, INT32_MAX, 0), false},
      {"movi never", alu(AluOp::kMovi, 0, 0, INT32_MIN), false},
      {"emac s8s8 wraps", emac(MacMode::kS8S8, INT32_MAX, 0x80, 0x80), true},
      {"emac s8s8 in range", emac(MacMode::kS8S8, INT32_MAX - 16384, 0x80, 0x80), false},
      {"emac u8s8 wraps down", emac(MacMode::kU8S8, INT32_MIN, 0xFF, 0x80), true},
      {"emac s16s16 wraps", emac(MacMode::kS16S16, INT32_MAX - 1000000, 0x80, 0x8080), true},  // + 32640^2
      {"emac s16s16 in range", emac(MacMode::kS16S16, 1 << 30, 0x80, 0x8080), false},
      {"emac bf16 never", emac(MacMode::kBF16, 0x7F7FFFFF, 0x7F, 0x7F7F0000u), false},
  };
  for (const Case& k : cases) {
    for (bool check : {false, true}) {
      std::unique_ptr<ScalarMachine> m = Make(SmallConfig(check));
      k.run(*m);
      EXPECT_EQ(m->overflow(), check && k.overflows) << k.name << (check ? " (checking)" : " (not checking)");
    }
  }
}

TEST_P(MachineTest, OverflowFlagIsStickyAndUsesTheExactRowSum) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig(true));
  // T0[0][j] = 127, T0[1][j] = -127: products cancel; a running sum from INT32_MAX would overflow.
  for (int j = 0; j < kLanes; ++j) m->sram()[j * 4] = 0x7F, m->sram()[j * 4 + 1] = 0x81;
  m->sram()[2048] = 0x7F;
  m->sram()[2049] = 0x7F;
  m->Execute(TileLoad{});
  SetAcc(*m, 0, Fill(INT32_MAX));
  TileMac mac;
  mac.mode = MacMode::kS8S8, mac.a_addr = 2048;
  m->Execute(mac);
  EXPECT_FALSE(m->overflow());
  EXPECT_EQ(Acc(*m, 0, 0), INT32_MAX);
  // Sticky: set by one instruction, kept by the next, cleared only by the host.
  SetV(*m, 1, Fill(INT32_MAX));
  VAlu add;
  add.op = AluOp::kAdd, add.vd = 2, add.va = 1, add.vb = 1;
  m->Execute(add);
  EXPECT_TRUE(m->overflow());
  add.vb = 0;
  SetV(*m, 0, Fill(0));
  m->Execute(add);
  EXPECT_TRUE(m->overflow());
  m->ClearOverflow();
  EXPECT_FALSE(m->overflow());
}

// ---------------------------------------------------------------------------------------------------
// Hand-computed examples

TEST_P(MachineTest, TileLoadUsesTileOrder) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig());
  for (int b = 0; b < 2048; ++b) m->sram()[b] = static_cast<uint8_t>(b * 7 + b / 256);
  TileLoad t;
  t.td = 0, t.type = DType::kI8;
  m->Execute(t);
  const auto& t8 = m->tile(0);
  auto i8 = [&](int b) { return static_cast<uint16_t>(static_cast<int16_t>(static_cast<int8_t>(m->sram()[b]))); };
  EXPECT_EQ(t8[0 * 32 + 0], i8(0));    // byte 0: T[0][0]
  EXPECT_EQ(t8[1 * 32 + 0], i8(1));    // byte 1: T[1][0]
  EXPECT_EQ(t8[3 * 32 + 0], i8(3));    // byte 3: T[3][0]
  EXPECT_EQ(t8[0 * 32 + 1], i8(4));    // byte 4: T[0][1]
  EXPECT_EQ(t8[4 * 32 + 0], i8(128));  // byte 128: T[4][0]
  EXPECT_EQ(t8[31 * 32 + 31], i8(1023));
  for (int k = 0; k < 32; ++k)
    for (int j = 0; j < 32; ++j) ASSERT_EQ(t8[k * 32 + j], i8((k / 4) * 128 + j * 4 + k % 4)) << k << "," << j;
  t.td = 1, t.type = DType::kI16;
  m->Execute(t);
  const auto& t16 = m->tile(1);
  auto e16 = [&](int e) { return static_cast<uint16_t>(m->sram()[2 * e] | m->sram()[2 * e + 1] << 8); };
  EXPECT_EQ(t16[0 * 32 + 0], e16(0));   // element 0: T[0][0]
  EXPECT_EQ(t16[1 * 32 + 0], e16(1));   // element 1: T[1][0]
  EXPECT_EQ(t16[0 * 32 + 1], e16(2));   // element 2: T[0][1]
  EXPECT_EQ(t16[2 * 32 + 0], e16(64));  // element 64: T[2][0]
  for (int k = 0; k < 32; ++k)
    for (int j = 0; j < 32; ++j) ASSERT_EQ(t16[k * 32 + j], e16((k / 2) * 64 + j * 2 + k % 2)) << k << "," << j;
  EXPECT_EQ(m->tile_type(0), DType::kI8);
  EXPECT_EQ(m->tile_type(1), DType::kI16);
  EXPECT_EQ(m->tile_type(2), DType::kI32);  // never loaded

  // Through TMAC: a unit activation e_k picks row k of the tile.
  for (int k : {0, 1, 5, 31}) {
    std::memset(m->sram().data() + 4096, 0, 32);
    m->sram()[4096 + k] = 1;
    AccZero z;
    m->Execute(z);
    TileMac mac;
    mac.mode = MacMode::kS8S8, mac.a_addr = 4096;
    m->Execute(mac);
    for (int j = 0; j < kLanes; ++j) ASSERT_EQ(Acc(*m, 0, j), static_cast<int16_t>(t8[k * 32 + j])) << k << "," << j;
  }
}

// Writes a 32x32 int8 tile with T[k][j] = f(k, j) in tile order at addr.
void PutTileI8(ScalarMachine& m, uint32_t addr, const std::function<int(int, int)>& f) {
  for (int k = 0; k < 32; ++k)
    for (int j = 0; j < 32; ++j) m.sram()[addr + (k / 4) * 128 + j * 4 + k % 4] = static_cast<uint8_t>(f(k, j));
}

TEST_P(MachineTest, TmacSmallExamples) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig());
  PutTileI8(*m, 0, [](int, int j) { return j; });                   // T0[k][j] = j
  PutTileI8(*m, 1024, [](int k, int j) { return k == j ? -3 : 0; }); // T1 = -3 I
  PutTileI8(*m, 2048, [](int, int) { return 1; });                  // T2 = all ones
  for (uint8_t t = 0; t < 3; ++t) {
    TileLoad l;
    l.td = t, l.type = DType::kI8, l.addr = 1024u * t;
    m->Execute(l);
  }
  for (int k = 0; k < 32; ++k) {
    m->sram()[8192 + k] = 1;                           // row 0: all 1
    m->sram()[8192 + 32 + k] = static_cast<uint8_t>(k);  // row 1: A[k] = k
    m->sram()[8192 + 64 + k] = 2;                      // row 2: all 2, then the second tile's part
    m->sram()[8192 + 96 + k] = 1;
  }
  TileMac mac;
  mac.mode = MacMode::kS8S8, mac.acc_row = 0, mac.rows = 2, mac.a_addr = 8192, mac.a_stride = 32, mac.tile = 0;
  m->Execute(mac);
  for (int j = 0; j < kLanes; ++j) {
    EXPECT_EQ(Acc(*m, 0, j), 32 * j);   // sum_k 1 * j
    EXPECT_EQ(Acc(*m, 1, j), 496 * j);  // sum_k k * j
  }
  mac.acc_row = 2, mac.rows = 1, mac.a_addr = 8192 + 64, mac.tile = 1, mac.tiles = 2;  // [2 ... | 1 ...] x [T1; T2]
  m->Execute(mac);
  for (int j = 0; j < kLanes; ++j) EXPECT_EQ(Acc(*m, 2, j), -6 + 32);
  m->Execute(mac);  // accumulates
  for (int j = 0; j < kLanes; ++j) EXPECT_EQ(Acc(*m, 2, j), 2 * 26);
  // U8S8: 255 is 255, not -1.
  std::memset(m->sram().data() + 9000, 0xFF, 32);
  mac.mode = MacMode::kU8S8, mac.acc_row = 3, mac.a_addr = 9000, mac.tile = 0, mac.tiles = 1;
  m->Execute(mac);
  for (int j = 0; j < kLanes; ++j) EXPECT_EQ(Acc(*m, 3, j), 255 * 32 * j);
  mac.mode = MacMode::kS8S8, mac.acc_row = 4;
  m->Execute(mac);
  for (int j = 0; j < kLanes; ++j) EXPECT_EQ(Acc(*m, 4, j), -32 * j);

  // BF16: A = 1.5, W = 2.0: 32 * 3.0 = 96.0 exactly; int16: A = -2, W = 300.
  for (int e = 0; e < 1024; ++e) Put16(*m, 12288 + 2 * e, 0x4000);  // 2.0
  for (int e = 0; e < 1024; ++e) Put16(*m, 16384 + 2 * e, 300);
  for (int k = 0; k < 32; ++k) Put16(*m, 20480 + 2 * k, 0x3FC0), Put16(*m, 20544 + 2 * k, 0xFFFE);
  TileLoad l;
  l.td = 3, l.type = DType::kBF16, l.addr = 12288;
  m->Execute(l);
  l.td = 4, l.type = DType::kI16, l.addr = 16384;
  m->Execute(l);
  mac.mode = MacMode::kBF16, mac.acc_row = 5, mac.a_addr = 20480, mac.tile = 3;
  m->Execute(mac);
  mac.mode = MacMode::kS16S16, mac.acc_row = 6, mac.a_addr = 20544, mac.tile = 4;
  m->Execute(mac);
  for (int j = 0; j < kLanes; ++j) {
    EXPECT_EQ(m->acc_row(5)[j], F32ToBits(96.0f));
    EXPECT_EQ(Acc(*m, 6, j), -2 * 300 * 32);
  }
}

TEST_P(MachineTest, EmacUsesTheLowOrHighBitsOfTheWeightLane) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig());
  std::array<int32_t, kLanes> w;
  for (int j = 0; j < kLanes; ++j) w[j] = static_cast<int32_t>(0x3F805680u + j);  // bf16 1.0 | i16 0x5680+j
  SetV(*m, 0, w);
  for (int j = 0; j < kLanes; ++j) m->sram()[100 + j] = static_cast<uint8_t>(j);  // A[j] = j (s8/u8)
  for (int j = 0; j < kLanes; ++j) Put16(*m, 200 + 2 * j, static_cast<uint16_t>(-j));
  for (int j = 0; j < kLanes; ++j) Put16(*m, 300 + 2 * j, 0x4040);  // bf16 3.0
  ElemMac e;
  e.vw = 0, e.rows = 1;
  e.mode = MacMode::kS8S8, e.acc_row = 0, e.a_addr = 100;
  m->Execute(e);
  e.mode = MacMode::kS16S16, e.acc_row = 1, e.a_addr = 200;
  m->Execute(e);
  e.mode = MacMode::kBF16, e.acc_row = 2, e.a_addr = 300;
  m->Execute(e);
  e.mode = MacMode::kU8S8, e.acc_row = 3, e.a_addr = 100, e.rows = 2, e.a_stride = 0;  // rows 3 and 4
  m->Execute(e);
  for (int j = 0; j < kLanes; ++j) {
    const int32_t w8 = static_cast<int8_t>(0x80 + j);  // low byte 0x80 + j
    EXPECT_EQ(Acc(*m, 0, j), j * w8);
    EXPECT_EQ(Acc(*m, 1, j), -j * (0x5680 + j));
    EXPECT_EQ(m->acc_row(2)[j], F32ToBits(3.0f));
    EXPECT_EQ(Acc(*m, 3, j), j * w8);
    EXPECT_EQ(Acc(*m, 4, j), j * w8);
  }
}

TEST_P(MachineTest, RequantExamples) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig());
  std::array<int32_t, kLanes> x;
  for (int j = 0; j < kLanes; ++j) x[j] = j % 2 ? -(2 * j + 1) : 2 * j + 1;  // odd: ties at scale 0.5
  x[0] = 7984;
  SetAcc(*m, 0, x);
  QuantConfig q;
  q.multiplier.fill(1 << 30);  // 0.5
  q.multiplier[0] = 1583594044;
  q.shift[0] = -9;
  q.zero_point = -10;
  m->Execute(SetQuant{q});
  Requant r;
  r.addr = 1000;
  m->Execute(r);
  auto i8 = [&](uint32_t a) { return static_cast<int>(static_cast<int8_t>(m->sram()[a])); };
  EXPECT_EQ(i8(1000), 12 - 10);  // the known TFL_DOUBLE value
  for (int j = 1; j < kLanes; ++j) {
    const int want = (x[j] + (x[j] > 0 ? 1 : 0)) / 2;  // SRDHM tie of x/2 toward +infinity
    EXPECT_EQ(i8(1000 + j), std::clamp(want - 10, -128, 127)) << "x " << x[j];
  }
  q.mode = RequantMode::kTflSingle;
  m->Execute(SetQuant{q});
  m->Execute(r);
  EXPECT_EQ(i8(1000), 11 - 10);
  q.mode = RequantMode::kFloatRne;
  q.scale.fill(0.5f);
  q.zero_point = 100, q.qmin = 0, q.qmax = 255;
  m->Execute(SetQuant{q});
  r.out = DType::kU8, r.addr = 2000;
  m->Execute(r);
  EXPECT_EQ(m->sram()[2000], 255);      // 3992 + 100 clamps to qmax
  EXPECT_EQ(m->sram()[2001], 100 - 2);  // -1.5 -> -2
  EXPECT_EQ(m->sram()[2002], 100 + 2);  // 2.5 -> 2
  EXPECT_EQ(m->sram()[2003], 100 - 4);  // -3.5 -> -4
  q.mode = RequantMode::kFloatZpFirst;
  q.zero_point = 101;  // odd: the tie moves to the other side
  m->Execute(SetQuant{q});
  m->Execute(r);
  EXPECT_EQ(m->sram()[2001], 100);  // rne(-1.5 + 101 = 99.5); FLOAT_RNE would give -2 + 101 = 99
  EXPECT_EQ(m->sram()[2002], 104);  // rne(103.5); FLOAT_RNE: 103
  EXPECT_EQ(m->sram()[2003], 98);   // rne(97.5); FLOAT_RNE: 97
}

TEST_P(MachineTest, VpermExamples) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig());
  std::array<int32_t, kLanes> v;
  for (int j = 0; j < kLanes; ++j) v[j] = 100 + j;
  SetV(*m, 1, v);
  VPerm p;
  p.vd = 2, p.vs = 1, p.route = RotateRoute(1);
  m->Execute(p);
  for (int i = 0; i < kLanes; ++i) EXPECT_EQ(V(*m, 2, i), 100 + (i + 1) % 32);
  p.vd = 1, p.vs = 1;  // in place: reads before writing
  for (int i = 0; i < kLanes; ++i) p.route[i] = static_cast<int8_t>(i % 2 ? -1 : 31 - i);
  m->Execute(p);
  for (int i = 0; i < kLanes; ++i) EXPECT_EQ(V(*m, 1, i), i % 2 ? 0 : 100 + 31 - i);
}

TEST_P(MachineTest, ValuExamples) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig());
  std::array<int32_t, kLanes> a, b;
  for (int j = 0; j < kLanes; ++j) a[j] = j - 16, b[j] = 3 - j;
  a[0] = INT32_MAX, b[0] = 1;
  a[1] = INT32_MIN, b[1] = 65536;
  a[2] = 65536, b[2] = 65536;
  SetV(*m, 0, a);
  SetV(*m, 1, b);
  auto run = [&](AluOp op, int32_t imm = 0) {
    VAlu i;
    i.op = op, i.vd = 2, i.va = 0, i.vb = 1, i.imm = imm;
    m->Execute(i);
  };
  run(AluOp::kAdd);
  EXPECT_EQ(V(*m, 2, 0), INT32_MIN);
  EXPECT_EQ(V(*m, 2, 5), (5 - 16) + (3 - 5));
  run(AluOp::kSub);
  EXPECT_EQ(V(*m, 2, 0), INT32_MAX - 1);
  EXPECT_EQ(V(*m, 2, 1), int64_t{INT32_MIN} - 65536 + (int64_t{1} << 32));
  run(AluOp::kMul);
  EXPECT_EQ(V(*m, 2, 2), 0);  // 2^32, low 32 bits
  EXPECT_EQ(V(*m, 2, 1), 0);  // -2^47
  EXPECT_EQ(V(*m, 2, 7), (7 - 16) * (3 - 7));
  run(AluOp::kMin);
  EXPECT_EQ(V(*m, 2, 1), INT32_MIN);
  EXPECT_EQ(V(*m, 2, 20), -17);
  run(AluOp::kMax);
  EXPECT_EQ(V(*m, 2, 0), INT32_MAX);
  run(AluOp::kSra, 1);
  EXPECT_EQ(V(*m, 2, 9), -4);  // -7 >> 1 = -4 (floor)
  EXPECT_EQ(V(*m, 2, 1), INT32_MIN / 2);
  run(AluOp::kSra, 31);
  EXPECT_EQ(V(*m, 2, 1), -1);
  EXPECT_EQ(V(*m, 2, 0), 0);
  run(AluOp::kSll, 4);
  EXPECT_EQ(V(*m, 2, 9), -7 * 16);
  EXPECT_EQ(V(*m, 2, 0), -16);  // 0x7FFFFFFF << 4 wraps
  run(AluOp::kMovi, -123456);
  for (int j = 0; j < kLanes; ++j) EXPECT_EQ(V(*m, 2, j), -123456);
  VAlu self;  // vd == va == vb
  self.op = AluOp::kAdd, self.vd = 0, self.va = 0, self.vb = 0;
  m->Execute(self);
  EXPECT_EQ(V(*m, 0, 20), 8);
}

TEST_P(MachineTest, LoadStoreAndAccMoves) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig());
  std::array<int32_t, kLanes> v;
  for (int j = 0; j < kLanes; ++j) v[j] = static_cast<int32_t>(0x11223300u + j);
  SetV(*m, 0, v);
  // VST.i32 with stride 1: overlapping; lane i writes bytes [i, i+4), the later lane wins byte by byte.
  VStore st;
  st.vs = 0, st.type = DType::kI32, st.addr = 5000, st.stride = 1;
  m->Execute(st);
  for (int i = 0; i < 31; ++i) EXPECT_EQ(m->sram()[5000 + i], static_cast<uint8_t>(i)) << i;
  EXPECT_EQ(Get32(*m, 5031), 0x1122331Fu);
  // Negative stride i16: lane i at 6000 - 2i; narrowing keeps the low 16 bits.
  st.type = DType::kI16, st.addr = 6000, st.stride = -2;
  m->Execute(st);
  EXPECT_EQ(m->sram()[6000 - 2 * 3], 0x03);
  EXPECT_EQ(m->sram()[6000 - 2 * 3 + 1], 0x33);
  // Stride 0: the last lane wins.
  st.type = DType::kI8, st.addr = 6100, st.stride = 0;
  m->Execute(st);
  EXPECT_EQ(m->sram()[6100], 0x1F);
  // VLD widening: i8 sign-extends, u8 zero-extends, broadcast with stride 0, bf16 shifts.
  m->sram()[7000] = 0x80;
  VLoad ld;
  ld.vd = 1, ld.type = DType::kI8, ld.addr = 7000, ld.stride = 0;
  m->Execute(ld);
  for (int j = 0; j < kLanes; ++j) EXPECT_EQ(V(*m, 1, j), -128);
  ld.type = DType::kU8;
  m->Execute(ld);
  EXPECT_EQ(V(*m, 1, 31), 128);
  Put16(*m, 7002, 0x7F81);
  ld.type = DType::kBF16, ld.addr = 7002;
  m->Execute(ld);
  EXPECT_EQ(m->vreg(1)[3], 0x7F810000u);  // NaN payload kept on widening
  // VST.bf16 rounds (RNE) and canonicalizes NaN.
  std::array<int32_t, kLanes> f;
  for (int j = 0; j < kLanes; ++j) f[j] = static_cast<int32_t>(j % 2 ? 0x3F818000u : 0xFFC00001u);
  SetV(*m, 2, f);
  st.vs = 2, st.type = DType::kBF16, st.addr = 8000, st.stride = 2;
  m->Execute(st);
  EXPECT_EQ(m->sram()[8000] | m->sram()[8001] << 8, 0x7FC0);
  EXPECT_EQ(m->sram()[8002] | m->sram()[8003] << 8, 0x3F82);
  // VMOV through ACC, ACC_ST raw and bf16, ACC_ZERO.
  VToAcc to;
  to.row = 7, to.vs = 2;
  m->Execute(to);
  VFromAcc from;
  from.vd = 3, from.row = 7;
  m->Execute(from);
  EXPECT_EQ(m->vreg(3), m->vreg(2));
  AccStore as;
  as.row = 7, as.type = DType::kF32, as.addr = 9000;
  m->Execute(as);
  EXPECT_EQ(Get32(*m, 9000), 0xFFC00001u);  // raw: no canonicalization
  as.type = DType::kBF16, as.addr = 9200;
  m->Execute(as);
  EXPECT_EQ(m->sram()[9200] | m->sram()[9201] << 8, 0x7FC0);
  EXPECT_EQ(m->sram()[9202] | m->sram()[9203] << 8, 0x3F82);
  // ACC_ST rows overlapping (row_stride 4): later rows win.
  SetAcc(*m, 8, Fill(0x01010101));
  as.row = 7, as.rows = 2, as.type = DType::kI32, as.addr = 9400, as.row_stride = 4;
  m->Execute(as);
  EXPECT_EQ(Get32(*m, 9400), 0xFFC00001u);
  EXPECT_EQ(Get32(*m, 9404), 0x01010101u);
  // ACC_LD with row_stride 0 broadcasts one row.
  AccLoad al;
  al.row = 10, al.rows = 3, al.addr = 9400, al.row_stride = 0;
  m->Execute(al);
  EXPECT_EQ(m->acc_row(12)[1], 0x01010101u);
  AccZero z;
  z.row = 10, z.rows = 2;
  m->Execute(z);
  EXPECT_EQ(m->acc_row(11)[1], 0u);
  EXPECT_EQ(m->acc_row(12)[1], 0x01010101u);
}

TEST_P(MachineTest, DmaExamples) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig());
  std::vector<uint8_t> rw(512), ro(256);
  for (size_t i = 0; i < rw.size(); ++i) rw[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < ro.size(); ++i) ro[i] = static_cast<uint8_t>(255 - i);
  m->BindDram(2, rw.data(), rw.size());
  m->BindDramReadOnly(9, ro.data(), ro.size());
  DmaIn in;
  in.segment = 9, in.dram = 10, in.rows = 3, in.row_bytes = 4, in.dram_stride = 100, in.sram = 300, in.sram_stride = 2;
  m->Execute(in);  // overlapping destination rows: later rows win
  EXPECT_EQ(m->sram()[300], 255 - 10);
  EXPECT_EQ(m->sram()[302], 255 - 110);
  EXPECT_EQ(m->sram()[304], 255 - 210);
  EXPECT_EQ(m->sram()[307], 255 - 213);
  DmaOut out;
  out.segment = 2, out.sram = 300, out.rows = 2, out.row_bytes = 8, out.dram = 500, out.dram_stride = 0;
  m->Execute(out);  // both rows to the same place: the second wins
  EXPECT_EQ(rw[500], m->sram()[300]);
  EXPECT_EQ(rw[507], m->sram()[307]);
  EXPECT_EQ(rw[499], 499 % 256);
  EXPECT_EQ(m->counters().total.dram_bytes, 12u + 16u);
}

TEST_P(MachineTest, ResetState) {
  std::unique_ptr<ScalarMachine> m = Make(SmallConfig());
  const MachineState s = Snapshot(*m);
  for (uint8_t b : s.sram) ASSERT_EQ(b, 0);
  for (uint32_t a : s.acc) ASSERT_EQ(a, 0u);
  for (const auto& v : s.vregs)
    for (uint32_t l : v) ASSERT_EQ(l, 0u);
  for (DType t : s.tile_types) EXPECT_EQ(t, DType::kI32);
  EXPECT_EQ(s.quant.mode, RequantMode::kTflDouble);
  EXPECT_EQ(s.quant.qmin, -128);
  EXPECT_EQ(s.quant.qmax, 127);
  EXPECT_FALSE(s.overflow);
  EXPECT_EQ(s.counters.instructions, 0u);
  // REQ at reset: multiplier 0 -> 0 + zero point 0.
  SetAcc(*m, 0, Fill(123456));
  Requant r;
  r.addr = 100;
  m->sram()[100] = 0x55;
  m->Execute(r);
  EXPECT_EQ(m->sram()[100], 0);
}

// §3.5: ACC_LD widens every element type as VLD does; stride 0 broadcasts.
TEST_P(MachineTest, AccLoadWidensEveryType) {
  auto m = Make(SmallConfig());
  for (int j = 0; j < 64; ++j) m->sram()[1000 + j] = static_cast<uint8_t>(0x80 + 3 * j);
  struct Want {
    DType type;
    uint32_t lane0, lane5;
  };
  // Bytes 0x80, 0x83, ...: u8 128, i8 -128; i16 lane 0 = 0x8380 (-31872); bf16 lane 0 = 0x8380 << 16.
  const Want wants[] = {{DType::kU8, 0x80, 0x8F},
                        {DType::kI8, 0xFFFFFF80u, 0xFFFFFF8Fu},
                        {DType::kI16, 0xFFFF8380u, 0xFFFFA19Eu},
                        {DType::kBF16, 0x83800000u, 0xA19E0000u},
                        {DType::kI32, 0x89868380u, 0xC5C2BFBCu}};
  uint32_t row = 0;
  for (const Want& w : wants) {
    AccLoad ld;
    ld.row = row, ld.rows = 2, ld.type = w.type, ld.addr = 1000, ld.row_stride = 0;
    m->Execute(ld);
    for (uint32_t r = row; r < row + 2; ++r) {
      EXPECT_EQ(m->acc_row(r)[0], w.lane0) << NameOf(w.type);
      EXPECT_EQ(m->acc_row(r)[5], w.lane5) << NameOf(w.type);
    }
    row += 2;
  }
}

// §6.5: rows in ascending order, each read before it is written; stride 0 repeats a row; wrapping.
TEST_P(MachineTest, AccAluRowsInOrder) {
  auto m = Make(SmallConfig());
  for (int r = 0; r < 6; ++r) {
    std::array<int32_t, kLanes> v;
    for (int j = 0; j < kLanes; ++j) v[j] = (r + 1) * 100 + j;
    SetAcc(*m, r, v);
  }
  SetAcc(*m, 10, Fill(INT32_MAX));
  AccAlu add;  // rows 0..3 += row 10 (broadcast): wraps
  add.op = AluOp::kAdd, add.rows = 4, add.dst = 0, add.a = 0, add.b = 10, add.b_stride = 0;
  m->Execute(add);
  EXPECT_EQ(Acc(*m, 0, 0), 100 + INT32_MIN - 1);
  EXPECT_EQ(Acc(*m, 3, 31), 431 + INT32_MIN - 1);
  AccAlu shift;  // row r+1 = row r >> 1, ascending: a running halving of row 4
  shift.op = AluOp::kSra, shift.rows = 1, shift.dst = 5, shift.a = 4, shift.b = 4, shift.imm = 1;
  m->Execute(shift);
  EXPECT_EQ(Acc(*m, 5, 7), 507 / 2);
  AccAlu chain;  // dst = a + 1 row: row 1 = row 0 - row 20, then row 2 = (new row 1) - row 20, ...
  SetAcc(*m, 20, Fill(1));
  SetAcc(*m, 0, Fill(50));
  chain.op = AluOp::kSub, chain.rows = 3, chain.dst = 1, chain.a = 0, chain.b = 20, chain.b_stride = 0;
  m->Execute(chain);
  EXPECT_EQ(Acc(*m, 1, 0), 49);
  EXPECT_EQ(Acc(*m, 2, 0), 48);
  EXPECT_EQ(Acc(*m, 3, 0), 47);
  AccAlu mul;  // negative stride, MUL low 32 bits, MOVI
  mul.op = AluOp::kMul, mul.rows = 2, mul.dst = 31, mul.dst_stride = -1, mul.a = 20, mul.b = 10, mul.a_stride = 0,
  mul.b_stride = 0;
  m->Execute(mul);
  EXPECT_EQ(Acc(*m, 31, 3), INT32_MAX);
  EXPECT_EQ(Acc(*m, 30, 3), INT32_MAX);
  AccAlu movi;
  movi.op = AluOp::kMovi, movi.rows = 1, movi.dst = 30, movi.imm = -7;
  m->Execute(movi);
  EXPECT_EQ(Acc(*m, 30, 31), -7);
}

// §6.6: lanes routed, unrouted lanes kept, the source read whole before any write (in place).
TEST_P(MachineTest, RowPermRoutesAndKeepsUnroutedLanes) {
  auto m = Make(SmallConfig());
  for (int j = 0; j < 256; ++j) m->sram()[2000 + j] = static_cast<uint8_t>(j);
  std::fill(m->sram().begin() + 3000, m->sram().begin() + 3200, uint8_t{0xEE});
  RowPerm p;
  p.type = DType::kU8, p.rows = 2, p.src = 2000, p.src_stride = 40, p.dst = 3000, p.dst_stride = 50;
  for (int i = 0; i < kLanes; ++i) p.route[i] = static_cast<int8_t>(i % 3 == 0 ? -1 : kLanes - 1 - i);
  m->Execute(p);
  for (uint32_t r = 0; r < 2; ++r) {
    for (int i = 0; i < kLanes; ++i) {
      const uint8_t want = i % 3 == 0 ? 0xEE : static_cast<uint8_t>(40 * r + kLanes - 1 - i);
      EXPECT_EQ(m->sram()[3000 + 50 * r + i], want) << "row " << r << " lane " << i;
    }
  }
  RowPerm swap;  // in place, 16-bit elements: a rotation by one lane
  swap.type = DType::kI16, swap.rows = 1, swap.src = 2000, swap.dst = 2000, swap.route = RotateRoute(1);
  m->Execute(swap);
  EXPECT_EQ(m->sram()[2000], 2);
  EXPECT_EQ(m->sram()[2000 + 62], 0);
  EXPECT_EQ(m->sram()[2000 + 63], 1);
}

INSTANTIATE_TEST_SUITE_P(Machines, MachineTest, ::testing::ValuesIn(MachineKinds()), KindName);

}  // namespace
}  // namespace tile32::test::machine_test

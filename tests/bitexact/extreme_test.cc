// Extreme values per MAC mode, hand-built, on the SIMD machine against the scalar reference on every Highway
// target this CPU runs and on the AMX path (tests/bitexact/machine_pair.h). Each program runs on both
// machines with check_overflow off and on; the scalar results are also checked against values computed by
// hand.
#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include <functional>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "accel/numeric.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "tests/bitexact/machine_pair.h"
#include "tests/common/random_program.h"
#include "tests/common/targets.h"
#include "tests/common/test_util.h"

namespace tile32::test {
namespace {


struct Builder {
  explicit Builder(uint32_t sram_bytes = 1u << 16) { p.sram.assign(sram_bytes, 0); p.dram_rw.assign(64, 0); p.dram_ro.assign(64, 0); }
  void Emit(const Instr& i) {
    p.program.push_back(i);
    p.invalid.push_back(false);
  }
  void Fill8(uint32_t addr, size_t n, uint8_t v) { std::memset(p.sram.data() + addr, v, n); }
  void Put16(uint32_t addr, uint16_t v) { std::memcpy(p.sram.data() + addr, &v, 2); }
  void Put32(uint32_t addr, uint32_t v) { std::memcpy(p.sram.data() + addr, &v, 4); }
  void Fill16(uint32_t addr, size_t n, uint16_t v) {
    for (size_t i = 0; i < n; ++i) Put16(static_cast<uint32_t>(addr + 2 * i), v);
  }
  void Fill32(uint32_t addr, size_t n, uint32_t v) {
    for (size_t i = 0; i < n; ++i) Put32(static_cast<uint32_t>(addr + 4 * i), v);
  }
  RandomProgram p;
};

AccelConfig ExtremeConfig(bool check_overflow) {
  AccelConfig c;
  c.sram_bytes = 1u << 16;
  c.acc_rows = 256;
  c.tile_regs = 16;
  c.vector_regs = 8;
  c.check_overflow = check_overflow;
  return c;
}

// Memory map of the extreme programs.
constexpr uint32_t kTiles = 0;          // 16 tile images, up to 2 KiB each: [0, 32 KiB)
constexpr uint32_t kAct = 32768;        // activation rows: [32 KiB, 48 KiB)
constexpr uint32_t kAccInit = 49152;    // ACC initial rows (128 B each): [48 KiB, 56 KiB)
constexpr uint32_t kVecInit = 57344;    // vector register images (128 B each)
constexpr uint32_t kOut = 61440;        // ACC_ST / REQ output

class ExtremeTest : public ::testing::TestWithParam<int64_t> {
 protected:
  // Runs the program with check_overflow off and on; returns the scalar machine of the last run (checked
  // against hand-computed values by the caller) and fails on any difference from the SIMD machine.
  ScalarMachine& RunBoth(const Builder& b, const char* what, bool* overflow_on = nullptr) {
    if (GetParam() & (kAmxBit | kAmxSoftwareBit)) ReportAmxCoverage();
    ScopedTarget target(GetParam());
    for (bool check : {false, true}) {
      const std::string f =
          RunAndCompare(ExtremeConfig(check), b.p,
                        std::string(what) + ", target " + target.name() + ", check_overflow " + (check ? "on" : "off"),
                        &kept_);
      EXPECT_EQ(f, "");
    }
    if (overflow_on != nullptr) *overflow_on = kept_->ref().overflow();
    return kept_->ref();
  }
  uint32_t Acc(uint32_t row, int lane) { return kept_->ref().acc_row(row)[lane]; }

  std::unique_ptr<MachinePair> kept_;
};

void LoadTiles(Builder& b, DType type, int count) {
  for (int t = 0; t < count; ++t) {
    TileLoad i;
    i.td = static_cast<uint8_t>(t);
    i.type = type;
    i.addr = kTiles + static_cast<uint32_t>(t) * 2048;
    b.Emit(i);
  }
}

void LoadAcc(Builder& b, uint32_t rows) {
  AccLoad i;
  i.row = 0;
  i.rows = rows;
  i.addr = kAccInit;
  i.row_stride = 128;
  b.Emit(i);
}

// V0 .. V(count-1) <- the 32-bit lanes of their images at kVecInit, 128 bytes apart, as `type`.
void LoadVectors(Builder& b, int count, DType type) {
  for (int v = 0; v < count; ++v) {
    VLoad ld;
    ld.vd = static_cast<uint8_t>(v);
    ld.type = type;
    ld.addr = kVecInit + 128 * v;
    ld.stride = 4;
    b.Emit(ld);
  }
}

TileMac Tmac(MacMode mode, uint32_t acc_row, uint32_t rows, int32_t a_stride, int tiles) {
  TileMac i;
  i.mode = mode;
  i.acc_row = acc_row;
  i.rows = rows;
  i.a_addr = kAct;
  i.a_stride = a_stride;
  i.tile = 0;
  i.tiles = static_cast<uint8_t>(tiles);
  return i;
}

int32_t I32(uint32_t v) { return static_cast<int32_t>(v); }

TEST_P(ExtremeTest, TmacS8S8MinusTimesMinusWraps) {
  Builder b;
  b.Fill8(kTiles, 32768, 0x80);      // every weight -128
  b.Fill8(kAct, 16 * 512, 0x80);     // every activation -128
  b.Fill32(kAccInit, 32, 0x7FFFFFF0u);       // row 0: INT32_MAX - 15
  b.Fill32(kAccInit + 128, 32, 0x80000000u); // row 1: INT32_MIN
  LoadTiles(b, DType::kI8, 16);
  LoadAcc(b, 3);
  b.Emit(Tmac(MacMode::kS8S8, 0, 2, 512, 16));  // 512 products of 16384 = 2^23 per lane
  for (int n = 0; n < 256; ++n) b.Emit(Tmac(MacMode::kS8S8, 2, 1, 0, 16));  // 256 * 2^23 = 2^31: wraps
  b.Emit(Tmac(MacMode::kS8S8, 3, 4, -512, 16));                           // negative stride
  bool overflow = false;
  RunBoth(b, "TMAC.s8s8 -128 x -128, tiles 16", &overflow);
  for (int j = 0; j < kLanes; ++j) {
    EXPECT_EQ(I32(Acc(0, j)), static_cast<int32_t>(0x7FFFFFF0u + (1u << 23)));
    EXPECT_EQ(I32(Acc(1, j)), INT32_MIN + (1 << 23));
    EXPECT_EQ(Acc(2, j), 0x80000000u);
    EXPECT_EQ(I32(Acc(3, j)), 1 << 23);
  }
  EXPECT_TRUE(overflow);
}

TEST_P(ExtremeTest, TmacU8S8ExtremeCodes) {
  Builder b;
  for (int t = 0; t < 16; ++t) {   // tile t: column j holds -128 for even j, 127 for odd j
    for (int k = 0; k < kLanes; ++k) {
      for (int j = 0; j < kLanes; ++j) {
        b.p.sram[kTiles + t * 2048 + (k / 4) * 128 + j * 4 + k % 4] = (j % 2) ? 0x7F : 0x80;
      }
    }
  }
  b.Fill8(kAct, 512, 0xFF);        // row 0: 255
  b.Fill8(kAct + 512, 512, 0x00);  // row 1: 0
  b.Fill8(kAct + 1024, 512, 0x80); // row 2: 128 (not -128: u8)
  b.Fill32(kAccInit, 32 * 3, 0x80000100u);
  LoadTiles(b, DType::kI8, 16);
  LoadAcc(b, 3);
  b.Emit(Tmac(MacMode::kU8S8, 0, 3, 512, 16));
  for (int n = 0; n < 129; ++n) b.Emit(Tmac(MacMode::kU8S8, 4, 1, 0, 16));  // 129 * 512 * -32640 wraps
  RunBoth(b, "TMAC.u8s8 255 x -128");
  for (int j = 0; j < kLanes; ++j) {
    const int64_t w = (j % 2) ? 127 : -128;
    auto wrap = [](int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v))); };
    EXPECT_EQ(I32(Acc(0, j)), wrap(int64_t{I32(0x80000100u)} + 512 * 255 * w));
    EXPECT_EQ(I32(Acc(1, j)), I32(0x80000100u));
    EXPECT_EQ(I32(Acc(2, j)), wrap(int64_t{I32(0x80000100u)} + 512 * 128 * w));
    EXPECT_EQ(I32(Acc(4, j)), wrap(129 * 512 * 255 * w));
  }
}

// Tiles whose weights all lie in [-64, 63] take the SIMD machine's pmaddubsw path (its pair sums cannot
// saturate); one weight outside sends the whole TMAC back to the pairs path. Both must match the scalar
// machine at the range ends, with activations at theirs, in chains that cross row chunks and tile passes.
TEST_P(ExtremeTest, TmacNarrowWeightTiles) {
  const uint64_t seed = testing::TestSeed(11);
  std::mt19937_64 rng(seed);
  Builder b;
  for (int t = 0; t < 16; ++t) {
    for (int i = 0; i < 1024; ++i) {
      const int j = (i % 128) / 4;  // column of byte i in tile order
      int w = static_cast<int>(rng() % 128) - 64;
      if (j == 0) w = -64;
      if (j == 1) w = 63;
      if (j == 2) w = (i % 2) ? 63 : -64;
      b.p.sram[kTiles + t * 2048 + i] = static_cast<uint8_t>(w);
    }
  }
  // Tile 15 is not narrow: one weight just outside, and column 5 all -128 (255 * -128 * 2 saturates int16).
  b.p.sram[kTiles + 15 * 2048 + 517] = static_cast<uint8_t>(rng() % 2 ? 64 : -65);
  for (int k = 0; k < kLanes; ++k) b.p.sram[kTiles + 15 * 2048 + (k / 4) * 128 + 5 * 4 + k % 4] = 0x80;
  // Tiles 14 and 13 are just outside: column 6 all 65, column 7 all -65; 255 * 65 * 2 = 33150 saturates int16.
  for (int k = 0; k < kLanes; ++k) {
    b.p.sram[kTiles + 14 * 2048 + (k / 4) * 128 + 6 * 4 + k % 4] = 65;
    b.p.sram[kTiles + 13 * 2048 + (k / 4) * 128 + 7 * 4 + k % 4] = static_cast<uint8_t>(-65);
  }
  for (int i = 0; i < 16384; ++i) {
    const uint8_t pick[] = {0x00, 0xFF, 0x80, 0x7F, 0x01, static_cast<uint8_t>(rng())};
    b.p.sram[kAct + i] = pick[rng() % 6];
  }
  for (int i = 0; i < 64 * 32; ++i) b.Put32(kAccInit + 4 * i, static_cast<uint32_t>(rng()));
  LoadTiles(b, DType::kI8, 16);
  LoadAcc(b, 64);
  struct Case {
    uint32_t acc_row, rows;
    int32_t stride;
    uint8_t tile, tiles;
  };
  const Case cases[] = {{0, 1, 0, 0, 15},   {1, 3, 480, 0, 15},  {4, 4, 32, 2, 9},  {8, 5, -480, 6, 5},
                        {13, 9, 64, 0, 16}, {22, 130, 7, 3, 4},  {0, 200, 33, 1, 12}, {40, 17, 1, 14, 2},
                        {60, 20, 64, 14, 1}, {80, 20, 64, 13, 1}};
  for (MacMode mode : {MacMode::kU8S8, MacMode::kS8S8}) {
    for (const Case& c : cases) {
      TileMac i = Tmac(mode, c.acc_row, c.rows, c.stride, c.tiles);
      i.tile = c.tile;
      i.a_addr = c.stride < 0 ? kAct + 8000 : kAct;
      b.Emit(i);
    }
  }
  RunBoth(b, ("TMAC narrow weight tiles, seed " + std::to_string(seed)).c_str());
}

// A tile register keeps the bytes TLD read although SRAM under it is then overwritten by every kind of SRAM
// write (the SIMD machine reads SRAM in place until a write is about to touch it), whole or in part.
TEST_P(ExtremeTest, TileRegistersKeepTheirBytesWhenSramChanges) {
  std::mt19937_64 rng(5);
  Builder b;
  for (uint32_t i = 0; i < 8 * 2048; ++i) b.p.sram[kTiles + i] = static_cast<uint8_t>(rng());
  for (auto& x : b.p.dram_ro) x = static_cast<uint8_t>(rng());
  for (uint32_t i = 0; i < 4096; ++i) b.p.sram[kAct + i] = static_cast<uint8_t>(rng());
  for (uint32_t i = 0; i < 128 * 4; ++i) b.p.sram[kVecInit + i] = static_cast<uint8_t>(rng());
  LoadTiles(b, DType::kI8, 6);
  TileLoad t6;
  t6.td = 6, t6.type = DType::kI16, t6.addr = kTiles + 6 * 2048;
  b.Emit(t6);
  TileLoad t7;
  t7.td = 7, t7.type = DType::kBF16, t7.addr = kTiles + 7 * 2048 + 3;  // unaligned
  b.Emit(t7);
  LoadAcc(b, 4);
  VLoad vl;
  vl.vd = 0, vl.type = DType::kI32, vl.addr = kVecInit, vl.stride = 4;
  b.Emit(vl);
  VStore vs;  // into T0, strided
  vs.vs = 0, vs.type = DType::kI16, vs.addr = kTiles + 100, vs.stride = 30;
  b.Emit(vs);
  AccStore st;  // into T1 and T2's first bytes, negative stride
  st.row = 0, st.rows = 3, st.type = DType::kI32, st.addr = kTiles + 2048 + 1024 - 64, st.row_stride = -200;
  b.Emit(st);
  QuantConfig q;
  for (int j = 0; j < kLanes; ++j) q.multiplier[j] = 1 << 30;
  b.Emit(SetQuant{q});
  Requant rq;  // over T2's last byte and T3's first
  rq.acc_row = 0, rq.rows = 2, rq.out = DType::kI8, rq.addr = kTiles + 2 * 2048 + 1000, rq.row_stride = 40;
  b.Emit(rq);
  DmaIn dma;  // into T4 and T6 (the int16 tile)
  dma.sram = kTiles + 4 * 2048 + 512, dma.segment = kDramRoSegment, dma.dram = 0, dma.rows = 2, dma.row_bytes = 64;
  dma.dram_stride = 0, dma.sram_stride = 2048;
  b.Emit(dma);
  DmaIn dma7;  // into T7 (bf16)
  dma7.sram = kTiles + 7 * 2048 + 1500, dma7.segment = kDramRoSegment, dma7.dram = 0, dma7.rows = 1;
  dma7.row_bytes = 64, dma7.dram_stride = 0, dma7.sram_stride = 0;
  b.Emit(dma7);
  for (uint32_t rows : {1u, 3u, 9u}) {  // the direct, the narrow-or-pairs and the bf16 table paths
    for (MacMode mode : {MacMode::kU8S8, MacMode::kS8S8}) b.Emit(Tmac(mode, 8, rows, 192, 6));
    TileMac s16 = Tmac(MacMode::kS16S16, 20, rows, 64, 1);
    s16.tile = 6;
    b.Emit(s16);
    TileMac bf = Tmac(MacMode::kBF16, 40, rows, 64, 1);
    bf.tile = 7;
    b.Emit(bf);
  }
  RunBoth(b, "TLD, then SRAM under the tiles overwritten, then TMAC");
}

TEST_P(ExtremeTest, TmacS16S16PairOverflow) {
  // -32768 * -32768 = 2^30: a pair of them is 2^31, which overflows a 32-bit pairwise add (vpmaddwd).
  Builder b;
  b.Fill16(kTiles, 16 * 1024, 0x8000);
  b.Fill16(kAct, 512, 0x8000);  // row 0: all -32768
  // row 1: k = 0, 1 are -32768, k = 2 is 1, the rest 0; weights of k = 2 in tile 0 are -1 for lane 0:
  // the exact sum 2^31 - 1 is in range although the first pair alone is not.
  const uint32_t row1 = kAct + 1024;
  b.Fill16(row1, 32, 0);
  b.Put16(row1, 0x8000);
  b.Put16(row1 + 2, 0x8000);
  b.Put16(row1 + 4, 1);
  for (int j = 0; j < kLanes; ++j) b.Put16(kTiles + 2 * ((2 / 2) * 64 + j * 2 + 0), j == 0 ? 0xFFFF : 0x8000);
  LoadTiles(b, DType::kI16, 16);
  b.Emit(Tmac(MacMode::kS16S16, 0, 1, 0, 16));
  TileMac one = Tmac(MacMode::kS16S16, 1, 1, 0, 1);
  one.a_addr = row1;
  b.Emit(one);
  bool overflow = false;
  RunBoth(b, "TMAC.s16s16 -32768 x -32768", &overflow);
  for (int j = 0; j < kLanes; ++j) {
    // Tile 0's k = 2 row is -1 (lane 0) or -32768; other tiles are all -32768.
    const int64_t w2 = j == 0 ? -1 : -32768;
    const int64_t row0 = 2 * 32768LL * 32768 + w2 * -32768 + 29LL * 32768 * 32768 + 15LL * 32 * 32768 * 32768;
    EXPECT_EQ(I32(Acc(0, j)), static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(row0))));
    const int64_t row1v = 2 * 32768LL * 32768 + w2;
    EXPECT_EQ(I32(Acc(1, j)), static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(row1v))));
  }
  EXPECT_TRUE(overflow);

  // Only the in-range row: the flag must stay clear although a pair sum overflows int32.
  Builder c;
  c.p.sram = b.p.sram;
  LoadTiles(c, DType::kI16, 1);
  TileMac only = Tmac(MacMode::kS16S16, 1, 1, 0, 1);
  only.a_addr = row1;
  c.Emit(only);
  RunBoth(c, "TMAC.s16s16 in-range sum of overflowing pair", &overflow);
  EXPECT_EQ(I32(Acc(1, 0)), INT32_MAX);
  EXPECT_FALSE(overflow);
}

TEST_P(ExtremeTest, TmacOverflowFlagUsesExactRowSum) {
  // Products +16129 and -16129 on an accumulator at INT32_MAX: a running sum would overflow, the exact
  // result (old + sum of products) does not.
  Builder b;
  for (int j = 0; j < kLanes; ++j) {
    b.p.sram[kTiles + j * 4 + 0] = 0x7F;  // T[0][j] = 127
    b.p.sram[kTiles + j * 4 + 1] = 0x81;  // T[1][j] = -127
  }
  b.p.sram[kAct] = 0x7F;
  b.p.sram[kAct + 1] = 0x7F;
  b.Fill32(kAccInit, 32, 0x7FFFFFFFu);
  LoadTiles(b, DType::kI8, 1);
  LoadAcc(b, 1);
  b.Emit(Tmac(MacMode::kS8S8, 0, 1, 32, 1));
  bool overflow = true;
  RunBoth(b, "TMAC.s8s8 cancelling products", &overflow);
  EXPECT_FALSE(overflow);
  for (int j = 0; j < kLanes; ++j) EXPECT_EQ(Acc(0, j), 0x7FFFFFFFu);
}

// bf16 words that make products overflow, underflow, and specials.
std::vector<uint16_t> Bf16Extremes() {
  return {0x7F81, 0xFFC1, 0x7F80, 0xFF80, 0x0000, 0x8000, 0x0001, 0x807F, 0x0080, 0x7F7F, 0xFF7F,
          0x3F80, 0xBF80, 0x2000, 0x1F80, 0x6000, 0xE000, 0x0F00, 0x8F00, 0x4049, 0x3EAA, 0xC2F7};
}

TEST_P(ExtremeTest, TmacBf16Specials) {
  std::mt19937_64 rng(7);
  const std::vector<uint16_t> ex = Bf16Extremes();
  auto pick = [&](double p_ex) -> uint16_t {
    if (std::uniform_real_distribution<double>(0, 1)(rng) < p_ex) return ex[rng() % ex.size()];
    return static_cast<uint16_t>(((rng() & 1) << 15) | ((118 + rng() % 18) << 7) | (rng() & 127));
  };
  Builder b;
  for (int t = 0; t < 16; ++t)
    for (int e = 0; e < 1024; ++e) b.Put16(kTiles + t * 2048 + 2 * e, pick(t < 8 ? 0.01 : 0.2));
  for (int e = 0; e < 16 * 512; ++e) b.Put16(kAct + 2 * e, pick(0.01));
  b.Fill32(kAccInit, 32, 0x80000000u);        // -0
  b.Fill32(kAccInit + 128, 32, 0x7F800001u);  // sNaN with payload: must come out canonical
  b.Fill32(kAccInit + 256, 32, 0x00000001u);  // smallest denormal
  b.Fill32(kAccInit + 384, 32, 0xFF800000u);  // -Inf
  LoadTiles(b, DType::kBF16, 16);
  LoadAcc(b, 4);
  b.Emit(Tmac(MacMode::kBF16, 0, 4, 1024, 16));
  b.Emit(Tmac(MacMode::kBF16, 4, 8, 1024, 8));
  b.Emit(Tmac(MacMode::kBF16, 12, 8, 2, 3));    // overlapping rows
  b.Emit(Tmac(MacMode::kBF16, 20, 8, -1024, 16));
  RunBoth(b, "TMAC.bf16 specials");
  for (int j = 0; j < kLanes; ++j) EXPECT_EQ(Acc(1, j), kCanonicalNanF32);
  for (uint32_t r = 0; r < 28; ++r) {
    for (int j = 0; j < kLanes; ++j) {
      const uint32_t v = Acc(r, j);
      if ((v & 0x7FFFFFFFu) > 0x7F800000u) {
        EXPECT_EQ(v, kCanonicalNanF32) << "row " << r << " lane " << j;
      }
    }
  }
}

// Searches (acc, a, w) where the fused bf16 step differs from an unfused multiply then add: the product
// underflows, so only a correct fma with denormals kept gets it right.
bool FindFusedWitness(float* acc, uint16_t* a, uint16_t* w) {
  std::mt19937_64 rng(11);
  for (int n = 0; n < 2000000; ++n) {
    const uint16_t x = static_cast<uint16_t>(((rng() & 1) << 15) | ((40 + rng() % 30) << 7) | (rng() & 127));
    const uint16_t y = static_cast<uint16_t>(((45 + rng() % 30) << 7) | (rng() & 127));
    const uint32_t c_bits = static_cast<uint32_t>(rng() % 0x00C00000u);  // denormal or tiny normal
    const float xf = BitsToF32(Bf16ToF32Bits(x)), yf = BitsToF32(Bf16ToF32Bits(y)), cf = BitsToF32(c_bits);
    volatile float prod = xf * yf;
    volatile float unfused = prod + cf;
    if (F32ToBits(std::fma(xf, yf, cf)) != F32ToBits(unfused)) {
      *acc = cf, *a = x, *w = y;
      return true;
    }
  }
  return false;
}

TEST_P(ExtremeTest, TmacBf16FusedUnderflow) {
  float acc;
  uint16_t a, w;
  ASSERT_TRUE(FindFusedWitness(&acc, &a, &w));
  Builder b;
  for (int j = 0; j < kLanes; ++j) b.Put16(kTiles + 2 * (j * 2), w);  // T[0][j] = w
  b.Put16(kAct, a);                                                   // A[0] = a, the rest 0
  b.Fill32(kAccInit, 32, F32ToBits(acc));
  LoadTiles(b, DType::kBF16, 1);
  LoadAcc(b, 1);
  b.Emit(Tmac(MacMode::kBF16, 0, 1, 64, 1));
  RunBoth(b, "TMAC.bf16 fused underflow");
  const uint32_t want = F32ToBits(std::fma(BitsToF32(Bf16ToF32Bits(a)), BitsToF32(Bf16ToF32Bits(w)), acc));
  for (int j = 0; j < kLanes; ++j) EXPECT_EQ(Acc(0, j), want) << "lane " << j;
}

TEST_P(ExtremeTest, TmacBf16OverflowUnderflowSignedZero) {
  Builder b;
  // Weight column j: 2^127 (0x7F00) for j < 8, 2^-97 (0x0F00) for j < 16, 1.0 for j < 24, and the
  // smallest bf16 denormal 2^-133 (0x0001) for the rest.
  for (int k = 0; k < kLanes; ++k) {
    for (int j = 0; j < kLanes; ++j) {
      const uint16_t v = j < 8 ? 0x7F00 : j < 16 ? 0x0F00 : j < 24 ? 0x3F80 : 0x0001;
      b.Put16(kTiles + 2 * ((k / 2) * 64 + j * 2 + k % 2), v);
    }
  }
  b.Fill16(kAct, 32, 0x7F00);        // row 0: 2^127: products with 2^127 overflow to +Inf
  b.Fill16(kAct + 64, 32, 0x0F00);   // row 1: 2^-97: products with 2^-97 underflow to +0
  b.Fill16(kAct + 128, 32, 0x8000);  // row 2: -0: products with 1.0 are -0, and -0 + -0 stays -0
  b.Fill16(kAct + 192, 32, 0x3F80);  // row 3: 1.0: the denormal weight is kept (no flush to zero)
  b.Fill32(kAccInit, 4 * 32, 0x80000000u);  // every accumulator starts at -0
  LoadTiles(b, DType::kBF16, 1);
  LoadAcc(b, 4);
  b.Emit(Tmac(MacMode::kBF16, 0, 4, 64, 1));
  RunBoth(b, "TMAC.bf16 overflow/underflow/-0/denormal");
  for (int j = 0; j < kLanes; ++j) {
    if (j < 8) {
      EXPECT_EQ(Acc(0, j), 0x7F800000u) << "lane " << j;
    } else if (j < 16) {
      EXPECT_EQ(Acc(1, j), 0x00000000u) << "lane " << j;
    } else if (j < 24) {
      EXPECT_EQ(Acc(2, j), 0x80000000u) << "lane " << j;
    } else {
      EXPECT_EQ(Acc(3, j), 0x00200000u) << "lane " << j << ": 32 * 2^-133 = 2^-128, a denormal";
    }
  }
}

TEST_P(ExtremeTest, EmacIntegerExtremes) {
  Builder b;
  // V0: low byte -128, junk above; V1: low half -32768, junk above; V2: low byte 127.
  for (int j = 0; j < kLanes; ++j) {
    b.Put32(kVecInit + 4 * j, 0x12345680u);
    b.Put32(kVecInit + 128 + 4 * j, 0xABCD8000u);
    b.Put32(kVecInit + 256 + 4 * j, 0xFFFFFF7Fu);
  }
  b.Fill8(kAct, 64, 0x80);            // s8 -128 / u8 128
  b.Fill8(kAct + 64, 64, 0xFF);       // s8 -1 / u8 255
  b.Fill16(kAct + 128, 32, 0x8000);   // s16 -32768
  b.Fill32(kAccInit, 32, 0x7FFFFFFFu);
  b.Fill32(kAccInit + 128, 32, 0x40000000u);  // 2^30: + 2^30 = 2^31 wraps
  b.Fill32(kAccInit + 256, 32, 0x80000000u);
  LoadAcc(b, 3);
  LoadVectors(b, 3, DType::kI32);
  auto emac = [&](MacMode m, uint32_t acc, uint32_t rows, uint32_t a, int32_t stride, uint8_t vw) {
    ElemMac e;
    e.mode = m, e.acc_row = acc, e.rows = rows, e.a_addr = a, e.a_stride = stride, e.vw = vw;
    b.Emit(e);
  };
  emac(MacMode::kS8S8, 0, 1, kAct, 0, 0);        // INT32_MAX + 16384: wraps
  emac(MacMode::kS16S16, 1, 1, kAct + 128, 0, 1);  // 2^30 + 2^30 = 2^31: wraps
  emac(MacMode::kU8S8, 2, 1, kAct + 64, 0, 0);    // INT32_MIN + 255 * -128: wraps
  emac(MacMode::kS8S8, 3, 8, kAct + 64, -1, 2);   // overlapping, negative stride
  emac(MacMode::kU8S8, 11, 16, kAct, 2, 0);
  emac(MacMode::kS16S16, 27, 8, kAct + 128, 0, 1);
  bool overflow = false;
  RunBoth(b, "EMAC integer extremes", &overflow);
  EXPECT_TRUE(overflow);
  for (int j = 0; j < kLanes; ++j) {
    EXPECT_EQ(Acc(0, j), 0x7FFFFFFFu + 16384u);
    EXPECT_EQ(Acc(1, j), 0x80000000u);
    EXPECT_EQ(Acc(2, j), 0x80000000u + static_cast<uint32_t>(255 * -128));
    EXPECT_EQ(I32(Acc(27, j)), 1 << 30);
  }
}

// A seed, MACs and a REQ on 256 rows, more than the SIMD machine's row tiles of an EMAC batch (and split
// across threads when the arena has them), the REQ writing SRAM that the MACs read on later rows: the REQ
// must not join the batch (it would overwrite activations of rows not yet multiplied), while the same
// batch with the REQ elsewhere fuses. The TMAC variant holds the machine to the same for TMACs. Compared
// only after the last instruction, so that the batch forms. In the third case only the first EMAC reads
// under the REQ, the others past it (a test of the whole batch's reads, not the last EMAC's).
TEST_P(ExtremeTest, BatchedRequantOverMacSources) {
  ScopedTarget target(GetParam());
  struct Case {
    uint32_t out_addr;
    bool first_only;
  };
  // The REQ over the sources of rows 128.., apart from them, and over the first EMAC's only.
  const Case cases[] = {{kAct + 4096, false}, {kTiles + 16384, false}, {kAct + 4096, true}};
  for (bool tmac : {false, true}) {
    for (const auto& [out_addr, first_only] : cases) {
      if (first_only && tmac) continue;
      Builder b;
      std::mt19937 rng(7);
      for (uint32_t a = kAct; a < kAct + 20544; ++a) b.p.sram[a] = static_cast<uint8_t>(rng());
      for (uint32_t a = kTiles; a < kTiles + 4 * 1024; ++a) b.p.sram[a] = static_cast<uint8_t>(rng() % 64);
      for (int j = 0; j < kLanes; ++j) b.Put32(kVecInit + 4 * j, static_cast<uint32_t>(j - 16));
      b.Put32(kAccInit, 12345);
      AccLoad seed;  // a broadcast seed of rows [0, 256)
      seed.row = 0, seed.rows = 256, seed.addr = kAccInit, seed.row_stride = 0;
      b.Emit(seed);
      if (tmac) {
        LoadTiles(b, DType::kI8, 4);
        for (int t = 0; t < 2; ++t) {
          TileMac m = Tmac(MacMode::kU8S8, 0, 256, 32, 2);
          m.tile = static_cast<uint8_t>(2 * t), m.a_addr = kAct + 64 * t;
          b.Emit(m);
        }
      } else {
        VLoad ld;
        ld.vd = 0, ld.type = DType::kI32, ld.addr = kVecInit, ld.stride = 4;
        b.Emit(ld);
        for (int e = 0; e < 5; ++e) {
          ElemMac m;
          m.mode = MacMode::kU8S8, m.acc_row = 0, m.rows = 256, m.vw = 0, m.a_addr = kAct + 8 * e, m.a_stride = 32;
          // First only: the REQ's [36 KiB, 44 KiB) covers EMAC 0's rows 128.. and none of [44 KiB, 52 KiB).
          if (first_only && e > 0) m.a_addr = kAct + 12288 + 8 * e;
          b.Emit(m);
        }
      }
      QuantConfig q;
      for (int j = 0; j < kLanes; ++j) q.multiplier[j] = 1 << 30;
      b.Emit(SetQuant{q});
      Requant rq;
      rq.acc_row = 0, rq.rows = 256, rq.out = DType::kI8, rq.addr = out_addr, rq.row_stride = 32;
      b.Emit(rq);
      const std::string label = std::string(tmac ? "TMAC" : "EMAC") + " batch, REQ at " + std::to_string(out_addr) +
                                (first_only ? " over the first EMAC's reads only" : "") + ", target " + target.name();
      for (int threads : {1, 2}) {
        tbb::task_arena arena(threads);
        arena.execute([&] { EXPECT_EQ(RunAndCompare(ExtremeConfig(false), b.p, label, nullptr, kCompareAtEnd), ""); });
      }
    }
  }
}

// INT8 EMACs three of a kind (one stride, rows one row apart: a depthwise kernel row at stride 1), which the
// SIMD machine runs as slides (docs/simd_machine.md, "EMAC"), beside a three that is not one (the third
// a byte off) and a fourth alone, so that slides, a padded quad and a single share a batch: every row count
// around the slides' two-row steps and the row blocks, strides up, zero, down and not a multiple of 32, the
// last slide reading the last bytes of SRAM (a read past what the EMACs read would leave it: ASan).
TEST_P(ExtremeTest, EmacSlides) {
  ScopedTarget target(GetParam());
  constexpr uint32_t kSram = 1u << 18;
  AccelConfig config = ExtremeConfig(false);
  config.sram_bytes = kSram;
  for (MacMode mode : {MacMode::kU8S8, MacMode::kS8S8}) {
    for (int32_t stride : {160, 48, 32, 0, -64}) {
      for (uint32_t rows : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 9u, 130u, 255u}) {
        Builder b(kSram);
        std::mt19937 rng(rows * 7 + static_cast<uint32_t>(stride + 100));
        for (uint32_t a = kAct; a < kSram; ++a) b.p.sram[a] = static_cast<uint8_t>(rng());
        for (uint32_t a = kAccInit; a < kAccInit + 128; ++a) b.p.sram[a] = static_cast<uint8_t>(rng());
        for (int v = 0; v < 4; ++v) {
          VLoad ld;
          ld.vd = static_cast<uint8_t>(v), ld.type = DType::kI8, ld.addr = kVecInit + 32 * v, ld.stride = 1;
          b.Emit(ld);
        }
        AccLoad seed;
        seed.row = 0, seed.rows = rows, seed.addr = kAccInit, seed.row_stride = 0;
        b.Emit(seed);
        // Regions of the rows the EMACs read, going down from the top of each when the stride does; the last
        // slide reaches the end of SRAM exactly (its third EMAC's last row, or going down its first one's first).
        const int64_t span = int64_t{stride} * (int64_t{rows} + 1);  // the first EMAC's row 0 to the third's last
        const int64_t region = (span < 0 ? -span : span) + 128;
        auto base = [&](int k) { return kAct + k * region + (stride < 0 ? region - 64 : 0); };
        const int64_t bases[3] = {base(0), base(1), stride >= 0 ? int64_t{kSram} - 32 - span : int64_t{kSram} - 32};
        auto emac = [&](int64_t addr, int vw) {
          ElemMac e;
          e.mode = mode, e.acc_row = 0, e.rows = rows, e.vw = static_cast<uint8_t>(vw);
          e.a_addr = static_cast<uint32_t>(addr), e.a_stride = stride;
          b.Emit(e);
        };
        for (int k = 0; k < 3; ++k) emac(bases[0] + int64_t{k} * stride, k);      // a slide
        for (int k = 0; k < 3; ++k) emac(bases[1] + int64_t{k} * stride + (k == 2), k);  // not one
        emac(bases[1] + 3, 3);                                                    // alone
        for (int k = 0; k < 3; ++k) emac(bases[2] + int64_t{k} * stride, 2 - k);  // a slide to the end of SRAM
        const std::string label = std::string("EMAC.") + NameOf(mode) + " slides, stride " + std::to_string(stride) +
                                  ", rows " + std::to_string(rows) + ", target " + target.name();
        for (int threads : {1, 2}) {
          tbb::task_arena arena(threads);
          arena.execute([&] { EXPECT_EQ(RunAndCompare(config, b.p, label, nullptr, kCompareAtEnd), ""); });
        }
      }
    }
  }
}

TEST_P(ExtremeTest, EmacBf16Specials) {
  std::mt19937_64 rng(3);
  const std::vector<uint16_t> ex = Bf16Extremes();
  Builder b;
  // Weights in the high half of V lanes, junk in the low half (must be ignored).
  for (int v = 0; v < 4; ++v)
    for (int j = 0; j < kLanes; ++j)
      b.Put32(kVecInit + 128 * v + 4 * j, (uint32_t{ex[rng() % ex.size()]} << 16) | static_cast<uint16_t>(rng()));
  for (int e = 0; e < 32 * 16; ++e) b.Put16(kAct + 2 * e, ex[rng() % ex.size()]);
  const uint32_t acc_init[] = {0x80000000u, 0x00000000u, 0x7F800000u, 0xFF800000u, 0x00000001u, 0x807FFFFFu,
                               0x7F7FFFFFu, 0x3F800000u, 0x7FA00001u, 0xC2F70000u};
  for (int e = 0; e < 32 * 8; ++e) b.Put32(kAccInit + 4 * e, acc_init[rng() % 10]);
  LoadAcc(b, 8);
  LoadVectors(b, 4, DType::kF32);
  for (uint8_t v = 0; v < 4; ++v) {
    ElemMac e;
    e.mode = MacMode::kBF16, e.acc_row = 0, e.rows = 16, e.a_addr = kAct, e.a_stride = 64, e.vw = v;
    b.Emit(e);
    e.acc_row = 20, e.rows = 8, e.a_stride = -2;
    e.a_addr = kAct + 64;
    b.Emit(e);
  }
  RunBoth(b, "EMAC.bf16 specials");
  for (uint32_t r = 0; r < 28; ++r) {
    for (int j = 0; j < kLanes; ++j) {
      if ((Acc(r, j) & 0x7FFFFFFFu) > 0x7F800000u) {
        EXPECT_EQ(Acc(r, j), kCanonicalNanF32) << "row " << r << " lane " << j;
      }
    }
  }
}

// DMA rows of every size from 1 to 130 bytes (the SIMD machine copies rows up to 128 bytes in inlined
// pieces), strided on both sides, in both directions.
TEST_P(ExtremeTest, DmaEveryRowSize) {
  Builder b;
  b.p.dram_rw.resize(8192);
  for (size_t i = 0; i < b.p.dram_rw.size(); ++i) b.p.dram_rw[i] = static_cast<uint8_t>(i * 7 + 3);
  for (size_t i = 0; i < b.p.sram.size(); ++i) b.p.sram[i] = static_cast<uint8_t>(i * 13 + 1);
  for (uint32_t n = 1; n <= 130; ++n) {
    DmaIn in;
    in.sram = kAct + (n % 7), in.segment = kDramRwSegment, in.dram = n % 5, in.rows = 3, in.row_bytes = n;
    in.dram_stride = n + 9, in.sram_stride = n + 3;
    b.Emit(in);
    DmaOut out;
    out.sram = kAct + 100, out.segment = kDramRwSegment, out.dram = 4096 + (n % 11), out.rows = 3, out.row_bytes = n;
    out.dram_stride = n + 1, out.sram_stride = n + 5;
    b.Emit(out);
  }
  RunBoth(b, "DMA rows of 1..130 bytes");
}

// DMA_OUTs that `emit` adds to a program of 512 KiB of SRAM and `dram_bytes` of DRAM, both patterned, compared
// at the end on 1 and 2 threads.
void RunLongDmaOuts(const std::string& what, size_t dram_bytes, const std::function<void(Builder&)>& emit) {
  constexpr uint32_t kSram = 1u << 19;
  AccelConfig config = ExtremeConfig(false);
  config.sram_bytes = kSram;
  Builder b(kSram);
  b.p.dram_rw.resize(dram_bytes);
  for (size_t i = 0; i < b.p.dram_rw.size(); ++i) b.p.dram_rw[i] = static_cast<uint8_t>(i * 7 + 3);
  for (size_t i = 0; i < b.p.sram.size(); ++i) b.p.sram[i] = static_cast<uint8_t>(i * 13 + 1 + i / 251);
  emit(b);
  for (int threads : {1, 2}) {
    tbb::task_arena arena(threads);
    arena.execute([&] { EXPECT_EQ(RunAndCompare(config, b.p, what, nullptr, kCompareAtEnd), ""); });
  }
}

// A DMA_OUT of one row, which the SIMD machine copies in 16 KiB pieces over the arena's threads from 64 KiB
// on (a kernel's dense output band): sizes below, at and past the threshold and a piece, odd offsets on both
// sides, on 1 and 2 threads. Each row lands on DRAM that earlier rows wrote, so a piece left out shows.
TEST_P(ExtremeTest, DmaOutOneLongRow) {
  ScopedTarget target(GetParam());
  RunLongDmaOuts("DMA_OUT of one long row, target " + target.name(), 300000, [](Builder& b) {
    uint32_t k = 0;
    for (uint32_t n : {(64u << 10) - 1, 64u << 10, (64u << 10) + 1, 80u << 10, (200u << 10) + 37, 290000u}) {
      DmaOut out;
      out.sram = 5 + 64 * k, out.segment = kDramRwSegment, out.dram = 3 + 7 * k++, out.rows = 1, out.row_bytes = n;
      out.dram_stride = 0, out.sram_stride = 0;
      b.Emit(out);
    }
  });
}

// DMA_OUTs of whole 64-byte lines into a DRAM segment of more than 1 MiB, which the SIMD machine writes with
// non-temporal stores where the destination is 64-byte aligned: rows of 64, 128 and 192 bytes at DRAM
// offsets 0, 16, 32 and 48 (the host buffer is 16-byte aligned, so one of them is a 64-byte line), strides
// of whole lines, zero and not, enough rows to be split across threads; on 1 and 2 threads.
TEST_P(ExtremeTest, DmaOutWholeLines) {
  ScopedTarget target(GetParam());
  RunLongDmaOuts("DMA_OUT of whole lines, target " + target.name(), (1u << 20) + 4096, [](Builder& b) {
    uint64_t at = 0;
    for (uint32_t row_bytes : {64u, 128u, 192u}) {
      for (uint64_t offset : {0u, 16u, 32u, 48u}) {
        for (uint64_t stride : {uint64_t{row_bytes}, uint64_t{row_bytes} + 64, uint64_t{0}}) {
          DmaOut out;
          out.rows = stride == 0 ? 3 : (80u << 10) / row_bytes;
          out.sram = 64 + (at % 7) * 4096, out.segment = kDramRwSegment, out.dram = at + offset;
          out.row_bytes = row_bytes, out.dram_stride = stride, out.sram_stride = row_bytes + 32;
          b.Emit(out);
          at = (at + 64 * 1024 + 4096) % (b.p.dram_rw.size() - 200 * 1024) / 64 * 64;
        }
      }
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Targets, ExtremeTest, ::testing::ValuesIn(TargetsToTest()), TargetParamName);
INSTANTIATE_TEST_SUITE_P(Amx, ExtremeTest, ::testing::ValuesIn(AmxVariantsToTest()), TargetParamName);

}  // namespace
}  // namespace tile32::test

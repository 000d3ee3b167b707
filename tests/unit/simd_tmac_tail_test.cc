// The SIMD machine defers a TMAC by one instruction: a REQ or 32-bit ACC_ST of exactly its rows then runs
// inside the TMAC's pass, chunk by chunk (docs/simd_machine.md, "TMAC"), and a broadcast ACC_LD or ACC_ZERO
// of exactly its rows is where its rows start. These programs put the store where it may join (apart from
// everything the TMAC reads, over a tile's SRAM, which the tile copies first) and where it may not (over the
// activation rows, rows sharing bytes, other rows), with and without a seed before the TMAC or of other rows
// between the TMAC and its store (as a GEMM loop with two ACC sets issues them), on one and two threads, and
// compare the whole machine state with the scalar machine's on every target, AMX variants included.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "accel/simd_machine.h"
#include "tests/common/machine_state.h"
#include "tests/common/targets.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace {

using testing::TestSeed;

constexpr uint32_t kTiles = 0;           // tile images, 2 KiB apart
constexpr uint32_t kRows = 64 << 10;     // activation rows
constexpr uint32_t kApart = 288 << 10;   // outputs away from everything the TMAC reads
constexpr uint32_t kSeedRow = 480 << 10; // a bias row

enum class Place { kApart, kOverRows, kOverTiles, kRowsShareBytes, kOtherRows };

AccelConfig Config() {
  AccelConfig c = AccelConfig::Default();
  c.sram_bytes = 512 << 10;
  c.acc_rows = 1024;
  return c;
}

std::vector<Instr> Program(std::mt19937_64& rng, Place place) {
  std::vector<Instr> p;
  AccLoad init;  // ACC from random SRAM, so that every seed shows
  init.row = 0, init.rows = 1024, init.type = DType::kI32, init.addr = 0, init.row_stride = 4 * kLanes;
  p.push_back(init);
  const MacMode modes[] = {MacMode::kU8S8, MacMode::kS8S8, MacMode::kS16S16, MacMode::kBF16};
  const MacMode mode = modes[rng() % 4];
  const DType wtype = WeightType(mode);
  const int tiles = 1 + static_cast<int>(rng() % 4);
  const uint32_t rows_choice[] = {1, 5, 24, 130, 700};
  const uint32_t rows = rows_choice[rng() % 5];
  const uint32_t acc_row = static_cast<uint32_t>(rng() % (1024 - rows + 1));
  for (int t = 0; t < tiles; ++t) {
    TileLoad tl;
    tl.td = static_cast<uint8_t>(t), tl.type = wtype, tl.addr = kTiles + 2048 * static_cast<uint32_t>(t);
    p.push_back(tl);
  }
  if (rng() % 3 == 0) {
    AccZero z;
    z.row = acc_row, z.rows = rows;
    p.push_back(z);
  } else if (rng() % 2 == 0) {
    AccLoad ld;
    ld.row = acc_row, ld.rows = rows, ld.type = DType::kI32, ld.addr = kSeedRow, ld.row_stride = 0;
    p.push_back(ld);
  }
  TileMac m;
  m.mode = mode, m.acc_row = acc_row, m.rows = rows, m.tile = 0, m.tiles = static_cast<uint8_t>(tiles);
  const uint32_t a_row = static_cast<uint32_t>(kLanes * tiles * SizeOf(ActivationType(mode)));
  m.a_addr = kRows, m.a_stride = static_cast<int32_t>(a_row + 32 * (rng() % 2));
  p.push_back(m);

  // A GEMM loop with two ACC sets seeds the other set here; a seed of rows the TMAC uses must not wait.
  const int between = static_cast<int>(rng() % 6);  // 0-1: a seed of other rows, 2: of some of the TMAC's
  uint32_t other = acc_row + rows <= 1024 - rows ? acc_row + rows : (acc_row >= rows ? acc_row - rows : ~0u);
  if (between == 2) other = acc_row + rows / 2;
  const bool seed_between = between <= 2 && other != ~0u && other + rows <= 1024;
  if (seed_between) {
    if (between == 0) {
      AccZero z;
      z.row = other, z.rows = rows;
      p.push_back(z);
      // A second seed of yet other rows: the first one's rows must still be zeroed.
      const uint32_t third = other > acc_row ? other + rows : other - std::min(other, rows);
      if (rows <= 130 && third + rows <= 1024 && (third + rows <= acc_row || third >= acc_row + rows) && third != other) {
        AccLoad ld;
        ld.row = third, ld.rows = rows, ld.type = DType::kI32, ld.addr = kSeedRow, ld.row_stride = 0;
        p.push_back(ld);
      }
    } else {
      AccLoad ld;
      ld.row = other, ld.rows = rows, ld.type = DType::kI32, ld.addr = kSeedRow, ld.row_stride = 0;
      p.push_back(ld);
    }
  }
  const bool req = rng() % 2 == 0;
  const DType out = req ? (rng() % 2 ? DType::kI8 : DType::kI16) : (rng() % 2 ? DType::kI32 : DType::kF32);
  const uint32_t row_bytes = static_cast<uint32_t>(kLanes * SizeOf(out));
  uint32_t addr = kApart, stride = row_bytes, first = acc_row;
  switch (place) {
    case Place::kApart: break;
    case Place::kOverRows: addr = kRows + static_cast<uint32_t>(rows / 2) * static_cast<uint32_t>(m.a_stride); break;
    case Place::kOverTiles: addr = kTiles + 512; break;
    case Place::kRowsShareBytes: stride = row_bytes / 2; break;
    case Place::kOtherRows: first = acc_row == 0 ? 1 : acc_row - 1; break;
  }
  if (first + rows > 1024) first = 1024 - rows;
  if (req) {
    QuantConfig q;
    q.mode = RequantMode::kTflSingle;
    for (int j = 0; j < kLanes; ++j) {
      q.multiplier[j] = static_cast<int32_t>((1u << 28) + rng() % (1u << 30));
      q.shift[j] = -static_cast<int>(rng() % 12);
    }
    const ValueRange r = RangeOf(out);
    q.zero_point = 0, q.qmin = r.lo, q.qmax = r.hi;
    // QCFG (and a VLD) may come between the TMAC and its REQ and the REQ still joins: a kernel sets Q there.
    if (rng() % 2) {
      p.push_back(SetQuant{q});
      VLoad v;
      v.vd = 3, v.type = DType::kI8, v.addr = kApart + 4096, v.stride = 1;
      p.push_back(v);
    } else {
      p.insert(p.begin(), SetQuant{q});
    }
    Requant rq;
    rq.acc_row = first, rq.rows = rows, rq.out = out, rq.addr = addr, rq.row_stride = static_cast<int32_t>(stride);
    p.push_back(rq);
  } else {
    AccStore st;
    st.row = first, st.rows = rows, st.type = out, st.addr = addr, st.row_stride = static_cast<int32_t>(stride);
    p.push_back(st);
  }
  // The same tiles again: they must read what they held when loaded, whatever the store overwrote; on the
  // seeded other rows when there are some.
  if (seed_between) m.acc_row = other;
  p.push_back(m);
  return p;
}

void Check(Place place, uint64_t fixed_seed) {
  const AccelConfig config = Config();
  for (int trial = 0; trial < 24; ++trial) {
    const uint64_t seed = TestSeed(fixed_seed) + trial;
    std::mt19937_64 rng(seed);
    const std::vector<Instr> program = Program(rng, place);
    std::vector<uint8_t> sram(config.sram_bytes);
    for (auto& b : sram) b = static_cast<uint8_t>(rng());
    // bf16 tiles and activations of moderate values, so that most sums are not Inf or NaN.
    for (size_t i = 1; i < sram.size(); i += 2) sram[i] = static_cast<uint8_t>(0x38 + (sram[i] & 0x0F)) | (sram[i] & 0x80);
    auto run = [&](ScalarMachine& m) {
      m.sram().assign(sram.begin(), sram.end());
      m.Run(program);
    };
    ScalarMachine want(config);
    run(want);
    ASSERT_EQ(test::FirstDifferenceOnEveryPath(config, run, want), "")
        << "replay: TILE32_SEED=" << seed - trial << " (trial " << trial << ")";
  }
}

TEST(SimdTmacTail, StoreApartJoins) { Check(Place::kApart, 7101); }
TEST(SimdTmacTail, StoreOverActivationRowsRunsAfter) { Check(Place::kOverRows, 7102); }
TEST(SimdTmacTail, StoreOverTileBytesJoinsAfterTheTileCopiesThem) { Check(Place::kOverTiles, 7103); }
TEST(SimdTmacTail, RowsSharingBytesRunAfter) { Check(Place::kRowsShareBytes, 7104); }
TEST(SimdTmacTail, OtherRowsRunAfter) { Check(Place::kOtherRows, 7105); }

}  // namespace
}  // namespace tile32

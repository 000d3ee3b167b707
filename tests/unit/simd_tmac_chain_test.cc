// The SIMD machine chains TMACs of the same ACC rows and mode, with TLDs between them, into one pass
// (docs/simd_machine.md, "TMAC"): each TMAC must still read the tiles its registers held when it was issued,
// the activations as they were, and add into its rows in issue order. These programs reload the same
// registers from other SRAM before each TMAC of a chain, put a seed before the first, a seed of other rows,
// register instructions, a DMA_OUT or a DMA_IN apart between (which let the chain go on), or an instruction
// that ends it (a write over an earlier TMAC's tile bytes or activation rows, a TMAC of other rows, a read of
// the rows), and end in a store that may join. They compare the whole machine state, and the DRAM the DMA_OUTs wrote, with
// the scalar machine's on every target, AMX variants included, on one and two threads. Groups of TMACs on
// rows apart (GroupProgram) likewise.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <vector>

#include "accel/simd_machine.h"
#include "tests/common/machine_state.h"
#include "tests/common/targets.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace {

using testing::TestSeed;

constexpr uint32_t kTiles = 0;          // tile images, 2 KiB apart (up to 64)
constexpr uint32_t kRows = 128 << 10;   // activation rows
constexpr uint32_t kApart = 400 << 10;  // outputs away from everything a TMAC reads
constexpr uint32_t kSeedRow = 480 << 10;
constexpr uint32_t kAccRows = 1024;

AccelConfig Config() {
  AccelConfig c = AccelConfig::Default();
  c.sram_bytes = 512 << 10;
  c.acc_rows = kAccRows;
  return c;
}

// A VST over the 128 bytes of SRAM at addr (a tile's bytes, which a TLD of them has read).
VStore StoreOver(uint32_t addr) {
  VStore v;
  v.vs = 3, v.type = DType::kI32, v.addr = addr, v.stride = 4;
  return v;
}

// TLDs of tiles 0 .. tiles-1 from random images (the same registers, other bytes, every time), then a TMAC of
// them on `rows` rows from acc_row, appended to p; returns the TMAC. Between them, `over` changes tile 0's
// bytes in SRAM (the register keeps what it loaded: a copy of its own, which a waiting TMAC may read): 1 by a
// VST, 2 by a DMA_IN. *tile0: tile 0's address.
TileMac AppendTmac(std::vector<Instr>& p, std::mt19937_64& rng, MacMode mode, int tiles, uint32_t acc_row,
                   uint32_t rows, int over = 0, uint32_t* tile0 = nullptr) {
  for (int t = 0; t < tiles; ++t) {
    TileLoad tl;
    tl.td = static_cast<uint8_t>(t), tl.type = WeightType(mode);
    tl.addr = kTiles + 2048 * static_cast<uint32_t>(rng() % 64);
    p.push_back(tl);
    if (t == 0 && tile0 != nullptr) *tile0 = tl.addr;
  }
  const uint32_t first = std::get<TileLoad>(p[p.size() - size_t(tiles)]).addr;
  if (over == 1) {
    p.push_back(StoreOver(first));
  } else if (over == 2) {
    DmaIn d;
    d.sram = first, d.segment = 0, d.rows = 2, d.row_bytes = 64, d.sram_stride = 512;
    p.push_back(d);
  }
  TileMac m;
  m.mode = mode, m.acc_row = acc_row, m.rows = rows, m.tile = 0, m.tiles = static_cast<uint8_t>(tiles);
  m.a_addr = kRows + static_cast<uint32_t>(rng() % 4096) * 32;
  m.a_stride = kLanes * tiles * SizeOf(ActivationType(mode)) + 32 * static_cast<int32_t>(rng() % 2);
  p.push_back(m);
  return m;
}

std::vector<Instr> Program(std::mt19937_64& rng) {
  std::vector<Instr> p;
  AccLoad init;  // ACC from random SRAM, so that every seed and every missing MAC shows
  init.row = 0, init.rows = kAccRows, init.type = DType::kI32, init.addr = 0, init.row_stride = 4 * kLanes;
  p.push_back(init);
  const MacMode modes[] = {MacMode::kU8S8, MacMode::kS8S8, MacMode::kS16S16, MacMode::kBF16};
  const MacMode mode = modes[rng() % 4];
  const uint32_t rows_choice[] = {20, 48, 100, 300};  // below, at and above the rows a chain needs
  const uint32_t rows = rows_choice[rng() % 4];
  const uint32_t acc_row = static_cast<uint32_t>(rng() % (kAccRows - rows + 1));
  const uint32_t other = acc_row >= rows ? 0 : kAccRows - rows;  // rows apart from the chain's
  const int chain = 2 + static_cast<int>(rng() % 4) + (rng() % 8 == 0 ? 16 : 0);  // sometimes past the limit
  if (rng() % 2) {  // a seed of the chain's rows before its first TMAC
    AccLoad ld;
    ld.row = acc_row, ld.rows = rows, ld.type = DType::kI32, ld.addr = kSeedRow, ld.row_stride = 0;
    p.push_back(ld);
  }
  for (int c = 0; c < chain; ++c) {
    const int tiles = 1 + static_cast<int>(rng() % 4);
    const TileMac m = AppendTmac(p, rng, mode, tiles, acc_row, rows);
    switch (rng() % 9) {
      case 0: {  // a seed of other rows (a GEMM loop's other ACC set): the chain goes on
        AccZero z;
        z.row = other, z.rows = rows;
        p.push_back(z);
        break;
      }
      case 1: {  // register instructions: the chain goes on
        VLoad v;
        v.vd = 3, v.type = DType::kI8, v.addr = kApart + 4096, v.stride = 1;
        p.push_back(v);
        break;
      }
      case 2: {  // over the tile bytes this TMAC read: it runs first
        p.push_back(StoreOver(kTiles + 2048 * static_cast<uint32_t>(rng() % 64)));
        break;
      }
      case 3: {  // over its activation rows
        DmaIn d;
        d.sram = m.a_addr + static_cast<uint32_t>(rows / 2) * static_cast<uint32_t>(m.a_stride), d.segment = 0;
        d.rows = 1, d.row_bytes = 64;
        p.push_back(d);
        break;
      }
      case 4: {  // a TMAC of other rows
        TileMac o = m;
        o.acc_row = other;
        p.push_back(o);
        break;
      }
      case 5: {  // a read of some of the chain's rows
        AccStore st;
        st.row = acc_row + rows / 3, st.rows = 1, st.type = DType::kI32, st.addr = kApart, st.row_stride = 128;
        p.push_back(st);
        break;
      }
      case 6: {  // a DMA_OUT of the SRAM it reads, its activation rows or a tile (a direct convolution storing
                 // the block before): the chain goes on
        DmaOut d;
        d.sram = rng() % 2 ? m.a_addr : kTiles + 2048 * static_cast<uint32_t>(rng() % 64), d.segment = 1;
        d.dram = 64 * (rng() % 32), d.rows = 4, d.row_bytes = 64, d.sram_stride = 128, d.dram_stride = 128;
        p.push_back(d);
        break;
      }
      case 7: {  // a DMA_IN apart from all the chain reads (a direct convolution loading its next band in
                 // parts): the chain goes on
        DmaIn d;
        d.sram = kApart + 1024 * static_cast<uint32_t>(rng() % 16), d.segment = 0;
        d.rows = 3, d.row_bytes = 96, d.sram_stride = 128;
        p.push_back(d);
        break;
      }
      default:
        break;
    }
  }
  AccStore st;  // joins the chain when it is still waiting
  st.row = acc_row, st.rows = rows, st.type = DType::kI32, st.addr = kApart, st.row_stride = 4 * kLanes;
  p.push_back(st);
  return p;
}

// A group: TMACs each too small to split, on ACC rows apart from the waiting ones' (Winograd's positions), with
// TLDs between, run together on two threads. Some TMACs come back to a set of the group or overlap one (the
// group must end first: they add into its rows in issue order), some are too large to join; seeds, reads,
// AALUs, REQs, DMA_INs and DMA_OUTs come between, some of which the group waits through.
std::vector<Instr> GroupProgram(std::mt19937_64& rng) {
  std::vector<Instr> p;
  AccLoad init;
  init.row = 0, init.rows = kAccRows, init.type = DType::kI8, init.addr = 0, init.row_stride = kLanes;
  p.push_back(init);
  SetQuant q;  // REQ outputs that show whether the TMACs added into the rows they read (x / 2^15)
  q.q.mode = RequantMode::kTflDouble, q.q.multiplier.fill(1 << 30), q.q.shift.fill(-14);
  p.push_back(q);
  const MacMode modes[] = {MacMode::kU8S8, MacMode::kS8S8, MacMode::kS16S16, MacMode::kBF16};
  const MacMode mode = modes[rng() % 4];
  const uint32_t rows_choice[] = {20, 60, 100, 120};  // 20: too few to wait; 120 x 4 tiles: 4 TMACs to split
  const uint32_t rows = rows_choice[rng() % 4];
  const uint32_t sets = kAccRows / rows;
  const int count = 2 + static_cast<int>(rng() % 20);
  uint32_t next_set = 0, tile0 = 0;
  std::vector<uint32_t> used;
  for (int c = 0; c < count; ++c) {
    const int tiles = 1 + static_cast<int>(rng() % (rng() % 8 == 0 ? 16 : 4));
    uint32_t acc_row = rows * (next_set++ % sets);
    const uint32_t pick = static_cast<uint32_t>(rng() % 8);
    if (pick == 0 && !used.empty()) acc_row = used[rng() % used.size()];  // a set of the group again
    if (pick == 1 && !used.empty()) acc_row = std::min(kAccRows - rows, used.back() + rows / 2);  // overlapping
    used.push_back(acc_row);
    const uint32_t last_tile0 = tile0;  // a waiting TMAC's tile that no register holds any more
    AppendTmac(p, rng, mode, tiles, acc_row, rows, static_cast<int>(rng() % 6) % 3, &tile0);
    switch (rng() % 11) {
      case 0: {  // a seed of rows no TMAC uses: the group goes on
        AccZero z;
        z.row = kAccRows - 8, z.rows = 8;
        if (kAccRows - 8 >= sets * rows) p.push_back(z);
        break;
      }
      case 1: {  // over the tile bytes this TMAC read: it runs first
        p.push_back(StoreOver(kTiles + 2048 * static_cast<uint32_t>(rng() % 64)));
        break;
      }
      case 2: {  // a read of some of its rows
        AccStore st;
        st.row = acc_row + rows / 3, st.rows = 1, st.type = DType::kI32, st.addr = kApart, st.row_stride = 128;
        p.push_back(st);
        break;
      }
      case 3: {  // a seed of a set of the group: the group runs first
        AccZero z;
        z.row = used[rng() % used.size()], z.rows = rows;
        p.push_back(z);
        break;
      }
      case 4: {  // a seed of the next set: the TMAC there starts from it, so it does not join
        AccZero z;
        z.row = rows * (next_set % sets), z.rows = rows;
        p.push_back(z);
        break;
      }
      case 6: {  // an AALU apart from every set (the group waits on) or on a set of it (it runs first)
        AccAlu a;
        a.op = AluOp::kAdd, a.rows = 8, a.dst = kAccRows - 8, a.a = kAccRows - 8, a.b = kAccRows - 8;
        if (kAccRows - 8 < sets * rows || rng() % 2) a.b = used[rng() % used.size()];
        p.push_back(a);
        break;
      }
      case 7: {  // a DMA_OUT of activation rows (TMACs write no SRAM: the group waits on)
        DmaOut d;
        d.sram = kRows + static_cast<uint32_t>(rng() % 4096) * 32, d.segment = 1, d.dram = 64 * (rng() % 32);
        d.rows = 2, d.row_bytes = 64, d.sram_stride = 128, d.dram_stride = 64;
        p.push_back(d);
        break;
      }
      case 8: {  // a REQ of rows apart into SRAM apart (the group waits on), of a set, or over what it reads
        Requant r;
        r.acc_row = kAccRows - 8, r.rows = 8, r.out = DType::kI8, r.row_stride = 32;
        if (kAccRows - 8 < sets * rows || rng() % 3 == 0) r.acc_row = used[rng() % used.size()];
        const uint32_t where[] = {kApart + 8192, tile0, last_tile0, kRows + static_cast<uint32_t>(rng() % 4096) * 32};
        r.addr = where[rng() % 4];
        p.push_back(r);
        break;
      }
      case 5: {  // a DMA_IN: apart (the group waits on), or over tile bytes or activation rows (it runs first)
        DmaIn d;
        const uint32_t where[] = {kApart + 8192, kTiles + 2048 * static_cast<uint32_t>(rng() % 64),
                                  kRows + static_cast<uint32_t>(rng() % 4096) * 32, tile0, last_tile0};
        d.sram = where[rng() % 5], d.segment = 0, d.rows = 2, d.row_bytes = 64, d.sram_stride = 1024;
        p.push_back(d);
        break;
      }
      default:
        break;
    }
  }
  DmaIn back;  // what the DMA_OUTs wrote, into the state compared
  back.sram = kApart + 16384, back.segment = 1, back.rows = 1, back.row_bytes = 4096;
  p.push_back(back);
  AccStore st;  // the first or the last TMAC's rows (the machine state compared holds all of ACC)
  st.row = rng() % 2 ? used.front() : used.back(), st.rows = rows, st.type = DType::kI32, st.addr = kApart;
  st.row_stride = 4 * kLanes;
  p.push_back(st);
  return p;
}

void ExpectEveryPathAsScalar(const AccelConfig& config, uint64_t base, int trials,
                             const std::function<std::vector<Instr>(std::mt19937_64&)>& program_of) {
  std::vector<uint8_t> dram(4096);
  for (size_t i = 0; i < dram.size(); ++i) dram[i] = static_cast<uint8_t>(i * 37 + 11);
  for (int trial = 0; trial < trials; ++trial) {
    const uint64_t seed = TestSeed(base) + trial;
    std::mt19937_64 rng(seed);
    const std::vector<Instr> program = program_of(rng);
    std::vector<uint8_t> sram(config.sram_bytes);
    for (auto& b : sram) b = static_cast<uint8_t>(rng());
    // bf16 tiles and activations of moderate values, so that most sums are not Inf or NaN.
    for (size_t i = 1; i < sram.size(); i += 2) sram[i] = static_cast<uint8_t>(0x38 + (sram[i] & 0x0F)) | (sram[i] & 0x80);
    // The DRAM that DMA_OUTs wrote is compared too (the machine state holds none of it): the scalar run's,
    // then each path's against it.
    std::vector<uint8_t> want_out;
    std::string dram_difference;
    auto run = [&](ScalarMachine& m) {
      std::vector<uint8_t> out(4096);
      m.sram().assign(sram.begin(), sram.end());
      m.BindDramReadOnly(0, dram.data(), dram.size());
      m.BindDram(1, out.data(), out.size());
      m.Run(program);
      m.UnbindDram(0), m.UnbindDram(1);
      if (want_out.empty()) {
        want_out = out;
      } else if (dram_difference.empty()) {
        dram_difference = test::FirstDifference(want_out, out, "DRAM segment 1");
      }
    };
    ScalarMachine want(config);
    run(want);
    ASSERT_EQ(test::FirstDifferenceOnEveryPath(config, run, want), "")
        << "replay: TILE32_SEED=" << seed - trial << " (trial " << trial << ")";
    ASSERT_EQ(dram_difference, "") << "replay: TILE32_SEED=" << seed - trial << " (trial " << trial << ")";
  }
}

// Between a group's TMACs (S16S16, which reads the tiles' bytes as it runs), what must end it: a DMA_IN over the
// tile of its first TMAC (whose register holds another by then), a REQ or an AALU of the first TMAC's rows; and
// what it waits through: two seeds apart from it, the first of the next TMAC's rows.
std::vector<Instr> BetweenGroupTmacs(int what) {
  std::vector<Instr> p;
  SetQuant q;
  q.q.mode = RequantMode::kTflDouble, q.q.multiplier.fill(1 << 30), q.q.shift.fill(-14);
  p.push_back(q);
  const uint32_t tile_at[] = {kTiles, kTiles + 4096, kTiles + 8192};
  for (uint32_t k = 0; k < 3; ++k) {
    TileLoad tl;
    tl.td = 0, tl.type = DType::kI16, tl.addr = tile_at[k];
    p.push_back(tl);
    if (k == 2 && what == 0) {
      DmaIn d;
      d.sram = tile_at[0], d.segment = 0, d.rows = 1, d.row_bytes = 256;
      p.push_back(d);
    } else if (k == 2 && what == 1) {
      Requant r;
      r.acc_row = 0, r.rows = 4, r.out = DType::kI8, r.addr = kApart, r.row_stride = 32;
      p.push_back(r);
    } else if (k == 2 && what == 2) {
      AccAlu a;
      a.op = AluOp::kAdd, a.rows = 4, a.dst = kAccRows - 4, a.a = kAccRows - 4, a.b = 0;
      p.push_back(a);
    } else if (k == 2 && what == 3) {
      AccLoad seed;  // a bias row broadcast over the next TMAC's rows, then a zero seed of others
      seed.row = 200, seed.rows = 100, seed.type = DType::kI32, seed.addr = kApart + 4096, seed.row_stride = 0;
      p.push_back(seed);
      AccZero z;
      z.row = 300, z.rows = 100;
      p.push_back(z);
    }
    TileMac m;
    m.mode = MacMode::kS16S16, m.acc_row = 100 * k, m.rows = 100, m.tile = 0, m.tiles = 1;
    m.a_addr = kRows + 65536 * k, m.a_stride = 64;
    p.push_back(m);
  }
  return p;
}

TEST(SimdTmacChain, BetweenTheTmacsOfAGroup) {
  const char* what_name[] = {"DMA_IN over a tile", "REQ of a TMAC's rows", "AALU reading them", "two seeds"};
  for (int what = 0; what < 4; ++what) {
    SCOPED_TRACE(what_name[what]);
    ExpectEveryPathAsScalar(Config(), 7203, 1, [what](std::mt19937_64&) { return BetweenGroupTmacs(what); });
  }
}

TEST(SimdTmacChain, GroupsOfTmacsOnRowsApart) { ExpectEveryPathAsScalar(Config(), 7202, 96, GroupProgram); }

TEST(SimdTmacChain, EveryTmacReadsWhatItsRegistersHeld) { ExpectEveryPathAsScalar(Config(), 7201, 64, Program); }

}  // namespace
}  // namespace tile32

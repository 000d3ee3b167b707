// layout/tile_pack: round trips, the exact byte of known elements in tile order (docs/isa.md §3.4),
// zero padding, and the promise that consecutive tile images TLD into a TMAC chain of the right matrix.
#include "layout/tile_pack.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "accel/error.h"
#include "accel/scalar_machine.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace {

using testing::ExpectErrorMentioning;
using testing::TestSeed;

const int kDims[] = {1, 31, 32, 33, 64, 100};

TEST(TilePack, I8RoundTripAndPadding) {
  const uint64_t seed = TestSeed(101);
  std::mt19937_64 rng(seed);
  for (int K : kDims) {
    for (int N : kDims) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " K " + std::to_string(K) + " N " + std::to_string(N));
      const int64_t ldb = N + 3;
      std::vector<int8_t> b(size_t(K) * ldb);
      for (auto& v : b) {
        v = static_cast<int8_t>(rng());
        if (v == 0) v = 1;  // every element nonzero, so the zero count proves the padding
      }
      const PackedWeights p = PackWeightsI8(b.data(), K, N, ldb);
      EXPECT_EQ(p.dtype, DType::kI8);
      EXPECT_EQ(p.K, K);
      EXPECT_EQ(p.N, N);
      EXPECT_EQ(p.k_tiles, (K + 31) / 32);
      EXPECT_EQ(p.n_tiles, (N + 31) / 32);
      ASSERT_EQ(p.bytes.size(), size_t(p.k_tiles) * p.n_tiles * 1024);
      size_t nonzero = 0;
      for (uint8_t v : p.bytes) nonzero += v != 0;
      EXPECT_EQ(nonzero, size_t(K) * N) << "padding must be zero";
      std::vector<int8_t> back(size_t(K) * ldb, 0);
      UnpackWeightsI8(p, back.data(), ldb);
      for (int k = 0; k < K; ++k) {
        for (int n = 0; n < N; ++n) ASSERT_EQ(back[k * ldb + n], b[k * ldb + n]) << "k " << k << " n " << n;
      }
    }
  }
}

TEST(TilePack, I16AndBF16RoundTrip) {
  const uint64_t seed = TestSeed(102);
  std::mt19937_64 rng(seed);
  for (int K : {1, 33, 100}) {
    for (int N : {1, 32, 70}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " K " + std::to_string(K) + " N " + std::to_string(N));
      const int64_t ldb = N + 1;
      std::vector<int16_t> b16(size_t(K) * ldb);
      std::vector<uint16_t> bf(size_t(K) * ldb);
      for (auto& v : b16) v = static_cast<int16_t>(rng());
      for (auto& v : bf) v = static_cast<uint16_t>(rng());
      const PackedWeights p16 = PackWeightsI16(b16.data(), K, N, ldb);
      const PackedWeights pbf = PackWeightsBF16(bf.data(), K, N, ldb);
      EXPECT_EQ(p16.bytes.size(), size_t(p16.k_tiles) * p16.n_tiles * 2048);
      EXPECT_EQ(pbf.dtype, DType::kBF16);
      std::vector<int16_t> back16(b16.size(), 0);
      std::vector<uint16_t> backbf(bf.size(), 0);
      UnpackWeightsI16(p16, back16.data(), ldb);
      UnpackWeightsBF16(pbf, backbf.data(), ldb);
      for (int k = 0; k < K; ++k) {
        for (int n = 0; n < N; ++n) {
          ASSERT_EQ(back16[k * ldb + n], b16[k * ldb + n]) << "k " << k << " n " << n;
          ASSERT_EQ(backbf[k * ldb + n], bf[k * ldb + n]) << "k " << k << " n " << n;
        }
      }
    }
  }
}

TEST(TilePack, KnownBytePositions) {
  // K = 70, N = 40: k_tiles = 3, n_tiles = 2, tiles stored N-block major: index = nt * 3 + kt.
  const int K = 70, N = 40;
  std::vector<int8_t> b(size_t(K) * N, 0);
  b[5 * N + 37] = 77;   // tile (kt 0, nt 1) = index 3; in tile k 5, j 5: (5/4)*128 + 5*4 + 1
  b[69 * N + 0] = -9;   // tile (kt 2, nt 0) = index 2; in tile k 5, j 0: 128 + 0 + 1
  b[0 * N + 0] = 1;     // first byte
  b[66 * N + 39] = 5;   // tile (2, 1) = index 5; k 2, j 7: 0 + 28 + 2
  const PackedWeights p = PackWeightsI8(b.data(), K, N, N);
  EXPECT_EQ(p.bytes[3 * 1024 + 128 + 20 + 1], 77);
  EXPECT_EQ(static_cast<int8_t>(p.bytes[2 * 1024 + 128 + 1]), -9);
  EXPECT_EQ(p.bytes[0], 1);
  EXPECT_EQ(p.bytes[5 * 1024 + 28 + 2], 5);
  EXPECT_EQ(p.ElementOffset(5, 37), size_t(3 * 1024 + 149));
  EXPECT_EQ(p.TileOffset(1, 1), size_t(4 * 1024));

  // int16: T[k][j] at 2*((k/2)*64 + j*2 + k%2), tiles of 2048 bytes.
  std::vector<int16_t> b16(size_t(K) * N, 0);
  b16[33 * N + 2] = -1234;  // tile (1, 0) = index 1; k 1, j 2: 2*(0 + 4 + 1) = 10
  b16[7 * N + 35] = 4321;   // tile (0, 1) = index 3; k 7, j 3: 2*(3*64 + 6 + 1) = 398
  const PackedWeights p16 = PackWeightsI16(b16.data(), K, N, N);
  auto at16 = [&](size_t off) { return static_cast<int16_t>(p16.bytes[off] | (p16.bytes[off + 1] << 8)); };
  EXPECT_EQ(at16(2048 + 10), -1234);
  EXPECT_EQ(at16(3 * 2048 + 398), 4321);
  EXPECT_EQ(p16.ElementOffset(33, 2), size_t(2048 + 10));
}

// DMA the packed tiles of one column block into SRAM, TLD them into consecutive tile registers: each
// register holds rows [32t, 32t+32) of that block, which is what a TMAC with tiles > 1 multiplies.
TEST(TilePack, ConsecutiveTilesLoadAsAChain) {
  const uint64_t seed = TestSeed(103);
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  const int K = 100, N = 70;
  std::vector<int8_t> b(size_t(K) * N);
  for (auto& v : b) v = static_cast<int8_t>(rng());
  const PackedWeights p = PackWeightsI8(b.data(), K, N, N);
  AccelConfig config;
  config.sram_bytes = 64 << 10;
  config.tile_regs = 4;
  ScalarMachine m(config);
  m.BindDramReadOnly(0, p.bytes.data(), p.bytes.size());
  for (int nt = 0; nt < p.n_tiles; ++nt) {
    DmaIn d;
    d.sram = 0, d.segment = 0, d.dram = p.TileOffset(0, nt), d.rows = 1;
    d.row_bytes = static_cast<uint32_t>(p.k_tiles * p.tile_bytes());
    m.Execute(d);
    for (int t = 0; t < p.k_tiles; ++t) {
      TileLoad tl;
      tl.td = static_cast<uint8_t>(t), tl.type = DType::kI8, tl.addr = static_cast<uint32_t>(t * p.tile_bytes());
      m.Execute(tl);
    }
    for (int t = 0; t < p.k_tiles; ++t) {
      for (int k = 0; k < 32; ++k) {
        for (int j = 0; j < 32; ++j) {
          const int kk = 32 * t + k, n = 32 * nt + j;
          const int want = kk < K && n < N ? b[kk * N + n] : 0;
          ASSERT_EQ(static_cast<int16_t>(m.tile(t)[k * 32 + j]), want) << "nt " << nt << " t " << t << " k " << k << " j " << j;
        }
      }
    }
  }
}

// Packing from the transpose gives the bytes the row-major packing gives, padding and every type included.
TEST(TilePack, ColumnsPackLikeRows) {
  const uint64_t seed = TestSeed(104);
  std::mt19937_64 rng(seed);
  for (int K : {1, 2, 3, 5, 31, 32, 33, 66, 100}) {
    for (int N : {1, 31, 33, 70}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " K " + std::to_string(K) + " N " + std::to_string(N));
      const int64_t ldbt = K + static_cast<int64_t>(rng() % 3);
      std::vector<uint16_t> bt(size_t(N) * ldbt), b(size_t(K) * N);
      for (auto& v : bt) v = static_cast<uint16_t>(rng());
      std::vector<int8_t> bt8(bt.size()), b8(b.size());
      for (size_t i = 0; i < bt.size(); ++i) bt8[i] = static_cast<int8_t>(bt[i] >> 3);
      for (int k = 0; k < K; ++k) {
        for (int n = 0; n < N; ++n) b[size_t(k) * N + n] = bt[size_t(n) * ldbt + k], b8[size_t(k) * N + n] = bt8[size_t(n) * ldbt + k];
      }
      const PackedWeights c8 = PackWeightColumnsI8(bt8.data(), K, N, ldbt), r8 = PackWeightsI8(b8.data(), K, N, N);
      EXPECT_EQ(c8.bytes, r8.bytes);
      EXPECT_EQ(c8.k_tiles, r8.k_tiles);
      EXPECT_EQ(c8.n_tiles, r8.n_tiles);
      const auto* bt16 = reinterpret_cast<const int16_t*>(bt.data());
      const auto* b16 = reinterpret_cast<const int16_t*>(b.data());
      EXPECT_EQ(PackWeightColumnsI16(bt16, K, N, ldbt).bytes, PackWeightsI16(b16, K, N, N).bytes);
      const PackedWeights cbf = PackWeightColumnsBF16(bt.data(), K, N, ldbt);
      EXPECT_EQ(cbf.dtype, DType::kBF16);
      EXPECT_EQ(cbf.bytes, PackWeightsBF16(b.data(), K, N, N).bytes);
    }
  }
  std::vector<int8_t> bt(64, 1);
  ExpectErrorMentioning([&] { PackWeightColumnsI8(nullptr, 4, 4, 4); }, "bt is null");
  ExpectErrorMentioning([&] { PackWeightColumnsI8(bt.data(), 0, 4, 4); }, "K = 0");
  ExpectErrorMentioning([&] { PackWeightColumnsI8(bt.data(), 8, 4, 7); }, "ldbt = 7 must be >= K = 8");
}

TEST(TilePack, Errors) {
  std::vector<int8_t> b(64, 1);
  ExpectErrorMentioning([&] { PackWeightsI8(nullptr, 4, 4, 4); }, "b is null");
  ExpectErrorMentioning([&] { PackWeightsI8(b.data(), 0, 4, 4); }, "K = 0");
  ExpectErrorMentioning([&] { PackWeightsI8(b.data(), 4, -1, 4); }, "N = -1");
  ExpectErrorMentioning([&] { PackWeightsI8(b.data(), 4, 8, 7); }, "ldb = 7");
  std::vector<int16_t> b16(64, 1);
  ExpectErrorMentioning([&] { PackWeightsI16(b16.data(), 4, 8, 4); }, "ldb");
  const PackedWeights p = PackWeightsI8(b.data(), 4, 8, 8);
  std::vector<int16_t> out(64);
  ExpectErrorMentioning([&] { UnpackWeightsI16(p, out.data(), 8); }, "dtype");
  std::vector<int8_t> out8(64);
  ExpectErrorMentioning([&] { UnpackWeightsI8(p, out8.data(), 7); }, "ldb = 7");
  ExpectErrorMentioning([&] { UnpackWeightsI8(p, nullptr, 8); }, "b is null");
  EXPECT_THROW(TileImageBytes(DType::kI32), Error);
}

}  // namespace
}  // namespace tile32

// layout/tensor: NHWC <-> NCHW32c round trips over channels, sizes, element types and pixel strides; the
// exact place of known elements (an index formula written here, separately from the library); zero
// padding over garbage; refusal of nonzero padding without writing; every argument error.
// Seeds are fixed per test and printed on failure; TILE32_SEED overrides them all.
#include "layout/tensor.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "accel/error.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace {

using testing::ExpectErrorMentioning;
using testing::TestSeed;

// Element index of channel c of pixel (n, h, w) in NCHW32c, written from the definition
// [batch][ceil(C/32)][height][width][32] without using the library.
size_t RefBlockedIndex(const TensorShape& s, int n, int h, int w, int c) {
  const size_t blocks = (size_t(s.channels) + 31) / 32;
  size_t i = size_t(n);
  i = i * blocks + size_t(c / 32);
  i = i * size_t(s.height) + size_t(h);
  i = i * size_t(s.width) + size_t(w);
  return i * 32 + size_t(c % 32);
}

// Element index of channel c of pixel (n, h, w) in NHWC with `stride` elements per pixel.
size_t RefNhwcIndex(const TensorShape& s, int64_t stride, int n, int h, int w, int c) {
  return ((size_t(n) * s.height + h) * s.width + w) * size_t(stride) + size_t(c);
}

// Bytes from the first to the last byte of an NHWC tensor with `stride` elements per pixel.
size_t RefNhwcSpan(const TensorShape& s, int64_t stride, size_t es) {
  return ((size_t(s.batch) * s.height * s.width - 1) * size_t(stride) + size_t(s.channels)) * es;
}

std::string Describe(uint64_t seed, const TensorShape& s, DType t, int64_t stride) {
  return "seed " + std::to_string(seed) + " (TILE32_SEED overrides) shape " + ToString(s) + " dtype " +
         NameOf(t) + " pixel_stride " + std::to_string(stride);
}

// NHWC bytes: channel bytes random and nonzero, the gap bytes between channels and stride = gap.
std::vector<uint8_t> RandomNhwc(std::mt19937_64& rng, const TensorShape& s, int64_t stride, size_t es,
                                uint8_t gap) {
  std::vector<uint8_t> v(RefNhwcSpan(s, stride, es), gap);
  for (int n = 0; n < s.batch; ++n) {
    for (int h = 0; h < s.height; ++h) {
      for (int w = 0; w < s.width; ++w) {
        for (int c = 0; c < s.channels; ++c) {
          const size_t at = RefNhwcIndex(s, stride, n, h, w, c) * es;
          for (size_t k = 0; k < es; ++k) v[at + k] = static_cast<uint8_t>(1 + rng() % 255);
        }
      }
    }
  }
  return v;
}

// Every byte of `blocked` is the NHWC element byte the reference formula puts there, or zero for padding.
void ExpectBlockedMatches(const TensorShape& s, int64_t stride, size_t es, const std::vector<uint8_t>& nhwc,
                          const std::vector<uint8_t>& blocked) {
  const int padded = (s.channels + 31) / 32 * 32;
  ASSERT_EQ(blocked.size(), size_t(s.batch) * s.height * s.width * size_t(padded) * es);
  for (int n = 0; n < s.batch; ++n) {
    for (int h = 0; h < s.height; ++h) {
      for (int w = 0; w < s.width; ++w) {
        for (int c = 0; c < padded; ++c) {
          const size_t at = RefBlockedIndex(s, n, h, w, c) * es;
          for (size_t k = 0; k < es; ++k) {
            const uint8_t want = c < s.channels ? nhwc[RefNhwcIndex(s, stride, n, h, w, c) * es + k] : 0;
            ASSERT_EQ(blocked[at + k], want) << "n " << n << " h " << h << " w " << w << " c " << c << " byte " << k
                                             << (c < s.channels ? "" : " (padding)");
          }
        }
      }
    }
  }
}

TEST(TensorLayout, ShapeHelpersAndBytes) {
  const TensorShape s{2, 3, 4, 70};
  EXPECT_EQ(s.pixels(), 24u);
  EXPECT_EQ(s.channel_blocks(), 3);
  EXPECT_EQ(s.blocked_channels(), 96);
  EXPECT_EQ(s.nhwc_elements(), 24u * 70);
  EXPECT_EQ(s.blocked_elements(), 24u * 96);
  EXPECT_EQ(NhwcBytes(s, DType::kU8), 24u * 70);
  EXPECT_EQ(NhwcBytes(s, DType::kBF16), 24u * 70 * 2);
  EXPECT_EQ(BlockedBytes(s, DType::kI8), 24u * 96);
  EXPECT_EQ(BlockedBytes(s, DType::kI16), 24u * 96 * 2);
  EXPECT_EQ(BlockedBytes(s, DType::kF32), 24u * 96 * 4);
  EXPECT_EQ(BlockedBytes(s, DType::kI32), 24u * 96 * 4);
  for (int c : {1, 31, 32, 33, 64, 65}) {
    const TensorShape t{1, 1, 1, c};
    EXPECT_EQ(t.channel_blocks(), (c + 31) / 32) << "channels " << c;
    EXPECT_EQ(BlockedBytes(t, DType::kU8), size_t((c + 31) / 32 * 32)) << "channels " << c;
  }
  EXPECT_EQ(ToString(s), "{batch 2, height 3, width 4, channels 70}");
  // Exactly the limit is accepted; one more element is not.
  EXPECT_EQ(NhwcBytes({1024, 1024, 1024, 1024}, DType::kU8), size_t{1} << 40);
  EXPECT_EQ(BlockedBytes({1024, 1024, 1024, 993}, DType::kU8), size_t{1} << 40);
  EXPECT_EQ(TensorShape({1024, 1024, 1024, 1024}).nhwc_elements(), size_t{1} << 40);
}

// NHWC -> NCHW32c -> NHWC over every channel count, size, batch, element size and a dense or wider pixel
// stride; the blocked bytes are checked one by one against the reference formula (garbage beforehand), and
// the gap bytes of the NHWC destination are left as they were.
TEST(TensorLayout, RoundTripEveryShapeTypeAndStride) {
  const uint64_t seed = TestSeed(7001);
  std::mt19937_64 rng(seed);
  int cases = 0;
  for (DType t : {DType::kU8, DType::kI16, DType::kF32}) {
    const size_t es = size_t(SizeOf(t));
    for (int C : {1, 3, 31, 32, 33, 47, 64, 94, 200}) {
      for (int H : {1, 2, 7}) {
        for (int W : {1, 2, 7}) {
          for (int N : {1, 3}) {
            for (bool wide : {false, true}) {
              const TensorShape s{N, H, W, C};
              const int64_t arg_stride = wide ? C + 1 + int64_t(rng() % 9) : 0;
              const int64_t stride = wide ? arg_stride : C;
              SCOPED_TRACE(Describe(seed, s, t, arg_stride));
              const std::vector<uint8_t> nhwc = RandomNhwc(rng, s, stride, es, 0xEE);
              std::vector<uint8_t> blocked(BlockedBytes(s, t), 0xA5);
              NhwcToBlocked(s, t, nhwc.data(), arg_stride, blocked.data());
              ExpectBlockedMatches(s, stride, es, nhwc, blocked);
              if (::testing::Test::HasFatalFailure()) return;

              std::vector<uint8_t> back(nhwc.size(), 0x3C);
              BlockedToNhwc(s, t, blocked.data(), back.data(), arg_stride);
              for (size_t p = 0; p < size_t(N) * H * W; ++p) {
                for (int64_t e = 0; e < stride; ++e) {
                  for (size_t k = 0; k < es; ++k) {
                    const size_t at = (p * size_t(stride) + size_t(e)) * es + k;
                    if (at >= back.size()) break;  // the span ends after the last pixel's channels
                    const uint8_t want = e < C ? nhwc[at] : uint8_t{0x3C};
                    ASSERT_EQ(back[at], want) << "pixel " << p << " element " << e << " byte " << k
                                              << (e < C ? "" : " (gap: must be untouched)");
                  }
                }
              }
              ++cases;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 3 * 9 * 3 * 3 * 2 * 2);
}

// The element types not in the grid above copy the same way (i8 and u8, bf16 and i16, i32 and f32).
TEST(TensorLayout, RoundTripOtherTypes) {
  const uint64_t seed = TestSeed(7002);
  std::mt19937_64 rng(seed);
  for (DType t : {DType::kI8, DType::kBF16, DType::kI32}) {
    const TensorShape s{2, 3, 5, 45};
    for (int64_t stride : {int64_t{0}, int64_t{50}}) {
      SCOPED_TRACE(Describe(seed, s, t, stride));
      const size_t es = size_t(SizeOf(t));
      const std::vector<uint8_t> nhwc = RandomNhwc(rng, s, stride ? stride : 45, es, 0x11);
      std::vector<uint8_t> blocked(BlockedBytes(s, t), 0xFF);
      NhwcToBlocked(s, t, nhwc.data(), stride, blocked.data());
      ExpectBlockedMatches(s, stride ? stride : 45, es, nhwc, blocked);
      std::vector<uint8_t> back(nhwc.size(), 0x11);
      BlockedToNhwc(s, t, blocked.data(), back.data(), stride);
      EXPECT_EQ(back, nhwc);
    }
  }
}

// Known elements at offsets computed by hand: shape {2, 3, 4, 70}, 3 channel blocks.
TEST(TensorLayout, KnownElementPlacement) {
  const TensorShape s{2, 3, 4, 70};
  struct Known {
    int n, h, w, c;
    size_t index;  // by hand: (((n*3 + c/32)*3 + h)*4 + w)*32 + c%32
  };
  const Known known[] = {
      {0, 0, 0, 0, 0},
      {0, 0, 1, 31, 63},               // ((0*3+0)*3+0)*4+1 = 1 -> 32 + 31
      {1, 0, 0, 32, 1536},             // ((1*3+1)*3+0)*4+0 = 48 -> 48*32
      {0, 2, 3, 69, 1125},             // ((0*3+2)*3+2)*4+3 = 35 -> 35*32 + 5
      {1, 2, 3, 65, 2273},             // ((1*3+2)*3+2)*4+3 = 71 -> 71*32 + 1
      {1, 2, 3, 69, 2277},             // the last channel of the last pixel
  };
  for (const Known& k : known) {
    EXPECT_EQ(RefBlockedIndex(s, k.n, k.h, k.w, k.c), k.index) << "the test's own formula, c " << k.c;
  }
  // i16: value 1000 + i at each known element, zero elsewhere.
  std::vector<int16_t> nhwc16(s.nhwc_elements(), 0);
  std::vector<float> nhwc32(s.nhwc_elements(), 0.0f);
  for (size_t i = 0; i < std::size(known); ++i) {
    const Known& k = known[i];
    nhwc16[RefNhwcIndex(s, 70, k.n, k.h, k.w, k.c)] = static_cast<int16_t>(1000 + i);
    nhwc32[RefNhwcIndex(s, 70, k.n, k.h, k.w, k.c)] = -1.5f - float(i);
  }
  std::vector<int16_t> blocked16(s.blocked_elements(), -1);
  std::vector<float> blocked32(s.blocked_elements(), 7.0f);
  NhwcToBlocked(s, DType::kI16, nhwc16.data(), 0, blocked16.data());
  NhwcToBlocked(s, DType::kF32, nhwc32.data(), 0, blocked32.data());
  for (size_t i = 0; i < std::size(known); ++i) {
    EXPECT_EQ(blocked16[known[i].index], 1000 + int(i)) << "known element " << i;
    EXPECT_EQ(blocked32[known[i].index], -1.5f - float(i)) << "known element " << i;
  }
  size_t nonzero16 = 0, nonzero32 = 0;
  for (int16_t v : blocked16) nonzero16 += v != 0;
  for (float v : blocked32) nonzero32 += v != 0.0f;
  EXPECT_EQ(nonzero16, std::size(known)) << "everything else, padding included, must be zero";
  EXPECT_EQ(nonzero32, std::size(known));
  // u8 with a pixel stride of 72: the source index moves, the blocked index does not.
  std::vector<uint8_t> nhwc8(RefNhwcSpan(s, 72, 1), 0x77);  // gaps 0x77, never copied
  for (int n = 0; n < 2; ++n)
    for (int h = 0; h < 3; ++h)
      for (int w = 0; w < 4; ++w)
        for (int c = 0; c < 70; ++c) nhwc8[RefNhwcIndex(s, 72, n, h, w, c)] = 0;
  nhwc8[RefNhwcIndex(s, 72, 1, 2, 3, 65)] = 200;
  EXPECT_EQ(RefNhwcIndex(s, 72, 1, 2, 3, 65), size_t(23 * 72 + 65));
  std::vector<uint8_t> blocked8(s.blocked_elements(), 0x99);
  NhwcToBlocked(s, DType::kU8, nhwc8.data(), 72, blocked8.data());
  EXPECT_EQ(blocked8[2273], 200);
  size_t nonzero8 = 0;
  for (uint8_t v : blocked8) nonzero8 += v != 0;
  EXPECT_EQ(nonzero8, 1u);
}

// Every padding byte is zero after NhwcToBlocked whatever the destination held, for every DType.
TEST(TensorLayout, PaddingIsZeroOverGarbage) {
  const uint64_t seed = TestSeed(7003);
  std::mt19937_64 rng(seed);
  const TensorShape s{3, 2, 7, 47};  // 2 blocks, lanes 15..31 of block 1 are padding
  for (DType t : {DType::kI8, DType::kU8, DType::kI16, DType::kBF16, DType::kI32, DType::kF32}) {
    SCOPED_TRACE(Describe(seed, s, t, 0));
    const size_t es = size_t(SizeOf(t));
    const std::vector<uint8_t> nhwc = RandomNhwc(rng, s, 47, es, 0);
    std::vector<uint8_t> blocked(BlockedBytes(s, t));
    for (auto& b : blocked) b = static_cast<uint8_t>(1 + rng() % 255);  // garbage, never zero
    NhwcToBlocked(s, t, nhwc.data(), 0, blocked.data());
    size_t padding_bytes = 0;
    for (int n = 0; n < s.batch; ++n)
      for (int h = 0; h < s.height; ++h)
        for (int w = 0; w < s.width; ++w)
          for (int c = 47; c < 64; ++c)
            for (size_t k = 0; k < es; ++k, ++padding_bytes)
              ASSERT_EQ(blocked[RefBlockedIndex(s, n, h, w, c) * es + k], 0)
                  << "n " << n << " h " << h << " w " << w << " lane " << c % 32 << " byte " << k;
    EXPECT_EQ(padding_bytes, size_t(3 * 2 * 7 * 17) * es);
    ExpectBlockedMatches(s, 47, es, nhwc, blocked);
  }
}

// A nonzero padding byte is refused, naming the first one in memory order, and nothing is written.
TEST(TensorLayout, BlockedToNhwcRefusesNonzeroPadding) {
  const uint64_t seed = TestSeed(7004);
  std::mt19937_64 rng(seed);
  const TensorShape s{2, 3, 4, 70};  // lanes 6..31 of block 2 are padding
  SCOPED_TRACE("seed " + std::to_string(seed) + " (TILE32_SEED overrides)");
  struct Poke {
    DType t;
    int n, h, w, lane;
    size_t byte;
    uint8_t value;
    const char* place;
    const char* value_text;
  };
  const Poke pokes[] = {
      {DType::kI16, 1, 1, 2, 9, 1, 0x5a, "(n 1, block 2, h 1, w 2, lane 9), byte 1", "0x5a"},
      {DType::kU8, 0, 0, 0, 6, 0, 0x01, "(n 0, block 2, h 0, w 0, lane 6), byte 0", "0x1"},
      {DType::kF32, 1, 2, 3, 31, 3, 0x80, "(n 1, block 2, h 2, w 3, lane 31), byte 3", "0x80"},  // the last byte
  };
  for (const Poke& p : pokes) {
    SCOPED_TRACE(std::string("dtype ") + NameOf(p.t) + " at " + p.place);
    const size_t es = size_t(SizeOf(p.t));
    const std::vector<uint8_t> nhwc = RandomNhwc(rng, s, 70, es, 0);
    std::vector<uint8_t> blocked(BlockedBytes(s, p.t), 0xCD);
    NhwcToBlocked(s, p.t, nhwc.data(), 0, blocked.data());
    blocked[RefBlockedIndex(s, p.n, p.h, p.w, 64 + p.lane) * es + p.byte] = p.value;
    // A later nonzero padding byte (the last one of the tensor) must not be the one reported.
    if (p.t != DType::kF32) blocked[RefBlockedIndex(s, 1, 2, 3, 95) * es + es - 1] = 0x42;
    std::vector<uint8_t> dst(nhwc.size() + 5, 0x6B);
    const std::vector<uint8_t> before = dst;
    try {
      BlockedToNhwc(s, p.t, blocked.data(), dst.data(), 0);
      ADD_FAILURE() << "nonzero padding accepted";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("BlockedToNhwc"), std::string::npos) << what;
      EXPECT_NE(what.find("padding"), std::string::npos) << what;
      EXPECT_NE(what.find(p.place), std::string::npos) << what;
      EXPECT_NE(what.find(std::string("byte ") + p.value_text), std::string::npos) << what;
      EXPECT_NE(what.find("channels = 70"), std::string::npos) << what;
    }
    EXPECT_EQ(dst, before) << "nothing may be written when the padding is refused";
  }
  // Nonzero bytes in real channels are data, not padding; with channels a multiple of 32 there is none.
  const TensorShape full{1, 2, 2, 64};
  std::vector<uint8_t> blocked(BlockedBytes(full, DType::kU8), 0xFF), out(NhwcBytes(full, DType::kU8));
  BlockedToNhwc(full, DType::kU8, blocked.data(), out.data(), 0);
  EXPECT_EQ(out, std::vector<uint8_t>(out.size(), 0xFF));
}

TEST(TensorLayout, Errors) {
  const TensorShape s{1, 2, 2, 40};
  std::vector<uint8_t> a(4096, 0), b(4096, 0);

  // Shapes, in every function that takes one.
  ExpectErrorMentioning([&] { NhwcBytes({0, 1, 1, 1}, DType::kU8); }, "NhwcBytes: shape.batch = 0 must be >= 1");
  ExpectErrorMentioning([&] { NhwcBytes({1, -2, 1, 1}, DType::kU8); }, "shape.height = -2");
  ExpectErrorMentioning([&] { BlockedBytes({1, 1, 0, 1}, DType::kU8); }, "BlockedBytes: shape.width = 0");
  ExpectErrorMentioning([&] { BlockedBytes({1, 1, 1, INT_MIN}, DType::kU8); }, "shape.channels = -2147483648");
  ExpectErrorMentioning([&] { TensorShape{}.pixels(); }, "TensorShape::pixels: shape.batch = 0");
  ExpectErrorMentioning([&] { TensorShape({1, 1, 1, -31}).channel_blocks(); }, "shape.channels = -31");
  ExpectErrorMentioning([&] { TensorShape({1, 1, 1, 0}).blocked_channels(); }, "shape.channels = 0");
  ExpectErrorMentioning([&] { TensorShape({1, 1, 1, -1}).blocked_elements(); }, "shape.channels = -1");
  ExpectErrorMentioning([&] { TensorShape({1, 0, 1, 1}).nhwc_elements(); }, "shape.height = 0");
  ExpectErrorMentioning([&] { NhwcToBlocked({1, 1, 1, 0}, DType::kU8, a.data(), 0, b.data()); },
                        "NhwcToBlocked: shape.channels = 0");
  ExpectErrorMentioning([&] { BlockedToNhwc({1, 1, 0, 1}, DType::kU8, a.data(), b.data(), 0); },
                        "BlockedToNhwc: shape.width = 0");

  // Sizes: beyond 2^40 bytes, or beyond size_t altogether.
  ExpectErrorMentioning([&] { NhwcBytes({1024, 1024, 1024, 1025}, DType::kU8); },
                        "shape {batch 1024, height 1024, width 1024, channels 1025} of u8 in NHWC is more than 2^40");
  ExpectErrorMentioning([&] { NhwcBytes({1024, 1024, 1024, 1024}, DType::kI16); }, "more than 2^40");
  ExpectErrorMentioning([&] { BlockedBytes({1024, 1024, 1024, 1000}, DType::kF32); },
                        "shape {batch 1024, height 1024, width 1024, channels 1000} of f32 in NCHW32c");
  ExpectErrorMentioning([&] { BlockedBytes({1024, 1024, 1024, 1025}, DType::kU8); }, "more than 2^40");
  ExpectErrorMentioning([&] { NhwcBytes({INT_MAX, INT_MAX, INT_MAX, INT_MAX}, DType::kF32); },
                        "shape {batch 2147483647, height 2147483647, width 2147483647, channels 2147483647}");
  ExpectErrorMentioning([&] { BlockedBytes({INT_MAX, INT_MAX, INT_MAX, INT_MAX}, DType::kF32); }, "2^40");
  ExpectErrorMentioning([&] { TensorShape({INT_MAX, INT_MAX, INT_MAX, 1}).pixels(); },
                        "shape {batch 2147483647, height 2147483647, width 2147483647, channels 1} has more than 2^40");
  ExpectErrorMentioning([&] { TensorShape({1 << 20, 1 << 20, 1, 2}).nhwc_elements(); }, "more than 2^40");
  ExpectErrorMentioning([&] { TensorShape({1 << 20, 1 << 20, 1, 2}).blocked_elements(); }, "more than 2^40");
  ExpectErrorMentioning(
      [&] { NhwcToBlocked({1 << 20, 1 << 20, 2, 1}, DType::kU8, a.data(), 0, b.data()); },
      "NhwcToBlocked: shape {batch 1048576, height 1048576, width 2, channels 1} of u8 in NCHW32c is more than 2^40");

  // Element types.
  const DType bad = static_cast<DType>(9);
  ExpectErrorMentioning([&] { NhwcBytes(s, bad); }, "NhwcBytes: dtype = 9 is not a DType");
  ExpectErrorMentioning([&] { BlockedBytes(s, static_cast<DType>(6)); }, "BlockedBytes: dtype = 6");
  ExpectErrorMentioning([&] { NhwcToBlocked(s, bad, a.data(), 0, b.data()); }, "NhwcToBlocked: dtype = 9");
  ExpectErrorMentioning([&] { BlockedToNhwc(s, static_cast<DType>(255), a.data(), b.data(), 0); },
                        "BlockedToNhwc: dtype = 255");

  // Null pointers.
  ExpectErrorMentioning([&] { NhwcToBlocked(s, DType::kU8, nullptr, 0, b.data()); }, "NhwcToBlocked: nhwc is null");
  ExpectErrorMentioning([&] { NhwcToBlocked(s, DType::kU8, a.data(), 0, nullptr); }, "NhwcToBlocked: blocked is null");
  ExpectErrorMentioning([&] { BlockedToNhwc(s, DType::kU8, nullptr, b.data(), 0); }, "BlockedToNhwc: blocked is null");
  ExpectErrorMentioning([&] { BlockedToNhwc(s, DType::kU8, a.data(), nullptr, 0); }, "BlockedToNhwc: nhwc is null");

  // Pixel strides.
  ExpectErrorMentioning([&] { NhwcToBlocked(s, DType::kU8, a.data(), 39, b.data()); },
                        "NhwcToBlocked: pixel_stride = 39 must be 0 (= channels) or >= channels = 40");
  ExpectErrorMentioning([&] { BlockedToNhwc(s, DType::kU8, a.data(), b.data(), -1); },
                        "BlockedToNhwc: pixel_stride = -1 must be 0");
  ExpectErrorMentioning([&] { NhwcToBlocked(s, DType::kU8, a.data(), INT64_MAX, b.data()); },
                        "pixel_stride = 9223372036854775807 makes the nhwc tensor of shape {batch 1, height 2, width 2, "
                        "channels 40} of u8 span more than 2^40");
  ExpectErrorMentioning([&] { BlockedToNhwc(s, DType::kF32, a.data(), b.data(), int64_t{1} << 38); },
                        "pixel_stride = 274877906944 makes");
  // A huge stride is fine for a single pixel: nothing beyond the first pixel is touched.
  {
    const TensorShape one{1, 1, 1, 40};
    std::vector<uint8_t> src(40, 3), dst(64, 9);
    NhwcToBlocked(one, DType::kU8, src.data(), INT64_MAX, dst.data());
    EXPECT_EQ(dst[39], 3);
    EXPECT_EQ(dst[40], 0);
  }

  // Overlap: nhwc spans ((4 - 1) * 48 + 40) * 1 = 184 bytes with pixel_stride 48, blocked 4 * 64 = 256.
  uint8_t* buf = a.data();
  ExpectErrorMentioning([&] { NhwcToBlocked(s, DType::kU8, buf, 48, buf + 183); },
                        "NhwcToBlocked: nhwc [");
  ExpectErrorMentioning([&] { NhwcToBlocked(s, DType::kU8, buf, 48, buf + 183); }, "bytes) overlap");
  ExpectErrorMentioning([&] { NhwcToBlocked(s, DType::kU8, buf + 255, 48, buf); }, "overlap");
  ExpectErrorMentioning([&] { NhwcToBlocked(s, DType::kU8, buf + 100, 0, buf + 100); }, "+160 bytes) and blocked [");
  ExpectErrorMentioning([&] { BlockedToNhwc(s, DType::kU8, buf, buf + 255, 48); }, "BlockedToNhwc: blocked [");
  ExpectErrorMentioning([&] { BlockedToNhwc(s, DType::kU8, buf + 183, buf, 48); }, "overlap");
  // Inside the gap between two strided pixels is still inside the span: refused.
  ExpectErrorMentioning([&] { BlockedToNhwc({1, 1, 2, 4}, DType::kU8, buf + 4, buf, 1000); }, "overlap");
  {
    // Touching ranges are fine: blocked right after the nhwc span, and the other way round.
    std::vector<uint8_t> one(184 + 256, 0);
    for (size_t i = 0; i < 184; ++i) one[i] = static_cast<uint8_t>(1 + i % 200);
    NhwcToBlocked(s, DType::kU8, one.data(), 48, one.data() + 184);
    EXPECT_EQ(one[184 + 0], one[0]);                // (h 0, w 0, c 0): block 0, pixel 0, lane 0
    EXPECT_EQ(one[184 + 32 + 5], one[48 + 5]);      // (h 0, w 1, c 5): block 0, pixel 1, lane 5
    EXPECT_EQ(one[184 + 7 * 32 + 7], one[3 * 48 + 39]);  // (h 1, w 1, c 39): block 1, pixel 3, lane 7
    EXPECT_EQ(one[184 + 7 * 32 + 8], 0);            // padding
    std::vector<uint8_t> two(256 + 184, 0x55);
    std::memcpy(two.data(), one.data() + 184, 256);
    BlockedToNhwc(s, DType::kU8, two.data(), two.data() + 256, 48);
    for (int p = 0; p < 4; ++p) {
      for (int c = 0; c < 48 && p * 48 + c < 184; ++c) {
        ASSERT_EQ(two[256 + p * 48 + c], c < 40 ? one[p * 48 + c] : uint8_t{0x55}) << "pixel " << p << " c " << c;
      }
    }
  }

  // No error writes anything.
  std::vector<uint8_t> dst(256, 0xAB);
  ExpectErrorMentioning([&] { NhwcToBlocked(s, DType::kU8, a.data(), 39, dst.data()); }, "pixel_stride");
  ExpectErrorMentioning([&] { BlockedToNhwc(s, DType::kU8, a.data(), dst.data(), 39); }, "pixel_stride");
  ExpectErrorMentioning([&] { NhwcToBlocked(s, bad, a.data(), 0, dst.data()); }, "dtype");
  EXPECT_EQ(dst, std::vector<uint8_t>(256, 0xAB));
}

}  // namespace
}  // namespace tile32

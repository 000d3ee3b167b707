// The convolution and channel shuffle oracles of tests/common/conv_reference.h, proved on cases checked by
// hand and against the GEMM oracles of tests/common/reference.h (im2col: a convolution is a GEMM of the
// patch matrix with the weights). Nothing from the library is called: these tests judge the oracles only.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "tests/common/conv_reference.h"
#include "tests/common/reference.h"

namespace tile32::testing {
namespace {

// bf16 bit patterns used by the hand cases.
constexpr uint16_t kBf16One = 0x3F80, kBf16MinusOne = 0xBF80, kBf16Two = 0x4000;
constexpr uint16_t kBf16TwoTo24 = 0x4B80, kBf16MinusTwoTo24 = 0xCB80;
constexpr uint16_t kBf16PlusZero = 0x0000, kBf16MinusZero = 0x8000, kBf16Inf = 0x7F80;

uint32_t BitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float FloatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::vector<int32_t> RandomInts(std::mt19937& rng, size_t n, int lo, int hi) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int32_t> v(n);
  for (auto& e : v) e = d(rng);
  return v;
}

// Finite bf16 values of either sign with exponents near 1 (2^-7 .. 2^7), so that sums of a few dozen
// products round at many steps without overflowing.
std::vector<uint16_t> RandomBf16(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> sign(0, 1), exponent(120, 134), mantissa(0, 127);
  std::vector<uint16_t> v(n);
  for (auto& e : v) {
    const int sg = sign(rng), ex = exponent(rng), ma = mantissa(rng);  // drawn in a fixed order
    e = static_cast<uint16_t>((sg << 15) | (ex << 7) | ma);
  }
  return v;
}

size_t InputSize(const ConvRefShape& s) { return size_t(s.batch) * s.height * s.width * s.in_channels; }
size_t WeightSize(const ConvRefShape& s) {
  return size_t(s.out_channels) * s.kernel_h * s.kernel_w * (s.in_channels / s.groups);
}

// The patch matrix of a groups == 1 convolution: row (n, oy, ox), column (ky*kernel_w + kx)*C + c, holding
// x at the tap or `pad` outside the image. Its column order is the contract's (ky, kx, c) order, and it is
// also the order of one OHWI weight row, so the weights as a GEMM operand are just w transposed.
template <typename T>
std::vector<T> Im2col(const ConvRefShape& s, const std::vector<T>& x, T pad) {
  const int oh = ConvRefOutH(s), ow = ConvRefOutW(s), taps = s.kernel_h * s.kernel_w * s.in_channels;
  std::vector<T> a;
  a.reserve(size_t(s.batch) * oh * ow * taps);
  for (int n = 0; n < s.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int ky = 0; ky < s.kernel_h; ++ky)
          for (int kx = 0; kx < s.kernel_w; ++kx)
            for (int c = 0; c < s.in_channels; ++c) {
              const int y = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
              const int xx = ox * s.stride_w - s.pad_left + kx * s.dilation_w;
              const bool inside = y >= 0 && y < s.height && xx >= 0 && xx < s.width;
              a.push_back(inside ? x[((size_t(n) * s.height + y) * s.width + xx) * s.in_channels + c] : pad);
            }
  return a;
}

template <typename T>
std::vector<T> Transpose(const std::vector<T>& m, int rows, int cols) {
  std::vector<T> t(m.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) t[size_t(c) * rows + r] = m[size_t(r) * cols + c];
  return t;
}

// Channels [first, first + count) of every pixel of a dense tensor of `channels` channels.
template <typename T>
std::vector<T> SliceChannels(const std::vector<T>& v, int channels, int first, int count) {
  std::vector<T> out;
  for (size_t p = 0; p < v.size() / channels; ++p)
    for (int c = first; c < first + count; ++c) out.push_back(v[p * channels + c]);
  return out;
}

// ---- Shapes ----

TEST(ConvReferenceShape, OutputSizeIsOnnxWithFloor) {
  ConvRefShape s;
  s.height = 7, s.width = 8, s.kernel_h = 3, s.kernel_w = 3;
  EXPECT_EQ(ConvRefOutH(s), 5);  // valid 3x3
  EXPECT_EQ(ConvRefOutW(s), 6);
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  EXPECT_EQ(ConvRefOutH(s), 7);  // "same"
  EXPECT_EQ(ConvRefOutW(s), 8);
  s.stride_h = 2, s.stride_w = 3;  // (7+2-3)/2+1 = 4, (8+2-3)/3+1 = 3 (7/3 floors)
  EXPECT_EQ(ConvRefOutH(s), 4);
  EXPECT_EQ(ConvRefOutW(s), 3);
  s = ConvRefShape{};
  s.height = 9, s.width = 9, s.kernel_h = 3, s.kernel_w = 2, s.dilation_h = 4, s.dilation_w = 3;
  EXPECT_EQ(ConvRefOutH(s), 1);  // dilated extent 4*2+1 = 9
  EXPECT_EQ(ConvRefOutW(s), 6);  // dilated extent 3*1+1 = 4
  // An input smaller than the kernel: (2 - 3)/2 truncates to 0 in C++, which would claim 1 output; the
  // ONNX floor gives 0.
  s = ConvRefShape{};
  s.height = 2, s.width = 2, s.kernel_h = 3, s.kernel_w = 3, s.stride_h = 2, s.stride_w = 2;
  EXPECT_EQ(ConvRefOutH(s), 0);
  EXPECT_EQ(ConvRefOutW(s), 0);
}

TEST(ConvReferenceShape, AsymmetricPaddingCountsValidTaps) {
  // x and w all ones, no zero point: every output is the number of taps inside the image.
  ConvRefShape s;
  s.height = 6, s.width = 4, s.kernel_h = 3, s.kernel_w = 2, s.stride_h = 2;
  s.pad_top = 2, s.pad_bottom = 0, s.pad_left = 0, s.pad_right = 3;
  ASSERT_EQ(ConvRefOutH(s), 3);  // (6+2+0-2-1)/2+1 = 5/2+1: row y = 5 is never reached
  ASSERT_EQ(ConvRefOutW(s), 6);  // (4+0+3-1-1)/1+1
  const std::vector<int32_t> x(InputSize(s), 1), w(WeightSize(s), 1);
  const std::vector<int32_t> y = ConvIntRef(s, x.data(), 0, w.data(), nullptr, nullptr);
  // Rows oy = 0, 1, 2 read y in {-2..0}, {0..2}, {2..4}: 1, 3, 3 valid. Columns ox read x in {ox, ox+1}:
  // 2 valid for ox <= 2, 1 for ox = 3 (x = 4 is padding), 0 for ox = 4, 5 (right padding only).
  const int rows[3] = {1, 3, 3}, cols[6] = {2, 2, 2, 1, 0, 0};
  ASSERT_EQ(y.size(), 18u);
  for (int oy = 0; oy < 3; ++oy)
    for (int ox = 0; ox < 6; ++ox) EXPECT_EQ(y[oy * 6 + ox], rows[oy] * cols[ox]) << oy << "," << ox;
}

TEST(ConvReferenceShape, RejectsShapesOutsideTheContract) {
  const std::vector<int32_t> buf(64, 0);
  ConvRefShape s;
  s.in_channels = 4, s.out_channels = 6, s.groups = 4;  // 4 does not divide 6
  EXPECT_THROW(ConvIntRef(s, buf.data(), 0, buf.data(), nullptr, nullptr), std::invalid_argument);
  s = ConvRefShape{};
  s.height = 2, s.kernel_h = 3;  // no output row
  EXPECT_THROW(ConvIntRef(s, buf.data(), 0, buf.data(), nullptr, nullptr), std::invalid_argument);
  EXPECT_THROW(ChannelShuffleRef(1, 6, 4, 1, reinterpret_cast<const uint8_t*>(buf.data())), std::invalid_argument);
}

// ---- Integer ----

TEST(ConvReferenceInt, OneByOneEqualsGemmZp) {
  std::mt19937 rng(11);
  ConvRefShape s;
  s.batch = 2, s.height = 3, s.width = 4, s.in_channels = 5, s.out_channels = 7;
  const std::vector<int32_t> x = RandomInts(rng, InputSize(s), 0, 255), w = RandomInts(rng, WeightSize(s), -128, 127);
  const std::vector<int32_t> wzp = RandomInts(rng, 7, -128, 127), bias = RandomInts(rng, 7, -100000, 100000);
  const int32_t xzp = 131;
  // A 1x1 convolution is the GEMM of the pixels (M = N*H*W rows of C) with w transposed (C x K).
  const std::vector<int32_t> b = Transpose(w, 7, 5);
  EXPECT_EQ(ConvIntRef(s, x.data(), xzp, w.data(), wzp.data(), bias.data()),
            GemmZpRef(24, 7, 5, x.data(), 5, xzp, b.data(), 7, wzp.data(), bias.data()));
}

TEST(ConvReferenceInt, EqualsGemmZpOnIm2col) {
  // Padding on every side (unequal), stride and dilation different per axis, batch 2, int8 and int16 ranges.
  std::mt19937 rng(12);
  ConvRefShape s;
  s.batch = 2, s.height = 5, s.width = 6, s.in_channels = 3, s.out_channels = 4, s.kernel_h = 3, s.kernel_w = 3;
  s.stride_h = 2, s.dilation_w = 2, s.pad_top = 1, s.pad_bottom = 2, s.pad_right = 1;
  const int m = s.batch * ConvRefOutH(s) * ConvRefOutW(s), taps = 27;
  for (const bool int16 : {false, true}) {
    const int lo = int16 ? -32768 : -128, hi = int16 ? 32767 : 127;
    const std::vector<int32_t> x = RandomInts(rng, InputSize(s), lo, hi), w = RandomInts(rng, WeightSize(s), lo, hi);
    const std::vector<int32_t> bias = RandomInts(rng, 4, -1000, 1000);
    const std::vector<int32_t> wzp = int16 ? std::vector<int32_t>(4, 0) : RandomInts(rng, 4, lo, hi);
    const int32_t xzp = int16 ? 0 : -77;
    const std::vector<int32_t> a = Im2col(s, x, xzp), b = Transpose(w, 4, taps);
    EXPECT_EQ(ConvIntRef(s, x.data(), xzp, w.data(), int16 ? nullptr : wzp.data(), bias.data()),
              GemmZpRef(m, 4, taps, a.data(), taps, xzp, b.data(), 4, wzp.data(), bias.data()))
        << (int16 ? "int16" : "int8");
  }
}

TEST(ConvReferenceInt, Pad1On3x3ByHand) {
  ConvRefShape s;
  s.height = 3, s.width = 3, s.kernel_h = 3, s.kernel_w = 3;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  const std::vector<int32_t> x = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int32_t bias = 1000;
  const std::vector<int32_t> y = ConvIntRef(s, x.data(), 0, w.data(), nullptr, &bias);
  ASSERT_EQ(y.size(), 9u);
  // (0,0): taps (ky,kx) in {1,2}^2 see x(0,0),x(0,1),x(1,0),x(1,1) = 1,2,4,5 with w 5,6,8,9.
  EXPECT_EQ(y[0], 1000 + 1 * 5 + 2 * 6 + 4 * 8 + 5 * 9);  // 1094
  // (0,2): ky in {1,2}, kx in {0,1} see x 2,3,5,6 with w 4,5,7,8.
  EXPECT_EQ(y[2], 1000 + 2 * 4 + 3 * 5 + 5 * 7 + 6 * 8);  // 1106
  EXPECT_EQ(y[4], 1000 + 285);                            // centre: every tap, sum of i*i
  // (2,2): ky, kx in {0,1} see x 5,6,8,9 with w 1,2,4,5.
  EXPECT_EQ(y[8], 1000 + 5 * 1 + 6 * 2 + 8 * 4 + 9 * 5);  // 1094
}

TEST(ConvReferenceInt, PaddingAddsZeroWhateverTheZeroPoints) {
  // One pixel, 3x3 kernel, pad 1: only the centre tap is inside. The eight padded taps hold x_zero_point,
  // so (x_pad - x_zp) = 0 although x_zp = 3 and every (w - w_zp) there is non-zero.
  ConvRefShape s;
  s.out_channels = 2, s.kernel_h = 3, s.kernel_w = 3;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  std::vector<int32_t> w(18);
  for (int t = 0; t < 9; ++t) {
    w[t] = t == 4 ? 4 : 7;        // channel 0: centre 4, padded taps 7
    w[9 + t] = t == 4 ? 10 : -5;  // channel 1: centre 10, padded taps -5
  }
  const int32_t x = 5, xzp = 3, wzp[2] = {1, -2};
  const std::vector<int32_t> y = ConvIntRef(s, &x, xzp, w.data(), wzp, nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{(5 - 3) * (4 - 1), (5 - 3) * (10 + 2)}));  // {6, 24}
}

TEST(ConvReferenceInt, WrapsModulo2To32) {
  ConvRefShape s;
  s.in_channels = 4;
  // Four int16 extreme products of 2^30: 2^32 wraps to 0.
  const std::vector<int32_t> x(4, -32768), w(4, -32768);
  const int32_t bias5 = 5;
  EXPECT_EQ(ConvIntRef(s, x.data(), 0, w.data(), nullptr, &bias5), std::vector<int32_t>{5});
  s.in_channels = 1;
  const int32_t one = 1, max = std::numeric_limits<int32_t>::max(), min = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(ConvIntRef(s, &one, 0, &one, nullptr, &max), std::vector<int32_t>{min});
  // Exact modulo 2^32 even beyond any DType: (min - max)^2 = (1 - 2^32)^2 = 1 mod 2^32.
  EXPECT_EQ(ConvIntRef(s, &min, max, &min, &max, &bias5), std::vector<int32_t>{6});
}

TEST(ConvReferenceInt, DilationAndStrideByHand) {
  // x(y, x) = 10*y + x, one channel, 2x2 kernel w = {1, 2; 3, 4} (sum 10).
  ConvRefShape s;
  s.height = 5, s.width = 5, s.kernel_h = 2, s.kernel_w = 2, s.stride_h = s.stride_w = 2;
  s.dilation_h = s.dilation_w = 2;
  std::vector<int32_t> x(25);
  for (int i = 0; i < 25; ++i) x[i] = 10 * (i / 5) + i % 5;
  const std::vector<int32_t> w = {1, 2, 3, 4};
  // Taps at (2oy + 2ky, 2ox + 2kx); out_h = out_w = (5-2-1)/2+1 = 2.
  // (0,0) = 1*x(0,0) + 2*x(0,2) + 3*x(2,0) + 4*x(2,2) = 0 + 4 + 60 + 88 = 152; each step of oy adds
  // 10*20 = 200, each step of ox adds 10*2 = 20.
  EXPECT_EQ(ConvIntRef(s, x.data(), 0, w.data(), nullptr, nullptr), (std::vector<int32_t>{152, 172, 352, 372}));

  // Different per axis, to catch h/w mix-ups: stride (2, 1), dilation (1, 2) on a 5 x 6 image.
  s.width = 6, s.stride_w = 1, s.dilation_h = 1;
  x.resize(30);
  for (int i = 0; i < 30; ++i) x[i] = 10 * (i / 6) + i % 6;
  // Taps at (2oy + ky, ox + 2kx); out_h = (5-1-1)/2+1 = 2, out_w = (6-2-1)/1+1 = 4.
  // (0,0) = 1*x(0,0) + 2*x(0,2) + 3*x(1,0) + 4*x(1,2) = 0 + 4 + 30 + 48 = 82; oy adds 200, ox adds 10.
  EXPECT_EQ(ConvIntRef(s, x.data(), 0, w.data(), nullptr, nullptr),
            (std::vector<int32_t>{82, 92, 102, 112, 282, 292, 302, 312}));
}

TEST(ConvReferenceInt, GroupsAreIndependentConvolutions) {
  std::mt19937 rng(13);
  ConvRefShape s;
  s.batch = 2, s.height = 6, s.width = 5, s.in_channels = 6, s.out_channels = 4, s.groups = 2;
  s.kernel_h = 3, s.kernel_w = 2, s.stride_w = 2, s.dilation_h = 2, s.pad_top = 1, s.pad_left = 1, s.pad_right = 1;
  const std::vector<int32_t> x = RandomInts(rng, InputSize(s), -128, 127), w = RandomInts(rng, WeightSize(s), 0, 255);
  const std::vector<int32_t> wzp = RandomInts(rng, 4, 0, 255), bias = RandomInts(rng, 4, -5000, 5000);
  const int32_t xzp = 9;
  const std::vector<int32_t> y = ConvIntRef(s, x.data(), xzp, w.data(), wzp.data(), bias.data());
  ConvRefShape one = s;
  one.in_channels = 3, one.out_channels = 2, one.groups = 1;
  const size_t per_k = WeightSize(one) / 2;  // kernel_h*kernel_w*3
  for (int g = 0; g < 2; ++g) {
    const std::vector<int32_t> xg = SliceChannels(x, 6, 3 * g, 3);
    const std::vector<int32_t> wg(w.begin() + 2 * g * per_k, w.begin() + (2 * g + 2) * per_k);
    const std::vector<int32_t> yg = ConvIntRef(one, xg.data(), xzp, wg.data(), wzp.data() + 2 * g, bias.data() + 2 * g);
    EXPECT_EQ(SliceChannels(y, 4, 2 * g, 2), yg) << "group " << g;
  }
}

TEST(ConvReferenceInt, DepthwiseByHand) {
  // groups = C = 3, K = 6: output channel k reads input channel k/2 only (weights OHWI with I = 1).
  ConvRefShape s;
  s.width = 2, s.in_channels = 3, s.out_channels = 6, s.groups = 3;
  const std::vector<int32_t> x = {1, 2, 3, 4, 5, 6}, w = {1, 10, 100, 1000, 10000, 100000};
  EXPECT_EQ(ConvIntRef(s, x.data(), 0, w.data(), nullptr, nullptr),
            (std::vector<int32_t>{1, 10, 200, 2000, 30000, 300000, 4, 40, 500, 5000, 60000, 600000}));
}

TEST(ConvReferenceInt, DepthwiseEqualsPerChannelConvolutions) {
  std::mt19937 rng(14);
  ConvRefShape s;
  s.height = 4, s.width = 5, s.in_channels = 3, s.out_channels = 6, s.groups = 3, s.kernel_h = 3, s.kernel_w = 3;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  const std::vector<int32_t> x = RandomInts(rng, InputSize(s), 0, 255), w = RandomInts(rng, WeightSize(s), -128, 127);
  const std::vector<int32_t> wzp = RandomInts(rng, 6, -128, 127), bias = RandomInts(rng, 6, -500, 500);
  const std::vector<int32_t> y = ConvIntRef(s, x.data(), 200, w.data(), wzp.data(), bias.data());
  ConvRefShape one = s;
  one.in_channels = one.out_channels = one.groups = 1;
  for (int k = 0; k < 6; ++k) {
    const std::vector<int32_t> xc = SliceChannels(x, 3, k / 2, 1);
    const std::vector<int32_t> yk = ConvIntRef(one, xc.data(), 200, w.data() + 9 * k, &wzp[k], &bias[k]);
    EXPECT_EQ(SliceChannels(y, 6, k, 1), yk) << "output channel " << k;
  }
}

// ---- BF16 ----

TEST(ConvReferenceBf16, EqualsGemmBf16OnIm2col) {
  // The im2col columns are in (ky, kx, c) order and padded taps hold +0.0, exactly the contract's chain.
  std::mt19937 rng(21);
  ConvRefShape s;
  s.batch = 2, s.height = 5, s.width = 4, s.in_channels = 5, s.out_channels = 3, s.kernel_h = 3, s.kernel_w = 2;
  s.stride_w = 2, s.dilation_h = 2, s.pad_top = 2, s.pad_bottom = 1, s.pad_left = 1, s.pad_right = 1;
  const int m = s.batch * ConvRefOutH(s) * ConvRefOutW(s), taps = 30;
  const std::vector<uint16_t> x = RandomBf16(rng, InputSize(s)), w = RandomBf16(rng, WeightSize(s));
  const std::vector<float> bias = {0.75f, -3.5f, -0.0f};
  const std::vector<uint16_t> a = Im2col(s, x, kBf16PlusZero), b = Transpose(w, 3, taps);
  for (const float* bp : {bias.data(), static_cast<const float*>(nullptr)}) {
    EXPECT_EQ(ConvBf16Ref(s, x.data(), w.data(), bp), GemmBf16Ref(m, 3, taps, a.data(), taps, b.data(), 3, bp));
  }
}

TEST(ConvReferenceBf16, GroupsAreIndependentConvolutions) {
  std::mt19937 rng(22);
  ConvRefShape s;
  s.height = 4, s.width = 4, s.in_channels = 4, s.out_channels = 6, s.groups = 2, s.kernel_h = 3, s.kernel_w = 3;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  const std::vector<uint16_t> x = RandomBf16(rng, InputSize(s)), w = RandomBf16(rng, WeightSize(s));
  const std::vector<float> bias = {1.0f, -2.0f, 0.5f, 0.0f, -0.0f, 8.0f};
  const std::vector<uint32_t> y = ConvBf16Ref(s, x.data(), w.data(), bias.data());
  ConvRefShape one = s;
  one.in_channels = 2, one.out_channels = 3, one.groups = 1;
  const size_t per_k = 9 * 2;
  for (int g = 0; g < 2; ++g) {
    const std::vector<uint16_t> xg = SliceChannels(x, 4, 2 * g, 2);
    const std::vector<uint16_t> wg(w.begin() + 3 * g * per_k, w.begin() + (3 * g + 3) * per_k);
    EXPECT_EQ(SliceChannels(y, 6, 3 * g, 3), ConvBf16Ref(one, xg.data(), wg.data(), bias.data() + 3 * g))
        << "group " << g;
  }
}

TEST(ConvReferenceBf16, FmaChainRunsKyThenKxThenChannel) {
  // Products 2^24, 1, -2^24, 1 in that order: 2^24 + 1 is a tie in fp32 and rounds back to 2^24 (even), so
  // the chain ends at 1. Taking the -2^24 before the first 1 cancels exactly and ends at 2.
  const auto other_order = [] {
    float acc = 0.0f;
    for (const float p : {16777216.0f, -16777216.0f, 1.0f, 1.0f}) acc = std::fma(p, 1.0f, acc);
    return BitsOf(acc);
  };
  ASSERT_EQ(other_order(), BitsOf(2.0f));

  // kx before c: a 1x2 kernel over 2 channels, taps (kx, c) = (0,0), (0,1), (1,0), (1,1).
  ConvRefShape s;
  s.width = 2, s.in_channels = 2, s.kernel_w = 2;
  const std::vector<uint16_t> ones(4, kBf16One);
  const std::vector<uint16_t> w = {kBf16TwoTo24, kBf16One, kBf16MinusTwoTo24, kBf16One};  // OHWI: [kx][c]
  EXPECT_EQ(ConvBf16Ref(s, ones.data(), w.data(), nullptr), std::vector<uint32_t>{BitsOf(1.0f)});

  // ky before kx: a 2x2 kernel over one channel, taps (ky, kx) = (0,0), (0,1), (1,0), (1,1).
  s = ConvRefShape{};
  s.height = 2, s.width = 2, s.kernel_h = 2, s.kernel_w = 2;
  EXPECT_EQ(ConvBf16Ref(s, ones.data(), w.data(), nullptr), std::vector<uint32_t>{BitsOf(1.0f)});
}

TEST(ConvReferenceBf16, PaddingIsPlusZeroAndTakesPart) {
  // One pixel of value -0.0, pad_left 1: output 0 sees only padding, output 1 only the pixel. Bias -0.0,
  // weights +1 and -1. IEEE: (+0)*(+1) + (-0) = +0, (+0)*(-1) + (-0) = -0, (-0)*(+1) + (-0) = -0,
  // (-0)*(-1) + (-0) = +0. So a padded tap with a positive weight turns a -0 accumulator into +0: an
  // implementation that skips padded taps would leave -0 there and differ in the sign bit.
  ConvRefShape s;
  s.out_channels = 2, s.pad_left = 1;
  const uint16_t x = kBf16MinusZero, w[2] = {kBf16One, kBf16MinusOne};
  const float bias[2] = {-0.0f, -0.0f};
  EXPECT_EQ(ConvBf16Ref(s, &x, w, bias), (std::vector<uint32_t>{0x00000000u, 0x80000000u, 0x80000000u, 0x00000000u}));
}

TEST(ConvReferenceBf16, EveryNanIsCanonical) {
  // One pixel, a 1x2 kernel and pad_right 1: tap 0 is the pixel, tap 1 is padding.
  ConvRefShape s;
  s.kernel_w = 2, s.pad_right = 1;
  const auto run = [&](uint16_t x, uint16_t w0, uint16_t w1, const float* bias) {
    const uint16_t w[2] = {w0, w1};
    return ConvBf16Ref(s, &x, w, bias)[0];
  };
  EXPECT_EQ(run(kBf16One, kBf16One, kBf16Two, nullptr), BitsOf(1.0f));  // control: the padded tap adds +0*2
  // The padded tap is a real fma: +0 * Inf is NaN (x86 makes it the negative default NaN 0xFFC00000).
  EXPECT_EQ(run(kBf16One, kBf16One, kBf16Inf, nullptr), 0x7FC00000u);
  EXPECT_EQ(run(0x7F81, kBf16One, kBf16One, nullptr), 0x7FC00000u);  // signalling NaN input with a payload
  EXPECT_EQ(run(0xFFC1, kBf16One, kBf16One, nullptr), 0x7FC00000u);  // negative quiet NaN with a payload
  const float nan_bias = FloatOf(0x7FA12345u), inf_bias = FloatOf(0xFF800000u);
  EXPECT_EQ(run(kBf16One, kBf16One, kBf16One, &nan_bias), 0x7FC00000u);  // NaN bias with a payload
  EXPECT_EQ(run(kBf16One, kBf16Inf, kBf16One, &inf_bias), 0x7FC00000u);  // -Inf + Inf
}

TEST(ConvReferenceBf16, DenormalsAreKept) {
  ConvRefShape s;  // one pixel, one channel, 1x1
  const auto run = [&](uint16_t x, uint16_t w, uint32_t bias_bits) {
    const float bias = FloatOf(bias_bits);
    return ConvBf16Ref(s, &x, &w, &bias)[0];
  };
  EXPECT_EQ(run(0x0001, kBf16One, 0), 0x00010000u);      // denormal input: 2^-133 * 1
  EXPECT_EQ(run(0x0D80, 0x3080, 0), 0x00080000u);        // normal * normal = 2^-100 * 2^-30 = 2^-130, denormal
  EXPECT_EQ(run(kBf16PlusZero, kBf16One, 1), 1u);        // denormal bias 2^-149 survives + 0
  EXPECT_EQ(run(kBf16MinusOne, 0x0040, 0x00800000u), 0x00400000u);  // 2^-126 - 2^-127 = 2^-127, denormal
}

// ---- Channel shuffle ----

TEST(ConvReferenceShuffle, SixChannelsByHand) {
  // Two pixels, x[p][c] = 10*(p+1) + c.
  const std::vector<uint8_t> x = {10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24, 25};
  // g = 2, C/g = 3: y[2i + j] = x[3j + i], i.e. y = x[0, 3, 1, 4, 2, 5].
  EXPECT_EQ(ChannelShuffleRef(2, 6, 2, 1, x.data()),
            (std::vector<uint8_t>{10, 13, 11, 14, 12, 15, 20, 23, 21, 24, 22, 25}));
  // g = 3, C/g = 2: y[3i + j] = x[2j + i], i.e. y = x[0, 2, 4, 1, 3, 5].
  EXPECT_EQ(ChannelShuffleRef(2, 6, 3, 1, x.data()),
            (std::vector<uint8_t>{10, 12, 14, 11, 13, 15, 20, 22, 24, 21, 23, 25}));
}

TEST(ConvReferenceShuffle, TwoByteElementsMoveWhole) {
  std::vector<uint16_t> x16(6);
  for (int c = 0; c < 6; ++c) x16[c] = static_cast<uint16_t>(0xA100 + c);  // distinct high and low bytes
  std::vector<uint8_t> x(12);
  std::memcpy(x.data(), x16.data(), 12);
  const std::vector<uint8_t> y = ChannelShuffleRef(1, 6, 3, 2, x.data());
  std::vector<uint16_t> y16(6);
  std::memcpy(y16.data(), y.data(), 12);
  EXPECT_EQ(y16, (std::vector<uint16_t>{0xA100, 0xA102, 0xA104, 0xA101, 0xA103, 0xA105}));
}

TEST(ConvReferenceShuffle, IdentitiesAndInverse) {
  std::mt19937 rng(31);
  const int pixels = 3, channels = 12;
  for (const int elem_bytes : {1, 2}) {
    std::vector<uint8_t> x(size_t(pixels) * channels * elem_bytes);
    for (auto& b : x) b = static_cast<uint8_t>(rng());
    EXPECT_EQ(ChannelShuffleRef(pixels, channels, 1, elem_bytes, x.data()), x);         // one group
    EXPECT_EQ(ChannelShuffleRef(pixels, channels, channels, elem_bytes, x.data()), x);  // groups of one
    for (const int g : {1, 2, 3, 4, 6, 12}) {
      // Transposing a g x C/g matrix and then the C/g x g result gives the matrix back.
      const std::vector<uint8_t> y = ChannelShuffleRef(pixels, channels, g, elem_bytes, x.data());
      EXPECT_EQ(ChannelShuffleRef(pixels, channels, channels / g, elem_bytes, y.data()), x)
          << "groups " << g << ", " << elem_bytes << "-byte elements";
    }
  }
}

// ---- Requantization per output channel ----

TEST(ConvReferenceRequant, ChannelIsIndexModK) {
  RefQuant q;
  q.mode = RequantMode::kFloatRne;
  q.scale = {1.0f, 0.5f, 2.0f};
  // Three pixels of K = 3: scales repeat per pixel; 3 * 0.5 = 1.5 rounds to even 2; 200 clamps to 127.
  const std::vector<int32_t> acc = {10, 10, 10, 3, 3, 3, 100, 100, 100};
  EXPECT_EQ(RequantNhwkRef(acc, 3, q), (std::vector<int32_t>{10, 5, 20, 3, 2, 6, 100, 50, 127}));
}

}  // namespace
}  // namespace tile32::testing

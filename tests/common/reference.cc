#include "tests/common/reference.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace tile32::testing {
namespace {

int32_t Wrap(int64_t v) {
  // Two's complement reduction mod 2^32 without relying on implementation-defined narrowing.
  uint64_t u = static_cast<uint64_t>(v) & 0xFFFFFFFFull;
  return u >= 0x80000000ull ? static_cast<int32_t>(static_cast<int64_t>(u) - (int64_t{1} << 32))
                            : static_cast<int32_t>(u);
}

// floor(v / 2^n) for n in [0, 62].
int64_t FloorDivPow2(int64_t v, int n) {
  const int64_t d = int64_t{1} << n;
  int64_t q = v / d;
  if (v % d != 0 && v < 0) --q;
  return q;
}

// fl32 of an exact real held as a double: the double is rounded to float once. For products of two
// floats and sums of a float and a small integer, computing in double first is innocuous (53 >= 2*24+2).
float Fl32(double v) { return static_cast<float>(v); }

// Round half to even of a float value, as a double (integers up to 2^53 are exact; larger floats and
// infinities are integers already or clamp anyway).
double RoundHalfEven(float v) {
  const double d = v;
  if (!std::isfinite(d) || std::fabs(d) >= 8388608.0) return d;  // 2^23: already an integer
  const double fl = std::floor(d);
  const double frac = d - fl;
  if (frac > 0.5) return fl + 1;
  if (frac < 0.5) return fl;
  return std::fmod(fl, 2.0) == 0 ? fl : fl + 1;
}

int32_t ClampToInt(double v, int32_t qmin, int32_t qmax) {
  if (v < qmin) return qmin;
  if (v > qmax) return qmax;
  return static_cast<int32_t>(v);
}

int32_t Clamp64(int64_t v, int32_t qmin, int32_t qmax) {
  return static_cast<int32_t>(v < qmin ? qmin : v > qmax ? qmax : v);
}

}  // namespace

int32_t RequantRef(int32_t x, RequantMode mode, int32_t multiplier, int32_t shift, float scale, int32_t zero_point,
                   int32_t qmin, int32_t qmax) {
  switch (mode) {
    case RequantMode::kTflDouble: {
      const int left = shift > 0 ? shift : 0;
      const int right = shift < 0 ? -shift : 0;
      const int64_t a = Wrap(int64_t{x} * (int64_t{1} << left));
      int64_t h;
      if (a == INT32_MIN && multiplier == INT32_MIN) {
        h = INT32_MAX;
      } else {
        const int64_t p = a * int64_t{multiplier};
        const int64_t nudge = p >= 0 ? (int64_t{1} << 30) : 1 - (int64_t{1} << 30);
        h = (p + nudge) / (int64_t{1} << 31);  // truncates toward zero
      }
      const int64_t mask = (int64_t{1} << right) - 1;
      const int64_t rem = h & mask;  // h fits int32, so its low `right` bits are the same in int64
      const int64_t thr = (mask >> 1) + (h < 0 ? 1 : 0);
      const int64_t y = FloorDivPow2(h, right) + (rem > thr ? 1 : 0);
      return Clamp64(y + zero_point, qmin, qmax);
    }
    case RequantMode::kTflSingle: {
      const int64_t y = FloorDivPow2(int64_t{x} * multiplier + (int64_t{1} << (30 - shift)), 31 - shift);
      return Clamp64(y + zero_point, qmin, qmax);
    }
    case RequantMode::kFloatRne: {
      const float p = Fl32(double(Fl32(double(x))) * double(scale));
      return ClampToInt(RoundHalfEven(p) + zero_point, qmin, qmax);
    }
    case RequantMode::kFloatZpFirst: {
      const float p = Fl32(double(Fl32(double(x))) * double(scale));
      const float s = Fl32(double(p) + double(Fl32(double(zero_point))));
      return ClampToInt(RoundHalfEven(s), qmin, qmax);
    }
  }
  std::abort();
}

int32_t RequantRef(int32_t x, const RefQuant& q, int n) {
  const bool tfl = q.mode == RequantMode::kTflDouble || q.mode == RequantMode::kTflSingle;
  return RequantRef(x, q.mode, tfl ? q.multiplier[n] : 0, tfl ? q.shift[n] : 0, tfl ? 1.0f : q.scale[n],
                    q.zero_point, q.qmin, q.qmax);
}

std::vector<int32_t> GemmRef(int M, int N, int K, const int32_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                             const int32_t* bias) {
  std::vector<int32_t> c(size_t(M) * N);
  for (int m = 0; m < M; ++m) {
    for (int n = 0; n < N; ++n) {
      int64_t sum = bias != nullptr ? bias[n] : 0;
      for (int k = 0; k < K; ++k) sum += int64_t{a[m * lda + k]} * b[k * ldb + n];
      c[size_t(m) * N + n] = Wrap(sum);
    }
  }
  return c;
}

std::vector<int32_t> GemmZpRef(int M, int N, int K, const int32_t* a, int64_t lda, int32_t a_zero_point,
                               const int32_t* b, int64_t ldb, const int32_t* b_zero_points, const int32_t* bias) {
  std::vector<int32_t> c(size_t(M) * N);
  for (int m = 0; m < M; ++m) {
    for (int n = 0; n < N; ++n) {
      // |each term| <= 2^31 (int16 extremes) and K < 2^31: the int64 sum cannot overflow before Wrap.
      int64_t sum = bias != nullptr ? bias[n] : 0;
      const int64_t bz = b_zero_points != nullptr ? b_zero_points[n] : 0;
      for (int k = 0; k < K; ++k) {
        sum += (int64_t{a[m * lda + k]} - a_zero_point) * (int64_t{b[k * ldb + n]} - bz);
      }
      c[size_t(m) * N + n] = Wrap(sum);
    }
  }
  return c;
}

float F32FromBf16Ref(uint16_t bits) {
  const uint32_t u = uint32_t{bits} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::vector<uint32_t> GemmBf16Ref(int M, int N, int K, const uint16_t* a, int64_t lda, const uint16_t* b, int64_t ldb,
                                  const float* bias) {
  std::vector<uint32_t> c(size_t(M) * N);
  for (int m = 0; m < M; ++m) {
    for (int n = 0; n < N; ++n) {
      float acc = bias != nullptr ? bias[n] : 0.0f;
      for (int k = 0; k < K; ++k) acc = std::fma(F32FromBf16Ref(a[m * lda + k]), F32FromBf16Ref(b[k * ldb + n]), acc);
      uint32_t bits;
      std::memcpy(&bits, &acc, 4);
      c[size_t(m) * N + n] = std::isnan(acc) ? 0x7FC00000u : bits;
    }
  }
  return c;
}

uint16_t Bf16FromF32Ref(uint32_t f) {
  const uint32_t exponent = (f >> 23) & 0xFF, mantissa = f & 0x7FFFFF;
  if (exponent == 0xFF && mantissa != 0) return 0x7FC0;
  const uint32_t upper = f >> 16, dropped = f & 0xFFFF;
  const bool up = dropped > 0x8000 || (dropped == 0x8000 && (upper & 1) != 0);
  return static_cast<uint16_t>(upper + (up ? 1 : 0));
}

std::vector<int32_t> RequantMatrixRef(const std::vector<int32_t>& acc, int M, int N, const RefQuant& q) {
  std::vector<int32_t> out(acc.size());
  for (int m = 0; m < M; ++m) {
    for (int n = 0; n < N; ++n) out[size_t(m) * N + n] = RequantRef(acc[size_t(m) * N + n], q, n);
  }
  return out;
}

std::vector<int32_t> Conv2dRef(int batch, int height, int width, int channels, int out_channels, int stride, int pad,
                               const int32_t* x, int32_t x_zero_point, const int8_t* w, const int32_t* bias) {
  const int ho = (height + 2 * pad - 3) / stride + 1;
  const int wo = (width + 2 * pad - 3) / stride + 1;
  std::vector<int32_t> y(size_t(batch) * ho * wo * out_channels);
  for (int n = 0; n < batch; ++n) {
    for (int oy = 0; oy < ho; ++oy) {
      for (int ox = 0; ox < wo; ++ox) {
        for (int k = 0; k < out_channels; ++k) {
          int64_t sum = bias != nullptr ? bias[k] : 0;
          for (int ky = 0; ky < 3; ++ky) {
            const int iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= height) continue;
            for (int kx = 0; kx < 3; ++kx) {
              const int ix = ox * stride - pad + kx;
              if (ix < 0 || ix >= width) continue;
              for (int c = 0; c < channels; ++c) {
                const int64_t xv = x[((int64_t{n} * height + iy) * width + ix) * channels + c];
                const int64_t wv = w[((int64_t{k} * 3 + ky) * 3 + kx) * channels + c];
                sum += (xv - x_zero_point) * wv;
              }
            }
          }
          y[((size_t(n) * ho + oy) * wo + ox) * out_channels + k] = Wrap(sum);
        }
      }
    }
  }
  return y;
}

}  // namespace tile32::testing

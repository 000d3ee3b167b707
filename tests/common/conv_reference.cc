#include "tests/common/conv_reference.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "tests/common/reference.h"

namespace tile32::testing {
namespace {

// floor(a / b) for b > 0 (C++ division truncates toward zero).
int FloorDiv(int a, int b) { return a / b - (a % b != 0 && a < 0 ? 1 : 0); }

void Require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("conv reference: ") + what);
}

void Validate(const ConvRefShape& s) {
  Require(s.batch >= 1 && s.height >= 1 && s.width >= 1, "batch, height and width must be >= 1");
  Require(s.in_channels >= 1 && s.out_channels >= 1 && s.groups >= 1, "channels and groups must be >= 1");
  Require(s.in_channels % s.groups == 0 && s.out_channels % s.groups == 0, "groups must divide both channel counts");
  Require(s.kernel_h >= 1 && s.kernel_w >= 1, "kernel sizes must be >= 1");
  Require(s.stride_h >= 1 && s.stride_w >= 1, "strides must be >= 1");
  Require(s.dilation_h >= 1 && s.dilation_w >= 1, "dilations must be >= 1");
  Require(s.pad_top >= 0 && s.pad_bottom >= 0 && s.pad_left >= 0 && s.pad_right >= 0, "pads must be >= 0");
  Require(ConvRefOutH(s) >= 1 && ConvRefOutW(s) >= 1, "output size must be >= 1");
}

// Calls tap(x_index, w_index) for every tap of output (n, oy, ox, k) in the contract's order: ky ascending,
// then kx, then c' (the channel inside k's group). x_index is -1 for a tap in the padding. Both conv
// references use this one walk, so the index arithmetic exists once.
template <typename Tap>
void ForEachTap(const ConvRefShape& s, int n, int oy, int ox, int k, Tap&& tap) {
  const int cg = s.in_channels / s.groups;
  const int group = k / (s.out_channels / s.groups);
  for (int ky = 0; ky < s.kernel_h; ++ky) {
    const int y = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
    for (int kx = 0; kx < s.kernel_w; ++kx) {
      const int x = ox * s.stride_w - s.pad_left + kx * s.dilation_w;
      const bool inside = y >= 0 && y < s.height && x >= 0 && x < s.width;
      for (int c = 0; c < cg; ++c) {
        const int64_t xi = inside ? ((int64_t{n} * s.height + y) * s.width + x) * s.in_channels + group * cg + c : -1;
        const int64_t wi = ((int64_t{k} * s.kernel_h + ky) * s.kernel_w + kx) * cg + c;
        tap(xi, wi);
      }
    }
  }
}

// Index of y[n][oy][ox][k] in the dense NHWK output.
int64_t OutIndex(const ConvRefShape& s, int n, int oy, int ox, int k) {
  return ((int64_t{n} * ConvRefOutH(s) + oy) * ConvRefOutW(s) + ox) * s.out_channels + k;
}

// The int32 whose two's complement bits are the low 32 bits of v, without implementation-defined narrowing.
int32_t Wrap(uint64_t v) {
  const uint64_t u = v & 0xFFFFFFFFull;
  return u >= 0x80000000ull ? static_cast<int32_t>(static_cast<int64_t>(u) - (int64_t{1} << 32))
                            : static_cast<int32_t>(u);
}

}  // namespace

int ConvRefOutH(const ConvRefShape& s) {
  return FloorDiv(s.height + s.pad_top + s.pad_bottom - s.dilation_h * (s.kernel_h - 1) - 1, s.stride_h) + 1;
}

int ConvRefOutW(const ConvRefShape& s) {
  return FloorDiv(s.width + s.pad_left + s.pad_right - s.dilation_w * (s.kernel_w - 1) - 1, s.stride_w) + 1;
}

std::vector<int32_t> ConvIntRef(const ConvRefShape& s, const int32_t* x, int32_t x_zero_point, const int32_t* w,
                                const int32_t* w_zero_points, const int32_t* bias) {
  Validate(s);
  const int oh = ConvRefOutH(s), ow = ConvRefOutW(s);
  std::vector<int32_t> y(size_t(s.batch) * oh * ow * s.out_channels);
  for (int n = 0; n < s.batch; ++n) {
    for (int oy = 0; oy < oh; ++oy) {
      for (int ox = 0; ox < ow; ++ox) {
        for (int k = 0; k < s.out_channels; ++k) {
          const int64_t wz = w_zero_points != nullptr ? w_zero_points[k] : 0;
          // Each difference is exact in int64 (|d| < 2^33); the products and the sum are taken modulo 2^64
          // in uint64 (defined wrap-around), which is exact modulo 2^32: no bound on sizes or codes needed.
          uint64_t sum = static_cast<uint64_t>(int64_t{bias != nullptr ? bias[k] : 0});
          ForEachTap(s, n, oy, ox, k, [&](int64_t xi, int64_t wi) {
            const int64_t xv = xi >= 0 ? x[xi] : x_zero_point;  // padding value: x_zero_point
            sum += static_cast<uint64_t>(xv - x_zero_point) * static_cast<uint64_t>(w[wi] - wz);
          });
          y[OutIndex(s, n, oy, ox, k)] = Wrap(sum);
        }
      }
    }
  }
  return y;
}

std::vector<uint32_t> ConvBf16Ref(const ConvRefShape& s, const uint16_t* x, const uint16_t* w, const float* bias) {
  Validate(s);
  const int oh = ConvRefOutH(s), ow = ConvRefOutW(s);
  std::vector<uint32_t> y(size_t(s.batch) * oh * ow * s.out_channels);
  for (int n = 0; n < s.batch; ++n) {
    for (int oy = 0; oy < oh; ++oy) {
      for (int ox = 0; ox < ow; ++ox) {
        for (int k = 0; k < s.out_channels; ++k) {
          float acc = bias != nullptr ? bias[k] : 0.0f;
          ForEachTap(s, n, oy, ox, k, [&](int64_t xi, int64_t wi) {
            const float xv = xi >= 0 ? F32FromBf16Ref(x[xi]) : 0.0f;  // padding value: +0.0, never skipped
            acc = std::fma(xv, F32FromBf16Ref(w[wi]), acc);
          });
          uint32_t bits;
          std::memcpy(&bits, &acc, 4);
          y[OutIndex(s, n, oy, ox, k)] = std::isnan(acc) ? 0x7FC00000u : bits;
        }
      }
    }
  }
  return y;
}

std::vector<uint8_t> ChannelShuffleRef(int pixels, int channels, int groups, int elem_bytes, const uint8_t* x) {
  Require(pixels >= 1 && channels >= 1 && groups >= 1 && channels % groups == 0,
          "shuffle needs pixels, channels, groups >= 1 and groups dividing channels");
  Require(elem_bytes == 1 || elem_bytes == 2, "shuffle elements are 1 or 2 bytes");
  const int per_group = channels / groups;
  const size_t pixel_bytes = size_t(channels) * elem_bytes;
  std::vector<uint8_t> y(size_t(pixels) * pixel_bytes);
  for (int p = 0; p < pixels; ++p) {
    for (int i = 0; i < per_group; ++i) {
      for (int j = 0; j < groups; ++j) {
        std::memcpy(&y[p * pixel_bytes + size_t(i * groups + j) * elem_bytes],
                    &x[p * pixel_bytes + size_t(j * per_group + i) * elem_bytes], elem_bytes);
      }
    }
  }
  return y;
}

std::vector<int32_t> RequantNhwkRef(const std::vector<int32_t>& acc, int out_channels, const RefQuant& q) {
  Require(out_channels >= 1 && acc.size() % size_t(out_channels) == 0, "acc must hold whole pixels of out_channels");
  std::vector<int32_t> out(acc.size());
  for (size_t i = 0; i < acc.size(); ++i) out[i] = RequantRef(acc[i], q, int(i % size_t(out_channels)));
  return out;
}

}  // namespace tile32::testing

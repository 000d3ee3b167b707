#include "kernels/conv_simple.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "accel/error.h"
#include "kernels/gemm_driver.h"
#include "layout/tile_pack.h"

namespace tile32 {

int ConvOutHeight(const ConvI8Args& a) { return (a.height + 2 * a.pad - 3) / a.stride + 1; }
int ConvOutWidth(const ConvI8Args& a) { return (a.width + 2 * a.pad - 3) / a.stride + 1; }

void Conv3x3I8Simple(Machine& machine, const ConvI8Args& x) {
  const char* fn = "Conv3x3I8Simple";
  constexpr int64_t kMaxDim = 1 << 20;
  const char* dims[5] = {"batch", "height", "width", "channels", "out_channels"};
  const int values[5] = {x.batch, x.height, x.width, x.channels, x.out_channels};
  for (int i = 0; i < 5; ++i) {
    if (values[i] < 1 || values[i] > kMaxDim) Fail(fn, ": ", dims[i], " = ", values[i], " is outside [1, ", kMaxDim, "]");
  }
  if (x.stride < 1 || x.stride > kMaxDim) Fail(fn, ": stride = ", x.stride, " is outside [1, ", kMaxDim, "]");
  if (x.pad < 0 || x.pad > 2) Fail(fn, ": pad = ", x.pad, " is outside [0, 2]");
  if (x.height + 2 * x.pad < 3) Fail(fn, ": height + 2*pad = ", x.height + 2 * x.pad, " is less than the kernel height 3");
  if (x.width + 2 * x.pad < 3) Fail(fn, ": width + 2*pad = ", x.width + 2 * x.pad, " is less than the kernel width 3");
  if (x.x_type != DType::kU8 && x.x_type != DType::kI8) {
    Fail(fn, ": x_type = ", NameOf(x.x_type), " is not one of {u8, i8}");
  }
  if (x.x == nullptr) Fail(fn, ": x is null");
  const int32_t zp_lo = x.x_type == DType::kU8 ? 0 : -128, zp_hi = x.x_type == DType::kU8 ? 255 : 127;
  if (x.x_zero_point < zp_lo || x.x_zero_point > zp_hi) {
    Fail(fn, ": x_zero_point = ", x.x_zero_point, " is outside [", zp_lo, ", ", zp_hi, "] of ", NameOf(x.x_type));
  }
  if (x.w == nullptr) Fail(fn, ": w is null");
  if (x.y_type != DType::kI32 && x.y_type != DType::kI8 && x.y_type != DType::kU8) {
    Fail(fn, ": y_type = ", NameOf(x.y_type), " is not one of {i32, i8, u8}");
  }
  if (x.y == nullptr) Fail(fn, ": y is null");
  if (x.y_type != DType::kI32) {
    if (x.quant == nullptr) Fail(fn, ": quant is null but y_type is ", NameOf(x.y_type));
    CheckOutputQuant(fn, *x.quant, x.out_channels, x.y_type);
  }
  const int64_t C = x.channels, K = x.out_channels;
  const int64_t depth = 9 * C;
  if (depth > std::numeric_limits<int>::max() - kLanes) Fail(fn, ": channels = ", C, " makes 9*channels too large");

  const int64_t Ho = ConvOutHeight(x), Wo = ConvOutWidth(x);
  const int64_t Hp = x.height + 2 * x.pad, Wp = x.width + 2 * x.pad;
  const int64_t M = int64_t{x.batch} * Ho * Wo;

  // Host side: the input with a border of x_zero_point, so every patch is three contiguous rows.
  std::vector<uint8_t> xpad(size_t(x.batch) * Hp * Wp * C, static_cast<uint8_t>(x.x_zero_point));
  const uint8_t* src = static_cast<const uint8_t*>(x.x);
  for (int64_t n = 0; n < x.batch; ++n) {
    for (int64_t h = 0; h < x.height; ++h) {
      std::memcpy(&xpad[size_t(((n * Hp + h + x.pad) * Wp + x.pad) * C)], src + ((n * x.height + h) * x.width) * C,
                  size_t(x.width * C));
    }
  }
  // B[(ky*3 + kx)*C + c][k] = w[k][ky][kx][c]: the OHWI weights transposed, then packed.
  std::vector<int8_t> bt(size_t(depth * K));
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t p = 0; p < depth; ++p) bt[size_t(p * K + k)] = x.w[k * depth + p];
  }
  const PackedWeights packed = PackWeightsI8(bt.data(), static_cast<int>(depth), static_cast<int>(K), K);
  // bias[k] - zp * sum_all w[k]: removes the zero point from every tap, including the padded ones.
  std::vector<int32_t> bias(size_t{kLanes} * packed.n_tiles, 0);
  const bool need_bias = x.bias != nullptr || x.x_zero_point != 0;
  for (int64_t k = 0; k < K; ++k) {
    int64_t wsum = 0;
    for (int64_t p = 0; p < depth; ++p) wsum += x.w[k * depth + p];
    const int64_t b = (x.bias != nullptr ? x.bias[k] : 0) - int64_t{x.x_zero_point} * wsum;
    bias[size_t(k)] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(b)));
  }

  const uint64_t y_size = SizeOf(x.y_type);
  DramBindings dram(machine, fn);
  const uint32_t seg_x = dram.BindReadOnly(xpad.data(), xpad.size());
  const uint32_t seg_y = dram.Bind(x.y, uint64_t(M) * uint64_t(K) * y_size);

  GemmDriverArgs g;
  g.fn = fn;
  g.M = M;
  g.mode = x.x_type == DType::kU8 ? MacMode::kU8S8 : MacMode::kS8S8;
  g.b = &packed;
  g.bias = need_bias ? bias.data() : nullptr;
  g.out = x.y_type;
  g.quant = x.quant;
  const int64_t s = x.stride, row3 = 3 * C;
  // Patch columns [k0, k0 + cols) of output pixels [m0, m0 + rows): per run of pixels in one output row,
  // one DMA per kernel row ky whose 3*C bytes intersect the column range.
  g.load_a = [&](int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram, uint32_t sram_stride) {
    int64_t m = m0;
    const int64_t end = m0 + rows;
    while (m < end) {
      const int64_t n = m / (Ho * Wo), oy = (m / Wo) % Ho, ox = m % Wo;
      const int64_t run = std::min(Wo - ox, end - m);
      for (int64_t ky = 0; ky < 3; ++ky) {
        const int64_t lo = std::max<int64_t>(k0, ky * row3), hi = std::min<int64_t>(int64_t{k0} + cols, (ky + 1) * row3);
        if (lo >= hi) continue;
        DmaIn d;
        d.sram = static_cast<uint32_t>(sram + uint64_t(m - m0) * sram_stride + uint64_t(lo - k0));
        d.segment = seg_x;
        d.dram = uint64_t(((n * Hp + oy * s + ky) * Wp + ox * s) * C + (lo - ky * row3));
        d.rows = static_cast<uint32_t>(run), d.row_bytes = static_cast<uint32_t>(hi - lo);
        d.dram_stride = uint64_t(s * C), d.sram_stride = sram_stride;
        machine.Execute(d);
      }
      m += run;
    }
  };
  g.store_c = [&](int64_t m0, uint32_t rows, int n0, int cols, uint32_t sram, uint32_t sram_stride) {
    DmaOut d;
    d.sram = sram, d.segment = seg_y, d.dram = (uint64_t(m0) * uint64_t(K) + uint64_t(n0)) * y_size;
    d.rows = rows, d.row_bytes = static_cast<uint32_t>(cols * y_size);
    d.dram_stride = uint64_t(K) * y_size, d.sram_stride = sram_stride;
    machine.Execute(d);
  };
  RunGemmDriver(machine, dram, g);
}

}  // namespace tile32

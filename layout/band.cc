#include "layout/band.h"

#include "accel/config.h"

namespace tile32 {

BandLayout MakeBandLayout(const ConvGeometry& g, int band_rows, int channels, int elem_bytes, uint32_t base) {
  BandLayout b;
  b.g = g;
  b.band_rows = band_rows;
  b.extra_cols = (g.kernel_w - 1) * g.dilation_w / g.stride_w;
  b.pitch = g.out_w + b.extra_cols;
  b.plane_rows = band_rows + (g.kernel_h - 1) * g.dilation_h / g.stride_h;
  b.channels = channels;
  b.pixel_bytes = static_cast<uint32_t>((channels + kLanes - 1) / kLanes * kLanes * elem_bytes);
  const uint64_t plane = (uint64_t(b.plane_rows) * b.pitch + b.extra_cols) * b.pixel_bytes;
  b.plane_bytes = static_cast<uint32_t>((plane + 63) & ~uint64_t{63});
  b.base = base;
  return b;
}

uint32_t BandLayout::TapAddress(int ky, int kx) const {
  const int dy = ky * g.dilation_h, dx = kx * g.dilation_w;
  const uint32_t plane = static_cast<uint32_t>((dy % g.stride_h) * g.stride_w + dx % g.stride_w);
  const uint64_t pixel = uint64_t(dy / g.stride_h) * pitch + uint64_t(dx / g.stride_w);
  return static_cast<uint32_t>(base + uint64_t{plane} * plane_bytes + pixel * pixel_bytes);
}

bool BandLayout::Locate(int oy0, int Y, int X, uint32_t* addr) const {
  const int q = Y / g.stride_h - oy0, c = X / g.stride_w;
  if (Y < 0 || X < 0 || q < 0 || q >= plane_rows || c >= pitch) return false;
  const uint32_t plane = static_cast<uint32_t>((Y % g.stride_h) * g.stride_w + X % g.stride_w);
  *addr = static_cast<uint32_t>(base + uint64_t{plane} * plane_bytes + (uint64_t(q) * pitch + c) * pixel_bytes);
  return true;
}

}  // namespace tile32

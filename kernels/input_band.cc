#include "kernels/input_band.h"

#include <algorithm>
#include <cstring>

namespace tile32 {

std::vector<uint8_t> FillRow(const BandLayout& band, int elem_bytes, const uint8_t* border, const uint8_t* channel_pad) {
  const int e = elem_bytes;
  std::vector<uint8_t> row(size_t(band.pitch) * band.pixel_bytes);
  // The first pixel (a memcpy of e bytes per channel, or a modulo per byte, cost microseconds on wide
  // layers; for one-byte elements two memsets, where the element loop took ~8 instructions a channel), then
  // copies of it.
  if (e == 1) {
    const size_t channels = std::min<size_t>(size_t(std::max(band.channels, 0)), band.pixel_bytes);
    std::memset(row.data(), border[0], channels);
    std::memset(row.data() + channels, channel_pad[0], band.pixel_bytes - channels);
  } else {
    for (uint32_t c = 0; c * e < band.pixel_bytes; ++c) {
      const uint8_t* v = static_cast<int>(c) < band.channels ? border : channel_pad;
      for (int i = 0; i < e; ++i) row[c * e + i] = v[i];
    }
  }
  for (size_t p = 1; p < size_t(band.pitch); ++p) {
    std::memcpy(row.data() + p * band.pixel_bytes, row.data(), band.pixel_bytes);
  }
  return row;
}

void LoadBand(Machine& m, const BandLayout& b, const BandSource& s, int n, int oy0, int part, int parts) {
  auto issue = [&m](const DmaIn& in) { m.Execute(in); };
  LoadBandWith(issue, b, s, n, oy0, part, parts);
}

}  // namespace tile32

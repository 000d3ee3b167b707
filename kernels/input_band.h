// Loading a band of NHWC input into SRAM in the placement of layout/band.h, with DMAs only: the padding
// around the image and the channel padding from a fill row, the pixels from DRAM. Internal to kernels/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "accel/machine.h"
#include "kernels/dma_run.h"
#include "kernels/operator.h"
#include "layout/band.h"

namespace tile32 {

struct BandSource {
  uint32_t segment = 0;          // the input tensor x, bound read-only
  int64_t pixel_stride = 0;      // elements from one input pixel to the next (>= the tensor's channels)
  int channels = 0;              // C of the tensor
  int channel_offset = 0;        // the first channel the band holds (a group's slice)
  int band_channels = 0;         // channels the band holds per pixel (before padding to 32)
  int elem_bytes = 1;
  uint32_t fill_segment = 0;     // one plane row (pitch pixels) of fill pixels: FillRow()
  // Band channel j holds tensor channel channel_offset + j / replicate: each tensor channel `replicate`
  // times in a row (a depthwise convolution with channel multiplier m reads channel k / m for output k, so
  // its band holds m * C channels and lane k of an EMAC meets output channel k's input). The band's
  // BandLayout::channels must be a multiple of replicate. 1: the channels as they are.
  int replicate = 1;
  // false: the band's channel padding (pixel bytes past band_channels) is left as SRAM holds it, one DMA per
  // plane row fewer. For kernels where a padding byte adds nothing whatever it holds: depthwise (lanes never
  // mix channels), Winograd (a padding lane's transformed input meets U's zero rows). The direct
  // convolution's reductions over channels (zero-point row sums, BF16's NaN times zero) need it zero.
  bool pad_channels = true;
};

// One plane row of pixels outside the image: `border` (the padding value of the numeric contract, as the
// raw bytes of one element) in the band's real channels and `channel_pad` in the rest.
std::vector<uint8_t> FillRow(const BandLayout& band, int elem_bytes, const uint8_t* border, const uint8_t* channel_pad);

// The planes of the band of output rows [oy0, oy0 + band.band_rows) of image n, every byte an instruction
// of the band reads for a valid output written (junk columns past the image are left as they are).
// Replicated channels (src.replicate > 1) come by DMAs of one-element rows, sram_stride = replicate
// elements: one DMA per copy and plane row when a plane row's pixels are contiguous in both memories,
// else one per copy and pixel or per copy and channel, whichever is fewer.
//
// part, parts: only plane rows [plane_rows * part / parts, plane_rows * (part + 1) / parts) of every plane, so
// that a loop can spread the next band's DMAs between its TMACs (the model machine issues in order, and a
// DMA that waits for the engines holds up everything behind it). The parts together are the whole band.
void LoadBand(Machine& m, const BandLayout& band, const BandSource& src, int n, int oy0, int part = 0, int parts = 1);
// The same DMAs handed to `issue(const DmaIn&)` (the analytic model tallies their cost: kernels/analytic.h),
// a template so that a tally inlines into the loops.
template <class Issue>
void LoadBandWith(Issue& issue, const BandLayout& band, const BandSource& src, int n, int oy0, int part = 0,
                  int parts = 1);

namespace band_detail {
template <class Issue>
inline void Dma(Issue& m, uint32_t sram, uint32_t seg, uint64_t dram, uint32_t rows, uint32_t row_bytes,
         uint64_t dram_stride, uint32_t sram_stride) {
  if (rows == 0 || row_bytes == 0) return;
  DmaIn d;
  d.sram = sram, d.segment = seg, d.dram = dram, d.rows = rows, d.row_bytes = row_bytes;
  d.dram_stride = dram_stride, d.sram_stride = sram_stride;
  m(d);
}

// Plane columns [lo, hi) whose padded X = c*sw + px falls on image columns [0, W).
inline void ImageColumns(const BandLayout& b, int px, int* lo, int* hi) {
  const ConvGeometry& g = b.g;
  const int first_x = g.pad_left, end_x = g.pad_left + g.width;  // padded X of the image
  auto first_c = [&](int x) { return x <= px ? 0 : (x - px + g.stride_w - 1) / g.stride_w; };
  *lo = std::min(first_c(first_x), b.pitch);
  *hi = std::max(*lo, std::min(first_c(end_x), b.pitch));
}
}  // namespace band_detail

template <class Issue>
void LoadBandWith(Issue& m, const BandLayout& b, const BandSource& s, int n, int oy0, int part, int parts) {
  using band_detail::Dma;
  using band_detail::ImageColumns;
  const ConvGeometry& g = b.g;
  const uint32_t pb = b.pixel_bytes, row_bytes = static_cast<uint32_t>(b.pitch) * pb;
  const uint32_t data_bytes = static_cast<uint32_t>(b.channels * s.elem_bytes);
  const uint32_t pad_bytes = pb - data_bytes;
  const uint64_t x_pixel = uint64_t(s.pixel_stride) * s.elem_bytes;
  const uint64_t image = uint64_t(n) * g.height * g.width * x_pixel;
  // One DMA carries every image pixel of a run of plane rows when a plane row of the image is one
  // contiguous run in both memories.
  const int rep = s.replicate;
  const bool dense = rep == 1 && pad_bytes == 0 && g.stride_w == 1 && s.pixel_stride == b.channels;
  // Replicated: the tensor's channels of a band pixel, and whether the pixels of a plane row follow each
  // other without a gap in both memories (then one DMA per copy takes the whole plane row).
  const int tensor_channels = b.channels / rep;
  const uint64_t e = static_cast<uint64_t>(s.elem_bytes);
  const bool flat = rep > 1 && g.stride_w == 1 && s.pixel_stride == tensor_channels && pad_bytes == 0;
  // The image pixels [0, count) of one plane row at sram (band) and dram (the first pixel's channel 0).
  auto replicated = [&](uint32_t sram, uint64_t dram, uint32_t count) {
    const uint32_t rep_stride = static_cast<uint32_t>(rep * e);
    for (int i = 0; i < rep; ++i) {
      const uint32_t copy = sram + static_cast<uint32_t>(i * e);
      if (flat) {
        Dma(m, copy, s.segment, dram, count * static_cast<uint32_t>(tensor_channels), static_cast<uint32_t>(e), e,
            rep_stride);
      } else if (count <= static_cast<uint32_t>(tensor_channels)) {
        for (uint32_t p = 0; p < count; ++p) {
          Dma(m, copy + p * pb, s.segment, dram + uint64_t(p) * g.stride_w * x_pixel,
              static_cast<uint32_t>(tensor_channels), static_cast<uint32_t>(e), e, rep_stride);
        }
      } else {
        for (int c = 0; c < tensor_channels; ++c) {
          Dma(m, copy + static_cast<uint32_t>(c) * rep_stride, s.segment, dram + uint64_t(c) * e, count,
              static_cast<uint32_t>(e), uint64_t(g.stride_w) * x_pixel, pb);
        }
      }
    }
  };
  for (int py = 0; py < g.stride_h; ++py) {
    for (int px = 0; px < g.stride_w; ++px) {
      const uint32_t plane = b.base + static_cast<uint32_t>(py * g.stride_w + px) * b.plane_bytes;
      // Plane rows [q_lo, q_hi) of the part hold image rows; the others are padding (or past the padded image).
      auto image_row = [&](int q) { return (oy0 + q) * g.stride_h + py - g.pad_top; };
      const int r0 = static_cast<int>(int64_t{b.plane_rows} * part / parts);
      const int r1 = static_cast<int>(int64_t{b.plane_rows} * (part + 1) / parts);
      int q_lo = r0, q_hi = r1;
      while (q_lo < q_hi && image_row(q_lo) < 0) ++q_lo;
      while (q_hi > q_lo && image_row(q_hi - 1) >= g.height) --q_hi;
      Dma(m, plane + static_cast<uint32_t>(r0) * row_bytes, s.fill_segment, 0, static_cast<uint32_t>(q_lo - r0),
          row_bytes, 0, row_bytes);
      Dma(m, plane + static_cast<uint32_t>(q_hi) * row_bytes, s.fill_segment, 0, static_cast<uint32_t>(r1 - q_hi),
          row_bytes, 0, row_bytes);
      if (q_lo == q_hi) continue;
      int c_lo, c_hi;
      ImageColumns(b, px, &c_lo, &c_hi);
      const uint32_t rows = static_cast<uint32_t>(q_hi - q_lo);
      const uint32_t first = plane + static_cast<uint32_t>(q_lo) * row_bytes;
      // Left and right padding columns of every image row.
      Dma(m, first, s.fill_segment, 0, rows, static_cast<uint32_t>(c_lo) * pb, 0, row_bytes);
      Dma(m, first + static_cast<uint32_t>(c_hi) * pb, s.fill_segment, 0, rows,
          static_cast<uint32_t>(b.pitch - c_hi) * pb, 0, row_bytes);
      if (c_lo == c_hi) continue;
      const uint32_t count = static_cast<uint32_t>(c_hi - c_lo);
      const int ix0 = c_lo * g.stride_w + px - g.pad_left;
      const uint64_t dram0 = image + (uint64_t(image_row(q_lo)) * g.width + uint64_t(ix0)) * x_pixel +
                             uint64_t(s.channel_offset) * s.elem_bytes;
      const uint32_t sram0 = first + static_cast<uint32_t>(c_lo) * pb;
      if (dense) {
        Dma(m, sram0, s.segment, dram0, rows, count * pb, uint64_t(g.stride_h) * g.width * x_pixel, row_bytes);
        continue;
      }
      if (rep == 1 && !(pad_bytes != 0 && s.pad_channels)) {  // one plane row a DMA, as the loop below
        DmaIn in;
        in.sram = sram0, in.segment = s.segment, in.dram = dram0, in.rows = count, in.row_bytes = data_bytes;
        in.dram_stride = uint64_t(g.stride_w) * x_pixel, in.sram_stride = pb;
        IssueRun(m, in, rows, row_bytes, uint64_t(g.stride_h) * g.width * x_pixel);
        continue;
      }
      for (uint32_t q = 0; q < rows; ++q) {
        // Channel padding of the image pixels (the fill row's first pixel holds it after its real channels).
        if (pad_bytes != 0 && s.pad_channels) {
          Dma(m, sram0 + q * row_bytes + data_bytes, s.fill_segment, data_bytes, count, pad_bytes, 0, pb);
        }
        const uint64_t dram_row = dram0 + uint64_t(q) * g.stride_h * g.width * x_pixel;
        if (rep > 1) {
          replicated(sram0 + q * row_bytes, dram_row, count);
          continue;
        }
        Dma(m, sram0 + q * row_bytes, s.segment, dram_row, count, data_bytes, uint64_t(g.stride_w) * x_pixel, pb);
      }
    }
  }
}

}  // namespace tile32

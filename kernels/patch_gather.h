// Gathering convolution patches into SRAM rows by DMA, for folded direct convolution (kernels/conv_direct.cc):
// the row of output pixel (n, oy, ox) holds x_pad(oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, c) at column
// (ky * kernel_w + kx) * C/G + c, the reduction order BF16's fma chain needs. Internal to kernels/.
#pragma once

#include <algorithm>
#include <cstdint>

#include "accel/machine.h"
#include "kernels/dma_run.h"
#include "layout/band.h"

namespace tile32 {

struct PatchSource {
  ConvGeometry geo;
  int channels = 0;        // C/G, the channels of one tap
  int channel_offset = 0;  // the group's first input channel
  int elem = 1;            // bytes per element
  uint64_t x_pixel = 0;    // bytes from one input pixel to the next
  uint32_t seg_x = 0;      // the input, read-only
  // kernel_w * channels elements of the padding value (a merged kernel row of taps outside the image).
  uint32_t seg_fill = 0;
  // Taps (ky, kx0 .. kx1-1) lie back to back in DRAM and in the patch row (one group, dilation 1 across, a
  // dense input), so a stretch of them is one DMA row.
  bool merge = false;
};

// Issues the DMAs that put patch columns [k0, k0 + cols) of output pixels [m0, m0 + rows) (n-major, then oy,
// then ox) at SRAM sram + r * stride + (k - k0) * elem.
//
// Every DMA serves many pixels, so that the latency each DMA pays is shared: whole output rows of one image
// form a rectangle, and for each kernel row (or tap) the pixels whose taps all lie inside the image take one
// 2-D DMA per output row or per output column of the rectangle (whichever are fewer: the input advances by
// stride_w pixels from one output column to the next and by stride_h rows from one output row to the next),
// the few columns near the left and right edges one DMA each for their in-image taps and one for their
// padding, across all the rectangle's rows, and output rows whose kernel row falls above or below the image
// one DMA of padding.
void GatherPatches(Machine& m, const PatchSource& s, int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram,
                   uint32_t stride);
// The same DMAs handed to `issue(const DmaIn&)` (the analytic model tallies their cost: kernels/analytic.h),
// a template so that a tally inlines into the loops.
template <class Issue>
void GatherPatchesWith(Issue& issue, const PatchSource& s, int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram,
                       uint32_t stride);

namespace patch_detail {
// ceil(a / b) for b > 0 and a of either sign.
inline int64_t CeilDiv(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -(-a / b); }

template <class Issue>
class Gather {
 public:
  Gather(Issue& issue, const PatchSource& s, int k0, int cols, uint32_t stride)
      : issue_(issue), s_(s), g_(s.geo), k0_(k0), k_end_(k0 + cols), stride_(stride) {}

  // Output rows [oy_a, oy_a + h) of image n, columns [xa, xb) (h > 1 only for whole rows), the first pixel's
  // row at SRAM `base`.
  void Rect(int n, int oy_a, int h, int xa, int xb, uint32_t base) {
    const int kw = g_.kernel_w, cg = s_.channels;
    const int t_first = k0_ / cg, t_end = static_cast<int>(CeilDiv(k_end_, cg));
    for (int t = t_first; t < t_end;) {
      const int ky = t / kw, kxa = t % kw;
      const int kxb = s_.merge ? std::min(kw, kxa + (t_end - t)) : kxa + 1;
      Piece(n, oy_a, h, xa, xb, base, ky, kxa, kxb);
      t += kxb - kxa;
    }
  }

 private:
  void Dma(uint32_t sram, uint32_t seg, uint64_t dram, int64_t rows, int64_t bytes, uint64_t dram_stride,
           uint32_t sram_stride) {
    if (rows <= 0 || bytes <= 0) return;
    DmaIn in;
    in.sram = sram, in.segment = seg, in.dram = dram, in.rows = static_cast<uint32_t>(rows);
    in.row_bytes = static_cast<uint32_t>(bytes), in.dram_stride = dram_stride, in.sram_stride = sram_stride;
    issue_(in);
  }

  // Taps (ky, kxa .. kxb-1), the columns of them in [k0, k0 + cols), for the rectangle's pixels.
  void Piece(int n, int oy_a, int h, int xa, int xb, uint32_t base, int ky, int kxa, int kxb) {
    const ConvGeometry& g = g_;
    const int cg = s_.channels, kw = g.kernel_w, elem = s_.elem;
    const int lo = std::max(k0_, (ky * kw + kxa) * cg), hi = std::min(k_end_, (ky * kw + kxb) * cg);
    const uint32_t row_pitch = static_cast<uint32_t>(g.out_w) * stride_;  // one output row down
    auto sram_at = [&](int oy, int ox, int k) {
      return base + static_cast<uint32_t>((oy - oy_a) * g.out_w + (ox - xa)) * stride_ +
             static_cast<uint32_t>((k - k0_) * elem);
    };
    auto iy_of = [&](int oy) { return oy * g.stride_h - g.pad_top + ky * g.dilation_h; };
    auto dram_at = [&](int oy, int ox, int k) {  // column k inside the image
      const int kx = k / cg - ky * kw, c = k % cg;
      const int64_t ix = int64_t{ox} * g.stride_w - g.pad_left + int64_t{kx} * g.dilation_w;
      return uint64_t((int64_t{n} * g.height + iy_of(oy)) * g.width + ix) * s_.x_pixel +
             uint64_t(s_.channel_offset + c) * elem;
    };
    auto bytes = [&](int from, int to) { return int64_t{to - from} * elem; };
    const uint64_t down = uint64_t(g.stride_h) * g.width * s_.x_pixel, across = uint64_t(g.stride_w) * s_.x_pixel;

    // Output rows whose input row lies inside the image: [ya, yb).
    const int oy_b = oy_a + h;
    const int64_t top = g.pad_top - int64_t{ky} * g.dilation_h;  // iy = oy * stride_h - top
    const int ya = static_cast<int>(std::clamp<int64_t>(CeilDiv(top, g.stride_h), oy_a, oy_b));
    const int yb = static_cast<int>(std::clamp<int64_t>(CeilDiv(g.height + top, g.stride_h), ya, oy_b));
    // The others hold the padding value: consecutive rows when the rectangle has whole rows.
    for (auto [from, to] : {std::pair{oy_a, ya}, std::pair{yb, oy_b}}) {
      if (from >= to) continue;
      Dma(sram_at(from, xa, lo), s_.seg_fill, 0, int64_t{to - from} * (xb - xa), bytes(lo, hi), 0, stride_);
    }
    if (ya >= yb) return;

    // Columns whose taps kxa .. kxb-1 all read inside the image: [ia, ib).
    auto first_ox = [&](int kx, int64_t ix) {  // the first ox whose tap kx reads an input column >= ix
      return CeilDiv(ix + g.pad_left - int64_t{kx} * g.dilation_w, g.stride_w);
    };
    const int ia = static_cast<int>(std::clamp<int64_t>(first_ox(kxa, 0), xa, xb));
    const int ib = static_cast<int>(std::clamp<int64_t>(first_ox(kxb - 1, g.width), ia, xb));
    if (ia < ib && lo < hi) {
      // One run of DMAs whose addresses step by a fixed amount (the same wrap as computed afresh).
      DmaIn in;
      in.sram = sram_at(ya, ia, lo), in.segment = s_.seg_x, in.dram = dram_at(ya, ia, lo);
      in.row_bytes = static_cast<uint32_t>(bytes(lo, hi));
      if (yb - ya <= ib - ia) {
        in.rows = static_cast<uint32_t>(ib - ia), in.dram_stride = across, in.sram_stride = stride_;
        IssueRun(issue_, in, static_cast<uint32_t>(yb - ya), row_pitch, down);
      } else {
        in.rows = static_cast<uint32_t>(yb - ya), in.dram_stride = down, in.sram_stride = row_pitch;
        IssueRun(issue_, in, static_cast<uint32_t>(ib - ia), stride_, across);
      }
    }
    // Edge columns: their taps inside the image from DRAM, the others padding, each down all rows at once.
    auto edge = [&](int ox) {
      const int64_t left = g.pad_left - int64_t{ox} * g.stride_w;  // ix = kx * dilation_w - left
      const int64_t in_a = std::max<int64_t>(kxa, CeilDiv(left, g.dilation_w));
      const int64_t in_b = std::min<int64_t>(kxb, CeilDiv(g.width + left, g.dilation_w));
      int ci = lo, cj = lo;  // the columns inside
      if (in_a < in_b) {
        ci = static_cast<int>(std::clamp<int64_t>((ky * kw + in_a) * cg, lo, hi));
        cj = static_cast<int>(std::clamp<int64_t>((ky * kw + in_b) * cg, ci, hi));
      }
      Dma(sram_at(ya, ox, lo), s_.seg_fill, 0, yb - ya, bytes(lo, ci), 0, row_pitch);
      if (ci < cj) Dma(sram_at(ya, ox, ci), s_.seg_x, dram_at(ya, ox, ci), yb - ya, bytes(ci, cj), down, row_pitch);
      Dma(sram_at(ya, ox, cj), s_.seg_fill, 0, yb - ya, bytes(cj, hi), 0, row_pitch);
    };
    for (int ox = xa; ox < ia; ++ox) edge(ox);
    for (int ox = ib; ox < xb; ++ox) edge(ox);
  }

  Issue& issue_;
  const PatchSource& s_;
  const ConvGeometry& g_;
  const int k0_, k_end_;
  const uint32_t stride_;
};
}  // namespace patch_detail

template <class Issue>
void GatherPatchesWith(Issue& issue, const PatchSource& s, int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram,
                       uint32_t stride) {
  const ConvGeometry& g = s.geo;
  const int64_t plane = int64_t{g.out_h} * g.out_w, end = m0 + rows;
  patch_detail::Gather<Issue> gather(issue, s, k0, cols, stride);
  for (int64_t px = m0; px < end;) {
    const int n = static_cast<int>(px / plane), oy = static_cast<int>(px / g.out_w % g.out_h);
    const int ox = static_cast<int>(px % g.out_w);
    const uint32_t base = sram + static_cast<uint32_t>(px - m0) * stride;
    if (ox == 0 && end - px >= g.out_w) {  // whole rows of one image
      const int h = static_cast<int>(std::min<int64_t>((end - px) / g.out_w, g.out_h - oy));
      gather.Rect(n, oy, h, 0, g.out_w, base);
      px += int64_t{h} * g.out_w;
    } else {
      const int xb = static_cast<int>(std::min<int64_t>(g.out_w, ox + (end - px)));
      gather.Rect(n, oy, 1, ox, xb, base);
      px += xb - ox;
    }
  }
}

}  // namespace tile32

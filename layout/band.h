// Where a band of convolution input sits in SRAM (docs/layout.md draws it): the placement that lets one
// TMAC (or EMAC) per kernel tap stream a whole band of output rows, for any stride and dilation.
//
// Phase planes. Stride (sh, sw) splits the zero-padded input into sh x sw planes: padded pixel (Y, X) goes
// to plane (Y mod sh, X mod sw) at plane row Y div sh, plane column X div sw. Output pixel (oy, ox) and
// kernel tap (ky, kx) read padded pixel (oy*sh + ky*dh, ox*sw + kx*dw), which is plane
// ((ky*dh) mod sh, (kx*dw) mod sw), row oy + (ky*dh) div sh, column ox + (kx*dw) div sw: in plane
// coordinates every convolution is a stride-1 walk. With plane rows `pitch` pixels apart, output pixel r =
// (oy - oy0)*pitch + ox of a band starting at output row oy0 reads, for tap (ky, kx),
//
//     TapAddress(ky, kx) + r * pixel_bytes
//
// a constant stride: one instruction covers the band's rows, pitch - out_w of them per output row junk
// (computed, never stored). pitch = out_w + (kx_max*dw) div sw, the fewest columns that keep every valid
// output's taps inside its own plane row.
//
// A pixel holds the band's channels (one group's slice for a grouped convolution) padded to a multiple of
// 32, so a TMAC over them reads whole tiles. Channel padding holds a value that adds exactly nothing
// (0 for integers, -0.0 for BF16 against weights of +0); pixels outside the image hold the padding value of
// the numeric contract (the activation zero point for INT8, 0 for INT16, +0.0 for BF16: kernels/conv.h).
//
// Banks (docs/isa.md §1.5): pixel_bytes is a multiple of 32 elements, so every pixel starts on a bank-word
// boundary and a TMAC row (32*tiles contiguous elements) or an EMAC row (32) touches consecutive words in
// consecutive banks: conflict-free for any stride between rows.
#pragma once

#include <cstdint>

namespace tile32 {

// The convolution geometry a band is cut from (validated by the operator's front end).
struct ConvGeometry {
  int height = 0, width = 0;       // input H, W
  int out_h = 0, out_w = 0;        // output
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;   // bottom and right padding follow from out_h, out_w
};

struct BandLayout {
  ConvGeometry g;
  int band_rows = 0;         // output rows of one band (the last band of an image may have fewer)
  int pitch = 0;             // pixels per plane row
  int plane_rows = 0;        // band_rows + (kernel_h-1)*dh div sh
  int extra_cols = 0;        // (kernel_w-1)*dw div sw: the slack past the last plane row
  int channels = 0;          // real channels per pixel
  uint32_t pixel_bytes = 0;  // channels padded to a multiple of 32, in bytes
  uint32_t plane_bytes = 0;  // (plane_rows * pitch + extra_cols) * pixel_bytes
  uint32_t base = 0;         // SRAM address of plane (0, 0); plane p = py*sw + px at base + p * plane_bytes

  // Rows one instruction streams per band: band_rows * pitch (junk columns included).
  uint32_t rows() const { return static_cast<uint32_t>(band_rows) * static_cast<uint32_t>(pitch); }
  // SRAM bytes of all planes.
  uint64_t bytes() const { return uint64_t(g.stride_h) * g.stride_w * plane_bytes; }
  // The SRAM address output pixel 0 of the band reads for tap (ky, kx).
  uint32_t TapAddress(int ky, int kx) const;
  // The plane and its row/column that hold padded pixel (Y, X) of a band starting at output row oy0; false
  // when the band does not hold that pixel.
  bool Locate(int oy0, int Y, int X, uint32_t* addr) const;
};

// The layout of bands of `band_rows` output rows of geometry g, at SRAM address `base`, for pixels of
// `channels` channels of `elem_bytes` bytes each (padded to 32 channels).
BandLayout MakeBandLayout(const ConvGeometry& g, int band_rows, int channels, int elem_bytes, uint32_t base);

}  // namespace tile32

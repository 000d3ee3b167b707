// Gathering convolution patches into SRAM rows by DMA, for folded direct convolution (kernels/conv_direct.cc):
// the row of output pixel (n, oy, ox) holds x_pad(oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, c) at column
// (ky * kernel_w + kx) * C/G + c, the reduction order BF16's fma chain needs. Internal to kernels/.
#pragma once

#include <cstdint>
#include <functional>

#include "accel/machine.h"
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
// The same DMAs handed to `issue` (the analytic model tallies their cost: kernels/analytic.h).
void GatherPatches(const std::function<void(const DmaIn&)>& issue, const PatchSource& s, int64_t m0, uint32_t rows,
                   int k0, int cols, uint32_t sram, uint32_t stride);

}  // namespace tile32

// Loading a band of NHWC input into SRAM in the placement of layout/band.h, with DMAs only: the padding
// around the image and the channel padding from a fill row, the pixels from DRAM. Internal to kernels/.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "accel/machine.h"
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
// The same DMAs handed to `issue` (the analytic model tallies their cost: kernels/analytic.h).
void LoadBand(const std::function<void(const DmaIn&)>& issue, const BandLayout& band, const BandSource& src, int n,
              int oy0, int part = 0, int parts = 1);

}  // namespace tile32

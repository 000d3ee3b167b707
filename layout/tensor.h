// Activation tensors in memory: NHWC, the layout tile32 kernels take, and the channel-blocked layout
// NCHW32c that matches the accelerator's 32-lane vectors.
//
// NHWC: element (n, h, w, c) at   ((n*H + h)*W + w) * pixel_stride + c            (elements)
//       pixel_stride >= C; the elements between C and pixel_stride of a pixel are not part of the tensor.
//
// NCHW32c: [batch][blocks][height][width][32], blocks = ceil(C/32). Channel c of pixel (n, h, w) is in
// block c/32 at lane c%32:
//       element (n, h, w, c) at   (((n*blocks + c/32)*H + h)*W + w) * 32 + c%32     (elements)
// Lanes C%32 .. 31 of the last block (when C is not a multiple of 32) are padding and hold zero bytes,
// so a 32-lane load of any block feeds exactly 0 to a MAC in the padded lanes.
//
// Conversions copy raw element bytes and work for every DType (1, 2 or 4 bytes); no value is converted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "accel/isa.h"

namespace tile32 {

// The largest tensor, in bytes (and in elements), that the layout functions accept: 2^40.
inline constexpr uint64_t kTensorByteLimit = uint64_t{1} << 40;

// The logical shape of an activation tensor; every field must be >= 1.
struct TensorShape {
  int batch = 0;
  int height = 0;
  int width = 0;
  int channels = 0;

  // The helpers below throw tile32::Error naming the field for a field < 1, and naming the shape when a
  // count exceeds kTensorByteLimit.
  size_t pixels() const;            // batch * height * width
  int64_t channel_blocks() const;   // ceil(channels / 32)
  int64_t blocked_channels() const; // 32 * channel_blocks(): channels including the padding lanes
  size_t nhwc_elements() const;     // pixels() * channels (dense, pixel_stride = channels)
  size_t blocked_elements() const;  // batch * channel_blocks() * height * width * 32 (padding included)
};

// "{batch 2, height 7, width 7, channels 33}", for messages.
std::string ToString(const TensorShape& shape);

// Bytes of the dense NHWC tensor (pixel_stride = channels) and of the NCHW32c tensor of `dtype`.
// Throw tile32::Error for a field < 1, a bad dtype, or a size beyond kTensorByteLimit (naming the shape).
size_t NhwcBytes(const TensorShape& shape, DType dtype);
size_t BlockedBytes(const TensorShape& shape, DType dtype);

// NHWC -> NCHW32c. `nhwc` holds the tensor with pixel_stride elements per pixel (0 means channels);
// `blocked` receives BlockedBytes(shape, dtype) bytes, every one of them written (padding lanes zero).
// Throws tile32::Error naming the argument, before writing anything, for a null pointer, a field of
// shape < 1, a bad dtype, pixel_stride < 0 or 0 < pixel_stride < channels, a size beyond
// kTensorByteLimit, or overlapping buffers: the source range is the span from the first to the last
// byte read, [nhwc, nhwc + ((pixels - 1) * pixel_stride + channels) * SizeOf(dtype)), the destination
// [blocked, blocked + BlockedBytes); they must be disjoint (a buffer lying in the gaps between strided
// pixels is refused too).
void NhwcToBlocked(const TensorShape& shape, DType dtype, const void* nhwc, int64_t pixel_stride,
                   void* blocked);

// NCHW32c -> NHWC. First verifies that every padding lane of `blocked` is zero bytes; if one is not,
// throws tile32::Error naming the first offending place in memory order as (n, block, h, w, lane), the
// byte within the element and its value, and writes nothing. Otherwise writes the `channels` elements of
// every pixel of `nhwc` (pixel_stride elements apart, 0 means channels) and leaves the bytes between
// channels and pixel_stride untouched. Argument errors as for NhwcToBlocked, also before any write.
void BlockedToNhwc(const TensorShape& shape, DType dtype, const void* blocked, void* nhwc,
                   int64_t pixel_stride);

}  // namespace tile32

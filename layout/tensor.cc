#include "layout/tensor.h"

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <sstream>

#include "accel/error.h"

namespace tile32 {
namespace {

// kTensorByteLimit, or less where size_t is narrower than 41 bits.
constexpr uint64_t kLimit = kTensorByteLimit < SIZE_MAX ? kTensorByteLimit : uint64_t{SIZE_MAX};

// The product of the factors in *out; false when it passes kLimit (or 64 bits) on the way.
bool ProductWithinLimit(std::initializer_list<uint64_t> factors, uint64_t* out) {
  uint64_t p = 1;
  for (uint64_t f : factors) {
    if (__builtin_mul_overflow(p, f, &p) || p > kLimit) return false;
  }
  *out = p;
  return true;
}

void CheckShape(const char* fn, const TensorShape& s) {
  if (s.batch < 1) Fail(fn, ": shape.batch = ", s.batch, " must be >= 1");
  if (s.height < 1) Fail(fn, ": shape.height = ", s.height, " must be >= 1");
  if (s.width < 1) Fail(fn, ": shape.width = ", s.width, " must be >= 1");
  if (s.channels < 1) Fail(fn, ": shape.channels = ", s.channels, " must be >= 1");
}

// SizeOf(t) for a valid DType; Fail naming the value otherwise.
size_t ElementBytes(const char* fn, DType t) {
  if (static_cast<unsigned>(t) > static_cast<unsigned>(DType::kF32)) {
    Fail(fn, ": dtype = ", static_cast<unsigned>(t), " is not a DType (0..5: i8, u8, i16, bf16, i32, f32)");
  }
  return static_cast<size_t>(SizeOf(t));
}

uint64_t Blocks(const TensorShape& s) { return (uint64_t(s.channels) + kLanes - 1) / kLanes; }

// Elements of the shape with `channels` per pixel; Fail naming the shape beyond the limit.
size_t CountElements(const char* fn, const TensorShape& s, uint64_t channels) {
  CheckShape(fn, s);
  uint64_t n = 0;
  if (!ProductWithinLimit({uint64_t(s.batch), uint64_t(s.height), uint64_t(s.width), channels}, &n)) {
    Fail(fn, ": shape ", ToString(s), " has more than 2^40 = ", kLimit, " elements (the limit)");
  }
  return static_cast<size_t>(n);
}

// Bytes of the shape with `channels` per pixel (padding lanes included); Fail naming the shape.
size_t CountBytes(const char* fn, const TensorShape& s, DType t, uint64_t channels, const char* layout) {
  const size_t es = ElementBytes(fn, t);
  uint64_t n = 0;
  if (!ProductWithinLimit({uint64_t(s.batch), uint64_t(s.height), uint64_t(s.width), channels, es}, &n)) {
    Fail(fn, ": shape ", ToString(s), " of ", NameOf(t), " in ", layout, " is more than 2^40 = ", kLimit,
         " bytes (the limit for one tensor)");
  }
  return static_cast<size_t>(n);
}

// Everything a conversion needs, validated.
struct Geometry {
  size_t es = 0;             // bytes per element
  size_t images = 0;         // batch
  size_t blocks = 0;         // ceil(C / 32)
  size_t plane = 0;          // height * width: pixels of one image
  size_t channels = 0;       // C
  size_t tail = 0;           // lanes of the last block holding channels, 1..32
  size_t stride_bytes = 0;   // pixel stride of the NHWC tensor, in bytes
  size_t nhwc_span = 0;      // bytes from the first to the last NHWC byte touched
  size_t blocked_bytes = 0;  // BlockedBytes
};

// [a, a + a_bytes) and [b, b + b_bytes) must be disjoint.
void CheckDisjoint(const char* fn, const char* a_name, const void* a, size_t a_bytes, const char* b_name,
                   const void* b, size_t b_bytes) {
  const uintptr_t a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
  uintptr_t a1 = 0, b1 = 0;
  if (__builtin_add_overflow(a0, a_bytes, &a1)) {
    Fail(fn, ": ", a_name, " = ", a, " + ", a_bytes, " bytes runs past the end of the address space");
  }
  if (__builtin_add_overflow(b0, b_bytes, &b1)) {
    Fail(fn, ": ", b_name, " = ", b, " + ", b_bytes, " bytes runs past the end of the address space");
  }
  if (a0 < b1 && b0 < a1) {
    Fail(fn, ": ", a_name, " [", a, ", +", a_bytes, " bytes) and ", b_name, " [", b, ", +", b_bytes,
         " bytes) overlap; source and destination must be disjoint");
  }
}

// Validates every argument of a conversion, in the order the messages are documented; writes nothing.
Geometry Validate(const char* fn, const TensorShape& s, DType t, const void* nhwc, const void* blocked,
                  int64_t pixel_stride) {
  if (nhwc == nullptr) Fail(fn, ": nhwc is null");
  if (blocked == nullptr) Fail(fn, ": blocked is null");
  Geometry g;
  g.es = ElementBytes(fn, t);
  CheckShape(fn, s);
  if (pixel_stride != 0 && pixel_stride < s.channels) {
    Fail(fn, ": pixel_stride = ", pixel_stride, " must be 0 (= channels) or >= channels = ", s.channels);
  }
  // The blocked tensor is at least as large as the dense NHWC one, so this covers both.
  g.blocked_bytes = CountBytes(fn, s, t, Blocks(s) * kLanes, "NCHW32c");
  g.images = size_t(s.batch);
  g.blocks = size_t(Blocks(s));
  g.plane = size_t(s.height) * size_t(s.width);
  g.channels = size_t(s.channels);
  g.tail = g.channels - (g.blocks - 1) * kLanes;
  const uint64_t stride = pixel_stride == 0 ? uint64_t(s.channels) : uint64_t(pixel_stride);
  // span = ((pixels - 1) * stride + channels) * es, checked.
  uint64_t span = 0;
  const uint64_t last_pixel = uint64_t(g.images) * g.plane - 1;
  if (!ProductWithinLimit({last_pixel, stride}, &span) || __builtin_add_overflow(span, g.channels, &span) ||
      !ProductWithinLimit({span, g.es}, &span)) {
    Fail(fn, ": pixel_stride = ", pixel_stride, " makes the nhwc tensor of shape ", ToString(s), " of ",
         NameOf(t), " span more than 2^40 = ", kLimit, " bytes (the limit for one tensor)");
  }
  g.nhwc_span = size_t(span);
  g.stride_bytes = size_t(stride) * g.es;
  return g;
}

// The byte offset in the blocked tensor of the 32 lanes of (image n, block b, pixel p of the image).
size_t BlockedOffset(const Geometry& g, size_t n, size_t b, size_t p) {
  return ((n * g.blocks + b) * g.plane + p) * kLanes * g.es;
}

// ES: bytes per element, a compile-time constant so that whole blocks copy with fixed-size memcpy.
template <size_t ES>
void CopyToBlocked(const Geometry& g, const uint8_t* src, uint8_t* dst) {
  constexpr size_t kBlock = kLanes * ES;
  for (size_t n = 0; n < g.images; ++n) {
    const uint8_t* image = src + n * g.plane * g.stride_bytes;
    for (size_t b = 0; b < g.blocks; ++b) {
      const uint8_t* s = image + b * kBlock;
      if (b + 1 < g.blocks || g.tail == kLanes) {
        for (size_t p = 0; p < g.plane; ++p, s += g.stride_bytes, dst += kBlock) std::memcpy(dst, s, kBlock);
      } else {
        const size_t used = g.tail * ES;
        for (size_t p = 0; p < g.plane; ++p, s += g.stride_bytes, dst += kBlock) {
          std::memcpy(dst, s, used);
          std::memset(dst + used, 0, kBlock - used);
        }
      }
    }
  }
}

template <size_t ES>
void CopyFromBlocked(const Geometry& g, const uint8_t* src, uint8_t* dst) {
  constexpr size_t kBlock = kLanes * ES;
  for (size_t n = 0; n < g.images; ++n) {
    uint8_t* image = dst + n * g.plane * g.stride_bytes;
    for (size_t b = 0; b < g.blocks; ++b) {
      uint8_t* d = image + b * kBlock;
      if (b + 1 < g.blocks || g.tail == kLanes) {
        for (size_t p = 0; p < g.plane; ++p, d += g.stride_bytes, src += kBlock) std::memcpy(d, src, kBlock);
      } else {
        const size_t used = g.tail * ES;
        for (size_t p = 0; p < g.plane; ++p, d += g.stride_bytes, src += kBlock) std::memcpy(d, src, used);
      }
    }
  }
}

// Fails naming the first nonzero padding byte of `blocked` in memory order; reads only.
void VerifyPadding(const char* fn, const TensorShape& s, const Geometry& g, const uint8_t* blocked) {
  if (g.tail == kLanes) return;  // channels is a multiple of 32: no padding
  const size_t block_bytes = kLanes * g.es, first = g.tail * g.es;
  const size_t b = g.blocks - 1;
  for (size_t n = 0; n < g.images; ++n) {
    for (size_t p = 0; p < g.plane; ++p) {
      const uint8_t* lanes = blocked + BlockedOffset(g, n, b, p);
      uint8_t any = 0;
      for (size_t i = first; i < block_bytes; ++i) any |= lanes[i];
      if (any == 0) continue;
      size_t i = first;
      while (lanes[i] == 0) ++i;
      std::ostringstream hex;
      hex << "0x" << std::hex << unsigned{lanes[i]};
      Fail(fn, ": blocked has a nonzero padding byte ", hex.str(), " at (n ", n, ", block ", b, ", h ",
           p / size_t(s.width), ", w ", p % size_t(s.width), ", lane ", i / g.es, "), byte ", i % g.es, " of the ",
           g.es, "-byte element; lanes ", g.tail, "..31 of block ", b, " are padding for channels = ",
           s.channels, " and must be zero bytes");
    }
  }
}

}  // namespace

size_t TensorShape::pixels() const {
  return CountElements("TensorShape::pixels", *this, 1);
}

int64_t TensorShape::channel_blocks() const {
  CheckShape("TensorShape::channel_blocks", *this);
  return static_cast<int64_t>(Blocks(*this));
}

int64_t TensorShape::blocked_channels() const {
  CheckShape("TensorShape::blocked_channels", *this);
  return static_cast<int64_t>(Blocks(*this) * kLanes);
}

size_t TensorShape::nhwc_elements() const {
  return CountElements("TensorShape::nhwc_elements", *this, uint64_t(channels));
}

size_t TensorShape::blocked_elements() const {
  return CountElements("TensorShape::blocked_elements", *this, Blocks(*this) * kLanes);
}

std::string ToString(const TensorShape& shape) {
  std::ostringstream os;
  os << "{batch " << shape.batch << ", height " << shape.height << ", width " << shape.width << ", channels "
     << shape.channels << "}";
  return os.str();
}

size_t NhwcBytes(const TensorShape& shape, DType dtype) {
  ElementBytes("NhwcBytes", dtype);
  CheckShape("NhwcBytes", shape);
  return CountBytes("NhwcBytes", shape, dtype, uint64_t(shape.channels), "NHWC");
}

size_t BlockedBytes(const TensorShape& shape, DType dtype) {
  ElementBytes("BlockedBytes", dtype);
  CheckShape("BlockedBytes", shape);
  return CountBytes("BlockedBytes", shape, dtype, Blocks(shape) * kLanes, "NCHW32c");
}

void NhwcToBlocked(const TensorShape& shape, DType dtype, const void* nhwc, int64_t pixel_stride,
                   void* blocked) {
  static constexpr char kFn[] = "NhwcToBlocked";
  const Geometry g = Validate(kFn, shape, dtype, nhwc, blocked, pixel_stride);
  CheckDisjoint(kFn, "nhwc", nhwc, g.nhwc_span, "blocked", blocked, g.blocked_bytes);
  const auto* src = static_cast<const uint8_t*>(nhwc);
  auto* dst = static_cast<uint8_t*>(blocked);
  if (g.channels == kLanes && g.stride_bytes == kLanes * g.es) {
    std::memcpy(dst, src, g.blocked_bytes);  // one block, no gaps: the two layouts are the same bytes
    return;
  }
  switch (g.es) {
    case 1: CopyToBlocked<1>(g, src, dst); break;
    case 2: CopyToBlocked<2>(g, src, dst); break;
    default: CopyToBlocked<4>(g, src, dst); break;
  }
}

void BlockedToNhwc(const TensorShape& shape, DType dtype, const void* blocked, void* nhwc,
                   int64_t pixel_stride) {
  static constexpr char kFn[] = "BlockedToNhwc";
  const Geometry g = Validate(kFn, shape, dtype, nhwc, blocked, pixel_stride);
  CheckDisjoint(kFn, "blocked", blocked, g.blocked_bytes, "nhwc", nhwc, g.nhwc_span);
  const auto* src = static_cast<const uint8_t*>(blocked);
  auto* dst = static_cast<uint8_t*>(nhwc);
  VerifyPadding(kFn, shape, g, src);  // before the first write
  if (g.channels == kLanes && g.stride_bytes == kLanes * g.es) {
    std::memcpy(dst, src, g.blocked_bytes);
    return;
  }
  switch (g.es) {
    case 1: CopyFromBlocked<1>(g, src, dst); break;
    case 2: CopyFromBlocked<2>(g, src, dst); break;
    default: CopyFromBlocked<4>(g, src, dst); break;
  }
}

}  // namespace tile32

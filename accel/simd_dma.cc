// The SIMD machine's DMA_IN and DMA_OUT (docs/isa.md §3.1): rows copied between DRAM segments and SRAM, split
// over the arena's threads by ForRows (accel/simd_rows.h); a DMA_OUT's single long row in pieces, and whole
// lines into a large destination past the caches (docs/simd_machine.md, beside the TMAC thread split).
#include "accel/simd_machine.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "accel/host_cpu.h"
#include "accel/simd_rows.h"

namespace tile32 {

namespace {
// n bytes, 1 <= n <= 512, with fixed-size copies the compiler inlines (a libc memcpy call cost more than
// copying a 32-byte output row, and 17 % of a stride-2 depthwise layer went to memcpy calls of one 144-byte
// pixel each): 32-byte pieces from 64 bytes on, else 16-byte ones, the last piece overlapping the one
// before, or for n < 16 two overlapping pieces of 8, 4 or 1 and 2 bytes. Source and destination never overlap (different memories).
inline void CopySmall(uint8_t* d, const uint8_t* s, uint64_t n) {
  if (n >= 64) {
    for (uint64_t o = 0; o + 32 < n; o += 32) std::memcpy(d + o, s + o, 32);
    std::memcpy(d + n - 32, s + n - 32, 32);
  } else if (n >= 16) {
    for (uint64_t o = 0; o + 16 < n; o += 16) std::memcpy(d + o, s + o, 16);
    std::memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(d, s, 8), std::memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(d, s, 4), std::memcpy(d + n - 4, s + n - 4, 4);
  } else {
    d[0] = s[0], d[n - 1] = s[n - 1];
    if (n == 3) d[1] = s[1];
  }
}

// Rows [r0, r1) of a DMA, in ascending order; rows that lie back to back on both sides are one memcpy.
// (Measured on a 3136x576 activation load: no faster than a row at a time, since the copy is bound by
// reading the activations from L3; kept because it is no slower and both directions share it.)
void CopyRows(uint8_t* dst, uint64_t dst_stride, const uint8_t* src, uint64_t src_stride, uint64_t row_bytes,
              uint32_t r0, uint32_t r1) {
  if (dst_stride == row_bytes && src_stride == row_bytes) {
    std::memcpy(dst + row_bytes * r0, src + row_bytes * r0, row_bytes * (r1 - r0));
    return;
  }
  // The row sizes kernels move most (a block's 32 outputs of 1, 2 or 4 bytes, a channel pad of 16) as one
  // fixed-size copy per row, a third of CopySmall's instructions per row.
  auto fixed = [&](auto n) {
    for (uint32_t r = r0; r < r1; ++r) std::memcpy(dst + dst_stride * r, src + src_stride * r, n);
  };
  switch (row_bytes) {
    case 16: return fixed(std::integral_constant<size_t, 16>());
    case 32: return fixed(std::integral_constant<size_t, 32>());
    case 64: return fixed(std::integral_constant<size_t, 64>());
    case 128: return fixed(std::integral_constant<size_t, 128>());
    default: break;
  }
  if (row_bytes <= 512) {
    for (uint32_t r = r0; r < r1; ++r) CopySmall(dst + dst_stride * r, src + src_stride * r, row_bytes);
    return;
  }
  for (uint32_t r = r0; r < r1; ++r) std::memcpy(dst + dst_stride * r, src + src_stride * r, row_bytes);
}

// A single row of a DMA_OUT (a kernel's dense output band): in pieces of 16 KiB over the arena's threads from
// kParallelBytes on, where ForRows, which splits rows, would copy it on one thread. A DMA_OUT comes after the
// compute whose parallel pieces kept the workers awake (a DMA_IN may not: see ForRows). ResNet-50 56x56x64 3x3
// direct on 2 threads, in one process: 3 % of it was this copy, on one thread.
void CopySpan(uint8_t* dst, const uint8_t* src, uint64_t bytes) {
  constexpr uint64_t kPiece = 16 << 10;
  if (bytes < kParallelBytes || !ArenaHasThreads()) return CopyRows(dst, bytes, src, bytes, bytes, 0, 1);
  const uint64_t pieces = (bytes + kPiece - 1) / kPiece;
  tbb::parallel_for(tbb::blocked_range<uint64_t>(0, pieces), [&](const tbb::blocked_range<uint64_t>& r) {
    const uint64_t lo = r.begin() * kPiece, hi = std::min(r.end() * kPiece, bytes);
    std::memcpy(dst + lo, src + lo, hi - lo);
  });
}

// A DMA_OUT whose rows are whole 64-byte lines is written with non-temporal stores where its lines would not
// be in the caches anyway: the lines go to memory without first being read for ownership, which cost half the
// write bandwidth. That is so for a destination of 1 MiB or more (1024^3 GEMM with int32 C, 4 MiB, rows of
// 128 bytes, one thread, best/median of 24 calls: 5874/6218 -> 5105/5392 us; 2 threads 3341/4186 ->
// 2993/3735), and for any destination once the bound segments together are larger than the host's L2, so
// that the program's own reads evict it before it is written again (3136x64x576 GEMM, int32 C of 784 KiB
// beside 1.8 MiB of A, L2 2 MiB: 288-306 -> 257-272 us on the AMX host, one thread). A smaller program's
// output stays in L2, where the next layer reads it (YOLOv3's 52x52 3x3 layer, 692 KiB of output beside
// 641 KiB, streamed: 2-5 % slower).
constexpr uint64_t kStreamBytes = 1 << 20;
bool StreamsLines(const DmaOut& i, const uint8_t* dst, uint64_t segment_bytes, uint64_t bound_bytes) {
#if defined(__SSE2__)
  static const uint64_t cached = std::max<uint64_t>(kStreamBytes, Host().l2_bytes);
  return (segment_bytes >= kStreamBytes || bound_bytes > cached) && i.row_bytes % 64 == 0 &&
         i.dram_stride % 64 == 0 && reinterpret_cast<uintptr_t>(dst) % 64 == 0;
#else
  (void)i, (void)dst, (void)segment_bytes, (void)bound_bytes;
  return false;
#endif
}

// Rows [r0, r1) of a DMA that StreamsLines accepts; fenced, so that the lines are in order with every later
// store of this thread (and with the end of its parallel piece).
void StreamRows(uint8_t* dst, uint64_t dst_stride, const uint8_t* src, uint64_t src_stride, uint64_t row_bytes,
                uint32_t r0, uint32_t r1) {
#if defined(__SSE2__)
  for (uint32_t r = r0; r < r1; ++r) {
    const __m128i* s = reinterpret_cast<const __m128i*>(src + src_stride * r);
    __m128i* d = reinterpret_cast<__m128i*>(dst + dst_stride * r);
    for (uint64_t k = 0; k < row_bytes / 16; k += 4) {  // a line at a time, loads before stores
      const __m128i a = _mm_loadu_si128(s + k), b = _mm_loadu_si128(s + k + 1);
      const __m128i c = _mm_loadu_si128(s + k + 2), e = _mm_loadu_si128(s + k + 3);
      _mm_stream_si128(d + k, a), _mm_stream_si128(d + k + 1, b);
      _mm_stream_si128(d + k + 2, c), _mm_stream_si128(d + k + 3, e);
    }
  }
  _mm_sfence();
#else
  CopyRows(dst, dst_stride, src, src_stride, row_bytes, r0, r1);
#endif
}

}  // namespace

bool SimdMachine::Holds(const DmaIn& i, uint64_t version) const {
  for (const HeldCopy& h : held_) {
    const DmaIn& d = h.dma;
    if (h.version == version && d.sram == i.sram && d.dram == i.dram && d.rows == i.rows &&
        d.row_bytes == i.row_bytes && d.dram_stride == i.dram_stride && d.sram_stride == i.sram_stride) {
      return true;
    }
  }
  return false;
}

void SimdMachine::Do(const DmaIn& i) {
  // The same version of the same bytes into the same SRAM bytes, untouched since: nothing changes (the tiles
  // reading them in place included). A GEMV's 1 MiB of weights, called again on one machine, is not copied.
  const uint64_t version = segment(i.segment).version;
  if (version != 0 && Holds(i, version)) {
    ++dma_ins_skipped_;
    return;
  }
  SettleWrites();  // (drops the held copies this DMA overwrites)
  const uint8_t* src = segment(i.segment).base + i.dram;
  uint8_t* dst = sram_at(i.sram);
  ForRows(i.rows, i.row_bytes, i.sram_stride, [&](uint32_t r0, uint32_t r1) {
    CopyRows(dst, i.sram_stride, src, i.dram_stride, i.row_bytes, r0, r1);
  });
  if (version != 0) {
    // A few at most are live (a kernel's weight windows: 16); the oldest go first.
    constexpr size_t kMostHeld = 64;
    if (held_.size() == kMostHeld) held_.erase(held_.begin());
    held_.push_back({version, i, SpanOf(i.sram, i.sram_stride, i.rows, i.row_bytes)});
  }
}

void SimdMachine::Do(const DmaOut& i) {
  uint8_t* dst = segment(i.segment).base + i.dram;
  const uint8_t* src = sram_at(i.sram);
  if (i.rows == 1) return CopySpan(dst, src, i.row_bytes);
  const int64_t dram_stride = static_cast<int64_t>(std::min<uint64_t>(i.dram_stride, INT64_MAX));
  if (StreamsLines(i, dst, segment(i.segment).bytes, dram_bound_bytes())) {
    return ForRows(i.rows, i.row_bytes, dram_stride, [&](uint32_t r0, uint32_t r1) {
      StreamRows(dst, i.dram_stride, src, i.sram_stride, i.row_bytes, r0, r1);
    });
  }
  ForRows(i.rows, i.row_bytes, dram_stride, [&](uint32_t r0, uint32_t r1) {
    CopyRows(dst, i.dram_stride, src, i.sram_stride, i.row_bytes, r0, r1);
  });
}

}  // namespace tile32

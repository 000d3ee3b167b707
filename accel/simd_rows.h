// The SIMD machine's row kernels beside TMAC (internal to accel/: simd_machine.cc calls these), each
// dispatching to the best compiled Highway target like the rest of the SIMD machine.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>

#include "accel/isa.h"
#include "accel/simd_machine.h"

namespace tile32 {

// Runs rows(begin, end) over [0, rows) on the calling arena's threads when the rows move at least
// kParallelBytes and write disjoint destinations (|dst_stride| >= row_bytes: then no order can show);
// else in one call, in ascending order, as the scalar machine does. Many-row copies come between TMACs
// of the same kernel, which keep the arena's workers awake; a single row (a whole weight matrix, say) is
// never split: a worker asleep since the last parallel instruction took longer to wake than the copy of
// 1 MiB of GEMV weights. The rows are dealt out in equal parts, the same part to the same thread call after
// call (static_partitioner, as FlushEmacs does): a band's DMA_IN, its EMACs and their REQ then mostly touch
// rows in the cache of the thread that runs them. Measured in one process on the Ice Lake host, medians of
// 40-64 calls on 2 threads: depthwise 112x112x32 175 -> 150 us, 56x56x144 241 -> 218, 28x28x192 74 -> 65,
// ResNet-50 14x14x256 3x3 direct 648 -> 586; no layer slower beyond the host's noise.
inline constexpr uint64_t kParallelBytes = 64 << 10;
// (A parallel_for in a one-thread arena cost up to 25 us per piece here, so one thread never splits.)
inline bool ArenaHasThreads() { return tbb::this_task_arena::max_concurrency() > 1; }

// `work_bytes` per row measures the work when it is not the bytes written (a REQ reads 128-byte ACC rows and
// computes on them: 2048 rows of u8 outputs took 8 us on one thread and were never split by their 32 bytes).
template <typename F>
void ForRows(uint32_t rows, uint64_t row_bytes, int64_t dst_stride, const F& body, uint64_t work_bytes = 0) {
  const uint64_t stride = static_cast<uint64_t>(dst_stride < 0 ? -dst_stride : dst_stride);
  const uint64_t work = std::max(row_bytes, work_bytes);
  if (rows < 2 || uint64_t{rows} * work < kParallelBytes || stride < row_bytes || !ArenaHasThreads()) {
    return body(0u, rows);
  }
  const uint32_t grain = static_cast<uint32_t>(std::max<uint64_t>(1, (16 << 10) / std::max<uint64_t>(work, 1)));
  tbb::parallel_for(
      tbb::blocked_range<uint32_t>(0, rows, grain),
      [&](const tbb::blocked_range<uint32_t>& r) { body(r.begin(), r.end()); }, tbb::static_partitioner());
}


// accel/simd_emac.cc: rows [r0, r1) of a batch of `count` EMACs of `mode` on the same ACC rows (acc = the
// row of row 0), with the batch's seed and REQ (`tail`) fused in.
void RunEmacBatch(MacMode mode, const uint8_t* sram, const EmacItem* items, int count, uint32_t r0, uint32_t r1,
                  uint32_t* acc, const EmacTail& tail);

// accel/simd_requant.cc: `rows` ACC rows from `acc` requantized by q into `out` elements at
// sram + addr + r * row_stride.
void RunRequantRows(const QuantConfig& q, const uint32_t* acc, uint32_t rows, DType out, uint8_t* sram, int64_t addr,
                    int64_t row_stride);

}  // namespace tile32

// The SIMD machine's row kernels beside TMAC (internal to accel/: simd_machine.cc calls these), each
// dispatching to the best compiled Highway target like the rest of the SIMD machine.
#pragma once

#include <cstdint>

#include "accel/isa.h"
#include "accel/simd_machine.h"

namespace tile32 {

// accel/simd_emac.cc: rows [r0, r1) of a batch of `count` EMACs of `mode` on the same ACC rows (acc = the
// row of row 0), with the batch's seed and REQ (`tail`) fused in.
void RunEmacBatch(MacMode mode, const uint8_t* sram, const EmacItem* items, int count, uint32_t r0, uint32_t r1,
                  uint32_t* acc, const EmacTail& tail);

// accel/simd_requant.cc: `rows` ACC rows from `acc` requantized by q into `out` elements at
// sram + addr + r * row_stride.
void RunRequantRows(const QuantConfig& q, const uint32_t* acc, uint32_t rows, DType out, uint8_t* sram, int64_t addr,
                    int64_t row_stride);

}  // namespace tile32

// The SIMD machine's TMAC and the tile layouts it reads (internal to accel/: simd_machine.cc calls these).
// Each function dispatches to the best compiled Highway target, like the rest of the SIMD machine.
#pragma once

#include <cstdint>

#include "accel/simd_machine.h"

namespace tile32 {

// Work fused after a TMAC's last pass over each chunk of rows, on the thread that computed them (the SIMD
// machine defers a TMAC by one instruction so that a REQ or ACC_ST of exactly its rows can join it):
// with quant, REQ of the rows into `out` elements; with store, ACC_ST of their raw 32-bit words; row r at
// sram + addr + r * stride.
struct TmacTail {
  const QuantConfig* quant = nullptr;
  DType out = DType::kI8;
  bool store = false;
  uint8_t* sram = nullptr;
  int64_t addr = 0, stride = 0;
};

// Arguments of one vectorized TMAC over a range of rows.
struct TmacJob {
  const uint8_t* sram;
  int64_t a_addr, a_stride;
  uint32_t row_begin, row_end;
  const PreparedTile* tiles;
  int ntiles;
  MacMode mode;
  uint32_t* acc;  // ACC row of row 0 of the instruction
  bool narrow;    // int8: every tile is PreparedTile::narrow
  bool f32;       // bf16: the tiles' fp32 layout is built (else the weights are widened from the image)
  bool direct;    // int8: few rows, read against the tile image as it is (no layout, any weights)
  bool s8_row_sums;  // s8 x s8, few rows, VNNI: weights made u8, 128 * each row's activation sum subtracted
  // s8 activations made u8 (+128) on the quad paths: the sum of the tiles' comp128, per column (set by
  // TmacRows for each pass of tiles, so that a block of rows subtracts it with one load per vector).
  const int32_t* comp = nullptr;
  // When set, the instruction's ACC rows start as this row (a deferred broadcast ACC_LD or ACC_ZERO of exactly
  // them): each chunk of rows is seeded just before its first pass, by the thread that runs it, in L1.
  const uint32_t* seed = nullptr;
  TmacTail tail = {};
};

// TMAC over rows [job.row_begin, job.row_end), on the calling thread.
void RunTmacRows(const TmacJob& job);

// The tail of rows [r0, r1) whose ACC is final (acc: the ACC row of the instruction's row 0).
void RunTmacTail(const TmacTail& tail, const uint32_t* acc, uint32_t r0, uint32_t r1);

// Before a TMAC on job->tiles (job->tiles[0 .. ntiles) are `tiles`), on the calling thread: builds what
// this target's TMAC reads of the tiles and sets job->narrow and job->f32.
void PrepareTmac(PreparedTile* tiles, TmacJob* job);

}  // namespace tile32

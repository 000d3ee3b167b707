// The SIMD machine's TMAC and the tile layouts it reads (internal to accel/: simd_machine.cc calls these).
// Each function dispatches to the best compiled Highway target, like the rest of the SIMD machine.
#pragma once

#include <cstdint>

#include "accel/simd_machine.h"

namespace tile32 {

// Arguments of one vectorized TMAC over a range of rows.
struct TmacJob {
  const uint8_t* sram;
  int64_t a_addr, a_stride;
  uint32_t row_begin, row_end;
  const PreparedTile* tiles;
  int ntiles;
  MacMode mode;
  uint32_t* acc;  // ACC row of row 0 of the instruction
  bool narrow;    // every tile is PreparedTile::narrow
};

// TMAC over rows [job.row_begin, job.row_end), on the calling thread.
void RunTmacRows(const TmacJob& job);

// At TLD, after `p->image` is filled: the layouts and flags every TMAC on the tile needs.
void PrepareTileAtLoad(DType type, PreparedTile* p);

// Before a TMAC, on the calling thread: whatever this target's TMAC still needs of the tiles.
void PrepareTilesForTmac(PreparedTile* tiles, int ntiles, MacMode mode, bool narrow);

}  // namespace tile32

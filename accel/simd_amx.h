// The SIMD machine's AMX path for INT8 TMAC (internal to accel/: simd_machine.cc calls these). TDPBUSD (u8 x s8)
// and TDPBSSD (s8 x s8) add their products into int32 with wrap, inside one instruction too, so any
// grouping of a TMAC's products gives the ISA's bits (docs/simd_machine.md, "AMX").
#pragma once

#include <cstdint>
#include <vector>

#include "accel/simd_machine.h"
#include "accel/simd_tmac.h"

namespace tile32 {

// The engine the current path (ForceTmacPath) gives a TMAC now; kNone on the Highway path.
AmxEngine CurrentAmxEngine();

// Called by ForceSimdTarget: with a target forced, kAuto leaves TMAC to that target's own path.
void NoteSimdTargetForced(bool forced);

// The TMAC of `job` (rows [0, job.row_end), prepared by PrepareTmac for the rows AMX does not take): rows
// [0, amx_rows) on `engine`, split across the calling arena's threads when `parallel`, the rest by
// RunTmacRows. `staging` holds weights that must be copied (the machine's own, reused across TMACs).
void RunTmacAmx(const TmacJob& job, uint32_t amx_rows, AmxEngine engine, bool parallel,
                std::vector<AmxPairBlock>* staging);

}  // namespace tile32

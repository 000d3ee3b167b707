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

// A TMAC, or a chain of TMACs on the same ACC rows (jobs[0] .. jobs[n-1] in issue order, one mode, each
// prepared by PrepareTmac), with `tail` after the last: rows [0, amx_rows) on `engine`, every TMAC of the
// chain on a group of rows before the next group, split across the calling arena's threads when `parallel`;
// the rest by RunTmacRows. jobs[0].seed, when set, is where the rows start. `staging` holds weights that must
// be copied (the machine's own, reused across TMACs).
void RunTmacAmx(const TmacJob* const* jobs, size_t n, const TmacTail& tail, uint32_t amx_rows, AmxEngine engine,
                bool parallel, std::vector<AmxPairBlock>* staging);

}  // namespace tile32

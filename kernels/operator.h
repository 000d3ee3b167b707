// What every tile32 operator shares. Each operator has one shape:
//
//     Desc  --Pack once-->  Packed  --Op(Machine&, const Packed&, const Args&)-->  outputs
//
// front end (kernels/<op>.cc: validate the desc, pack weights; validate the args), middle end
// (kernels/middle_end.h: SRAM plan, the operator's loop, the epilogue), back end (the Machine). Templates and
// host pointers stop at the front end; the middle end speaks only instructions. The operators are listed
// once, in kernels/operators.inc, which the tests, the benchmarks and `tile32 demo` expand.
//
// This header holds the front end's shared tools: the thread arena an operator runs in, the DRAM segments
// it binds, and the checks on host buffers (overlap, size).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "accel/machine.h"
#include "layout/tile_pack.h"

namespace tile32 {

// The thread count an operator uses for `requested`: requested itself if > 0; 0 = TILE32_NUM_THREADS if
// set (a decimal integer in [1, 65536], else an error naming it), else every core oneTBB offers.
int OperatorThreads(const char* fn, int requested);

// Runs fn inside the calling thread's oneTBB arena of `threads` slots (one arena per calling thread and
// count, kept: creating one per call would cost a thread wake-up on every small operator). The SIMD
// machine splits an instruction's rows across the arena's threads; the instruction stream itself comes
// from the calling thread, so results do not depend on the thread count.
void RunInArena(int threads, const std::function<void()>& fn);

// DRAM segments an operator binds for one call: taken from the segments that are unbound when the call
// starts (never one the caller has bound), unbound again when the call ends, also by an exception.
class DramBindings {
 public:
  DramBindings(Machine& machine, const char* fn) : machine_(machine), fn_(fn) {}
  ~DramBindings();
  DramBindings(const DramBindings&) = delete;
  DramBindings& operator=(const DramBindings&) = delete;

  uint32_t BindReadOnly(const void* base, uint64_t bytes, uint64_t version = 0);  // Machine::BindDramReadOnly
  uint32_t BindReadOnly(const ImageBytes& images);  // with their version (Machine::BindDramReadOnly)
  uint32_t Bind(void* base, uint64_t bytes);

 private:
  uint32_t Free();
  Machine& machine_;
  const char* fn_;
  std::vector<uint32_t> bound_;
};

// The weight-side arguments every operator with weights checks alike. INT8 modes: zero points null (all 0),
// or 1 (per tensor) or `channels` (per output channel) entries in w_type's range; other modes: none. The
// bias: int32 for the integer modes, fp32 for BF16. Fields are named after `field` ("desc.b", "desc.w"):
// "desc.w_zero_points[3] = 300 is outside [-128, 127] of i8", "desc.bias_f32 is set for i8 weights".
void CheckWeightZeroPointsAndBias(const char* fn, const char* field, MacMode mode, DType w_type,
                                  const int32_t* zero_points, int count, int channels, const char* channels_name,
                                  const int32_t* bias, const float* bias_f32);

// A host buffer an operator reads or writes: [base, base + bytes).
struct HostRange {
  const char* name;  // the argument's name in error messages ("y", "args.c")
  const void* base;
  uint64_t bytes;
};

// Throws tile32::Error naming fn and both arguments if `out` overlaps any of `ins` (an output that aliases
// an input would be read after it was partly overwritten: refused rather than computed wrong).
void CheckNoOverlap(const char* fn, const HostRange& out, std::initializer_list<HostRange> ins);

// Bytes of `count` items of `size` bytes, or a tile32::Error naming fn and `what` when that exceeds
// kMaxHostBytes: checked before anything is allocated, so an absurd shape fails at once with tile32's
// message instead of std::bad_alloc after seconds.
inline constexpr uint64_t kMaxHostBytes = uint64_t{1} << 34;  // 16 GiB
uint64_t CheckedBytes(const char* fn, const char* what, uint64_t count, uint64_t size);

// (rows - 1) * stride + width elements of `size` bytes: the extent of a strided host matrix, or a
// tile32::Error naming fn and `what` (the stride argument's name) when it does not fit in int64.
uint64_t StridedBytes(const char* fn, const char* what, int64_t rows, int64_t stride, int64_t width, int size);

}  // namespace tile32

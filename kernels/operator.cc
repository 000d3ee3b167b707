#include "kernels/operator.h"

#include <tbb/info.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>

#include "accel/error.h"

namespace tile32 {
namespace {

constexpr int kMaxThreads = 1 << 16;

}  // namespace

int OperatorThreads(const char* fn, int requested) {
  if (requested > kMaxThreads || requested < 0) {
    Fail(fn, ": threads = ", requested, " is outside [0, ", kMaxThreads,
         "] (0: TILE32_NUM_THREADS if set, else every core)");
  }
  if (requested > 0) return requested;
  if (const char* env = std::getenv("TILE32_NUM_THREADS")) {
    // Strictly a decimal integer in [1, kMaxThreads]: no sign, no spaces, no suffix.
    int64_t v = 0;
    bool ok = *env != '\0';
    for (const char* p = env; ok && *p != '\0'; ++p) {
      ok = *p >= '0' && *p <= '9' && (v = v * 10 + (*p - '0')) <= kMaxThreads;
    }
    if (!ok || v < 1) {
      Fail("TILE32_NUM_THREADS = '", env, "' is not a thread count: expected an integer in [1, ", kMaxThreads, "]");
    }
    return static_cast<int>(v);
  }
  return std::max(1, tbb::info::default_concurrency());
}

void RunInArena(int threads, const std::function<void()>& fn) {
  thread_local std::map<int, std::unique_ptr<tbb::task_arena>> arenas;
  auto& arena = arenas[threads];
  if (arena == nullptr) arena = std::make_unique<tbb::task_arena>(threads);
  arena->execute(fn);
}

DramBindings::~DramBindings() {
  for (uint32_t s : bound_) machine_.UnbindDram(s);
}

uint32_t DramBindings::Free() {
  // From the top down, so that a caller who binds from segment 0 up meets the operator's segments last.
  for (uint32_t s = kMaxDramSegments; s-- > 0;) {
    if (!machine_.dram_bound(s)) return s;
  }
  Fail(fn_, ": needs ", bound_.size() + 1, " DRAM segments but only ", bound_.size(), " of ", kMaxDramSegments,
       " were free (the caller has bound the others; unbind some with Machine::UnbindDram)");
}

uint32_t DramBindings::BindReadOnly(const void* base, uint64_t bytes, uint64_t version) {
  const uint32_t s = Free();
  machine_.BindDramReadOnly(s, base, bytes, version);
  bound_.push_back(s);
  return s;
}

uint32_t DramBindings::BindReadOnly(const ImageBytes& images) {
  return BindReadOnly(images.data(), images.size(), images.version());
}

uint32_t DramBindings::Bind(void* base, uint64_t bytes) {
  const uint32_t s = Free();
  machine_.BindDram(s, base, bytes);
  bound_.push_back(s);
  return s;
}

void CheckWeightZeroPointsAndBias(const char* fn, const char* w, MacMode mode, DType w_type, const int32_t* zps,
                                  int count, int channels, const char* channels_name, const int32_t* bias,
                                  const float* bias_f32) {
  if (IsInt8(ActivationType(mode))) {
    if (zps != nullptr) {
      if (count != 1 && count != channels) {
        Fail(fn, ": ", w, "_zero_point_count = ", count, " must be 1 (per tensor) or ", channels_name, " = ", channels,
             " (per output channel)");
      }
      const ValueRange r = RangeOf(w_type);
      for (int i = 0; i < count; ++i) {
        if (!r.Contains(zps[i])) {
          Fail(fn, ": ", w, "_zero_points[", i, "] = ", zps[i], " is outside [", r.lo, ", ", r.hi, "] of ", NameOf(w_type));
        }
      }
    } else if (count != 0) {
      Fail(fn, ": ", w, "_zero_point_count = ", count, " but ", w, "_zero_points is null");
    }
  } else if (zps != nullptr || count != 0) {
    Fail(fn, ": ", w, "_zero_points must be null: zero points are INT8 only, not ", NameOf(mode));
  }
  if (mode == MacMode::kBF16) {
    if (bias != nullptr) Fail(fn, ": desc.bias (int32) is set for bf16 weights; use desc.bias_f32");
  } else if (bias_f32 != nullptr) {
    Fail(fn, ": desc.bias_f32 is set for ", NameOf(w_type), " weights; use desc.bias (int32)");
  }
}

void CheckNoOverlap(const char* fn, const HostRange& out, std::initializer_list<HostRange> ins) {
  const auto lo = reinterpret_cast<uintptr_t>(out.base);
  for (const HostRange& in : ins) {
    if (in.base == nullptr || in.bytes == 0 || out.bytes == 0) continue;
    const auto in_lo = reinterpret_cast<uintptr_t>(in.base);
    if (lo < in_lo + in.bytes && in_lo < lo + out.bytes) {
      Fail(fn, ": ", out.name, " [", out.base, ", +", out.bytes, " bytes) overlaps ", in.name, " [", in.base, ", +",
           in.bytes, " bytes); the output must not alias an input");
    }
  }
}

uint64_t CheckedBytes(const char* fn, const char* what, uint64_t count, uint64_t size) {
  const unsigned __int128 bytes = static_cast<unsigned __int128>(count) * size;
  if (bytes > kMaxHostBytes) {
    Fail(fn, ": ", what, " would need ", static_cast<double>(bytes), " bytes, more than the limit of ", kMaxHostBytes,
         " (16 GiB)");
  }
  return static_cast<uint64_t>(bytes);
}

uint64_t StridedBytes(const char* fn, const char* what, int64_t rows, int64_t stride, int64_t width, int size) {
  const unsigned __int128 e =
      (static_cast<unsigned __int128>(rows - 1) * static_cast<uint64_t>(stride) + static_cast<uint64_t>(width)) *
      static_cast<unsigned>(size);
  if (e > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max())) {
    Fail(fn, ": ", what, " = ", stride, " is too large: ", rows, " rows of that stride exceed the address space");
  }
  return static_cast<uint64_t>(e);
}

}  // namespace tile32

// TILE32_BENCH_PROFILE=1 in the environment: tile32 benchmarks also report the share of host time per
// instruction kind (counters "%TMAC", "%DMA_OUT", ...: 1 % or more), from Machine::set_host_timing. It
// times every instruction (two clock reads each), which costs about a third of a small GEMV: profile with
// it, measure speed without it. Shared by gemm_bench.cc and conv_bench.cc.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>

#include "accel/cost.h"
#include "accel/isa.h"

namespace tile32::bench {

inline bool ProfileRequested() {
  const char* v = std::getenv("TILE32_BENCH_PROFILE");
  return v != nullptr && std::strcmp(v, "") != 0 && std::strcmp(v, "0") != 0;
}

inline void ReportProfile(benchmark::State& state, const Counters& counters) {
  double total = 0;
  for (double t : counters.host_seconds) total += t;
  if (total <= 0) return;
  for (size_t op = 0; op < std::size(counters.host_seconds); ++op) {
    const double share = 100 * counters.host_seconds[op] / total;
    if (share >= 1) state.counters[std::string("%") + MnemonicOf(op)] = share;
  }
}

// The share (%) of host time spent in instructions of kinds other than `excluded` (Instr indices), or -1
// when nothing was timed.
template <size_t N>
double ShareOutside(const Counters& counters, const size_t (&excluded)[N]) {
  double total = 0, outside = 0;
  for (size_t op = 0; op < std::size(counters.host_seconds); ++op) {
    total += counters.host_seconds[op];
    bool counted = true;
    for (size_t e : excluded) counted = counted && e != op;
    if (counted) outside += counters.host_seconds[op];
  }
  return total > 0 ? 100 * outside / total : -1;
}

}  // namespace tile32::bench

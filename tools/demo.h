// `tile32 demo`: one layer of each operator of kernels/operators.inc, run on the scalar reference machine
// and on the SIMD machine, timed, and compared byte for byte.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "accel/machine.h"

namespace tile32::demo {

struct DemoCase {
  std::string what;     // "conv direct u8 x i8 -> u8, 28x28x64 -> 64, 3x3 pad 1"
  double work = 0;      // multiply-accumulates, or bytes moved for data movement
  bool bytes = false;   // work counts bytes (GB/s) instead of MACs (GMAC/s)
  std::function<std::vector<uint8_t>(Machine&)> run;  // the output bytes of one call
};

#define TILE32_OPERATOR(name, kind, what) DemoCase Demo##name();
#include "kernels/operators.inc"
#undef TILE32_OPERATOR

// Runs every operator's case; returns false if a SIMD output differs from the reference machine's.
bool RunDemo();

}  // namespace tile32::demo

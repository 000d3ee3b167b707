// Registers the benchmarks of every operator of kernels/operators.inc, in the list's order: each operator's
// Register<Name>Benchmarks is defined by its bench file (gemm_bench.cc, conv_bench.cc), so an operator
// without benchmarks fails to link.
#include <benchmark/benchmark.h>

namespace tile32::bench {

#define TILE32_OPERATOR(name, kind, what) void Register##name##Benchmarks();
#include "kernels/operators.inc"
#undef TILE32_OPERATOR

namespace {

const int registered = [] {
#define TILE32_OPERATOR(name, kind, what) Register##name##Benchmarks();
#include "kernels/operators.inc"
#undef TILE32_OPERATOR
  return 0;
}();

}  // namespace
}  // namespace tile32::bench

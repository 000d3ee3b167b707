// Microbenchmarks of the SIMD machine's TMAC per MAC mode, the instruction that bounds every GEMM and
// convolution: rows x (32*tiles) x 32 MACs, weight-stationary. Reports GMACs (1e9 MAC/s over all threads).
// Names: tmac/<machine>/<mode>/rows:<r>/tiles:<t>/threads:<n>, run in an arena of n threads (a TMAC of
// enough rows splits over them, as in a GEMM's arena; bench/compare.py divides by the peak/ of the same n).
// Weights are 48..63 (int8 modes: 7-bit, the SIMD machine's pmaddubsw path on AVX2/AVX3);
// tmac/simd/<mode>-w8/... runs int8 weights over the full range -128..127 (the pmaddwd path on AVX2/AVX3;
// VNNI alike either way).
#include <benchmark/benchmark.h>
#include <tbb/task_arena.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "accel/simd_machine.h"

namespace tile32 {
namespace {

template <class M>
void BM_Tmac(benchmark::State& state, MacMode mode, bool full_range_weights) {
  const auto rows = static_cast<uint32_t>(state.range(0));
  const auto tiles = static_cast<uint8_t>(state.range(1));
  // Without an arena of its own the TMAC took every thread of the process's default arena.
  tbb::task_arena arena(static_cast<int>(state.range(2)));
  AccelConfig config;
  config.acc_rows = std::max<uint32_t>(config.acc_rows, rows);
  auto m = std::make_unique<M>(config);
  std::mt19937 rng(1);
  // Normal-range data: bf16 denormals would make fp32 FMA ~240x slower on some CPUs.
  for (auto& b : m->sram()) b = static_cast<uint8_t>(0x30 + rng() % 16);
  const DType wt = WeightType(mode);
  const uint32_t tile_bytes = kLanes * kLanes * SizeOf(wt);
  if (full_range_weights) {
    for (uint32_t i = 0; i < 16 * tile_bytes; ++i) m->sram()[i] = static_cast<uint8_t>(rng());
  }
  for (int t = 0; t < tiles; ++t) m->Execute(TileLoad{static_cast<uint8_t>(t), wt, t * tile_bytes});
  const uint32_t a_addr = 16 * tile_bytes;
  const int32_t a_stride = kLanes * tiles * SizeOf(ActivationType(mode));
  m->Execute(AccZero{0, rows});
  arena.execute([&] {
    for (auto _ : state) {
      m->Execute(TileMac{mode, 0, rows, a_addr, a_stride, 0, tiles});
      benchmark::ClobberMemory();
    }
  });
  const double macs = static_cast<double>(rows) * tiles * kLanes * kLanes;
  state.counters["GMACs"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(M(AccelConfig{}).name() + std::string("/") + ListSimdTargets().dispatched.name);
}

void Register() {
  for (MacMode mode : {MacMode::kU8S8, MacMode::kS8S8, MacMode::kS16S16, MacMode::kBF16}) {
    const std::string m = NameOf(mode);
    benchmark::RegisterBenchmark(("tmac/simd/" + m).c_str(), BM_Tmac<SimdMachine>, mode, false)
        ->ArgNames({"rows", "tiles", "threads"})
        ->Args({1, 16, 1})
        ->Args({256, 16, 1})
        ->Args({2048, 16, 1})
        ->Args({2048, 1, 1})
        ->Args({2048, 16, 2})
        ->UseRealTime();
    if (mode == MacMode::kU8S8 || mode == MacMode::kS8S8) {
      benchmark::RegisterBenchmark(("tmac/simd/" + m + "-w8").c_str(), BM_Tmac<SimdMachine>, mode, true)
          ->ArgNames({"rows", "tiles", "threads"})
          ->Args({1, 16, 1})
          ->Args({2048, 16, 1})
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark(("tmac/scalar/" + m).c_str(), BM_Tmac<ScalarMachine>, mode, false)
        ->ArgNames({"rows", "tiles", "threads"})
        ->Args({64, 1, 1})
        ->UseRealTime();
  }
}

const int registered = (Register(), 0);

}  // namespace
}  // namespace tile32

// TILE32_BENCH_TARGET=AVX2 (a Highway target name, as `tile32 targets` lists them) runs the SIMD machine on
// that target instead of the best one: the figures of an AVX2 host's paths on a host with AVX-512. The labels
// name the target run; oneDNN's own dispatch is limited with ONEDNN_MAX_CPU_ISA (bench/README.md).
int main(int argc, char** argv) {
  if (const char* want = std::getenv("TILE32_BENCH_TARGET"); want != nullptr && *want != '\0') {
    int64_t chosen = 0;
    std::string names;
    for (const tile32::SimdTarget& t : tile32::ListSimdTargets().supported) {
      names += (names.empty() ? "" : ", ") + t.name;
      if (t.name == want) chosen = t.bits;
    }
    if (chosen == 0) {
      std::fprintf(stderr, "tile32_bench: TILE32_BENCH_TARGET = '%s' is not a target compiled in and supported here (%s)\n",
                   want, names.c_str());
      return 2;
    }
    tile32::ForceSimdTarget(chosen);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// The tile32 command-line tool:
//   tile32 --help | -h | help    usage
//   tile32 targets               SIMD targets (compiled, supported, dispatched) and the accelerator config
//   tile32 demo                  an INT8 GEMM and a 3x3 INT8 convolution on the scalar and the SIMD
//                                machine: time, GMAC/s, and whether the two agree bit for bit
// Exit status: 0 success, 1 a failed check (demo not bit-exact) or error, 2 bad usage.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "accel/config.h"
#include "accel/error.h"
#include "accel/machine.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "kernels/gemm.h"

namespace tile32 {
namespace {

constexpr int kUsageError = 2;

void PrintUsage(std::FILE* out) {
  std::fprintf(out,
               "usage: tile32 <command>\n"
               "\n"
               "commands:\n"
               "  help, -h, --help   show this help\n"
               "  targets            list the SIMD targets compiled into this binary, those this CPU\n"
               "                     supports and the one dynamic dispatch picks; show the accelerator\n"
               "                     configuration\n"
               "  demo               run an INT8 GEMM (256x256x256, u8 x s8 -> u8, TFL_DOUBLE) and a 3x3 INT8\n"
               "                     convolution (28x28x64 -> 64, stride 1, pad 1) on the scalar reference\n"
               "                     machine and the SIMD machine; print time and GMAC/s of each and\n"
               "                     whether the two outputs are bit-identical (exit 1 if not)\n");
}

std::string Names(const std::vector<SimdTarget>& targets) {
  std::string s;
  for (const SimdTarget& t : targets) s += (s.empty() ? "" : " ") + t.name;
  return s.empty() ? "(none)" : s;
}

int Targets() {
  const SimdTargets t = ListSimdTargets();
  std::printf("SIMD targets (Highway dynamic dispatch)\n");
  std::printf("  compiled:   %s\n", Names(t.compiled).c_str());
  std::printf("  supported:  %s\n", Names(t.supported).c_str());
  std::printf("  dispatched: %s\n", t.dispatched.name.empty() ? "(none)" : t.dispatched.name.c_str());
  std::printf("\nAccelerator configuration (AccelConfig::Default())\n%s", AccelConfig::Default().Describe().c_str());
  return 0;
}

// ---- demo ----

struct Timed {
  double seconds = 0;
  std::vector<uint8_t> output;
};

// Runs `kernel` on a fresh machine of each kind; returns wall time and the output bytes.
template <typename MachineT>
Timed RunOn(const std::function<std::vector<uint8_t>(Machine&)>& kernel) {
  // Outside the timing: allocating 8 MiB of SRAM and first-touching pages and dispatch tables is no
  // kernel work, so one untimed run warms up before the timed one.
  MachineT machine(AccelConfig::Default());
  kernel(machine);
  Timed t;
  const auto start = std::chrono::steady_clock::now();
  t.output = kernel(machine);
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t;
}

// Prints one demo workload; returns true if the two machines agree bit for bit.
bool Compare(const char* what, const char* shape, double macs, const std::function<std::vector<uint8_t>(Machine&)>& k) {
  const Timed scalar = RunOn<ScalarMachine>(k);
  const Timed simd = RunOn<SimdMachine>(k);
  const bool same = scalar.output == simd.output;
  std::printf("%s  %s  (%.1f MMAC)\n", what, shape, macs / 1e6);
  for (const auto& [name, t] : {std::make_pair("scalar", &scalar), std::make_pair("simd", &simd)}) {
    std::printf("  %-7s %10.2f ms  %8.3f GMAC/s\n", name, t->seconds * 1e3, macs / t->seconds / 1e9);
  }
  std::printf("  bit-exact: %s\n\n", same ? "yes" : "no");
  return same;
}

int Demo() {
  const SimdTargets targets = ListSimdTargets();
  std::printf("tile32 demo: scalar reference machine vs SIMD machine (dispatched SIMD target: %s)\n\n",
              targets.dispatched.name.empty() ? "(none)" : targets.dispatched.name.c_str());
  std::mt19937_64 rng(20240101);
  auto bytes = [&](size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
  };
  bool ok = true;

  {  // GEMM: u8 x s8 -> u8, TFL_DOUBLE per tensor, with bias.
    const int M = 256, N = 256, K = 256;
    const std::vector<uint8_t> a = bytes(size_t(M) * K);
    const std::vector<uint8_t> b = bytes(size_t(K) * N);
    std::vector<int32_t> bias(N);
    for (auto& v : bias) v = static_cast<int32_t>(rng() % 20001) - 10000;
    const int32_t multiplier = 1518500250, shift = -12;  // ~0.707 * 2^-12: spreads the accumulators over u8
    OutputQuant q;
    q.mode = RequantMode::kTflDouble, q.multiplier = &multiplier, q.shift = &shift;
    q.zero_point = 128, q.qmin = 0, q.qmax = 255;
    GemmWeightsDesc desc;
    desc.a_type = DType::kU8, desc.b_type = DType::kI8, desc.K = K, desc.N = N, desc.b = b.data(), desc.ldb = N;
    desc.bias = bias.data();
    const PackedGemmWeights packed = PackGemmWeights(desc);
    ok &= Compare("gemm u8s8->u8 TFL_DOUBLE", "M=256 N=256 K=256", double(M) * N * K, [&](Machine& m) {
      std::vector<uint8_t> c(size_t(M) * N);
      GemmArgs args;
      args.M = M, args.a = a.data(), args.lda = K, args.a_zero_point = 128;
      args.c_type = DType::kU8, args.c = c.data(), args.ldc = N, args.quant = &q;
      Gemm(m, packed, args);
      return c;
    });
  }
  std::printf("%s\n", ok ? "all outputs bit-exact" : "MISMATCH: the SIMD machine differs from the reference");
  return ok ? 0 : 1;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "tile32: missing command (try tile32 --help)\n");
    return kUsageError;
  }
  const std::string command = argv[1];
  if (command == "help" || command == "-h" || command == "--help") {
    if (argc > 2) {
      std::fprintf(stderr, "tile32: unexpected argument '%s' after '%s' (try tile32 --help)\n", argv[2], argv[1]);
      return kUsageError;
    }
    PrintUsage(stdout);
    return 0;
  }
  const struct {
    const char* name;
    int (*run)();
  } commands[] = {{"targets", Targets}, {"demo", Demo}};
  for (const auto& c : commands) {
    if (command != c.name) continue;
    if (argc > 2) {
      std::fprintf(stderr, "tile32: unexpected argument '%s' for '%s' (try tile32 --help)\n", argv[2], c.name);
      return kUsageError;
    }
    return c.run();
  }
  std::fprintf(stderr, "tile32: unknown command '%s' (try tile32 --help)\n", argv[1]);
  return kUsageError;
}

}  // namespace
}  // namespace tile32

int main(int argc, char** argv) {
  try {
    return tile32::Main(argc, argv);
  } catch (const tile32::Error& e) {
    std::fprintf(stderr, "tile32: error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tile32: internal error: %s\n", e.what());
  }
  return 1;
}

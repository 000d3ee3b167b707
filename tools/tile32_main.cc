// The tile32 command-line tool:
//   tile32 --help | -h | help    usage
//   tile32 targets               SIMD targets (compiled, supported, dispatched) and the accelerator config
//   tile32 demo                  one layer of every operator (kernels/operators.inc) on the scalar and the
//                                SIMD machine: time, GMAC/s, and whether the two agree bit for bit
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
#include "tools/demo.h"

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
               "  demo               run one layer of every operator (GEMM, direct, Winograd and depthwise\n"
               "                     convolution, channel shuffle) on the scalar reference machine and the\n"
               "                     SIMD machine; print time and GMAC/s (GB/s) of each and whether the two\n"
               "                     outputs are bit-identical (exit 1 if not)\n");
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

int Demo() { return demo::RunDemo() ? 0 : 1; }

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

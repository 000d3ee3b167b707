// The tile32 command-line tool:
//   tile32 --help | -h | help    usage
//   tile32 targets               SIMD targets (compiled, supported, dispatched) and the accelerator config
//   tile32 demo                  one layer of every operator (kernels/operators.inc) on the scalar and the
//                                SIMD machine: time, GMAC/s, and whether the two agree bit for bit
//   tile32 network [NAME|FILE]   the built-in networks, or one (built-in or a CSV layer table) layer by layer
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
#include "kernels/network.h"
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
               "                     outputs are bit-identical (exit 1 if not)\n"
               "  network [NAME|FILE]\n"
               "                     without an argument, list the built-in networks and their MACs; with one,\n"
               "                     print that network layer by layer (shape, kernel, stride, padding, groups,\n"
               "                     MACs): a built-in NAME or a CSV layer table FILE (docs/networks.md)\n");
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

int Demo(const std::vector<std::string>&) { return demo::RunDemo() ? 0 : 1; }
int Targets(const std::vector<std::string>&) { return Targets(); }

std::string Thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

int NetworkCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::printf("%-18s %7s %16s\n", "network", "layers", "MACs per image");
    for (const std::string& name : BuiltinNetworkNames()) {
      const Network& net = BuiltinNetwork(name);
      std::printf("%-18s %7zu %16s\n", name.c_str(), net.layers.size(), Thousands(net.Macs()).c_str());
    }
    return 0;
  }
  const std::string& what = args[0];
  bool builtin = false;
  for (const std::string& name : BuiltinNetworkNames()) builtin |= name == what;
  const Network net = builtin ? BuiltinNetwork(what) : ReadNetworkCsvFile(what);
  std::printf("%s: %zu layers, %s MACs per image\n\n", net.name.c_str(), net.layers.size(), Thousands(net.Macs()).c_str());
  std::printf("%-28s %-7s %16s %16s %7s %7s %11s %7s %15s\n", "layer", "kind", "input HxWxC", "output HxWxC", "kernel",
              "stride", "pad t,b,l,r", "groups", "MACs");
  for (const Layer& l : net.layers) {
    const std::string in = std::to_string(l.in_h) + "x" + std::to_string(l.in_w) + "x" + std::to_string(l.in_c);
    const std::string out = std::to_string(l.OutH()) + "x" + std::to_string(l.OutW()) + "x" + std::to_string(l.out_c);
    const std::string kernel = std::to_string(l.kernel_h) + "x" + std::to_string(l.kernel_w);
    const std::string stride = std::to_string(l.stride_h) + "x" + std::to_string(l.stride_w);
    const std::string pad = std::to_string(l.pad_top) + "," + std::to_string(l.pad_bottom) + "," +
                            std::to_string(l.pad_left) + "," + std::to_string(l.pad_right);
    std::printf("%-28s %-7s %16s %16s %7s %7s %11s %7d %15s\n", l.name.c_str(), NameOf(l.kind), in.c_str(), out.c_str(),
                kernel.c_str(), stride.c_str(), pad.c_str(), l.groups, Thousands(l.Macs()).c_str());
  }
  return 0;
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
    int (*run)(const std::vector<std::string>&);
    int max_args;
  } commands[] = {{"targets", Targets, 0}, {"demo", Demo, 0}, {"network", NetworkCommand, 1}};
  for (const auto& c : commands) {
    if (command != c.name) continue;
    if (argc - 2 > c.max_args) {
      std::fprintf(stderr, "tile32: unexpected argument '%s' for '%s' (try tile32 --help)\n", argv[2 + c.max_args],
                   c.name);
      return kUsageError;
    }
    return c.run(std::vector<std::string>(argv + 2, argv + argc));
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

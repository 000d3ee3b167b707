// tools/verify.h.
#include "tools/verify.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>

#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"

namespace tile32 {
namespace {

struct Timed {
  LayerRun run;
  std::vector<uint8_t> output;
  double seconds = 0;
};

// One untimed call (first-touching SRAM and pages is no kernel work), then calls until 20 ms have passed;
// only the calls are timed.
template <typename MachineT>
Timed RunOn(const Layer& l, Precision precision, const LayerChoice& choice) {
  MachineT machine(AccelConfig::Default());
  RunOptions o;
  o.precision = precision, o.seed = 20261206, o.threads = 0;
  LayerCall call(l, o, choice);
  Timed t;
  t.run = call.Run(machine);
  t.output = call.output();
  int calls = 0;
  const auto start = std::chrono::steady_clock::now();
  do {
    call.Run(machine);
    ++calls;
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (t.seconds < 0.02);
  t.seconds /= calls;
  if (call.output() != t.output) t.output.clear();  // a machine that differs from itself: a mismatch
  return t;
}

}  // namespace

Layer SampleOf(const Layer& l, int rows) {
  Layer s = l;
  if (l.kind == LayerKind::kFc || l.OutH() <= rows) return s;
  if (l.kind == LayerKind::kShuffle) {
    s.in_h = rows;
    return s;
  }
  // out_h = (in_h + pads - kernel_h) / stride_h + 1: the shortest input that gives `rows` outputs, less the
  // bottom padding it no longer reaches.
  s.pad_bottom = 0;
  s.in_h = std::max(1, (rows - 1) * l.stride_h + l.kernel_h - l.pad_top);
  return s;
}

bool VerifySamples(const Network& net, Precision precision, const std::vector<LayerChoice>* choices) {
  std::printf("\nsamples on this host: each layer shape of %s cut to at most 4 output rows, random %s data, the "
              "scalar reference machine against the SIMD machine (%s, every core):\n",
              net.name.c_str(), NameOf(precision), ListSimdTargets().dispatched.name.c_str());
  std::printf("%-28s %-40s %12s %12s %12s  %s\n", "layer", "kernel", "sample MACs", "scalar GMAC/s", "SIMD GMAC/s",
              "bit-exact");
  std::set<std::string> seen;
  bool ok = true;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& layer = net.layers[i];
    const LayerChoice choice = choices == nullptr ? LayerChoice{} : (*choices)[i];
    if (choice.shuffle_folded) continue;  // nothing runs: its consumer's sample runs the fold
    const Layer s = SampleOf(layer, 4);
    const std::string key = s.ShapeKey() + " " + choice.Describe();
    if (!seen.insert(key).second) continue;
    const Timed scalar = RunOn<ScalarMachine>(s, precision, choice);
    const Timed simd = RunOn<SimdMachine>(s, precision, choice);
    const bool same = !scalar.output.empty() && scalar.output == simd.output;
    ok &= same;
    const double macs = double(s.Macs());
    auto rate = [&](const Timed& t) { return macs == 0 ? 0.0 : macs / t.seconds / 1e9; };
    std::printf("%-28s %-40s %12.0f %12.3f %12.3f  %s\n", layer.name.c_str(), simd.run.kernel.substr(0, 40).c_str(),
                macs, rate(scalar), rate(simd), same ? "yes" : "NO");
  }
  std::printf("%s\n", ok ? "every sample bit-exact" : "MISMATCH: the SIMD machine differs from the reference");
  return ok;
}

}  // namespace tile32

// The model machine's speed on whole networks: model/counted/<net> packs and runs every layer of a built-in
// network through the real kernels on the model machine (kernels/network_run.h, what `tile32 model` does).
// Counters: layers per second and the network's modeled cycles.
#include <benchmark/benchmark.h>

#include <string>

#include "accel/model_machine.h"
#include "kernels/network.h"
#include "kernels/network_run.h"

namespace tile32::bench {
namespace {

void BM_ModelCounted(benchmark::State& state, std::string name) {
  const Network& net = BuiltinNetwork(name);
  uint64_t cycles = 0;
  for (auto _ : state) {
    ModelMachine model(AccelConfig::Default());
    cycles = 0;
    for (const LayerRun& r : RunNetwork(model, net)) cycles += r.timing.cycles;
    benchmark::DoNotOptimize(cycles);
  }
  state.counters["layers"] = benchmark::Counter(double(net.layers.size()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["modeled_cycles"] = double(cycles);
}

const int registered = [] {
  for (const char* net : {"resnet50", "mobilenetv2", "shufflenetv2", "yolov3-416"}) {
    benchmark::RegisterBenchmark((std::string("model/counted/") + net).c_str(), BM_ModelCounted, std::string(net))
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  return 0;
}();

}  // namespace
}  // namespace tile32::bench

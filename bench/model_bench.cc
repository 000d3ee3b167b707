// The model machine's speed on whole networks (one thread):
//   model/counted/<net>  packs and runs every layer of a built-in network through the real kernels on the
//                        model machine (kernels/network_run.h; a repeated layer shape counted once);
//   model/report/<net>   all that `tile32 report <net>` computes: the plan (every candidate of every layer
//                        run), the loss attribution with its hints (every layer at batches 1 and 2 in the
//                        analytic mode) and the batch sweep 1, 2, 4, 8 (the analytic mode).
//   model/analytic/<net> every layer of the network in the analytic mode (kernels/analytic.h), with the
//                        planner's choices (planned once, outside the timing).
// Counters: layers per second and the network's modeled cycles.
#include <benchmark/benchmark.h>

#include <string>

#include "accel/model_machine.h"
#include "kernels/analytic.h"
#include "kernels/network.h"
#include "kernels/network_run.h"
#include "kernels/planner.h"
#include "kernels/report.h"

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

void BM_ModelReport(benchmark::State& state, std::string name) {
  const Network& net = BuiltinNetwork(name);
  const AccelConfig config = AccelConfig::Default();
  uint64_t cycles = 0;
  for (auto _ : state) {
    const RunOptions options;
    const std::vector<LayerPlan> plan = PlanNetwork(net, config, options);
    const std::vector<LayerChoice> choices = ChoicesOf(plan);
    const std::vector<LayerRun> runs = RunsOf(plan);
    const std::vector<uint64_t> at1 = CyclesAtBatch(net, config, options, 1, &choices);
    const std::vector<uint64_t> at2 = CyclesAtBatch(net, config, options, 2, &choices);
    const std::vector<LayerReport> reports = ReportNetwork(runs, config, options, &at1, &at2);
    const std::vector<SweepPoint> sweep = BatchSweep(net, config, options, &choices, {1, 2, 4, 8});
    cycles = 0;
    for (const LayerReport& r : reports) cycles += r.cycles;
    benchmark::DoNotOptimize(sweep.data());
  }
  state.counters["layers"] = benchmark::Counter(double(net.layers.size()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["modeled_cycles"] = double(cycles);
}

void BM_ModelAnalytic(benchmark::State& state, std::string name) {
  const Network& net = BuiltinNetwork(name);
  const AccelConfig config = AccelConfig::Default();
  const RunOptions options;
  const std::vector<LayerChoice> choices = ChoicesOf(PlanNetwork(net, config, options));
  uint64_t cycles = 0;
  for (auto _ : state) {
    cycles = 0;
    for (const LayerEstimate& e : AnalyticNetwork(net, config, options, &choices)) cycles += e.cycles;
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
    benchmark::RegisterBenchmark((std::string("model/report/") + net).c_str(), BM_ModelReport, std::string(net))
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  for (const char* net : {"resnet50", "mobilenetv2", "shufflenetv2", "yolov3-416", "yolov3-1920x1088"}) {
    benchmark::RegisterBenchmark((std::string("model/analytic/") + net).c_str(), BM_ModelAnalytic, std::string(net))
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  return 0;
}();

}  // namespace
}  // namespace tile32::bench

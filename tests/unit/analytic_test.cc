// The analytic mode (kernels/analytic.h) against the counted mode, on every layer of the built-in networks with
// the planner's choices: the same busy cycles per unit, DRAM bytes and array cycles (the counts and §8.1 costs
// in closed form), and the layer's cycles within 2 %. Prints the worst layer per network and preset.
#include "kernels/analytic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "accel/config_json.h"
#include "accel/error.h"
#include "kernels/planner.h"

namespace tile32 {
namespace {

// How far a layer's analytic cycles may lie from its counted ones, whatever its kernel: the bound the analytic
// mode is for (docs/perf-model.md, "Analytic mode").
constexpr double kBound = 0.02;

void ExpectAgreement(const std::string& net_name, const std::string& preset, const RunOptions& options) {
  const Network& net = BuiltinNetwork(net_name);
  const AccelConfig config = AccelConfigPreset(preset);
  const std::vector<LayerPlan> plan = PlanNetwork(net, config, options);
  double worst = 0;
  std::string worst_layer;
  for (size_t i = 0; i < plan.size(); ++i) {
    const LayerRun& run = plan[i].run;
    if (run.timing.cycles == 0) continue;  // a folded shuffle
    const LayerEstimate e = AnalyticLayer(net.layers[i], plan[i].choice, config, options);
    const std::string where = net_name + " " + preset + " " + net.layers[i].name + " (" + run.kernel + ")";
    const double err = double(e.cycles) / double(run.timing.cycles) - 1;
    EXPECT_LE(std::fabs(err), kBound) << where << ": analytic " << e.cycles << ", counted " << run.timing.cycles;
    for (int u = 0; u < kUnits; ++u) EXPECT_EQ(e.busy[u], run.timing.unit[u].busy) << where << " unit " << u;
    EXPECT_EQ(e.dram_bytes, run.cost.dram_bytes) << where;
    EXPECT_EQ(e.array_cycles, run.cost.tile_cycles) << where;
    if (std::fabs(err) > std::fabs(worst)) worst = err, worst_layer = where;
  }
  std::printf("analytic vs counted, %s %s %s batch %d: worst %+.2f %% (%s)\n", net_name.c_str(), preset.c_str(),
              NameOf(options.precision), options.batch, 100 * worst,
              worst_layer.empty() ? "every layer exact" : worst_layer.c_str());
}

TEST(Analytic, AgreesWithTheCountedModeOnEveryBuiltinLayer) {
  for (const std::string& net : BuiltinNetworkNames()) {
    for (const std::string& preset : AccelConfigPresetNames()) ExpectAgreement(net, preset, RunOptions{});
  }
}

TEST(Analytic, AgreesAtBatchTwoAndInInt16) {
  RunOptions two;
  two.batch = 2;
  ExpectAgreement("resnet50", "default", two);
  ExpectAgreement("shufflenetv2", "nvdla-2048", two);
  RunOptions wide;
  wide.precision = Precision::kInt16;
  ExpectAgreement("mobilenetv2", "default", wide);
  ExpectAgreement("resnet50", "nvdla-2048", wide);
}

// The planner folds or runs every ShuffleNetV2 shuffle as a GEMM; the routes' loop is checked on its own.
TEST(Analytic, ShuffleByRoutes) {
  const Network& net = BuiltinNetwork("shufflenetv2");
  for (const std::string& preset : AccelConfigPresetNames()) {
    const AccelConfig config = AccelConfigPreset(preset);
    ModelMachine model(config);
    LayerChoice routes;
    routes.shuffle = ShuffleAlgorithm::kRoutes;
    for (const Layer& l : net.layers) {
      if (l.kind != LayerKind::kShuffle) continue;
      const LayerRun run = RunLayer(model, l, RunOptions{}, routes);
      const LayerEstimate e = AnalyticLayer(l, routes, config, RunOptions{});
      EXPECT_NEAR(double(e.cycles), double(run.timing.cycles), 0.02 * double(run.timing.cycles)) << preset << " " << l.name;
    }
  }
}

// A tall Winograd layer on a DRAM-starved configuration: its bands repeat with a period of one band and the
// closed form extends them by an odd count (7 and 43), so each input and V buffer's state moves to the other
// buffer. Without that move the estimates are +0.52 % and +0.59 % off, inside the networks' 2 % bound but not
// this one; with it -0.11 % and +0.01 %.
TEST(Analytic, WinogradBandsExtendedByAnOddCount) {
  Layer l;
  l.name = "tall";
  l.in_h = 112, l.in_w = 112, l.in_c = 128, l.out_c = 128, l.kernel_h = l.kernel_w = 3;
  l.pad_top = l.pad_bottom = l.pad_left = l.pad_right = 1;
  LayerChoice winograd;
  winograd.algorithm = ConvAlgorithm::kWinograd;
  for (const double gb_per_s : {4.0, 1.0}) {
    AccelConfig config;
    config.dram_gb_per_s = gb_per_s;
    ModelMachine model(config);
    const LayerRun run = RunLayer(model, l, RunOptions{}, winograd);
    const LayerEstimate e = AnalyticLayer(l, winograd, config, RunOptions{});
    EXPECT_NEAR(double(e.cycles), double(run.timing.cycles), 0.0025 * double(run.timing.cycles)) << gb_per_s << " GB/s";
    for (int u = 0; u < kUnits; ++u) EXPECT_EQ(e.busy[u], run.timing.unit[u].busy) << gb_per_s << " GB/s, unit " << u;
  }
}

TEST(Analytic, BadInputIsAnErrorNamingIt) {
  const Layer& fc = BuiltinNetwork("resnet50").layers.back();
  RunOptions o;
  o.batch = 0;
  try {
    AnalyticLayer(fc, LayerChoice{}, AccelConfig::Default(), o);
    FAIL() << "batch 0 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch = 0"), std::string::npos) << e.what();
  }
  const std::vector<LayerChoice> one(1);
  EXPECT_THROW(AnalyticNetwork(BuiltinNetwork("resnet50"), AccelConfig::Default(), RunOptions{}, &one), Error);
}

}  // namespace
}  // namespace tile32

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
#include "kernels/analytic_conv.h"
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

// A run of like DMAs (kernels/dma_run.h) tallied in closed form leaves the tally exactly as the same DMAs one by
// one: ascending and apart, each overlapping the one before (from DRAM: each waits for the one before; within
// SRAM: none waits), apart but below an earlier DMA's end, within SRAM under a DMA from DRAM still under way
// (which one of the run waits for), and short runs.
TEST(Analytic, DmaRunTalliesAsItsDmasOneByOne) {
  using analytic::DmaTally;
  using analytic::Written;
  struct Case {
    const char* what;
    bool x_on_chip;
    uint32_t segment, sram, rows, row_bytes, sram_stride, count, step;
    uint32_t in_flight = 0;  // if not 0: before the run, one fill DMA of 64 bytes to SRAM here, not two long ones
  };
  const Case cases[] = {
      {"apart", false, analytic::kSegX, 4096, 4, 96, 128, 40, 512},
      {"apart, just touching", false, analytic::kSegX, 4096, 4, 96, 128, 40, 480},
      {"overlapping, from DRAM", false, analytic::kSegX, 4096, 40, 96, 4096, 50, 128},
      {"overlapping, fill rows", false, analytic::kSegFill, 4096, 40, 96, 4096, 9, 128},
      {"overlapping, within SRAM", true, analytic::kSegX, 4096, 40, 96, 4096, 30, 128},
      {"apart, below an earlier end", false, analytic::kSegX, 0, 2, 64, 64, 30, 256},
      {"apart, within SRAM, under a DMA in flight", true, analytic::kSegX, 0, 1, 64, 64, 30, 256, 1024},
      {"overlapping, within SRAM, under a DMA in flight", true, analytic::kSegX, 0, 4, 64, 128, 60, 64, 512},
      {"two", false, analytic::kSegX, 4096, 40, 96, 4096, 2, 128},
      {"one", false, analytic::kSegX, 4096, 40, 96, 4096, 1, 128},
  };
  const AccelConfig config;
  for (const Case& c : cases) {
    for (const bool with_written : {false, true}) {
      const analytic::Costs k(config, MacMode::kU8S8, c.x_on_chip);
      std::vector<Written> w_run, w_each;
      DmaTally run{k, {}, 0, with_written ? &w_run : nullptr};
      DmaTally each{k, {}, 0, with_written ? &w_each : nullptr};
      // Earlier DMAs: twice a long one whose span ends far above the run's first, or a fill DMA inside the run's.
      DmaIn before;
      before.sram = 0, before.segment = analytic::kSegX, before.rows = 64, before.row_bytes = 512, before.sram_stride = 1024;
      if (c.in_flight) before.sram = c.in_flight, before.segment = analytic::kSegFill, before.rows = 1, before.row_bytes = 64;
      for (DmaTally* t : {&run, &each}) {
        (*t)(before);
        if (c.in_flight == 0) (*t)(before);
      }
      DmaIn d;
      d.sram = c.sram, d.segment = c.segment, d.dram = 1 << 20, d.rows = c.rows, d.row_bytes = c.row_bytes;
      d.dram_stride = 4096, d.sram_stride = c.sram_stride;
      IssueRun(run, d, c.count, c.step, 777);
      for (uint32_t i = 0; i < c.count; ++i, d.sram += c.step, d.dram += 777) each(d);
      const std::string where = std::string(c.what) + (with_written ? ", with what each writes" : "");
      EXPECT_EQ(run.bytes, each.bytes) << where;
      EXPECT_EQ(run.dmas.n, each.dmas.n) << where;
      EXPECT_EQ(run.dmas.busy, each.dmas.busy) << where;
      EXPECT_EQ(run.dmas.span, each.dmas.span) << where;
      EXPECT_EQ(run.dmas.finish, each.dmas.finish) << where;
      EXPECT_EQ(run.dmas.at, each.dmas.at) << where;
      for (uint64_t i = 0; i < analytic::kTail; ++i) EXPECT_EQ(run.dmas.starts[i], each.dmas.starts[i]) << where << " start " << i;
      EXPECT_EQ(run.recent_n, each.recent_n) << where;
      EXPECT_EQ(run.hi_recent, each.hi_recent) << where;
      for (uint64_t i = 0; i < DmaTally::kRecent; ++i) {
        EXPECT_EQ(run.recent[i].lo, each.recent[i].lo) << where << " recent " << i;
        EXPECT_EQ(run.recent[i].hi, each.recent[i].hi) << where << " recent " << i;
        EXPECT_EQ(run.recent[i].end, each.recent[i].end) << where << " recent " << i;
      }
      ASSERT_EQ(w_run.size(), w_each.size()) << where;
      for (size_t i = 0; i < w_run.size(); ++i) {
        EXPECT_TRUE(w_run[i].lo == w_each[i].lo && w_run[i].hi == w_each[i].hi && w_run[i].end == w_each[i].end)
            << where << " written " << i;
      }
    }
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

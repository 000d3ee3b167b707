// The planner (kernels/planner.h): each layer's plan is its fastest candidate, the runs of a plan take the
// cycles the planner measured (one plan, not two), and a channel shuffle is folded into the next layer only
// when that costs less than running it.
#include "kernels/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "accel/config_json.h"
#include "accel/model_machine.h"
#include "accel/simd_machine.h"

namespace tile32 {
namespace {

TEST(Planner, EachLayerRunsItsFastestCandidateAsPlanned) {
  const AccelConfig config = AccelConfig::Default();
  for (const char* name : {"resnet50", "mobilenetv2", "shufflenetv2"}) {
    const Network& net = BuiltinNetwork(name);
    const std::vector<LayerPlan> plan = PlanNetwork(net, config, RunOptions{});
    ASSERT_EQ(plan.size(), net.layers.size());
    const std::vector<LayerChoice> choices = ChoicesOf(plan);
    ModelMachine model(config);
    const std::vector<LayerRun> runs = RunNetwork(model, net, RunOptions{}, &choices);
    for (size_t i = 0; i < plan.size(); ++i) {
      const std::string where = std::string(name) + " " + net.layers[i].name;
      EXPECT_EQ(runs[i].timing.cycles, plan[i].cycles) << where << ": " << plan[i].choice.Describe();
      EXPECT_EQ(runs[i].choice.Describe(), plan[i].choice.Describe()) << where;
      const bool after_fold = plan[i].choice.input_shuffle_groups > 1;
      if (plan[i].has_runner_up && !plan[i].choice.shuffle_folded && !plan[i].runner_up.shuffle_folded) {
        // After a folded shuffle the runner-up (unfolded) also needs the shuffle kernel before it.
        const uint64_t kernel = after_fold ? plan[i - 1].runner_up_cycles : 0;
        EXPECT_LE(plan[i].cycles, plan[i].runner_up_cycles + kernel) << where;
        EXPECT_NE(plan[i].runner_up.Describe(), plan[i].choice.Describe()) << where;
      }
      if (net.layers[i].kind == LayerKind::kConv && net.layers[i].groups == 1 && net.layers[i].kernel_h > 1) {
        EXPECT_TRUE(plan[i].has_runner_up) << where << ": tap-major and folded both run any convolution";
      }
    }
  }
}

// Outputs kept in SRAM: only where the next layer reads them and the kept tensors fit half of SRAM, both
// sides of each flagged, and the plan faster than the same choices with every tensor through DRAM.
TEST(Planner, KeepsOutputsInSramWhereTheyFitAndSaveCycles) {
  for (const char* preset : {"default", "nvdla-2048"}) {
    const AccelConfig config = AccelConfigPreset(preset);
    for (const char* name : {"resnet50", "mobilenetv2"}) {
      const Network& net = BuiltinNetwork(name);
      const std::vector<LayerPlan> plan = PlanNetwork(net, config, RunOptions{});
      const std::vector<LayerChoice> choices = ChoicesOf(plan);
      EXPECT_EQ(KeptWhereTheyFit(net, config, RunOptions{}, choices).size(), choices.size());
      int kept = 0;
      uint64_t with = 0, without = 0;
      std::vector<LayerChoice> through_dram = choices;
      for (size_t i = 0; i < choices.size(); ++i) {
        const std::string where = std::string(preset) + " " + name + " " + net.layers[i].name;
        const bool next_reads = i + 1 < choices.size() && choices[i + 1].input_in_sram;
        EXPECT_EQ(choices[i].output_in_sram, next_reads) << where;
        // KeptWhereTheyFit leaves a plan's choices as they are at the plan's batch.
        EXPECT_EQ(KeptWhereTheyFit(net, config, RunOptions{}, choices)[i].Describe(), choices[i].Describe()) << where;
        if (choices[i].output_in_sram) {
          ++kept;
          const Layer &l = net.layers[i], &next = net.layers[i + 1];
          EXPECT_EQ(next.in_h * next.in_w * next.in_c, l.OutH() * l.OutW() * l.out_c) << where;
          EXPECT_LE(uint64_t(l.OutH()) * l.OutW() * l.out_c, config.sram_bytes / 2) << where;
        }
        through_dram[i].input_in_sram = through_dram[i].output_in_sram = false;
        with += plan[i].cycles;
      }
      EXPECT_GT(kept, 0) << preset << " " << name;
      ModelMachine model(config);
      for (const LayerRun& r : RunNetwork(model, net, RunOptions{}, &through_dram)) without += r.timing.cycles;
      EXPECT_LT(with, without) << preset << " " << name;
      std::printf("planner, %s %s: %llu cycles as planned, %llu with every tensor through DRAM\n", preset, name,
                  static_cast<unsigned long long>(with), static_cast<unsigned long long>(without));
    }
  }
}

// What a plan keeps in SRAM changes how the kernels tile (less SRAM) and where DMAs go, never a result.
TEST(Planner, KeepingTensorsInSramChangesNoResult) {
  const Network& net = BuiltinNetwork("resnet50");
  int retiled = 0;  // layers whose kernel tiled differently for less SRAM
  for (const char* layer : {"layer1.0.conv1", "layer1.0.conv2", "fc"}) {
    const Layer* l = nullptr;
    for (const Layer& x : net.layers) l = x.name == layer ? &x : l;
    ASSERT_NE(l, nullptr) << layer;
    RunOptions o;
    o.seed = 7;
    std::vector<uint8_t> plain, kept;
    o.output = &plain;
    AccelConfig small = AccelConfig::Default();
    small.sram_bytes = 512u << 10;  // the kept tensors take most of it
    std::unique_ptr<Machine> m = std::make_unique<SimdMachine>(small);
    const uint64_t instructions = RunLayer(*m, *l, o, LayerChoice{}).cost.cycles;
    LayerChoice c;
    c.input_in_sram = c.output_in_sram = true;
    o.output = &kept;
    retiled += RunLayer(*m, *l, o, c).cost.cycles != instructions;
    ASSERT_FALSE(plain.empty()) << layer;
    EXPECT_NE(std::count(plain.begin(), plain.end(), plain[0]), std::ptrdiff_t(plain.size())) << layer;
    EXPECT_EQ(plain, kept) << layer << " (seed 7)";
    EXPECT_EQ(m->config().sram_bytes, small.sram_bytes) << layer << ": the reservation is given back";
  }
  EXPECT_GE(retiled, 2);
}

// A shuffle is folded exactly when the next layer folded costs less than the kernel and the next layer alone;
// the folded layer reads the whole unshuffled tensor.
TEST(Planner, AShuffleIsFoldedOnlyWhenThatIsCheaper) {
  const AccelConfig config = AccelConfig::Default();
  const Network& net = BuiltinNetwork("shufflenetv2");
  const std::vector<LayerPlan> plan = PlanNetwork(net, config, RunOptions{});
  int shuffles = 0, foldable = 0;
  for (size_t i = 0; i + 1 < plan.size(); ++i) {
    if (net.layers[i].kind != LayerKind::kShuffle) continue;
    ++shuffles;
    const LayerPlan& s = plan[i];
    const LayerPlan& next = plan[i + 1];
    const Layer& consumer = net.layers[i + 1];
    if (consumer.kind != LayerKind::kConv || consumer.groups != 1) {  // a depthwise layer: nothing to fold into
      EXPECT_FALSE(s.choice.shuffle_folded) << net.layers[i].name;
      EXPECT_FALSE(s.runner_up.shuffle_folded) << net.layers[i].name;
      continue;
    }
    ++foldable;
    ASSERT_TRUE(s.has_runner_up) << net.layers[i].name;
    if (s.choice.shuffle_folded) {
      EXPECT_EQ(s.cycles, 0u);
      EXPECT_EQ(next.choice.input_shuffle_groups, net.layers[i].groups) << net.layers[i + 1].name;
      EXPECT_EQ(next.choice.input_shuffle_channels, net.layers[i].in_c) << net.layers[i + 1].name;
      EXPECT_LT(s.fold_cost, int64_t(s.runner_up_cycles)) << net.layers[i].name;
    } else {
      EXPECT_GT(s.cycles, 0u);
      EXPECT_EQ(next.choice.input_shuffle_groups, 0) << net.layers[i + 1].name;
      EXPECT_GE(s.fold_cost, int64_t(s.cycles)) << net.layers[i].name;
    }
  }
  EXPECT_EQ(shuffles, 16);
  EXPECT_GE(foldable, 12);
}

// Both shuffle kernels run in INT8: the plan takes the faster, the other is the runner-up (or the fold's).
TEST(Planner, AShuffleRunsByItsFasterKernel) {
  const AccelConfig config = AccelConfig::Default();
  const Network& net = BuiltinNetwork("shufflenetv2");
  const std::vector<LayerPlan> plan = PlanNetwork(net, config, RunOptions{});
  ModelMachine model(config);
  for (size_t i = 0; i < plan.size(); ++i) {
    if (net.layers[i].kind != LayerKind::kShuffle) continue;
    uint64_t fastest = UINT64_MAX;
    for (ShuffleAlgorithm a : {ShuffleAlgorithm::kRoutes, ShuffleAlgorithm::kPermutation}) {
      LayerChoice c;
      c.shuffle = a;
      fastest = std::min(fastest, RunLayer(model, net.layers[i], RunOptions{}, c).timing.cycles);
    }
    const uint64_t kernel = plan[i].choice.shuffle_folded ? plan[i].runner_up_cycles : plan[i].cycles;
    EXPECT_EQ(kernel, fastest) << net.layers[i].name;
  }
}

TEST(Planner, BF16NeverFoldsAShuffle) {
  RunOptions bf16;
  bf16.precision = Precision::kBF16;
  const Network& net = BuiltinNetwork("shufflenetv2");
  for (const LayerPlan& p : PlanNetwork(net, AccelConfig::Default(), bf16)) {
    EXPECT_FALSE(p.choice.shuffle_folded);
    EXPECT_EQ(p.choice.input_shuffle_groups, 0);
  }
}

}  // namespace
}  // namespace tile32

// The model against published figures (docs/perf-model.md, "Against published figures"): what holds today.
// ResNet-50 v1.5 on nvdla-2048 within 25 % of NVDLA's 269 images/s, and Winograd's saving in array cycles on
// YOLOv3 within 25 % of InferX X1's published 1.7x and below its Amdahl cap of 1.76x. (The whole-network time
// with Winograd is slower on this ISA: its transforms run on the vector unit; the doc says why.)
#include <gtest/gtest.h>

#include "accel/config_json.h"
#include "accel/error.h"
#include "accel/model_machine.h"
#include "kernels/planner.h"

namespace tile32 {
namespace {

TEST(Validation, ResNet50OnNvdlaIsWithinAQuarterOfThePublished269ImagesPerSecond) {
  const AccelConfig config = AccelConfigPreset("nvdla-2048");
  uint64_t cycles = 0;
  for (const LayerPlan& p : PlanNetwork(BuiltinNetwork("resnet50"), config, RunOptions{})) cycles += p.cycles;
  const double images_per_s = config.clock_mhz * 1e6 / double(cycles);
  EXPECT_GE(images_per_s, 269 * 0.75);
  EXPECT_LE(images_per_s, 269 * 1.25);
}

TEST(Validation, WinogradSavesOnYolov3TheArrayCyclesInferXPublishes) {
  const AccelConfig config = AccelConfigPreset("inferx-x1");
  const Network& net = BuiltinNetwork("yolov3-416");
  ModelMachine model(config);
  // The plan (direct convolution everywhere on this configuration), and Winograd where it applies.
  const std::vector<LayerPlan> plan = PlanNetwork(net, config, RunOptions{});
  uint64_t direct = 0, winograd = 0;
  int layers = 0;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    ASSERT_NE(plan[i].run.kind, RunKind::kWinograd) << l.name << ": the transforms make it slower here";
    const uint64_t with_direct = plan[i].run.timing.mac_array;
    uint64_t with_winograd = with_direct;
    if (l.kind == LayerKind::kConv && l.kernel_h == 3 && l.stride_h == 1) {
      LayerChoice w;
      w.algorithm = ConvAlgorithm::kWinograd;
      with_winograd = RunLayer(model, l, RunOptions{}, w).timing.mac_array;
      ++layers;
    }
    direct += with_direct, winograd += with_winograd;
  }
  EXPECT_EQ(layers, 33);
  const double gain = double(direct) / double(winograd);
  EXPECT_NEAR(gain, 1.7, 1.7 * 0.25);
  EXPECT_LT(gain, 1.76);
}

}  // namespace
}  // namespace tile32

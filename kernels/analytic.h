// The analytic mode of the performance model: a layer's cycles from the plan its kernel would make (the same
// sizing functions the loops call: PlanGemmLoop, PlanTapMajor, PlanDepthwise, ...), without issuing its
// instructions. Per step of the kernel's loop (a block of 32 output channels of a band or row block, a chunk
// of depthwise rows, a band of a shuffle) the instructions of each unit are counted from the loop bounds and
// costed by docs/isa.md §8.1; the steps are then laid on the units' timelines as the loop overlaps them (a
// step waits for the unit to be free and for the steps it depends on: its seed, its input band, the weights
// window it reads, the ACC set and staging rows it reuses), for the first steps until the pipeline repeats,
// after which the repeating part is extended in closed form. The counted mode (kernels/network_run.h on the
// model machine) is the reference; docs/perf-model.md gives the agreement.
#pragma once

#include <cstdint>
#include <vector>

#include "accel/config.h"
#include "accel/model_machine.h"
#include "kernels/network.h"
#include "kernels/network_run.h"

namespace tile32 {

struct LayerEstimate {
  uint64_t cycles = 0;           // the layer's modeled cycles (what ModelTiming::cycles counts)
  uint64_t busy[kUnits] = {};    // per unit (Unit::kDma .. kRequant), cycles it executes instructions
  uint64_t array_cycles = 0;     // TMAC and EMAC tile cycles (§8.1), the arrays' share: / tile_units
  uint64_t dram_bytes = 0;       // moved by DMA
  uint64_t macs = 0;             // the layer's MACs (all images), as Layer::Macs counts them
};

// One layer as `choice` runs it (the planner's choice; kAuto resolves as PackConv and the loops resolve it),
// at options.batch and options.precision. tile32::Error for a choice the kernels would refuse, a batch outside
// [1, 4096], or a configuration too small for the layer (as the kernel's own error).
LayerEstimate AnalyticLayer(const Layer& layer, const LayerChoice& choice, const AccelConfig& config,
                            const RunOptions& options);

// Every layer of `net`, choices one per layer (or PackConv's own when null).
std::vector<LayerEstimate> AnalyticNetwork(const Network& net, const AccelConfig& config, const RunOptions& options,
                                           const std::vector<LayerChoice>* choices = nullptr);

}  // namespace tile32

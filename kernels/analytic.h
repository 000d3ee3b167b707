// The analytic mode of the performance model: a layer's cycles from the plan its kernel would make (the same
// sizing functions the loops call: PlanGemmLoop, PlanTapMajor, PlanDepthwise, PlanWinograd, ...), without
// issuing its instructions. The model walks the kernel's loop and puts each instruction, or a run of them
// that nothing can hold up in between, on its unit's timeline by the model machine's rules (docs/isa.md
// §8.3: in-order units with 16-deep queues, a DMA's latency overlapping the next one's transfer, the
// footprint dependencies the kernel's instructions have); where the loop repeats, the periods after two
// identical ones are extended in closed form. The counted mode (kernels/network_run.h on the model machine)
// is the reference; docs/perf-model.md gives the agreement.
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

// Every layer of `net`, choices one per layer (or PackConv's own when null); a layer of the same shape and
// choice as an earlier one is estimated once.
std::vector<LayerEstimate> AnalyticNetwork(const Network& net, const AccelConfig& config, const RunOptions& options,
                                           const std::vector<LayerChoice>* choices = nullptr);

}  // namespace tile32

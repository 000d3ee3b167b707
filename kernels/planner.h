// The planner: per layer of a network, the algorithm and layout with the fewest modeled cycles (each
// candidate run through the real kernels on a model machine), and the runner-up. RunNetwork runs a plan, so
// the report shows the plan the kernels run, and a runtime packs its weights with the same choices
// (LayerChoice::Apply).
//
// Candidates: a convolution tries depthwise (groups == in_channels), Winograd (accepted for 3x3 stride 1
// INT8), direct tap-major and direct folded; those PackConv refuses are left out. A channel shuffle runs by
// RPERM routes or as a GEMM by its permutation matrix (integer types), or is folded into the next layer when
// that is a convolution of one group in an integer precision: the shuffle then costs nothing and the next
// layer reads the whole unshuffled tensor, its weights permuted (ConvDesc::input_shuffle_groups) and zero
// for the channels it does not use. The fold is taken when the next layer's cycles that way are fewer than
// the faster shuffle's and its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/network_run.h"

namespace tile32 {

struct LayerPlan {
  LayerChoice choice;
  uint64_t cycles = 0;        // modeled, at the planned batch and precision
  LayerRun run;               // the planned choice's run on the model machine (what RunNetwork gives for it)
  bool has_runner_up = false;
  LayerChoice runner_up;
  uint64_t runner_up_cycles = 0;
  // A shuffle that can fold: the next layer's cycles folded less its cycles unfolded (what folding costs
  // there, against the kernel's cycles here).
  int64_t fold_cost = 0;
};

// What stays in SRAM between layers. The layer tables list layers in execution order; a layer whose input
// has the shape of the previous layer's output reads it (a residual add between them keeps the shape). The
// plan may keep such an output in SRAM for the next layer when the layer's kept tensors (its input, when the
// layer before kept it, and this output) take at most half of sram_bytes; the kernels plan within the rest.
// Shuffles keep nothing.
//
// `choices` (one per layer, as a plan made them) with every kept tensor that does not fit at the options'
// batch and precision read and written through DRAM instead (both layers' flags cleared).
std::vector<LayerChoice> KeptWhereTheyFit(const Network& net, const AccelConfig& config, const RunOptions& options,
                                          std::vector<LayerChoice> choices);

// One plan per layer of `net`, in order, on model machines of `config` (progress as RunOptions says). Each
// layer's algorithm and layout are chosen with every tensor through DRAM; then, left to right, an output the
// next layer reads stays in SRAM when it fits and the two layers take fewer cycles that way (their choices
// timed again with it kept, the runner-up too).
// What a plan may choose from: every candidate by default; without Winograd, to see what it gains.
struct PlanLimits {
  bool winograd = true;
};

std::vector<LayerPlan> PlanNetwork(const Network& net, const AccelConfig& config, const RunOptions& options,
                                   const PlanLimits& limits = {});

// The choices of a plan, in layer order (what RunNetwork takes), and the planner's runs of them.
std::vector<LayerChoice> ChoicesOf(const std::vector<LayerPlan>& plan);
std::vector<LayerRun> RunsOf(const std::vector<LayerPlan>& plan);

}  // namespace tile32

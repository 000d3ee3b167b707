// A whole network on a machine: every layer of a kernels/network.h table packed and run by the real
// kernels (INT8: uint8 activations, int8 weights, uint8 outputs requantized per tensor), a batch of images. On the
// model machine (accel/model_machine.h) this counts and times the network without computing it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "accel/cost.h"
#include "accel/model_machine.h"
#include "kernels/network.h"

namespace tile32 {

struct LayerRun {
  const Layer* layer = nullptr;
  std::string kernel;  // what ran: "direct tap-major u8s8, ...", "gemm u8s8 M=1 ...", "shuffle ..."
  InstrCost cost;      // the serial sum of the layer's instructions (docs/isa.md §8.1)
  ModelTiming timing;  // the layer timed by §8.3 (model machine only; zero elsewhere)
};

// Runs each layer on `machine` for `batch` images (its counters and, on a ModelMachine, its timing are reset
// per layer), in order; `progress`, when given, hears (layer index, layer count) before each layer.
std::vector<LayerRun> RunNetwork(Machine& machine, const Network& net,
                                 const std::function<void(size_t, size_t)>& progress = {}, int batch = 1);

// The closed forms of two public models for a layer on one 32x32 array (docs/perf-model.md), with the
// reduction C = in_c / groups per output (so a depthwise layer is C = 1): SCALE-Sim 3.0's compute cycles
// ceil(C*R*S/32) * ceil(K/32) * (OH*OW + 3*32 - 2) - 1 and ZigZag's ideal temporal cycles
// ceil(K/32) * ceil(C/32) * R * S * OH * OW. Zero for a shuffle. An fc layer is a 1x1 convolution of the
// flattened input.
uint64_t ScaleSimCalcCycles(const Layer& layer);
uint64_t ZigZagIdealCycles(const Layer& layer);
// Why tile32's array cycles of a run (LayerRun::cost.tile_cycles) differ from those closed forms, as one
// line naming each cause that applies ("" when within 10 % of either): Winograd, depthwise on EMAC, the
// reduction folded, junk columns of the band's pitch, SCALE-Sim's fill and drain per fold.
std::string PeerGapReason(const LayerRun& run);

}  // namespace tile32

// A whole network on a machine: every layer of a kernels/network.h table packed and run by the real
// kernels (INT8: uint8 activations, int8 weights, uint8 outputs requantized per tensor), one image. On the
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

// Runs each layer on `machine` (its counters and, on a ModelMachine, its timing are reset per layer), in
// order; `progress`, when given, hears (layer index, layer count) before each layer.
std::vector<LayerRun> RunNetwork(Machine& machine, const Network& net,
                                 const std::function<void(size_t, size_t)>& progress = {});

}  // namespace tile32

// A whole network on a machine: every layer of a kernels/network.h table packed and run by the real
// kernels at one precision, a batch of images. On the model machine (accel/model_machine.h) this counts and
// times the network without computing it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "accel/cost.h"
#include "accel/model_machine.h"
#include "kernels/channel_shuffle.h"
#include "kernels/conv.h"
#include "kernels/network.h"

namespace tile32 {

// The data types a network runs in:
//   kInt8:  uint8 activations, int8 weights, uint8 outputs requantized per tensor (FLOAT_ZP_FIRST);
//   kInt16: int16 activations and weights, int16 outputs requantized per tensor;
//   kBF16:  bf16 activations and weights, bf16 outputs.
enum class Precision : uint8_t { kInt8, kInt16, kBF16 };
const char* NameOf(Precision p);  // "int8", "int16", "bf16"
// The precision named `name`, or a tile32::Error listing the names.
Precision PrecisionNamed(const std::string& name);
// The MAC mode a precision's layers issue (Winograd issues S16S16 whatever the precision: docs/isa.md §9).
MacMode MacModeOf(Precision p);

// How a layer runs: what kernels/planner.h chooses; the defaults are what PackConv picks by itself.
struct LayerChoice {
  ConvAlgorithm algorithm = ConvAlgorithm::kAuto;  // convolutions
  ConvLayout layout = ConvLayout::kAuto;           // direct convolutions
  ShuffleAlgorithm shuffle = ShuffleAlgorithm::kRoutes;  // a shuffle that runs: by routes or the permutation GEMM
  bool shuffle_folded = false;  // a shuffle folded into the next layer's weights: nothing runs for it
  // A convolution after a folded shuffle of this many groups over this many channels: it reads the whole
  // unshuffled tensor (ConvDesc::input_shuffle_groups), its weights zero for the channels it does not use.
  int input_shuffle_groups = 0, input_shuffle_channels = 0;
  // Tensors the plan keeps in SRAM between layers: the input the layer before left there, and this layer's
  // output for the next. Their bytes are reserved at the top of SRAM for the call (Machine::ReserveSram),
  // so the kernel plans within the rest, and on a model machine their DMAs move within SRAM instead of
  // through DRAM (ModelMachine::KeepOnChip). Other machines compute the same with the same instructions.
  bool input_in_sram = false, output_in_sram = false;
  // "winograd", "direct folded", "shuffle routes", "shuffle permutation", "shuffle folded",
  // "direct tap-major on the unshuffled 116", "direct folded, input in SRAM, output kept in SRAM"
  std::string Describe() const;
};

// What ran for a layer.
enum class RunKind : uint8_t { kGemm, kDirect, kWinograd, kDepthwise, kShuffle };

struct LayerRun {
  const Layer* layer = nullptr;
  RunKind kind = RunKind::kDirect;
  int batch = 1;         // images
  Precision precision = Precision::kInt8;
  LayerChoice choice;    // as asked (kernel says what it resolved to)
  std::string kernel;  // what ran: "direct tap-major u8s8, ...", "gemm u8s8 M=1 ...", "shuffle ..."
  // The layer's MACs (all images) with its channels padded as the packing pads them: output channels per group
  // to 32, and the reduction to 32 per kernel tap (tap-major, Winograd) or once (folded). Winograd's are the
  // direct convolution's, before the transform saves any. Zero for a shuffle.
  uint64_t padded_macs = 0;
  InstrCost cost;      // the serial sum of the layer's instructions (docs/isa.md §8.1)
  ModelTiming timing;  // the layer timed by §8.3 (model machine only; zero elsewhere)
  // Bytes that went through DRAM: the DMAs' bytes less those of tensors kept in SRAM (on a model machine).
  uint64_t DramBytes() const { return cost.dram_bytes - timing.on_chip_bytes; }
};

struct RunOptions {
  int batch = 1;  // images per layer call, in [1, 4096]
  Precision precision = Precision::kInt8;
  // 0: every input and weight is zero (all a model machine needs). Otherwise random data from this seed:
  // uint8/int8 and int16 over their whole range, bf16 normal numbers in [-2, 2].
  uint32_t seed = 0;
  // When given, receives the layer's output bytes (RunLayer only).
  std::vector<uint8_t>* output = nullptr;
  int threads = 1;  // the kernels' oneTBB arena
  // When given, hears (layer index, layer count) before each layer.
  std::function<void(size_t, size_t)> progress;
};

// Runs each layer on `machine` (its counters and, on a ModelMachine, its timing are reset per layer), in
// order, as `choices` says (one per layer; null: PackConv's own choices). On a model machine a layer of the
// same shape and choice as an earlier one is counted once: its instruction stream, and so its counts and
// timing, depend only on the shape, the choice, the options and the configuration.
std::vector<LayerRun> RunNetwork(Machine& machine, const Network& net, const RunOptions& options = {},
                                 const std::vector<LayerChoice>* choices = nullptr);
// One layer, as RunNetwork runs it (counters and timing reset first).
LayerRun RunLayer(Machine& machine, const Layer& layer, const RunOptions& options = {},
                  const LayerChoice& choice = {});

// One layer's call made ready once (weights packed, input made, output allocated) and run on any machine as
// often as wanted: what timing a layer's kernel on a host needs, with nothing but the call timed.
// `layer` must outlive it; RunOptions::output is not used (output() is the last call's).
class LayerCall {
 public:
  // Errors (tile32::Error) when the choice cannot run the layer (PackConv refuses the algorithm).
  LayerCall(const Layer& layer, const RunOptions& options, const LayerChoice& choice = {});
  ~LayerCall();
  LayerCall(const LayerCall&) = delete;
  LayerCall& operator=(const LayerCall&) = delete;
  // Resets the machine's counters (and a model machine's timing), calls the operator, returns what ran.
  LayerRun Run(Machine& machine);
  std::vector<uint8_t> output() const;  // a copy of the last call's output

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

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

// Where a layer's modeled cycles go (docs/perf-model.md, "Loss attribution"): the useful cycles (its MACs at
// the peak rate of every tile array) and the named losses, which add up exactly to the cycles the model
// machine timed for the layer; what bounds the layer; and a fix hint where one exists.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accel/config.h"
#include "kernels/network_run.h"

namespace tile32 {

// The parts of a layer's cycles. The first six cut the arrays' MAC cycles (ModelTiming::mac_array), the
// others the rest of the arrays' timeline (ModelTiming: feed stalls, tile loads, idle cycles by cause).
enum class Part : uint8_t {
  kUseful,          // the layer's MACs at the peak rate of every array
  kPadding,         // channels padded to 32: output channels per group, the reduction per tap or once
  kDepthwiseLanes,  // EMAC: a whole array cycle for 32 MACs (one lane of each output channel's row)
  kWinograd,        // Winograd's transformed multiplies at the INT16 rate against direct's: negative when it saves
  kEdgeRows,        // rows streamed beyond the outputs: padding columns of a band row, Winograd's edge tiles
  kMovement,        // the arrays moving data, no MAC useful: a shuffle as a GEMM by its permutation matrix
  kFeedStall,       // the arrays waiting for a row's activations: SRAM bank conflicts and bank bandwidth
  kTileLoads,       // TLD: weights into the tile registers
  kDram,            // the arrays idle, waiting on DMA (DRAM bandwidth and latency)
  kVector,          // the arrays idle, waiting on the vector unit and muxes (transforms, seeds, routes)
  kRequant,         // the arrays idle, waiting on the requantization unit
};
inline constexpr int kParts = 11;
const char* NameOf(Part p);  // "useful", "padding", "depthwise lanes", ...

// The resource that takes the largest share of a layer's cycles.
enum class Bound : uint8_t { kTileArrays, kSramBanks, kDram, kVectorUnit, kRequantUnit };
const char* NameOf(Bound b);  // "tile arrays", "SRAM banks", "DRAM", "vector unit and muxes", "requant unit"

struct LayerReport {
  const LayerRun* run = nullptr;
  uint64_t macs = 0;              // the layer's MACs, all images
  uint64_t cycles = 0;            // run->timing.cycles
  int64_t part[kParts] = {};      // cycles; they add up to `cycles` exactly (only kWinograd may be < 0)
  double utilization = 0;         // macs / (cycles * peak MACs per cycle of all arrays)
  Bound bound = Bound::kTileArrays;
  std::string hint;               // "" or a change that makes the layer use more of the accelerator
};

// The peak MACs per cycle of all tile arrays at a precision.
double PeakMacsPerCycle(const AccelConfig& config, Precision precision);

// The attribution of a run from the model machine, at the run's precision (no hint).
LayerReport ReportLayer(const LayerRun& run, const AccelConfig& config);

// A fix hint for a reported layer, measured by running the changed layer on a model machine of `config`:
// channels padded to 32 ("in 47 -> 64, out 94 -> 96 channels: utilization 62 % -> 79 %, 1.39x the MACs in
// 1.09x the cycles"), a DRAM-bound layer's weights shared by a batch of 8 (its cycles at 8 on the line
// through `at1` and `at2`, its cycles at batches 1 and 2, when given; else counted). "" when nothing helps.
std::string FixHint(const LayerReport& report, const AccelConfig& config, const RunOptions& options,
                    uint64_t at1 = 0, uint64_t at2 = 0);

// Every layer of a network reported, with hints (one per layer shape); `at1` and `at2` as FixHint takes
// them, one per layer, or null.
std::vector<LayerReport> ReportNetwork(const std::vector<LayerRun>& runs, const AccelConfig& config,
                                       const RunOptions& options, const std::vector<uint64_t>* at1 = nullptr,
                                       const std::vector<uint64_t>* at2 = nullptr);

// Whole-network cycles at each batch size, every layer in the analytic mode (kernels/analytic.h: within 2 %
// of the counted mode on every built-in layer, tests/unit/analytic_test.cc, and at batch 4,
// tests/unit/report_test.cc), so every batch of the sweep is modeled, not extended from two.
struct SweepPoint {
  int batch = 1;
  uint64_t cycles = 0;
  double images_per_s = 0;
  double utilization = 0;
};
// One layer's cycles at `batch` on the line through its cycles at batches 1 and 2 (FixHint's batch of 8).
uint64_t AffineCycles(uint64_t at1, uint64_t at2, int batch);
// Every layer's cycles at `batch` in the analytic mode, run as `choices` says (or PackConv's own choices),
// with the tensors kept in SRAM that still fit at that batch (KeptWhereTheyFit).
std::vector<uint64_t> CyclesAtBatch(const Network& net, const AccelConfig& config, const RunOptions& options,
                                    int batch, const std::vector<LayerChoice>* choices = nullptr);
// The network at each batch size (options: the precision), as CyclesAtBatch models it.
std::vector<SweepPoint> BatchSweep(const Network& net, const AccelConfig& config, const RunOptions& options,
                                   const std::vector<LayerChoice>* choices, const std::vector<int>& batches);

}  // namespace tile32

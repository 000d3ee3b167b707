// kernels/report.h: the loss attribution of a layer and its fix hints.
#include "kernels/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "accel/error.h"
#include "kernels/analytic.h"
#include "kernels/conv_impl.h"
#include "kernels/planner.h"
#include "accel/model_machine.h"

namespace tile32 {
namespace {

// Channels padded to whole blocks of 32 lanes.
uint64_t Padded(int64_t n) { return uint64_t(Ceil32(n)) * kLanes; }

uint32_t RateOf(const AccelConfig& c, MacMode m) {
  return m == MacMode::kBF16 ? c.macs_per_cycle_bf16 : m == MacMode::kS16S16 ? c.macs_per_cycle_int16 : c.macs_per_cycle_int8;
}

// Array cycles of `macs` MACs in mode m shared over every array, as §8.1 counts a TMAC: 1024 MACs take
// ceil(1024 / rate) cycles.
double ArrayCycles(const AccelConfig& c, MacMode m, double macs) {
  const double pass = std::ceil(double(kLanes * kLanes) / RateOf(c, m));
  return macs * pass / (double(kLanes * kLanes) * c.tile_units);
}

std::string Percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f %%", 100 * x);
  return buf;
}

// The layer with its channels per group rounded up to multiples of 32 (a depthwise layer: its channels), or
// false when that changes nothing or the layer is an image input (3 channels: nothing to choose).
bool PaddedLayer(const Layer& l, Layer* out) {
  *out = l;
  if (l.kind == LayerKind::kShuffle) return false;
  if (l.kind == LayerKind::kFc) {
    out->out_c = static_cast<int>(Padded(l.out_c));
  } else if (l.groups == l.in_c && l.groups > 1) {  // depthwise, channel multiplier out_c / in_c
    const int m = l.out_c / l.in_c;
    out->in_c = out->groups = static_cast<int>(Padded(l.in_c));
    out->out_c = out->in_c * m;
  } else {
    const int Cg = l.in_c / l.groups, Kg = l.out_c / l.groups;
    if (Cg >= 8) out->in_c = static_cast<int>(Padded(Cg)) * l.groups;
    out->out_c = static_cast<int>(Padded(Kg)) * l.groups;
  }
  return out->in_c != l.in_c || out->out_c != l.out_c;
}

}  // namespace

const char* NameOf(Part p) {
  switch (p) {
    case Part::kUseful: return "useful";
    case Part::kPadding: return "padding";
    case Part::kDepthwiseLanes: return "depthwise lanes";
    case Part::kWinograd: return "winograd";
    case Part::kEdgeRows: return "edge rows";
    case Part::kMovement: return "movement";
    case Part::kFeedStall: return "feed stall";
    case Part::kTileLoads: return "tile loads";
    case Part::kDram: return "dram";
    case Part::kVector: return "vector";
    case Part::kRequant: return "requant";
  }
  return "invalid";
}

const char* NameOf(Bound b) {
  switch (b) {
    case Bound::kTileArrays: return "tile arrays";
    case Bound::kSramBanks: return "SRAM banks";
    case Bound::kDram: return "DRAM";
    case Bound::kVectorUnit: return "vector unit and muxes";
    case Bound::kRequantUnit: return "requant unit";
  }
  return "invalid";
}

double PeakMacsPerCycle(const AccelConfig& config, Precision precision) {
  return double(config.tile_units) * RateOf(config, MacModeOf(precision));
}

LayerReport ReportLayer(const LayerRun& run, const AccelConfig& c) {
  LayerReport r;
  r.run = &run;
  const ModelTiming& t = run.timing;
  r.cycles = t.cycles;
  r.macs = run.kind == RunKind::kShuffle ? 0 : run.layer->Macs() * uint64_t(run.batch);
  const MacMode mode = MacModeOf(run.precision);

  // The MAC cycles: running sums of useful, padding, Winograd and depthwise lanes, each rounded once, so
  // that the integer parts add up; the edge rows are what remains of the arrays' MAC cycles.
  const double useful = ArrayCycles(c, mode, double(r.macs));
  const double padded = ArrayCycles(c, mode, double(run.padded_macs));
  double winograd = 0, lanes = 0;
  if (run.kind == RunKind::kWinograd) {
    // 16 transformed positions per 2x2 outputs where direct has 9 taps per output: 4/9 of the padded MACs,
    // at the INT16 rate the transformed domain needs.
    winograd = ArrayCycles(c, MacMode::kS16S16, double(run.padded_macs) * 4 / 9) - padded;
  } else if (run.kind == RunKind::kDepthwise) {
    // One array pass per row of 32 MACs.
    lanes = ArrayCycles(c, mode, double(run.padded_macs) / kLanes * kLanes * kLanes) - padded;
  }
  const double running[4] = {useful, padded, padded + winograd, padded + winograd + lanes};
  int64_t rounded[4];
  for (int i = 0; i < 4; ++i) rounded[i] = std::llround(running[i]);
  r.part[int(Part::kUseful)] = rounded[0];
  r.part[int(Part::kPadding)] = rounded[1] - rounded[0];
  r.part[int(Part::kWinograd)] = rounded[2] - rounded[1];
  r.part[int(Part::kDepthwiseLanes)] = rounded[3] - rounded[2];
  // A shuffle has no useful MAC: whatever its arrays do moves data.
  r.part[int(run.kind == RunKind::kShuffle ? Part::kMovement : Part::kEdgeRows)] = int64_t(t.mac_array) - rounded[3];
  r.part[int(Part::kFeedStall)] = int64_t(t.mac_busy - t.mac_array);
  // The arrays never wait on themselves (idle_on[kTile] is 0 by construction); kept here so the sum is exact.
  r.part[int(Part::kTileLoads)] = int64_t(t.tile_load + t.idle_on[int(Unit::kTile)]);
  r.part[int(Part::kDram)] = int64_t(t.idle_on[int(Unit::kDma)]);
  r.part[int(Part::kVector)] = int64_t(t.idle_on[int(Unit::kVector)]);
  r.part[int(Part::kRequant)] = int64_t(t.idle_on[int(Unit::kRequant)]);

  r.utilization = r.cycles == 0 ? 0 : double(r.macs) / (double(r.cycles) * PeakMacsPerCycle(c, run.precision));
  const int64_t arrays = r.part[int(Part::kUseful)] + r.part[int(Part::kPadding)] + r.part[int(Part::kWinograd)] +
                         r.part[int(Part::kDepthwiseLanes)] + r.part[int(Part::kEdgeRows)] +
                         r.part[int(Part::kMovement)] + r.part[int(Part::kTileLoads)];
  const std::pair<int64_t, Bound> shares[] = {{arrays, Bound::kTileArrays},
                                              {r.part[int(Part::kFeedStall)], Bound::kSramBanks},
                                              {r.part[int(Part::kDram)], Bound::kDram},
                                              {r.part[int(Part::kVector)], Bound::kVectorUnit},
                                              {r.part[int(Part::kRequant)], Bound::kRequantUnit}};
  int64_t most = -1;
  for (const auto& [cycles, bound] : shares) {
    if (cycles > most) most = cycles, r.bound = bound;
  }
  return r;
}

std::string FixHint(const LayerReport& r, const AccelConfig& c, const RunOptions& options, uint64_t at1,
                    uint64_t at2) {
  const LayerRun& run = *r.run;
  const Layer& l = *run.layer;
  if (r.cycles == 0) return "";
  const double share_padding = double(r.part[int(Part::kPadding)]) / double(r.cycles);
  const double share_dram = double(r.part[int(Part::kDram)]) / double(r.cycles);
  RunOptions quiet = options;
  quiet.progress = nullptr;
  Layer changed;
  // The changed layer keeps the algorithm and layout (not a shuffle fold: its channels change).
  LayerChoice same = run.choice;
  same.input_shuffle_groups = same.input_shuffle_channels = 0;
  if (share_padding >= 0.05 && PaddedLayer(l, &changed)) {
    ModelMachine model(c);
    LayerRun again;
    try {
      again = RunLayer(model, changed, quiet, same);
    } catch (const Error&) {
      again = RunLayer(model, changed, quiet);  // the algorithm does not take the new channel counts
    }
    const LayerReport better = ReportLayer(again, c);
    if (better.utilization > r.utilization * 1.02) {
      std::string what;
      if (changed.in_c != l.in_c) what += "in " + std::to_string(l.in_c) + " -> " + std::to_string(changed.in_c);
      if (changed.out_c != l.out_c) {
        what += std::string(what.empty() ? "" : ", ") + "out " + std::to_string(l.out_c) + " -> " +
                std::to_string(changed.out_c);
      }
      char buf[160];
      std::snprintf(buf, sizeof buf, " channels: utilization %s -> %s (%.2fx the MACs in %.2fx the cycles)",
                    Percent(r.utilization).c_str(), Percent(better.utilization).c_str(),
                    double(better.macs) / double(r.macs), double(better.cycles) / double(r.cycles));
      return what + buf;
    }
  }
  // DRAM-bound on weights read once per call: a batch shares them.
  const uint64_t elem = run.precision == Precision::kInt8 ? 1 : 2;
  const uint64_t weight_bytes = l.kind == LayerKind::kShuffle ? 0
                                : l.kind == LayerKind::kFc  ? elem * l.in_h * l.in_w * l.in_c * l.out_c
                                                            : elem * l.out_c * l.kernel_h * l.kernel_w * (l.in_c / l.groups);
  const uint64_t act_bytes =
      elem * run.batch * (uint64_t(l.in_h) * l.in_w * l.in_c + uint64_t(l.OutH()) * l.OutW() * l.out_c);
  if (share_dram >= 0.25 && weight_bytes > act_bytes && run.batch < 8) {
    uint64_t at8 = 0;
    if (at1 > 0 && at2 > 0) {
      at8 = AffineCycles(at1, at2, 8);
    } else {
      ModelMachine model(c);
      RunOptions eight = quiet;
      eight.batch = 8;
      LayerChoice from_dram = run.choice;  // 8 images' tensors are not what the plan kept in SRAM
      from_dram.input_in_sram = from_dram.output_in_sram = false;
      at8 = RunLayer(model, l, eight, from_dram).timing.cycles;
    }
    const double per_image_now = double(r.cycles) / run.batch, per_image_then = double(at8) / 8;
    if (per_image_then < per_image_now * 0.9) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "its %.0f KiB of weights stream from DRAM per call: batch 8 is %.1fx faster per image",
                    double(weight_bytes) / 1024, per_image_now / per_image_then);
      return buf;
    }
  }
  return "";
}

std::vector<LayerReport> ReportNetwork(const std::vector<LayerRun>& runs, const AccelConfig& config,
                                       const RunOptions& options, const std::vector<uint64_t>* at1,
                                       const std::vector<uint64_t>* at2) {
  std::vector<LayerReport> out;
  std::map<std::string, std::string> hint_of_kernel;  // same kernel and cycles: same shape, same hint
  for (size_t i = 0; i < runs.size(); ++i) {
    if (options.progress) options.progress(i, runs.size());
    out.push_back(ReportLayer(runs[i], config));
    const Layer& l = *runs[i].layer;
    const std::string key = runs[i].kernel + " " + std::to_string(l.in_h) + "x" + std::to_string(l.in_w) + " " +
                            std::to_string(l.out_c) + " " + std::to_string(runs[i].timing.cycles);
    const auto known = hint_of_kernel.find(key);
    out.back().hint = known != hint_of_kernel.end()
                          ? known->second
                          : FixHint(out.back(), config, options, at1 ? (*at1)[i] : 0, at2 ? (*at2)[i] : 0);
    hint_of_kernel.emplace(key, out.back().hint);
  }
  return out;
}

uint64_t AffineCycles(uint64_t at1, uint64_t at2, int batch) {
  const int64_t step = int64_t(at2) - int64_t(at1);
  return uint64_t(std::max<int64_t>(0, int64_t(at1) + step * (batch - 1)));
}

std::vector<uint64_t> CyclesAtBatch(const Network& net, const AccelConfig& config, const RunOptions& options,
                                    int batch, const std::vector<LayerChoice>* choices) {
  RunOptions o = options;
  o.batch = batch;
  // What stays in SRAM depends on the tensors' size, so on the batch.
  const std::vector<LayerChoice> at_batch = KeptWhereTheyFit(
      net, config, o, choices != nullptr ? *choices : std::vector<LayerChoice>(net.layers.size()));
  std::vector<uint64_t> out;
  out.reserve(net.layers.size());
  for (const LayerEstimate& e : AnalyticNetwork(net, config, o, &at_batch)) out.push_back(e.cycles);
  return out;
}

std::vector<SweepPoint> BatchSweep(const Network& net, const AccelConfig& config, const RunOptions& options,
                                   const std::vector<LayerChoice>* choices, const std::vector<int>& batches) {
  std::vector<SweepPoint> out;
  for (int batch : batches) {
    SweepPoint p;
    p.batch = batch;
    for (uint64_t c : CyclesAtBatch(net, config, options, batch, choices)) p.cycles += c;
    p.images_per_s = p.cycles == 0 ? 0 : double(batch) * config.clock_mhz * 1e6 / double(p.cycles);
    p.utilization =
        p.cycles == 0 ? 0 : double(net.Macs()) * batch / (double(p.cycles) * PeakMacsPerCycle(config, options.precision));
    out.push_back(p);
  }
  return out;
}

}  // namespace tile32

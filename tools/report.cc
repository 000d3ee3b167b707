// tools/report.h.
#include "tools/report.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "accel/config_json.h"
#include "accel/error.h"
#include "accel/model_machine.h"
#include "kernels/planner.h"
#include "kernels/report.h"
#include "tools/common.h"
#include "tools/report_svg.h"
#include "tools/verify.h"

namespace tile32 {
namespace {

// Progress on stderr for reports that take a while, "\rtile32 report: <what> i of n", when stderr is a
// terminal (a log or a pipe gets nothing).
std::function<void(size_t, size_t)> Progress(const std::string& what) {
  if (!isatty(STDERR_FILENO)) return {};
  return [what](size_t i, size_t n) {
    std::fprintf(stderr, "\rtile32 report: %s %zu of %zu", what.c_str(), i + 1, n);
    if (i + 1 == n) std::fprintf(stderr, "\n");
  };
}

// The array cycles of every layer beside the closed forms of SCALE-Sim and ZigZag (docs/perf-model.md).
void PrintPeers(const std::vector<LayerRun>& runs) {
  std::printf("%-28s %-30s %13s %13s %13s %7s %7s  %s\n", "layer", "kernel", "tile32", "SCALE-Sim", "ZigZag",
              "/SS", "/ZZ", "why they differ (when by more than 10 % from both)");
  for (const LayerRun& r : runs) {
    if (r.layer->kind == LayerKind::kShuffle) continue;
    const uint64_t ss = ScaleSimCalcCycles(*r.layer), zz = ZigZagIdealCycles(*r.layer);
    const std::string kernel = r.kernel.substr(0, std::min<size_t>(30, r.kernel.find(',')));  // "direct folded u8s8"
    std::printf("%-28s %-30s %13s %13s %13s %7.2f %7.2f  %s\n", r.layer->name.c_str(), kernel.c_str(),
                Thousands(r.cost.tile_cycles).c_str(), Thousands(ss).c_str(), Thousands(zz).c_str(),
                double(r.cost.tile_cycles) / double(ss), double(r.cost.tile_cycles) / double(zz),
                PeerGapReason(r).c_str());
  }
}

struct Totals {
  uint64_t macs = 0, cycles = 0;
  int64_t part[kParts] = {};
};

Totals Sum(const std::vector<LayerReport>& reports) {
  Totals t;
  for (const LayerReport& r : reports) {
    t.macs += r.macs, t.cycles += r.cycles;
    for (int p = 0; p < kParts; ++p) t.part[p] += r.part[p];
  }
  return t;
}

std::string Share(int64_t part, uint64_t cycles) {
  if (part == 0 || cycles == 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f", 100.0 * double(part) / double(cycles));
  return buf;
}

// "padding 41 %, edge rows 12 %": the losses of a layer, largest first, those of at least 1 %. The vector
// unit's part is named for what it does in the layer's kernel.
std::string LossesText(const int64_t* part, uint64_t cycles, RunKind kind = RunKind::kDirect) {
  std::vector<int> order;
  for (int p = 1; p < kParts; ++p) {
    if (part[p] != 0 && std::abs(double(part[p])) >= 0.01 * double(cycles)) order.push_back(p);
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) { return part[a] > part[b]; });
  std::string s;
  for (int p : order) {
    std::string name = NameOf(static_cast<Part>(p));
    if (p == int(Part::kVector) && kind == RunKind::kWinograd) name = "vector (Winograd's transforms)";
    if (p == int(Part::kVector) && kind == RunKind::kShuffle) name = "vector (routes through the muxes)";
    s += (s.empty() ? "" : ", ") + name + " " + Share(part[p], cycles) + " %";
  }
  return s;
}

// "folded 1.31x": the runner-up and how many times the planned cycles it takes.
std::string RunnerUp(const LayerPlan& p, LayerKind kind) {
  if (!p.has_runner_up) return "-";
  char buf[64];
  if (p.runner_up.shuffle_folded) {
    std::snprintf(buf, sizeof buf, "fold (next %+lld)", static_cast<long long>(p.fold_cost));
  } else if (kind == LayerKind::kShuffle) {  // the other shuffle kernel, or the faster one behind a fold
    std::snprintf(buf, sizeof buf, "%s %s", NameOf(p.runner_up.shuffle), Thousands(p.runner_up_cycles).c_str());
  } else {
    // After a folded shuffle, the runner-up unfolded needs the shuffle kernel too.
    const bool unfolded = p.choice.input_shuffle_groups > 1 && p.runner_up.input_shuffle_groups == 0;
    LayerChoice algorithm = p.runner_up;  // what stays in SRAM is the plan's column of its own
    algorithm.input_in_sram = algorithm.output_in_sram = false;
    std::snprintf(buf, sizeof buf, "%s %.2fx%s", algorithm.Describe().c_str(),
                  p.cycles == 0 ? 0.0 : double(p.runner_up_cycles) / double(p.cycles), unfolded ? "+shuffle" : "");
  }
  return buf;
}

// The runner-up as its 24-character column holds it: the ratio (or cycles) at the end stays whole, the plan
// before it is cut with "~" ("direct tap-major on the unshuffled 116 1.22x" used to read "direct tap-major on
// the", the ratio gone).
std::string RunnerUpColumn(std::string r) {
  constexpr size_t kWidth = 24;
  const size_t unshuffled = r.find(" on the unshuffled ");
  if (unshuffled != std::string::npos) r.replace(unshuffled, 19, " unshuffled ");
  if (r.size() <= kWidth) return r;
  const size_t space = r.rfind(' ');
  if (space == std::string::npos || r.size() - space > kWidth / 2) return r.substr(0, kWidth - 1) + "~";
  std::string plan = r.substr(0, std::min(space, kWidth - (r.size() - space) - 1));
  while (!plan.empty() && plan.back() == ' ') plan.pop_back();
  return plan + "~" + r.substr(space);
}

// What bounds a layer, or "-" for one of no cycles (a shuffle folded into the next layer).
const char* BoundColumn(const LayerReport& r) { return r.cycles == 0 ? "-" : NameOf(r.bound); }

// The kernel as the table's column holds it: "direct tap-major u8s8, 18 weight tiles per 32 outputs" cut at 32
// characters read "..., 18 weight til"; the legend says what "18 tiles" counts.
std::string KernelColumn(std::string k) {
  for (const char* long_form : {" weight tiles per 32 outputs and position", " weight tiles per 32 outputs"}) {
    const size_t at = k.find(long_form);
    if (at != std::string::npos) k.replace(at, std::strlen(long_form), " tiles");
  }
  const size_t next = k.find(" into the next layer");
  if (next != std::string::npos) k.replace(next, 20, " into next layer");
  const size_t groups = k.find(" groups, ");
  if (groups != std::string::npos) k.replace(groups, 9, "g, ");  // "3 groups, 2 tiles" -> "3g, 2 tiles"
  return k.size() <= 38 ? k : k.substr(0, 37) + "~";
}

void PrintTable(const std::vector<LayerReport>& reports, const std::vector<LayerPlan>& plan) {
  std::printf("%-26s %-38s %-4s %-24s %14s %11s %5s  %-11s", "layer", "kernel (the plan)", "sram", "runner-up", "MACs",
              "cycles", "util", "bound");
  for (int p = 0; p < kParts; ++p) {
    static const char* kShort[kParts] = {"use", "pad", "dwl", "wino", "edge", "move", "feed", "tld", "dram", "vec", "req"};
    std::printf(" %4s", kShort[p]);
  }
  std::printf("  hint\n");
  for (size_t i = 0; i < reports.size(); ++i) {
    const LayerReport& r = reports[i];
    const LayerChoice& c = r.run->choice;
    const char* kept = c.input_in_sram ? (c.output_in_sram ? "both" : "in") : (c.output_in_sram ? "out" : "-");
    std::printf("%-26s %-38s %-4s %-24s %14s %11s %4.0f%%  %-11.11s", r.run->layer->name.substr(0, 26).c_str(),
                KernelColumn(r.run->kernel).c_str(), kept, RunnerUpColumn(RunnerUp(plan[i], r.run->layer->kind)).c_str(),
                Thousands(r.macs).c_str(), Thousands(r.cycles).c_str(), 100 * r.utilization, BoundColumn(r));
    for (int p = 0; p < kParts; ++p) std::printf(" %4s", Share(r.part[p], r.cycles).c_str());
    std::printf("  %s\n", r.hint.c_str());
  }
}

void PrintTopLosses(const std::vector<LayerReport>& reports, size_t n) {
  std::vector<const LayerReport*> order;
  for (const LayerReport& r : reports) order.push_back(&r);
  auto lost = [](const LayerReport* r) { return int64_t(r->cycles) - r->part[int(Part::kUseful)]; };
  std::sort(order.begin(), order.end(), [&](auto* a, auto* b) { return lost(a) > lost(b); });
  std::printf("\nlayers that lose the most cycles:\n");
  for (size_t i = 0; i < std::min(n, order.size()); ++i) {
    const LayerReport& r = *order[i];
    std::printf("  %-26s %11s of %11s cycles lost: %s%s%s\n", r.run->layer->name.c_str(), Thousands(lost(&r)).c_str(),
                Thousands(r.cycles).c_str(), LossesText(r.part, r.cycles, r.run->kind).c_str(), r.hint.empty() ? "" : "; fix: ",
                r.hint.c_str());
  }
}

nlohmann::ordered_json PartsJson(const int64_t* part) {
  nlohmann::ordered_json o;
  for (int p = 0; p < kParts; ++p) o[NameOf(static_cast<Part>(p))] = part[p];
  return o;
}

void WriteJson(const std::string& path, const Network& net, const AccelConfig& config, const ReportRequest& req,
               const std::vector<LayerReport>& reports, const std::vector<LayerPlan>& plan,
               const nlohmann::ordered_json& sweep) {
  nlohmann::ordered_json j;
  j["network"] = net.name;
  j["config"] = nlohmann::ordered_json::parse(AccelConfigToJson(config));
  j["precision"] = NameOf(req.precision);
  j["batch"] = req.batch;
  for (size_t i = 0; i < reports.size(); ++i) {
    const LayerReport& r = reports[i];
    const LayerRun& run = *r.run;
    const Layer& l = *run.layer;
    nlohmann::ordered_json o;
    o["name"] = l.name;
    o["kind"] = NameOf(l.kind);
    o["input"] = {l.in_h, l.in_w, l.in_c};
    o["output"] = {l.OutH(), l.OutW(), l.out_c};
    o["kernel_hw"] = {l.kernel_h, l.kernel_w};
    o["stride_hw"] = {l.stride_h, l.stride_w};
    o["groups"] = l.groups;
    o["kernel"] = run.kernel;
    o["plan"] = run.choice.Describe();
    if (plan[i].has_runner_up) {
      o["runner_up"] = {{"plan", plan[i].runner_up.Describe()}, {"cycles", plan[i].runner_up_cycles}};
    }
    if (plan[i].fold_cost != 0) o["shuffle_fold_cost_in_next_layer"] = plan[i].fold_cost;
    o["macs"] = r.macs;
    o["cycles"] = r.cycles;
    o["serial_cycles"] = run.cost.cycles;
    o["utilization"] = r.utilization;
    o["bound"] = BoundColumn(r);
    o["parts"] = PartsJson(r.part);
    o["hint"] = r.hint;
    o["tile_cycles"] = run.cost.tile_cycles;
    o["sram_conflict_cycles"] = run.cost.conflict_cycles;
    o["mux_passes"] = run.cost.mux_passes;
    o["dram_bytes"] = run.DramBytes();
    o["kept_in_sram"] = {{"input", run.choice.input_in_sram}, {"output", run.choice.output_in_sram},
                         {"bytes_moved_on_chip", run.timing.on_chip_bytes}};
    for (int u = 0; u < kUnits; ++u) {
      o["units"][NameOf(static_cast<Unit>(u))] = {{"instructions", run.timing.unit[u].instructions},
                                                   {"busy", run.timing.unit[u].busy},
                                                   {"dependency_stall", run.timing.unit[u].dep_stall},
                                                   {"waited_on_by_others", run.timing.waited_on[u]}};
    }
    j["layers"].push_back(o);
  }
  const Totals t = Sum(reports);
  j["total"] = {{"macs", t.macs},
                {"cycles", t.cycles},
                {"ms", double(t.cycles) / (config.clock_mhz * 1e3)},
                {"images_per_s", double(req.batch) * config.clock_mhz * 1e6 / double(t.cycles)},
                {"utilization", double(t.macs) / (double(t.cycles) * PeakMacsPerCycle(config, req.precision))},
                {"parts", PartsJson(t.part)}};
  j["sweep"] = sweep;
  std::ofstream out(path);
  if (!out) Fail("tile32 report: cannot write '", path, "' (", std::strerror(errno), ")");
  out << j.dump(2) << "\n";
  if (!out) Fail("tile32 report: writing '", path, "' failed");
}

// An output file must be writable before the work starts (its directory exists and takes files), so that a
// long report does not end in an error; it is written only at the end.
void CheckWritable(const std::string& option, const std::string& path) {
  if (path.empty()) return;
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (access(dir.c_str(), W_OK) != 0) {
    Fail("tile32 report: ", option, " '", path, "': cannot write into '", dir, "' (", std::strerror(errno), ")");
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    Fail("tile32 report: ", option, " '", path, "' is a directory: give a file name (", option, " ", path,
         path.back() == '/' ? "" : "/", "report", option == "--svg" ? ".svg" : ".json", ")");
  }
}

}  // namespace

int ReportCommand(const ReportRequest& req) {
  CheckWritable("--json", req.json_file);
  CheckWritable("--svg", req.svg_file);
  Network storage;
  const Network& net = NetworkNamed(req.network, &storage);
  const AccelConfig config = ConfigNamed(req.preset, req.config_file);  // presets and loaded files are validated
  RunOptions options;
  options.batch = req.batch, options.precision = req.precision, options.progress = Progress("planning layer");
  PlanLimits limits;
  limits.winograd = !req.no_winograd;
  const std::vector<LayerPlan> plan = PlanNetwork(net, config, options, limits);
  const std::vector<LayerChoice> choices = ChoicesOf(plan);
  // The planner ran every layer with its choice: those are the runs (RunNetwork with the choices gives the
  // same, tests/unit/planner_test.cc).
  const std::vector<LayerRun> runs = RunsOf(plan);
  if (req.peers) {
    PrintPeers(runs);
    return 0;
  }
  // Every layer at batches 1 and 2 in the analytic mode, for the batch hint.
  const std::vector<uint64_t> at1 = CyclesAtBatch(net, config, options, 1, &choices);
  const std::vector<uint64_t> at2 = CyclesAtBatch(net, config, options, 2, &choices);
  options.progress = Progress("hints for layer");
  const std::vector<LayerReport> reports = ReportNetwork(runs, config, options, &at1, &at2);
  const double peak = PeakMacsPerCycle(config, req.precision);
  const std::string config_name =
      !req.config_file.empty() ? req.config_file : req.preset.empty() ? "default" : req.preset;
  std::printf("%s on %s (%u arrays, %.0f %s MACs/cycle at %.0f MHz), %s, batch %d%s\n", net.name.c_str(),
              config_name.c_str(), config.tile_units, peak, NameOf(req.precision), config.clock_mhz,
              NameOf(req.precision), req.batch, req.no_winograd ? ", planned without Winograd" : "");
  std::printf("Per layer: modeled cycles, utilization of the tile arrays, what bounds it (- for a layer of no cycles), and "
              "where the cycles go (%% of "
              "the layer's cycles; they add up to 100):\n"
              "kernel: the plan's kernel (N tiles: weight tiles per 32 outputs, per position for Winograd; Ng: N "
              "groups; ~: cut short, --json has it whole);\n"
              "runner-up: the plan the model ranked next, with its cycles over the plan's (~: cut short);\n"
              "sram: tensors kept in SRAM between layers (in: the input the layer before left there, out: the output "
              "for the next layer, both, or - for DRAM);\n"
              "use useful MACs, pad channel padding to 32, dwl depthwise lanes, wino Winograd (negative: saved), edge "
              "rows beyond the outputs, move the arrays moving data (a shuffle), feed SRAM feed stalls, tld tile "
              "loads; the arrays idle waiting on dram, vec "
              "(vector unit and muxes), req (requantization).\n\n");
  PrintTable(reports, plan);
  const Totals t = Sum(reports);
  const double ms = double(t.cycles) / (config.clock_mhz * 1e3);
  std::printf("\ntotal: %s MACs in %s cycles = %.3f ms at %.0f MHz, %.1f images/s, utilization %.1f%%\n",
              Thousands(t.macs).c_str(), Thousands(t.cycles).c_str(), ms, config.clock_mhz, 1e3 * req.batch / ms,
              100.0 * double(t.macs) / (double(t.cycles) * peak));
  std::printf("where the cycles go: useful %s %%, %s\n", Share(t.part[0], t.cycles).c_str(),
              LossesText(t.part, t.cycles).c_str());
  PrintTopLosses(reports, 5);

  nlohmann::ordered_json sweep = nlohmann::ordered_json::array();
  if (!req.sweep.empty()) {
    std::printf("\nthroughput by batch size (every layer called on the whole batch, in the analytic mode at each "
                "batch):\n%8s %14s %12s %12s %8s\n",
                "batch", "cycles", "ms", "images/s", "util");
    for (const SweepPoint& p : BatchSweep(net, config, options, &choices, req.sweep)) {
      const double bms = double(p.cycles) / (config.clock_mhz * 1e3);
      std::printf("%8d %14s %12.3f %12.1f %7.1f%%\n", p.batch, Thousands(p.cycles).c_str(), bms, p.images_per_s,
                  100 * p.utilization);
      sweep.push_back({{"batch", p.batch}, {"cycles", p.cycles}, {"ms", bms}, {"images_per_s", p.images_per_s},
                       {"utilization", p.utilization}});
    }
  }
  if (!req.json_file.empty()) WriteJson(req.json_file, net, config, req, reports, plan, sweep);
  if (!req.svg_file.empty()) WriteReportSvg(req.svg_file, net.name, config, req.precision, reports);
  if (req.verify && !VerifySamples(net, req.precision, &choices)) return 1;
  return 0;
}

}  // namespace tile32

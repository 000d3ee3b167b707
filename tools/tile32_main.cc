// The tile32 command-line tool:
//   tile32 --help | -h | help    usage
//   tile32 targets               SIMD targets (compiled, supported, dispatched) and the accelerator config
//   tile32 demo                  one layer of every operator (kernels/operators.inc) on the scalar and the
//                                SIMD machine: time, GMAC/s, and whether the two agree bit for bit
//   tile32 network [NAME|FILE]   the built-in networks, or one (built-in or a CSV layer table) layer by layer
//   tile32 model NAME|FILE [--preset NAME | --config FILE] [--batch N] [--json FILE] [--peers]
//                                a network on the model machine: per layer kernel, cycles and utilization
//   tile32 config [--preset NAME | --file FILE]
//                                an accelerator configuration as JSON (accel/config_json.h)
// Exit status: 0 success, 1 a failed check (demo not bit-exact) or error, 2 bad usage. Parsing: CLI11.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "accel/config.h"
#include "accel/config_json.h"
#include "accel/error.h"
#include "accel/machine.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "accel/model_machine.h"
#include "kernels/network.h"
#include "kernels/network_run.h"
#include "tools/demo.h"

namespace tile32 {
namespace {

constexpr int kUsageError = 2;

std::string Names(const std::vector<SimdTarget>& targets) {
  std::string s;
  for (const SimdTarget& t : targets) s += (s.empty() ? "" : " ") + t.name;
  return s.empty() ? "(none)" : s;
}

int Targets() {
  const SimdTargets t = ListSimdTargets();
  std::printf("SIMD targets (Highway dynamic dispatch)\n");
  std::printf("  compiled:   %s\n", Names(t.compiled).c_str());
  std::printf("  supported:  %s\n", Names(t.supported).c_str());
  std::printf("  dispatched: %s\n", t.dispatched.name.empty() ? "(none)" : t.dispatched.name.c_str());
  std::printf("\nAccelerator configuration (AccelConfig::Default())\n%s", AccelConfig::Default().Describe().c_str());
  return 0;
}

int Demo() { return demo::RunDemo() ? 0 : 1; }

std::string Thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

const Network& NetworkNamed(const std::string& what, Network* storage) {
  for (const std::string& name : BuiltinNetworkNames()) {
    if (name == what) return BuiltinNetwork(what);
  }
  if (!std::ifstream(what)) {
    Fail("'", what, "' is neither a built-in network (", Joined(BuiltinNetworkNames()),
         ") nor a readable CSV layer table");
  }
  *storage = ReadNetworkCsvFile(what);
  return *storage;
}

AccelConfig ConfigNamed(const std::string& preset, const std::string& file) {
  return file.empty() ? AccelConfigPreset(preset.empty() ? "default" : preset) : LoadAccelConfig(file);
}

int NetworkCommand(const std::string& what) {
  if (what.empty()) {
    std::printf("%-18s %7s %16s\n", "network", "layers", "MACs per image");
    for (const std::string& name : BuiltinNetworkNames()) {
      const Network& net = BuiltinNetwork(name);
      std::printf("%-18s %7zu %16s\n", name.c_str(), net.layers.size(), Thousands(net.Macs()).c_str());
    }
    return 0;
  }
  Network storage;
  const Network& net = NetworkNamed(what, &storage);
  std::printf("%s: %zu layers, %s MACs per image\n\n", net.name.c_str(), net.layers.size(), Thousands(net.Macs()).c_str());
  std::printf("%-28s %-7s %16s %16s %7s %7s %11s %7s %15s\n", "layer", "kind", "input HxWxC", "output HxWxC", "kernel",
              "stride", "pad t,b,l,r", "groups", "MACs");
  for (const Layer& l : net.layers) {
    const std::string in = std::to_string(l.in_h) + "x" + std::to_string(l.in_w) + "x" + std::to_string(l.in_c);
    const std::string out = std::to_string(l.OutH()) + "x" + std::to_string(l.OutW()) + "x" + std::to_string(l.out_c);
    const std::string kernel = std::to_string(l.kernel_h) + "x" + std::to_string(l.kernel_w);
    const std::string stride = std::to_string(l.stride_h) + "x" + std::to_string(l.stride_w);
    const std::string pad = std::to_string(l.pad_top) + "," + std::to_string(l.pad_bottom) + "," +
                            std::to_string(l.pad_left) + "," + std::to_string(l.pad_right);
    std::printf("%-28s %-7s %16s %16s %7s %7s %11s %7d %15s\n", l.name.c_str(), NameOf(l.kind), in.c_str(), out.c_str(),
                kernel.c_str(), stride.c_str(), pad.c_str(), l.groups, Thousands(l.Macs()).c_str());
  }
  return 0;
}

// Every layer on the model machine (docs/isa.md §8.3): what ran, MACs, the serial sum of its instructions'
// cycles, the timed cycles with units overlapping, and the MAC utilization of the tile arrays.
// The array cycles of every layer beside the closed forms of SCALE-Sim and ZigZag (docs/perf-model.md).
void PrintPeers(const std::vector<LayerRun>& runs) {
  std::printf("%-28s %-30s %13s %13s %13s %7s %7s  %s\n", "layer", "kernel", "tile32", "SCALE-Sim", "ZigZag",
              "/SS", "/ZZ", "why they differ (when by more than 10 % from both)");
  for (const LayerRun& r : runs) {
    if (r.layer->kind == LayerKind::kShuffle) continue;
    const uint64_t ss = ScaleSimCalcCycles(*r.layer), zz = ZigZagIdealCycles(*r.layer);
    std::printf("%-28s %-30s %13s %13s %13s %7.2f %7.2f  %s\n", r.layer->name.c_str(), r.kernel.substr(0, 30).c_str(),
                Thousands(r.cost.tile_cycles).c_str(), Thousands(ss).c_str(), Thousands(zz).c_str(),
                double(r.cost.tile_cycles) / double(ss), double(r.cost.tile_cycles) / double(zz),
                PeerGapReason(r).c_str());
  }
}

// The run as JSON: the network, configuration, batch, and per layer what the table prints plus every unit's
// busy and stall cycles.
void WriteModelJson(const std::string& path, const Network& net, const AccelConfig& config, int batch,
                    const std::vector<LayerRun>& runs) {
  nlohmann::ordered_json j;
  j["network"] = net.name;
  j["config"] = nlohmann::ordered_json::parse(AccelConfigToJson(config));
  j["batch"] = batch;
  const double peak = double(config.tile_units) * config.macs_per_cycle_int8;
  uint64_t macs = 0, cycles = 0;
  for (const LayerRun& r : runs) {
    const Layer& l = *r.layer;
    nlohmann::ordered_json o;
    o["name"] = l.name;
    o["kind"] = NameOf(l.kind);
    o["input"] = {l.in_h, l.in_w, l.in_c};
    o["output"] = {l.OutH(), l.OutW(), l.out_c};
    o["kernel_hw"] = {l.kernel_h, l.kernel_w};
    o["stride_hw"] = {l.stride_h, l.stride_w};
    o["groups"] = l.groups;
    o["kernel"] = r.kernel;
    o["macs"] = l.Macs() * uint64_t(batch);
    o["serial_cycles"] = r.cost.cycles;
    o["timed_cycles"] = r.timing.cycles;
    o["tile_cycles"] = r.cost.tile_cycles;
    o["sram_conflict_cycles"] = r.cost.conflict_cycles;
    o["dram_bytes"] = r.cost.dram_bytes;
    o["utilization"] = r.timing.cycles == 0 ? 0.0 : double(l.Macs()) * batch / (double(r.timing.cycles) * peak);
    for (int u = 0; u < kUnits; ++u) {
      const char* name = NameOf(static_cast<Unit>(u));
      o["units"][name] = {{"instructions", r.timing.unit[u].instructions},
                          {"busy", r.timing.unit[u].busy},
                          {"dependency_stall", r.timing.unit[u].dep_stall},
                          {"waited_on_by_others", r.timing.waited_on[u]}};
    }
    j["layers"].push_back(o);
    macs += l.Macs() * uint64_t(batch), cycles += r.timing.cycles;
  }
  j["total"] = {{"macs", macs},
                {"timed_cycles", cycles},
                {"ms", double(cycles) / (config.clock_mhz * 1e3)},
                {"images_per_s", double(batch) * config.clock_mhz * 1e6 / double(cycles)},
                {"utilization", double(macs) / (double(cycles) * peak)}};
  std::ofstream out(path);
  if (!out) Fail("tile32 model: cannot write '", path, "'");
  out << j.dump(2) << "\n";
  if (!out) Fail("tile32 model: writing '", path, "' failed");
}

int ModelCommand(const std::string& what, const std::string& preset, const std::string& file, bool peers, int batch,
                 const std::string& json) {
  Network storage;
  const Network& net = NetworkNamed(what, &storage);
  const AccelConfig config = ConfigNamed(preset, file);  // presets and loaded files are validated
  ModelMachine model(config);
  const std::vector<LayerRun> runs = RunNetwork(
      model, net,
      [&](size_t i, size_t n) {
        std::fprintf(stderr, "\rtile32 model: layer %zu of %zu", i + 1, n);
        if (i + 1 == n) std::fprintf(stderr, "\n");
      },
      batch);
  if (!json.empty()) WriteModelJson(json, net, config, batch, runs);
  if (peers) {
    PrintPeers(runs);
    return 0;
  }
  const double peak = double(config.tile_units) * config.macs_per_cycle_int8;  // INT8 MACs per cycle
  std::printf("%s on %s (%u x %u INT8 MACs/cycle at %.0f MHz), INT8, batch %d\n\n", net.name.c_str(),
              file.empty() ? (preset.empty() ? "default" : preset.c_str()) : file.c_str(), config.tile_units,
              config.macs_per_cycle_int8, config.clock_mhz, batch);
  std::printf("%-28s %-44s %15s %13s %13s %6s %s\n", "layer", "kernel", "MACs", "serial cyc", "timed cyc", "util",
              "waits on");
  uint64_t macs = 0, timed = 0, serial = 0;
  for (const LayerRun& r : runs) {
    const ModelTiming& t = r.timing;
    int most = 0;
    for (int u = 1; u < kUnits; ++u) most = t.waited_on[u] > t.waited_on[most] ? u : most;
    const uint64_t m = r.layer->Macs() * uint64_t(batch);
    const double util = t.cycles == 0 ? 0 : 100.0 * double(m) / (double(t.cycles) * peak);
    std::string kernel = r.kernel.substr(0, 44);
    std::printf("%-28s %-44s %15s %13s %13s %5.1f%% %s\n", r.layer->name.c_str(), kernel.c_str(),
                Thousands(m).c_str(), Thousands(r.cost.cycles).c_str(), Thousands(t.cycles).c_str(), util,
                t.waited_on[most] == 0 ? "-" : NameOf(static_cast<Unit>(most)));
    macs += m, timed += t.cycles, serial += r.cost.cycles;
  }
  const double ms = double(timed) / (config.clock_mhz * 1e3);
  std::printf("\ntotal: %s MACs, %s cycles timed (%s serial), %.3f ms at %.0f MHz = %.1f images/s, "
              "utilization %.1f%%\n",
              Thousands(macs).c_str(), Thousands(timed).c_str(), Thousands(serial).c_str(), ms, config.clock_mhz,
              1e3 * batch / ms, 100.0 * double(macs) / (double(timed) * peak));
  return 0;
}

int ConfigCommand(const std::string& preset, const std::string& file) {
  const AccelConfig c = ConfigNamed(preset, file);
  std::printf("%s", AccelConfigToJson(c).c_str());
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{"tile32: kernels for a 32-wide tile accelerator, its three machines and whole networks.\n"
               "Exit status: 0 success, 1 an error or a failed check, 2 bad usage.",
               "tile32"};
  app.require_subcommand(1, 1);
  CLI::App* targets = app.add_subcommand("targets", "SIMD targets compiled in, supported and dispatched; the config");
  CLI::App* demo = app.add_subcommand(
      "demo", "one layer of every operator on the scalar and the SIMD machine: GMAC/s, bit-exact or exit 1");
  CLI::App* network =
      app.add_subcommand("network", "the built-in networks, or one of them or a CSV layer table, layer by layer");
  std::string network_what;
  network->add_option("NAME|FILE", network_what, "a built-in network, or a CSV layer table (docs/networks.md)");
  CLI::App* model = app.add_subcommand(
      "model", "a network on the model machine: per layer the kernel, cycles, utilization (docs/isa.md §8.3)");
  std::string model_what, model_preset, model_config;
  model->add_option("NAME|FILE", model_what, "a built-in network, or a CSV layer table")->required();
  CLI::Option* model_preset_opt = model->add_option("--preset", model_preset, "an AccelConfig preset");
  model->add_option("--config", model_config, "an AccelConfig JSON file")->excludes(model_preset_opt);
  bool model_peers = false;
  int model_batch = 1;
  std::string model_json;
  model->add_option("--batch", model_batch, "images per layer call (default 1)")->check(CLI::Range(1, 4096));
  model->add_option("--json", model_json, "also write the run as JSON to this file");
  model->add_flag("--peers", model_peers,
                  "instead: each layer's array cycles beside SCALE-Sim's and ZigZag's closed forms, and why they differ");
  CLI::App* config = app.add_subcommand("config", "an accelerator configuration as JSON (a preset or a file)");
  std::string preset, file;
  const std::string presets = Joined(AccelConfigPresetNames());
  CLI::Option* preset_opt = config->add_option("--preset", preset, "one of " + presets + " (default: default)");
  config->add_option("--file", file, "a JSON file: every field, or \"preset\" and the fields to change")
      ->excludes(preset_opt);
  // "tile32 help" as well as --help; a word that names no command gets one line, not the whole help.
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "help") {
    if (args.size() > 1) {
      std::fprintf(stderr, "tile32: unexpected argument '%s' after 'help' (try tile32 --help)\n", args[1].c_str());
      return kUsageError;
    }
    args[0] = "--help";
  }
  const auto named = app.get_subcommands([&](CLI::App* sub) { return !args.empty() && sub->check_name(args[0]); });
  if (!args.empty() && args[0][0] != '-' && named.empty()) {
    std::fprintf(stderr, "tile32: unknown command '%s' (try tile32 --help)\n", args[0].c_str());
    return kUsageError;
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kUsageError;
  }
  if (targets->parsed()) return Targets();
  if (demo->parsed()) return Demo();
  if (network->parsed()) return NetworkCommand(network_what);
  if (config->parsed()) return ConfigCommand(preset, file);
  if (model->parsed()) return ModelCommand(model_what, model_preset, model_config, model_peers, model_batch, model_json);
  return kUsageError;
}

}  // namespace
}  // namespace tile32

int main(int argc, char** argv) {
  try {
    return tile32::Main(argc, argv);
  } catch (const tile32::Error& e) {
    std::fprintf(stderr, "tile32: error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tile32: internal error: %s\n", e.what());
  }
  return 1;
}

// The tile32 command-line tool:
//   tile32 --help | -h | help    usage
//   tile32 targets               SIMD targets (compiled, supported, dispatched) and the accelerator config
//   tile32 demo                  one layer of every operator (kernels/operators.inc) on the scalar and the
//                                SIMD machine: time, GMAC/s, and whether the two agree bit for bit
//   tile32 network [NAME|FILE]   the built-in networks, or one (built-in or a CSV layer table) layer by layer
//   tile32 report NAME|FILE [--preset NAME | --config FILE] [--precision P] [--batch N] [--sweep B,...]
//                 [--json FILE] [--svg FILE] [--verify] [--no-winograd] [--peers]
//                                a network on the model machine: per layer cycles, utilization, what bounds it,
//                                where the cycles go and a fix hint; latency and a batch sweep ("model" too)
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
#include "accel/host_cpu.h"
#include "accel/error.h"
#include "accel/machine.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "accel/model_machine.h"
#include "kernels/network.h"
#include "kernels/network_run.h"
#include "tools/common.h"
#include "tools/demo.h"
#include "tools/report.h"

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
  const HostCpu& host = Host();
  std::string why_not;
  std::printf("\nHost CPU: %s\n", host.model.empty() ? "(model unknown)" : host.model.c_str());
  std::printf("  AVX2 %s, AVX-512 %s, AVX512-VNNI %s, AVX512-BF16 %s\n", host.avx2 ? "yes" : "no",
              host.avx512bw ? "yes" : "no", host.avx512vnni ? "yes" : "no", host.avx512bf16 ? "yes" : "no");
  if (host.AmxInt8Usable(&why_not)) {
    std::printf("  AMX-INT8: usable (CPU, OS and Linux's tile data permission)\n");
  } else {
    std::printf("  AMX-INT8: not usable: %s\n", why_not.c_str());
  }
  std::printf("\nAccelerator configuration (AccelConfig::Default())\n%s", AccelConfig::Default().Describe().c_str());
  return 0;
}

int Demo() { return demo::RunDemo() ? 0 : 1; }

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
  CLI::App* report = app.add_subcommand(
      "report", "a network on the model machine: per layer cycles, utilization, what bounds it, where the cycles "
                "go and how to fix it; latency and a throughput sweep (docs/perf-model.md)");
  report->alias("model");
  ReportRequest rq;
  std::string precision = "int8";
  report->add_option("NAME|FILE", rq.network, "a built-in network, or a CSV layer table")->required();
  CLI::Option* report_preset = report->add_option("--preset", rq.preset, "an AccelConfig preset");
  report->add_option("--config", rq.config_file, "an AccelConfig JSON file")->excludes(report_preset);
  report->add_option("--precision", precision, "int8 (default), int16 or bf16")
      ->check(CLI::IsMember({"int8", "int16", "bf16"}));
  report->add_option("--batch", rq.batch, "images per layer call (default 1)")->check(CLI::Range(1, 4096));
  rq.sweep = {1, 2, 4, 8};
  report->add_option("--sweep", rq.sweep, "batch sizes of the throughput sweep (default 1 2 4 8; 0 for none)")
      ->delimiter(',')
      ->check(CLI::Range(0, 4096));
  report->add_option("--json", rq.json_file, "also write the report as JSON to this file");
  report->add_option("--svg", rq.svg_file, "also draw a roofline and each layer's losses into this SVG file");
  report->add_flag("--verify", rq.verify,
                   "also: a sample of every layer shape on the scalar and the SIMD machine, bit for bit, host GMAC/s");
  report->add_flag("--no-winograd", rq.no_winograd, "plan without Winograd (to see what it gains)");
  report->add_flag("--peers", rq.peers,
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
  if (report->parsed()) {
    rq.precision = PrecisionNamed(precision);
    rq.sweep.erase(std::remove(rq.sweep.begin(), rq.sweep.end(), 0), rq.sweep.end());
    return ReportCommand(rq);
  }
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

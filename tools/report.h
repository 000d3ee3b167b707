// `tile32 report`: a network on the model machine, per layer where its cycles go (kernels/report.h), the
// whole network's latency and throughput over a batch sweep; optionally JSON and SVG charts.
#pragma once

#include <string>
#include <vector>

#include "kernels/network_run.h"

namespace tile32 {

struct ReportRequest {
  std::string network;      // a built-in name or a CSV layer table
  std::string preset;       // "" = default
  std::string config_file;  // wins over preset when given
  Precision precision = Precision::kInt8;
  int batch = 1;
  std::vector<int> sweep;   // batch sizes of the throughput sweep (empty: none)
  std::string json_file, svg_file;
  bool peers = false;       // instead: array cycles beside SCALE-Sim's and ZigZag's closed forms
  bool verify = false;      // also: samples of every layer shape on the scalar and SIMD machines (tools/verify.h)
  bool no_winograd = false;  // plan without Winograd (what it gains: the two reports' totals)
};

// 0, or 1 when --verify found a sample that is not bit-exact.
int ReportCommand(const ReportRequest& request);

}  // namespace tile32

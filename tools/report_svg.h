// `tile32 report --svg FILE`: two charts of a report, drawn by PLplot's SVG driver (Debian's libplplot-dev):
// a roofline (one point per layer: MACs per DRAM byte against MACs per cycle achieved, under the compute roof
// of every tile array and the DRAM bandwidth roof) and a stacked bar per layer of where its cycles go
// (kernels/report.h parts, % of the layer's cycles; Winograd's saving below zero).
#pragma once

#include <string>
#include <vector>

#include "accel/config.h"
#include "kernels/report.h"

namespace tile32 {

// The fill colors the charts use ("#2E8B57"): a part's bars and legend swatch, and the layers' points.
const char* ChartColorOf(Part p);
const char* ChartPointColor();

void WriteReportSvg(const std::string& path, const std::string& title, const AccelConfig& config,
                    Precision precision, const std::vector<LayerReport>& reports);

}  // namespace tile32

// tools/report_svg.h.
#include "tools/report_svg.h"

#include <plplot.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "accel/error.h"

namespace tile32 {
namespace {

// PLplot color map 0 entries: 0 background, 1 axes and text, 2.. the parts, then the roofs and points.
constexpr int kPartColor = 2;
constexpr int kRoofColor = kPartColor + kParts;
constexpr int kPointColor = kRoofColor + 1;

// Background, ink, the parts in Part order, the roofs, the layers' points.
const char* const kColors[] = {"#FFFFFF", "#000000", "#2E8B57", "#E69F00", "#56B4E9", "#0072B2", "#CC79A7",
                               "#8C564B", "#D55E00", "#787878", "#C82828", "#9664C8", "#F0E442", "#3C3C3C",
                               "#005AA0"};
static_assert(std::size(kColors) == kPointColor + 1, "one color per map entry");

void SetColors() {
  plscmap0n(static_cast<PLINT>(std::size(kColors)));
  for (size_t i = 0; i < std::size(kColors); ++i) {
    const unsigned rgb = static_cast<unsigned>(std::stoul(kColors[i] + 1, nullptr, 16));
    plscol0(PLINT(i), PLINT(rgb >> 16), PLINT((rgb >> 8) & 255), PLINT(rgb & 255));
  }
}

void Roofline(const std::string& title, const AccelConfig& config, Precision precision,
              const std::vector<LayerReport>& reports) {
  const double peak = PeakMacsPerCycle(config, precision), bandwidth = config.DramBytesPerCycle();
  std::vector<PLFLT> x, y;
  for (const LayerReport& r : reports) {
    if (r.macs == 0 || r.run->DramBytes() == 0 || r.cycles == 0) continue;
    x.push_back(std::log10(double(r.macs) / double(r.run->DramBytes())));
    y.push_back(std::log10(double(r.macs) / double(r.cycles)));
  }
  double x0 = -1, x1 = 4, y0 = 0, y1 = std::log10(peak) + 0.5;
  for (size_t i = 0; i < x.size(); ++i) {
    x0 = std::min(x0, std::floor(x[i])), x1 = std::max(x1, std::ceil(x[i]));
    y0 = std::min(y0, std::floor(y[i]));
  }
  plcol0(1);
  plenv(x0, x1, y0, y1, 0, 30);  // 30: both axes logarithmic
  pllab("MACs per DRAM byte", "MACs per cycle", (title + ": roofline, one point per layer").c_str());
  // The roofs: bandwidth * intensity up to the ridge, then the compute peak.
  const int n = 200;
  std::vector<PLFLT> rx(n), ry(n);
  for (int i = 0; i < n; ++i) {
    rx[i] = x0 + (x1 - x0) * i / (n - 1);
    ry[i] = std::min(std::log10(peak), std::log10(bandwidth) + rx[i]);
  }
  plcol0(kRoofColor);
  plwidth(2);
  plline(n, rx.data(), ry.data());
  plwidth(1);
  char label[96];
  std::snprintf(label, sizeof label, "peak %.0f MACs/cycle", peak);
  plptex(x1 - 0.05 * (x1 - x0), std::log10(peak) + 0.1, 1, 0, 1, label);
  std::snprintf(label, sizeof label, "DRAM %.1f bytes/cycle", bandwidth);
  plptex(x0 + 0.05 * (x1 - x0), std::log10(bandwidth) + x0 + 0.05 * (x1 - x0) + 0.15, 1, 1, 0, label);
  plcol0(kPointColor);
  if (!x.empty()) plpoin(PLINT(x.size()), x.data(), y.data(), 17);  // 17: a filled dot
}

void LossBars(const std::string& title, const std::vector<LayerReport>& reports) {
  double lo = 0, hi = 100;
  for (const LayerReport& r : reports) {
    if (r.cycles == 0) continue;
    lo = std::min(lo, 100.0 * double(r.part[int(Part::kWinograd)]) / double(r.cycles));
    double positive = 0;
    for (int p = 0; p < kParts; ++p) positive += std::max<int64_t>(0, r.part[p]);
    hi = std::max(hi, 100.0 * positive / double(r.cycles));
  }
  const double top = hi * 1.3;  // room for the legend
  plcol0(1);
  plenv(-0.5, double(reports.size()) - 0.5, lo, top, 0, 0);
  pllab("layer (in network order)", "% of the layer's cycles",
        (title + ": where each layer's cycles go").c_str());
  for (size_t i = 0; i < reports.size(); ++i) {
    const LayerReport& r = reports[i];
    if (r.cycles == 0) continue;
    double up = 0;
    for (int p = 0; p < kParts; ++p) {
      const double share = 100.0 * double(r.part[p]) / double(r.cycles);
      if (share == 0) continue;
      const double from = share > 0 ? up : 0, to = share > 0 ? up + share : share;
      if (share > 0) up += share;
      PLFLT bx[4] = {PLFLT(i) - 0.4, PLFLT(i) + 0.4, PLFLT(i) + 0.4, PLFLT(i) - 0.4};
      PLFLT by[4] = {from, from, to, to};
      plcol0(kPartColor + p);
      plfill(4, bx, by);
    }
  }
  // The legend: a swatch and a name per part, in two rows above the bars.
  constexpr int kPerRow = (kParts + 1) / 2;
  const double step = double(reports.size()) / kPerRow;
  for (int p = 0; p < kParts; ++p) {
    const double x = -0.5 + step * (p % kPerRow), y = hi * (p < kPerRow ? 1.2 : 1.08);
    PLFLT bx[4] = {x, x + step * 0.08, x + step * 0.08, x};
    PLFLT by[4] = {y, y, y + hi * 0.06, y + hi * 0.06};
    plcol0(kPartColor + p);
    plfill(4, bx, by);
    plcol0(1);
    plptex(x + step * 0.11, y + hi * 0.015, 1, 0, 0, NameOf(static_cast<Part>(p)));
  }
}

}  // namespace

const char* ChartColorOf(Part p) { return kColors[kPartColor + int(p)]; }
const char* ChartPointColor() { return kColors[kPointColor]; }

void WriteReportSvg(const std::string& path, const std::string& title, const AccelConfig& config,
                    Precision precision, const std::vector<LayerReport>& reports) {
  // PLplot reports a file it cannot open on stderr and exits the process: check first.
  if (!std::ofstream(path)) Fail("tile32 report: cannot write '", path, "' (", std::strerror(errno), ")");
  plsdev("svg");
  plsfnam(path.c_str());
  plspage(0, 0, 1000, 1300, 0, 0);
  SetColors();
  plssub(1, 2);
  plinit();
  plschr(0, 0.7);
  Roofline(title, config, precision, reports);
  LossBars(title, reports);
  plend();
}

}  // namespace tile32

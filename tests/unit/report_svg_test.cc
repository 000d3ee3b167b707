// The report's charts (tools/report_svg.h): the SVG is well-formed XML (every element closed in order) and
// holds one bar segment per non-zero part of each layer and one point per layer on the roofline. That they
// render in a browser is tests/cli/svg_renders.sh (headless Chromium).
#include "tools/report_svg.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "accel/error.h"
#include "accel/model_machine.h"

namespace tile32 {
namespace {

// Checks that `xml` is well-formed as far as elements go (declarations, comments and a DOCTYPE skipped) and
// counts the elements by their fill attribute. "" when well-formed, else what is wrong.
std::string ParseSvg(const std::string& xml, std::map<std::string, int>* fills, int* elements) {
  std::vector<std::string> open;
  size_t i = 0;
  *elements = 0;
  while ((i = xml.find('<', i)) != std::string::npos) {
    if (xml.compare(i, 2, "<?") == 0 || xml.compare(i, 2, "<!") == 0) {
      i = xml.find('>', i);
      if (i == std::string::npos) return "unterminated declaration";
      continue;
    }
    const size_t end = xml.find('>', i);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
    const std::string tag = xml.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty()) return "empty tag";
    if (tag[0] == '/') {
      const std::string name = tag.substr(1, tag.find_first_of(" \n\t") - 1);
      if (open.empty() || open.back() != name) return "</" + name + "> closes " + (open.empty() ? "nothing" : open.back());
      open.pop_back();
      continue;
    }
    const std::string name = tag.substr(0, tag.find_first_of(" \n\t/"));
    ++*elements;
    const size_t fill = tag.find("fill=\"");
    if (fill != std::string::npos) ++(*fills)[tag.substr(fill + 6, 7)];
    if (tag.back() != '/') open.push_back(name);
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

TEST(ReportSvg, WellFormedWithABarPerPartAndAPointPerLayer) {
  const AccelConfig config = AccelConfig::Default();
  ModelMachine model(config);
  const Network& net = BuiltinNetwork("shufflenetv2");
  const std::vector<LayerRun> runs = RunNetwork(model, net);
  std::vector<LayerReport> reports;
  for (const LayerRun& r : runs) reports.push_back(ReportLayer(r, config));
  const std::string path = ::testing::TempDir() + "tile32_report_svg_test.svg";
  WriteReportSvg(path, net.name, config, Precision::kInt8, reports);
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::remove(path.c_str());
  std::map<std::string, int> fills;
  int elements = 0;
  EXPECT_EQ(ParseSvg(text.str(), &fills, &elements), "");
  ASSERT_NE(text.str().find("<svg"), std::string::npos);
  EXPECT_GT(elements, 100);
  int points = 0;
  for (const LayerReport& r : reports) points += r.macs > 0 && r.run->cost.dram_bytes > 0;
  EXPECT_EQ(fills[ChartPointColor()], points);
  for (int p = 0; p < kParts; ++p) {
    int bars = 0;
    for (const LayerReport& r : reports) bars += r.part[p] != 0;
    EXPECT_EQ(fills[ChartColorOf(static_cast<Part>(p))], bars + 1) << NameOf(static_cast<Part>(p)) << " (and its swatch)";
  }
}

TEST(ReportSvg, AnUnwritablePathIsAClearError) {
  try {
    WriteReportSvg("no-such-directory/x.svg", "net", AccelConfig::Default(), Precision::kInt8, {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write 'no-such-directory/x.svg'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tile32

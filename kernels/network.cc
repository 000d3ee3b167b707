// Layer arithmetic, layer checks and the CSV layer tables of kernels/network.h (the built-in tables are in
// kernels/builtin_networks.cc).
#include "kernels/network.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "accel/error.h"

namespace tile32 {
namespace {

constexpr int kMaxExtent = 1 << 20;  // sizes, channels, kernels, strides and pads, as the operators allow

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Cells of a CSV line (no quoting: names and numbers only), trimmed; a trailing comma adds no cell.
std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream is(line);
  while (std::getline(is, cell, ',')) cells.push_back(Trim(cell));
  if (!cells.empty() && cells.back().empty() && !line.empty() && line.back() == ',') cells.pop_back();
  return cells;
}

}  // namespace

const char* NameOf(LayerKind k) {
  switch (k) {
    case LayerKind::kConv: return "conv";
    case LayerKind::kFc: return "fc";
    case LayerKind::kShuffle: return "shuffle";
  }
  return "invalid";
}

int Layer::OutH() const {
  if (kind == LayerKind::kFc) return 1;
  if (kind == LayerKind::kShuffle) return in_h;
  return (in_h + pad_top + pad_bottom - kernel_h) / stride_h + 1;
}

int Layer::OutW() const {
  if (kind == LayerKind::kFc) return 1;
  if (kind == LayerKind::kShuffle) return in_w;
  return (in_w + pad_left + pad_right - kernel_w) / stride_w + 1;
}

std::string Layer::ShapeKey() const {
  std::ostringstream os;
  os << int(kind) << ' ' << in_h << ' ' << in_w << ' ' << in_c << ' ' << out_c << ' ' << kernel_h << ' ' << kernel_w
     << ' ' << stride_h << ' ' << stride_w << ' ' << pad_top << ' ' << pad_bottom << ' ' << pad_left << ' '
     << pad_right << ' ' << groups;
  return os.str();
}

uint64_t Layer::Macs() const {
  if (kind == LayerKind::kShuffle) return 0;
  if (kind == LayerKind::kFc) return uint64_t(in_h) * in_w * in_c * out_c;  // the whole input map flattened
  return uint64_t(OutH()) * OutW() * out_c * (in_c / groups) * kernel_h * kernel_w;
}

uint64_t Network::Macs() const {
  uint64_t sum = 0;
  for (const Layer& l : layers) sum += l.Macs();
  return sum;
}

void CheckLayer(const Layer& l) {
  const std::string who = "layer '" + l.name + "'";
  auto range = [&](const char* field, int v, int lo) {
    if (v < lo || v > kMaxExtent) Fail(who, ": ", field, " = ", v, " is outside [", lo, ", ", kMaxExtent, "]");
  };
  if (l.kind != LayerKind::kConv && l.kind != LayerKind::kFc && l.kind != LayerKind::kShuffle) {
    Fail(who, ": kind ", int{static_cast<uint8_t>(l.kind)}, " is not one of conv, fc, shuffle");
  }
  range("in_h", l.in_h, 1);
  range("in_w", l.in_w, 1);
  range("in_c", l.in_c, 1);
  range("out_c", l.out_c, 1);
  range("groups", l.groups, 1);
  if (l.kind == LayerKind::kShuffle) {
    if (l.out_c != l.in_c) Fail(who, ": a shuffle keeps its channels: out_c = ", l.out_c, " != in_c = ", l.in_c);
    if (l.in_c % l.groups != 0) Fail(who, ": groups = ", l.groups, " does not divide in_c = ", l.in_c);
    return;
  }
  // Each extent is bounded; their products (MACs, cycles, bytes) must fit tile32's 64-bit counts too.
  using Wide = unsigned __int128;
  auto countable = [&](Wide macs) {
    if (macs > Wide{1} << 62) {
      Fail(who, ": ", static_cast<double>(macs), " MACs per image is more than tile32 counts (2^62)");
    }
  };
  if (l.kind == LayerKind::kFc) {
    if (l.groups != 1) Fail(who, ": an fc layer has groups = 1, not ", l.groups);
    countable(Wide(l.in_h) * l.in_w * l.in_c * l.out_c);
    return;
  }
  range("kernel_h", l.kernel_h, 1);
  range("kernel_w", l.kernel_w, 1);
  range("stride_h", l.stride_h, 1);
  range("stride_w", l.stride_w, 1);
  range("pad_top", l.pad_top, 0);
  range("pad_bottom", l.pad_bottom, 0);
  range("pad_left", l.pad_left, 0);
  range("pad_right", l.pad_right, 0);
  if (l.in_c % l.groups != 0 || l.out_c % l.groups != 0) {
    Fail(who, ": groups = ", l.groups, " must divide in_c = ", l.in_c, " and out_c = ", l.out_c);
  }
  if (l.in_h + l.pad_top + l.pad_bottom < l.kernel_h || l.in_w + l.pad_left + l.pad_right < l.kernel_w) {
    Fail(who, ": the ", l.kernel_h, "x", l.kernel_w, " kernel is larger than the padded ", l.in_h, "x", l.in_w,
         " input (pads ", l.pad_top, ",", l.pad_bottom, ",", l.pad_left, ",", l.pad_right, "): no output pixel");
  }
  countable(Wide(l.OutH()) * l.OutW() * l.out_c * (l.in_c / l.groups) * l.kernel_h * l.kernel_w);
}

// ---- CSV ----
// tile32's columns, in any order (the header names them): name, kind (conv, fc, shuffle), in_h, in_w, in_c,
// out_c required; kernel (both axes) or kernel_h and kernel_w, stride or stride_h and stride_w, pad (all four
// sides) or pad_top, pad_bottom, pad_left and pad_right, groups optional (1, 1, 0, 1). SCALE-Sim's topology
// CSV: "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides",
// dense convolutions whose IFMAP already includes any padding (SCALE-Sim computes (IFMAP - Filter) / Stride +
// 1 outputs per axis), so they are read with pad 0. Blank lines and lines starting with '#' are skipped.
Network ReadNetworkCsv(std::istream& in, const std::string& source, const std::string& name) {
  const std::string fn = "ReadNetworkCsv: " + source;
  Network net;
  net.name = name;
  std::string line;
  int line_no = 0;
  std::vector<std::string> header;
  bool scalesim = false;
  std::map<std::string, size_t> column;
  static const std::vector<std::string> kTile32Columns = {
      "name",   "kind",     "in_h",     "in_w", "in_c",    "out_c",      "kernel",   "kernel_h",  "kernel_w",
      "stride", "stride_h", "stride_w", "pad",  "pad_top", "pad_bottom", "pad_left", "pad_right", "groups"};
  static const std::vector<std::string> kScaleSimColumns = {"layer name",   "ifmap height", "ifmap width",
                                                            "filter height", "filter width", "channels",
                                                            "num filter",    "strides"};
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    const std::vector<std::string> cells = Cells(line);
    const std::string where = fn + ":" + std::to_string(line_no) + ": ";
    if (header.empty()) {
      header = cells;
      for (std::string& h : header) h = Lower(h);
      scalesim = header[0] == "layer name";
      const std::vector<std::string>& known = scalesim ? kScaleSimColumns : kTile32Columns;
      for (size_t i = 0; i < header.size(); ++i) {
        if (std::find(known.begin(), known.end(), header[i]) == known.end()) {
          Fail(where, "unknown column '", cells[i], "' (", scalesim ? "SCALE-Sim's columns" : "the columns", " are: ",
               Joined(known), ")");
        }
        if (!column.emplace(header[i], i).second) Fail(where, "column '", cells[i], "' appears twice");
      }
      const std::vector<std::string> required =
          scalesim ? kScaleSimColumns : std::vector<std::string>{"name", "kind", "in_h", "in_w", "in_c", "out_c"};
      for (const std::string& r : required) {
        if (!column.count(r)) Fail(where, "the header has no column '", r, "'");
      }
      continue;
    }
    if (cells.size() != header.size()) {
      Fail(where, "expected ", header.size(), " cells as in the header, found ", cells.size());
    }
    auto text = [&](const std::string& col) { return cells[column.at(col)]; };
    auto has = [&](const std::string& col) { return column.count(col) != 0; };
    auto number = [&](const std::string& col) {
      const std::string& v = text(col);
      size_t used = 0;
      long long x = 0;
      try {
        x = std::stoll(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (v.empty() || used != v.size()) Fail(where, "column '", col, "' = '", v, "' is not an integer");
      if (x < 0 || x > kMaxExtent) Fail(where, "column '", col, "' = ", v, " is outside [0, ", kMaxExtent, "]");
      return static_cast<int>(x);
    };
    Layer l;
    if (scalesim) {
      l.name = text("layer name");
      l.in_h = number("ifmap height"), l.in_w = number("ifmap width");
      l.kernel_h = number("filter height"), l.kernel_w = number("filter width");
      l.in_c = number("channels"), l.out_c = number("num filter");
      l.stride_h = l.stride_w = number("strides");
    } else {
      l.name = text("name");
      const std::string kind = Lower(text("kind"));
      if (kind == "conv") {
        l.kind = LayerKind::kConv;
      } else if (kind == "fc") {
        l.kind = LayerKind::kFc;
      } else if (kind == "shuffle") {
        l.kind = LayerKind::kShuffle;
      } else {
        Fail(where, "column 'kind' = '", text("kind"), "' is not one of conv, fc, shuffle");
      }
      l.in_h = number("in_h"), l.in_w = number("in_w"), l.in_c = number("in_c"), l.out_c = number("out_c");
      if (has("kernel")) l.kernel_h = l.kernel_w = number("kernel");
      if (has("kernel_h")) l.kernel_h = number("kernel_h");
      if (has("kernel_w")) l.kernel_w = number("kernel_w");
      if (has("stride")) l.stride_h = l.stride_w = number("stride");
      if (has("stride_h")) l.stride_h = number("stride_h");
      if (has("stride_w")) l.stride_w = number("stride_w");
      if (has("pad")) l.pad_top = l.pad_bottom = l.pad_left = l.pad_right = number("pad");
      if (has("pad_top")) l.pad_top = number("pad_top");
      if (has("pad_bottom")) l.pad_bottom = number("pad_bottom");
      if (has("pad_left")) l.pad_left = number("pad_left");
      if (has("pad_right")) l.pad_right = number("pad_right");
      if (has("groups")) l.groups = number("groups");
    }
    if (l.name.empty()) l.name = "line " + std::to_string(line_no);
    try {
      CheckLayer(l);
    } catch (const Error& e) {
      Fail(where, e.what());
    }
    net.layers.push_back(l);
  }
  if (header.empty()) Fail(fn, ": no header line (and no layers)");
  if (net.layers.empty()) Fail(fn, ": a header but no layers");
  return net;
}

Network ReadNetworkCsvFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) Fail("ReadNetworkCsv: cannot open '", path, "'");
  std::string name = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  if (name.size() > 4 && Lower(name.substr(name.size() - 4)) == ".csv") name.resize(name.size() - 4);
  return ReadNetworkCsv(in, path, name);
}

}  // namespace tile32

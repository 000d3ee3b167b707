// The built-in networks against their published MAC totals (BRIEF figures in docs/networks.md), their layer
// structure, and the CSV layer tables: both column sets, and a clear error for every kind of bad row.
#include "kernels/network.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "accel/error.h"
#include "accel/model_machine.h"
#include "kernels/network_run.h"
#include "kernels/planner.h"

namespace tile32 {
namespace {

struct Published {
  const char* name;
  double gmacs;    // the published whole-model figure
  double rel_tol;  // how close the table must come
};

// ResNet-50 v1.5 4.09 G (He et al.; torchvision), MobileNetV2 0.30 G (Sandler et al.: 300 M multiply-adds),
// ShuffleNetV2 1.0x 146 M (Ma et al. Table 5, "FLOPs" counted as multiply-adds), YOLOv3-416 32.9 G (darknet
// prints 65.864 BFLOPs, two per MAC).
const Published kPublished[] = {{"resnet50", 4.09, 0.005},
                                {"mobilenetv2", 0.300, 0.01},
                                {"shufflenetv2", 0.146, 0.015},
                                {"yolov3-416", 32.932, 0.001}};

TEST(Network, BuiltinMacTotalsMatchThePublishedFigures) {
  for (const Published& p : kPublished) {
    const double gmacs = static_cast<double>(BuiltinNetwork(p.name).Macs()) / 1e9;
    EXPECT_NEAR(gmacs, p.gmacs, p.gmacs * p.rel_tol) << p.name;
  }
}

TEST(Network, Yolov3At1920x1088ScalesWithThePixelCount) {
  // Every map is the input divided by a power of two (1088 = 34 * 32), so each layer's MACs scale by the
  // ratio of input pixels exactly.
  const uint64_t small = BuiltinNetwork("yolov3-416").Macs(), large = BuiltinNetwork("yolov3-1920x1088").Macs();
  EXPECT_EQ(large * (416 * 416), small * (1920ull * 1088));
}

TEST(Network, BuiltinLayerStructure) {
  const Network& r = BuiltinNetwork("resnet50");
  EXPECT_EQ(r.layers.size(), 54u);  // conv1, 16 bottlenecks of 3, 4 projections, fc
  EXPECT_EQ(r.layers.front().Macs(), 112ull * 112 * 64 * 3 * 7 * 7);
  EXPECT_EQ(r.layers.back().kind, LayerKind::kFc);
  EXPECT_EQ(r.layers.back().Macs(), 2048ull * 1000);
  const Network& m = BuiltinNetwork("mobilenetv2");
  int depthwise = 0;
  for (const Layer& l : m.layers) depthwise += l.groups == l.in_c && l.in_c > 1;
  EXPECT_EQ(depthwise, 17);  // one per bottleneck
  EXPECT_EQ(BuiltinNetwork("yolov3-416").layers.size(), 75u);  // darknet's 75 convolutions
  int shuffles = 0;
  for (const Layer& l : BuiltinNetwork("shufflenetv2").layers) shuffles += l.kind == LayerKind::kShuffle;
  EXPECT_EQ(shuffles, 16);  // one per unit: 4 + 8 + 4
  for (const std::string& name : BuiltinNetworkNames()) {
    for (const Layer& l : BuiltinNetwork(name).layers) EXPECT_NO_THROW(CheckLayer(l)) << name << " " << l.name;
  }
}

// The benchmark layers (bench/conv_layers.h) are layers of the built-in networks.
TEST(Network, BenchmarkLayersAppearInTheBuiltinNetworks) {
  auto find = [](const char* net, int h, int c, int k, int kernel, int stride, int groups) {
    for (const Layer& l : BuiltinNetwork(net).layers) {
      if (l.in_h == h && l.in_c == c && l.out_c == k && l.kernel_h == kernel && l.stride_h == stride &&
          l.groups == groups) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(find("resnet50", 56, 64, 64, 3, 1, 1));
  EXPECT_TRUE(find("resnet50", 14, 1024, 256, 1, 1, 1));
  EXPECT_TRUE(find("mobilenetv2", 112, 96, 96, 3, 2, 96));
  EXPECT_TRUE(find("mobilenetv2", 7, 960, 960, 3, 1, 960));
  EXPECT_TRUE(find("shufflenetv2", 14, 116, 116, 3, 1, 116));
  EXPECT_TRUE(find("yolov3-416", 52, 128, 256, 3, 1, 1));
}

// The message of the tile32::Error that f throws ("" when it throws none).
template <typename F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Network, UnknownBuiltinNamesTheKnownOnes) {
  const std::string e = ErrorOf([] { BuiltinNetwork("resnet18"); });
  EXPECT_NE(e.find("no built-in network 'resnet18'"), std::string::npos) << e;
  EXPECT_NE(e.find("mobilenetv2"), std::string::npos) << e;
}

std::string CsvOf(const Network& net) {
  std::ostringstream os;
  os << "name,kind,in_h,in_w,in_c,out_c,kernel_h,kernel_w,stride_h,stride_w,pad_top,pad_bottom,pad_left,"
        "pad_right,groups\n";
  for (const Layer& l : net.layers) {
    os << l.name << "," << NameOf(l.kind) << "," << l.in_h << "," << l.in_w << "," << l.in_c << "," << l.out_c << ","
       << l.kernel_h << "," << l.kernel_w << "," << l.stride_h << "," << l.stride_w << "," << l.pad_top << ","
       << l.pad_bottom << "," << l.pad_left << "," << l.pad_right << "," << l.groups << "\n";
  }
  return os.str();
}

// Every layer of the built-in networks runs through the real kernels on the model machine (the 1920x1088
// YOLOv3 is the 416 one scaled, left out for time): each layer's MACs as its table says, and its timed
// cycles at most the serial sum of its instructions.
TEST(NetworkRun, EveryBuiltinLayerRunsOnTheModelMachine) {
  for (const std::string& name : BuiltinNetworkNames()) {
    if (name == "yolov3-1920x1088") continue;
    const Network& net = BuiltinNetwork(name);
    ModelMachine model(AccelConfig::Default());
    size_t heard = 0;
    RunOptions options;
    options.progress = [&](size_t i, size_t n) {
      EXPECT_EQ(i, heard++);
      EXPECT_EQ(n, net.layers.size());
    };
    const std::vector<LayerRun> runs = RunNetwork(model, net, options);
    ASSERT_EQ(runs.size(), net.layers.size()) << name;
    uint64_t macs = 0;
    for (const LayerRun& r : runs) {
      // The array's MACs: at least the layer's (padded lanes count too), except Winograd's, 2.25x fewer.
      if (r.kernel.rfind("winograd", 0) != 0) {
        EXPECT_GE(r.cost.macs, r.layer->Macs()) << name << " " << r.layer->name;
      }
      EXPECT_LE(r.timing.cycles, r.cost.cycles) << name << " " << r.layer->name;
      EXPECT_GT(r.timing.cycles, 0u) << name << " " << r.layer->name;
      EXPECT_FALSE(r.kernel.empty());
      macs += r.layer->Macs();
    }
    EXPECT_EQ(macs, net.Macs());
  }
}

TEST(NetworkRun, ABatchOfImagesDoesThatManyTimesTheMacs) {
  ModelMachine one(AccelConfig::Default()), three(AccelConfig::Default());
  const Network& net = BuiltinNetwork("shufflenetv2");
  RunOptions three_images;
  three_images.batch = 3;
  const std::vector<LayerRun> a = RunNetwork(one, net), b = RunNetwork(three, net, three_images);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].cost.macs, 3 * a[i].cost.macs) << net.layers[i].name;
    EXPECT_GE(b[i].timing.cycles, a[i].timing.cycles) << net.layers[i].name;
  }
  ModelMachine m(AccelConfig::Default());
  RunOptions none;
  none.batch = 0;
  EXPECT_NE(ErrorOf([&] { RunNetwork(m, net, none); }).find("batch = 0 is outside [1, 4096]"), std::string::npos);
}

// Resident bytes of this process now (Linux: /proc/self/statm), or 0 where it cannot be read.
uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// A model machine moves no data, so a layer's zero input and output take no memory: 512x512x1024 is 256 MiB
// in and 256 MiB out, which zeroed vectors held (and wrote) in full. A sanitizer's shadow of the buffers
// (an eighth of them) stays under the bound.
TEST(NetworkRun, ZeroTensorsOfAModelRunHoldNoMemory) {
  Layer l;
  l.name = "big", l.in_h = l.in_w = 512, l.in_c = l.out_c = 1024;
  const uint64_t tensors = 2 * uint64_t(l.in_h) * l.in_w * l.in_c;  // uint8 in and out, one image
  const uint64_t before = ResidentBytes();
  if (before == 0) GTEST_SKIP() << "/proc/self/statm cannot be read here";
  ModelMachine model(AccelConfig::Default());
  LayerCall call(l, RunOptions{});
  const LayerRun run = call.Run(model);
  EXPECT_EQ(run.cost.macs, l.Macs());
  const uint64_t after = ResidentBytes();
  EXPECT_LT(after - std::min(after, before), tensors / 4) << "resident before " << before << ", after " << after;
}

// A layer whose tensors the host cannot hold (the model machine's kernels bind real, if lazily zeroed, buffers): the plan
// fails with tile32's error naming the layer and why each kernel was refused, before allocating (not
// std::bad_alloc after seconds, nor an fc or shuffle layer left unplanned for the report to crash on).
TEST(Planner, ALayerTooLargeForTheHostIsNamedWithEveryRefusal) {
  auto one = [](LayerKind kind, int hw, int c, int k, int groups) {
    Network net;
    net.name = "big";
    Layer l;
    l.name = "huge", l.kind = kind, l.in_h = l.in_w = hw, l.in_c = c, l.out_c = k, l.groups = groups;
    if (kind == LayerKind::kConv) l.kernel_h = l.kernel_w = 3, l.pad_top = l.pad_bottom = l.pad_left = l.pad_right = 1;
    net.layers.push_back(l);
    return net;
  };
  const struct {
    Network net;
    std::string expect;
  } cases[] = {
      {one(LayerKind::kConv, 100000, 4096, 4096, 1),
       "PlanNetwork: big: layer 'huge': no kernel runs it:\n  depthwise, winograd, direct tap-major, direct folded: "
       "RunLayer: layer 'huge': the input would need 4.096e+13 bytes, more than the limit of 17179869184 (16 GiB)"},
      // 10^9 inputs to 10 outputs: 10 GB of weights, 32 GB once padded to whole tiles.
      {one(LayerKind::kFc, 1000, 1000, 10, 1),
       "layer 'huge': no kernel runs it:\n  gemm: RunLayer: layer 'huge': the packed weights would need 3.2e+10 bytes"},
      {one(LayerKind::kFc, 50000, 1, 10, 1),
       "an fc layer's input of 2500000000 elements (50000x50000x1) is more than a GEMM's K can be (2147483647)"},
      {one(LayerKind::kShuffle, 60000, 64, 64, 2), "shuffle routes, shuffle permutation: RunLayer: layer 'huge': the input would"},
  };
  for (const auto& c : cases) {
    const std::string e = ErrorOf([&] { PlanNetwork(c.net, AccelConfig::Default(), RunOptions{}); });
    EXPECT_NE(e.find(c.expect), std::string::npos) << "got: '" << e << "'\nexpected: " << c.expect;
  }
}

TEST(NetworkPeers, ClosedFormsOfALayer) {
  Layer l;  // ResNet-50 conv2_x 3x3: C = K = 64, 56x56
  l.in_h = l.in_w = 56, l.in_c = l.out_c = 64, l.kernel_h = l.kernel_w = 3;
  l.pad_top = l.pad_bottom = l.pad_left = l.pad_right = 1;
  EXPECT_EQ(ScaleSimCalcCycles(l), 18ull * 2 * (3136 + 94) - 1);
  EXPECT_EQ(ZigZagIdealCycles(l), 2ull * 2 * 9 * 3136);
  l.groups = 64, l.out_c = 64;  // depthwise: C = 1 per output
  EXPECT_EQ(ZigZagIdealCycles(l), 2ull * 1 * 9 * 3136);
}

// On one 32x32 array with DRAM that never stalls, every ResNet-50 and MobileNetV2 layer's array cycles, run
// as planned (what `tile32 report --peers` prints), are within 10 % of SCALE-Sim's or ZigZag's closed form,
// or the difference is explained (docs/perf-model.md has the table).
TEST(NetworkPeers, EveryGapIsExplained) {
  AccelConfig one;
  one.tile_units = 1, one.dram_gb_per_s = 1e6, one.dram_latency_cycles = 0;
  for (const char* name : {"resnet50", "mobilenetv2"}) {
    const std::vector<LayerPlan> plan = PlanNetwork(BuiltinNetwork(name), one, RunOptions{});
    for (const LayerRun& r : RunsOf(plan)) {
      const std::string why = PeerGapReason(r);
      EXPECT_NE(why, "unexplained") << name << " " << r.layer->name << ": " << r.cost.tile_cycles;
      const double ss = double(ScaleSimCalcCycles(*r.layer)), zz = double(ZigZagIdealCycles(*r.layer));
      const double ours = double(r.cost.tile_cycles);
      const bool near = (ours >= 0.9 * ss && ours <= 1.1 * ss) || (ours >= 0.9 * zz && ours <= 1.1 * zz);
      EXPECT_EQ(why.empty(), near) << name << " " << r.layer->name;
    }
  }
}

TEST(NetworkCsv, EveryBuiltinRoundTrips) {
  for (const std::string& name : BuiltinNetworkNames()) {
    const Network& net = BuiltinNetwork(name);
    std::istringstream in(CsvOf(net));
    const Network back = ReadNetworkCsv(in, name + ".csv", name);
    ASSERT_EQ(back.layers.size(), net.layers.size()) << name;
    EXPECT_EQ(back.Macs(), net.Macs()) << name;
    for (size_t i = 0; i < net.layers.size(); ++i) {
      EXPECT_EQ(back.layers[i].name, net.layers[i].name);
      EXPECT_EQ(back.layers[i].Macs(), net.layers[i].Macs()) << net.layers[i].name;
      EXPECT_EQ(back.layers[i].OutH(), net.layers[i].OutH()) << net.layers[i].name;
    }
  }
}

TEST(NetworkCsv, ShortColumnsCommentsAndAnyOrder) {
  std::istringstream in(
      "# a two-layer net\n"
      "kind, name, in_c, out_c, in_h, in_w, kernel, stride, pad, groups\n"
      "\n"
      "conv, stem, 3, 32, 224, 224, 3, 2, 1, 1\r\n"
      "conv, dw, 32, 32, 112, 112, 3, 1, 1, 32\n");
  const Network net = ReadNetworkCsv(in, "two.csv", "two");
  ASSERT_EQ(net.layers.size(), 2u);
  EXPECT_EQ(net.layers[0].OutH(), 112);
  EXPECT_EQ(net.layers[0].Macs(), 112ull * 112 * 32 * 3 * 9);
  EXPECT_EQ(net.layers[1].Macs(), 112ull * 112 * 32 * 9);
}

TEST(NetworkCsv, ReadsScaleSimTopologies) {
  // SCALE-Sim's ResNet-50 topology gives conv1 as a 230x230 IFMAP (224 padded by 3) and 7x7 stride 2.
  std::istringstream in(
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
      "Conv1,230,230,7,7,3,64,2,\n"
      "CB2a_1,56,56,1,1,64,64,1,\n");
  const Network net = ReadNetworkCsv(in, "resnet50_scalesim.csv", "resnet50");
  ASSERT_EQ(net.layers.size(), 2u);
  EXPECT_EQ(net.layers[0].OutH(), 112);
  EXPECT_EQ(net.layers[0].Macs(), BuiltinNetwork("resnet50").layers[0].Macs());
  EXPECT_EQ(net.layers[1].Macs(), 56ull * 56 * 64 * 64);
}

// Each bad table fails with an error naming the line and what is wrong.
TEST(NetworkCsv, BadTablesNameTheLineAndTheProblem) {
  const std::string header = "name,kind,in_h,in_w,in_c,out_c,kernel,stride,pad,groups\n";
  const struct {
    std::string csv, expect;
  } cases[] = {
      {"", "no header line"},
      {header, "a header but no layers"},
      {"name,kind,in_h,in_w,in_c\nx,conv,1,1,1\n", "net.csv:1: the header has no column 'out_c'"},
      {"name,kind,in_h,in_w,in_c,out_c,size\n", "net.csv:1: unknown column 'size'"},
      {"name,name,kind,in_h,in_w,in_c,out_c\n", "net.csv:1: column 'name' appears twice"},
      {header + "a,conv,56,56,64,64,3,1,1\n", "net.csv:2: expected 10 cells as in the header, found 9"},
      {header + "a,conv,56,5x6,64,64,3,1,1,1\n", "net.csv:2: column 'in_w' = '5x6' is not an integer"},
      {header + "a,conv,56,56,-64,64,3,1,1,1\n", "net.csv:2: column 'in_c' = -64 is outside [0, 1048576]"},
      {header + "a,pool,56,56,64,64,3,1,1,1\n", "net.csv:2: column 'kind' = 'pool' is not one of conv, fc, shuffle"},
      {header + "a,conv,56,56,64,64,3,0,1,1\n", "net.csv:2: layer 'a': stride_h = 0 is outside [1, 1048576]"},
      {header + "a,conv,56,56,64,64,3,1,1,3\n", "net.csv:2: layer 'a': groups = 3 must divide in_c = 64"},
      {header + "a,conv,2,2,8,8,7,1,1,1\n", "net.csv:2: layer 'a': the 7x7 kernel is larger than the padded 2x2"},
      {header + "a,shuffle,7,7,58,58,1,1,0,4\n", "net.csv:2: layer 'a': groups = 4 does not divide in_c = 58"},
      {header + "a,shuffle,7,7,58,60,1,1,0,2\n", "net.csv:2: layer 'a': a shuffle keeps its channels"},
      {header + "a,fc,1,1,2048,1000,1,1,0,2\n", "net.csv:2: layer 'a': an fc layer has groups = 1, not 2"},
      // Every extent in range, their product not: MACs per image would wrap a 64-bit count.
      {header + "a,conv,1048576,1048576,1048576,1048576,1,1,0,1\n",
       "net.csv:2: layer 'a': 1.20893e+24 MACs per image is more than tile32 counts (2^62)"},
      {header + "a,fc,1048576,1048576,1048576,1048576,1,1,0,1\n", "net.csv:2: layer 'a': 1.20893e+24 MACs per image"},
  };
  for (const auto& c : cases) {
    const std::string e = ErrorOf([&] {
      std::istringstream in(c.csv);
      ReadNetworkCsv(in, "net.csv", "net");
    });
    EXPECT_NE(e.find(c.expect), std::string::npos) << "got: '" << e << "'\nexpected: " << c.expect << "\nfor:\n" << c.csv;
  }
}

TEST(NetworkCsv, MissingFileIsAClearError) {
  const std::string e = ErrorOf([] { ReadNetworkCsvFile("no-such-folder/net.csv"); });
  EXPECT_NE(e.find("cannot open 'no-such-folder/net.csv'"), std::string::npos) << e;
}

}  // namespace
}  // namespace tile32

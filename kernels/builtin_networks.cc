// The built-in networks of kernels/network.h, built layer by layer as their papers and reference definitions
// give them (224x224 inputs unless named otherwise; one image). Their MAC totals are checked against the
// published figures in tests/unit/network_test.cc.
#include <map>
#include <string>

#include "accel/error.h"
#include "kernels/network.h"

namespace tile32 {
namespace {

struct Builder {
  Builder(const char* name, int height, int width) : h(height), w(width) { net.name = name; }
  Network net;
  int h, w;  // the current feature map

  // A square-kernel convolution at the current map, padding (kernel - 1) / 2 on every side (every network
  // here pads so), which moves the map to its output.
  void Conv(const std::string& name, int in_c, int out_c, int kernel, int stride, int groups = 1) {
    Layer l;
    l.name = name;
    l.in_h = h, l.in_w = w, l.in_c = in_c, l.out_c = out_c;
    l.kernel_h = l.kernel_w = kernel;
    l.stride_h = l.stride_w = stride;
    l.pad_top = l.pad_bottom = l.pad_left = l.pad_right = (kernel - 1) / 2;
    l.groups = groups;
    net.layers.push_back(l);
    h = l.OutH(), w = l.OutW();
  }
  void Depthwise(const std::string& name, int c, int stride) { Conv(name, c, c, 3, stride, c); }
  void Fc(const std::string& name, int in_c, int out_c) {
    Layer l;
    l.name = name, l.kind = LayerKind::kFc, l.in_c = in_c, l.out_c = out_c;
    net.layers.push_back(l);
  }
  void Shuffle(const std::string& name, int c, int groups) {
    Layer l;
    l.name = name, l.kind = LayerKind::kShuffle, l.in_h = h, l.in_w = w, l.in_c = l.out_c = c, l.groups = groups;
    net.layers.push_back(l);
  }
  void Pool2() { h = (h + 1) / 2, w = (w + 1) / 2; }  // a 3x3 stride-2 max pool with padding 1 (no MACs)
};

// ResNet-50 v1.5 (He et al. 2016, Table 1; torchvision's v1.5 puts the stride of a down-sampling bottleneck
// in its 3x3 convolution): 4.09 G MACs.
Network ResNet50() {
  Builder b("resnet50", 224, 224);
  b.Conv("conv1", 3, 64, 7, 2);
  b.Pool2();
  const int mids[4] = {64, 128, 256, 512}, blocks[4] = {3, 4, 6, 3};
  int in_c = 64;
  for (int s = 0; s < 4; ++s) {
    const int mid = mids[s], out = 4 * mid;
    for (int k = 0; k < blocks[s]; ++k) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(k) + ".";
      const int stride = k == 0 && s > 0 ? 2 : 1;
      const int h = b.h, w = b.w;
      b.Conv(p + "conv1", in_c, mid, 1, 1);
      b.Conv(p + "conv2", mid, mid, 3, stride);
      b.Conv(p + "conv3", mid, out, 1, 1);
      if (k == 0) {  // the projection shortcut, on the block's input
        const int oh = b.h, ow = b.w;
        b.h = h, b.w = w;
        b.Conv(p + "downsample", in_c, out, 1, stride);
        b.h = oh, b.w = ow;
      }
      in_c = out;
    }
  }
  b.Fc("fc", 2048, 1000);
  return b.net;
}

// MobileNetV2 1.0 (Sandler et al. 2018, Table 2): 0.30 G MACs.
Network MobileNetV2() {
  Builder b("mobilenetv2", 224, 224);
  b.Conv("features.0", 3, 32, 3, 2);
  struct Row {
    int t, c, n, s;
  };
  const Row rows[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                      {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int in_c = 32, index = 1;
  for (const Row& r : rows) {
    for (int i = 0; i < r.n; ++i, ++index) {
      const std::string p = "features." + std::to_string(index) + ".";
      const int hidden = in_c * r.t;
      if (r.t != 1) b.Conv(p + "expand", in_c, hidden, 1, 1);
      b.Depthwise(p + "dw", hidden, i == 0 ? r.s : 1);
      b.Conv(p + "project", hidden, r.c, 1, 1);
      in_c = r.c;
    }
  }
  b.Conv("features.18", 320, 1280, 1, 1);
  b.Fc("classifier", 1280, 1000);
  return b.net;
}

// ShuffleNetV2 1.0x (Ma et al. 2018, Table 5 and Fig. 3): 0.146 G MACs. A stride-2 unit runs both branches
// on the whole input; a stride-1 unit splits the channels in half and runs the right branch on one half;
// both end in a channel shuffle of 2 groups.
Network ShuffleNetV2() {
  Builder b("shufflenetv2", 224, 224);
  b.Conv("conv1", 3, 24, 3, 2);
  b.Pool2();
  const int outs[3] = {116, 232, 464}, repeats[3] = {4, 8, 4};
  int in_c = 24;
  for (int s = 0; s < 3; ++s) {
    const int out = outs[s], half = out / 2;
    for (int k = 0; k < repeats[s]; ++k) {
      const std::string p = "stage" + std::to_string(s + 2) + "." + std::to_string(k) + ".";
      if (k == 0) {
        const int h = b.h, w = b.w;
        b.Depthwise(p + "branch1.dw", in_c, 2);
        b.Conv(p + "branch1.pw", in_c, half, 1, 1);
        b.h = h, b.w = w;
        b.Conv(p + "branch2.pw1", in_c, half, 1, 1);
        b.Depthwise(p + "branch2.dw", half, 2);
      } else {
        b.Conv(p + "branch2.pw1", half, half, 1, 1);
        b.Depthwise(p + "branch2.dw", half, 1);
      }
      b.Conv(p + "branch2.pw2", half, half, 1, 1);
      b.Shuffle(p + "shuffle", out, 2);
    }
    in_c = out;
  }
  b.Conv("conv5", 464, 1024, 1, 1);
  b.Fc("fc", 1024, 1000);
  return b.net;
}

// YOLOv3 (darknet's yolov3.cfg): the Darknet-53 backbone and three detection heads; the 255 outputs of a head
// are 3 anchors x (80 classes + 5). 32.9 G MACs at 416x416. Layers are named after their darknet index.
Network YoloV3(const char* name, int height, int width) {
  Builder b(name, height, width);
  int index = 0;
  auto conv = [&](int in_c, int out_c, int kernel, int stride) {
    b.Conv("conv" + std::to_string(index++), in_c, out_c, kernel, stride);
  };
  conv(3, 32, 3, 1);
  const int stages[5] = {1, 2, 8, 8, 4};
  int c = 32;
  int route36_h = 0, route36_w = 0, route61_h = 0, route61_w = 0;
  for (int s = 0; s < 5; ++s) {
    conv(c, 2 * c, 3, 2);
    c *= 2;
    for (int r = 0; r < stages[s]; ++r) {
      conv(c, c / 2, 1, 1);
      conv(c / 2, c, 3, 1);
    }
    if (s == 2) route36_h = b.h, route36_w = b.w;  // 256 channels, the third head's skip
    if (s == 3) route61_h = b.h, route61_w = b.w;  // 512 channels, the second head's skip
  }
  // Head i at channel width m: five convolutions alternating 1x1 (to m) and 3x3 (to 2m), then 3x3 and the
  // 1x1 to 255; the fifth's output (m channels) goes on through a 1x1 to m/2 and a 2x upsample.
  auto head = [&](int in_c, int m, bool last) {
    conv(in_c, m, 1, 1);
    conv(m, 2 * m, 3, 1);
    conv(2 * m, m, 1, 1);
    conv(m, 2 * m, 3, 1);
    conv(2 * m, m, 1, 1);
    const int h = b.h, w = b.w;
    conv(m, 2 * m, 3, 1);
    conv(2 * m, 255, 1, 1);
    if (last) return;
    b.h = h, b.w = w;
    conv(m, m / 2, 1, 1);
  };
  head(1024, 512, false);
  b.h = route61_h, b.w = route61_w;  // upsampled to the skip's size and concatenated: 256 + 512
  head(768, 256, false);
  b.h = route36_h, b.w = route36_w;  // 128 + 256
  head(384, 128, true);
  return b.net;
}

const std::map<std::string, Network>& Builtins() {
  static const std::map<std::string, Network> nets = [] {
    std::map<std::string, Network> m;
    for (Network n : {ResNet50(), MobileNetV2(), ShuffleNetV2(), YoloV3("yolov3-416", 416, 416),
                      YoloV3("yolov3-1920x1088", 1088, 1920)}) {
      for (const Layer& l : n.layers) CheckLayer(l);
      m.emplace(n.name, std::move(n));
    }
    return m;
  }();
  return nets;
}

}  // namespace

std::vector<std::string> BuiltinNetworkNames() {
  return {"resnet50", "mobilenetv2", "shufflenetv2", "yolov3-416", "yolov3-1920x1088"};
}

const Network& BuiltinNetwork(const std::string& name) {
  const auto& nets = Builtins();
  const auto it = nets.find(name);
  if (it == nets.end()) {
    Fail("BuiltinNetwork: no built-in network '", name, "' (built-in: ", Joined(BuiltinNetworkNames()),
         "; or give a CSV layer table)");
  }
  return it->second;
}

}  // namespace tile32

// Networks as tables of layers, for reports and sweeps over whole models: the built-in ones (ResNet-50 v1.5,
// MobileNetV2, ShuffleNetV2 1.0x, YOLOv3 at 416x416 and 1920x1088) and a user's own, read from a CSV layer
// table (docs/networks.md gives the columns; SCALE-Sim's topology CSV is read too).
//
// A table lists the layers that do MACs (convolutions, grouped and depthwise ones included, and fully
// connected layers as GEMMs) and the channel shuffles, in execution order. Pooling, element-wise additions,
// concatenations and upsampling are not layers here: they do no MACs, and a shuffle is listed because the
// accelerator runs it (kernels/channel_shuffle.h) or folds it into the next convolution.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace tile32 {

enum class LayerKind : uint8_t {
  kConv,     // convolution: dense, grouped or depthwise (groups == in_c)
  kFc,       // fully connected: in_c inputs to out_c outputs per image (a GEMM with M = batch)
  kShuffle,  // channel shuffle of in_c channels in `groups` groups
};
const char* NameOf(LayerKind k);

struct Layer {
  std::string name;
  LayerKind kind = LayerKind::kConv;
  int in_h = 1, in_w = 1, in_c = 1;  // input height, width, channels
  int out_c = 1;                     // output channels (= in_c for a shuffle)
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int groups = 1;  // convolution groups, or a shuffle's groups

  int OutH() const;  // (in_h + pads - kernel_h) / stride_h + 1; 1 for an FC layer
  int OutW() const;
  uint64_t Macs() const;  // per image: out_h * out_w * out_c * (in_c / groups) * kernel_h * kernel_w; 0 for a shuffle
  // Every field but the name, as text: layers with the same key run the same instructions.
  std::string ShapeKey() const;
};

struct Network {
  std::string name;
  std::vector<Layer> layers;
  uint64_t Macs() const;  // per image, the sum over layers
};

// "resnet50", "mobilenetv2", "shufflenetv2", "yolov3-416", "yolov3-1920x1088".
std::vector<std::string> BuiltinNetworkNames();
// The built-in network of that name; tile32::Error naming the known ones otherwise.
const Network& BuiltinNetwork(const std::string& name);

// A network from a CSV layer table (docs/networks.md): tile32's own columns, or SCALE-Sim's topology
// columns (recognized by their header). `source` names the input in errors ("net.csv:7: ..."). Every row is
// checked (shape, stride, padding, groups, an output of at least one pixel); a bad row is a tile32::Error
// naming the line, the column and the value.
Network ReadNetworkCsv(std::istream& in, const std::string& source, const std::string& name);
Network ReadNetworkCsvFile(const std::string& path);

// Checks one layer as ReadNetworkCsv does ("layer 'x': stride_h = 0 must be at least 1").
void CheckLayer(const Layer& layer);

}  // namespace tile32

// oneDNN as the speed peer of tile32's convolutions and channel shuffle: an int8 convolution primitive with
// its weights reordered once into the primitive's preferred format, and a shuffle primitive, run on caller
// buffers. Like onednn_peer.h, the oneDNN headers stay in the .cc: without TILE32_HAVE_ONEDNN the classes
// compile and their constructors throw. Threads: call SetOpenMpThreads (onednn_peer.h) first.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace tile32::bench {

enum class OneDnnConvAlgorithm { kAuto, kDirect, kWinograd };  // algorithm::convolution_*

struct OneDnnConvSpec {
  int batch = 1, height = 0, width = 0;
  int in_channels = 0, out_channels = 0, groups = 1;  // groups == in_channels: depthwise
  int kernel = 1, stride = 1, pad = 0;                // square, both axes, all four sides
  OneDnnConvAlgorithm algorithm = OneDnnConvAlgorithm::kAuto;
  float output_scale = 1;  // per tensor
  // Per tensor, through primitive_attr::set_zero_points; 0 = not set. Padded taps hold the source zero
  // point (they add nothing), the same contract as tile32's x_zero_point.
  int32_t src_zero_point = 0, dst_zero_point = 0;
};

// y = saturate_u8(rne(fl32(fl32(acc) * output_scale) + dst_zero_point)) with
// acc = sum (x - src_zero_point) * w: x uint8 NHWC, w int8 OHWI [K][kernel][kernel][C/groups], y uint8
// NHWC. That is tile32's RequantMode::kFloatZpFirst; the benchmark's guard checks it bit for bit.
class OneDnnConv {
 public:
  // Reorders w into the primitive's format once. Throws std::runtime_error with oneDNN's message when oneDNN
  // is not compiled in or has no implementation (e.g. int8 Winograd with zero points).
  OneDnnConv(const OneDnnConvSpec& spec, const int8_t* w);
  ~OneDnnConv();
  OneDnnConv(const OneDnnConv&) = delete;
  OneDnnConv& operator=(const OneDnnConv&) = delete;

  void Run(const uint8_t* x, uint8_t* y);  // and waits
  const std::string& impl_name() const;    // impl_info_str(): "jit_int8:avx512_core_vnni", ...

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// tile32's channel shuffle, y[i*groups + j] = x[j*(C/groups) + i] (kernels/channel_shuffle.h), of a uint8
// NHWC tensor with oneDNN's shuffle_forward on axis 1. oneDNN's group_size is the number of channels per
// group, C / groups: its dst[u + v*(C/G)] = src[u*G + v] with G = group_size, u < C/G, v < G.
class OneDnnShuffle {
 public:
  OneDnnShuffle(int batch, int height, int width, int channels, int groups);
  ~OneDnnShuffle();
  OneDnnShuffle(const OneDnnShuffle&) = delete;
  OneDnnShuffle& operator=(const OneDnnShuffle&) = delete;

  void Run(const uint8_t* x, uint8_t* y);
  const std::string& impl_name() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tile32::bench

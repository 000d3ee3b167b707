// The convolution and channel-shuffle layers every conv benchmark runs: real layers of
// real networks, batch 1, one list for tile32, oneDNN and memcpy alike. Add a layer here and every kind it
// lists, both implementations and both thread counts pick it up.
#pragma once

namespace tile32::bench {

// What a layer is benchmarked as (bits of ConvLayer::kinds). Order = kConvKindNames = benchmark order.
enum ConvKind : unsigned {
  kConvDirect = 1u << 0,     // u8 x s8 -> u8, ConvAlgorithm::kDirect (peer: oneDNN convolution_auto)
  kConvDirectS16 = 1u << 1,  // int16 x int16 -> int16, kDirect (no peer: oneDNN has no int16 convolution)
  kConvGemm = 1u << 2,       // tile32 Gemm on the layer's im2col matrix (the same MACs)
  kConvWinograd = 1u << 3,   // ConvAlgorithm::kWinograd (3x3 stride 1; peer: oneDNN convolution_winograd)
  kConvDepthwise = 1u << 4,  // ConvAlgorithm::kDepthwise (groups == C; peer: oneDNN grouped convolution)
  kConvShuffle = 1u << 5,    // ChannelShuffle u8 (peer: oneDNN shuffle, and memcpy of the same bytes)
};
inline constexpr const char* kConvKindNames[] = {"direct", "direct-s16", "gemm",
                                                 "winograd", "depthwise", "shuffle"};

struct ConvLayer {
  const char* name;  // <network>.<what>.<input size>[.s<stride>]
  int N, H, W;       // input batch, height, width (NHWC)
  int C, K;          // input and output channels (K = C for a shuffle)
  int groups;        // convolution groups (C for depthwise); for a shuffle, the shuffle's groups
  int kernel, stride, pad;  // square kernel, both axes; pad on all four sides
  unsigned kinds;    // ConvKind bits
};

constexpr unsigned kDense3x3 = kConvDirect | kConvDirectS16 | kConvGemm | kConvWinograd;
constexpr unsigned kDense1x1 = kConvDirect | kConvDirectS16 | kConvGemm;

inline constexpr ConvLayer kConvLayers[] = {
    // ResNet-50 (He et al. 2016, Table 1): the stride-1 3x3 convolutions of conv2_x..conv5_x, C = K.
    {"resnet50.3x3.56", 1, 56, 56, 64, 64, 1, 3, 1, 1, kDense3x3},  // conv2_x
    {"resnet50.3x3.28", 1, 28, 28, 128, 128, 1, 3, 1, 1, kDense3x3},  // conv3_x
    {"resnet50.3x3.14", 1, 14, 14, 256, 256, 1, 3, 1, 1, kDense3x3},  // conv4_x
    {"resnet50.3x3.7", 1, 7, 7, 512, 512, 1, 3, 1, 1, kDense3x3},  // conv5_x
    // ResNet-50 bottleneck 1x1s: conv2_x expansion and conv4_x reduction.
    {"resnet50.1x1.56", 1, 56, 56, 64, 256, 1, 1, 1, 0, kDense1x1},  // conv2_x 1x1 64->256
    {"resnet50.1x1.14", 1, 14, 14, 1024, 256, 1, 1, 1, 0, kDense1x1},  // conv4_x 1x1 1024->256
    // MobileNetV2 (Sandler et al. 2018, Table 2, 224x224 input): every distinct depthwise 3x3 pad 1 of its
    // bottlenecks (channels = expansion 6 x input, 32 for the first with t = 1).
    {"mobilenetv2.dw.112x32", 1, 112, 112, 32, 32, 32, 3, 1, 1, kConvDepthwise},  // bottleneck 1 (t=1)
    {"mobilenetv2.dw.112x96.s2", 1, 112, 112, 96, 96, 96, 3, 2, 1, kConvDepthwise},  // bottleneck 2, first
    {"mobilenetv2.dw.56x144", 1, 56, 56, 144, 144, 144, 3, 1, 1, kConvDepthwise},  // bottleneck 2, second
    {"mobilenetv2.dw.56x144.s2", 1, 56, 56, 144, 144, 144, 3, 2, 1, kConvDepthwise},  // bottleneck 3, first
    {"mobilenetv2.dw.28x192", 1, 28, 28, 192, 192, 192, 3, 1, 1, kConvDepthwise},  // bottleneck 3, rest
    {"mobilenetv2.dw.28x192.s2", 1, 28, 28, 192, 192, 192, 3, 2, 1, kConvDepthwise},  // bottleneck 4, first
    {"mobilenetv2.dw.14x384", 1, 14, 14, 384, 384, 384, 3, 1, 1, kConvDepthwise},  // bottlenecks 4 and 5
    {"mobilenetv2.dw.14x576", 1, 14, 14, 576, 576, 576, 3, 1, 1, kConvDepthwise},  // bottleneck 5, rest
    {"mobilenetv2.dw.14x576.s2", 1, 14, 14, 576, 576, 576, 3, 2, 1, kConvDepthwise},  // bottleneck 6, first
    {"mobilenetv2.dw.7x960", 1, 7, 7, 960, 960, 960, 3, 1, 1, kConvDepthwise},  // bottlenecks 6 and 7
    // ShuffleNetV2 1.0x (Ma et al. 2018, Table 5): the stride-1 unit's branch (half the stage's channels:
    // 1x1, depthwise 3x3, 1x1) and the channel shuffle (groups 2) of the concatenated stage output.
    {"shufflenetv2.dw.28", 1, 28, 28, 58, 58, 58, 3, 1, 1, kConvDepthwise},  // stage 2 (116 channels), branch
    {"shufflenetv2.dw.14", 1, 14, 14, 116, 116, 116, 3, 1, 1, kConvDepthwise},  // stage 3 (232), branch
    {"shufflenetv2.dw.7", 1, 7, 7, 232, 232, 232, 3, 1, 1, kConvDepthwise},  // stage 4 (464), branch
    {"shufflenetv2.1x1.28", 1, 28, 28, 58, 58, 1, 1, 1, 0, kDense1x1},  // stage 2, branch
    {"shufflenetv2.1x1.14", 1, 14, 14, 116, 116, 1, 1, 1, 0, kDense1x1},  // stage 3, branch
    {"shufflenetv2.1x1.7", 1, 7, 7, 232, 232, 1, 1, 1, 0, kDense1x1},  // stage 4, branch
    {"shufflenetv2.shuffle.28", 1, 28, 28, 116, 116, 2, 1, 1, 0, kConvShuffle},  // stage 2 shuffle
    {"shufflenetv2.shuffle.14", 1, 14, 14, 232, 232, 2, 1, 1, 0, kConvShuffle},  // stage 3 shuffle
    {"shufflenetv2.shuffle.7", 1, 7, 7, 464, 464, 2, 1, 1, 0, kConvShuffle},  // stage 4 shuffle
    // YOLOv3 (Redmon and Farhadi 2018, Darknet-53 at 416x416): the 3x3 of the 52x52 residual blocks.
    {"yolov3.3x3.52", 1, 52, 52, 128, 256, 1, 3, 1, 1, kDense3x3},
    // The background article's 47 -> 94-channel 3x3 layer (bench/shapes.h has its GEMM, 3136x94x423):
    // channel counts that fill no 32-lane block.
    {"article.3x3.56", 1, 56, 56, 47, 94, 1, 3, 1, 1, kDense3x3},
};

// Thread counts every layer runs with (ConvArgs::threads for tile32, omp_set_num_threads for oneDNN).
inline constexpr int kConvThreads[] = {1, 2};

inline int ConvOut(int in, const ConvLayer& l) { return (in + 2 * l.pad - l.kernel) / l.stride + 1; }

}  // namespace tile32::bench

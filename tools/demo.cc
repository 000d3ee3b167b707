#include "tools/demo.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "kernels/channel_shuffle.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"

namespace tile32::demo {
namespace {

std::vector<uint8_t> Bytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

std::vector<int32_t> Bias(std::mt19937_64& rng, int n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& b : v) b = static_cast<int32_t>(rng() % 20001) - 10000;
  return v;
}

// Output quantization that spreads typical accumulators over uint8: ~0.707 * 2^-12, zero point 128.
struct DemoQuant {
  int32_t multiplier = 1518500250, shift = -12;
  OutputQuant q;
  DemoQuant() {
    q.mode = RequantMode::kTflDouble, q.multiplier = &multiplier, q.shift = &shift;
    q.zero_point = 128, q.qmin = 0, q.qmax = 255;
  }
};

struct Timed {
  double seconds = 0;
  std::vector<uint8_t> output;
};

// One untimed call (allocating SRAM and first-touching pages is no kernel work), then the timed one.
template <typename MachineT>
Timed RunOn(const DemoCase& c) {
  MachineT machine(AccelConfig::Default());
  c.run(machine);
  Timed t;
  const auto start = std::chrono::steady_clock::now();
  t.output = c.run(machine);
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t;
}

}  // namespace

DemoCase DemoGemm() {
  auto rng = std::make_shared<std::mt19937_64>(20240101);
  const int M = 256, N = 256, K = 256;
  auto a = std::make_shared<std::vector<uint8_t>>(Bytes(*rng, size_t(M) * K));
  const std::vector<uint8_t> b = Bytes(*rng, size_t(K) * N);
  const std::vector<int32_t> bias = Bias(*rng, N);
  auto quant = std::make_shared<DemoQuant>();
  GemmWeightsDesc desc;
  desc.a_type = DType::kU8, desc.b_type = DType::kI8, desc.K = K, desc.N = N, desc.b = b.data(), desc.ldb = N;
  desc.bias = bias.data();
  auto packed = std::make_shared<PackedGemmWeights>(PackGemmWeights(desc));
  DemoCase c;
  c.what = "gemm u8 x i8 -> u8 TFL_DOUBLE, M=256 N=256 K=256";
  c.work = double(M) * N * K;
  c.run = [=](Machine& m) {
    std::vector<uint8_t> out(size_t(M) * N);
    GemmArgs args;
    args.M = M, args.a = a->data(), args.lda = K, args.a_zero_point = 128;
    args.c_type = DType::kU8, args.c = out.data(), args.ldc = N, args.quant = &quant->q;
    Gemm(m, *packed, args);
    return out;
  };
  return c;
}

// A convolution layer of `algorithm` on NHWC u8 input with zero point 128 and u8 output.
DemoCase DemoConvLayer(const char* what, ConvDesc d, int H, int W) {
  auto rng = std::make_shared<std::mt19937_64>(20240102);
  const int cg = d.in_channels / d.groups;
  auto x = std::make_shared<std::vector<uint8_t>>(Bytes(*rng, size_t(H) * W * d.in_channels));
  const std::vector<uint8_t> w = Bytes(*rng, size_t(d.out_channels) * d.kernel_h * d.kernel_w * cg);
  const std::vector<int32_t> bias = Bias(*rng, d.out_channels);
  auto quant = std::make_shared<DemoQuant>();
  d.x_type = DType::kU8, d.w_type = DType::kI8, d.w = w.data(), d.bias = bias.data();
  auto packed = std::make_shared<PackedConv>(PackConv(d));
  const int OH = ConvOutHeight(d, H), OW = ConvOutWidth(d, W);
  DemoCase c;
  c.what = std::string(what) + " (" + packed->Describe() + "), u8 x i8 -> u8, " + std::to_string(H) + "x" +
           std::to_string(W) + "x" + std::to_string(d.in_channels) + " -> " + std::to_string(d.out_channels) + ", " +
           std::to_string(d.kernel_h) + "x" + std::to_string(d.kernel_w) + " stride " + std::to_string(d.stride_h);
  c.work = double(OH) * OW * d.out_channels * d.kernel_h * d.kernel_w * cg;
  const int K = d.out_channels;
  c.run = [=](Machine& m) {
    std::vector<uint8_t> out(size_t(OH) * OW * K);
    ConvArgs args;
    args.height = H, args.width = W, args.x = x->data(), args.x_zero_point = 128;
    args.y_type = DType::kU8, args.y = out.data(), args.quant = &quant->q;
    Conv(m, *packed, args);
    return out;
  };
  return c;
}

DemoCase DemoConvDirect() {
  ConvDesc d;
  d.in_channels = 64, d.out_channels = 64, d.kernel_h = d.kernel_w = 3;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1, d.algorithm = ConvAlgorithm::kDirect;
  return DemoConvLayer("conv", d, 28, 28);
}

DemoCase DemoConvWinograd() {
  ConvDesc d;
  d.in_channels = 64, d.out_channels = 64, d.kernel_h = d.kernel_w = 3;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1, d.algorithm = ConvAlgorithm::kWinograd;
  return DemoConvLayer("conv", d, 28, 28);
}

DemoCase DemoConvDepthwise() {
  ConvDesc d;
  d.in_channels = d.out_channels = d.groups = 144, d.kernel_h = d.kernel_w = 3;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1, d.algorithm = ConvAlgorithm::kDepthwise;
  return DemoConvLayer("depthwise (MobileNetV2)", d, 56, 56);
}

DemoCase DemoChannelShuffle() {
  auto rng = std::make_shared<std::mt19937_64>(20240103);
  const int C = 116, groups = 2, pixels = 28 * 28;
  auto x = std::make_shared<std::vector<uint8_t>>(Bytes(*rng, size_t(pixels) * C));
  ChannelShuffleDesc d;
  d.channels = C, d.groups = groups, d.type = DType::kU8;
  auto packed = std::make_shared<PackedChannelShuffle>(PackChannelShuffle(d));
  DemoCase c;
  c.what = "channel shuffle (ShuffleNetV2), u8, 28x28x116, groups 2";
  c.work = 2.0 * pixels * C;  // read and written
  c.bytes = true;
  c.run = [=](Machine& m) {
    std::vector<uint8_t> out(x->size());
    ChannelShuffleArgs args;
    args.height = 28, args.width = 28, args.x = x->data(), args.y = out.data();
    ChannelShuffle(m, *packed, args);
    return out;
  };
  return c;
}

bool RunDemo() {
  const SimdTargets targets = ListSimdTargets();
  std::printf("tile32 demo: every operator on the scalar reference machine and the SIMD machine (dispatched SIMD "
              "target: %s)\n\n",
              targets.dispatched.name.empty() ? "(none)" : targets.dispatched.name.c_str());
  bool ok = true;
#define TILE32_OPERATOR(name, kind, what) Demo##name,
  DemoCase (*const cases[])() = {
#include "kernels/operators.inc"
  };
#undef TILE32_OPERATOR
  for (auto make : cases) {
    const DemoCase c = make();
    const Timed scalar = RunOn<ScalarMachine>(c);
    const Timed simd = RunOn<SimdMachine>(c);
    const bool same = scalar.output == simd.output;
    std::printf("%s\n", c.what.c_str());
    for (const auto& [name, t] : {std::make_pair("scalar", &scalar), std::make_pair("simd", &simd)}) {
      std::printf("  %-7s %10.2f ms  %8.3f %s\n", name, t->seconds * 1e3, c.work / t->seconds / 1e9,
                  c.bytes ? "GB/s" : "GMAC/s");
    }
    std::printf("  bit-exact: %s\n\n", same ? "yes" : "NO");
    ok &= same;
  }
  std::printf("%s\n", ok ? "all outputs bit-exact" : "MISMATCH: the SIMD machine differs from the reference");
  return ok;
}

}  // namespace tile32::demo

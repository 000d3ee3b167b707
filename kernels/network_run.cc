// kernels/network_run.h: each layer kind to its operator, with zero or random data of the right sizes.
#include "kernels/network_run.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <sstream>

#include "accel/error.h"
#include "kernels/conv_impl.h"
#include "kernels/channel_shuffle.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/operator.h"
#include "layout/tile_pack.h"

namespace tile32 {
namespace {

// Channels padded to whole blocks of 32 lanes.
uint64_t Padded(int64_t n) { return uint64_t(Ceil32(n)) * kLanes; }

// Elements of layer l's tensor `what` with these extents; tile32's error naming the layer, before anything is
// allocated, when its bytes would pass kMaxHostBytes (the product taken without wrapping).
uint64_t Elements(const Layer& l, const char* what, std::initializer_list<uint64_t> extents, DType type) {
  unsigned __int128 n = 1;
  for (const uint64_t e : extents) n = std::min<unsigned __int128>(n * e, ~uint64_t{0});
  CheckedBytes(("RunLayer: layer '" + l.name + "'").c_str(), what, static_cast<uint64_t>(n), SizeOf(type));
  return static_cast<uint64_t>(n);
}

// A tensor's bytes, zero until written. calloc maps its pages when they are first written, so on a model
// machine, which moves no data, a layer's zero input and output hold no memory: a 512x512x1024 1x1 layer
// held 0.5 GB of zeroed std::vector (and spent its time writing the zeros).
class TensorBytes {
 public:
  TensorBytes() = default;
  explicit TensorBytes(size_t bytes) : data_(static_cast<uint8_t*>(std::calloc(bytes == 0 ? 1 : bytes, 1))), size_(bytes) {
    if (data_ == nullptr) throw std::bad_alloc();
  }
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

// `count` elements of `type`, zero or random (RunOptions::seed).
TensorBytes Data(size_t count, DType type, std::mt19937* rng) {
  TensorBytes t(count * SizeOf(type));
  if (rng == nullptr) return t;
  uint8_t* v = t.data();
  if (type == DType::kBF16) {
    std::uniform_real_distribution<float> value(-2.0f, 2.0f);
    for (size_t i = 0; i < count; ++i) {
      float f = value(*rng);
      if (std::fabs(f) < 1e-3f) f = 1.0f;  // normal numbers only: denormals are slow on some hosts, not wrong
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      v[2 * i] = static_cast<uint8_t>(bits >> 16), v[2 * i + 1] = static_cast<uint8_t>(bits >> 24);
    }
  } else {
    for (size_t i = 0; i < t.size(); ++i) v[i] = static_cast<uint8_t>((*rng)());
  }
  return t;
}

// The element types and output quantization of a precision (zero data: its bits are 0 in every type).
struct Types {
  explicit Types(Precision p) : precision(p) {
    switch (p) {
      case Precision::kInt8:
        x = DType::kU8, w = DType::kI8, y = DType::kU8;
        q.mode = RequantMode::kFloatZpFirst, q.zero_point = 128, q.qmin = 0, q.qmax = 255;
        break;
      case Precision::kInt16:
        x = w = y = DType::kI16;
        q.mode = RequantMode::kFloatZpFirst, q.zero_point = 0, q.qmin = -32768, q.qmax = 32767;
        break;
      case Precision::kBF16: x = w = y = DType::kBF16; break;
    }
    q.scale = &scale;
  }
  const OutputQuant* quant() const { return precision == Precision::kBF16 ? nullptr : &q; }
  Precision precision;
  DType x, w, y;
  float scale = 1.0f / 64;
  OutputQuant q;
};

}  // namespace

// What a call needs, made once: the packed weights of the layer's operator, its input and output buffers.
struct LayerCall::Impl {
  Impl(const Layer& l, const RunOptions& o, const LayerChoice& c) : layer(l), options(o), choice(c), types(o.precision) {}
  void PrepareConv(std::mt19937* rng);
  void PrepareFc(std::mt19937* rng);
  void PrepareShuffle(std::mt19937* rng);

  const Layer& layer;
  RunOptions options;
  LayerChoice choice;
  Types types;
  LayerRun run;  // what ran and its padded MACs; the cost and timing of the last call
  TensorBytes x, y;
  PackedConv conv;
  ConvArgs conv_args;
  PackedGemmWeights gemm;
  GemmArgs gemm_args;
  PackedChannelShuffle shuffle;
  ChannelShuffleArgs shuffle_args;
};

void LayerCall::Impl::PrepareConv(std::mt19937* rng) {
  const Layer& l = layer;
  const Types& t = types;
  const int batch = options.batch;
  // After a folded shuffle the layer reads every channel of the unshuffled tensor.
  const int C = choice.input_shuffle_groups > 1 ? choice.input_shuffle_channels : l.in_c;
  const int G = l.groups, Cg = C / G, Kg = l.out_c / G, taps = l.kernel_h * l.kernel_w;
  const uint64_t w_count = Elements(l, "the weights", {uint64_t(l.out_c), uint64_t(taps), uint64_t(Cg)}, t.w);
  const uint64_t x_count = Elements(l, "the input", {uint64_t(batch), uint64_t(l.in_h), uint64_t(l.in_w), uint64_t(C)}, t.x);
  const uint64_t y_count =
      Elements(l, "the output", {uint64_t(batch), uint64_t(l.OutH()), uint64_t(l.OutW()), uint64_t(l.out_c)}, t.y);
  const TensorBytes w = Data(w_count, t.w, rng);
  ConvDesc d;
  d.in_channels = C, d.out_channels = l.out_c, d.groups = G;
  d.algorithm = choice.algorithm, d.layout = choice.layout;
  if (choice.input_shuffle_groups > 1) d.input_shuffle_groups = choice.input_shuffle_groups;
  d.kernel_h = l.kernel_h, d.kernel_w = l.kernel_w, d.stride_h = l.stride_h, d.stride_w = l.stride_w;
  d.pad_top = l.pad_top, d.pad_bottom = l.pad_bottom, d.pad_left = l.pad_left, d.pad_right = l.pad_right;
  d.x_type = t.x, d.w_type = t.w, d.w = w.data();
  conv = PackConv(d);
  x = Data(x_count, t.x, rng);
  y = TensorBytes(y_count * SizeOf(t.y));
  ConvArgs& a = conv_args;
  a.batch = batch, a.height = l.in_h, a.width = l.in_w, a.x = x.data(), a.y = y.data(), a.y_type = t.y;
  a.quant = t.quant(), a.threads = options.threads;
  run.kernel = conv.Describe();
  const uint64_t pixels = uint64_t(batch) * l.OutH() * l.OutW();
  switch (conv.algorithm) {
    case ConvAlgorithm::kDepthwise:
      run.kind = RunKind::kDepthwise, run.padded_macs = pixels * taps * Padded(l.out_c);
      break;
    case ConvAlgorithm::kWinograd:
      run.kind = RunKind::kWinograd, run.padded_macs = pixels * G * taps * Padded(Cg) * Padded(Kg);
      break;
    default:
      run.kind = RunKind::kDirect;
      // Folded pads the whole reduction once; tap-major per tap (and kAuto only when C/G is a multiple of 32,
      // where the two are the same).
      run.padded_macs = pixels * G * Padded(Kg) *
                        (conv.layout == ConvLayout::kFolded ? Padded(uint64_t(Cg) * taps) : taps * Padded(Cg));
  }
}

void LayerCall::Impl::PrepareFc(std::mt19937* rng) {
  const Layer& l = layer;
  const Types& t = types;
  const int batch = options.batch;
  // The whole input map flattened is the GEMM's K, an int.
  const uint64_t k_count = Elements(l, "the input", {uint64_t(l.in_h), uint64_t(l.in_w), uint64_t(l.in_c)}, t.x);
  if (k_count > uint64_t(std::numeric_limits<int>::max())) {
    Fail("RunLayer: layer '", l.name, "': an fc layer's input of ", k_count, " elements (", l.in_h, "x", l.in_w, "x",
         l.in_c, ") is more than a GEMM's K can be (", std::numeric_limits<int>::max(), ")");
  }
  const int K = static_cast<int>(k_count), N = l.out_c;
  const uint64_t x_count = Elements(l, "the input", {uint64_t(batch), k_count}, t.x);
  const uint64_t y_count = Elements(l, "the output", {uint64_t(batch), uint64_t(N)}, t.y);
  // The packed tiles (whole 32 x 32 tiles: 32x the raw weights of an fc layer with one output) before the raw
  // weights are made, so that too large a layer fails at once.
  Elements(l, "the packed weights", {uint64_t(Ceil32(K)), uint64_t(Ceil32(N)), TileImageBytes(t.w)}, DType::kU8);
  const TensorBytes b = Data(Elements(l, "the weights", {k_count, uint64_t(N)}, t.w), t.w, rng);
  GemmWeightsDesc wd;
  wd.a_type = t.x, wd.b_type = t.w, wd.K = K, wd.N = N, wd.b = b.data(), wd.ldb = N;
  gemm = PackGemmWeights(wd);
  x = Data(x_count, t.x, rng);
  y = TensorBytes(y_count * SizeOf(t.y));
  GemmArgs& g = gemm_args;
  g.M = batch, g.a = x.data(), g.lda = K, g.c = y.data(), g.ldc = N, g.c_type = t.y, g.quant = t.quant();
  g.threads = options.threads;
  std::ostringstream os;
  os << "gemm " << NameOf(MacModeOf(t.precision)) << " M=" << batch << " N=" << N << " K=" << K;
  run.kind = RunKind::kGemm, run.kernel = os.str(), run.padded_macs = uint64_t(batch) * Padded(K) * Padded(N);
}

void LayerCall::Impl::PrepareShuffle(std::mt19937* rng) {
  const Layer& l = layer;
  run.kind = RunKind::kShuffle;
  if (choice.shuffle_folded) {
    run.kernel = "shuffle folded into the next layer";
    return;
  }
  ChannelShuffleDesc d;
  d.channels = l.in_c, d.groups = l.groups, d.type = types.x, d.algorithm = choice.shuffle;
  shuffle = PackChannelShuffle(d);
  x = Data(Elements(l, "the input", {uint64_t(options.batch), uint64_t(l.in_h), uint64_t(l.in_w), uint64_t(l.in_c)}, types.x),
           types.x, rng);
  y = TensorBytes(x.size());
  ChannelShuffleArgs& a = shuffle_args;
  a.batch = options.batch, a.height = l.in_h, a.width = l.in_w, a.x = x.data(), a.y = y.data();
  a.threads = options.threads;
  std::ostringstream os;
  if (choice.shuffle == ShuffleAlgorithm::kPermutation) {
    os << "shuffle as a " << l.in_c << "x" << l.in_c << " permutation GEMM";
  } else {
    os << "shuffle " << shuffle.routes.size() << " routes";
  }
  run.kind = RunKind::kShuffle, run.kernel = os.str();
}

LayerCall::LayerCall(const Layer& l, const RunOptions& options, const LayerChoice& choice)
    : impl_(std::make_unique<Impl>(l, options, choice)) {
  if (options.batch < 1 || options.batch > 4096) Fail("RunLayer: batch = ", options.batch, " is outside [1, 4096]");
  Impl& c = *impl_;
  c.run.layer = &l, c.run.batch = options.batch, c.run.precision = options.precision, c.run.choice = choice;
  std::mt19937 rng(options.seed);
  std::mt19937* data = options.seed == 0 ? nullptr : &rng;
  switch (l.kind) {
    case LayerKind::kConv: c.PrepareConv(data); break;
    case LayerKind::kFc: c.PrepareFc(data); break;
    case LayerKind::kShuffle: c.PrepareShuffle(data); break;
  }
}

LayerCall::~LayerCall() = default;

namespace {

// The SRAM a call's kept tensors take (whole 64-byte lines each), reserved for the call and given back after
// it, also when it throws.
class KeptTensors {
 public:
  KeptTensors(Machine& machine, const LayerChoice& choice, const TensorBytes& x, const TensorBytes& y)
      : machine_(machine), model_(dynamic_cast<ModelMachine*>(&machine)) {
    std::vector<ModelMachine::HostRange> kept;
    uint64_t bytes = 0;
    for (const auto& [keep, tensor] : {std::pair{choice.input_in_sram, &x}, std::pair{choice.output_in_sram, &y}}) {
      if (!keep || tensor->empty()) continue;
      kept.push_back({tensor->data(), tensor->size()});
      bytes += (tensor->size() + 63) / 64 * 64;
    }
    machine_.ReserveSram(bytes);
    if (model_ != nullptr) model_->KeepOnChip(std::move(kept));
  }
  ~KeptTensors() {
    machine_.ReserveSram(0);
    if (model_ != nullptr) model_->KeepOnChip({});
  }
  KeptTensors(const KeptTensors&) = delete;
  KeptTensors& operator=(const KeptTensors&) = delete;

 private:
  Machine& machine_;
  ModelMachine* model_;
};

}  // namespace

LayerRun LayerCall::Run(Machine& machine) {
  Impl& c = *impl_;
  auto* model = dynamic_cast<ModelMachine*>(&machine);
  machine.ResetCounters();
  if (model != nullptr) model->ResetTiming();
  {
    const KeptTensors kept(machine, c.choice, c.x, c.y);
    switch (c.layer.kind) {
      case LayerKind::kConv: Conv(machine, c.conv, c.conv_args); break;
      case LayerKind::kFc: Gemm(machine, c.gemm, c.gemm_args); break;
      case LayerKind::kShuffle:
        if (!c.choice.shuffle_folded) ChannelShuffle(machine, c.shuffle, c.shuffle_args);
        break;
    }
  }
  LayerRun r = c.run;
  r.cost = machine.counters().total;
  if (model != nullptr) r.timing = model->timing();
  return r;
}

std::vector<uint8_t> LayerCall::output() const { return {impl_->y.data(), impl_->y.data() + impl_->y.size()}; }

std::string LayerChoice::Describe() const {
  if (shuffle_folded) return "shuffle folded";
  if (shuffle == ShuffleAlgorithm::kPermutation) return "shuffle permutation";
  std::string s = algorithm == ConvAlgorithm::kAuto ? "auto" : NameOf(algorithm);
  if (algorithm == ConvAlgorithm::kDirect && layout != ConvLayout::kAuto) s += std::string(" ") + NameOf(layout);
  if (input_shuffle_groups > 1) s += " on the unshuffled " + std::to_string(input_shuffle_channels);
  if (input_in_sram) s += ", input in SRAM";
  if (output_in_sram) s += ", output kept in SRAM";
  return s;
}

const char* NameOf(Precision p) {
  switch (p) {
    case Precision::kInt8: return "int8";
    case Precision::kInt16: return "int16";
    case Precision::kBF16: return "bf16";
  }
  return "invalid";
}

Precision PrecisionNamed(const std::string& name) {
  for (Precision p : {Precision::kInt8, Precision::kInt16, Precision::kBF16}) {
    if (name == NameOf(p)) return p;
  }
  Fail("precision '", name, "' is not one of int8, int16, bf16");
}

MacMode MacModeOf(Precision p) {
  return p == Precision::kInt8 ? MacMode::kU8S8 : p == Precision::kInt16 ? MacMode::kS16S16 : MacMode::kBF16;
}

LayerRun RunLayer(Machine& machine, const Layer& l, const RunOptions& options, const LayerChoice& choice) {
  LayerCall call(l, options, choice);
  LayerRun r = call.Run(machine);
  if (options.output != nullptr) *options.output = call.output();
  return r;
}

std::vector<LayerRun> RunNetwork(Machine& machine, const Network& net, const RunOptions& options,
                                 const std::vector<LayerChoice>* choices) {
  if (choices != nullptr && choices->size() != net.layers.size()) {
    Fail("RunNetwork: ", choices->size(), " choices for the ", net.layers.size(), " layers of ", net.name);
  }
  if (options.batch < 1 || options.batch > 4096) Fail("RunNetwork: batch = ", options.batch, " is outside [1, 4096]");
  RunOptions each = options;
  each.output = nullptr;  // one layer's output: RunLayer's
  const bool counted_once = dynamic_cast<ModelMachine*>(&machine) != nullptr;
  std::map<std::string, size_t> first_of_shape;  // a layer's shape -> index of its first run
  std::vector<LayerRun> runs;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    if (options.progress) options.progress(i, net.layers.size());
    const LayerChoice choice = choices == nullptr ? LayerChoice{} : (*choices)[i];
    const std::string shape = l.ShapeKey() + " " + choice.Describe();
    const auto same = first_of_shape.find(shape);
    if (counted_once && same != first_of_shape.end()) {
      LayerRun r = runs[same->second];
      r.layer = &l;
      runs.push_back(std::move(r));
      continue;
    }
    try {
      runs.push_back(RunLayer(machine, l, each, choice));
    } catch (const Error& e) {
      Fail(net.name, ": layer '", l.name, "': ", e.what());
    }
    first_of_shape.emplace(shape, i);
  }
  return runs;
}

namespace {
uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// C, R*S and OH*OW as the closed forms see a layer.
struct PeerShape {
  uint64_t c, rs, k, pixels;
};
PeerShape PeerShapeOf(const Layer& l) {
  if (l.kind == LayerKind::kFc) return {uint64_t(l.in_h) * l.in_w * l.in_c, 1, uint64_t(l.out_c), 1};
  return {uint64_t(l.in_c / l.groups), uint64_t(l.kernel_h) * l.kernel_w, uint64_t(l.out_c),
          uint64_t(l.OutH()) * l.OutW()};
}
}  // namespace

uint64_t ScaleSimCalcCycles(const Layer& l) {
  if (l.kind == LayerKind::kShuffle) return 0;
  const PeerShape s = PeerShapeOf(l);
  return CeilDiv(s.c * s.rs, kLanes) * CeilDiv(s.k, kLanes) * (s.pixels + 3 * kLanes - 2) - 1;
}

uint64_t ZigZagIdealCycles(const Layer& l) {
  if (l.kind == LayerKind::kShuffle) return 0;
  const PeerShape s = PeerShapeOf(l);
  return CeilDiv(s.k, kLanes) * CeilDiv(s.c, kLanes) * s.rs * s.pixels;
}

std::string PeerGapReason(const LayerRun& r) {
  const Layer& l = *r.layer;
  const double ours = double(r.cost.tile_cycles), ss = double(ScaleSimCalcCycles(l)), zz = double(ZigZagIdealCycles(l));
  auto near = [&](double peer) { return peer > 0 && ours >= 0.9 * peer && ours <= 1.1 * peer; };
  if (l.kind == LayerKind::kShuffle || near(ss) || near(zz)) return "";
  std::vector<std::string> why;
  auto has = [&](const char* word) { return r.kernel.find(word) != std::string::npos; };
  const PeerShape s = PeerShapeOf(l);
  if (has("winograd")) {
    why.push_back("Winograd: 16 transformed positions per 2x2 outputs, 2.25x fewer array MACs (less where OH or OW "
                  "is odd: whole 2x2 tiles)");
  } else if (l.kind == LayerKind::kConv && ours > 1.1 * zz && l.pad_left + l.pad_right > 0) {
    why.push_back("junk columns: a band row streams its padding columns too, wider than OW = " +
                  std::to_string(l.OutW()) + " (" + std::to_string(int(100 * (ours / zz - 1) + 0.5)) +
                  " % more rows than output pixels)");
  }
  if (has("depthwise") && ours > 1.1 * ss) {
    why.push_back("depthwise on EMAC: 32 MACs per array cycle and one pass per tap, where SCALE-Sim's form folds "
                  "the 9 taps of C = 1 into one reduction");
  }
  if (has("folded") && ours < 0.9 * zz) {
    why.push_back("reduction C*R*S folded and padded to 32 once (ZigZag pads C = " + std::to_string(s.c) +
                  " to 32 per tap)");
  }
  if (ours < 0.9 * ss && ss > 1.1 * zz) {
    why.push_back("SCALE-Sim adds 3*32-2 fill and drain cycles per fold to OH*OW = " + std::to_string(s.pixels));
  }
  std::string out;
  for (const std::string& w : why) out += (out.empty() ? "" : "; ") + w;
  return out.empty() ? "unexplained" : out;
}

}  // namespace tile32

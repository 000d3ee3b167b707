// kernels/network_run.h: each layer kind to its operator, with zero data of the right sizes.
#include "kernels/network_run.h"

#include <sstream>

#include "accel/error.h"
#include "kernels/channel_shuffle.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"

namespace tile32 {
namespace {

// uint8 outputs, scale 1/64 per tensor, zero point 128 (FLOAT_ZP_FIRST): what an INT8 network stores.
struct Quant {
  Quant() {
    q.mode = RequantMode::kFloatZpFirst, q.scale = &scale, q.zero_point = 128, q.qmin = 0, q.qmax = 255;
  }
  float scale = 1.0f / 64;
  OutputQuant q;
};

std::string RunConv(Machine& m, const Layer& l, const Quant& quant, int batch) {
  std::vector<int8_t> w(size_t(l.out_c) * l.kernel_h * l.kernel_w * (l.in_c / l.groups), 1);
  ConvDesc d;
  d.in_channels = l.in_c, d.out_channels = l.out_c, d.groups = l.groups;
  d.kernel_h = l.kernel_h, d.kernel_w = l.kernel_w, d.stride_h = l.stride_h, d.stride_w = l.stride_w;
  d.pad_top = l.pad_top, d.pad_bottom = l.pad_bottom, d.pad_left = l.pad_left, d.pad_right = l.pad_right;
  d.w = w.data();
  const PackedConv p = PackConv(d);
  std::vector<uint8_t> x(size_t(batch) * l.in_h * l.in_w * l.in_c, 0), y(size_t(batch) * l.OutH() * l.OutW() * l.out_c);
  ConvArgs a;
  a.batch = batch, a.height = l.in_h, a.width = l.in_w, a.x = x.data(), a.y = y.data(), a.y_type = DType::kU8, a.quant = &quant.q;
  a.threads = 1;
  Conv(m, p, a);
  return p.Describe();
}

std::string RunFc(Machine& m, const Layer& l, const Quant& quant, int batch) {
  const int K = l.in_h * l.in_w * l.in_c, N = l.out_c;
  std::vector<int8_t> b(size_t(K) * N, 1);
  GemmWeightsDesc wd;
  wd.K = K, wd.N = N, wd.b = b.data(), wd.ldb = N;
  const PackedGemmWeights w = PackGemmWeights(wd);
  std::vector<uint8_t> a(size_t(batch) * K, 0), c(size_t(batch) * N, 0);
  GemmArgs g;
  g.M = batch, g.a = a.data(), g.lda = K, g.c = c.data(), g.ldc = N, g.c_type = DType::kU8, g.quant = &quant.q;
  g.threads = 1;
  Gemm(m, w, g);
  std::ostringstream os;
  os << "gemm u8s8 M=" << batch << " N=" << N << " K=" << K;
  return os.str();
}

std::string RunShuffle(Machine& m, const Layer& l, int batch) {
  ChannelShuffleDesc d;
  d.channels = l.in_c, d.groups = l.groups;
  const PackedChannelShuffle p = PackChannelShuffle(d);
  std::vector<uint8_t> x(size_t(batch) * l.in_h * l.in_w * l.in_c, 0), y(x.size());
  ChannelShuffleArgs a;
  a.batch = batch, a.height = l.in_h, a.width = l.in_w, a.x = x.data(), a.y = y.data(), a.threads = 1;
  ChannelShuffle(m, p, a);
  std::ostringstream os;
  os << "shuffle " << p.routes.size() << " routes";
  return os.str();
}

}  // namespace

std::vector<LayerRun> RunNetwork(Machine& machine, const Network& net,
                                 const std::function<void(size_t, size_t)>& progress, int batch) {
  if (batch < 1 || batch > 4096) Fail("RunNetwork: batch = ", batch, " is outside [1, 4096]");
  const Quant quant;
  auto* model = dynamic_cast<ModelMachine*>(&machine);
  std::vector<LayerRun> runs;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    if (progress) progress(i, net.layers.size());
    machine.ResetCounters();
    if (model != nullptr) model->ResetTiming();
    LayerRun r;
    r.layer = &l;
    try {
      switch (l.kind) {
        case LayerKind::kConv: r.kernel = RunConv(machine, l, quant, batch); break;
        case LayerKind::kFc: r.kernel = RunFc(machine, l, quant, batch); break;
        case LayerKind::kShuffle: r.kernel = RunShuffle(machine, l, batch); break;
      }
    } catch (const Error& e) {
      Fail(net.name, ": layer '", l.name, "': ", e.what());
    }
    r.cost = machine.counters().total;
    if (model != nullptr) r.timing = model->timing();
    runs.push_back(std::move(r));
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

// Convolution and channel-shuffle benchmarks: tile32's Conv / ChannelShuffle / Gemm on the SIMD machine
// against oneDNN's convolution and shuffle and against memcpy, in the same binary, on the real layers of
// bench/conv_layers.h.
//
// Names:   conv/<impl>/<kind>/<layer>/threads:<t>   (Google Benchmark appends /real_time)
//          impl  tile32 | onednn | memcpy
//          kind  direct      u8 x s8 -> u8, ConvAlgorithm::kDirect          peer: oneDNN convolution_auto
//                direct-s16  int16 x int16 -> int16, kDirect                 no peer (oneDNN has no int16 conv)
//                gemm        tile32 Gemm u8s8 -> u8 on the im2col matrix     (the same MACs, A built untimed)
//                winograd    u8 x s8 -> u8, kWinograd                        peer: oneDNN convolution_winograd
//                depthwise   u8 x s8 -> u8, kDepthwise                       peer: oneDNN grouped convolution
//                shuffle     ChannelShuffle u8                               peers: oneDNN shuffle, memcpy
// Counters: GMACs = N*OH*OW*K*KH*KW*C/groups per iteration / wall time / 1e9; for shuffle and memcpy
//          GBs = (input bytes + output bytes) per iteration / wall time / 1e9.
//          %transforms (tile32 winograd) = share of host time outside TLD, TMAC and the DMAs, from calls
//          timed per instruction after the timed ones (ReportTransformShare).
// Order:   layer (as in conv_layers.h), kind, threads, impl: each tile32 line sits next to its peers.
//
// Quantization, the same for every int8 kind and both implementations: u8 activations with zero point 128
// (padded taps hold it, so they add 0), s8 weights without zero point, u8 output requantized per tensor by
// RequantMode::kFloatZpFirst, q = rne(fl32(fl32(acc) * scale) + 128) clamped to [0, 255], which is how
// oneDNN rounds its output scale and destination zero point: the outputs are bit-identical, and the guard
// below checks it. direct-s16 requantizes int16 with the same mode, zero point 0.
//
// Guard (set-up, untimed): each benchmark's first output is compared element by element with a reference
// computed once per layer at one thread: tile32's int8 kinds with oneDNN's convolution (direct, or
// depthwise), oneDNN's with tile32's, both shuffles with a plain loop. A difference fails the benchmark
// with SkipWithError naming the first differing element.
#include <benchmark/benchmark.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "accel/config.h"
#include "accel/simd_machine.h"
#include "bench/conv_layers.h"
#include "bench/onednn_conv_peer.h"
#include "bench/onednn_peer.h"
#include "bench/profile.h"
#include "kernels/channel_shuffle.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"

namespace tile32::bench {
namespace {

enum class Impl { kTile32, kOneDnn, kMemcpy };
const char* NameOf(Impl impl) {
  return impl == Impl::kTile32 ? "tile32" : impl == Impl::kOneDnn ? "onednn" : "memcpy";
}
const char* KindName(unsigned kind) { return kConvKindNames[__builtin_ctz(kind)]; }

constexpr int32_t kZeroPoint = 128;  // of the u8 activations and the u8 outputs

double UniformSd(int lo, int hi) {  // standard deviation of the integers lo..hi drawn uniformly
  const double n = hi - lo + 1;
  return std::sqrt((n * n - 1) / 12);
}

// An output scale that spreads requantized outputs over the output type: 3 standard deviations of the
// accumulator (a sum of `taps` products of independent uniform data) map onto half the range, so about
// 0.3 % of the outputs saturate and every code in between occurs.
float SpreadScale(int taps, double sd_x, double sd_w, double half_range) {
  return static_cast<float>(half_range / (3 * std::sqrt(double(taps)) * sd_x * sd_w));
}

// One layer's operands, made on first use and kept while its benchmarks run (they run layer-major).
// Integer data, fixed seed per layer. Activations use their full range (u8 0..255); int8 weights are in
// -64..63 because oneDNN's int8 kernels without VNNI (vpmaddubsw) saturate a pair a0*w0 + a1*w1 at int16
// and 7-bit weights keep it exact (as in gemm_bench.cc); int16 operands in -2048..2047 as in gemm_bench.
class Problem {
 public:
  explicit Problem(const ConvLayer& l) : layer_(l), oh_(ConvOut(l.H, l)), ow_(ConvOut(l.W, l)) {
    std::seed_seq seed{l.H, l.W, l.C, l.K, l.groups, l.kernel, l.stride, 2024};
    std::mt19937 rng(seed);
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    x.resize(x_elems());
    for (auto& v : x) v = static_cast<uint8_t>(uniform(0, 255));
    if (l.kinds == kConvShuffle) return;
    w.resize(size_t(l.K) * l.kernel * l.kernel * (l.C / l.groups));  // OHWI
    for (auto& v : w) v = static_cast<int8_t>(uniform(-64, 63));
    scale8 = SpreadScale(taps(), UniformSd(-128, 127), UniformSd(-64, 63), 127.5);
    if (!(l.kinds & kConvDirectS16)) return;
    x16.resize(x.size());
    for (auto& v : x16) v = static_cast<int16_t>(uniform(-2048, 2047));
    w16.resize(w.size());
    for (auto& v : w16) v = static_cast<int16_t>(uniform(-2048, 2047));
    scale16 = SpreadScale(taps(), UniformSd(-2048, 2047), UniformSd(-2048, 2047), 32767.5);
  }

  const ConvLayer& layer() const { return layer_; }
  int oh() const { return oh_; }
  int ow() const { return ow_; }
  int taps() const { return layer_.kernel * layer_.kernel * (layer_.C / layer_.groups); }
  size_t x_elems() const { return size_t(layer_.N) * layer_.H * layer_.W * layer_.C; }
  size_t y_elems() const { return size_t(layer_.N) * oh_ * ow_ * layer_.K; }
  double macs() const { return double(y_elems()) * taps(); }

  std::vector<uint8_t> x;         // u8 NHWC
  std::vector<int8_t> w;          // s8 OHWI
  std::vector<int16_t> x16, w16;  // direct-s16
  float scale8 = 1, scale16 = 1;

  // The im2col matrix of x: row (n, oy, ox), column (ky, kx, c) -- the order of an OHWI weight row --
  // with the zero point at padded taps, so that the GEMM computes exactly the convolution (groups == 1).
  const std::vector<uint8_t>& Im2col() {
    if (!im2col_.empty()) return im2col_;
    const ConvLayer& l = layer_;
    const size_t row = size_t(taps());
    im2col_.assign(y_elems() / l.K * row, kZeroPoint);
    uint8_t* a = im2col_.data();
    for (int n = 0; n < l.N; ++n)
      for (int oy = 0; oy < oh_; ++oy)
        for (int ox = 0; ox < ow_; ++ox, a += row)
          for (int ky = 0; ky < l.kernel; ++ky)
            for (int kx = 0; kx < l.kernel; ++kx) {
              const int iy = oy * l.stride - l.pad + ky, ix = ox * l.stride - l.pad + kx;
              if (iy < 0 || iy >= l.H || ix < 0 || ix >= l.W) continue;
              std::memcpy(a + (ky * l.kernel + kx) * l.C, &x[((size_t(n) * l.H + iy) * l.W + ix) * l.C], l.C);
            }
    return im2col_;
  }

  // y[p][i*g + j] = x[p][j*(C/g) + i] (kernels/channel_shuffle.h), by the plain loop.
  const std::vector<uint8_t>& ShuffleReference() {
    if (!shuffled_.empty()) return shuffled_;
    const int c = layer_.C, g = layer_.groups;
    shuffled_.resize(x.size());
    for (size_t p = 0; p < x.size(); p += c)
      for (int i = 0; i < c / g; ++i)
        for (int j = 0; j < g; ++j) shuffled_[p + i * g + j] = x[p + j * (c / g) + i];
    return shuffled_;
  }

  // impl's output for `kind` at one thread (computed once): the guard's reference.
  const std::vector<uint8_t>& Output(unsigned kind, Impl impl);

 private:
  const ConvLayer& layer_;
  int oh_, ow_;
  std::vector<uint8_t> im2col_, shuffled_;
  std::map<std::pair<unsigned, Impl>, std::vector<uint8_t>> outputs_;
};

Problem& GetProblem(const ConvLayer& l) {
  static std::unique_ptr<Problem> cached;
  if (!cached || &cached->layer() != &l) {
    cached.reset();  // free the previous layer's operands first
    cached = std::make_unique<Problem>(l);
  }
  return *cached;
}

// One benchmark, set up and run once (warm-up; `out` holds that output): `run` is what each iteration times.
struct Timed {
  std::unique_ptr<SimdMachine> machine;  // tile32 only
  OutputQuant quant;                     // tile32 only; the calls point at it
  std::vector<uint8_t> out;
  std::function<void()> run;
  std::string path;  // how it ran: SIMD target and packing (tile32), impl_info_str (oneDNN)
};

std::unique_ptr<Timed> SetUpTile32(Problem& p, unsigned kind, int threads) {
  const ConvLayer& l = p.layer();
  auto t = std::make_unique<Timed>();
  t->machine = std::make_unique<SimdMachine>(AccelConfig::Default());
  Machine& m = *t->machine;
  const std::string target = "simd/" + ListSimdTargets().dispatched.name + " ";
  const bool s16 = kind == kConvDirectS16;
  t->quant.mode = RequantMode::kFloatZpFirst;
  t->quant.scale = s16 ? &p.scale16 : &p.scale8;
  t->quant.zero_point = s16 ? 0 : kZeroPoint;
  t->quant.qmin = s16 ? -32768 : 0;
  t->quant.qmax = s16 ? 32767 : 255;

  if (kind == kConvShuffle) {
    ChannelShuffleDesc d;
    d.channels = l.C;
    d.groups = l.groups;
    d.type = DType::kU8;
    auto packed = std::make_shared<const PackedChannelShuffle>(PackChannelShuffle(d));
    t->out.assign(p.x.size(), 0);
    ChannelShuffleArgs a;
    a.batch = l.N, a.height = l.H, a.width = l.W;
    a.x = p.x.data(), a.y = t->out.data(), a.threads = threads;
    t->run = [&m, packed, a] { ChannelShuffle(m, *packed, a); };
    int passes = 0;
    for (const ShuffleRoute& r : packed->routes) passes += r.passes;
    t->path = target + "shuffle: " + std::to_string(packed->routes.size()) + " RPERMs, " +
              std::to_string(passes) + " mux passes per pixel";
  } else if (kind == kConvGemm) {
    // B[(ky, kx, c)][k] = w[k][ky][kx][c]: the OHWI weights transposed (groups == 1).
    const int taps = p.taps();
    std::vector<int8_t> b(p.w.size());
    for (int k = 0; k < l.K; ++k)
      for (int r = 0; r < taps; ++r) b[size_t(r) * l.K + k] = p.w[size_t(k) * taps + r];
    GemmWeightsDesc d;
    d.a_type = DType::kU8, d.b_type = DType::kI8;
    d.K = taps, d.N = l.K, d.b = b.data(), d.ldb = l.K;
    auto packed = std::make_shared<const PackedGemmWeights>(PackGemmWeights(d));
    t->out.assign(p.y_elems(), 0);
    GemmArgs a;
    a.M = int(p.y_elems() / l.K), a.a = p.Im2col().data(), a.lda = taps, a.a_zero_point = kZeroPoint;
    a.c_type = DType::kU8, a.c = t->out.data(), a.ldc = l.K, a.quant = &t->quant, a.threads = threads;
    t->run = [&m, packed, a] { Gemm(m, *packed, a); };
    t->path = target + "gemm u8s8 M=" + std::to_string(a.M) + " N=" + std::to_string(l.K) +
              " K=" + std::to_string(taps);
  } else {
    ConvDesc d;
    d.in_channels = l.C, d.out_channels = l.K, d.groups = l.groups;
    d.kernel_h = d.kernel_w = l.kernel;
    d.stride_h = d.stride_w = l.stride;
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = l.pad;
    d.x_type = s16 ? DType::kI16 : DType::kU8;
    d.w_type = s16 ? DType::kI16 : DType::kI8;
    d.w = s16 ? static_cast<const void*>(p.w16.data()) : p.w.data();
    d.algorithm = kind == kConvWinograd    ? ConvAlgorithm::kWinograd
                  : kind == kConvDepthwise ? ConvAlgorithm::kDepthwise
                                           : ConvAlgorithm::kDirect;
    auto packed = std::make_shared<const PackedConv>(PackConv(d));
    t->out.assign(p.y_elems() * (s16 ? 2 : 1), 0);
    ConvArgs a;
    a.batch = l.N, a.height = l.H, a.width = l.W;
    a.x = s16 ? static_cast<const void*>(p.x16.data()) : p.x.data();
    a.x_zero_point = s16 ? 0 : kZeroPoint;
    a.y_type = s16 ? DType::kI16 : DType::kU8;
    a.y = t->out.data(), a.quant = &t->quant, a.threads = threads;
    t->run = [&m, packed, a] { Conv(m, *packed, a); };
    t->path = target + packed->Describe();
  }
  const uint64_t amx_rows = AmxTmacRowsRun();
  t->run();
  // The TMACs' AMX rows, where the host runs them, show in the path: "simd/AVX3_DL+AMX ...".
  if (AmxTmacRowsRun() > amx_rows) t->path.insert(target.size() - 1, "+AMX");
  return t;
}

std::unique_ptr<Timed> SetUpOneDnn(Problem& p, unsigned kind, int threads) {
  std::string why;  // oneDNN plans for the OpenMP thread count at creation and reads it at each run
  if (!SetOpenMpThreads(threads, &why)) throw std::runtime_error(why);
  const ConvLayer& l = p.layer();
  auto t = std::make_unique<Timed>();
  const uint8_t* x = p.x.data();
  if (kind == kConvShuffle) {
    auto peer = std::make_shared<OneDnnShuffle>(l.N, l.H, l.W, l.C, l.groups);
    t->out.assign(p.x.size(), 0);
    t->run = [peer, x, y = t->out.data()] { peer->Run(x, y); };
    t->path = peer->impl_name();
  } else {
    OneDnnConvSpec s;
    s.batch = l.N, s.height = l.H, s.width = l.W;
    s.in_channels = l.C, s.out_channels = l.K, s.groups = l.groups;
    s.kernel = l.kernel, s.stride = l.stride, s.pad = l.pad;
    s.output_scale = p.scale8;
    if (kind == kConvWinograd) {
      // oneDNN 2.6's int8 Winograd accepts no zero points at all: it runs the same data and scale without
      // them, a different function of the same cost, unguarded. It is not exact either: it requantizes the
      // transformed input and weights to 8 bits (adj_src_scale, adj_wei_scale).
      s.algorithm = OneDnnConvAlgorithm::kWinograd;
    } else {
      s.src_zero_point = s.dst_zero_point = kZeroPoint;
    }
    auto peer = std::make_shared<OneDnnConv>(s, p.w.data());
    t->out.assign(p.y_elems(), 0);
    t->run = [peer, x, y = t->out.data()] { peer->Run(x, y); };
    t->path = peer->impl_name();
  }
  t->run();
  return t;
}

// std::memcpy of the tensor, split over `threads` in a oneTBB arena as tile32 runs (one thread: one call).
std::unique_ptr<Timed> SetUpMemcpy(Problem& p, int threads) {
  auto t = std::make_unique<Timed>();
  t->out.assign(p.x.size(), 0);
  const uint8_t* x = p.x.data();
  uint8_t* y = t->out.data();
  const size_t bytes = p.x.size();
  if (threads == 1) {
    t->run = [x, y, bytes] { std::memcpy(y, x, bytes); };
    t->path = "std::memcpy";
  } else {
    auto arena = std::make_shared<tbb::task_arena>(threads);
    t->run = [arena, x, y, bytes, threads] {
      arena->execute([&] {
        tbb::parallel_for(0, threads, [&](int i) {
          const size_t lo = bytes * i / threads, hi = bytes * (i + 1) / threads;
          std::memcpy(y + lo, x + lo, hi - lo);
        });
      });
    };
    t->path = "std::memcpy in " + std::to_string(threads) + " oneTBB tasks";
  }
  t->run();
  return t;
}

std::unique_ptr<Timed> SetUp(Problem& p, unsigned kind, Impl impl, int threads) {
  switch (impl) {
    case Impl::kTile32: return SetUpTile32(p, kind, threads);
    case Impl::kOneDnn: return SetUpOneDnn(p, kind, threads);
    default: return SetUpMemcpy(p, threads);
  }
}

const std::vector<uint8_t>& Problem::Output(unsigned kind, Impl impl) {
  auto& out = outputs_[{kind, impl}];
  if (out.empty()) out = std::move(SetUp(*this, kind, impl, 1)->out);
  return out;
}

// Compares `mine` (impl's output for kind) with its reference. Returns "" when equal, else a message naming
// the first difference; *note says what was checked. The reference of a oneDNN run is never a oneDNN run,
// so the guard leaves oneDNN's OpenMP thread count as the benchmark set it.
std::string Guard(Problem& p, unsigned kind, Impl impl, const std::vector<uint8_t>& mine, std::string* note) {
  const ConvLayer& l = p.layer();
  auto unguarded = [note](const char* why) {
    *note = why;
    return std::string();
  };
  if (impl == Impl::kMemcpy) return unguarded("a copy of the same bytes");
  if (kind == kConvDirectS16) return unguarded("unguarded (no peer: oneDNN has no int16 convolution)");
  if (impl == Impl::kOneDnn && kind == kConvWinograd)
    return unguarded("unguarded: no zero points (oneDNN's int8 Winograd takes none), and approximate");

  const std::vector<uint8_t>* theirs = nullptr;
  std::string other;
  int h = p.oh(), w = p.ow(), c = l.K;
  if (kind == kConvShuffle) {
    theirs = &p.ShuffleReference();
    other = "plain loop";
    h = l.H, w = l.W, c = l.C;
  } else {
    if (!OneDnnCompiledIn()) return unguarded("unguarded (no oneDNN peer)");
    const unsigned ref_kind = kind == kConvDepthwise ? kConvDepthwise : kConvDirect;
    const Impl ref_impl = impl == Impl::kTile32 ? Impl::kOneDnn : Impl::kTile32;
    other = std::string(NameOf(ref_impl)) + " " + KindName(ref_kind);
    try {
      theirs = &p.Output(ref_kind, ref_impl);
    } catch (const std::exception& e) {
      return "guard: " + other + " reference failed: " + e.what();
    }
  }
  size_t diffs = 0, first = 0;
  for (size_t i = 0; i < mine.size(); ++i)
    if (mine[i] != (*theirs)[i] && diffs++ == 0) first = i;
  if (diffs != 0) {
    const size_t pix = first / c;
    std::ostringstream os;
    os << "guard: " << NameOf(impl) << " " << KindName(kind) << " and " << other << " differ on " << l.name
       << " in " << diffs << " of " << mine.size() << " elements; first y[" << pix / (size_t(h) * w) << "]["
       << pix / w % h << "][" << pix % w << "][" << first % c << "]: " << NameOf(impl) << " "
       << int(mine[first]) << ", " << other << " " << int((*theirs)[first]);
    return os.str();
  }
  *note = "guard: equals " + other;
  return "";
}

// Winograd's transforms, as a share of its host time: everything but the element-wise stage (TLD, TMAC) and
// the DMAs, so the output's requantization too (an upper bound; the goal is at most 30 %). Timed apart from
// the rate (the per-instruction clock reads cost time): calls with host timing on after the timed ones, at
// least 3 and up to 50 ms, unless the whole run was profiled.
void ReportTransformShare(benchmark::State& state, const Timed& t, bool profiled) {
  if (!profiled) {
    t.machine->set_host_timing(true);
    t.machine->ResetCounters();
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    for (int i = 0; i < 3 || (i < 100 && std::chrono::steady_clock::now() < end); ++i) t.run();
    t.machine->set_host_timing(false);
  }
  constexpr size_t kStage[] = {KindIndex<DmaIn>::value, KindIndex<DmaOut>::value, KindIndex<TileLoad>::value,
                               KindIndex<TileMac>::value};
  const double share = ShareOutside(t.machine->counters(), kStage);
  if (share >= 0) state.counters["%transforms"] = share;
}

void BM_Conv(benchmark::State& state, const ConvLayer& layer, unsigned kind, Impl impl, int threads) {
  std::unique_ptr<Timed> t;
  std::string error, note;
  double per_iteration = 0;
  try {
    Problem& p = GetProblem(layer);
    per_iteration = kind == kConvShuffle ? 2.0 * p.x_elems() : p.macs();
    t = SetUp(p, kind, impl, threads);
    error = Guard(p, kind, impl, t->out, &note);
  } catch (const std::exception& e) {
    error = std::string("set-up: ") + e.what();
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const bool profile = t->machine && ProfileRequested();
  if (t->machine) {
    t->machine->set_host_timing(profile);
    t->machine->ResetCounters();
  }
  for (auto _ : state) {
    t->run();
    benchmark::ClobberMemory();
  }
  state.counters[kind == kConvShuffle ? "GBs" : "GMACs"] =
      benchmark::Counter(per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (profile) ReportProfile(state, t->machine->counters());
  if (impl == Impl::kTile32 && kind == kConvWinograd) ReportTransformShare(state, *t, profile);
  state.SetLabel(t->path + "; " + note);
}

// "model name" of /proc/cpuinfo, for the JSON context (Google Benchmark records no CPU model).
std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    return colon == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t", colon + 1));
  }
  return "";
}

// The benchmarks of `kinds` (ConvKind bits) on every layer that lists them.
void RegisterKinds(unsigned kinds) {
  for (const ConvLayer& l : kConvLayers) {
    for (unsigned kind = 1; kind <= kConvShuffle; kind <<= 1) {
      if (!(l.kinds & kind & kinds)) continue;
      std::vector<Impl> impls = {Impl::kTile32};
      if (OneDnnCompiledIn() && (kind & (kConvDirect | kConvWinograd | kConvDepthwise | kConvShuffle)))
        impls.push_back(Impl::kOneDnn);
      if (kind == kConvShuffle) impls.push_back(Impl::kMemcpy);
      for (int t : kConvThreads) {
        for (Impl impl : impls) {
          const std::string name = std::string("conv/") + NameOf(impl) + "/" + KindName(kind) + "/" + l.name +
                                   "/threads:" + std::to_string(t);
          benchmark::RegisterBenchmark(name.c_str(), [&l, kind, impl, t](benchmark::State& st) {
            BM_Conv(st, l, kind, impl, t);
          })->UseRealTime()->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
}

}  // namespace

// The operators of kernels/operators.inc that these benchmarks measure (bench/operators.cc calls them).
void RegisterConvDirectBenchmarks() {
  const std::string cpu = CpuModel();
  if (!cpu.empty()) benchmark::AddCustomContext("cpu_model", cpu);
  RegisterKinds(kConvDirect | kConvDirectS16 | kConvGemm);
}
void RegisterConvWinogradBenchmarks() { RegisterKinds(kConvWinograd); }
void RegisterConvDepthwiseBenchmarks() { RegisterKinds(kConvDepthwise); }
void RegisterChannelShuffleBenchmarks() { RegisterKinds(kConvShuffle); }

}  // namespace tile32::bench

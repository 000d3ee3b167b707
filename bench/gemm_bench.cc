// GEMM benchmarks: tile32's Gemm on the SIMD machine against oneDNN's matmul, in the same binary, on the
// shapes of bench/shapes.h.
//
// Names:   gemm/<impl>/<dtype>/M:<m>/N:<n>/K:<k>/threads:<t>   (Google Benchmark appends /real_time)
//          impl  tile32 | onednn         dtype  s8s8 | u8s8 | s16 | bf16 (oneDNN has no s16 matmul)
// Counter: GMACs = M*N*K per iteration / wall time, 1e9 multiply-accumulates per second.
// Order:   shape (as listed in shapes.h), then dtype, then threads, then impl, so that each tile32 run
//          sits next to its oneDNN peer, and a regex on any name field selects a clean subset:
//            --benchmark_filter='gemm/tile32/'          every tile32 GEMM
//            --benchmark_filter='gemm/.*/u8s8/.*threads:1'  u8s8, one thread, both implementations
//            --benchmark_filter='M:1024/N:1024/K:1024/'  one shape
//
// What is timed: one C = A.B per iteration, weights packed beforehand (PackGemmWeights for tile32, a
// reorder into the primitive's preferred format for oneDNN), one SimdMachine / one primitive reused, output
// int32 (s8s8, u8s8, s16) or fp32 (bf16) for both. Data and weights stay in cache between iterations.
//
// Guard (set-up, untimed): each benchmark's first output is compared with the other implementation's
// output on the same operands, element for element, and the benchmark fails with SkipWithError if one
// differs. Integer GEMMs are exact in both; the bf16 data are small integers whose products and sums are
// exact in fp32 whatever the summation order, so bf16 is compared too (where oneDNN has bf16 at all).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "accel/error.h"
#include "accel/numeric.h"
#include "accel/simd_machine.h"
#include "bench/onednn_peer.h"
#include "bench/profile.h"
#include "bench/shapes.h"
#include "kernels/gemm.h"

namespace tile32::bench {
namespace {

// C of every implementation, 64-byte aligned as a runtime's tensors are (whole cache lines per row of 16 int32
// columns: the SIMD machine streams such rows past the caches).
using Output = std::vector<uint8_t, Aligned64<uint8_t>>;

enum class Impl { kTile32, kOneDnn };
const char* NameOf(Impl impl) { return impl == Impl::kTile32 ? "tile32" : "onednn"; }

struct DtypeSpec {
  const char* name;
  DType a, b, c;  // tile32 types of A, B and C
  bool onednn;    // oneDNN has this matmul
  OneDnnGemmType onednn_type;
};

const DtypeSpec kDtypes[] = {
    {"s8s8", DType::kI8, DType::kI8, DType::kI32, true, OneDnnGemmType::kS8S8S32},
    {"u8s8", DType::kU8, DType::kI8, DType::kI32, true, OneDnnGemmType::kU8S8S32},
    {"s16", DType::kI16, DType::kI16, DType::kI32, false, OneDnnGemmType::kS8S8S32},
    {"bf16", DType::kBF16, DType::kBF16, DType::kF32, true, OneDnnGemmType::kBF16BF16F32},
};

uint16_t Bf16Of(int v) {
  const float f = static_cast<float>(v);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return F32BitsToBf16(bits);  // exact: |v| <= 8 needs 4 significant bits
}

// Integer-valued, fixed-seed operands (row-major, dense). Ranges:
//   int8 weights in [-64, 63]: oneDNN's int8 paths without VNNI (vpmaddubsw, AVX2/AVX-512 without VNNI)
//     saturate a pair a0*w0 + a1*w1 at int16; 7-bit weights keep 2*255*64 below 32767 (what oneDNN
//     advises and benchdnn does), so the exact guard holds on every host. Activations use the full range.
//   int16 in [-2048, 2047]; bf16 integers in [-8, 8] (normal numbers: fp32 FMA on denormals is ~240x
//     slower on the Xeon; and every product and K-sum is exact in fp32).
void Fill(std::vector<uint8_t>& v, DType t, size_t count, std::mt19937& rng) {
  v.resize(count * SizeOf(t));
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (size_t i = 0; i < count; ++i) {
    switch (t) {
      case DType::kU8: v[i] = static_cast<uint8_t>(uniform(0, 255)); break;
      case DType::kI8: v[i] = static_cast<uint8_t>(static_cast<int8_t>(uniform(-128, 127))); break;
      case DType::kI16: {
        const auto x = static_cast<int16_t>(uniform(-2048, 2047));
        std::memcpy(&v[2 * i], &x, 2);
        break;
      }
      case DType::kBF16: {
        const uint16_t x = Bf16Of(uniform(-8, 8));
        std::memcpy(&v[2 * i], &x, 2);
        break;
      }
      default: Fail("gemm bench: no operand type ", tile32::NameOf(t));
    }
  }
}

void FillWeights(std::vector<uint8_t>& v, DType t, size_t count, std::mt19937& rng) {
  if (t != DType::kI8) return Fill(v, t, count, rng);
  v.resize(count);
  std::uniform_int_distribution<int> w(-64, 63);
  for (auto& x : v) x = static_cast<uint8_t>(static_cast<int8_t>(w(rng)));
}

// One shape x dtype: operands, tile32's packed weights, and each implementation's output at one thread
// (for the guard), made on first use. Benchmarks run shape-major, so one cached problem is enough.
class Problem {
 public:
  Problem(const GemmShape& shape, const DtypeSpec& d) : shape_(shape), d_(d) {
    std::seed_seq seed{shape.M, shape.N, shape.K, static_cast<int>(d.a), static_cast<int>(d.b), 2024};
    std::mt19937 rng(seed);
    Fill(a_, d.a, size_t(shape.M) * shape.K, rng);
    FillWeights(b_, d.b, size_t(shape.K) * shape.N, rng);
  }

  bool Is(const GemmShape& s, const DtypeSpec& d) const {
    return s.M == shape_.M && s.N == shape_.N && s.K == shape_.K && &d == &d_;
  }
  const GemmShape& shape() const { return shape_; }
  const DtypeSpec& dtype() const { return d_; }
  const void* a() const { return a_.data(); }
  const void* b() const { return b_.data(); }
  size_t c_bytes() const { return size_t(shape_.M) * shape_.N * SizeOf(d_.c); }

  const PackedGemmWeights& packed() {
    if (!packed_) {
      GemmWeightsDesc desc;
      desc.a_type = d_.a;
      desc.b_type = d_.b;
      desc.K = shape_.K;
      desc.N = shape_.N;
      desc.b = b_.data();
      desc.ldb = shape_.N;
      packed_ = std::make_unique<PackedGemmWeights>(PackGemmWeights(desc));
    }
    return *packed_;
  }

  // Impl's output with one thread (computed once).
  const Output& OutputOf(Impl impl);

 private:
  GemmShape shape_;
  const DtypeSpec& d_;
  std::vector<uint8_t> a_, b_;
  std::unique_ptr<PackedGemmWeights> packed_;
  std::unique_ptr<Output> out_[2];
};

Problem& GetProblem(const GemmShape& shape, const DtypeSpec& d) {
  static std::unique_ptr<Problem> cached;
  if (!cached || !cached->Is(shape, d)) {
    cached.reset();  // free the previous operands first
    cached = std::make_unique<Problem>(shape, d);
  }
  return *cached;
}

// The SIMD machine tile32 benchmarks run on: the default configuration (the reference chip). Gemm blocks
// M by the ACC rows it has, so no shape here needs more than the default 4096.
AccelConfig Tile32Config(const GemmShape&) { return AccelConfig::Default(); }

// tile32 on `machine`: the arguments of one Gemm call writing C.
GemmArgs Tile32Args(Problem& p, void* c, int threads) {
  GemmArgs args;
  args.M = p.shape().M;
  args.a = p.a();
  args.lda = p.shape().K;
  args.c_type = p.dtype().c;
  args.c = c;
  args.ldc = p.shape().N;
  args.threads = threads;
  return args;
}

// oneDNN for `threads` OpenMP threads (set before the primitive is created: it plans for that count).
std::unique_ptr<OneDnnMatmul> MakeOneDnn(Problem& p, int threads) {
  std::string why;
  if (!SetOpenMpThreads(threads, &why)) throw std::runtime_error(why);
  const GemmShape& s = p.shape();
  return std::make_unique<OneDnnMatmul>(p.dtype().onednn_type, s.M, s.N, s.K, p.b());
}

const Output& Problem::OutputOf(Impl impl) {
  auto& out = out_[static_cast<int>(impl)];
  if (!out) {
    auto c = std::make_unique<Output>(c_bytes());
    if (impl == Impl::kTile32) {
      SimdMachine machine(Tile32Config(shape_));
      Gemm(machine, packed(), Tile32Args(*this, c->data(), 1));
    } else {
      MakeOneDnn(*this, 1)->Run(a(), c->data());
    }
    out = std::move(c);
  }
  return *out;
}

// Compares `mine` (impl's output) with the other implementation's. Returns "" when they are equal, else
// a message naming the first difference; *note says what was checked.
std::string Guard(Problem& p, Impl impl, const Output& mine, std::string* note) {
  const DtypeSpec& d = p.dtype();
  const Impl other = impl == Impl::kTile32 ? Impl::kOneDnn : Impl::kTile32;
  if (!d.onednn || !OneDnnCompiledIn()) {
    *note = "unguarded (no oneDNN peer)";
    return "";
  }
  const Output* theirs = nullptr;
  try {
    theirs = &p.OutputOf(other);
  } catch (const std::exception& e) {
    if (d.c == DType::kF32) {  // oneDNN has no bf16 matmul on CPUs without AVX-512: nothing to compare
      *note = std::string("unguarded: ") + e.what();
      return "";
    }
    return std::string("guard: ") + NameOf(other) + " reference failed: " + e.what();
  }
  const GemmShape& s = p.shape();
  size_t diffs = 0, first = 0;
  double mine_v = 0, theirs_v = 0;
  for (size_t i = 0; i < size_t(s.M) * s.N; ++i) {
    double x, y;
    if (d.c == DType::kF32) {  // by value: -0 == +0 (a zero's sign depends on the summation order)
      float fx, fy;
      std::memcpy(&fx, &mine[4 * i], 4);
      std::memcpy(&fy, &(*theirs)[4 * i], 4);
      x = fx, y = fy;
    } else {
      int32_t ix, iy;
      std::memcpy(&ix, &mine[4 * i], 4);
      std::memcpy(&iy, &(*theirs)[4 * i], 4);
      x = ix, y = iy;
    }
    if (!(x == y) && diffs++ == 0) first = i, mine_v = x, theirs_v = y;
  }
  if (diffs != 0) {
    std::ostringstream os;
    os << "guard: " << d.name << " outputs of tile32 and oneDNN differ on M=" << s.M << " N=" << s.N
       << " K=" << s.K << " in " << diffs << " of " << size_t(s.M) * s.N << " elements; first C[" << first / s.N
       << "][" << first % s.N << "]: " << NameOf(impl) << " " << mine_v << ", " << NameOf(other) << " "
       << theirs_v;
    return os.str();
  }
  *note = std::string("guard: equals ") + NameOf(other);
  return "";
}

void SetGMACs(benchmark::State& state, const GemmShape& s) {
  const double macs = double(s.M) * s.N * s.K;
  state.counters["GMACs"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_GemmTile32(benchmark::State& state, const GemmShape& shape, const DtypeSpec& d, int threads) {
  std::unique_ptr<SimdMachine> machine;
  const PackedGemmWeights* packed = nullptr;
  Output c;
  GemmArgs args;
  std::string error, note;
  bool amx = false;  // the TMACs' AMX rows ran (where the host runs them): "simd/AVX3_DL+AMX"
  try {
    Problem& p = GetProblem(shape, d);
    packed = &p.packed();
    machine = std::make_unique<SimdMachine>(Tile32Config(shape));
    c.assign(p.c_bytes(), 0);
    args = Tile32Args(p, c.data(), threads);
    const uint64_t amx_rows = AmxTmacRowsRun();
    Gemm(*machine, *packed, args);  // warm-up, and the output the guard checks
    amx = AmxTmacRowsRun() > amx_rows;
    error = Guard(p, Impl::kTile32, c, &note);
  } catch (const std::exception& e) {
    error = std::string("set-up: ") + e.what();
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const bool profile = ProfileRequested();
  machine->set_host_timing(profile);
  machine->ResetCounters();
  for (auto _ : state) {
    Gemm(*machine, *packed, args);
    benchmark::ClobberMemory();
  }
  SetGMACs(state, shape);
  if (profile) ReportProfile(state, machine->counters());
  state.SetLabel("simd/" + ListSimdTargets().dispatched.name + (amx ? "+AMX" : "") + ", " + note);
}

void BM_GemmOneDnn(benchmark::State& state, const GemmShape& shape, const DtypeSpec& d, int threads) {
  std::unique_ptr<OneDnnMatmul> peer;
  Output c;
  const void* a = nullptr;
  std::string error, note;
  try {
    Problem& p = GetProblem(shape, d);
    a = p.a();
    c.assign(p.c_bytes(), 0);
    peer = MakeOneDnn(p, threads);
    peer->Run(a, c.data());  // warm-up, and the output the guard checks
    error = Guard(p, Impl::kOneDnn, c, &note);
  } catch (const std::exception& e) {
    error = std::string("set-up: ") + e.what();
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) {
    peer->Run(a, c.data());
    benchmark::ClobberMemory();
  }
  SetGMACs(state, shape);
  state.SetLabel(peer->impl_name() + ", " + note);
}

std::string Name(Impl impl, const DtypeSpec& d, const GemmShape& s, int threads) {
  std::ostringstream os;
  os << "gemm/" << NameOf(impl) << "/" << d.name << "/M:" << s.M << "/N:" << s.N << "/K:" << s.K
     << "/threads:" << threads;
  return os.str();
}

void Register() {
  if (OneDnnCompiledIn()) benchmark::AddCustomContext("onednn_version", OneDnnVersion());
  for (const GemmShape& s : kGemmShapes) {
    for (const DtypeSpec& d : kDtypes) {
      for (int t : kGemmThreads) {
        benchmark::RegisterBenchmark(Name(Impl::kTile32, d, s, t).c_str(),
                                     [&s, &d, t](benchmark::State& st) { BM_GemmTile32(st, s, d, t); })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        if (!d.onednn || !OneDnnCompiledIn()) continue;
        benchmark::RegisterBenchmark(Name(Impl::kOneDnn, d, s, t).c_str(),
                                     [&s, &d, t](benchmark::State& st) { BM_GemmOneDnn(st, s, d, t); })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

}  // namespace

void RegisterGemmBenchmarks() { Register(); }

namespace {

}  // namespace
}  // namespace tile32::bench

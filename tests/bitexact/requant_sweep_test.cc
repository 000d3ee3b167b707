// Requantization (docs/isa.md §5.2) through the machines, SIMD against scalar, on every Highway target:
// per mode at least TILE32_SWEEP_INPUTS int32 accumulator values (default 10^8; 10^6 under
// AddressSanitizer) over a fixed set of parameters — shifts -31, 0 and 7, multipliers 2^30, 2^31-1 and
// 1583594044, scales like 1/3, tiny and huge scales, per-lane mixes, zero points at both ends of the output
// range, narrow clamps — with inputs that hold every int32 extreme, exact rounding ties and random values.
// Each block is ACC_LD + REQ on the scalar machine once; every target's SIMD machine must write the same
// bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "accel/error.h"
#include "accel/numeric.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "tests/common/random_program.h"
#include "tests/common/targets.h"
#include "tests/common/test_util.h"

namespace tile32::test {
namespace {

#ifdef TILE32_TEST_ASAN
constexpr uint64_t kDefaultInputs = 1000000;
constexpr bool kAsan = true;
#else
constexpr uint64_t kDefaultInputs = 100000000;
constexpr bool kAsan = false;
#endif

constexpr uint32_t kMaxRows = 8192;  // ACC rows per block: 1 MiB of inputs, in SRAM and in ACC
constexpr int kTiesPerLane = 64;

uint64_t SweepInputs() {
  const char* v = std::getenv("TILE32_SWEEP_INPUTS");
  if (v == nullptr || *v == '\0') return kDefaultInputs;
  return std::max<uint64_t>(1, static_cast<uint64_t>(std::strtod(v, nullptr)));
}

// splitmix64: the bulk generator (hundreds of millions of values; std::mt19937_64 seeds it).
struct SplitMix {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// ---- parameters ----

struct Tfl {
  int32_t multiplier;
  int shift;
};

// TFLite's QuantizeMultiplier for a positive double scale.
Tfl FromScale(double scale) {
  int e;
  const double q = std::frexp(scale, &e);
  int64_t m = static_cast<int64_t>(std::llround(q * 2147483648.0));
  if (m == (int64_t{1} << 31)) m /= 2, ++e;
  return {static_cast<int32_t>(m), std::clamp(e, -31, 7)};
}

std::vector<Tfl> TflTable() {
  std::vector<Tfl> t = {{1 << 30, -31},     {1 << 30, 0},         {1 << 30, 7},        {2147483647, -31},
                        {2147483647, 0},    {2147483647, 7},      {1583594044, -9},    {1431655765, -1},
                        {1431655765, -2},   {0, 0},               {0, 7},              {1, -31},
                        {1, 7},             {(1 << 30) + 1, -20}, {1 << 29, -3},       {1073741823, -1},
                        FromScale(1e-5),    FromScale(1.0 / 255), FromScale(0.0123),   FromScale(0.75),
                        FromScale(3e-3),    FromScale(1.0 / 3),   FromScale(100.0),    FromScale(2.5e-9)};
  return t;
}

std::vector<float> ScaleTable() {
  return {1.0f / 3,    1.0f,  0.5f,      0.25f,      0x1p-31f,  1e-5f, 1.0f / 255, 0.0123f, 3.0f,     1e3f,
          FLT_MAX,     FLT_MIN, FLT_TRUE_MIN, 0x1p-24f, 0.1f,    1.5f,  0x1p-10f,  6.1035156e-05f, 0.75f, 2.5e-9f};
}

void OutRange(DType out, int32_t* lo, int32_t* hi) {
  *lo = out == DType::kI8 ? -128 : out == DType::kU8 ? 0 : -32768;
  *hi = out == DType::kI8 ? 127 : out == DType::kU8 ? 255 : 32767;
}

struct SweepConfig {
  QuantConfig q;
  DType out;
  std::string name;
};

// Zero point and clamp variant v of output type out: zero point at the low end, the high end, 0, inside;
// full range, fused ReLU or a narrow clamp.
void SetClamp(QuantConfig* q, DType out, int v) {
  int32_t lo, hi;
  OutRange(out, &lo, &hi);
  switch (v % 4) {
    case 0: q->zero_point = lo, q->qmin = lo, q->qmax = hi; break;
    case 1: q->zero_point = hi, q->qmin = lo, q->qmax = hi; break;
    case 2: q->zero_point = std::clamp(0, lo, hi), q->qmin = q->zero_point, q->qmax = hi; break;  // ReLU
    default:
      q->zero_point = lo + (hi - lo) / 3;
      q->qmin = lo + (hi - lo) / 4;
      q->qmax = hi - (hi - lo) / 5;
      break;
  }
}

std::vector<SweepConfig> ConfigsFor(RequantMode mode) {
  const bool tfl = mode == RequantMode::kTflDouble || mode == RequantMode::kTflSingle;
  const DType outs[3] = {DType::kI8, DType::kU8, DType::kI16};
  std::vector<SweepConfig> configs;
  auto add = [&](QuantConfig q, int variant, const std::string& name) {
    q.mode = mode;
    for (int rep = 0; rep < 2; ++rep) {
      const DType out = outs[(variant + rep) % 3];
      SetClamp(&q, out, variant + 2 * rep);
      configs.push_back({q, out, name + " -> " + NameOf(out)});
    }
  };
  int variant = 0;
  if (tfl) {
    const std::vector<Tfl> table = TflTable();
    for (const Tfl& t : table) {
      QuantConfig q;
      q.multiplier.fill(t.multiplier);
      q.shift.fill(t.shift);
      q.scale.fill(1.0f);
      add(q, variant++, "M=" + std::to_string(t.multiplier) + " shift=" + std::to_string(t.shift));
    }
    for (int mix = 0; mix < 4; ++mix) {  // per-lane: every lane its own entry
      QuantConfig q;
      for (int j = 0; j < kLanes; ++j) {
        const Tfl& t = table[(j * 7 + mix * 5) % table.size()];
        q.multiplier[j] = t.multiplier, q.shift[j] = t.shift, q.scale[j] = 1.0f;
      }
      add(q, variant++, "per-lane table mix " + std::to_string(mix));
    }
    std::mt19937_64 rng(static_cast<uint64_t>(mode) * 1000 + 17);
    for (int n = 0; n < 4; ++n) {
      QuantConfig q = RandomQuant(rng, mode, DType::kI16);
      add(q, variant++, "per-lane random " + std::to_string(n));
    }
  } else {
    const std::vector<float> table = ScaleTable();
    for (float s : table) {
      QuantConfig q;
      q.scale.fill(s);
      char name[64];
      std::snprintf(name, sizeof(name), "scale=%a", static_cast<double>(s));
      add(q, variant++, name);
    }
    for (int mix = 0; mix < 4; ++mix) {
      QuantConfig q;
      for (int j = 0; j < kLanes; ++j) q.scale[j] = table[(j * 7 + mix * 5) % table.size()];
      add(q, variant++, "per-lane table mix " + std::to_string(mix));
    }
    std::mt19937_64 rng(static_cast<uint64_t>(mode) * 1000 + 17);
    for (int n = 0; n < 4; ++n) {
      QuantConfig q = RandomQuant(rng, mode, DType::kI16);
      add(q, variant++, "per-lane random " + std::to_string(n));
    }
  }
  return configs;
}

std::string Describe(const SweepConfig& c, int lane) {
  const QuantConfig& q = c.q;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%s [%s], lane %d: multiplier %d shift %d scale %a (%.9g), zero_point %d, clamp [%d, %d]",
                NameOf(q.mode), c.name.c_str(), lane, q.multiplier[lane], q.shift[lane],
                static_cast<double>(q.scale[lane]), static_cast<double>(q.scale[lane]), q.zero_point, q.qmin, q.qmax);
  return buf;
}

// ---- inputs ----

std::vector<int32_t> Extremes() {
  std::vector<int32_t> e = {INT32_MIN, INT32_MIN + 1, INT32_MAX, INT32_MAX - 1, 0, 1, -1};
  for (int k = 1; k < 31; ++k) {
    const int32_t p = int32_t{1} << k;
    for (int32_t v : {p, p - 1, p + 1}) e.push_back(v), e.push_back(-v);
  }
  return e;
}

struct InputGenerator {
  std::vector<int32_t> extremes = Extremes();
  std::vector<int32_t> ties;  // [lane * kTiesPerLane + i]

  void Prepare(const QuantConfig& q, uint64_t seed) {
    std::mt19937_64 rng(seed);
    ties.resize(kLanes * kTiesPerLane);
    for (int j = 0; j < kLanes; ++j)
      for (int i = 0; i < kTiesPerLane; ++i) ties[j * kTiesPerLane + i] = RequantTie(rng, q, j);
  }

  // rows x 32 inputs. The first block of a configuration starts with every extreme and every tie in
  // every lane (and the ties' neighbours), then random values.
  void Fill(int32_t* x, uint32_t rows, bool stress, uint64_t seed) {
    SplitMix rng{seed};
    uint32_t r = 0;
    if (stress) {
      for (size_t e = 0; e < extremes.size() && r < rows; ++e, ++r)
        for (int j = 0; j < kLanes; ++j) x[r * kLanes + j] = extremes[e];
      for (int i = 0; i < kTiesPerLane && r < rows; ++i) {
        for (int d = -1; d <= 1 && r < rows; ++d, ++r) {
          for (int j = 0; j < kLanes; ++j) {
            const int64_t v = int64_t{ties[j * kTiesPerLane + i]} + d;
            x[r * kLanes + j] = static_cast<int32_t>(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX));
          }
        }
      }
    }
    for (; r < rows; ++r) {
      for (int j = 0; j < kLanes; ++j) {
        const uint64_t u = rng.Next();
        const uint32_t hi = static_cast<uint32_t>(u >> 32);
        int32_t v;
        switch (u % 10) {
          case 0:
          case 1:
          case 2: v = static_cast<int32_t>(hi); break;
          case 3:
          case 4: v = static_cast<int32_t>(hi % 8193) - 4096; break;
          case 5:
          case 6: {  // log-uniform magnitude
            const int bits = static_cast<int>((u >> 8) % 32);
            const uint32_t mag = bits == 0 ? 0 : (hi >> (32 - bits));
            v = static_cast<int32_t>((u >> 16) & 1 ? 0u - mag : mag);
            break;
          }
          case 7:
          case 8: {
            const int64_t t = ties[j * kTiesPerLane + (u >> 16) % kTiesPerLane];
            const int64_t d = static_cast<int64_t>((u >> 24) % 5) - 2;  // the tie and its neighbours
            v = static_cast<int32_t>(std::clamp<int64_t>(((u >> 27) & 1) ? t : t + d, INT32_MIN, INT32_MAX));
            break;
          }
          default: v = extremes[(u >> 16) % extremes.size()]; break;
        }
        x[r * kLanes + j] = v;
      }
    }
  }
};

// ---- the sweep ----

void Sweep(RequantMode mode) {
  const uint64_t want = SweepInputs();
  const std::vector<SweepConfig> configs = ConfigsFor(mode);
  const uint64_t per_config = (want + configs.size() - 1) / configs.size();
  const uint32_t rows = static_cast<uint32_t>(std::clamp<uint64_t>((per_config + kLanes - 1) / kLanes, 1, kMaxRows));
  const uint64_t blocks = (per_config + uint64_t{rows} * kLanes - 1) / (uint64_t{rows} * kLanes);

  AccelConfig c;
  c.acc_rows = rows;
  const uint32_t in_bytes = rows * 128, out_addr = in_bytes;
  c.sram_bytes = std::max<uint32_t>(1024, in_bytes + rows * 64);
  const std::vector<int64_t> targets = TargetsToTest();

  ScalarMachine ref(c);
  std::vector<std::unique_ptr<SimdMachine>> simd;
  for (int64_t t : targets) {
    ScopedTarget scoped(t);
    simd.push_back(std::make_unique<SimdMachine>(c));
  }
  std::vector<int> failures(targets.size(), 0);
  InputGenerator gen;
  const auto start = std::chrono::steady_clock::now();
  double scalar_seconds = 0;
  std::vector<double> target_seconds(targets.size(), 0);
  uint64_t inputs = 0;

  for (size_t ci = 0; ci < configs.size(); ++ci) {
    const SweepConfig& sc = configs[ci];
    const uint64_t config_seed = static_cast<uint64_t>(mode) << 32 | ci;
    gen.Prepare(sc.q, config_seed);
    ref.Execute(SetQuant{sc.q});
    for (size_t t = 0; t < targets.size(); ++t) simd[t]->Execute(SetQuant{sc.q});
    AccLoad ld;
    ld.row = 0, ld.rows = rows, ld.addr = 0, ld.row_stride = 128;
    Requant rq;
    rq.acc_row = 0, rq.rows = rows, rq.out = sc.out, rq.addr = out_addr, rq.row_stride = kLanes * SizeOf(sc.out);
    const size_t out_bytes = size_t{rows} * kLanes * SizeOf(sc.out);

    for (uint64_t b = 0; b < blocks; ++b) {
      const uint64_t block_seed = config_seed * 1000003 + b;
      const auto t0 = std::chrono::steady_clock::now();
      SramBytes& sram = ref.sram();
      gen.Fill(reinterpret_cast<int32_t*>(sram.data()), rows, b == 0, block_seed);
      ref.Execute(ld);
      ref.Execute(rq);
      inputs += uint64_t{rows} * kLanes;
      const uint8_t* expected = ref.sram().data() + out_addr;
      const auto t1 = std::chrono::steady_clock::now();
      scalar_seconds += std::chrono::duration<double>(t1 - t0).count();

      for (size_t t = 0; t < targets.size(); ++t) {
        const auto t2 = std::chrono::steady_clock::now();
        ScopedTarget scoped(targets[t]);
        SimdMachine& m = *simd[t];
        std::memcpy(m.sram().data(), ref.sram().data(), in_bytes);
        m.Execute(ld);
        m.Execute(rq);
        const uint8_t* got = m.sram().data() + out_addr;
        if (std::memcmp(expected, got, out_bytes) != 0 && failures[t] < 3) {
          ++failures[t];
          size_t e = 0;
          const int size = SizeOf(sc.out);
          while (std::memcmp(expected + e * size, got + e * size, size) == 0) ++e;
          int32_t x;
          std::memcpy(&x, ref.sram().data() + e * 4, 4);
          auto code = [&](const uint8_t* p) {
            return sc.out == DType::kI8 ? int32_t{static_cast<int8_t>(p[0])}
                   : sc.out == DType::kU8 ? int32_t{p[0]}
                                          : int32_t{static_cast<int16_t>(p[0] | p[1] << 8)};
          };
          ADD_FAILURE() << "target " << TargetName(targets[t]) << ": REQ." << NameOf(sc.out) << " x = " << x
                        << " -> SIMD " << code(got + e * size) << ", scalar " << code(expected + e * size) << "\n  "
                        << Describe(sc, static_cast<int>(e % kLanes)) << "\n  row " << e / kLanes << " of block " << b
                        << " (block seed " << block_seed << ")";
        }
        target_seconds[t] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
      }
    }
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ requant sweep %s ] %llu inputs%s in %zu parameter sets x %llu blocks of %u rows; %.1f s total, "
              "scalar %.1f s",
              NameOf(mode), static_cast<unsigned long long>(inputs), kAsan ? " (AddressSanitizer build)" : "",
              configs.size(), static_cast<unsigned long long>(blocks), rows, total, scalar_seconds);
  for (size_t t = 0; t < targets.size(); ++t) std::printf(", %s %.1f s", TargetName(targets[t]).c_str(), target_seconds[t]);
  std::printf("\n");
  std::fflush(stdout);
}

TEST(RequantSweep, TflDouble) { Sweep(RequantMode::kTflDouble); }
TEST(RequantSweep, TflSingle) { Sweep(RequantMode::kTflSingle); }
TEST(RequantSweep, FloatRne) { Sweep(RequantMode::kFloatRne); }
TEST(RequantSweep, FloatZpFirst) { Sweep(RequantMode::kFloatZpFirst); }

}  // namespace
}  // namespace tile32::test

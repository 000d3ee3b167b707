// Channel shuffle (kernels/channel_shuffle.h) on the scalar reference machine and on the SIMD machine forced
// to every Highway target this CPU supports, byte for byte against the textbook ChannelShuffleRef
// (tests/common/conv_reference.h); the routes PackChannelShuffle builds; the mux passes the machines count;
// and the argument errors, after which y must be untouched.
// Seeds are fixed per test and printed on failure; TILE32_SEED overrides them all.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <tbb/task_arena.h>

#include "accel/cost.h"
#include "accel/error.h"
#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "kernels/channel_shuffle.h"
#include "tests/common/conv_reference.h"
#include "tests/common/targets.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace {

using testing::ExpectErrorMentioning;
using testing::TestSeed;

constexpr uint8_t kSentinel = 0xA5;
constexpr size_t kGuard = 64;  // sentinel bytes before and after y: nothing outside y may be written
constexpr DType kTypes[] = {DType::kU8, DType::kI16, DType::kBF16};
constexpr int kChannels[] = {1, 2, 3, 6, 31, 32, 33, 58, 64, 116, 200, 232, 464};

// Small enough that a few pixels of a wide shuffle fill the SRAM: many bands per call.
AccelConfig SmallConfig() {
  AccelConfig c;
  c.sram_bytes = 16 << 10;
  return c;
}

std::vector<int> Divisors(int n) {
  std::vector<int> d;
  for (int g = 1; g <= n; ++g) {
    if (n % g == 0) d.push_back(g);
  }
  return d;
}

// The scalar machine, then the SIMD machine under each supported target.
class Machines {
 public:
  explicit Machines(const AccelConfig& config) : scalar_(config), simd_(config) {}

  void ForEach(const std::function<void(Machine&, const std::string&)>& f) {
    f(scalar_, "scalar");
    for (int64_t target : test::TargetsToTest()) {
      test::ScopedTarget scoped(target);
      f(simd_, "simd/" + scoped.name());
    }
  }

 private:
  ScalarMachine scalar_;
  SimdMachine simd_;
};

struct Case {
  int channels = 1, groups = 1;
  DType type = DType::kU8;
  int batch = 1, height = 1, width = 1;
  int64_t x_extra = 0, y_extra = 0;  // pixel stride = channels + extra (0: the stride argument is left 0)
  int threads = 0;
  ShuffleAlgorithm algorithm = ShuffleAlgorithm::kRoutes;

  int64_t pixels() const { return int64_t{batch} * height * width; }
};

std::string Describe(const Case& c, uint64_t seed) {
  std::ostringstream os;
  os << "seed " << seed << " (TILE32_SEED overrides): channels " << c.channels << " groups " << c.groups << " "
     << NameOf(c.type) << " pixels " << c.batch << "x" << c.height << "x" << c.width << " x_stride+" << c.x_extra
     << " y_stride+" << c.y_extra << " threads " << c.threads << " " << NameOf(c.algorithm);
  return os.str();
}

// A case's input (random bytes, the stride padding too: it must not leak into y) and the bytes the whole
// y buffer must hold afterwards: the reference's pixels, sentinels in the stride padding and the guards.
struct Prepared {
  Case c;
  PackedChannelShuffle packed;
  std::vector<uint8_t> x, want;
  int64_t x_stride = 0, y_stride = 0;  // elements
};

Prepared Prepare(const Case& c, uint64_t seed) {
  Prepared p;
  p.c = c;
  p.packed = PackChannelShuffle({c.channels, c.groups, c.type, c.algorithm});
  const int elem = SizeOf(c.type);
  const size_t C = size_t(c.channels), P = size_t(c.pixels());
  p.x_stride = c.channels + c.x_extra, p.y_stride = c.channels + c.y_extra;
  std::mt19937_64 rng(seed);
  p.x.resize(((P - 1) * p.x_stride + C) * elem);
  for (auto& b : p.x) b = static_cast<uint8_t>(rng());
  std::vector<uint8_t> dense(P * C * elem);
  for (size_t q = 0; q < P; ++q) std::memcpy(&dense[q * C * elem], &p.x[q * p.x_stride * elem], C * elem);
  const std::vector<uint8_t> y = testing::ChannelShuffleRef(int(P), c.channels, c.groups, elem, dense.data());
  p.want.assign(kGuard + ((P - 1) * p.y_stride + C) * elem + kGuard, kSentinel);
  for (size_t q = 0; q < P; ++q) std::memcpy(&p.want[kGuard + q * p.y_stride * elem], &y[q * C * elem], C * elem);
  return p;
}

ChannelShuffleArgs ArgsOf(const Prepared& p, std::vector<uint8_t>& out) {
  ChannelShuffleArgs a;
  a.batch = p.c.batch, a.height = p.c.height, a.width = p.c.width;
  a.x = p.x.data(), a.x_pixel_stride = p.c.x_extra == 0 ? 0 : p.x_stride;
  a.y = out.data() + kGuard, a.y_pixel_stride = p.c.y_extra == 0 ? 0 : p.y_stride;
  a.threads = p.c.threads;
  return a;
}

::testing::AssertionResult RunOn(Machine& machine, const Prepared& p) {
  std::vector<uint8_t> out(p.want.size(), kSentinel);
  try {
    ChannelShuffle(machine, p.packed, ArgsOf(p, out));
  } catch (const Error& e) {
    return ::testing::AssertionFailure() << "threw: " << e.what();
  }
  const int elem = SizeOf(p.c.type);
  int mismatches = 0;
  std::ostringstream os;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == p.want[i]) continue;
    if (++mismatches > 5) continue;
    if (i < kGuard || i >= out.size() - kGuard) {
      os << "\n  guard byte " << i << " written: " << int{out[i]};
      continue;
    }
    const size_t e = (i - kGuard) / elem;
    const int64_t pixel = int64_t(e) / p.y_stride, channel = int64_t(e) % p.y_stride;
    os << "\n  pixel " << pixel << " channel " << channel << (channel < p.c.channels ? "" : " (stride padding)")
       << " byte " << (i - kGuard) % elem << ": got " << int{out[i]} << ", want " << int{p.want[i]};
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << mismatches << " mismatching bytes" << os.str();
}

void RunEverywhere(Machines& machines, const Case& c, uint64_t seed) {
  SCOPED_TRACE(Describe(c, seed));
  const Prepared p = Prepare(c, seed);
  machines.ForEach([&](Machine& m, const std::string& name) { EXPECT_TRUE(RunOn(m, p)) << "on " << name; });
}

int TotalPasses(const PackedChannelShuffle& p) {
  int total = 0;
  for (const ShuffleRoute& r : p.routes) total += r.passes;
  return total;
}

// ---- Routes ----

// Every output lane < C routed exactly once, to the right source; lanes >= C never; each route reads a
// window of 32 sources that starts at one of its own (so it could not start later), the next route of the
// block starts past that window (the greedy sweep: no two routes could be one), and passes = MuxPasses.
TEST(ChannelShufflePack, RoutesCoverEveryLaneOnce) {
  std::vector<int> channels(std::begin(kChannels), std::end(kChannels));
  channels.push_back(1000);
  channels.push_back(4096);
  for (int C : channels) {
    for (int g : Divisors(C)) {
      SCOPED_TRACE("channels " + std::to_string(C) + " groups " + std::to_string(g));
      const PackedChannelShuffle p = PackChannelShuffle({C, g, DType::kBF16});
      const int blocks = (C + 31) / 32;
      std::vector<int> hits(size_t(blocks) * 32, 0);
      for (size_t k = 0; k < p.routes.size(); ++k) {
        const ShuffleRoute& r = p.routes[k];
        ASSERT_GE(r.out_block, 0);
        ASSERT_LT(r.out_block, blocks);
        bool starts_at_own = false;
        for (int lane = 0; lane < 32; ++lane) {
          const int s = r.route[lane];
          ASSERT_GE(s, -1);
          ASSERT_LT(s, 32);
          if (s < 0) continue;
          starts_at_own |= s == 0;
          const int o = r.out_block * 32 + lane;
          ASSERT_LT(o, C) << "lane past channels routed";
          EXPECT_EQ(r.src_channel + s, (o % g) * (C / g) + o / g) << "output channel " << o;
          ++hits[size_t(o)];
        }
        EXPECT_TRUE(starts_at_own) << "route " << k << " starts at channel " << r.src_channel << ", not a source";
        EXPECT_EQ(r.passes, MuxPasses(r.route.data()));
        if (k > 0 && p.routes[k - 1].out_block == r.out_block) {
          EXPECT_GE(r.src_channel, p.routes[k - 1].src_channel + 32) << "route " << k << " overlaps the previous";
        } else if (k > 0) {
          EXPECT_EQ(r.out_block, p.routes[k - 1].out_block + 1);
        }
      }
      for (int o = 0; o < blocks * 32; ++o) EXPECT_EQ(hits[size_t(o)], o < C ? 1 : 0) << "output channel " << o;
    }
  }
}

// groups = 1 and groups = C are the identity: one route per block, route[i] = i, one pass.
TEST(ChannelShufflePack, IdentityIsOnePassPerBlock) {
  for (int C : kChannels) {
    for (int g : {1, C}) {
      SCOPED_TRACE("channels " + std::to_string(C) + " groups " + std::to_string(g));
      const PackedChannelShuffle p = PackChannelShuffle({C, g, DType::kU8});
      const int blocks = (C + 31) / 32;
      ASSERT_EQ(p.routes.size(), size_t(blocks));
      for (int b = 0; b < blocks; ++b) {
        const ShuffleRoute& r = p.routes[size_t(b)];
        EXPECT_EQ(r.out_block, b);
        EXPECT_EQ(r.src_channel, 32 * b);
        EXPECT_EQ(r.passes, 1);
        for (int lane = 0; lane < 32; ++lane) EXPECT_EQ(r.route[lane], 32 * b + lane < C ? lane : -1);
      }
    }
  }
}

// The routes do not depend on the element type.
TEST(ChannelShufflePack, RoutesDoNotDependOnType) {
  for (int g : Divisors(464)) {
    const PackedChannelShuffle a = PackChannelShuffle({464, g, DType::kU8});
    for (DType t : {DType::kI8, DType::kI16, DType::kBF16}) {
      const PackedChannelShuffle b = PackChannelShuffle({464, g, t});
      ASSERT_EQ(a.routes.size(), b.routes.size());
      for (size_t k = 0; k < a.routes.size(); ++k) {
        EXPECT_EQ(a.routes[k].src_channel, b.routes[k].src_channel);
        EXPECT_EQ(a.routes[k].route, b.routes[k].route);
      }
    }
  }
}

// ShuffleNet's groups = 2: every block interleaves two halves at a distance per lane, what the muxes do worst.
TEST(ChannelShufflePack, GroupsTwoNeedsManyPasses) {
  for (int C : {116, 232, 464}) {
    const PackedChannelShuffle p = PackChannelShuffle({C, 2, DType::kU8});
    const int blocks = (C + 31) / 32, total = TotalPasses(p);
    std::cout << "[ channel shuffle ] C = " << C << ", groups = 2: " << p.routes.size() << " RPERMs over " << blocks
              << " blocks, " << total << " mux passes per pixel (identity: " << blocks << ")\n";
    EXPECT_GT(total, blocks);
    for (const ShuffleRoute& r : p.routes) EXPECT_GT(r.passes, 1);
  }
}

// ---- Results against the reference ----

// Every C of the list with every divisor as groups, every type, on the default configuration (one band);
// pixel count, batch shape, strides and threads vary with the case's index.
TEST(ChannelShuffle, MatchesReferenceGrid) {
  const uint64_t seed = TestSeed(7001);
  Machines machines(AccelConfig::Default());
  int index = 0;
  for (int C : kChannels) {
    for (int g : Divisors(C)) {
      for (DType t : kTypes) {
        if (::testing::Test::HasFailure()) return;
        Case c;
        c.channels = C, c.groups = g, c.type = t;
        c.batch = 1 + index % 2, c.height = 1 + index % 5, c.width = 1 + (index / 3) % 7;
        c.x_extra = index % 4 == 1 ? 5 : 0;
        c.y_extra = index % 3 == 2 ? 3 : 0;
        c.threads = index % 3;
        RunEverywhere(machines, c, seed + index++);
      }
    }
  }
}

// The permutation GEMM on the tile arrays: every C of the list with a few groups, the integer types, pixel
// counts, strides and threads, against the reference (as the routes are) on every machine and target; a
// 16 KiB SRAM as well, where the GEMM streams its weights and activations in blocks.
TEST(ChannelShuffle, PermutationGemmMatchesReference) {
  const uint64_t seed = TestSeed(7005);
  Machines machines(AccelConfig::Default()), small(SmallConfig());
  int index = 0;
  for (int C : kChannels) {
    const std::vector<int> all = Divisors(C);
    for (int g : {all.front(), all[all.size() / 2], all.back()}) {
      for (DType t : {DType::kU8, DType::kI8, DType::kI16}) {
        if (::testing::Test::HasFailure()) return;
        Case c;
        c.channels = C, c.groups = g, c.type = t, c.algorithm = ShuffleAlgorithm::kPermutation;
        c.batch = 1 + index % 2, c.height = 1 + index % 5, c.width = 1 + (index / 3) % 7;
        if (index % 4 == 3 && C <= 116) c.height = 40, c.width = 30;  // many row blocks
        c.x_extra = index % 4 == 1 ? 5 : 0;
        c.y_extra = index % 3 == 2 ? 3 : 0;
        c.threads = index % 3;
        Machines& on = index % 4 == 3 ? small : machines;
        RunEverywhere(on, c, seed + index++);
      }
    }
  }
}

// A small SRAM: many bands per call, up to ~3000 pixels, the last band partial, strides on both sides.
TEST(ChannelShuffle, ManyBandsMatchReference) {
  const uint64_t seed = TestSeed(7002);
  Machines machines(SmallConfig());
  int index = 0;
  const std::vector<std::pair<int, std::vector<int>>> shapes = {
      {33, {3, 11}}, {116, {2, 4, 58}}, {232, {2, 8, 116}}, {464, {2, 16, 464}}};
  for (const auto& [C, groups] : shapes) {
    for (int g : groups) {
      for (DType t : kTypes) {
        if (::testing::Test::HasFailure()) return;
        Case c;
        c.channels = C, c.groups = g, c.type = t;
        if (index % 2 == 0) {
          c.batch = 2, c.height = 25, c.width = 60;  // 3000 pixels
        } else {
          c.batch = 1, c.height = 1, c.width = 2999 - index;  // odd counts: a partial last band
        }
        c.x_extra = index % 3 == 0 ? 0 : 17;
        c.y_extra = index % 4 == 0 ? 0 : 9;
        c.threads = 1 + index % 2;
        RunEverywhere(machines, c, seed + index++);
      }
    }
  }
}

// The SRAM holds exactly one pixel (1 KiB, C = 200 bf16: input 448 + 64 slack, aligned to 512, output 448):
// one pixel per band.
TEST(ChannelShuffle, OnePixelPerBand) {
  const uint64_t seed = TestSeed(7003);
  AccelConfig config;
  config.sram_bytes = 1024;
  Machines machines(config);
  Case c;
  c.channels = 200, c.groups = 8, c.type = DType::kBF16, c.batch = 3, c.height = 7, c.width = 5, c.y_extra = 1;
  RunEverywhere(machines, c, seed);
  ScalarMachine m(config);
  const Prepared p = Prepare(c, seed);
  ASSERT_TRUE(RunOn(m, p));
  EXPECT_EQ(m.counters().per_opcode[Instr(DmaIn{}).index()], uint64_t(c.pixels()));
}

// The 1-byte signed type too, and x with a stride on a shape whose last route reads past the pixel.
TEST(ChannelShuffle, Int8WithStrides) {
  const uint64_t seed = TestSeed(7004);
  Machines machines(SmallConfig());
  Case c;
  c.channels = 58, c.groups = 29, c.type = DType::kI8, c.batch = 4, c.height = 11, c.width = 13;
  c.x_extra = 1, c.y_extra = 70;
  RunEverywhere(machines, c, seed);
}

// The largest channel count: 32768 blocks, two routes each.
TEST(ChannelShuffle, LargestChannelCount) {
  const uint64_t seed = TestSeed(7005);
  Machines machines(AccelConfig::Default());
  Case c;
  c.channels = 1 << 20, c.groups = 2, c.type = DType::kU8, c.width = 3;
  RunEverywhere(machines, c, seed);
}

// ---- Counters ----

// The machine counts rows x passes per RPERM: over a whole call, pixels x the routes' passes, however the
// pixels fall into bands; one RPERM per route per band, one DMA each way per band.
TEST(ChannelShuffle, CountersMatchRoutes) {
  const uint64_t seed = TestSeed(7006);
  for (const AccelConfig& config : {AccelConfig::Default(), SmallConfig()}) {
    Machines machines(config);
    for (int C : {116, 232, 464}) {
      Case c;
      c.channels = C, c.groups = 2, c.type = DType::kBF16, c.batch = 2, c.height = 9, c.width = 11;
      SCOPED_TRACE(Describe(c, seed));
      const Prepared p = Prepare(c, seed);
      const uint64_t passes = uint64_t(TotalPasses(p.packed));
      machines.ForEach([&](Machine& m, const std::string& name) {
        m.ResetCounters();
        ASSERT_TRUE(RunOn(m, p)) << "on " << name;
        const Counters& k = m.counters();
        const uint64_t bands = k.per_opcode[Instr(DmaIn{}).index()];
        EXPECT_EQ(k.total.mux_passes, uint64_t(c.pixels()) * passes) << "on " << name;
        EXPECT_EQ(k.per_opcode[Instr(DmaOut{}).index()], bands) << "on " << name;
        EXPECT_EQ(k.per_opcode[Instr(RowPerm{}).index()], bands * p.packed.routes.size()) << "on " << name;
        EXPECT_EQ(k.instructions, bands * (2 + p.packed.routes.size())) << "on " << name;
        EXPECT_EQ(bands > 1, config.sram_bytes == SmallConfig().sram_bytes) << "on " << name;
      });
    }
  }
}

// ---- RPERM batches: the SIMD machine defers consecutive RPERMs (docs/simd_machine.md, "RPERM") ----

// One step of a program: an instruction, or a host access to SRAM between instructions.
struct Step {
  enum Kind { kExecute, kHostRead, kHostWrite } kind = kExecute;
  Instr instr;
  uint32_t addr = 0;  // kHostWrite: the byte written (value)
  uint8_t value = 0;
};

// Everything observable after a program: SRAM at each host read and at the end, ACC, each step's error,
// the counters (host time aside).
struct Outcome {
  std::vector<std::vector<uint8_t>> reads;
  std::vector<uint8_t> sram;
  std::vector<uint32_t> acc;
  std::vector<std::string> errors;
  Counters counters;
};

Outcome RunProgram(ScalarMachine& m, const std::vector<Step>& steps, const std::vector<uint8_t>& init,
                   std::vector<uint8_t>& dram) {
  SramBytes& sram = m.sram();
  std::copy(init.begin(), init.end(), sram.begin());
  m.BindDramReadOnly(0, dram.data(), dram.size());
  m.ResetCounters();
  Outcome o;
  for (const Step& s : steps) {
    if (s.kind == Step::kHostRead) {
      o.reads.emplace_back(std::as_const(m).sram().begin(), std::as_const(m).sram().end());
    } else if (s.kind == Step::kHostWrite) {
      m.sram()[s.addr] = s.value;
    } else {
      try {
        m.Execute(s.instr);
        o.errors.emplace_back();
      } catch (const Error& e) {
        o.errors.emplace_back(e.what());
      }
    }
  }
  o.counters = m.counters();
  o.sram.assign(std::as_const(m).sram().begin(), std::as_const(m).sram().end());
  for (uint32_t r = 0; r < m.config().acc_rows; ++r) {
    const uint32_t* row = m.acc_row(r);
    o.acc.insert(o.acc.end(), row, row + kLanes);
  }
  m.UnbindDram(0);
  return o;
}

void ExpectSameOutcome(const Outcome& want, const Outcome& got, const std::string& name) {
  EXPECT_EQ(got.errors, want.errors) << "on " << name;
  EXPECT_TRUE(got.reads == want.reads) << "on " << name << ": SRAM differs at a host read";
  if (got.sram != want.sram) {
    size_t i = 0;
    while (got.sram[i] == want.sram[i]) ++i;
    ADD_FAILURE() << "on " << name << ": SRAM byte " << i << " is " << int{got.sram[i]} << ", want " << int{want.sram[i]};
  }
  EXPECT_TRUE(got.acc == want.acc) << "on " << name << ": ACC differs";
  const Counters &a = want.counters, &b = got.counters;
  EXPECT_EQ(b.instructions, a.instructions) << "on " << name;
  EXPECT_TRUE(std::equal(std::begin(a.per_opcode), std::end(a.per_opcode), std::begin(b.per_opcode))) << "on " << name;
  EXPECT_EQ(b.total.cycles, a.total.cycles) << "on " << name;
  EXPECT_EQ(b.total.sram_cycles, a.total.sram_cycles) << "on " << name;
  EXPECT_EQ(b.total.mux_passes, a.total.mux_passes) << "on " << name;
  EXPECT_EQ(b.total.dram_bytes, a.total.dram_bytes) << "on " << name;
}

// The program on the scalar machine, then on a fresh SIMD machine per target (in an arena of `threads`).
void ExpectSimdMatchesScalar(const AccelConfig& config, const std::vector<Step>& steps, uint64_t seed,
                             int threads = 1) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> init(config.sram_bytes), dram(4096);
  for (auto& b : init) b = static_cast<uint8_t>(rng());
  for (auto& b : dram) b = static_cast<uint8_t>(rng());
  ScalarMachine scalar(config);
  const Outcome want = RunProgram(scalar, steps, init, dram);
  for (int64_t target : test::TargetsToTest()) {
    test::ScopedTarget scoped(target);
    SimdMachine simd(config);
    Outcome got;
    tbb::task_arena(threads).execute([&] { got = RunProgram(simd, steps, init, dram); });
    ExpectSameOutcome(want, got, "simd/" + scoped.name());
  }
}

Step Exec(const Instr& i) {
  Step s;
  s.instr = i;
  return s;
}

RowPerm Perm(DType type, uint32_t rows, uint32_t dst, int32_t ds, uint32_t src, int32_t ss,
             const std::array<int8_t, kLanes>& route) {
  RowPerm p;
  p.type = type, p.rows = rows, p.dst = dst, p.dst_stride = ds, p.src = src, p.src_stride = ss, p.route = route;
  return p;
}

std::array<int8_t, kLanes> RandomRoute(std::mt19937_64& rng, double unwritten) {
  std::array<int8_t, kLanes> r;
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& l : r) l = u(rng) < unwritten ? -1 : static_cast<int8_t>(rng() % kLanes);
  return r;
}

// A base such that `rows` rows of `bytes` at base + r * stride lie in [lo, hi), or -1.
int64_t PlaceRows(std::mt19937_64& rng, int64_t lo, int64_t hi, int64_t stride, uint32_t rows, int64_t bytes) {
  const int64_t reach = stride * (int64_t{rows} - 1);
  const int64_t first = lo - std::min<int64_t>(reach, 0), last = hi - bytes - std::max<int64_t>(reach, 0);
  if (last < first) return -1;
  return first + static_cast<int64_t>(rng() % static_cast<uint64_t>(last - first + 1));
}

// Batches as a shuffle issues them (sources below half the SRAM, destinations above, each RPERM's written
// lanes inside the rows' window: they join), and beside them RPERMs placed anywhere (in place, reading what
// the batch writes, writing what it reads, rows sharing bytes: they must not join, or not change the result
// if they do), bad RPERMs, and instructions and host accesses that must see the batch done.
std::vector<Step> RandomBatchProgram(std::mt19937_64& rng, uint32_t sram) {
  std::vector<Step> steps;
  std::uniform_real_distribution<double> u(0, 1);
  const DType types[] = {DType::kU8, DType::kI8, DType::kI16, DType::kBF16, DType::kI32};
  for (int batch = 0; batch < 40; ++batch) {
    const DType type = types[rng() % 5];
    const int size = SizeOf(type), bytes = kLanes * size;
    const uint32_t rows = std::array<uint32_t, 6>{1, 2, 3, 7, 16, 40}[rng() % 6];
    const bool tidy = u(rng) < 0.6;
    const int32_t ds = tidy ? bytes + static_cast<int32_t>(rng() % (3 * bytes)) : static_cast<int32_t>(rng() % 400) - 200;
    const int32_t ss = u(rng) < 0.5 ? ds : static_cast<int32_t>(rng() % 600) - 100;
    const int count = 1 + static_cast<int>(rng() % 12);
    const int64_t src_region = tidy ? PlaceRows(rng, 0, sram / 2, ss, rows, ds + bytes) : 0;
    // bytes of margin: an RPERM's unwritten lanes may reach out of the window on either side.
    const int64_t dst_region = tidy ? PlaceRows(rng, sram / 2 + bytes, sram - bytes, ds, rows, ds) : 0;
    if (src_region < 0 || dst_region < 0) continue;
    for (int k = 0; k < count; ++k) {
      const std::array<int8_t, kLanes> route = RandomRoute(rng, u(rng) < 0.5 ? 0.0 : 0.5);
      int first = kLanes, last = -1;
      for (int l = 0; l < kLanes; ++l) {
        if (route[l] >= 0) first = std::min(first, l), last = l;
      }
      int64_t src, dst;
      if (tidy) {  // the written lanes at [0, ds) of each destination row: they may overlap other RPERMs' lanes
        src = src_region + static_cast<int64_t>(rng() % static_cast<uint64_t>(ds + 1));
        const int64_t lo = last < 0 ? 0 : -int64_t{first} * size, hi = last < 0 ? ds - bytes : ds - int64_t{last + 1} * size;
        dst = dst_region + lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
      } else {
        src = PlaceRows(rng, 0, sram, ss, rows, bytes);
        dst = u(rng) < 0.2 ? src : PlaceRows(rng, 0, sram, ds, rows, bytes);
        if (src < 0 || dst < 0) continue;
      }
      steps.push_back(Exec(Perm(type, rows, static_cast<uint32_t>(dst), ds, static_cast<uint32_t>(src), ss, route)));
      const double what = u(rng);
      if (what < 0.03) {  // a bad route: refused, the batch before it unchanged
        RowPerm bad = Perm(type, rows, static_cast<uint32_t>(dst), ds, static_cast<uint32_t>(src), ss, route);
        bad.route[rng() % kLanes] = 32;
        steps.push_back(Exec(bad));
      } else if (what < 0.06) {
        Step s;
        s.kind = Step::kHostRead;
        steps.push_back(s);
      } else if (what < 0.09) {
        Step s;
        s.kind = Step::kHostWrite, s.addr = static_cast<uint32_t>(rng() % sram), s.value = static_cast<uint8_t>(rng());
        steps.push_back(s);
      } else if (what < 0.12) {  // a store into the sources or destinations
        VStore v;
        v.vs = static_cast<uint8_t>(rng() % 4), v.type = DType::kI32, v.addr = static_cast<uint32_t>(src);
        if (v.addr + 4 * kLanes <= sram) steps.push_back(Exec(v));
      } else if (what < 0.15) {
        VLoad v;
        v.vd = static_cast<uint8_t>(rng() % 4), v.type = DType::kI32, v.addr = static_cast<uint32_t>(dst);
        if (v.addr + 4 * kLanes <= sram) steps.push_back(Exec(v));
      } else if (what < 0.18) {
        DmaIn d;
        d.sram = static_cast<uint32_t>(src), d.rows = 2, d.row_bytes = 48, d.dram = rng() % 1024;
        d.dram_stride = 100, d.sram_stride = 64;
        if (d.sram + 64 + 48 <= sram) steps.push_back(Exec(d));
      } else if (what < 0.21) {  // a tile read in place, overwritten by an RPERM, then used
        TileLoad t;
        t.td = 0, t.type = DType::kI8, t.addr = static_cast<uint32_t>(std::min<int64_t>(dst, sram - 1024));
        steps.push_back(Exec(t));
        steps.push_back(Exec(Perm(type, 1, t.addr + 100, ds, static_cast<uint32_t>(rng() % 1024), ss, route)));
        TileMac m;
        m.mode = MacMode::kU8S8, m.rows = 2, m.a_addr = static_cast<uint32_t>(rng() % (sram - 128));
        steps.push_back(Exec(m));
      } else if (what < 0.24) {
        AccStore a;
        a.row = 0, a.rows = 2, a.addr = static_cast<uint32_t>(src), a.row_stride = 128;
        if (a.addr + 256 <= sram) steps.push_back(Exec(a));
      }
    }
  }
  return steps;
}

TEST(RpermBatch, RandomProgramsMatchScalar) {
  AccelConfig config;
  config.sram_bytes = 32 << 10;
  for (uint64_t k = 0; k < 12; ++k) {
    const uint64_t seed = TestSeed(7100 + k);
    SCOPED_TRACE("seed " + std::to_string(seed) + " (TILE32_SEED overrides)");
    std::mt19937_64 rng(seed);
    ExpectSimdMatchesScalar(config, RandomBatchProgram(rng, config.sram_bytes), seed);
  }
}

// Rows enough that the batch is split across an arena of 2 threads (64 KiB and more), the kernel's pattern.
TEST(RpermBatch, SplitAcrossThreadsMatchesScalar) {
  const uint64_t seed = TestSeed(7120);
  for (int C : {116, 232, 464}) {
    const PackedChannelShuffle p = PackChannelShuffle({C, 2, DType::kU8});
    const uint32_t rows = 1500, out = static_cast<uint32_t>(C) * rows + 64;
    std::vector<Step> steps;
    for (const ShuffleRoute& r : p.routes) {
      steps.push_back(Exec(Perm(DType::kU8, rows, out + 32 * r.out_block, C, r.src_channel, C, r.route)));
    }
    SCOPED_TRACE("channels " + std::to_string(C));
    ExpectSimdMatchesScalar(AccelConfig::Default(), steps, seed, 2);
  }
}

// A batch broken by an instruction that writes one of its sources, then continued; an RPERM reading what the
// batch wrote; one writing what the batch reads; rows whose windows share bytes; host accesses in a batch.
TEST(RpermBatch, OrderIsKeptWhereBatchesMustNotJoin) {
  const uint64_t seed = TestSeed(7121);
  AccelConfig config;
  config.sram_bytes = 16 << 10;
  std::mt19937_64 rng(seed);
  auto route = [&] { return RandomRoute(rng, 0.3); };
  std::vector<Step> steps;
  steps.push_back(Exec(Perm(DType::kU8, 8, 8192, 64, 0, 64, route())));
  VStore v;  // into the rows the first RPERM read: the second reads the new bytes
  v.vs = 1, v.type = DType::kI32, v.addr = 70;
  steps.push_back(Exec(v));
  steps.push_back(Exec(Perm(DType::kU8, 8, 8192 + 32, 64, 16, 64, route())));
  steps.push_back(Exec(Perm(DType::kU8, 8, 12000, 64, 8192, 64, route())));   // reads what the batch wrote
  steps.push_back(Exec(Perm(DType::kU8, 8, 12000 + 40, 64, 12000, 64, route())));  // and itself
  steps.push_back(Exec(Perm(DType::kU8, 8, 4000, 64, 12010, 64, route())));   // writes what it reads
  steps.push_back(Exec(Perm(DType::kU8, 8, 4010, 64, 4020, 64, route())));
  steps.push_back(Exec(Perm(DType::kI16, 6, 6000, 40, 100, 40, route())));  // 64-byte rows 40 apart
  steps.push_back(Exec(Perm(DType::kI16, 6, 6020, 40, 300, 40, route())));
  steps.push_back(Exec(Perm(DType::kU8, 5, 7000, 0, 200, 32, route())));  // every row onto the same bytes
  steps.push_back(Exec(Perm(DType::kU8, 5, 7010, 0, 400, 32, route())));
  steps.push_back(Exec(Perm(DType::kU8, 5, 7100, -96, 500, -40, route())));  // descending rows
  steps.push_back(Exec(Perm(DType::kU8, 5, 7150, -96, 600, -40, route())));
  Step read;
  read.kind = Step::kHostRead;
  steps.push_back(read);
  steps.push_back(Exec(Perm(DType::kU8, 5, 7160, -96, 700, -40, route())));
  Step write;
  write.kind = Step::kHostWrite, write.addr = 710, write.value = 0x5A;  // a source of the pending RPERM
  steps.push_back(write);
  steps.push_back(Exec(Perm(DType::kU8, 5, 7170, -96, 710, -40, route())));
  RowPerm bad = Perm(DType::kU8, 5, 7180, -96, 720, -40, route());
  bad.rows = 0;
  steps.push_back(Exec(bad));
  steps.push_back(Exec(Perm(DType::kI32, 3, 9000, 512, 0, 512, route())));  // 128-byte rows
  steps.push_back(Exec(Perm(DType::kI32, 3, 9100, 512, 20, 512, route())));
  ExpectSimdMatchesScalar(config, steps, seed);
}

// ---- Errors ----

TEST(ChannelShuffleErrors, PackNamesTheField) {
  auto pack = [](int channels, int groups, DType type) {
    return [=] { PackChannelShuffle({channels, groups, type}); };
  };
  ExpectErrorMentioning(pack(0, 1, DType::kU8), "desc.channels = 0 is outside [1, 1048576]");
  ExpectErrorMentioning(pack(-3, 1, DType::kU8), "desc.channels = -3");
  ExpectErrorMentioning(pack((1 << 20) + 1, 1, DType::kU8), "desc.channels = 1048577");
  ExpectErrorMentioning(pack(6, 0, DType::kU8), "desc.groups = 0 is outside [1, channels = 6]");
  ExpectErrorMentioning(pack(6, 12, DType::kU8), "desc.groups = 12 is outside [1, channels = 6]");
  ExpectErrorMentioning(pack(6, 4, DType::kU8), "desc.groups = 4 does not divide channels = 6");
  ExpectErrorMentioning(pack(6, 2, DType::kI32), "desc.type = i32 is not one of {u8, i8, i16, bf16}");
  ExpectErrorMentioning(pack(6, 2, DType::kF32), "desc.type = f32");
  ExpectErrorMentioning(pack(6, 2, static_cast<DType>(77)), "desc.type = invalid");
}

// Each bad argument is named, and y (with its guards) is untouched afterwards.
TEST(ChannelShuffleErrors, ArgumentsAreNamedAndNothingIsWritten) {
  ScalarMachine m(AccelConfig::Default());
  Case c;
  c.channels = 116, c.groups = 2, c.type = DType::kI16, c.batch = 2, c.height = 3, c.width = 4;
  c.x_extra = 4, c.y_extra = 4;
  const Prepared p = Prepare(c, 1);
  std::vector<uint8_t> out(p.want.size(), kSentinel);
  const std::vector<uint8_t> untouched = out;
  auto expect = [&](const std::function<void(ChannelShuffleArgs&)>& edit, const std::string& needle) {
    ChannelShuffleArgs a = ArgsOf(p, out);
    edit(a);
    ExpectErrorMentioning([&] { ChannelShuffle(m, p.packed, a); }, needle);
    EXPECT_EQ(out, untouched) << "y written by a call that failed with '" << needle << "'";
  };
  expect([](ChannelShuffleArgs& a) { a.batch = 0; }, "args.batch = 0 must be >= 1");
  expect([](ChannelShuffleArgs& a) { a.height = -2; }, "args.height = -2 must be >= 1");
  expect([](ChannelShuffleArgs& a) { a.width = 0; }, "args.width = 0 must be >= 1");
  expect([](ChannelShuffleArgs& a) { a.batch = a.height = a.width = 1 << 30; }, "args.batch * height * width");
  expect([](ChannelShuffleArgs& a) { a.x = nullptr; }, "args.x is null");
  expect([](ChannelShuffleArgs& a) { a.y = nullptr; }, "args.y is null");
  expect([](ChannelShuffleArgs& a) { a.x_pixel_stride = 115; }, "args.x_pixel_stride = 115 is outside {0} or [channels = 116");
  expect([](ChannelShuffleArgs& a) { a.x_pixel_stride = -1; }, "args.x_pixel_stride = -1");
  expect([](ChannelShuffleArgs& a) { a.y_pixel_stride = 1; }, "args.y_pixel_stride = 1 is outside");
  expect([](ChannelShuffleArgs& a) { a.y_pixel_stride = int64_t{1} << 40; }, "args.y_pixel_stride = 1099511627776");
  expect([](ChannelShuffleArgs& a) { a.threads = -1; }, "threads = -1");

  // y overlapping x: y inside x's buffer, and y = x.
  std::vector<uint8_t> buffer = p.x;
  buffer.resize(p.x.size() * 3, kSentinel);
  const std::vector<uint8_t> buffer_before = buffer;
  for (size_t shift : {size_t{0}, size_t{2}, p.x.size() - 2}) {
    ChannelShuffleArgs a = ArgsOf(p, out);
    a.x = buffer.data(), a.y = buffer.data() + shift;
    ExpectErrorMentioning([&] { ChannelShuffle(m, p.packed, a); }, "args.y [");
    ExpectErrorMentioning([&] { ChannelShuffle(m, p.packed, a); }, "overlaps args.x");
    EXPECT_EQ(buffer, buffer_before);
  }
}

TEST(ChannelShuffleErrors, PermutationIsIntegerOnlyAndChecked) {
  ExpectErrorMentioning([] { PackChannelShuffle({64, 2, DType::kBF16, ShuffleAlgorithm::kPermutation}); },
                        "desc.algorithm = permutation cannot move bf16 bit for bit");
  PackedChannelShuffle p = PackChannelShuffle({64, 2, DType::kU8, ShuffleAlgorithm::kPermutation});
  p.permutation = PackChannelShuffle({32, 2, DType::kU8, ShuffleAlgorithm::kPermutation}).permutation;
  std::vector<uint8_t> x(64), y(64, kSentinel);
  ChannelShuffleArgs a;
  a.x = x.data(), a.y = y.data();
  ScalarMachine m(AccelConfig::Default());
  ExpectErrorMentioning([&] { ChannelShuffle(m, p, a); }, "its permutation weights are not a 64 x 64 u8 permutation matrix");
  EXPECT_EQ(y, std::vector<uint8_t>(64, kSentinel));
}

TEST(ChannelShuffleErrors, PackedMustComeFromPack) {
  ScalarMachine m(AccelConfig::Default());
  Case c;
  c.channels = 64, c.groups = 4, c.type = DType::kU8, c.width = 10;
  const Prepared p = Prepare(c, 2);
  std::vector<uint8_t> out(p.want.size(), kSentinel);
  const std::vector<uint8_t> untouched = out;
  const std::string needle = "packed is not the result of PackChannelShuffle";
  auto expect = [&](const std::function<void(PackedChannelShuffle&)>& edit, const std::string& also) {
    PackedChannelShuffle bad = p.packed;
    edit(bad);
    ExpectErrorMentioning([&] { ChannelShuffle(m, bad, ArgsOf(p, out)); }, needle);
    ExpectErrorMentioning([&] { ChannelShuffle(m, bad, ArgsOf(p, out)); }, also);
    EXPECT_EQ(out, untouched);
  };
  expect([](PackedChannelShuffle& b) { b.routes.clear(); }, "its 0 routes");
  expect([](PackedChannelShuffle& b) { b.routes.pop_back(); }, "do not route every channel");
  expect([](PackedChannelShuffle& b) { b.routes[1].route[3] = 0; }, "do not route every channel");
  expect([](PackedChannelShuffle& b) { b.routes[0].src_channel += 1; }, "do not route every channel");
  expect([](PackedChannelShuffle& b) { b.routes[0].passes = 1; }, "do not route every channel");
  expect([](PackedChannelShuffle& b) { b.desc.groups = 8; }, "groups = 8");  // valid desc, other routes
  expect([](PackedChannelShuffle& b) { b.desc.channels = 0; }, "packed.desc.channels = 0");
  expect([](PackedChannelShuffle& b) { b.desc.groups = 3; }, "packed.desc.groups = 3 does not divide");
  expect([](PackedChannelShuffle& b) { b.desc.type = DType::kF32; }, "packed.desc.type = f32");
  // A default-constructed packed (channels 0) is refused the same way.
  ExpectErrorMentioning([&] { ChannelShuffle(m, PackedChannelShuffle{}, ArgsOf(p, out)); }, needle);
}

// One pixel of 464 bf16 needs 960 + 64 slack (aligned 1024) + 960 bytes: more than 1 KiB.
TEST(ChannelShuffleErrors, ConfigurationTooSmallForOnePixel) {
  AccelConfig config;
  config.sram_bytes = 1024;
  ScalarMachine m(config);
  Case c;
  c.channels = 464, c.groups = 2, c.type = DType::kBF16, c.width = 3;
  const Prepared p = Prepare(c, 3);
  std::vector<uint8_t> out(p.want.size(), kSentinel);
  const std::vector<uint8_t> untouched = out;
  ExpectErrorMentioning([&] { ChannelShuffle(m, p.packed, ArgsOf(p, out)); },
                        "accelerator configuration too small: one pixel of channels = 464 bf16 elements needs 2016 "
                        "bytes of SRAM");
  ExpectErrorMentioning([&] { ChannelShuffle(m, p.packed, ArgsOf(p, out)); }, "sram_bytes = 1024");
  EXPECT_EQ(out, untouched);
  EXPECT_EQ(m.counters().instructions, 0u);
}

}  // namespace
}  // namespace tile32

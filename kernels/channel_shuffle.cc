// Channel shuffle's front end and loop (kernels/channel_shuffle.h).
//
// Packing turns the permutation into RPERM routes. Output block b (lanes 0..31 = output channels 32b + lane)
// gathers from sources spread over the whole pixel; one RPERM reads 32 consecutive source elements, so the
// block's lanes, sorted by source channel, are swept greedily: a route starts at the smallest source not yet
// covered and takes every lane whose source lies in the next 32 channels. Greedy is the fewest windows of
// width 32 that cover a set of points, for any groups (1 and C give one identity route per block, groups > 32
// spreads a block over many windows). A route's mux passes do not depend on where its window starts (moving
// the start moves every lane distance by the same amount), only on which lanes share it.
//
// The loop works on bands of pixels that fit the SRAM: DMA_IN the band, every route as ONE RPERM over all of
// the band's pixels, DMA_OUT the band. Pixels are dense in SRAM (C elements apart, as in the tensors), so
// each band moves in and out as one contiguous DMA row when the tensors are dense. An RPERM reads and
// writes 32-element rows: a route near the end of a pixel reads into the next pixel (those lanes are not
// routed), and the last output block writes only its lanes below C (the others are -1 and keep their
// bytes), so nothing crosses into the next pixel. Both bands end with 32 elements of slack so that the
// rows of the band's last pixel lie inside the band's own region.
#include "kernels/channel_shuffle.h"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>

#include "accel/cost.h"
#include "accel/error.h"
#include "kernels/middle_end.h"
#include "kernels/operator.h"

namespace tile32 {
namespace {

// Keeps a pixel (2 MiB of bf16) and its routes (at most one per channel) reasonable; SRAM strides fit int32.
constexpr int kMaxChannels = 1 << 20;
// Host pixel strides up to this many elements: stride * element size stays far inside uint64.
constexpr int64_t kMaxPixelStride = int64_t{1} << 34;

bool TypeAllowed(DType t) { return t == DType::kU8 || t == DType::kI8 || t == DType::kI16 || t == DType::kBF16; }

// What is wrong with desc ("desc.groups = 5 does not divide ..."), or "" when it is valid.
std::string DescProblem(const ChannelShuffleDesc& d) {
  std::ostringstream os;
  if (d.channels < 1 || d.channels > kMaxChannels) {
    os << "desc.channels = " << d.channels << " is outside [1, " << kMaxChannels << "]";
  } else if (d.groups < 1 || d.groups > d.channels) {
    os << "desc.groups = " << d.groups << " is outside [1, channels = " << d.channels << "]";
  } else if (d.channels % d.groups != 0) {
    os << "desc.groups = " << d.groups << " does not divide channels = " << d.channels
       << " (groups must be a divisor of channels in [1, " << d.channels << "])";
  } else if (!IsValid(d.type) || !TypeAllowed(d.type)) {
    os << "desc.type = " << (IsValid(d.type) ? NameOf(d.type) : "invalid")
       << " is not one of {u8, i8, i16, bf16} (elements of 1 or 2 bytes)";
  } else if (d.algorithm != ShuffleAlgorithm::kRoutes && d.algorithm != ShuffleAlgorithm::kPermutation) {
    os << "desc.algorithm = " << int(d.algorithm) << " is not kRoutes or kPermutation";
  } else if (d.algorithm == ShuffleAlgorithm::kPermutation && d.type == DType::kBF16) {
    os << "desc.algorithm = permutation cannot move bf16 bit for bit (the fp32 MAC chain turns -0.0 into +0.0 "
          "and canonicalizes NaNs): use routes";
  }
  return os.str();
}

}  // namespace

// The routes of a valid desc (see the top of this file).
std::vector<ShuffleRoute> BuildRoutes(const ChannelShuffleDesc& d) {
  const int C = d.channels, per_group = C / d.groups;
  const int blocks = (C + kLanes - 1) / kLanes;
  std::vector<ShuffleRoute> routes;
  std::vector<std::pair<int, int>> lanes;  // (source channel, lane)
  for (int b = 0; b < blocks; ++b) {
    lanes.clear();
    for (int lane = 0; lane < kLanes && b * kLanes + lane < C; ++lane) {
      const int o = b * kLanes + lane, i = o / d.groups, j = o % d.groups;  // o = i * groups + j
      lanes.emplace_back(j * per_group + i, lane);
    }
    std::sort(lanes.begin(), lanes.end());
    for (size_t k = 0; k < lanes.size();) {
      ShuffleRoute r;
      r.out_block = b;
      r.src_channel = lanes[k].first;
      r.route.fill(-1);
      for (; k < lanes.size() && lanes[k].first < r.src_channel + kLanes; ++k) {
        r.route[lanes[k].second] = static_cast<int8_t>(lanes[k].first - r.src_channel);
      }
      r.passes = MuxPasses(r.route.data());
      routes.push_back(r);
    }
  }
  return routes;
}

uint64_t ShuffleBandPixels(const AccelConfig& c, int channels, int elem, int64_t pixels) {
  const uint64_t pixel = uint64_t(channels) * elem;
  const uint64_t slack = uint64_t{kLanes} * elem;
  // SRAM for a band of p pixels: the input band (64-byte aligned end, as SramPlan places the next region)
  // and the output band.
  auto need = [&](uint64_t p) { return Align64(p * pixel + slack) + p * pixel + slack; };
  if (need(1) > c.sram_bytes) return 0;
  uint64_t band_pixels = std::min<uint64_t>((c.sram_bytes - 2 * slack) / (2 * pixel), uint64_t(pixels));
  while (need(band_pixels) > c.sram_bytes) --band_pixels;
  return band_pixels;
}

namespace {


// The routes of the last packed operand CheckPacked accepted, per thread: a layer run again and again with the
// same packed operand is checked once (the check cost as much as moving a 7x7 pixel band).
struct CheckedRoutes {
  bool valid = false;  // nothing accepted yet (a default PackedChannelShuffle must not match the default here)
  ChannelShuffleDesc desc;
  std::vector<ShuffleRoute> routes;
};
static_assert(sizeof(ShuffleRoute) == 2 * sizeof(int) + kLanes + sizeof(int), "ShuffleRoute compared as bytes");

bool SameRoutes(const ChannelShuffleDesc& d, const std::vector<ShuffleRoute>& r, const CheckedRoutes& c) {
  return c.valid && d.channels == c.desc.channels && d.groups == c.desc.groups && d.type == c.desc.type &&
         d.algorithm == c.desc.algorithm && r.size() == c.routes.size() &&
         (r.empty() || std::memcmp(r.data(), c.routes.data(), r.size() * sizeof(ShuffleRoute)) == 0);
}

void CheckPacked(const char* fn, const PackedChannelShuffle& p) {
  thread_local CheckedRoutes checked;
  const bool routes_only = p.desc.algorithm == ShuffleAlgorithm::kRoutes;
  if (routes_only && SameRoutes(p.desc, p.routes, checked)) return;
  const std::string problem = DescProblem(p.desc);
  if (!problem.empty()) Fail(fn, ": packed is not the result of PackChannelShuffle: packed.", problem);
  // Every output lane below C routed exactly once, from its source channel; lanes past C never; each
  // route's passes as MuxPasses counts them (O(C), cheaper than building the routes again per call).
  const int C = p.desc.channels, per_group = C / p.desc.groups, blocks = (C + kLanes - 1) / kLanes;
  std::vector<uint8_t> routed(size_t(blocks) * kLanes, 0);
  bool ok = p.routes.size() <= routed.size();
  for (size_t i = 0; ok && i < p.routes.size(); ++i) {
    const ShuffleRoute& r = p.routes[i];
    ok = r.out_block >= 0 && r.out_block < blocks && r.src_channel >= 0 && r.src_channel < C &&
         r.passes == MuxPasses(r.route.data());
    for (int lane = 0; ok && lane < kLanes; ++lane) {
      if (r.route[lane] < 0) continue;
      const int o = r.out_block * kLanes + lane;
      ok = r.route[lane] < kLanes && o < C && routed[o]++ == 0 &&
           r.src_channel + r.route[lane] == (o % p.desc.groups) * per_group + o / p.desc.groups;
    }
  }
  for (int o = 0; ok && o < C; ++o) ok = routed[o] == 1;
  if (!ok) {
    Fail(fn, ": packed is not the result of PackChannelShuffle: its ", p.routes.size(), " routes do not route every "
         "channel of channels = ", C, ", groups = ", p.desc.groups, " exactly once from its source");
  }
  if (p.desc.algorithm == ShuffleAlgorithm::kPermutation) {
    // The permutation's shape and types, and (int8) one weight of 1 per output column.
    const GemmWeightsDesc& w = p.permutation.desc;
    ok = w.K == C && w.N == C && w.a_type == p.desc.type &&
         w.b_type == (p.desc.type == DType::kI16 ? DType::kI16 : DType::kI8) && !p.permutation.needs_row_sums;
    for (size_t n = 0; ok && n < p.permutation.col_sums.size(); ++n) ok = p.permutation.col_sums[n] == (int(n) < C);
    if (!ok) {
      Fail(fn, ": packed is not the result of PackChannelShuffle: its permutation weights are not a ", C, " x ", C,
           " ", NameOf(p.desc.type), " permutation matrix");
    }
  }
  if (routes_only) checked.valid = true, checked.desc = p.desc, checked.routes = p.routes;
}

// A pixel stride argument: 0 (= channels) or in [channels, kMaxPixelStride].
int64_t PixelStride(const char* fn, const char* what, int64_t stride, int channels) {
  if (stride == 0) return channels;
  if (stride < channels || stride > kMaxPixelStride) {
    Fail(fn, ": ", what, " = ", stride, " is outside {0} or [channels = ", channels, ", ", kMaxPixelStride,
         "] (elements)");
  }
  return stride;
}

}  // namespace

const char* NameOf(ShuffleAlgorithm a) {
  switch (a) {
    case ShuffleAlgorithm::kRoutes: return "routes";
    case ShuffleAlgorithm::kPermutation: return "permutation";
  }
  return "invalid";
}

PackedChannelShuffle PackChannelShuffle(const ChannelShuffleDesc& desc) {
  const std::string problem = DescProblem(desc);
  if (!problem.empty()) Fail("PackChannelShuffle: ", problem);
  PackedChannelShuffle p;
  p.desc = desc;
  p.routes = BuildRoutes(desc);
  if (desc.algorithm == ShuffleAlgorithm::kPermutation) {
    // b[k][n] = 1 where output channel n = i * groups + j takes input channel k = j * (C / groups) + i.
    const int C = desc.channels, per_group = C / desc.groups;
    const bool wide = desc.type == DType::kI16;
    std::vector<uint8_t> b(size_t(C) * C * (wide ? 2 : 1), 0);
    for (int n = 0; n < C; ++n) {
      const int k = (n % desc.groups) * per_group + n / desc.groups;
      b[(size_t(k) * C + n) * (wide ? 2 : 1)] = 1;  // little-endian int16 1 or int8 1
    }
    GemmWeightsDesc wd;
    wd.a_type = desc.type, wd.b_type = wide ? DType::kI16 : DType::kI8, wd.K = wd.N = C, wd.b = b.data(), wd.ldb = C;
    p.permutation = PackGemmWeights(wd);
  }
  return p;
}

void ChannelShuffle(Machine& machine, const PackedChannelShuffle& packed, const ChannelShuffleArgs& args) {
  const char* fn = "ChannelShuffle";
  CheckPacked(fn, packed);
  const int C = packed.desc.channels;
  const int elem = SizeOf(packed.desc.type);

  // ---- Arguments, all before anything is bound or written ----
  if (args.batch < 1) Fail(fn, ": args.batch = ", args.batch, " must be >= 1");
  if (args.height < 1) Fail(fn, ": args.height = ", args.height, " must be >= 1");
  if (args.width < 1) Fail(fn, ": args.width = ", args.width, " must be >= 1");
  const unsigned __int128 pixels128 =
      static_cast<unsigned __int128>(args.batch) * static_cast<unsigned>(args.height) * static_cast<unsigned>(args.width);
  if (pixels128 > kMaxHostBytes) {
    Fail(fn, ": args.batch * height * width = ", args.batch, " * ", args.height, " * ", args.width,
         " pixels is more than ", kMaxHostBytes);
  }
  const int64_t pixels = static_cast<int64_t>(pixels128);
  CheckedBytes(fn, "args.x (pixels x channels)", static_cast<uint64_t>(pixels), uint64_t(C) * elem);
  if (args.x == nullptr) Fail(fn, ": args.x is null");
  if (args.y == nullptr) Fail(fn, ": args.y is null");
  const int64_t x_stride = PixelStride(fn, "args.x_pixel_stride", args.x_pixel_stride, C);
  const int64_t y_stride = PixelStride(fn, "args.y_pixel_stride", args.y_pixel_stride, C);
  const uint64_t x_bytes = StridedBytes(fn, "args.x_pixel_stride", pixels, x_stride, C, elem);
  const uint64_t y_bytes = StridedBytes(fn, "args.y_pixel_stride", pixels, y_stride, C, elem);
  CheckNoOverlap(fn, {"args.y", args.y, y_bytes}, {{"args.x", args.x, x_bytes}});
  const int threads = OperatorThreads(fn, args.threads);

  if (packed.desc.algorithm == ShuffleAlgorithm::kPermutation) {
    if (pixels > INT32_MAX) Fail(fn, ": args.batch * height * width = ", pixels, " pixels is more than a GEMM's M (", INT32_MAX, ")");
    // Every output is acc = x * 1 (exact), requantized by scale 1 and clamped to the type's whole range:
    // y = x.
    const float one = 1.0f;
    OutputQuant identity;
    identity.mode = RequantMode::kFloatZpFirst, identity.scale = &one;
    identity.qmin = packed.desc.type == DType::kU8 ? 0 : packed.desc.type == DType::kI8 ? -128 : -32768;
    identity.qmax = packed.desc.type == DType::kU8 ? 255 : packed.desc.type == DType::kI8 ? 127 : 32767;
    GemmArgs g;
    g.M = static_cast<int>(pixels), g.a = args.x, g.lda = x_stride, g.c = args.y, g.ldc = y_stride;
    g.c_type = packed.desc.type, g.quant = &identity, g.threads = threads;
    try {
      Gemm(machine, packed.permutation, g);
    } catch (const Error& e) {
      Fail(fn, ": the permutation GEMM: ", e.what());
    }
    return;
  }

  // ---- Band plan: input and output band of dense pixels, each with its slack ----
  const uint64_t pixel = uint64_t(C) * elem;
  const uint64_t slack = uint64_t{kLanes} * elem;
  const uint64_t sram = machine.config().sram_bytes;
  const uint64_t band_pixels = ShuffleBandPixels(machine.config(), C, elem, pixels);
  if (band_pixels == 0) {
    Fail(fn, ": accelerator configuration too small: one pixel of channels = ", C, " ", NameOf(packed.desc.type),
         " elements needs ", Align64(pixel + slack) + pixel + slack, " bytes of SRAM (input and output rows of ", pixel, " bytes and ", slack,
         " bytes of slack after each band), sram_bytes = ", sram);
  }
  const int64_t band = static_cast<int64_t>(band_pixels);
  const std::vector<ShuffleRoute>& routes = packed.routes;

  RunInArena(threads, [&] {
    DramBindings dram(machine, fn);
    const uint32_t seg_x = dram.BindReadOnly(args.x, x_bytes);
    const uint32_t seg_y = dram.Bind(args.y, y_bytes);
    SramPlan plan(machine.config(), fn);
    const uint32_t in = plan.Take("the input band", uint64_t(band) * pixel + slack);
    const uint32_t out = plan.Take("the output band", uint64_t(band) * pixel + slack);
    const uint32_t row_bytes = static_cast<uint32_t>(C) * elem;
    const int32_t stride = static_cast<int32_t>(pixel);
    for (int64_t p0 = 0; p0 < pixels; p0 += band) {
      const uint32_t rows = static_cast<uint32_t>(std::min(band, pixels - p0));
      DmaIn load;
      load.sram = in, load.segment = seg_x, load.dram = uint64_t(p0) * uint64_t(x_stride) * elem;
      load.rows = rows, load.row_bytes = row_bytes;
      load.dram_stride = uint64_t(x_stride) * elem, load.sram_stride = static_cast<uint32_t>(pixel);
      machine.Execute(load);
      for (const ShuffleRoute& r : routes) {
        RowPerm perm;
        perm.type = packed.desc.type;
        perm.rows = rows;
        perm.src = in + static_cast<uint32_t>(r.src_channel * elem), perm.src_stride = stride;
        perm.dst = out + static_cast<uint32_t>(r.out_block * kLanes * elem), perm.dst_stride = stride;
        perm.route = r.route;
        machine.Execute(perm);
      }
      DmaOut store;
      store.sram = out, store.segment = seg_y, store.dram = uint64_t(p0) * uint64_t(y_stride) * elem;
      store.rows = rows, store.row_bytes = row_bytes;
      store.dram_stride = uint64_t(y_stride) * elem, store.sram_stride = static_cast<uint32_t>(pixel);
      machine.Execute(store);
    }
  });
}

}  // namespace tile32

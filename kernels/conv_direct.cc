// Direct convolution on TMAC, two ways of forming the reduction of one output:
//
// Tap-major (docs/layout.md): the input band sits in SRAM in the phase-plane layout of layout/band.h, each
// pixel's channels padded to 32. For every kernel tap and chunk of channel tiles one TMAC streams the whole
// band (band_rows * pitch rows, stride one pixel): the activations are read where they lie, no patch is
// ever copied. Weights: the (kernel_h * kernel_w * C/G padded per tap) x K/G matrix, k = tap * Cp + c.
// Costs a tile per tap and 32 channels: channel counts that are not multiples of 32 waste lanes per tap.
// Blocks of 32 outputs alternate between two ACC sets and two staging regions, and the next band comes into
// a second buffer in parts between the TMACs, so that on the model machine one block's REQ and store and
// the next band's DMAs overlap the TMACs of the next block (where SRAM and ACC hold two of each).
//
// Folded: the reduction k = tap * C/G + c padded to 32 once, so small channel counts waste at most 31 lanes
// in all; each output pixel's patch is gathered by DMA into an SRAM row and the GEMM loop
// (kernels/gemm_loop.h) runs on the patch rows, with the patch-gathering DMAs as its activation loader.
//
// Both issue the reduction in (ky, kx, c) order, which BF16's fma chain needs, and pad like the contract:
// taps outside the image hold the padding value (x_zp, 0, +0.0), channel padding holds 0 (-0.0 for BF16)
// against weights of 0 (+0.0).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "accel/error.h"
#include "kernels/conv_impl.h"
#include "kernels/gemm_loop.h"
#include "kernels/input_band.h"
#include "kernels/middle_end.h"
#include "kernels/patch_gather.h"

namespace tile32 {
namespace {

// Weight tiles per block of 32 outputs.
int64_t TapMajorTiles(const ConvDesc& d, const ConvFacts& f) {
  return int64_t{d.kernel_h} * d.kernel_w * Ceil32(f.group_channels);
}
int64_t FoldedTiles(const ConvFacts& f) { return Ceil32(f.reduction); }

bool Accepts(const ConvDesc&, const ConvFacts&, std::string*) { return true; }

// At pack time: the layout with fewer weight tiles. When C/G is a multiple of 32 both layouts pack the same
// matrix (k = tap * C/G + c either way), so the choice waits for the call (LayoutForCall), which knows the
// width: kAuto.
ConvLayout LayoutFor(const ConvDesc& d, const ConvFacts& f) {
  if (d.layout != ConvLayout::kAuto) return d.layout;
  if (f.group_channels % kLanes == 0) return ConvLayout::kAuto;
  return FoldedTiles(f) < TapMajorTiles(d, f) ? ConvLayout::kFolded : ConvLayout::kTapMajor;
}

// At call time, for weights that serve both: tap-major reads the input in place but computes the junk
// columns of every plane row (extra_cols of pitch); past 1/10 of the rows (3x3 kernels on 14x14 outputs: 2
// of 16) gathering the patches (folded) took less time on the SIMD machine than the junk columns.
ConvLayout LayoutForCall(const PackedConv& p, const ConvGeometry& g) { return DirectLayoutForCall(p.layout, g); }

}  // namespace

ConvLayout DirectLayoutForCall(ConvLayout packed_layout, const ConvGeometry& g) {
  if (packed_layout != ConvLayout::kAuto) return packed_layout;
  const int extra = (g.kernel_w - 1) * g.dilation_w / g.stride_w;
  return 10 * extra > g.out_w + extra ? ConvLayout::kFolded : ConvLayout::kTapMajor;
}

namespace {

void Pack(const ConvDesc& d, const ConvFacts& f, PackedConv* p) {
  p->layout = LayoutFor(d, f);
  // Sane before anything is allocated: every group's images.
  const int64_t k_tiles = p->layout == ConvLayout::kFolded ? FoldedTiles(f) : TapMajorTiles(d, f);
  CheckedBytes("PackConv", "the packed weights", uint64_t(d.groups) * uint64_t(k_tiles) * Ceil32(f.group_outputs),
               TileImageBytes(WeightType(f.mode)));
  const bool tap_major = p->layout != ConvLayout::kFolded;  // kAuto: the same matrix either way
  const int cg = f.group_channels, kg = f.group_outputs;
  const int cstride = tap_major ? Ceil32(cg) * kLanes : cg;  // reduction rows per tap
  const int rows = d.kernel_h * d.kernel_w * cstride;
  const DType wt = WeightType(f.mode);
  const int taps = d.kernel_h * d.kernel_w;
  std::vector<int32_t> weights(size_t(taps) * cg);
  // Column n of one group's B (reduction k = tap * cstride + c, zero or +0.0 in the channel padding), output
  // channel by output channel as the weights lie: no K x N transpose.
  auto columns = [&](auto* bt, int g) {
    using T = std::remove_pointer_t<decltype(bt)>;
    for (int n = 0; n < kg; ++n, bt += rows) {
      PackedWeightsOf(d, g * kg + n, weights.data());
      const int32_t* v = weights.data();
      for (int tap = 0; tap < taps; ++tap, v += cg) {
        T* k0 = bt + size_t(tap) * cstride;
        for (int c = 0; c < cg; ++c) k0[c] = static_cast<T>(v[c]);
      }
    }
  };
  std::vector<int8_t> bt8(wt == DType::kI8 ? size_t(rows) * kg : 0);
  std::vector<uint16_t> bt16(wt == DType::kI8 ? 0 : size_t(rows) * kg);
  for (int g = 0; g < d.groups; ++g) {
    if (wt == DType::kI8) {
      columns(bt8.data(), g);
      p->weights.push_back(PackWeightColumnsI8(bt8.data(), rows, kg, rows));
    } else if (wt == DType::kI16) {
      columns(bt16.data(), g);
      p->weights.push_back(PackWeightColumnsI16(reinterpret_cast<const int16_t*>(bt16.data()), rows, kg, rows));
    } else {
      columns(bt16.data(), g);
      p->weights.push_back(PackWeightColumnsBF16(bt16.data(), rows, kg, rows));
    }
  }
}

// ---- tap-major ----

// The padding bytes of one channel for BF16: -0.0, as fma(-0, +0, acc) = acc for every acc (+0.0 would turn
// an acc of -0.0 into +0.0); 0 for the integer modes.
const uint8_t kNegZeroBf16[2] = {0x00, 0x80};

}  // namespace

TapMajorPlan PlanTapMajor(const AccelConfig& c, const ConvGeometry& geo, int group_channels, int elem,
                          uint64_t image_bytes, uint64_t tile_bytes, int chunk, bool row_sums, uint32_t out_row,
                          int blocks, DType out, SramPlan plan) {
  TapMajorPlan tp;
  // Weights of one group at a time: all of them if they fit beside a band of one output row, else per chunk.
  const uint64_t resident_bytes = WeightTiles::SramBytes(image_bytes, tile_bytes, true, chunk, row_sums);
  const uint64_t one_row = MakeBandLayout(geo, 1, group_channels, elem, 0).bytes() +
                           uint64_t(MakeBandLayout(geo, 1, group_channels, elem, 0).rows()) * 128;
  const bool resident = resident_bytes + one_row <= plan.left();
  const uint64_t w_least = resident ? resident_bytes : WeightTiles::SramBytes(image_bytes, tile_bytes, false, chunk, row_sums);
  tp.resident = resident, tp.w_least = w_least;
  // Resident weights first (where they always were); streamed ones last, taking what is left.
  if (resident || w_least > plan.left()) {
    if (w_least > plan.left()) return tp;  // the caller's Take names what does not fit
    plan.Take("the weight tiles", w_least);
  }
  const uint64_t room = plan.left() - (resident ? 0 : w_least);  // for bands and output rows
  tp.room = room;

  // Band rows: as many output rows as ACC and SRAM hold, with two of what lets consecutive blocks and bands
  // overlap on the model machine (docs/isa.md §8.3, where an instruction waits for every earlier one that
  // touches what it writes): block i accumulates in ACC set i % 2 and requantizes into staging region i % 2,
  // so its REQ and DMA_OUT run beside block i + 1's seed and TMACs, and band k + 1 comes by DMA into the
  // other input buffer while band k's TMACs run. Where two do not fit, one input buffer, then one of each
  // (each step then waits for the one before, as a configuration that small must).
  using Shape = TapMajorShape;
  auto fits = [&](const BandLayout& l, Shape s) {
    // Row sums: one more set for the sums, and two spare rows for the factors and the bias.
    const uint64_t acc = row_sums ? uint64_t(s.sets + 1) * l.rows() + 2 : uint64_t(s.sets) * l.rows();
    return acc <= c.acc_rows && s.buffers * Align64(l.bytes()) + uint64_t(s.sets) * l.rows() * out_row <= room;
  };
  int band_rows = 0;
  Shape shape{1, 1};
  auto largest = [&](Shape s, int most) {
    for (int b = most; b >= 1; b = b > 8 ? b * 7 / 8 : b - 1) {
      if (fits(MakeBandLayout(geo, b, group_channels, elem, 0), s)) return b;
    }
    return 0;
  };
  // Two sets only where the band one set holds fits twice: halving a band that ACC limits doubles the TMACs,
  // and the SIMD machine's threads pay a wake-up per TMAC (2 threads on ResNet-50's 56x56x64 3x3 layer,
  // 3248 rows: 13 % slower); such layers keep the band whole and one of everything.
  const int single = largest(Shape{1, 1}, geo.out_h);
  const bool pipelined = single > 0 && fits(MakeBandLayout(geo, single, group_channels, elem, 0), Shape{2, 1});
  for (Shape s : {Shape{2, 2}, Shape{2, 1}, Shape{1, 1}}) {
    if (s.sets == 2 && !pipelined) continue;
    // Two input buffers: at least two bands per image, so that loads hide behind TMACs within one image
    // (only the first band's shows) and an image costs the same at every batch size.
    const int most = s.buffers == 2 ? (geo.out_h + 1) / 2 : geo.out_h;
    for (int b = most; b >= 1 && band_rows == 0; b = b > 8 ? b * 7 / 8 : b - 1) {
      if (fits(MakeBandLayout(geo, b, group_channels, elem, 0), s)) band_rows = b, shape = s;
    }
    if (band_rows != 0) break;
  }
  tp.band_rows = band_rows, tp.shape = shape;
  if (band_rows == 0) return tp;
  const BandLayout band = MakeBandLayout(geo, band_rows, group_channels, elem, 0);
  for (int i = 0; i < shape.buffers; ++i) plan.Take("the input band", band.bytes());
  for (int s = 0; s < shape.sets; ++s) plan.Take("the output rows", uint64_t(band.rows()) * out_row);
  // Blocks of 1-byte outputs in pairs (GemmStagingPair), as the GEMM loop's: half the DMAs, and on the SIMD
  // machine whole cache lines of y (each 32-byte row alone reads its line for ownership twice; ResNet-50's 1x1
  // 56x56 64->256, one thread: 576 -> 515 us, the GEMM of its MACs 507). A pair's first block waits in
  // staging for the second, so pairs take twice the regions (else the model machine's requantization waits
  // for stores: that layer, one ACC set, +25 % cycles in one region), and come only with resident weights
  // (streamed ones take what is left) and three blocks or more (two: the band's whole output would wait for
  // its last block).
  tp.regions = shape.sets;
  const uint64_t region_bytes = Align64(uint64_t(band.rows()) * out_row);
  if (GemmStagingPair(out) == 2 && resident && blocks >= 3 && plan.left() >= shape.sets * region_bytes) {
    tp.pair = 2, tp.regions = 2 * shape.sets;
    for (int s = 0; s < shape.sets; ++s) plan.Take("the output rows", uint64_t(band.rows()) * out_row);
  }
  tp.w_bytes = resident ? w_least : plan.left();
  return tp;
}

namespace {

// Returns false, having issued nothing, when not even one output row fits ACC and SRAM and `fall_back` allows
// the caller to take the folded layout instead (same packed weights); else such a call is an error.
bool RunTapMajor(Machine& m, const ConvCall& call, bool fall_back) {
  const PackedConv& p = *call.packed;
  const ConvDesc& d = p.desc;
  const ConvFacts f = FactsOf(d);
  const ConvGeometry& geo = call.geometry;
  const AccelConfig& c = m.config();
  const ConvArgs& x = *call.args;
  const int elem = SizeOf(ActivationType(p.mode));
  const int cb = Ceil32(f.group_channels);  // channel tiles per tap
  const int taps = d.kernel_h * d.kernel_w;
  const int chunk = static_cast<int>(std::min<int64_t>({c.tile_regs, int64_t{taps} * cb, 255}));
  const bool row_sums = p.needs_row_sums;

  const std::vector<uint32_t> bias = CallBias(p, x.x_zero_point);
  const std::vector<int32_t> scale = CallRowSumScale(p);
  EpilogueArgs ea;
  ea.out = x.y_type, ea.quant = x.quant, ea.blocks = f.blocks_per_group * d.groups;
  ea.bias = SeedBias(bias);
  ea.row_sum_scale = row_sums ? scale.data() : nullptr;
  ea.resident = true;

  SramPlan plan(c, call.fn);
  Epilogue epilogue(m, *call.dram, plan, ea);
  const uint32_t out_row = static_cast<uint32_t>(Align64(epilogue.row_bytes()));
  const TapMajorPlan tp = PlanTapMajor(c, geo, f.group_channels, elem, p.weights[0].bytes.size(),
                                       p.weights[0].tile_bytes(), chunk, row_sums, out_row, f.blocks_per_group,
                                       x.y_type, plan);
  const bool resident = tp.resident;
  const uint64_t w_least = tp.w_least;
  const uint32_t resident_region = resident || w_least > plan.left() ? plan.Take("the weight tiles", w_least) : 0;
  const int band_rows = tp.band_rows;
  const TapMajorShape shape = tp.shape;
  if (band_rows == 0) {
    if (fall_back) return false;
    const BandLayout l = MakeBandLayout(geo, 1, f.group_channels, elem, 0);
    Fail(call.fn, ": accelerator configuration too small for one output row: it needs ", l.rows(),
         row_sums ? " x 2 + 2" : "", " ACC rows (acc_rows = ", c.acc_rows, ") and ",
         Align64(l.bytes()) + uint64_t(l.rows()) * out_row, " bytes of SRAM (", tp.room, " left of sram_bytes = ",
         c.sram_bytes, ")");
  }
  BandLayout band[2];
  band[0] = band[1] = MakeBandLayout(geo, band_rows, f.group_channels, elem, 0);
  for (int i = 0; i < shape.buffers; ++i) band[i].base = plan.Take("the input band", band[i].bytes());
  const uint32_t set_rows = band[0].rows();
  uint32_t staging[4] = {};
  for (int s = 0; s < tp.regions; ++s) staging[s] = plan.Take("the output rows", uint64_t(set_rows) * out_row);
  // Streamed weights: what is left, for two windows of tiles (WeightTiles).
  const uint64_t w_bytes = resident ? w_least : plan.left();
  const uint32_t w_region = resident ? resident_region : plan.Take("the weight tiles", w_bytes);

  const uint8_t* pad = p.mode == MacMode::kBF16 ? kNegZeroBf16 : kZeroChannelPad;
  std::vector<uint8_t> fill;
  BandSource src = InputBandSource(call, band[0], elem, pad, &fill);
  const int out_elem = SizeOf(x.y_type);
  const uint64_t y_pixel = uint64_t(call.y_pixel_stride) * out_elem;
  const int pitch = band[0].pitch;
  const bool whole = pitch == geo.out_w;  // no junk columns: a block's outputs leave by one DMA
  const uint32_t sums_row = shape.sets * set_rows, spare_rows = sums_row + set_rows;
  // Parts of a band's load (each costs the DMAs' latency again, so not too many).
  const int parts = TapMajorLoadParts(f.blocks_per_group, band[0].plane_rows);

  // A block of one band whose TMACs are issued; pairs of blocks (tp.pair) share a staging row.
  struct Block {
    int n, oy0, rows_here, b, set, region;  // b: the pair's first once converted
  };
  const int pair = tp.pair;
  std::vector<Block> to_store;  // requantized into staging, not yet stored (whole pairs)
  auto store = [&](const Block& q) {
    int n0, end;
    BlockChannels(p, q.b, &n0, &end);
    // Valid outputs only: out_w of every pitch-wide row; the pair's channels (a group's last block may be alone).
    const uint32_t cols = static_cast<uint32_t>(std::min(kLanes * pair, end - n0) * out_elem);
    const uint64_t first = ((uint64_t(q.n) * geo.out_h + q.oy0) * geo.out_w) * y_pixel + uint64_t(n0) * out_elem;
    for (int r = 0; r < (whole ? 1 : q.rows_here); ++r) {
      DmaOut o;
      o.sram = staging[q.region] + static_cast<uint32_t>(r) * pitch * out_row, o.segment = call.seg_y;
      o.dram = first + uint64_t(r) * geo.out_w * y_pixel;
      o.rows = static_cast<uint32_t>(whole ? q.rows_here * geo.out_w : geo.out_w), o.row_bytes = cols;
      o.dram_stride = y_pixel, o.sram_stride = out_row;
      m.Execute(o);
    }
  };
  // Stores the first `count` blocks waiting, or those that use staging region `region`, in order.
  auto store_some = [&](size_t count, int region) {
    size_t kept = 0;
    for (size_t i = 0; i < to_store.size(); ++i) {
      if (i < count || to_store[i].region == region) {
        store(to_store[i]);
      } else {
        to_store[kept++] = to_store[i];
      }
    }
    to_store.resize(kept);
  };
  std::vector<Block> to_convert;  // at most one: TMACs issued, not yet requantized
  auto convert = [&]() {
    for (const Block& q : to_convert) {
      store_some(0, q.region);  // the staging region is free once its last pair left
      int n0, end;
      BlockChannels(p, q.b, &n0, &end);
      const int j = q.b % f.blocks_per_group;
      const uint32_t at = staging[q.region] + static_cast<uint32_t>((j % pair) * kLanes * out_elem);
      epilogue.Convert(q.set * set_rows, static_cast<uint32_t>(q.rows_here * pitch), n0, end, at,
                       static_cast<int32_t>(out_row));
      if (GemmStagingComplete(j, f.blocks_per_group, pair)) {
        Block both = q;
        both.b -= j % pair;
        to_store.push_back(both);
      }
    }
    to_convert.clear();
  };

  for (int g = 0; g < d.groups; ++g) {
    DramBindings group_dram(m, call.fn);  // this group's weights, unbound before the next group's
    SramPlan w_plan(w_region, w_bytes, call.fn);
    // Resident weights whole, first, as before: in windows the model gained 1.3 % on ResNet-50 (default
    // preset) but the SIMD machine took 2-3.5 % longer on conv/tile32/direct/resnet50.3x3.7 (2.3 MB of
    // weights), cause not found.
    WeightTiles weights(m, group_dram, w_plan, p.weights[g], resident, chunk, row_sums, w_bytes, false);
    src.channel_offset = g * f.group_channels;
    std::vector<Block> bands;  // (n, oy0, rows_here) of every band of the group
    for (int n = 0; n < x.batch; ++n) {
      for (int oy0 = 0; oy0 < geo.out_h; oy0 += band_rows) {
        bands.push_back({n, oy0, std::min(band_rows, geo.out_h - oy0), 0, 0, 0});
      }
    }
    LoadBand(m, band[0], src, bands[0].n, bands[0].oy0);
    for (size_t k = 0; k < bands.size(); ++k) {
      const BandLayout& in = band[k % shape.buffers];
      if (k > 0 && shape.buffers == 1) LoadBand(m, in, src, bands[k].n, bands[k].oy0);
      const uint32_t rows = static_cast<uint32_t>(bands[k].rows_here * pitch);
      // The reduction in (ky, kx, c) order: runs of taps whose activations lie back to back in SRAM (the
      // taps kx of one kernel row at stride 1 and dilation 1 read consecutive pixels) are one stretch of
      // tiles, issued in chunks of up to tile_regs tiles per TMAC. `after_first` runs once the first TMAC
      // is issued: the work of earlier blocks that this chain's TMACs may overlap.
      auto chain = [&](uint32_t acc_row, int j, auto&& after_first) {
        bool first = true;
        for (int t0 = 0; t0 < taps;) {
          const uint32_t a0 = in.TapAddress(t0 / d.kernel_w, t0 % d.kernel_w);
          int t1 = t0 + 1;
          while (t1 < taps && in.TapAddress(t1 / d.kernel_w, t1 % d.kernel_w) == a0 + (t1 - t0) * in.pixel_bytes) {
            ++t1;
          }
          const int run_tiles = (t1 - t0) * cb;
          for (int k0 = 0; k0 < run_tiles; k0 += chunk) {
            const int tiles = std::min(chunk, run_tiles - k0);
            if (j >= 0) {
              weights.Load(t0 * cb + k0, tiles, j);
            } else {
              weights.LoadOnes(tiles);
            }
            IssueTmac(m, p.mode, acc_row, rows, a0 + static_cast<uint32_t>(k0 * kLanes * elem),
                      static_cast<int32_t>(in.pixel_bytes), tiles);
            weights.Prefetch(k + 1 < bands.size());
            if (first) after_first(), first = false;
          }
          t0 = t1;
        }
      };
      if (row_sums) {
        AccZero z;
        z.row = sums_row, z.rows = rows;
        m.Execute(z);
        chain(sums_row, -1, [] {});
      }
      for (int j = 0; j < f.blocks_per_group; ++j) {
        const Block blk{bands[k].n, bands[k].oy0, bands[k].rows_here, g * f.blocks_per_group + j,
                        static_cast<int>((k * f.blocks_per_group + j) % shape.sets),
                        GemmStagingRegion(int64_t(k), j, f.blocks_per_group, pair, tp.regions)};
        if (!to_convert.empty() && to_convert[0].set == blk.set) convert();  // one set: it is needed now
        const uint32_t acc_row = blk.set * set_rows;
        if (row_sums) {
          epilogue.SeedWithRowSums(acc_row, rows, blk.b, sums_row, spare_rows);
        } else {
          epilogue.Seed(acc_row, rows, blk.b);
        }
        // The previous block's REQ after this block's seed (which it would hold up) and before its TMACs
        // (which would hold it up: it may start as soon as the previous block's TMACs are done). Behind
        // the first TMAC the stores, then a part of the next band: spread over the band's blocks, so that
        // no DMA waits long for the engines (and with it everything issued after it).
        convert();
        chain(acc_row, j, [&] {
          store_some(to_store.size(), -1);
          if (j < parts && shape.buffers == 2 && k + 1 < bands.size()) {
            LoadBand(m, band[(k + 1) % 2], src, bands[k + 1].n, bands[k + 1].oy0, j, parts);
          }
        });
        to_convert.push_back(blk);
      }
    }
    convert();
    store_some(to_store.size(), -1);
  }
  return true;
}

// ---- folded ----

void RunFolded(Machine& m, const ConvCall& call) {
  const PackedConv& p = *call.packed;
  const ConvDesc& d = p.desc;
  const ConvFacts f = FactsOf(d);
  const ConvGeometry& geo = call.geometry;
  const ConvArgs& x = *call.args;
  const int elem = SizeOf(ActivationType(p.mode));
  const int cg = f.group_channels, out_elem = SizeOf(x.y_type);
  const uint64_t x_pixel = uint64_t(call.x_pixel_stride) * elem, y_pixel = uint64_t(call.y_pixel_stride) * out_elem;
  const std::vector<uint32_t> bias = CallBias(p, x.x_zero_point);
  const uint32_t* seed_bias = SeedBias(bias);
  const std::vector<int32_t> scale = CallRowSumScale(p);
  // Out-of-image taps: a kernel row of taps (kernel_w * Cg elements) of the padding value.
  std::vector<uint8_t> fill(size_t(d.kernel_w) * cg * elem);
  for (size_t i = 0; i < fill.size(); i += elem) std::memcpy(&fill[i], call.border, size_t(elem));
  PatchSource src;
  src.geo = geo, src.channels = cg, src.elem = elem, src.x_pixel = x_pixel, src.seg_x = call.seg_x;
  src.seg_fill = call.dram->BindReadOnly(fill.data(), fill.size());
  src.merge = d.groups == 1 && d.dilation_w == 1 && call.x_pixel_stride == d.in_channels;
  const int64_t plane = int64_t{geo.out_h} * geo.out_w;

  for (int g = 0; g < d.groups; ++g) {
    GemmLoopArgs a;
    a.fn = call.fn;
    a.M = int64_t{x.batch} * plane;
    a.row_quantum = geo.out_w;
    a.mode = p.mode;
    a.b = &p.weights[g];
    a.epilogue.out = x.y_type, a.epilogue.quant = x.quant, a.epilogue.blocks = f.blocks_per_group;
    const size_t at = size_t(g) * f.blocks_per_group * kLanes;
    a.epilogue.bias = seed_bias != nullptr ? seed_bias + at : nullptr;
    a.epilogue.row_sum_scale = p.needs_row_sums ? scale.data() + at : nullptr;
    a.epilogue.channel_offset = g * f.group_outputs;
    src.channel_offset = g * cg;
    a.load_a = [&](int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram, uint32_t stride) {
      GatherPatches(m, src, m0, rows, k0, cols, sram, stride);
    };
    a.store_c = [&](int64_t m0, uint32_t rows, int n0, int cols, uint32_t sram, uint32_t stride) {
      DmaOut o;
      o.sram = sram, o.segment = call.seg_y;
      o.dram = uint64_t(m0) * y_pixel + uint64_t(g * f.group_outputs + n0) * out_elem;
      o.rows = rows, o.row_bytes = static_cast<uint32_t>(cols * out_elem), o.dram_stride = y_pixel, o.sram_stride = stride;
      m.Execute(o);
    };
    DramBindings group_dram(m, call.fn);  // this group's weights, unbound before the next group's
    RunGemmLoop(m, group_dram, a);
  }
}

void Run(Machine& m, const ConvCall& call) {
  if (LayoutForCall(*call.packed, call.geometry) == ConvLayout::kFolded) return RunFolded(m, call);
  // Weights packed for either layout: a width too large for one band row of ACC takes the folded layout,
  // which splits output pixels freely.
  if (!RunTapMajor(m, call, call.packed->layout == ConvLayout::kAuto)) RunFolded(m, call);
}

}  // namespace

const ConvImpl kDirectImpl = {ConvAlgorithm::kDirect, Accepts, Pack, Run};

}  // namespace tile32

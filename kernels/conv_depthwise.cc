// Depthwise convolution (groups == in_channels, channel multiplier m = out_channels / in_channels) on the
// element-wise MAC path (docs/isa.md §4.2): lane l of an EMAC is output channel 32 b + l of block b, and
// one EMAC per kernel tap streams a whole run of output pixels.
//
// Input: bands in the phase-plane layout of layout/band.h holding every channel of the tensor, m times each
// (band channel j = tensor channel j / m, kernels/input_band.h), so that band channel k is the input of
// output channel k and one pixel's 32 channels of block b are the 32 activations an EMAC row reads: for
// tap (ky, kx) the rows of a band are TapAddress(ky, kx) + 32 b elements + r * pixel_bytes.
//
// Weights (PackedConv::lane_weights): per block of 32 output channels and tap (ky, kx), the 32 weights in
// lane order, one element of the weight type each; VLD puts a tap's weights into a V register. They are
// DMA'd into SRAM once per call (or one block at a time when they do not all fit beside a band).
//
// Per band and chunk of its rows, for each block (last to first): the ACC rows are seeded with the block's
// bias row, one EMAC per tap in (ky, kx) order (BF16's fma chain of the contract; the padding value +0.0
// takes part like any pixel), and the epilogue converts them into the block's columns of NHWC staging
// rows that hold all K channels; then one DMA_OUT per chunk (or per output row when the output's pixels are
// not dense) writes the valid outputs.
//
// INT8 zero points (kernels/conv.cc): acc = sum x w' - z sum x + [bias - x_zp sum w' + R x_zp z], R =
// kernel_h * kernel_w. The bracket is CallBias; the term z sum x differs per lane (per output channel's
// input), so when some z != 0 each block of a chunk first sums its taps' activations per lane into separate ACC rows
// (EMAC against an all-ones V register) and Epilogue::SeedWithRowSums multiplies them lane by lane by -z.
#include <algorithm>
#include <cstring>

#include "accel/error.h"
#include "kernels/conv_impl.h"
#include "kernels/operator.h"
#include "kernels/input_band.h"
#include "kernels/middle_end.h"

namespace tile32 {
namespace {

// Rows per chunk (fewer when ACC or SRAM hold fewer). Every chunk costs a VLD per block and tap when the
// blocks' taps do not all fit in V registers, a bias DMA per block, and instructions whose fixed cost the
// SIMD machine pays per instruction; long EMACs are also what it splits across threads. Measured on the
// MobileNetV2 layers (docs/simd_machine.md, "EMAC"): 256 rows 10-20 % slower than 1024, 1024 to 4096 equal
// within noise.
constexpr uint32_t kChunkRows = 2048;

bool Accepts(const ConvDesc& d, const ConvFacts&, std::string* why) {
  if (d.groups != d.in_channels) {
    *why = "depthwise needs one group per input channel (desc.groups == desc.in_channels), not groups = " +
           std::to_string(d.groups) + " with in_channels = " + std::to_string(d.in_channels);
    return false;
  }
  if (d.layout != ConvLayout::kAuto) {
    *why = std::string("desc.layout = ") + NameOf(d.layout) + " chooses a layout of the direct algorithm";
    return false;
  }
  return true;
}

void Pack(const ConvDesc& d, const ConvFacts& f, PackedConv* p) {
  p->layout = ConvLayout::kTapMajor;
  p->lane_bias = BiasByChannel(*p);
  const int K = d.out_channels, taps = d.kernel_h * d.kernel_w;
  const size_t welem = static_cast<size_t>(SizeOf(WeightType(f.mode)));
  p->lane_weights.assign(CheckedBytes("PackConv", "the lane weights", uint64_t(Ceil32(K)) * taps * kLanes, welem), 0);
  for (int k = 0; k < K; ++k) {
    for (int ky = 0; ky < d.kernel_h; ++ky) {
      for (int kx = 0; kx < d.kernel_w; ++kx) {
        // Output channel k's group is k / m; its only input channel is channel 0 of the group.
        const uint32_t v = static_cast<uint32_t>(PackedWeightAt(d, k, ky, kx, 0));
        const size_t at = ((size_t(k / kLanes) * taps + size_t(ky) * d.kernel_w + kx) * kLanes + k % kLanes) * welem;
        for (size_t i = 0; i < welem; ++i) p->lane_weights[at + i] = static_cast<uint8_t>(v >> (8 * i));
      }
    }
  }
}

// SRAM bytes of a band of `rows` output rows, in 64 bits (BandLayout::plane_bytes is 32-bit).
uint64_t BandBytes(const ConvGeometry& g, int rows, int channels, int elem) {
  const BandLayout l = MakeBandLayout(g, rows, channels, elem, 0);
  const uint64_t plane = (uint64_t(l.plane_rows) * l.pitch + l.extra_cols) * l.pixel_bytes;
  return uint64_t(g.stride_h) * g.stride_w * Align64(plane);
}

}  // namespace

DepthwisePlan PlanDepthwise(const AccelConfig& c, const ConvGeometry& geo, int K, int taps, int elem, int welem,
                            int out_elem, bool row_sums, SramPlan plan) {
  DepthwisePlan dp;
  const int blocks = Ceil32(K);
  // ACC: a chunk of rows at 0; with row sums the chunk's sums after it and two spare rows.
  const uint64_t acc_chunk = row_sums ? (c.acc_rows < 4 ? 0 : (c.acc_rows - 2) / 2) : c.acc_rows;
  if (acc_chunk == 0) {
    Fail("Conv: accelerator configuration too small: the weight zero points need 4 ACC rows (acc_rows = ",
         c.acc_rows, ")");
  }
  // Staging: a chunk's outputs as NHWC rows of all K channels (every block converts into its columns), so
  // that an output row leaves in one DMA. A conversion writes 32 lanes per row: the last block's lanes past
  // K run into the first channels of the rows after (block 0's: blocks go last to first, so block 0 writes
  // them afterwards; with a single block, K < 32, the rows after rewrite them, rows being converted in
  // ascending order) or, after the chunk's last row, into a slack of 32 elements.
  dp.stage_row = static_cast<uint32_t>(K * out_elem);
  auto staging_bytes = [&](uint64_t rows) { return rows * dp.stage_row + uint64_t{kLanes} * out_elem; };
  // Weights: every block resident if they fit beside the smallest staging and a band of one output row,
  // else one block at a time.
  dp.block_weights = uint64_t(taps) * kLanes * welem;
  const uint64_t all_w = dp.block_weights * blocks;
  const uint64_t one_row = BandBytes(geo, 1, K, elem);
  dp.resident = Align64(all_w) + Align64(staging_bytes(1)) + one_row <= plan.left();
  dp.weights = dp.resident ? all_w : dp.block_weights;
  plan.Take(dp.resident ? "the depthwise weights" : "one block of depthwise weights", dp.weights);
  // Chunk rows: kChunkRows, fewer when ACC or SRAM (beside a band of one output row) hold fewer.
  uint64_t chunk_limit = std::min<uint64_t>(kChunkRows, acc_chunk);
  while (chunk_limit > 1 && Align64(staging_bytes(chunk_limit)) + one_row > plan.left()) chunk_limit /= 2;
  dp.chunk_limit = chunk_limit;
  dp.staging = staging_bytes(chunk_limit);
  plan.Take("the output rows", dp.staging);
  for (int b = geo.out_h; b >= 1; b = b > 8 ? b * 7 / 8 : b - 1) {
    if (BandBytes(geo, b, K, elem) <= plan.left()) {
      dp.band_rows = b;
      break;
    }
  }
  return dp;
}

namespace {

void Run(Machine& m, const ConvCall& call) {
  const PackedConv& p = *call.packed;
  const ConvDesc& d = p.desc;
  const ConvGeometry& geo = call.geometry;
  const AccelConfig& c = m.config();
  const ConvArgs& x = *call.args;
  const int K = d.out_channels, mult = K / d.in_channels;
  const int taps = d.kernel_h * d.kernel_w, blocks = Ceil32(K);
  const DType wtype = WeightType(p.mode);
  const int elem = SizeOf(ActivationType(p.mode)), welem = SizeOf(wtype);
  const bool row_sums = p.needs_row_sums;

  // A block here is 32 consecutive output channels across groups, not the front end's block per group.
  const std::vector<uint32_t> bias = CallBiasByChannel(p, x.x_zero_point);
  const std::vector<int32_t> scale = CallRowSumScaleByChannel(p);
  EpilogueArgs ea;
  ea.out = x.y_type, ea.quant = x.quant, ea.blocks = blocks;
  ea.bias = SeedBias(bias);
  ea.row_sum_scale = row_sums ? scale.data() : nullptr;

  SramPlan plan(c, call.fn);
  Epilogue epilogue(m, *call.dram, plan, ea);
  const int out_elem = SizeOf(x.y_type);
  const uint64_t y_pixel = uint64_t(call.y_pixel_stride) * out_elem;

  const DepthwisePlan dp = PlanDepthwise(c, geo, K, taps, elem, welem, out_elem, row_sums, plan);
  const bool resident = dp.resident;
  const uint32_t stage_row = dp.stage_row;
  const uint64_t block_w = dp.block_weights;
  const uint32_t seg_w = call.dram->BindReadOnly(p.lane_weights.data(), p.lane_weights.size());
  const uint32_t w_addr = plan.Take(resident ? "the depthwise weights" : "one block of depthwise weights", dp.weights);
  const uint64_t chunk_limit = dp.chunk_limit;
  const uint32_t staging = plan.Take("the output rows", dp.staging);
  const int band_rows = dp.band_rows;
  if (band_rows == 0) {
    Fail(call.fn, ": accelerator configuration too small for one output row: its input band needs ",
         BandBytes(geo, 1, K, elem), " bytes of SRAM (", plan.left(), " left of sram_bytes = ", c.sram_bytes, ")");
  }
  BandLayout band = MakeBandLayout(geo, band_rows, K, elem, 0);
  band.base = plan.Take("the input band", band.bytes());
  const uint32_t pb = band.pixel_bytes;
  std::vector<uint32_t> tap_base(taps);  // each tap's address in the band, which every band reuses
  for (int tap = 0; tap < taps; ++tap) tap_base[tap] = band.TapAddress(tap / d.kernel_w, tap % d.kernel_w);

  auto dma_in = [&](uint32_t sram, uint64_t dram, uint64_t bytes) {
    DmaIn in;
    in.sram = sram, in.segment = seg_w, in.dram = dram, in.rows = 1, in.row_bytes = static_cast<uint32_t>(bytes);
    m.Execute(in);
  };
  if (resident) dma_in(w_addr, 0, dp.weights);
  int w_block = -1;  // the block whose weights sit at w_addr (not resident)
  auto weights_of = [&](int b) -> uint32_t {
    if (resident) return w_addr + static_cast<uint32_t>(block_w * b);
    if (w_block != b) dma_in(w_addr, block_w * b, block_w), w_block = b;
    return w_addr;
  };

  // V registers: a direct-mapped cache of (block, tap) weight vectors over the registers not reserved for
  // the all-ones weights of the row sums. When every block's taps fit they are loaded once per call; when
  // one block's do, once per block and band.
  const int ones_reg = c.vector_regs - 1;
  const int slots = c.vector_regs - (row_sums ? 1 : 0);
  std::vector<int64_t> holds(size_t(slots), -1);
  auto reg_of = [&](int b, int tap) -> uint8_t {
    const int64_t key = int64_t{b} * taps + tap;
    const int v = static_cast<int>(key % slots);
    if (holds[v] != key) {
      VLoad ld;
      ld.vd = static_cast<uint8_t>(v), ld.type = wtype, ld.stride = welem;
      ld.addr = weights_of(b) + static_cast<uint32_t>(tap * kLanes * welem);
      m.Execute(ld);
      holds[v] = key;
    }
    return static_cast<uint8_t>(v);
  };
  if (row_sums) {
    VAlu ones;
    ones.op = AluOp::kMovi, ones.vd = static_cast<uint8_t>(ones_reg), ones.imm = 1;
    m.Execute(ones);
  }

  std::vector<uint8_t> fill;
  BandSource src = InputBandSource(call, band, elem, kZeroChannelPad, &fill);
  src.channels = d.in_channels;
  src.band_channels = K;
  src.replicate = mult;
  src.pad_channels = false;  // lane k reads channel k only: lanes past K are computed and never stored
  // Chunks of whole plane rows when one fits (each output row then leaves in one DMA).
  const uint32_t pitch = static_cast<uint32_t>(band.pitch);
  const uint32_t limit = static_cast<uint32_t>(chunk_limit);
  const uint32_t chunk = pitch <= limit ? limit / pitch * pitch : limit;
  const uint32_t sums_row = chunk, spare_rows = 2 * chunk;

  auto emac = [&](uint32_t acc_row, uint32_t rows, uint32_t a_addr, uint8_t vw) {
    ElemMac e;
    e.mode = p.mode, e.acc_row = acc_row, e.rows = rows, e.a_addr = a_addr, e.a_stride = static_cast<int32_t>(pb);
    e.vw = vw;
    m.Execute(e);
  };
  // Band rows [lo, hi) of the chunk starting at r0 (inside one output row, or whole rows when pitch == out_w).
  auto dma_out = [&](int n, int oy0, uint32_t r0, uint32_t lo, uint32_t hi) {
    DmaOut o;
    o.sram = staging + (lo - r0) * stage_row, o.segment = call.seg_y;
    o.dram = ((uint64_t(n) * geo.out_h + oy0 + lo / pitch) * geo.out_w + lo % pitch) * y_pixel;
    o.rows = hi - lo, o.row_bytes = stage_row, o.dram_stride = y_pixel, o.sram_stride = stage_row;
    m.Execute(o);
  };

  const bool whole_rows_out = y_pixel == stage_row;
  for (int n = 0; n < x.batch; ++n) {
    for (int oy0 = 0; oy0 < geo.out_h; oy0 += band_rows) {
      const int rows_here = std::min(band_rows, geo.out_h - oy0);
      const uint32_t band_total = static_cast<uint32_t>(rows_here) * pitch;
      LoadBand(m, band, src, n, oy0);
      for (uint32_t r0 = 0; r0 < band_total; r0 += chunk) {
        const uint32_t rows = std::min(chunk, band_total - r0);
        for (int b = blocks - 1; b >= 0; --b) {
          const int n0 = b * kLanes;
          auto tap_addr = [&](int tap) { return tap_base[tap] + static_cast<uint32_t>(n0 * elem) + r0 * pb; };
          if (row_sums) {
            AccZero z;
            z.row = sums_row, z.rows = rows;
            m.Execute(z);
            for (int tap = 0; tap < taps; ++tap) emac(sums_row, rows, tap_addr(tap), static_cast<uint8_t>(ones_reg));
            epilogue.SeedWithRowSums(0, rows, b, sums_row, spare_rows);
          } else {
            epilogue.Seed(0, rows, b);
          }
          for (int tap = 0; tap < taps; ++tap) emac(0, rows, tap_addr(tap), reg_of(b, tap));
          epilogue.Convert(0, rows, n0, K, staging + static_cast<uint32_t>(n0 * out_elem), static_cast<int32_t>(stage_row));
        }
        // The valid outputs of the chunk: per plane row its first out_w pixels.
        if (pitch == static_cast<uint32_t>(geo.out_w)) {
          dma_out(n, oy0, r0, r0, r0 + rows);
          continue;
        }
        if (whole_rows_out && r0 % pitch == 0 && rows % pitch == 0) {
          // Output rows dense in both memories: one DMA, an output row per DMA row (the SIMD machine splits
          // it across threads where it would not split one output row's DMA).
          DmaOut o;
          o.sram = staging, o.segment = call.seg_y;
          o.dram = (uint64_t(n) * geo.out_h + oy0 + r0 / pitch) * geo.out_w * y_pixel;
          o.rows = rows / pitch, o.row_bytes = static_cast<uint32_t>(geo.out_w) * stage_row;
          o.dram_stride = uint64_t(geo.out_w) * y_pixel, o.sram_stride = pitch * stage_row;
          m.Execute(o);
          continue;
        }
        for (uint32_t q = r0 / pitch; q * pitch < r0 + rows; ++q) {
          const uint32_t lo = std::max(r0, q * pitch);
          const uint32_t hi = std::min(r0 + rows, q * pitch + static_cast<uint32_t>(geo.out_w));
          if (lo < hi) dma_out(n, oy0, r0, lo, hi);
        }
      }
    }
  }
}

}  // namespace

const ConvImpl kDepthwiseImpl = {ConvAlgorithm::kDepthwise, Accepts, Pack, Run};

}  // namespace tile32

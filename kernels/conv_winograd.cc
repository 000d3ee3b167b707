// Exact integer Winograd F(2x2,3x3) (docs/isa.md §9): 3x3, stride 1, dilation 1, INT8, any groups, padding
// and channel counts, bit-identical to direct convolution (kernels/conv.h's numeric contract) or refused.
//
// Math. With B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]], G' = 2G = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]]
// and A^T = [[1,1,1,0],[0,1,-1,-1]], a 4x4 input tile d and the 3x3 kernel g' = w - w_zp of one output
// channel give the 2x2 outputs 4Y = A^T [(G' g' G'^T) ⊙ (B^T d B)] A. Every step before the final SRA 2 is
// linear mod 2^32, so the result is exact exactly when the true 4Y fits int32: |Y| < 2^29, which the call
// proves from max|x - x_zp| * S_k, S_k = sum |w - w_zp| of output channel k (refused otherwise).
//   U = G' g' G'^T: |g'| <= 255, so |U| <= 9 * 255 = 2295 (int16), packed once per group and position.
//   V = B^T d B of the raw codes (padding pixels hold x_zp): |V| <= 1020 (u8), 512 (s8) (int16).
//   The activation zero point: V of a constant c is 4c at position (1, 1) and 0 elsewhere, so M(1,1) is
//   seeded with -4 * x_zp * sum_c U11[c][k] and M = sum_c U ⊙ V(x - x_zp) mod 2^32.
//
// Loop, per group, image and band of tile rows (tile (ty, tx) covers outputs 2ty..2ty+1, 2tx..2tx+1;
// ceil(out/2) tiles per axis, outputs past out_h/out_w computed and never stored):
//   input band: the layout/band.h placement of the geometry "4x4 kernel, stride 2" over the padded input:
//     tap (i, j) of tile r = ty*pitch + tx is pixel r + (i/2)*pitch + j/2 of phase plane (i%2, j%2).
//   input transform, per 32-channel block. Neighbouring tiles overlap by two pixels, so the transform is
//     shared: the four planes are ACC_LD'd once each (u8/i8 widened), and tap (i, j) of every tile is
//     plane (i%2, j%2) read (i/2)*pitch + j/2 rows further on. Rows of B^T d (over i, "E") for every column
//     phase at once: 8 AALU, operands pitch rows apart; then columns (E B, over j): 16 AALU, operands one
//     row apart; in place where the shifted operand is read before it is overwritten (rows ascend). That
//     is 24 AALU rows and 4 ACC_LD rows per tile instead of 32 and 16 for tiles transformed one by one.
//     Then REQ (identity requantization to int16, exact) of each position and tile row into the V matrices
//     in SRAM, [position][tile][channel], junk tiles (tx = tiles_w, the plane's slack column) left out.
//   element-wise stage, per block of 32 output channels: per position a chain of S16S16 TMACs over the
//     channel tiles into 16 ACC sets, four quads of a ring (M(1,1) seeded with the zero-point term, and the
//     bias when provably exact there).
//   output transform: A^T M A as 12 to 18 AALU on quads and sets into the 4 sets of quad 0, SRA 2 (and the ADD of
//     the bias row when it was not seeded); then the epilogue per output position into staging planes per
//     output-row parity (each output row contiguous) and one DMA_OUT per valid output row.
// The loop overlaps consecutive blocks and bands where ACC and SRAM hold two of what they use (Schedule).
#include <algorithm>
#include <cstdlib>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "accel/error.h"
#include "kernels/conv_impl.h"
#include "kernels/input_band.h"
#include "kernels/middle_end.h"
#include "kernels/winograd_weights.h"

namespace tile32 {
namespace {

using winograd::kPositions;
using winograd::UTiles;
constexpr int64_t kExactLimit = int64_t{1} << 29;  // |Y| must stay below: 4Y fits int32

// The largest |x - zp| over the codes of an INT8 activation type.
int64_t MaxAbsDiff(DType x_type, int32_t zp) {
  const ValueRange r = RangeOf(x_type);
  return std::max<int64_t>(int64_t{zp} - r.lo, int64_t{r.hi} - zp);
}

// The 3x3 kernels g' = w - w_zp of output channel k, one per input channel of its group: Channel(k) reads the
// channel's weights once (PackedWeightsOf: tap-major, 9 * C/G values), Kernel(c) takes input channel c's nine.
class KernelsOf {
 public:
  KernelsOf(const ConvDesc& d, const ConvFacts& f) : d_(d), cg_(f.group_channels), w_(size_t{9} * cg_) {}
  void Channel(int k) { PackedWeightsOf(d_, k, w_.data()), z_ = ShiftedZeroPoint(d_, k); }
  void Kernel(int c, int32_t g[3][3]) const {
    for (int tap = 0; tap < 9; ++tap) g[tap / 3][tap % 3] = w_[size_t(tap) * cg_ + c] - z_;
  }

 private:
  const ConvDesc& d_;
  int cg_;
  std::vector<int32_t> w_;
  int32_t z_ = 0;
};

// U = G' g G'^T.
void TransformKernel(const int32_t g[3][3], int32_t u[4][4]) {
  static constexpr int kG[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};
  int32_t t[4][3];  // G' g
  for (int i = 0; i < 4; ++i)
    for (int x = 0; x < 3; ++x) t[i][x] = kG[i][0] * g[0][x] + kG[i][1] * g[1][x] + kG[i][2] * g[2][x];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) u[i][j] = t[i][0] * kG[j][0] + t[i][1] * kG[j][1] + t[i][2] * kG[j][2];
}

// Per output channel, sum over taps and input channels of |w - w_zp|.
std::vector<int64_t> AbsSums(const ConvDesc& d, const ConvFacts& f) {
  std::vector<int64_t> s(size_t(d.out_channels), 0);
  KernelsOf kernels(d, f);
  for (int k = 0; k < d.out_channels; ++k) {
    kernels.Channel(k);
    for (int c = 0; c < f.group_channels; ++c) {
      int32_t g[3][3];
      kernels.Kernel(c, g);
      for (auto& row : g)
        for (int32_t v : row) s[k] += std::abs(v);
    }
  }
  return s;
}

bool Accepts(const ConvDesc& d, const ConvFacts& f, std::string* why) {
  auto no = [&](const std::string& s) {
    *why = s;
    return false;
  };
  if (d.layout != ConvLayout::kAuto) return no(std::string("desc.layout = ") + NameOf(d.layout) + " asks for direct");
  if (d.kernel_h != 3 || d.kernel_w != 3) {
    return no("needs a 3x3 kernel, not " + std::to_string(d.kernel_h) + "x" + std::to_string(d.kernel_w));
  }
  if (d.stride_h != 1 || d.stride_w != 1) return no("needs stride 1");
  if (d.dilation_h != 1 || d.dilation_w != 1) return no("needs dilation 1");
  if (!IsInt8(d.x_type)) {
    return no(std::string("is exact for INT8 only, not ") + NameOf(f.mode) +
              (f.mode == MacMode::kBF16
                   ? " (the transforms would round: BF16 Winograd is not bit-identical to direct convolution)"
                   : " (the input transform of int16 data needs 18 bits, more than the S16S16 tile path takes)"));
  }
  // 16 int16 matrices per group, each ceil(Cg/32) x ceil(Kg/32) tiles of 2 KiB.
  const uint64_t tiles = uint64_t(d.groups) * kPositions * Ceil32(f.group_channels) * Ceil32(f.group_outputs);
  if (tiles > kMaxHostBytes / 2048) return no("the transformed weights would exceed " + std::to_string(kMaxHostBytes) + " bytes");
  const std::vector<int64_t> s = AbsSums(d, f);
  int k_max = 0;
  for (int k = 0; k < d.out_channels; ++k)
    if (s[k] > s[k_max]) k_max = k;
  // kAuto: exact for every activation zero point (max |x - zp| = 255 at either end of the range), so an
  // automatic choice never refuses a call. Explicit: exact at least for the best zero point (mid-range).
  const bool automatic = d.algorithm == ConvAlgorithm::kAuto;
  const int64_t worst = automatic ? 255 : 128;
  if (worst * s[k_max] >= kExactLimit) {
    return no("not provably exact" + std::string(automatic ? " for every activation zero point" : "") +
              ": output channel " + std::to_string(k_max) + " has sum |w - w_zero_point| = " +
              std::to_string(s[k_max]) + ", and " + std::to_string(worst) + " * " + std::to_string(s[k_max]) +
              " >= 2^29 (4 * Y must fit int32)");
  }
  return true;
}

void Pack(const ConvDesc& d, const ConvFacts& f, PackedConv* p) {
  const int cg = f.group_channels, kg = f.group_outputs;
  p->u11_sums.assign(size_t(d.out_channels), 0);
  p->w_abs_sum.assign(size_t(d.out_channels), 0);
  // Per position, U's columns (output channels) of C/G values each: packed from the columns, no transpose.
  std::vector<std::vector<int16_t>> u(kPositions, std::vector<int16_t>(size_t(cg) * kg));
  KernelsOf kernels(d, f);
  for (int g = 0; g < d.groups; ++g) {
    for (int n = 0; n < kg; ++n) {
      const int k = g * kg + n;
      uint32_t u11 = 0;
      int64_t abs_sum = 0;
      kernels.Channel(k);
      for (int c = 0; c < cg; ++c) {
        int32_t w[3][3], t[4][4];
        kernels.Kernel(c, w);
        for (auto& row : w)
          for (int32_t v : row) abs_sum += std::abs(v);
        TransformKernel(w, t);
        for (int pos = 0; pos < kPositions; ++pos) u[pos][size_t(n) * cg + c] = static_cast<int16_t>(t[pos / 4][pos % 4]);
        u11 += static_cast<uint32_t>(t[1][1]);
      }
      p->u11_sums[k] = static_cast<int32_t>(u11);
      p->w_abs_sum[k] = abs_sum;
    }
    for (int pos = 0; pos < kPositions; ++pos) p->weights.push_back(PackWeightColumnsI16(u[pos].data(), cg, kg, cg));
  }
}

// The identity requantization to int16 (TFL_SINGLE, M = 2^30, shift 1: y = (x 2^30 + 2^29) >> 30 = x).
QuantConfig IdentityQuant() {
  QuantConfig q;
  q.mode = RequantMode::kTflSingle;
  q.multiplier.fill(int32_t{1} << 30);
  q.shift.fill(1);
  q.zero_point = 0;
  q.qmin = std::numeric_limits<int16_t>::min(), q.qmax = std::numeric_limits<int16_t>::max();
  return q;
}

void CheckBound(const char* fn, const PackedConv& p, int32_t x_zp) {
  const int64_t span = MaxAbsDiff(p.desc.x_type, x_zp);
  for (int k = 0; k < p.desc.out_channels; ++k) {
    if (span * p.w_abs_sum[k] >= kExactLimit) {
      Fail(fn, ": winograd cannot guarantee the exact result for x_zero_point = ", x_zp, ": max |x - x_zero_point| = ",
           span, " times sum |w - w_zero_point| = ", p.w_abs_sum[k], " of output channel ", k, " is ",
           span * p.w_abs_sum[k], " >= 2^29 (the bound |Y| < 2^29 of exact F(2x2,3x3): 4Y must fit int32); pack with "
           "ConvAlgorithm::kDirect, or an activation zero point nearer the middle of ", NameOf(p.desc.x_type));
    }
  }
}

// Where the input transform keeps its sets (ACC rows from `base`) for a piece of R = rows * pitch tile
// slots: the four planes (S = R + pitch + 1 rows each: the taps reach pitch + 1 pixels past the last tile),
// then 12 sets of R + 1 rows. E(i, px) is row i of B^T d for column phase px, V(i, j) position (i, j) of
// B^T d B.
struct InputSets {
  uint32_t R, S, Q, pitch, base;
  InputSets(uint32_t rows, uint32_t pitch_, uint32_t base_)
      : R(rows * pitch_), S(R + pitch_ + 1), Q(R + 1), pitch(pitch_), base(base_) {}
  static uint64_t AccRows(uint64_t rows, uint64_t pitch) { return WinogradTransformRows(rows, pitch); }
  uint32_t Plane(int py, int px) const { return base + S * static_cast<uint32_t>(2 * py + px); }
  uint32_t Extra(int k) const { return base + 4 * S + Q * static_cast<uint32_t>(k); }
  uint32_t E(int i, int px) const { return i == 0 ? Plane(0, px) : i == 3 ? Plane(1, px) : Extra(2 * px + i - 1); }
  uint32_t V(int i, int j) const { return j == 0 ? E(i, 0) : j == 3 ? E(i, 1) : Extra(4 + 2 * i + j - 1); }
};

void Alu(Machine& m, AluOp op, uint32_t dst, uint32_t a, uint32_t b, uint32_t rows, int32_t imm = 0) {
  AccAlu i;
  i.op = op, i.rows = rows, i.dst = dst, i.a = a, i.b = b, i.imm = imm;
  m.Execute(i);
}

// B^T d B of the planes, in place: d0..d3 of a column (rows i) give E0 = d0 - d2, E1 = d1 + d2,
// E2 = d2 - d1, E3 = d1 - d3, and the same over j. d(i + 2) is d(i) one tile row (pitch) on, d(j + 2)
// d(j) one tile on; the in-place ops read the shifted operand before any row writes it. Two passes (rows,
// then columns), which a pipelined loop issues apart.
void InputTransformRows(Machine& m, const InputSets& s) {
  const uint32_t p = s.pitch;
  for (int px = 0; px < 2; ++px) {  // rows [0, R + 1): the column pass reads one row past R
    const uint32_t d0 = s.Plane(0, px), d1 = s.Plane(1, px);
    Alu(m, AluOp::kAdd, s.E(1, px), d1, d0 + p, s.Q);  // d1 + d2
    Alu(m, AluOp::kSub, s.E(2, px), d0 + p, d1, s.Q);  // d2 - d1
    Alu(m, AluOp::kSub, d0, d0, d0 + p, s.Q);          // d0 - d2
    Alu(m, AluOp::kSub, d1, d1, d1 + p, s.Q);          // d1 - d3
  }
}
void InputTransformColumns(Machine& m, const InputSets& s) {
  for (int i = 0; i < 4; ++i) {  // rows [0, R)
    const uint32_t e0 = s.E(i, 0), e1 = s.E(i, 1);
    Alu(m, AluOp::kAdd, s.V(i, 1), e1, e0 + 1, s.R);  // e1 + e2
    Alu(m, AluOp::kSub, s.V(i, 2), e0 + 1, e1, s.R);  // e2 - e1
    Alu(m, AluOp::kSub, e0, e0, e0 + 1, s.R);         // e0 - e2
    Alu(m, AluOp::kSub, e1, e1, e1 + 1, s.R);         // e1 - e3
  }
}

using Schedule = WinogradSchedule;  // kernels/conv_impl.h says how the loop runs

// A piece of a band the input transform takes at once: tile rows [t0, t0 + rows), and of them the tile
// columns [c0, c0 + cols), or every column (cols = 0).
struct Piece {
  int t0 = 0, rows = 0;
  uint32_t c0 = 0, cols = 0;
};

void Run(Machine& m, const ConvCall& call) {
  const PackedConv& p = *call.packed;
  const ConvDesc& d = p.desc;
  const ConvFacts f = FactsOf(d);
  const ConvArgs& x = *call.args;
  CheckBound(call.fn, p, x.x_zero_point);  // before any instruction
  const AccelConfig& c = m.config();
  const ConvGeometry& geo = call.geometry;
  const int cb = Ceil32(f.group_channels);  // channel tiles
  const int kb = f.blocks_per_group;
  const int chunk = static_cast<int>(std::min<int64_t>({c.tile_regs, cb, 255}));
  const DType xt = d.x_type;

  // The tile grid as a convolution with a 4x4 kernel and stride 2 over the same padded input.
  ConvGeometry tg = geo;
  tg.out_h = (geo.out_h + 1) / 2, tg.out_w = (geo.out_w + 1) / 2;
  tg.kernel_h = tg.kernel_w = 4, tg.stride_h = tg.stride_w = 2, tg.dilation_h = tg.dilation_w = 1;
  const uint32_t all_tiles_w = static_cast<uint32_t>(tg.out_w);

  // The seed of M(1,1) per output channel: -4 x_zp sum_c U11 (mod 2^32); plus 4 * bias when every channel
  // provably stays exact with it (|bias| + max|x - x_zp| S_k < 2^29: then 4 (Y + bias) fits int32 and SRA 2
  // gives Y + bias, no wrap). Else the bias row is added after the shift, wrapping like direct convolution.
  const int64_t span = MaxAbsDiff(xt, x.x_zero_point);
  bool fold_bias = true;
  for (int k = 0; k < d.out_channels; ++k) {
    const int g = k / f.group_outputs, j = k % f.group_outputs;
    const int32_t bias = static_cast<int32_t>(p.bias_row[(size_t(g) * kb + j / kLanes) * kLanes + j % kLanes]);
    fold_bias &= std::abs(int64_t{bias}) + span * p.w_abs_sum[k] < kExactLimit;
  }
  std::vector<uint32_t> seed(p.bias_row.size(), 0);
  std::vector<char> seeded(size_t(kb) * d.groups, 0);
  for (int k = 0; k < d.out_channels; ++k) {
    const int g = k / f.group_outputs, j = k % f.group_outputs;
    const size_t b = size_t(g) * kb + j / kLanes, at = b * kLanes + j % kLanes;
    seed[at] = 0u - 4u * static_cast<uint32_t>(x.x_zero_point) * static_cast<uint32_t>(p.u11_sums[k]);
    if (fold_bias) seed[at] += 4u * p.bias_row[at];
    seeded[b] |= seed[at] != 0;
  }
  bool any_seed = false;
  for (char v : seeded) any_seed |= v != 0;

  EpilogueArgs ea;
  ea.out = x.y_type, ea.quant = x.quant, ea.blocks = kb * d.groups;
  ea.bias = fold_bias ? nullptr : SeedBias(p.bias_row);
  ea.resident = true;
  SramPlan plan(c, call.fn);
  Epilogue epilogue(m, *call.dram, plan, ea);
  // Every block's seed row in SRAM by one DMA when they take at most 1/64 of it (a DMA per block would
  // queue behind the DMA engines' other work and hold up the seed), else one row at a time.
  const uint64_t seed_bytes = uint64_t{4} * seed.size();
  const bool seeds_resident = seed_bytes <= c.sram_bytes / 64;
  uint32_t seg_seed = 0, seed_addr = 0;
  if (any_seed) {
    seg_seed = call.dram->BindReadOnly(seed.data(), seed_bytes);
    seed_addr = plan.Take("the seed rows", seeds_resident ? seed_bytes : 4 * kLanes);
    if (seeds_resident) {
      DmaIn in;
      in.sram = seed_addr, in.segment = seg_seed, in.rows = 1, in.row_bytes = static_cast<uint32_t>(seed_bytes);
      m.Execute(in);
    }
  }

  const uint32_t out_row = static_cast<uint32_t>(Align64(epilogue.row_bytes()));
  const WinogradPlan wp = PlanWinograd(c, geo, cb, kb, UTiles::SramBytes(&p.weights[0], true, chunk),
                                       UTiles::SramBytes(&p.weights[0], false, chunk), ea.bias != nullptr, out_row, plan);
  const bool compact = wp.compact, resident = wp.resident;
  const uint64_t w_bytes = wp.w_bytes;
  const uint32_t w_region = plan.Take("the transformed weights", w_bytes);
  Schedule s = wp.s;
  if (s.band_rows == 0) {
    Fail(call.fn, ": accelerator configuration too small for winograd on one 2x2 output tile: it needs ", wp.acc_one,
         " ACC rows (acc_rows = ", c.acc_rows, ") and ", wp.sram_one, " bytes of SRAM (", plan.left(),
         " left of sram_bytes = ", c.sram_bytes, ")");
  }
  const uint64_t v_row = uint64_t(cb) * kLanes * 2;  // one tile's V of every channel block, int16
  const uint32_t w = s.tiles_w, pitch = w + 1;
  const uint64_t rp = compact ? w : w + 1;  // V and M rows per tile row
  auto bands_of = [&](int rows) { return (tg.out_h + rows - 1) / rows; };
  const uint64_t windows = (all_tiles_w + w - 1) / w;
  const bool in_pieces = s.piece_rows > 0 || s.piece_cols > 0;
  const uint64_t x_rows = wp.x_rows;
  const int v_bufs = s.pipelined ? 2 : 1;
  const uint64_t T_max = uint64_t(s.band_rows) * rp;  // rows of one set (tiles of a band)

  const uint32_t quad_rows = static_cast<uint32_t>(4 * T_max);
  const uint32_t ring_end = static_cast<uint32_t>(s.quads) * quad_rows;
  const uint32_t x_base = s.pipelined ? ring_end : 0;
  const uint32_t bias_row = std::max(ring_end, static_cast<uint32_t>(x_base + x_rows));
  tg.out_w = static_cast<int>(w);
  BandLayout band[2];
  for (int i = 0; i < s.in_bufs; ++i) {
    band[i] = MakeBandLayout(tg, s.band_rows, f.group_channels, 1, 0);
    band[i].base = plan.Take("the input band", band[i].bytes());
  }
  const uint64_t v_pos = T_max * v_row;  // bytes of one position's V
  uint32_t v_base[2] = {};
  for (int i = 0; i < v_bufs; ++i) v_base[i] = plan.Take("the V matrices", kPositions * v_pos);
  const uint32_t plane = static_cast<uint32_t>(2 * T_max * out_row);  // staging per output-row parity
  uint32_t staging[4] = {};
  for (int i = 0; i < s.staging_bufs; ++i) staging[i] = plan.Take("the output staging", 2 * uint64_t{plane});
  // Streamed U over several bands: up to 8 slots in all where the SRAM has them (a DMA 7 loads ahead, through
  // the transforms between bands), then the cache. With one band, two: on the SIMD machine loads further
  // ahead only leave the host's caches sooner.
  const uint64_t chunk_bytes = Align64(p.weights[0].tile_bytes() * uint64_t(chunk));
  const bool several_bands = windows * uint64_t(bands_of(s.band_rows)) > 1;
  const int more_slots = resident || !several_bands ? 0 : static_cast<int>(std::min<uint64_t>(6, plan.left() / chunk_bytes));
  const uint32_t more_base = more_slots > 0 ? plan.Take("more chunks of transformed weight tiles", chunk_bytes * uint64_t(more_slots)) : 0;
  // Streamed U with more than one band per image: the SRAM left caches the column blocks one band uses last
  // and the next (in the opposite block order) first, so that only the rest comes from DRAM again.
  const uint64_t u_block = kPositions * UTiles::BlockBytes(&p.weights[0]);
  int cached = 0;
  if (!resident && several_bands) {
    cached = static_cast<int>(std::min<uint64_t>(uint64_t(kb), plan.left() / u_block));
  }
  const uint32_t cache = cached > 0 ? plan.Take("the cached transformed weights", u_block * uint64_t(cached)) : 0;

  std::vector<uint8_t> fill;
  BandSource src = InputBandSource(call, band[0], 1, kZeroChannelPad, &fill);
  src.pad_channels = false;  // a padding lane's transformed input meets U's zero rows: its bytes add 0
  const int out_elem = SizeOf(x.y_type);
  const uint64_t y_pixel = uint64_t(call.y_pixel_stride) * out_elem;
  const uint32_t pb = band[0].pixel_bytes;

  struct Band {
    int n;
    uint32_t tx0;
    int ty0, rows;
    bool reversed;  // the column blocks in descending order (the cache's first)
  };
  struct Block {
    int band = 0, b = 0, staging = 0;
    uint32_t T = 0;
    int quad[4] = {-1, -1, -1, -1};
    uint32_t Set(int pos, uint32_t quad_rows_) const {
      return static_cast<uint32_t>(quad[pos / 4]) * quad_rows_ + static_cast<uint32_t>(pos % 4) * T;
    }
  };
  std::vector<Band> bands;
  for (int n = 0; n < x.batch; ++n) {
    bool reversed = false;
    for (uint32_t tx0 = 0; tx0 < all_tiles_w; tx0 += w) {
      for (int ty0 = 0; ty0 < tg.out_h; ty0 += s.band_rows) {
        bands.push_back({n, tx0, ty0, std::min(s.band_rows, tg.out_h - ty0), reversed});
        reversed = cached > 0 && !reversed;
      }
    }
  }
  const int nb = static_cast<int>(bands.size());
  std::vector<UTiles::Use> streamed;  // the loads from DRAM, in the loop's order
  for (int k = 0; k < nb && more_slots > 0; ++k) {
    for (int j = 0; j < kb; ++j) {
      const int nt = bands[size_t(k)].reversed ? kb - 1 - j : j;
      if (nt >= kb - cached) continue;
      for (int pos = 0; pos < kPositions; ++pos) {
        for (int c0 = 0; c0 < cb; c0 += chunk) streamed.push_back({pos, c0, std::min(chunk, cb - c0), nt});
      }
    }
  }
  auto tiles_of = [&](const Band& bd) { return static_cast<uint32_t>(uint64_t(bd.rows) * rp); };

  auto load = [&](int k, int part, int parts) {
    BandLayout& bl = band[k % s.in_bufs];
    bl.g.pad_left = geo.pad_left - 2 * static_cast<int>(bands[size_t(k)].tx0);  // the window's first input column
    LoadBand(m, bl, src, bands[size_t(k)].n, bands[size_t(k)].ty0, part, parts);
  };
  auto pieces_of = [&](const Band& bd) {
    std::vector<Piece> out;
    if (!in_pieces) {
      out.push_back({0, bd.rows, 0, 0});
    } else if (s.piece_rows > 0) {
      for (int t0 = 0; t0 < bd.rows; t0 += s.piece_rows) out.push_back({t0, std::min(s.piece_rows, bd.rows - t0), 0, 0});
    } else {
      for (int t = 0; t < bd.rows; ++t) {
        for (uint32_t c0 = 0; c0 < w; c0 += s.piece_cols) out.push_back({t, 1, c0, std::min(s.piece_cols, w - c0)});
      }
    }
    return out;
  };
  // The input transform of one piece and block of 32 channels of band k, into V[position][tile][channel]
  // (int16), in three steps: the loads and the row pass, the column pass, the REQs. A pipelined loop issues
  // them between TMACs: a run of more vector instructions than a unit's queue holds would keep the TMACs
  // issued after it from entering theirs (docs/isa.md §8.3) until the vector unit has caught up.
  bool identity_loaded = false;  // the requantization register holds the identity (not the epilogue's)
  auto transform = [&](int k, int cblk, const Piece& pc, int step) {
    const BandLayout& bl = band[k % s.in_bufs];
    const uint32_t v0 = v_base[k % v_bufs] + static_cast<uint32_t>(cblk * kLanes * 2);
    const bool whole = pc.cols == 0;  // whole tile rows: each plane's rows lie back to back
    // Tile columns [c0, c0 + cols) of one tile row: the plane rows of its two pixel-row pairs, with a pitch
    // of cols + 1 (the last slot's transform reads past the piece and is junk, as a tile row's slack).
    const uint32_t lp = whole ? pitch : pc.cols + 1;
    const InputSets is(whole ? static_cast<uint32_t>(pc.rows) : 1, lp, x_base);
    if (step == 0) {
      auto acc_load = [&](uint32_t row, uint32_t rows, int plane_index, uint64_t pixel) {
        AccLoad ld;
        ld.row = row, ld.rows = rows, ld.type = xt, ld.row_stride = static_cast<int32_t>(pb);
        ld.addr = bl.base + static_cast<uint32_t>(plane_index) * bl.plane_bytes + static_cast<uint32_t>(pixel * pb) +
                  static_cast<uint32_t>(cblk * kLanes);
        m.Execute(ld);
      };
      for (int q = 0; q < 4; ++q) {
        if (whole) {
          acc_load(is.Plane(q / 2, q % 2), is.S, q, uint64_t(pc.t0) * pitch);
        } else {
          acc_load(is.Plane(q / 2, q % 2), lp, q, uint64_t(pc.t0) * pitch + pc.c0);
          acc_load(is.Plane(q / 2, q % 2) + lp, lp + 1, q, uint64_t(pc.t0 + 1) * pitch + pc.c0);
        }
      }
      return InputTransformRows(m, is);
    }
    if (step == 1) return InputTransformColumns(m, is);
    if (!identity_loaded) {
      m.Execute(SetQuant{IdentityQuant()});
      epilogue.QuantClobbered();
      identity_loaded = true;
    }
    auto req = [&](uint32_t acc_row, uint32_t rows, int pos, uint64_t tile) {
      Requant rq;
      rq.acc_row = acc_row, rq.rows = rows, rq.out = DType::kI16, rq.row_stride = static_cast<int32_t>(v_row);
      rq.addr = v0 + static_cast<uint32_t>(pos * v_pos + tile * v_row);
      m.Execute(rq);
    };
    for (int pos = 0; pos < kPositions; ++pos) {
      const uint32_t v = is.V(pos / 4, pos % 4);
      if (!whole) {
        // Without compaction V keeps the row's slack slot: the last piece's junk one.
        req(v, pc.cols + (!compact && pc.c0 + pc.cols == w ? 1 : 0), pos, uint64_t(pc.t0) * rp + pc.c0);
      } else if (!compact) {
        req(v, is.R, pos, uint64_t(pc.t0) * rp);
      } else {
        for (int t = 0; t < pc.rows; ++t) req(v + static_cast<uint32_t>(t) * pitch, w, pos, uint64_t(pc.t0 + t) * w);
      }
    }
  };
  constexpr int kSteps = 3;
  // Band k's transform steps [s0, s1), step i = (unit i / kSteps, step i % kSteps), unit u = (channel
  // block u / pieces, piece u % pieces).
  std::function<void()> after_step;  // between a step and the next (U's first images)
  auto transform_steps = [&](int k, int64_t s0, int64_t s1) {
    if (s0 >= s1) return;
    const std::vector<Piece> pcs = pieces_of(bands[size_t(k)]);
    const int64_t n = static_cast<int64_t>(pcs.size());
    for (int64_t i = s0; i < s1; ++i) {
      const int64_t unit = i / kSteps;
      transform(k, static_cast<int>(unit / n), pcs[size_t(unit % n)], static_cast<int>(i % kSteps));
      if (after_step) after_step();
    }
  };
  auto steps_of = [&](int k) { return int64_t{kSteps} * cb * static_cast<int64_t>(pieces_of(bands[size_t(k)]).size()); };

  std::deque<int> free_quads;
  auto zero = [&](uint32_t row, uint32_t rows) {
    AccZero z;
    z.row = row, z.rows = rows;
    m.Execute(z);
  };
  // Block blk takes the next free quad for positions (role, 0..3): zero, but M(1,1) = the seed.
  auto take = [&](Block& blk, int role) {
    if (blk.quad[role] >= 0) return;
    blk.quad[role] = free_quads.front();
    free_quads.pop_front();
    const uint32_t q = static_cast<uint32_t>(blk.quad[role]) * quad_rows;
    if (role != 1 || !seeded[size_t(blk.b)]) return zero(q, 4 * blk.T);
    zero(q, blk.T);
    uint32_t at = seed_addr + (seeds_resident ? static_cast<uint32_t>(4 * kLanes * blk.b) : 0);
    if (!seeds_resident) {
      DmaIn in;
      in.sram = seed_addr, in.segment = seg_seed, in.dram = uint64_t{4} * kLanes * blk.b, in.rows = 1;
      in.row_bytes = 4 * kLanes;
      m.Execute(in);
    }
    AccLoad ld;
    ld.row = q + blk.T, ld.rows = blk.T, ld.addr = at, ld.row_stride = 0, ld.type = DType::kI32;
    m.Execute(ld);
    zero(q + 2 * blk.T, 2 * blk.T);
  };
  auto quad_at = [&](const Block& blk, int i) { return static_cast<uint32_t>(blk.quad[i]) * quad_rows; };
  // The row pass: T1 = M1 - M3 - M2 into quad 3, T0 = M0 + M1 + M2 into quad 0, freeing M1, then M2. When
  // `next` takes M1's quad first (no quad is free), set by set, each zeroed as soon as it is read.
  auto row_pass = [&](Block& blk, Block* next) {
    const uint32_t T = blk.T, q0 = quad_at(blk, 0), q1 = quad_at(blk, 1), q2 = quad_at(blk, 2), q3 = quad_at(blk, 3);
    if (next != nullptr && next->quad[0] < 0 && free_quads.empty() && next->T == T) {
      next->quad[0] = blk.quad[1];
      for (uint32_t i = 0; i < 4; ++i) {
        Alu(m, AluOp::kSub, q3 + i * T, q1 + i * T, q3 + i * T, T);
        Alu(m, AluOp::kAdd, q0 + i * T, q0 + i * T, q1 + i * T, T);
        zero(q1 + i * T, T);
      }
    } else {
      Alu(m, AluOp::kSub, q3, q1, q3, 4 * T);
      Alu(m, AluOp::kAdd, q0, q0, q1, 4 * T);
      free_quads.push_back(blk.quad[1]);
    }
    Alu(m, AluOp::kAdd, q0, q0, q2, 4 * T);
    Alu(m, AluOp::kSub, q3, q3, q2, 4 * T);
    free_quads.push_back(blk.quad[2]);
  };
  // The column pass: Y(a, 0) = Ta0 + Ta1 + Ta2, Y(a, 1) = Ta1 - Ta2 - Ta3 into set 2a + b of quad 0 (row 1's
  // after row 0 has read sets 2 and 3), then SRA 2 and the bias row when it was not seeded.
  auto column_pass = [&](Block& blk) {
    const uint32_t T = blk.T, q0 = quad_at(blk, 0), q3 = quad_at(blk, 3);
    for (int a = 0; a < 2; ++a) {
      const uint32_t t = a == 0 ? q0 : q3, y = q0 + 2 * static_cast<uint32_t>(a) * T;
      Alu(m, AluOp::kAdd, y, t, t + T, T);
      Alu(m, AluOp::kAdd, y, y, t + 2 * T, T);
      Alu(m, AluOp::kSub, y + T, t + T, t + 2 * T, T);
      Alu(m, AluOp::kSub, y + T, y + T, t + 3 * T, T);
    }
    free_quads.push_back(blk.quad[3]);
    Alu(m, AluOp::kSra, q0, q0, q0, 4 * T, 2);
    if (ea.bias != nullptr) {
      epilogue.Seed(bias_row, 1, blk.b);
      AccAlu add;
      add.op = AluOp::kAdd, add.rows = 4 * T, add.dst = q0, add.a = q0, add.b = bias_row, add.b_stride = 0;
      m.Execute(add);
    }
  };
  std::vector<Block> to_store;  // converted into staging, not yet stored
  auto convert = [&](Block& blk) {
    identity_loaded = identity_loaded && !epilogue.requant();
    int n0, end;
    BlockChannels(p, blk.b, &n0, &end);
    const uint32_t st = staging[blk.staging];
    for (int a = 0; a < 2; ++a) {
      for (int bx = 0; bx < 2; ++bx) {
        epilogue.Convert(quad_at(blk, 0) + blk.T * static_cast<uint32_t>(2 * a + bx), blk.T, n0, end,
                         st + static_cast<uint32_t>(a) * plane + static_cast<uint32_t>(bx) * out_row,
                         static_cast<int32_t>(2 * out_row));
      }
    }
    free_quads.push_back(blk.quad[0]);
    to_store.push_back(blk);
  };
  // Output row 2ty + a of each tile row: the window's output columns, consecutive staging rows.
  auto store = [&](const Block& blk) {
    const Band& bd = bands[size_t(blk.band)];
    int n0, end;
    BlockChannels(p, blk.b, &n0, &end);
    const uint32_t cols = static_cast<uint32_t>(std::min(kLanes, end - n0) * out_elem);
    const int ox0 = 2 * static_cast<int>(bd.tx0), ox1 = std::min(geo.out_w, 2 * static_cast<int>(bd.tx0 + w));
    for (int t = 0; t < bd.rows; ++t) {
      for (int a = 0; a < 2; ++a) {
        const int oy = 2 * (bd.ty0 + t) + a;
        if (oy >= geo.out_h) continue;
        DmaOut o;
        o.sram = staging[blk.staging] + static_cast<uint32_t>(a) * plane + static_cast<uint32_t>(2 * t * rp * out_row);
        o.segment = call.seg_y;
        o.dram = ((uint64_t(bd.n) * geo.out_h + oy) * geo.out_w + uint64_t(ox0)) * y_pixel + uint64_t(n0) * out_elem;
        o.rows = static_cast<uint32_t>(ox1 - ox0), o.row_bytes = cols;
        o.dram_stride = y_pixel, o.sram_stride = out_row;
        m.Execute(o);
      }
    }
  };
  // Stores all but the newest `keep` converted blocks, in order.
  auto store_some = [&](size_t keep) {
    if (to_store.size() <= keep) return;
    const size_t count = to_store.size() - keep;
    for (size_t i = 0; i < count; ++i) store(to_store[i]);
    to_store.erase(to_store.begin(), to_store.begin() + static_cast<std::ptrdiff_t>(count));
  };

  for (int g = 0; g < d.groups; ++g) {
    DramBindings group_dram(m, call.fn);  // this group's weights, unbound before the next group's
    SramPlan w_plan(w_region, w_bytes, call.fn);
    UTiles u(m, group_dram, w_plan, &p.weights[size_t(g) * kPositions], resident, chunk, cache, kb - cached);
    if (more_slots > 0) u.Stream(more_base, more_slots, chunk_bytes, streamed);
    src.channel_offset = g * f.group_channels;
    free_quads.clear();
    for (int q = 0; q < s.quads; ++q) free_quads.push_back(q);
    // Resident U: the first band's images a window ahead of their TMACs (the DMA queue's depth), and while
    // the first band's input transform runs, one more per transform step. The first band is then bound by
    // U's DMAs, and the next two bands' loads come among them: where those are the next image's, they would
    // cost it their time at batch 2 and 3 but not after (the report's sweep takes an image's cost to be the
    // same at every batch), so with fewer than three bands per image U comes whole, before the first band.
    constexpr int kAhead = 12;
    int64_t fed = kAhead - 1;
    if (windows * uint64_t(bands_of(s.band_rows)) >= 3) {
      u.FetchThrough(fed);
    } else {
      u.FetchAll();
    }
    load(0, 0, 1);  // the second buffer's band after the first TMACs: an image costs the same at every batch
    after_step = [&] { u.FetchThrough(++fed); };
    if (s.pipelined) transform_steps(0, 0, steps_of(0));
    if (s.pipelined) after_step = nullptr;
    // The element-wise stage of positions [pos0, pos1): per position, the input-channel reduction; between
    // positions, pipelined, the next band's transform steps, spread evenly over the second half of each
    // block's positions (in the first the vector unit has the previous block's output transform to do).
    constexpr int kFirstSlot = kPositions / 2;
    auto macs = [&](const Block& blk, int j, int pos0, int pos1) {
      const uint32_t v0 = v_base[blk.band % v_bufs];
      const int k = blk.band;
      const int64_t steps = s.pipelined && k + 1 < nb ? steps_of(k + 1) : 0;
      const int64_t slots = int64_t{kb} * (kPositions - kFirstSlot);
      const int nt = blk.b - g * kb;
      for (int pos = pos0; pos < pos1; ++pos) {
        u.FetchThrough(int64_t{nt} * kPositions + pos + kAhead);
        if (pos >= kFirstSlot) {
          const int64_t slot = int64_t{j} * (kPositions - kFirstSlot) + pos - kFirstSlot;
          transform_steps(k + 1, steps * slot / slots, steps * (slot + 1) / slots);
        }
        for (int c0 = 0; c0 < cb; c0 += chunk) {
          const int tiles = std::min(chunk, cb - c0);
          u.Load(pos, c0, tiles, nt);
          IssueTmac(m, MacMode::kS16S16, blk.Set(pos, quad_rows), blk.T,
                    v0 + static_cast<uint32_t>(pos * v_pos + uint64_t(c0) * kLanes * 2), static_cast<int32_t>(v_row), tiles);
        }
      }
    };
    Block prev, next;
    bool has_prev = false;
    int block_index = 0;
    for (int k = 0; k < nb; ++k) {
      const int parts = std::min({kb, band[0].plane_rows, 8});
      for (int j = 0; j < kb; ++j, ++block_index) {
        Block cur = next;
        cur.band = k, cur.b = g * kb + (bands[size_t(k)].reversed ? kb - 1 - j : j), cur.T = tiles_of(bands[size_t(k)]);
        cur.staging = block_index % s.staging_bufs;
        next = Block();
        if (j == 0 && k > 0 && bands[size_t(k)].n != bands[size_t(k - 1)].n) u.Forget();
        bool prev_open = has_prev;  // prev's output transform not yet issued past its row pass
        if (j == 0 && (!s.pipelined || k == 0)) {
          // The transform of this band needs the ring's rows (serial) or is done (pipelined, first band).
          if (has_prev) {
            row_pass(prev, nullptr);
            column_pass(prev);
            convert(prev);
            prev_open = false;
          }
          if (!s.pipelined) transform_steps(k, 0, steps_of(k));
          after_step = nullptr;
          for (int role = 0; role < 4; ++role) take(cur, role);
        } else {
          if (has_prev) row_pass(prev, &cur);
          for (int role = 0; role < 4 && (role == 0 || !free_quads.empty()); ++role) take(cur, role);
        }
        // Band k + in_bufs comes into the buffer band k's transform has read; with one buffer all at once,
        // ahead of the transform that reads it.
        const int next_load = k + s.in_bufs;
        if (s.in_bufs == 1 && j == 0 && next_load < nb) load(next_load, 0, 1);
        const bool second = s.in_bufs == 2 && k == 0 && j == 0 && nb > 1;
        macs(cur, j, 0, 4);
        if (prev_open) {
          column_pass(prev);
          convert(prev);
        }
        for (int role = 1; role < 4; ++role) take(cur, role);
        if (second) load(1, 0, 1);
        // A spare quad: the next block's first, zeroed now, before the work queued up for the vector unit
        // (the transform, the row pass that waits for this block's TMACs). Not before a serial band's
        // transform, which uses the ring's rows.
        const bool next_serial = j + 1 == kb && (!s.pipelined || k + 1 == nb);
        if (!free_quads.empty() && !next_serial) {
          next.b = g * kb + (j + 1) % kb, next.T = tiles_of(bands[size_t(j + 1 == kb ? k + 1 : k)]);
          take(next, 0);
        }
        store_some(size_t(s.staging_bufs - 1));
        for (int part = 0; part < parts && s.in_bufs == 2 && next_load < nb; ++part) {
          if (part * kb / parts == j) load(next_load, part, parts);
        }
        macs(cur, j, 4, 16);
        prev = cur;
        has_prev = true;
      }
    }
    if (has_prev) {
      row_pass(prev, nullptr);
      column_pass(prev);
      convert(prev);
    }
    store_some(0);
  }
}

}  // namespace

WinogradPlan PlanWinograd(const AccelConfig& c, const ConvGeometry& geo, int cb, int kb, uint64_t resident_bytes,
                          uint64_t streamed_bytes, bool bias_row, uint32_t out_row, SramPlan plan) {
  WinogradPlan wp;
  // The tile grid as a convolution with a 4x4 kernel and stride 2 over the same padded input.
  ConvGeometry tg = geo;
  tg.out_h = (geo.out_h + 1) / 2, tg.out_w = (geo.out_w + 1) / 2;
  const uint32_t all_tiles_w = static_cast<uint32_t>(tg.out_w);
  // The slack tile of every tile row (the plane's extra column, see InputSets) can be left out of V and M
  // (one REQ per tile row and position instead of one per position): worth it when the MACs it saves,
  // 16 positions x cb x kb row-tiles per tile row, outweigh the 16 x cb extra REQs. An instruction's issue
  // costs about as much as 8 TMAC row-tiles on the SIMD machine (measured), so: kb >= 8.
  const bool compact = kb >= 8;
  // SRAM: the weights of one group (resident if they fit beside a band of one tile row), then the input
  // band, the V matrices and the output staging, one or two of each.
  const uint64_t v_row = uint64_t(cb) * kLanes * 2;  // one tile's V of every channel block, int16
  const uint64_t bias_rows = bias_row ? 1 : 0;  // ACC: the bias row after everything else
  auto row_pitch_of = [&](uint32_t w) { return uint64_t(compact ? w : w + 1); };  // V and M rows per tile row
  auto sram_need = [&](int rows, uint32_t w, int in_bufs, int v_bufs, int staging_bufs) {  // 64-bit: no wrap
    const uint64_t pitch = uint64_t(w) + 1, tiles = uint64_t(rows) * row_pitch_of(w);
    const uint64_t band = Align64(4 * ((uint64_t(rows) + 1) * pitch + 1) * uint64_t(cb) * kLanes);
    return in_bufs * band + v_bufs * Align64(kPositions * tiles * v_row) + staging_bufs * Align64(4 * tiles * out_row);
  };
  const bool resident = resident_bytes + sram_need(1, std::min<uint32_t>(all_tiles_w, 16), 1, 1, 1) <= plan.left();
  const uint64_t w_bytes = resident ? resident_bytes : streamed_bytes;
  wp.compact = compact, wp.resident = resident, wp.w_bytes = w_bytes;
  if (w_bytes > plan.left()) return wp;  // the caller's Take names what does not fit
  plan.Take("the transformed weights", w_bytes);
  const uint64_t left = plan.left();

  // ACC rows: serial, the ring and the transform of the whole band share them; pipelined, the transform's
  // piece lies after the ring.
  auto ring_rows = [&](int rows, uint32_t w, int quads) { return 4 * uint64_t(quads) * uint64_t(rows) * row_pitch_of(w); };
  auto serial_acc = [&](int rows, uint32_t w, int quads) {
    return std::max(ring_rows(rows, w, quads), WinogradTransformRows(uint64_t(rows), uint64_t(w) + 1)) + bias_rows;
  };
  auto fits_serial = [&](int rows, uint32_t w) {
    return serial_acc(rows, w, 4) <= c.acc_rows && sram_need(rows, w, 1, 1, 1) <= left;
  };
  WinogradSchedule s;
  // A tile row wider than ACC and SRAM hold is cut into windows of tile columns, each a band of its own (the
  // geometry's left padding moved by the window's offset).
  s.tiles_w = all_tiles_w;
  while (s.tiles_w > 1 && !fits_serial(1, s.tiles_w)) s.tiles_w = (s.tiles_w + 1) / 2;
  for (int b = tg.out_h; b >= 1; b = b > 8 ? b * 7 / 8 : b - 1) {
    if (fits_serial(b, s.tiles_w)) {
      s.band_rows = b;
      break;
    }
  }
  wp.acc_one = serial_acc(1, 1, 4), wp.sram_one = sram_need(1, 1, 1, 1, 1);
  if (s.band_rows == 0) {
    wp.s = s;
    return wp;
  }
  // Streamed U: every band reads all of it from DRAM (16 MiB for 512 -> 1024 channels, against 8 MiB of
  // SRAM), so the fewest bands win: as many tiles as the ring of four quads holds, in column windows that
  // fill it, the band's input transform in pieces where it does not fit the ACC whole (serial: the pieces
  // take the ring's rows in turn, before the band's TMACs). Not pipelined: the DMAs bound such a call.
  bool fewest_bands = false;
  if (!resident) {
    auto bands_with = [&](uint32_t ww, int rows) {
      return uint64_t((all_tiles_w + ww - 1) / ww) * uint64_t((tg.out_h + rows - 1) / rows);
    };
    uint64_t best = bands_with(s.tiles_w, s.band_rows);
    for (uint32_t n = 1; n < best && n <= all_tiles_w; ++n) {
      const uint32_t ww = (all_tiles_w + n - 1) / n;
      if (n > 1 && ww == (all_tiles_w + n - 2) / (n - 1)) continue;  // the same width as n - 1 windows
      if (WinogradTransformRows(1, 2) + bias_rows > c.acc_rows) break;
      int rows = static_cast<int>(std::min<uint64_t>(uint64_t(tg.out_h), (c.acc_rows - bias_rows) / (16 * row_pitch_of(ww))));
      while (rows >= 1 && sram_need(rows, ww, 1, 1, 1) > left) --rows;
      if (rows < 1) continue;
      rows = (tg.out_h + (tg.out_h + rows - 1) / rows - 1) / ((tg.out_h + rows - 1) / rows);  // even bands
      if (bands_with(ww, rows) < best) {
        best = bands_with(ww, rows);
        s.tiles_w = ww, s.band_rows = rows;
        fewest_bands = true;
      }
    }
    if (fewest_bands) {
      const uint64_t pw = uint64_t(s.tiles_w) + 1, room = c.acc_rows - bias_rows;
      const int r = s.band_rows;
      if (WinogradTransformRows(uint64_t(r), pw) > room) {
        int rx = r;
        while (rx >= 1 && WinogradTransformRows(uint64_t(rx), pw) > room) --rx;
        if (rx >= 1) {
          const int n = (r + rx - 1) / rx;
          s.piece_rows = (r + n - 1) / n;
        } else {
          uint32_t k = s.tiles_w;
          while (k > 1 && WinogradTransformRows(1, uint64_t(k) + 1) > room) --k;
          const uint32_t n = (s.tiles_w + k - 1) / k;
          s.piece_cols = (s.tiles_w + n - 1) / n;
        }
      }
    }
  }
  const uint32_t w = s.tiles_w, pitch = w + 1;
  const uint64_t rp = row_pitch_of(w);
  auto bands_of = [&](int rows) { return (tg.out_h + rows - 1) / rows; };
  const uint64_t windows = (all_tiles_w + w - 1) / w;
  auto piece_acc = [&](const WinogradSchedule& t) {
    return t.piece_rows > 0 ? WinogradTransformRows(uint64_t(t.piece_rows), pitch)
                            : WinogradTransformRows(1, uint64_t(t.piece_cols) + 1);
  };
  // Per image, so that a batch costs the same per image at every batch size (the report's sweep relies on it).
  if (!fewest_bands && windows * uint64_t(bands_of(s.band_rows)) > 1) {
    // Pipelined with serial's band, when ACC holds the pieces beside the ring and they are few. On the SIMD
    // machine the pieces' instructions cost about 8 TMAC row-tiles each, and the transform interleaved with
    // the TMACs costs them cache (conv11 of YOLOv3 1920x1088 about 5 %); a smaller band on top of that was
    // slower still (YOLOv3 416's 52x52 layer, 5 %), so the loop does not shrink the band to pipeline.
    const int r = s.band_rows;
    const uint64_t ring = ring_rows(r, w, 4) + bias_rows;
    if (ring + WinogradTransformRows(1, 2) <= c.acc_rows && sram_need(r, w, 1, 2, 1) <= left) {
      WinogradSchedule t = s;
      t.pipelined = true;
      int rx = r;
      while (rx >= 1 && ring + WinogradTransformRows(uint64_t(rx), pitch) > c.acc_rows) --rx;
      uint64_t instrs = 0;  // the pieces' ACC_LD, AALU and REQ per band and channel block
      if (rx >= 1) {
        const int n = (r + rx - 1) / rx;
        t.piece_rows = (r + n - 1) / n;
        instrs = uint64_t(n) * 28 + (compact ? 16 * uint64_t(r) : 16 * uint64_t(n));
      } else {
        uint32_t k = w;
        while (k > 1 && ring + WinogradTransformRows(1, uint64_t(k) + 1) > c.acc_rows) --k;
        const uint32_t n = (w + k - 1) / k;
        t.piece_cols = (w + n - 1) / n;
        instrs = uint64_t(r) * n * (8 + 24 + 16);
      }
      // Against one transform of the whole band (4 ACC_LD, 24 AALU, the REQs): at most 1/32 of the band's
      // MAC row-tiles (kb * 16 * T * cb) more.
      const uint64_t serial = 28 + (compact ? 16 * uint64_t(r) : 16);
      const uint64_t extra = instrs > serial ? instrs - serial : 0;
      if (extra * 16 <= uint64_t(kb) * uint64_t(r) * rp) s = t;
    }
  }
  const bool in_pieces = s.piece_rows > 0 || s.piece_cols > 0;
  const uint64_t x_rows = in_pieces ? piece_acc(s) : WinogradTransformRows(uint64_t(s.band_rows), pitch);
  auto acc_need = [&](int quads) {
    const uint64_t ring = ring_rows(s.band_rows, w, quads);
    return (s.pipelined ? ring + x_rows : std::max(ring, x_rows)) + bias_rows;
  };
  if (acc_need(5) <= c.acc_rows) s.quads = 5;
  const int v_bufs = s.pipelined ? 2 : 1;
  if (sram_need(s.band_rows, w, 2, v_bufs, 1) <= left) s.in_bufs = 2;
  // Output staging: up to four, so that a REQ seldom waits for the DMA_OUT of the block before (behind
  // the next band's DMAs), holding up the requantization unit.
  while (s.staging_bufs < 4 && sram_need(s.band_rows, w, s.in_bufs, v_bufs, s.staging_bufs + 1) <= left) ++s.staging_bufs;
  wp.s = s, wp.x_rows = x_rows;
  return wp;
}

const ConvImpl kWinogradImpl = {ConvAlgorithm::kWinograd, Accepts, Pack, Run};

}  // namespace tile32

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
//     channel tiles into 16 ACC sets (M(1,1) seeded with the zero-point term, and the bias when provably
//     exact there).
//   output transform: A^T M A as 12 AALU on whole sets into 4 contiguous output sets, SRA 2 (and the ADD of
//     the bias row when it was not seeded); then the epilogue per output position into staging planes per
//     output-row parity (each output row contiguous) and one DMA_OUT per valid output row.
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "accel/error.h"
#include "kernels/conv_impl.h"
#include "kernels/input_band.h"
#include "kernels/middle_end.h"

namespace tile32 {
namespace {

constexpr int kPositions = 16;
constexpr int64_t kExactLimit = int64_t{1} << 29;  // |Y| must stay below: 4Y fits int32

// The largest |x - zp| over the codes of an INT8 activation type.
int64_t MaxAbsDiff(DType x_type, int32_t zp) {
  const ValueRange r = RangeOf(x_type);
  return std::max<int64_t>(int64_t{zp} - r.lo, int64_t{r.hi} - zp);
}

// The 3x3 kernel g' = w - w_zp of output channel k, input channel c (inside the group).
void KernelOf(const ConvDesc& d, int k, int c, int32_t g[3][3]) {
  const int32_t z = ShiftedZeroPoint(d, k);
  for (int ky = 0; ky < 3; ++ky)
    for (int kx = 0; kx < 3; ++kx) g[ky][kx] = PackedWeightAt(d, k, ky, kx, c) - z;
}

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
  for (int k = 0; k < d.out_channels; ++k) {
    for (int c = 0; c < f.group_channels; ++c) {
      int32_t g[3][3];
      KernelOf(d, k, c, g);
      for (auto& row : g)
        for (int32_t v : row) s[k] += std::abs(v);
    }
  }
  return s;
}

bool Accepts(const ConvDesc& d, const ConvFacts& f, std::string* why) {
  auto no = [&](const std::string& s) {
    *why = "winograd: " + s;
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
  std::vector<std::vector<int16_t>> u(kPositions, std::vector<int16_t>(size_t(cg) * kg));
  for (int g = 0; g < d.groups; ++g) {
    for (int n = 0; n < kg; ++n) {
      const int k = g * kg + n;
      uint32_t u11 = 0;
      int64_t abs_sum = 0;
      for (int c = 0; c < cg; ++c) {
        int32_t w[3][3], t[4][4];
        KernelOf(d, k, c, w);
        for (auto& row : w)
          for (int32_t v : row) abs_sum += std::abs(v);
        TransformKernel(w, t);
        for (int pos = 0; pos < kPositions; ++pos) u[pos][size_t(c) * kg + n] = static_cast<int16_t>(t[pos / 4][pos % 4]);
        u11 += static_cast<uint32_t>(t[1][1]);
      }
      p->u11_sums[k] = static_cast<int32_t>(u11);
      p->w_abs_sum[k] = abs_sum;
    }
    for (int pos = 0; pos < kPositions; ++pos) p->weights.push_back(PackWeightsI16(u[pos].data(), cg, kg, kg));
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

// The 16 U matrices of one group in T0, T1, ...: from SRAM-resident images, or streamed per chunk into two
// slots used in turn (a DMA never overwrites the images the tile registers were just loaded from).
class UTiles {
 public:
  UTiles(Machine& m, DramBindings& dram, SramPlan& plan, const PackedWeights* w, bool resident, int chunk)
      : m_(m), w_(w), resident_(resident) {
    for (int pos = 0; pos < kPositions; ++pos) {
      seg_[pos] = dram.BindReadOnly(w[pos].bytes.data(), w[pos].bytes.size());
      if (!resident) continue;
      addr_[pos] = plan.Take("the transformed weights", w[pos].bytes.size());
      DmaIn in;
      in.sram = addr_[pos], in.segment = seg_[pos], in.rows = 1, in.row_bytes = static_cast<uint32_t>(w[pos].bytes.size());
      m.Execute(in);
    }
    if (!resident) {
      for (uint32_t& slot : slot_) slot = plan.Take("a chunk of transformed weight tiles", w[0].tile_bytes() * uint64_t(chunk));
    }
  }
  static uint64_t SramBytes(const PackedWeights* w, bool resident, int chunk) {
    if (!resident) return 2 * Align64(w[0].tile_bytes() * uint64_t(chunk));
    uint64_t sum = 0;
    for (int pos = 0; pos < kPositions; ++pos) sum += Align64(w[pos].bytes.size());
    return sum;
  }
  // T0 .. T(tiles-1) <- tiles kt0 .. kt0+tiles-1 of column block nt of position pos.
  void Load(int pos, int kt0, int tiles, int nt) {
    const PackedWeights& w = w_[pos];
    const uint32_t tile_bytes = static_cast<uint32_t>(w.tile_bytes());
    uint32_t from = addr_[pos] + static_cast<uint32_t>(w.TileOffset(kt0, nt));
    if (!resident_) {
      from = slot_[next_];
      next_ ^= 1;
      DmaIn in;
      in.sram = from, in.segment = seg_[pos], in.dram = w.TileOffset(kt0, nt), in.rows = 1;
      in.row_bytes = tile_bytes * static_cast<uint32_t>(tiles);
      m_.Execute(in);
    }
    for (int t = 0; t < tiles; ++t) {
      TileLoad tl;
      tl.td = static_cast<uint8_t>(t), tl.type = DType::kI16, tl.addr = from + tile_bytes * static_cast<uint32_t>(t);
      m_.Execute(tl);
    }
  }

 private:
  Machine& m_;
  const PackedWeights* w_;
  bool resident_;
  uint32_t seg_[kPositions] = {}, addr_[kPositions] = {}, slot_[2] = {};
  int next_ = 0;
};

// Issues AALU ops on ACC sets of R rows.
struct SetAlu {
  Machine& m;
  uint32_t R;
  // dst = a op b over `sets` consecutive sets.
  void Op(AluOp op, int dst, int a, int b, int sets = 1, int32_t imm = 0) const {
    AccAlu i;
    i.op = op, i.rows = R * static_cast<uint32_t>(sets), i.dst = R * dst, i.a = R * a, i.b = R * b, i.imm = imm;
    m.Execute(i);
  }
};

// A^T M A in place: Y(a, b) ends in set 2a + b. Rows first (T0 = M0 + M1 + M2, T1 = M1 - M2 - M3 over 4
// sets at once), then columns (Y0 = T0 + T1 + T2, Y1 = T1 - T2 - T3), output row 0 before row 1 (whose
// results overwrite sets 2 and 3 after row 0 has read them).
void OutputTransform(const SetAlu& s) {
  s.Op(AluOp::kAdd, 0, 0, 4, 4);
  s.Op(AluOp::kAdd, 0, 0, 8, 4);
  s.Op(AluOp::kSub, 4, 4, 8, 4);
  s.Op(AluOp::kSub, 4, 4, 12, 4);
  for (int a = 0; a < 2; ++a) {
    const int t = 4 * a, y = 2 * a;
    s.Op(AluOp::kAdd, y, t, t + 1);  // Y(a, 0) = T0 + T1 (row 1: T(1, .) in sets 4..7 into set 2)
    s.Op(AluOp::kAdd, y, y, t + 2);
    s.Op(AluOp::kSub, y + 1, t + 1, t + 2);  // Y(a, 1) = T1 - T2 - T3
    s.Op(AluOp::kSub, y + 1, y + 1, t + 3);
  }
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

// Where the input transform keeps its sets (ACC rows) for a band of R = rows * pitch tile slots: the four
// planes (S = R + pitch + 1 rows each: the taps reach pitch + 1 pixels past the last tile), then 12 sets
// of R + 1 rows. E(i, px) is row i of B^T d for column phase px, V(i, j) position (i, j) of B^T d B.
struct InputSets {
  uint32_t R, S, Q, pitch;
  InputSets(uint32_t rows, uint32_t pitch_) : R(rows * pitch_), S(R + pitch_ + 1), Q(R + 1), pitch(pitch_) {}
  static uint64_t AccRows(uint64_t rows, uint64_t pitch) { return 16 * rows * pitch + 4 * pitch + 16; }
  uint32_t Plane(int py, int px) const { return S * static_cast<uint32_t>(2 * py + px); }
  uint32_t Extra(int k) const { return 4 * S + Q * static_cast<uint32_t>(k); }
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
// d(j) one tile on; the in-place ops read the shifted operand before any row writes it.
void InputTransform(Machine& m, const InputSets& s) {
  const uint32_t p = s.pitch;
  for (int px = 0; px < 2; ++px) {  // rows [0, R + 1): the column pass reads one row past R
    const uint32_t d0 = s.Plane(0, px), d1 = s.Plane(1, px);
    Alu(m, AluOp::kAdd, s.E(1, px), d1, d0 + p, s.Q);  // d1 + d2
    Alu(m, AluOp::kSub, s.E(2, px), d0 + p, d1, s.Q);  // d2 - d1
    Alu(m, AluOp::kSub, d0, d0, d0 + p, s.Q);          // d0 - d2
    Alu(m, AluOp::kSub, d1, d1, d1 + p, s.Q);          // d1 - d3
  }
  for (int i = 0; i < 4; ++i) {  // rows [0, R)
    const uint32_t e0 = s.E(i, 0), e1 = s.E(i, 1);
    Alu(m, AluOp::kAdd, s.V(i, 1), e1, e0 + 1, s.R);  // e1 + e2
    Alu(m, AluOp::kSub, s.V(i, 2), e0 + 1, e1, s.R);  // e2 - e1
    Alu(m, AluOp::kSub, e0, e0, e0 + 1, s.R);         // e0 - e2
    Alu(m, AluOp::kSub, e1, e1, e1 + 1, s.R);         // e1 - e3
  }
}

void Run(Machine& m, const ConvCall& call) {
  const PackedConv& p = *call.packed;
  const ConvDesc& d = p.desc;
  const ConvFacts f = FactsOf(d);
  const ConvArgs& x = *call.args;
  CheckBound(call.fn, p, x.x_zero_point);  // before any instruction
  const AccelConfig& c = m.config();
  const ConvGeometry& geo = call.geometry;
  const int cb = Ceil32(f.group_channels);  // channel tiles
  const int chunk = static_cast<int>(std::min<int64_t>({c.tile_regs, cb, 255}));
  const DType xt = d.x_type;

  // The tile grid as a convolution with a 4x4 kernel and stride 2 over the same padded input.
  ConvGeometry tg = geo;
  tg.out_h = (geo.out_h + 1) / 2, tg.out_w = (geo.out_w + 1) / 2;
  tg.kernel_h = tg.kernel_w = 4, tg.stride_h = tg.stride_w = 2, tg.dilation_h = tg.dilation_w = 1;
  const uint32_t all_tiles_w = static_cast<uint32_t>(tg.out_w);
  // The slack tile of every tile row (the plane's extra column, see InputSets) can be left out of V and M
  // (one REQ per tile row and position instead of one per position): worth it when the MACs it saves,
  // 16 positions x cb x kb row-tiles per tile row, outweigh the 16 x cb extra REQs. An instruction's issue
  // costs about as much as 8 TMAC row-tiles on the SIMD machine (measured), so: kb >= 8.
  const bool compact = f.blocks_per_group >= 8;

  // The seed of M(1,1) per output channel: -4 x_zp sum_c U11 (mod 2^32); plus 4 * bias when every channel
  // provably stays exact with it (|bias| + max|x - x_zp| S_k < 2^29: then 4 (Y + bias) fits int32 and SRA 2
  // gives Y + bias, no wrap). Else the bias row is added after the shift, wrapping like direct convolution.
  const int64_t span = MaxAbsDiff(xt, x.x_zero_point);
  bool fold_bias = true;
  for (int k = 0; k < d.out_channels; ++k) {
    const int g = k / f.group_outputs, j = k % f.group_outputs;
    const int32_t bias = static_cast<int32_t>(p.bias_row[(size_t(g) * f.blocks_per_group + j / kLanes) * kLanes + j % kLanes]);
    fold_bias &= std::abs(int64_t{bias}) + span * p.w_abs_sum[k] < kExactLimit;
  }
  std::vector<uint32_t> seed(p.bias_row.size(), 0);
  std::vector<char> seeded(size_t(f.blocks_per_group) * d.groups, 0);
  for (int k = 0; k < d.out_channels; ++k) {
    const int g = k / f.group_outputs, j = k % f.group_outputs;
    const size_t b = size_t(g) * f.blocks_per_group + j / kLanes, at = b * kLanes + j % kLanes;
    seed[at] = 0u - 4u * static_cast<uint32_t>(x.x_zero_point) * static_cast<uint32_t>(p.u11_sums[k]);
    if (fold_bias) seed[at] += 4u * p.bias_row[at];
    seeded[b] |= seed[at] != 0;
  }
  bool any_seed = false;
  for (char v : seeded) any_seed |= v != 0;

  EpilogueArgs ea;
  ea.out = x.y_type, ea.quant = x.quant, ea.blocks = f.blocks_per_group * d.groups;
  ea.bias = fold_bias ? nullptr : SeedBias(p.bias_row);
  SramPlan plan(c, call.fn);
  Epilogue epilogue(m, *call.dram, plan, ea);
  uint32_t seg_seed = 0, seed_addr = 0;
  if (any_seed) {
    seg_seed = call.dram->BindReadOnly(seed.data(), seed.size() * 4);
    seed_addr = plan.Take("the seed row", 4 * kLanes);
  }

  // SRAM: the weights of one group (resident if they fit beside a band of one tile row), then the band,
  // the V matrices and the output staging, as many tile rows as ACC and SRAM hold. A tile row wider than
  // that is cut into windows of tile columns, each a band of its own (the geometry's left padding moved
  // by the window's offset).
  const uint32_t out_row = static_cast<uint32_t>(Align64(epilogue.row_bytes()));
  const uint64_t v_row = uint64_t(cb) * kLanes * 2;  // one tile's V of every channel block, int16
  auto row_pitch_of = [&](uint32_t win) { return compact ? win : win + 1; };  // V and M rows per tile row
  auto need = [&](int band_rows, uint32_t win) {  // SRAM bytes of a band (64-bit: no wrap)
    const uint64_t pitch = uint64_t(win) + 1;     // MakeBandLayout's: one column of slack
    const uint64_t tiles = uint64_t(band_rows) * row_pitch_of(win);
    const uint64_t plane = Align64((uint64_t(band_rows + 1) * pitch + 1) * uint64_t(cb) * kLanes);
    return 4 * plane + Align64(kPositions * tiles * v_row) + Align64(4 * tiles * out_row) + 3 * 64;
  };
  auto fits = [&](int band_rows, uint32_t win, uint64_t left) {
    return InputSets::AccRows(uint64_t(band_rows), uint64_t(win) + 1) <= c.acc_rows && need(band_rows, win) <= left;
  };
  const uint64_t resident_bytes = UTiles::SramBytes(&p.weights[0], true, chunk);
  const bool resident = resident_bytes + need(1, std::min<uint32_t>(all_tiles_w, 16)) <= plan.left();
  const uint64_t w_bytes = UTiles::SramBytes(&p.weights[0], resident, chunk);
  const uint32_t w_region = plan.Take("the transformed weights", w_bytes);
  uint32_t tiles_w = all_tiles_w;  // the window: tile columns per band
  while (tiles_w > 1 && !fits(1, tiles_w, plan.left())) tiles_w = (tiles_w + 1) / 2;
  int band_rows = 0;
  for (int b = tg.out_h; b >= 1; b = b > 8 ? b * 7 / 8 : b - 1) {
    if (fits(b, tiles_w, plan.left())) {
      band_rows = b;
      break;
    }
  }
  if (band_rows == 0) {
    Fail(call.fn, ": accelerator configuration too small for winograd on one 2x2 output tile: it needs ",
         InputSets::AccRows(1, 2), " ACC rows (acc_rows = ", c.acc_rows, ") and ", need(1, 1),
         " bytes of SRAM (", plan.left(), " left of sram_bytes = ", c.sram_bytes, ")");
  }
  const uint32_t row_pitch = row_pitch_of(tiles_w);
  const uint64_t pitch = uint64_t(tiles_w) + 1;
  tg.out_w = static_cast<int>(tiles_w);
  BandLayout band = MakeBandLayout(tg, band_rows, f.group_channels, 1, 0);
  band.base = plan.Take("the input band", band.bytes());
  const uint64_t v_pos = uint64_t(band_rows) * row_pitch * v_row;  // bytes of one position's V
  const uint32_t v_base = plan.Take("the V matrices", kPositions * v_pos);
  const uint32_t plane = 2u * static_cast<uint32_t>(band_rows) * row_pitch * out_row;  // staging per output-row parity
  const uint32_t staging = plan.Take("the output staging", 2 * uint64_t{plane});

  std::vector<uint8_t> fill;
  BandSource src = InputBandSource(call, band, 1, kZeroChannelPad, &fill);
  const int out_elem = SizeOf(x.y_type);
  const uint64_t y_pixel = uint64_t(call.y_pixel_stride) * out_elem;

  for (int g = 0; g < d.groups; ++g) {
    DramBindings group_dram(m, call.fn);  // this group's weights, unbound before the next group's
    SramPlan w_plan(w_region, w_bytes, call.fn);
    UTiles u(m, group_dram, w_plan, &p.weights[size_t(g) * kPositions], resident, chunk);
    src.channel_offset = g * f.group_channels;
    for (int n = 0; n < x.batch; ++n) {
     for (uint32_t tx0 = 0; tx0 < all_tiles_w; tx0 += tiles_w) {
      band.g.pad_left = geo.pad_left - 2 * static_cast<int>(tx0);  // the window's first input column
      const int ox0 = 2 * static_cast<int>(tx0), ox1 = std::min(geo.out_w, 2 * static_cast<int>(tx0 + tiles_w));
      for (int ty0 = 0; ty0 < tg.out_h; ty0 += band_rows) {
        const int rows_here = std::min(band_rows, tg.out_h - ty0);
        const InputSets is(static_cast<uint32_t>(rows_here), static_cast<uint32_t>(pitch));
        const uint32_t T = static_cast<uint32_t>(rows_here) * row_pitch;  // tiles (rows of M and V)
        LoadBand(m, band, src, n, ty0);

        // Input transform, per block of 32 channels, into V[position][tile][channel] (int16).
        m.Execute(SetQuant{IdentityQuant()});
        epilogue.QuantClobbered();
        for (int cblk = 0; cblk < cb; ++cblk) {
          for (int py = 0; py < 2; ++py) {
            for (int px = 0; px < 2; ++px) {
              AccLoad ld;
              ld.row = is.Plane(py, px), ld.rows = is.S, ld.type = xt;
              ld.addr = band.base + static_cast<uint32_t>(py * 2 + px) * band.plane_bytes + static_cast<uint32_t>(cblk * kLanes);
              ld.row_stride = static_cast<int32_t>(band.pixel_bytes);
              m.Execute(ld);
            }
          }
          InputTransform(m, is);
          for (int pos = 0; pos < kPositions; ++pos) {
            for (int t = 0; t < (compact ? rows_here : 1); ++t) {  // compact: each tile row without its slack tile
              Requant rq;
              rq.acc_row = is.V(pos / 4, pos % 4) + static_cast<uint32_t>(t) * is.pitch, rq.rows = compact ? tiles_w : T;
              rq.out = DType::kI16, rq.row_stride = static_cast<int32_t>(v_row);
              rq.addr = v_base + static_cast<uint32_t>(pos * v_pos + uint64_t(t) * tiles_w * v_row + uint64_t(cblk) * kLanes * 2);
              m.Execute(rq);
            }
          }
        }

        for (int j = 0; j < f.blocks_per_group; ++j) {
          const int b = g * f.blocks_per_group + j;
          // M = 0 but M(1,1) = the seed.
          if (seeded[size_t(b)]) {
            AccZero z;
            z.row = 0, z.rows = 5 * T;
            m.Execute(z);
            z.row = 6 * T, z.rows = 10 * T;
            m.Execute(z);
            DmaIn in;
            in.sram = seed_addr, in.segment = seg_seed, in.dram = uint64_t{4} * kLanes * b, in.rows = 1;
            in.row_bytes = 4 * kLanes;
            m.Execute(in);
            AccLoad ld;
            ld.row = 5 * T, ld.rows = T, ld.addr = seed_addr, ld.row_stride = 0, ld.type = DType::kI32;
            m.Execute(ld);
          } else {
            AccZero z;
            z.row = 0, z.rows = kPositions * T;
            m.Execute(z);
          }
          // The element-wise stage: per position, the input-channel reduction.
          for (int pos = 0; pos < kPositions; ++pos) {
            for (int c0 = 0; c0 < cb; c0 += chunk) {
              const int tiles = std::min(chunk, cb - c0);
              u.Load(pos, c0, tiles, j);
              IssueTmac(m, MacMode::kS16S16, T * static_cast<uint32_t>(pos), T,
                        v_base + static_cast<uint32_t>(pos * v_pos + uint64_t(c0) * kLanes * 2),
                        static_cast<int32_t>(v_row), tiles);
            }
          }
          OutputTransform(SetAlu{m, T});
          Alu(m, AluOp::kSra, 0, 0, 0, 4 * T, 2);
          if (ea.bias != nullptr) {
            const uint32_t bias_row = kPositions * T;
            epilogue.Seed(bias_row, 1, b);
            AccAlu add;
            add.op = AluOp::kAdd, add.rows = 4 * T, add.dst = 0, add.a = 0, add.b = bias_row, add.b_stride = 0;
            m.Execute(add);
          }
          int n0, end;
          BlockChannels(p, b, &n0, &end);
          for (int a = 0; a < 2; ++a) {
            for (int bx = 0; bx < 2; ++bx) {
              epilogue.Convert(T * static_cast<uint32_t>(2 * a + bx), T, n0, end,
                               staging + static_cast<uint32_t>(a) * plane + static_cast<uint32_t>(bx) * out_row,
                               static_cast<int32_t>(2 * out_row));
            }
          }
          // Output row 2ty + a: out_w consecutive staging rows.
          const uint32_t cols = static_cast<uint32_t>(std::min(kLanes, end - n0) * out_elem);
          for (int t = 0; t < rows_here; ++t) {
            for (int a = 0; a < 2; ++a) {
              const int oy = 2 * (ty0 + t) + a;
              if (oy >= geo.out_h) continue;
              DmaOut o;
              o.sram = staging + static_cast<uint32_t>(a) * plane + 2u * static_cast<uint32_t>(t) * row_pitch * out_row;
              o.segment = call.seg_y;
              o.dram = ((uint64_t(n) * geo.out_h + oy) * geo.out_w + uint64_t(ox0)) * y_pixel + uint64_t(n0) * out_elem;
              o.rows = static_cast<uint32_t>(ox1 - ox0), o.row_bytes = cols;
              o.dram_stride = y_pixel, o.sram_stride = out_row;
              m.Execute(o);
            }
          }
        }
      }
     }
    }
  }
}

}  // namespace

const ConvImpl kWinogradImpl = {ConvAlgorithm::kWinograd, Accepts, Pack, Run};

}  // namespace tile32

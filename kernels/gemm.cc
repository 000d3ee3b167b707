// The GEMM family's front end: argument checks, weight packing with the zero-point algebra folded in, the
// per-call terms of the activation zero point, and the thread arena and DRAM bindings around the GEMM loop
// (kernels/gemm_loop.h).
//
// INT8 zero points. With a = A[m][k], w = B[k][n], and w' the packed int8 weight (w itself for int8 B,
// w - 128 for uint8 B, so that w - w_zp = w' - z with z = w_zp - 128 in [-128, 127]; exact, docs/isa.md §10):
//
//   acc = bias + sum_k (a - a_zp)(w' - z)
//       = sum_k a w'                              TMAC (U8S8 for uint8 A, S8S8 for int8 A)
//       + [bias - a_zp colsum(w') + K a_zp z]      the bias row of the call: colsum and z packed once,
//                                                  a_zp given per call (dynamic quantization never repacks)
//       - z rowsum(a)                             only if some z != 0: row sums on the machine (the loop)
//
// every term mod 2^32, which is what the textbook int32 loop gives when it wraps, so the result matches it
// bit for bit whatever the overflow. Weight zero points of 0 (int8 B) or 128 (uint8 B) make z = 0 and the
// call runs without row sums: that is the fast path. (A null b_zero_points means 0, so uint8 B without
// zero points takes the row-sum path: z = -128.) The row-sum path costs one extra K chain of TMACs per
// block of rows (against all-ones tiles) and two AALU per block of rows and 32 columns.
//
// Threads: the machine parallelises inside an instruction (the SIMD machine's TMAC splits its rows with
// tbb::parallel_for; rows are independent, so any split is exact). Gemm issues its instruction stream
// from the calling thread inside the arena of kernels/operator.h, which bounds that parallelism; the loop
// issues TMACs of up to acc_rows rows so that there is something to split.
#include "kernels/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "accel/error.h"
#include "kernels/gemm_loop.h"
#include "kernels/operator.h"

namespace tile32 {
namespace {

// K and N up to this many keep 32 * (number of tiles) inside int.
constexpr int kMaxDim = std::numeric_limits<int>::max() - (kLanes - 1);

uint32_t Wrap(int64_t v) { return static_cast<uint32_t>(static_cast<uint64_t>(v)); }

MacMode ModeFor(const char* fn, const GemmWeightsDesc& d) {
  if (!IsValid(d.a_type) || !(IsInt8(d.a_type) || d.a_type == DType::kI16 || d.a_type == DType::kBF16)) {
    Fail(fn, ": desc.a_type = ", IsValid(d.a_type) ? NameOf(d.a_type) : "invalid", " is not one of {u8, i8, i16, bf16}");
  }
  return MacModeOf(fn, "desc.a_type", d.a_type, "desc.b_type", d.b_type);
}

void CheckDesc(const char* fn, const GemmWeightsDesc& d, MacMode mode) {
  if (d.K < 1 || d.K > kMaxDim) Fail(fn, ": desc.K = ", d.K, " is outside [1, ", kMaxDim, "]");
  if (d.N < 1 || d.N > kMaxDim) Fail(fn, ": desc.N = ", d.N, " is outside [1, ", kMaxDim, "]");
  if (d.b == nullptr) Fail(fn, ": desc.b is null");
  if (d.ldb < d.N) Fail(fn, ": desc.ldb = ", d.ldb, " must be >= N = ", d.N);
  if (d.ldb > std::numeric_limits<int64_t>::max() / 4 / d.K) Fail(fn, ": desc.ldb = ", d.ldb, " is too large for K = ", d.K);
  // Before anything is allocated: the packed images and, for uint8 B, the shifted copy.
  const uint64_t k_tiles = (uint64_t(d.K) + kLanes - 1) / kLanes, n_tiles = (uint64_t(d.N) + kLanes - 1) / kLanes;
  CheckedBytes(fn, "the packed weights", k_tiles * n_tiles, TileImageBytes(WeightType(mode)));
  CheckWeightZeroPointsAndBias(fn, "desc.b", mode, d.b_type, d.b_zero_points, d.b_zero_point_count, d.N, "N", d.bias,
                               d.bias_f32);
}

PackedGemmWeights PackInt8(const GemmWeightsDesc& d, MacMode mode) {
  PackedGemmWeights w;
  w.desc = d;
  w.mode = mode;
  const int K = d.K, N = d.N;
  const bool u8 = d.b_type == DType::kU8;
  // w' = B (int8) or B - 128 (uint8, exact), and colsum(w').
  std::vector<int8_t> shifted;
  const int8_t* packed_src = static_cast<const int8_t*>(d.b);
  int64_t ld = d.ldb;
  if (u8) {
    shifted.resize(size_t(K) * size_t(N));
    const uint8_t* src = static_cast<const uint8_t*>(d.b);
    for (int k = 0; k < K; ++k) {
      for (int n = 0; n < N; ++n) shifted[size_t(k) * N + n] = static_cast<int8_t>(int{src[k * d.ldb + n]} - 128);
    }
    packed_src = shifted.data(), ld = N;
  }
  std::vector<int64_t> colsum(size_t(N), 0);
  for (int k = 0; k < K; ++k) {
    for (int n = 0; n < N; ++n) colsum[n] += packed_src[k * ld + n];
  }
  w.tiles = PackWeightsI8(packed_src, K, N, ld);

  w.b_zero_points.resize(size_t(N));
  w.col_sums.resize(size_t(N));
  w.bias_row.assign(size_t{kLanes} * w.tiles.n_tiles, 0);
  for (int n = 0; n < N; ++n) {
    const int32_t zp = d.b_zero_points == nullptr ? 0 : d.b_zero_points[d.b_zero_point_count == 1 ? 0 : n];
    w.b_zero_points[n] = zp - (u8 ? 128 : 0);
    if (w.b_zero_points[n] != 0) w.needs_row_sums = true;
    w.col_sums[n] = static_cast<int32_t>(Wrap(colsum[n]));
    if (d.bias != nullptr) w.bias_row[n] = static_cast<uint32_t>(d.bias[n]);
  }
  return w;
}

const char* ValidOutputs(MacMode mode) {
  return mode == MacMode::kBF16 ? "{f32, bf16}" : "{i32, i8, u8, i16}";
}

bool OutputAllowed(MacMode mode, DType c) {
  if (mode == MacMode::kBF16) return c == DType::kF32 || c == DType::kBF16;
  return c == DType::kI32 || c == DType::kI8 || c == DType::kU8 || c == DType::kI16;
}

// needs_row_sums says exactly whether some (shifted) weight zero point is non-zero.
bool RowSumsConsistent(const PackedGemmWeights& w) {
  if (w.mode != MacMode::kU8S8 && w.mode != MacMode::kS8S8) return !w.needs_row_sums && w.b_zero_points.empty();
  if (w.b_zero_points.size() != size_t(w.desc.N)) return false;
  bool any = false;
  for (int32_t z : w.b_zero_points) any |= z != 0;
  return any == w.needs_row_sums;
}

void CheckPacked(const char* fn, const PackedGemmWeights& w) {
  const GemmWeightsDesc& d = w.desc;
  const PackedWeights& t = w.tiles;
  const int k_tiles = static_cast<int>((int64_t{d.K} + kLanes - 1) / kLanes);
  const int n_tiles = static_cast<int>((int64_t{d.N} + kLanes - 1) / kLanes);
  const bool types_ok = (d.a_type == DType::kU8 && w.mode == MacMode::kU8S8) ||
                        (d.a_type == DType::kI8 && w.mode == MacMode::kS8S8) ||
                        (d.a_type == DType::kI16 && w.mode == MacMode::kS16S16) ||
                        (d.a_type == DType::kBF16 && w.mode == MacMode::kBF16);
  const bool int8 = w.mode == MacMode::kU8S8 || w.mode == MacMode::kS8S8;
  if (!types_ok || d.K < 1 || d.N < 1 || t.dtype != WeightType(w.mode) || t.K != d.K || t.N != d.N ||
      t.k_tiles != k_tiles || t.n_tiles != n_tiles ||
      t.bytes.size() != size_t(k_tiles) * size_t(n_tiles) * TileImageBytes(t.dtype) ||
      w.bias_row.size() != size_t{kLanes} * n_tiles || w.col_sums.size() != (int8 ? size_t(d.N) : 0) ||
      !RowSumsConsistent(w)) {
    Fail(fn, ": weights are not the result of PackGemmWeights (a_type ", NameOf(d.a_type), ", mode ",
         NameOf(w.mode), ", tiles ", NameOf(t.dtype), " ", t.K, " x ", t.N, " in ", t.bytes.size(), " bytes, desc K ",
         d.K, " N ", d.N, ", bias_row ", w.bias_row.size(), " words)");
  }
}

}  // namespace

PackedGemmWeights PackGemmWeights(const GemmWeightsDesc& desc) {
  const char* fn = "PackGemmWeights";
  const MacMode mode = ModeFor(fn, desc);
  CheckDesc(fn, desc, mode);
  if (mode == MacMode::kU8S8 || mode == MacMode::kS8S8) return PackInt8(desc, mode);

  PackedGemmWeights w;
  w.desc = desc;
  w.mode = mode;
  if (mode == MacMode::kS16S16) {
    w.tiles = PackWeightsI16(static_cast<const int16_t*>(desc.b), desc.K, desc.N, desc.ldb);
  } else {
    w.tiles = PackWeightsBF16(static_cast<const uint16_t*>(desc.b), desc.K, desc.N, desc.ldb);
  }
  w.bias_row.assign(size_t{kLanes} * w.tiles.n_tiles, 0);
  for (int n = 0; n < desc.N; ++n) {
    if (desc.bias != nullptr) w.bias_row[n] = static_cast<uint32_t>(desc.bias[n]);
    if (desc.bias_f32 != nullptr) std::memcpy(&w.bias_row[n], &desc.bias_f32[n], 4);  // raw bits, NaN payload kept
  }
  return w;
}

void Gemm(Machine& machine, const PackedGemmWeights& w, const GemmArgs& x) {
  const char* fn = "Gemm";
  CheckPacked(fn, w);
  const GemmWeightsDesc& d = w.desc;
  const int K = d.K, N = d.N;
  const int a_size = SizeOf(d.a_type);
  if (x.M < 1) Fail(fn, ": M = ", x.M, " must be >= 1");
  if (x.a == nullptr) Fail(fn, ": a is null");
  if (x.lda < K) Fail(fn, ": lda = ", x.lda, " must be >= K = ", K);
  const uint64_t a_bytes = StridedBytes(fn, "lda", x.M, x.lda, K, a_size);
  const bool int8 = w.mode == MacMode::kU8S8 || w.mode == MacMode::kS8S8;
  if (int8) {
    const ValueRange r = RangeOf(d.a_type);
    if (!r.Contains(x.a_zero_point)) {
      Fail(fn, ": a_zero_point = ", x.a_zero_point, " is outside [", r.lo, ", ", r.hi, "] of ", NameOf(d.a_type));
    }
  } else if (x.a_zero_point != 0) {
    Fail(fn, ": a_zero_point = ", x.a_zero_point, " must be 0: zero points are INT8 only, not ", NameOf(w.mode));
  }
  if (!OutputAllowed(w.mode, x.c_type)) {
    Fail(fn, ": c_type = ", NameOf(x.c_type), " is not one of ", ValidOutputs(w.mode), " for ", NameOf(d.a_type),
         " x ", NameOf(d.b_type), " weights");
  }
  if (x.c == nullptr) Fail(fn, ": c is null");
  if (x.ldc < N) Fail(fn, ": ldc = ", x.ldc, " must be >= N = ", N);
  const int c_size = SizeOf(x.c_type);
  const uint64_t c_bytes = StridedBytes(fn, "ldc", x.M, x.ldc, N, c_size);
  CheckNoOverlap(fn, {"c", x.c, c_bytes}, {{"a", x.a, a_bytes}, {"the packed weights", w.tiles.bytes.data(), w.tiles.bytes.size()}});
  if (IsRequantOutput(x.c_type)) {
    if (x.quant == nullptr) Fail(fn, ": quant is null but c_type is ", NameOf(x.c_type));
    CheckOutputQuant(fn, *x.quant, N, x.c_type);
  }
  const int threads = OperatorThreads(fn, x.threads);

  // The call's bias row: bias - a_zp colsum(w') + K a_zp z (mod 2^32; |K a_zp z| and |a_zp colsum| < 2^47).
  std::vector<uint32_t> bias(w.bias_row);
  if (int8 && x.a_zero_point != 0) {
    const int64_t a_zp = x.a_zero_point;
    for (int n = 0; n < N; ++n) {
      bias[n] += Wrap(-a_zp * w.col_sums[n]) + Wrap(int64_t{K} * a_zp * w.b_zero_points[n]);
    }
  }
  std::vector<int32_t> row_sum_scale;
  if (w.needs_row_sums) {
    row_sum_scale.assign(bias.size(), 0);
    for (int n = 0; n < N; ++n) row_sum_scale[n] = static_cast<int32_t>(0u - static_cast<uint32_t>(w.b_zero_points[n]));
  }

  RunInArena(threads, [&] {
    DramBindings dram(machine, fn);
    const uint32_t seg_a = dram.BindReadOnly(x.a, a_bytes);
    const uint32_t seg_c = dram.Bind(x.c, c_bytes);
    GemmLoopArgs g;
    g.fn = fn;
    g.M = x.M;
    g.mode = w.mode;
    g.b = &w.tiles;
    g.epilogue.out = x.c_type;
    g.epilogue.quant = x.quant;
    g.epilogue.blocks = w.tiles.n_tiles;
    g.epilogue.bias = SeedBias(bias);
    g.epilogue.row_sum_scale = w.needs_row_sums ? row_sum_scale.data() : nullptr;
    const uint64_t lda = uint64_t(x.lda), ldc = uint64_t(x.ldc);
    g.load_a = [&](int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram, uint32_t sram_stride) {
      DmaIn dma;
      dma.sram = sram, dma.segment = seg_a, dma.dram = (uint64_t(m0) * lda + uint64_t(k0)) * a_size;
      dma.rows = rows, dma.row_bytes = static_cast<uint32_t>(cols * a_size);
      dma.dram_stride = lda * a_size, dma.sram_stride = sram_stride;
      machine.Execute(dma);
    };
    g.store_c = [&](int64_t m0, uint32_t rows, int n0, int cols, uint32_t sram, uint32_t sram_stride) {
      DmaOut dma;
      dma.sram = sram, dma.segment = seg_c, dma.dram = (uint64_t(m0) * ldc + uint64_t(n0)) * c_size;
      dma.rows = rows, dma.row_bytes = static_cast<uint32_t>(cols * c_size);
      dma.dram_stride = ldc * c_size, dma.sram_stride = sram_stride;
      machine.Execute(dma);
    };
    RunGemmLoop(machine, dram, g);
  });
}

}  // namespace tile32

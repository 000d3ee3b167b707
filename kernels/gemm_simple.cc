#include "kernels/gemm_simple.h"

#include <vector>

#include "accel/error.h"
#include "kernels/gemm_driver.h"

namespace tile32 {

void GemmI8Simple(Machine& machine, const GemmI8Args& x) {
  const char* fn = "GemmI8Simple";
  if (x.M < 1) Fail(fn, ": M = ", x.M, " must be >= 1");
  if (x.N < 1) Fail(fn, ": N = ", x.N, " must be >= 1");
  if (x.K < 1) Fail(fn, ": K = ", x.K, " must be >= 1");
  if (x.a_type != DType::kU8 && x.a_type != DType::kI8) {
    Fail(fn, ": a_type = ", NameOf(x.a_type), " is not one of {u8, i8}");
  }
  if (x.a == nullptr) Fail(fn, ": a is null");
  if (x.lda < x.K) Fail(fn, ": lda = ", x.lda, " must be >= K = ", x.K);
  if (x.b_packed != nullptr) {
    const PackedWeights& p = *x.b_packed;
    if (p.dtype != DType::kI8 || p.K != x.K || p.N != x.N ||
        p.bytes.size() != size_t(p.k_tiles) * size_t(p.n_tiles) * TileImageBytes(DType::kI8) ||
        p.k_tiles != (x.K + kLanes - 1) / kLanes || p.n_tiles != (x.N + kLanes - 1) / kLanes) {
      Fail(fn, ": b_packed holds ", NameOf(p.dtype), " ", p.K, " x ", p.N, ", expected i8 K x N = ", x.K, " x ",
           x.N);
    }
  } else {
    if (x.b == nullptr) Fail(fn, ": b is null (and no b_packed)");
    if (x.ldb < x.N) Fail(fn, ": ldb = ", x.ldb, " must be >= N = ", x.N);
  }
  if (x.c_type != DType::kI32 && x.c_type != DType::kI8 && x.c_type != DType::kU8) {
    Fail(fn, ": c_type = ", NameOf(x.c_type), " is not one of {i32, i8, u8}");
  }
  if (x.c == nullptr) Fail(fn, ": c is null");
  if (x.ldc < x.N) Fail(fn, ": ldc = ", x.ldc, " must be >= N = ", x.N);
  if (x.c_type != DType::kI32) {
    if (x.quant == nullptr) Fail(fn, ": quant is null but c_type is ", NameOf(x.c_type));
    CheckOutputQuant(fn, *x.quant, x.N, x.c_type);
  }

  PackedWeights packed;
  if (x.b_packed == nullptr) packed = PackWeightsI8(x.b, x.K, x.N, x.ldb);
  const PackedWeights& b = x.b_packed != nullptr ? *x.b_packed : packed;

  std::vector<int32_t> bias;
  if (x.bias != nullptr) {
    bias.assign(size_t{kLanes} * b.n_tiles, 0);
    for (int n = 0; n < x.N; ++n) bias[n] = x.bias[n];
  }

  const uint64_t c_size = SizeOf(x.c_type);
  DramBindings dram(machine, fn);
  const uint32_t seg_a = dram.BindReadOnly(x.a, uint64_t(x.M - 1) * uint64_t(x.lda) + uint64_t(x.K));
  const uint32_t seg_c = dram.Bind(x.c, (uint64_t(x.M - 1) * uint64_t(x.ldc) + uint64_t(x.N)) * c_size);

  GemmDriverArgs g;
  g.fn = fn;
  g.M = x.M;
  g.mode = x.a_type == DType::kU8 ? MacMode::kU8S8 : MacMode::kS8S8;
  g.b = &b;
  g.bias = x.bias != nullptr ? bias.data() : nullptr;
  g.out = x.c_type;
  g.quant = x.quant;
  g.load_a = [&](int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram, uint32_t sram_stride) {
    DmaIn d;
    d.sram = sram, d.segment = seg_a, d.dram = uint64_t(m0) * uint64_t(x.lda) + uint64_t(k0);
    d.rows = rows, d.row_bytes = static_cast<uint32_t>(cols);
    d.dram_stride = uint64_t(x.lda), d.sram_stride = sram_stride;
    machine.Execute(d);
  };
  g.store_c = [&](int64_t m0, uint32_t rows, int n0, int cols, uint32_t sram, uint32_t sram_stride) {
    DmaOut d;
    d.sram = sram, d.segment = seg_c, d.dram = (uint64_t(m0) * uint64_t(x.ldc) + uint64_t(n0)) * c_size;
    d.rows = rows, d.row_bytes = static_cast<uint32_t>(cols * c_size);
    d.dram_stride = uint64_t(x.ldc) * c_size, d.sram_stride = sram_stride;
    machine.Execute(d);
  };
  RunGemmDriver(machine, dram, g);
}

}  // namespace tile32

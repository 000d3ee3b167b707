// The middle end shared by the simple INT8 kernels: DRAM segment bindings that cannot leak, and one
// weight-stationary GEMM loop (SRAM planning, tile loads, TMAC, bias, requantization) that reaches the
// activations and outputs through two callbacks. GemmI8Simple gathers A rows with strided DMAs,
// Conv3x3I8Simple gathers 3x3 patches (implicit GEMM); everything else is this file.
// Internal to kernels/: public entry points are gemm_simple.h and conv_simple.h.
#pragma once

#include <cstdint>
#include <functional>

#include "accel/machine.h"
#include "kernels/output_quant.h"
#include "layout/tile_pack.h"

namespace tile32 {

// Kernels bind their host buffers as DRAM segments [kKernelFirstSegment, kMaxDramSegments) for the
// duration of the call and unbind them before returning (also when an exception leaves the call).
// Segments below kKernelFirstSegment are left alone for the caller's own use.
inline constexpr uint32_t kKernelFirstSegment = 56;

// Binds host buffers to free kernel segments; unbinds every one of them when destroyed.
class DramBindings {
 public:
  DramBindings(Machine& machine, const char* fn) : machine_(machine), fn_(fn) {}
  ~DramBindings();
  DramBindings(const DramBindings&) = delete;
  DramBindings& operator=(const DramBindings&) = delete;

  uint32_t BindReadOnly(const void* base, uint64_t bytes);
  uint32_t Bind(void* base, uint64_t bytes);

 private:
  uint32_t Next();
  Machine& machine_;
  const char* fn_;
  uint32_t next_ = kKernelFirstSegment;
};

// C[M x N] = A[M x K] . B[K x N] (+ bias) (+ row-sum term), B packed, A and C reached through callbacks.
struct GemmDriverArgs {
  const char* fn = "";               // public kernel name, for error messages
  int64_t M = 0;                     // rows of A and C; K and N come from `b`
  MacMode mode = MacMode::kU8S8;     // any TMAC mode; b->dtype must be WeightType(mode)
  const PackedWeights* b = nullptr;  // K x N in tile order
  // Host, 32 * b->n_tiles raw ACC words (zero-padded) that seed the accumulators: int32 for the integer
  // modes, fp32 bits for BF16. Null seeds them with ACC_ZERO (int32 0, fp32 +0).
  const int32_t* bias = nullptr;
  // INT8 weight zero points (kU8S8, kS8S8 only): null, or 32 * b->n_tiles int32 factors c[n] (zero-padded).
  // When set, each accumulator starts at wrap32(bias[n] + c[n] * rowsum_m) with rowsum_m = sum_k A[m][k]
  // computed on the machine: one TMAC of the A rows against all-ones int8 tiles (the row sum lands in all
  // 32 lanes of a spare ACC row), then per row and 32-column block VMOV.FROMACC, VALU MUL by c, VALU ADD
  // of the bias, VMOV.TOACC. Exact mod 2^32; costs half the ACC rows and 4 vector instructions per row
  // and column block.
  const int32_t* row_sum_scale = nullptr;
  // kI32, kF32 (raw accumulators by ACC_ST), kBF16 (ACC_ST rounding), or kI8, kU8, kI16 (REQ with quant).
  DType out = DType::kI32;
  const OutputQuant* quant = nullptr;

  // Issue the DMAs that put A[m0 + r][k0 + c] (r < rows, c < cols) at SRAM sram + r*sram_stride + c*e,
  // e = SizeOf(ActivationType(mode)) bytes per element.
  std::function<void(int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram, uint32_t sram_stride)> load_a;
  // Issue the DMAs that write C[m0 + r][n0 + c] (r < rows, c < cols <= 32) from SRAM
  // sram + r*sram_stride + c*SizeOf(out).
  std::function<void(int64_t m0, uint32_t rows, int n0, int cols, uint32_t sram, uint32_t sram_stride)> store_c;
};

// Runs the GEMM on `machine`, binding its own segments in `dram`. Throws tile32::Error naming fn if the
// machine's configuration cannot hold the smallest working set (one tile, one activation row; with row
// sums also the ones tile and two ACC rows).
//
// Activation padding (K up to 32 * k_tiles) is written by the driver: zero bytes for the integer modes
// (0 * anything = 0 exactly), and -0.0 for BF16: the padded weights are +0, so every padded step is
// fma(-0, +0, acc) = acc + (-0) = acc bit for bit, -0 and NaN included (+0 padding would turn an
// accumulator of -0 into +0). K chains are issued in ascending K order, which BF16 requires.
void RunGemmDriver(Machine& machine, DramBindings& dram, const GemmDriverArgs& args);

}  // namespace tile32

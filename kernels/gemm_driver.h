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

// C[M x N] = A[M x K] . B[K x N] (+ bias), B packed, A and C reached through the callbacks.
struct GemmDriverArgs {
  const char* fn = "";               // public kernel name, for error messages
  int64_t M = 0;                     // rows of A and C; K and N come from `b`
  MacMode mode = MacMode::kU8S8;     // kU8S8 or kS8S8
  const PackedWeights* b = nullptr;  // int8, K x N
  const int32_t* bias = nullptr;     // host, 32 * b->n_tiles entries (zero-padded), or null for none
  DType out = DType::kI32;           // kI32 (raw accumulators), kI8 or kU8 (requantized by `quant`)
  const OutputQuant* quant = nullptr;

  // Issue the DMAs that put A[m0 + r][k0 + c] (r < rows, c < cols) at SRAM sram + r*sram_stride + c.
  std::function<void(int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram, uint32_t sram_stride)> load_a;
  // Issue the DMAs that write C[m0 + r][n0 + c] (r < rows, c < cols <= 32) from SRAM
  // sram + r*sram_stride + c*SizeOf(out).
  std::function<void(int64_t m0, uint32_t rows, int n0, int cols, uint32_t sram, uint32_t sram_stride)> store_c;
};

// Runs the GEMM on `machine`, binding its own segments in `dram`. Throws tile32::Error naming fn if the
// machine's configuration cannot hold the smallest working set (one tile, one activation row).
void RunGemmDriver(Machine& machine, DramBindings& dram, const GemmDriverArgs& args);

}  // namespace tile32

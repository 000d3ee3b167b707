// Textbook references for the kernel tests, written from docs/isa.md §5 and the kernels' documented
// contracts with plain int64 loops. They deliberately share no code with accel/ (numeric.h, the machines)
// or kernels/, so that a kernel test compares two independent derivations of the same numbers.
#pragma once

#include <cstdint>
#include <vector>

#include "accel/isa.h"

namespace tile32::testing {

// Output quantization, one entry per output channel (expand per-tensor parameters to every channel).
struct RefQuant {
  RequantMode mode = RequantMode::kTflDouble;
  std::vector<int32_t> multiplier;  // TFL modes
  std::vector<int32_t> shift;       // TFL modes
  std::vector<float> scale;         // FLOAT modes
  int32_t zero_point = 0;
  int32_t qmin = -128, qmax = 127;
};

// docs/isa.md §5.2: the output code of accumulator x under (mode, multiplier, shift, scale, zp, clamp).
int32_t RequantRef(int32_t x, RequantMode mode, int32_t multiplier, int32_t shift, float scale, int32_t zero_point,
                   int32_t qmin, int32_t qmax);
// Channel n of q.
int32_t RequantRef(int32_t x, const RefQuant& q, int n);

// C[m][n] = wrap32(bias[n] + sum_k A[m][k] * B[k][n]), int32, row-major with leading dimension N.
// a holds codes already widened (uint8 or int8 values), lda in elements; b is int8 K x N, ldb.
std::vector<int32_t> GemmRef(int M, int N, int K, const int32_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                             const int32_t* bias);

// The GEMM family's integer contract (kernels/gemm.h), INT8 with zero points and INT16:
// C[m][n] = wrap32(bias[n] + sum_k (a[m][k] - a_zero_point) * (b[k][n] - b_zero_points[n])), with a and b
// the codes widened to int32 (uint8, int8 or int16 values) and b_zero_points null (all 0) or N entries.
std::vector<int32_t> GemmZpRef(int M, int N, int K, const int32_t* a, int64_t lda, int32_t a_zero_point,
                               const int32_t* b, int64_t ldb, const int32_t* b_zero_points, const int32_t* bias);

// The BF16 contract: acc = bias[n] (or +0 without bias), then acc = std::fma(a[m][k], b[k][n], acc) for
// k = 0, 1, ..., K-1, with a and b raw bf16 bits widened exactly (<< 16). Returns the fp32 bits, every
// NaN as the canonical 0x7FC00000 (docs/isa.md §4.1). Row-major, leading dimension N.
std::vector<uint32_t> GemmBf16Ref(int M, int N, int K, const uint16_t* a, int64_t lda, const uint16_t* b, int64_t ldb,
                                  const float* bias);

// docs/isa.md §2.1 by the textbook: fp32 bits to bf16 bits, round to nearest, ties to even on the
// dropped 16 bits (a carry may reach the exponent and give Inf), every NaN as 0x7FC0.
uint16_t Bf16FromF32Ref(uint32_t f32_bits);
// bf16 bits as the fp32 value they are the high half of (exact).
float F32FromBf16Ref(uint16_t bits);

// Requantizes an M x N int32 matrix (leading dimension N) channel by channel (channel = column).
std::vector<int32_t> RequantMatrixRef(const std::vector<int32_t>& acc, int M, int N, const RefQuant& q);

// Direct 3x3 convolution, NHWC input (codes widened to int32), OHWI int8 weights, NHWK int32 output:
// y = wrap32(bias[k] + sum over valid taps, c of (x - x_zero_point) * w); padded taps contribute nothing.
std::vector<int32_t> Conv2dRef(int batch, int height, int width, int channels, int out_channels, int stride, int pad,
                               const int32_t* x, int32_t x_zero_point, const int8_t* w, const int32_t* bias);

}  // namespace tile32::testing

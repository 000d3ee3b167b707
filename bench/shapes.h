// The GEMM shapes every GEMM benchmark runs: C[M x N] = A[M x K] . B[K x N], B packed
// once. One list, read by bench/gemm_bench.cc for tile32 and oneDNN alike; add a shape here and both
// implementations, every dtype and both thread counts pick it up.
#pragma once

namespace tile32::bench {

struct GemmShape {
  int M, N, K;
  const char* what;  // where the shape comes from
};

inline constexpr GemmShape kGemmShapes[] = {
    {1024, 1024, 1024, "square, large"},
    {512, 512, 512, "square, fits L2 better"},
    {1, 1024, 1024, "GEMV: one activation row, packed weights"},
    {3136, 64, 576, "ResNet 3x3 conv, 64 -> 64 channels on 56x56, as implicit GEMM (K = 9*64)"},
    {196, 256, 2304, "ResNet 3x3 conv, 256 -> 256 channels on 14x14 (K = 9*256)"},
    {1000, 1000, 1000, "square, ragged (1000 = 31*32 + 8)"},
    {3136, 94, 423, "background article's 47 -> 94-channel 3x3 layer on 56x56 (K = 9*47)"},
};

// Thread counts every shape runs with (GemmArgs::threads for tile32, omp_set_num_threads for oneDNN).
inline constexpr int kGemmThreads[] = {1, 2};

}  // namespace tile32::bench

// The host's peaks, measured in the same run as everything they are compared with: register-only loops of
// the exact instructions an emulator of the tile ISA can use, with enough independent accumulators to fill
// both of their ports. bench/compare.py divides tile32's rates by these.
//   peak/vpdpbusd_zmm, peak/vpdpwssd_zmm      AVX-512 VNNI: u8 x s8 and s16 x s16 dot products
//   peak/pmaddubsw+pmaddwd                    u8 x s8 without VNNI (zmm with AVX-512BW, else ymm)
//   peak/pmaddwd                              s16 x s16 without VNNI (zmm or ymm)
//   peak/vfmadd231ps                          fp32 FMA, the exact BF16 path (zmm or ymm)
//   peak/tdpbusd, peak/tdpbssd                AMX-INT8 (u8 x s8, s8 x s8), 4 accumulator tiles
// Each with /threads:1 and /threads:2; an instruction the host lacks is skipped with the reason.
// Counter: GMACs (1e9 MAC/s over all threads).
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cstdint>
#include <string>

#include "accel/host_cpu.h"

namespace tile32::bench {
namespace {

constexpr int64_t kInner = 256;  // loop trips per benchmark iteration

// The loops are inline assembly: with intrinsics GCC kept the accumulators in an array on the stack and
// spilled every step. Every accumulator is its own dependency chain; the sources never change.

__attribute__((target("avx512f,avx512vnni"))) void LoopVpdpbusd(int64_t trips) {
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
      "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
      "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
      "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
      "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
      "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
      "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
      "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
      "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
      "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
      "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
      "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
      "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
      "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
      "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
      "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
      "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
      "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
      "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
      "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
      "vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n\t"
      "vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n\t"
      "1:\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm0\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm1\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm2\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm3\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm4\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm5\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm6\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm7\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm8\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm9\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm10\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm11\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm12\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm13\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm14\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm15\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm16\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm17\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm18\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm19\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm20\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm21\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm22\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm23\n\t"
      "dec %0\n\t"
      "jnz 1b"
      : "+r"(trips)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
}

__attribute__((target("avx512f,avx512vnni"))) void LoopVpdpwssd(int64_t trips) {
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
      "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
      "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
      "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
      "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
      "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
      "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
      "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
      "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
      "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
      "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
      "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
      "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
      "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
      "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
      "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
      "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
      "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
      "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
      "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
      "vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n\t"
      "vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n\t"
      "1:\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm0\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm1\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm2\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm3\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm4\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm5\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm6\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm7\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm8\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm9\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm10\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm11\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm12\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm13\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm14\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm15\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm16\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm17\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm18\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm19\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm20\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm21\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm22\n\t"
      "vpdpwssd %%zmm31, %%zmm30, %%zmm23\n\t"
      "dec %0\n\t"
      "jnz 1b"
      : "+r"(trips)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
}

__attribute__((target("avx512f,avx512bw"))) void LoopMaddubsZmm(int64_t trips) {
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
      "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
      "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
      "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
      "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
      "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
      "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
      "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
      "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
      "vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n\t"
      "vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n\t"
      "vpternlogd $0xff, %%zmm29, %%zmm29, %%zmm29\n\t"
      "1:\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm12\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm13\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm14\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm15\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm16\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm17\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm18\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm19\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm20\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm21\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm22\n\t"
      "vpmaddubsw %%zmm31, %%zmm30, %%zmm23\n\t"
      "vpmaddwd %%zmm29, %%zmm12, %%zmm12\n\t"
      "vpmaddwd %%zmm29, %%zmm13, %%zmm13\n\t"
      "vpmaddwd %%zmm29, %%zmm14, %%zmm14\n\t"
      "vpmaddwd %%zmm29, %%zmm15, %%zmm15\n\t"
      "vpmaddwd %%zmm29, %%zmm16, %%zmm16\n\t"
      "vpmaddwd %%zmm29, %%zmm17, %%zmm17\n\t"
      "vpmaddwd %%zmm29, %%zmm18, %%zmm18\n\t"
      "vpmaddwd %%zmm29, %%zmm19, %%zmm19\n\t"
      "vpmaddwd %%zmm29, %%zmm20, %%zmm20\n\t"
      "vpmaddwd %%zmm29, %%zmm21, %%zmm21\n\t"
      "vpmaddwd %%zmm29, %%zmm22, %%zmm22\n\t"
      "vpmaddwd %%zmm29, %%zmm23, %%zmm23\n\t"
      "vpaddd %%zmm12, %%zmm0, %%zmm0\n\t"
      "vpaddd %%zmm13, %%zmm1, %%zmm1\n\t"
      "vpaddd %%zmm14, %%zmm2, %%zmm2\n\t"
      "vpaddd %%zmm15, %%zmm3, %%zmm3\n\t"
      "vpaddd %%zmm16, %%zmm4, %%zmm4\n\t"
      "vpaddd %%zmm17, %%zmm5, %%zmm5\n\t"
      "vpaddd %%zmm18, %%zmm6, %%zmm6\n\t"
      "vpaddd %%zmm19, %%zmm7, %%zmm7\n\t"
      "vpaddd %%zmm20, %%zmm8, %%zmm8\n\t"
      "vpaddd %%zmm21, %%zmm9, %%zmm9\n\t"
      "vpaddd %%zmm22, %%zmm10, %%zmm10\n\t"
      "vpaddd %%zmm23, %%zmm11, %%zmm11\n\t"
      "dec %0\n\t"
      "jnz 1b"
      : "+r"(trips)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
}

__attribute__((target("avx2"))) void LoopMaddubsYmm(int64_t trips) {
  __asm__ volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
      "vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
      "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "vpcmpeqd %%ymm13, %%ymm13, %%ymm13\n\t"
      "vpcmpeqd %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpcmpeqd %%ymm15, %%ymm15, %%ymm15\n\t"
      "1:\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm6\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm7\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm8\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm9\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm10\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm11\n\t"
      "vpmaddwd %%ymm13, %%ymm6, %%ymm6\n\t"
      "vpmaddwd %%ymm13, %%ymm7, %%ymm7\n\t"
      "vpmaddwd %%ymm13, %%ymm8, %%ymm8\n\t"
      "vpmaddwd %%ymm13, %%ymm9, %%ymm9\n\t"
      "vpmaddwd %%ymm13, %%ymm10, %%ymm10\n\t"
      "vpmaddwd %%ymm13, %%ymm11, %%ymm11\n\t"
      "vpaddd %%ymm6, %%ymm0, %%ymm0\n\t"
      "vpaddd %%ymm7, %%ymm1, %%ymm1\n\t"
      "vpaddd %%ymm8, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm9, %%ymm3, %%ymm3\n\t"
      "vpaddd %%ymm10, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm11, %%ymm5, %%ymm5\n\t"
      "dec %0\n\t"
      "jnz 1b"
      : "+r"(trips)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
}

__attribute__((target("avx512f,avx512bw"))) void LoopMaddwdZmm(int64_t trips) {
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
      "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
      "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
      "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
      "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
      "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
      "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
      "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
      "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
      "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
      "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
      "vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n\t"
      "vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n\t"
      "1:\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm14\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm15\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm16\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm17\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm18\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm19\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm20\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm21\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm22\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm23\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm24\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm25\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm26\n\t"
      "vpmaddwd %%zmm31, %%zmm30, %%zmm27\n\t"
      "vpaddd %%zmm14, %%zmm0, %%zmm0\n\t"
      "vpaddd %%zmm15, %%zmm1, %%zmm1\n\t"
      "vpaddd %%zmm16, %%zmm2, %%zmm2\n\t"
      "vpaddd %%zmm17, %%zmm3, %%zmm3\n\t"
      "vpaddd %%zmm18, %%zmm4, %%zmm4\n\t"
      "vpaddd %%zmm19, %%zmm5, %%zmm5\n\t"
      "vpaddd %%zmm20, %%zmm6, %%zmm6\n\t"
      "vpaddd %%zmm21, %%zmm7, %%zmm7\n\t"
      "vpaddd %%zmm22, %%zmm8, %%zmm8\n\t"
      "vpaddd %%zmm23, %%zmm9, %%zmm9\n\t"
      "vpaddd %%zmm24, %%zmm10, %%zmm10\n\t"
      "vpaddd %%zmm25, %%zmm11, %%zmm11\n\t"
      "vpaddd %%zmm26, %%zmm12, %%zmm12\n\t"
      "vpaddd %%zmm27, %%zmm13, %%zmm13\n\t"
      "dec %0\n\t"
      "jnz 1b"
      : "+r"(trips)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
}

__attribute__((target("avx2"))) void LoopMaddwdYmm(int64_t trips) {
  __asm__ volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
      "vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
      "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
      "vpcmpeqd %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpcmpeqd %%ymm15, %%ymm15, %%ymm15\n\t"
      "1:\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm7\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm8\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm9\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm10\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm11\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm12\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm13\n\t"
      "vpaddd %%ymm7, %%ymm0, %%ymm0\n\t"
      "vpaddd %%ymm8, %%ymm1, %%ymm1\n\t"
      "vpaddd %%ymm9, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm10, %%ymm3, %%ymm3\n\t"
      "vpaddd %%ymm11, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm12, %%ymm5, %%ymm5\n\t"
      "vpaddd %%ymm13, %%ymm6, %%ymm6\n\t"
      "dec %0\n\t"
      "jnz 1b"
      : "+r"(trips)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
}

__attribute__((target("avx512f"))) void LoopFmaZmm(int64_t trips) {
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
      "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
      "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
      "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
      "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
      "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
      "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
      "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
      "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
      "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
      "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
      "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
      "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
      "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
      "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
      "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
      "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
      "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
      "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
      "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
      "vpxord %%zmm30, %%zmm30, %%zmm30\n\t"
      "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"
      "1:\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm0\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm1\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm2\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm3\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm4\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm5\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm6\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm7\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm8\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm9\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm10\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm11\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm12\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm13\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm14\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm15\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm16\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm17\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm18\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm19\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm20\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm21\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm22\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm23\n\t"
      "dec %0\n\t"
      "jnz 1b"
      : "+r"(trips)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
}

__attribute__((target("avx2,fma"))) void LoopFmaYmm(int64_t trips) {
  __asm__ volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
      "vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
      "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
      "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
      "vpxor %%ymm8, %%ymm8, %%ymm8\n\t"
      "vpxor %%ymm9, %%ymm9, %%ymm9\n\t"
      "vpxor %%ymm10, %%ymm10, %%ymm10\n\t"
      "vpxor %%ymm11, %%ymm11, %%ymm11\n\t"
      "vpxor %%ymm12, %%ymm12, %%ymm12\n\t"
      "vpxor %%ymm13, %%ymm13, %%ymm13\n\t"
      "vpxor %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpxor %%ymm15, %%ymm15, %%ymm15\n\t"
      "1:\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm0\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm1\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm2\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm3\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm4\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm5\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm6\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm7\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm8\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm9\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm10\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm11\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm12\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm13\n\t"
      "dec %0\n\t"
      "jnz 1b"
      : "+r"(trips)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
}

// AMX: tiles 0-3 accumulate 16 x 16 int32, tile 4 holds A (16 x 64 bytes), tile 5 B (16 x 64 bytes);
// one TDPBUSD is 16 * 16 * 64 MACs. The configuration goes through inline asm whose memory operand is all 64
// bytes of it (GCC 12's _tile_loadconfig claims to read 8, and the stores filling it were dropped).
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

template <bool kSigned>
void LoopAmx(int64_t trips) {
  TileConfig cfg;
  for (int t = 0; t < 6; ++t) cfg.colsb[t] = 64, cfg.rows[t] = 16;
  alignas(64) static thread_local uint8_t data[16 * 64];
  for (int i = 0; i < 16 * 64; ++i) data[i] = uint8_t(i * 7 + 1);
  __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
  __asm__ volatile(
      "tilezero %%tmm0\n\ttilezero %%tmm1\n\ttilezero %%tmm2\n\ttilezero %%tmm3\n\t"
      "tileloadd (%0,%1,1), %%tmm4\n\ttileloadd (%0,%1,1), %%tmm5" ::"r"(data), "r"(int64_t{64}) : "memory");
  for (int t = 0; t < trips; ++t) {
    if (kSigned) {
      __asm__ volatile(
          "tdpbssd %%tmm5, %%tmm4, %%tmm0\n\ttdpbssd %%tmm5, %%tmm4, %%tmm1\n\t"
          "tdpbssd %%tmm5, %%tmm4, %%tmm2\n\ttdpbssd %%tmm5, %%tmm4, %%tmm3" ::);
    } else {
      __asm__ volatile(
          "tdpbusd %%tmm5, %%tmm4, %%tmm0\n\ttdpbusd %%tmm5, %%tmm4, %%tmm1\n\t"
          "tdpbusd %%tmm5, %%tmm4, %%tmm2\n\ttdpbusd %%tmm5, %%tmm4, %%tmm3" ::);
    }
  }
  __asm__ volatile("tilerelease" ::: "memory");
}

struct Peak {
  const char* name;
  void (*loop)(int64_t);
  double macs_per_trip;
  const char* what;  // the label: the instruction and register width
  const char* missing;  // why the host cannot run it, or nullptr
};

void BM_Peak(benchmark::State& state, Peak p) {
  if (p.missing != nullptr) {
    state.SkipWithError((std::string("skipped: ") + p.missing).c_str());
    return;
  }
  for (auto _ : state) p.loop(kInner);
  state.counters["GMACs"] =
      benchmark::Counter(p.macs_per_trip * kInner / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(p.what) + "; " + (Host().model.empty() ? "CPU model unknown" : Host().model));
}

const int registered = [] {
  const HostCpu& h = Host();
  const bool zmm_bw = h.avx512bw;
  std::string amx_missing;
  const bool amx = h.AmxInt8Usable(&amx_missing);
  static const std::string amx_reason = amx_missing;
  const Peak peaks[] = {
      {"vpdpbusd_zmm", LoopVpdpbusd, 24.0 * 64, "vpdpbusd zmm, 24 accumulators",
       h.avx512vnni ? nullptr : "the CPU has no AVX512-VNNI"},
      {"vpdpwssd_zmm", LoopVpdpwssd, 24.0 * 32, "vpdpwssd zmm, 24 accumulators",
       h.avx512vnni ? nullptr : "the CPU has no AVX512-VNNI"},
      {"pmaddubsw+pmaddwd", zmm_bw ? LoopMaddubsZmm : LoopMaddubsYmm, zmm_bw ? 12.0 * 64 : 6.0 * 32,
       zmm_bw ? "pmaddubsw+pmaddwd+paddd zmm, 12 accumulators" : "pmaddubsw+pmaddwd+paddd ymm, 6 accumulators",
       h.avx2 ? nullptr : "the CPU has no AVX2"},
      {"pmaddwd", zmm_bw ? LoopMaddwdZmm : LoopMaddwdYmm, zmm_bw ? 14.0 * 32 : 7.0 * 16,
       zmm_bw ? "pmaddwd+paddd zmm, 14 accumulators" : "pmaddwd+paddd ymm, 7 accumulators",
       h.avx2 ? nullptr : "the CPU has no AVX2"},
      {"vfmadd231ps", h.avx512f ? LoopFmaZmm : LoopFmaYmm, h.avx512f ? 24.0 * 16 : 14.0 * 8,
       h.avx512f ? "vfmadd231ps zmm, 24 accumulators" : "vfmadd231ps ymm, 14 accumulators",
       h.avx2 && h.fma ? nullptr : "the CPU has no AVX2 and FMA"},
      {"tdpbusd", LoopAmx<false>, 4.0 * 16 * 16 * 64, "tdpbusd, 4 accumulator tiles",
       amx ? nullptr : amx_reason.c_str()},
      {"tdpbssd", LoopAmx<true>, 4.0 * 16 * 16 * 64, "tdpbssd, 4 accumulator tiles",
       amx ? nullptr : amx_reason.c_str()},
  };
  for (const Peak& p : peaks) {
    benchmark::RegisterBenchmark((std::string("peak/") + p.name).c_str(), BM_Peak, p)
        ->Threads(1)
        ->Threads(2);
  }
  return 0;
}();

}  // namespace
}  // namespace tile32::bench

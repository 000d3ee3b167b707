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
// spilled every step. Every accumulator is its own dependency chain; the sources never change. The register
// lists are written once; a macro applies one instruction to each register of a list.
#define TILE32_R0_13(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11) F(12) F(13)
#define TILE32_R0_23(F) \
  TILE32_R0_13(F) F(14) F(15) F(16) F(17) F(18) F(19) F(20) F(21) F(22) F(23)
#define TILE32_R0_11(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11)
#define TILE32_R12_23(F) F(12) F(13) F(14) F(15) F(16) F(17) F(18) F(19) F(20) F(21) F(22) F(23)
#define TILE32_R14_27(F) F(14) F(15) F(16) F(17) F(18) F(19) F(20) F(21) F(22) F(23) F(24) F(25) F(26) F(27)
// Accumulator and its temporary: zmm r += zmm (r + 12) (or + 14, + 6, + 7).
#define TILE32_PAIRS_12(F) \
  F(0, 12) F(1, 13) F(2, 14) F(3, 15) F(4, 16) F(5, 17) F(6, 18) F(7, 19) F(8, 20) F(9, 21) F(10, 22) F(11, 23)
#define TILE32_PAIRS_14(F)                                                                                     \
  F(0, 14) F(1, 15) F(2, 16) F(3, 17) F(4, 18) F(5, 19) F(6, 20) F(7, 21) F(8, 22) F(9, 23) F(10, 24) F(11, 25) \
  F(12, 26) F(13, 27)
#define TILE32_PAIRS_6(F) F(0, 6) F(1, 7) F(2, 8) F(3, 9) F(4, 10) F(5, 11)
#define TILE32_PAIRS_7(F) F(0, 7) F(1, 8) F(2, 9) F(3, 10) F(4, 11) F(5, 12) F(6, 13)

#define TILE32_ZERO_ZMM(r) "vpxord %%zmm" #r ", %%zmm" #r ", %%zmm" #r "\n\t"
#define TILE32_ZERO_YMM(r) "vpxor %%ymm" #r ", %%ymm" #r ", %%ymm" #r "\n\t"
#define TILE32_ONES_ZMM(r) "vpternlogd $0xff, %%zmm" #r ", %%zmm" #r ", %%zmm" #r "\n\t"
#define TILE32_ONES_YMM(r) "vpcmpeqd %%ymm" #r ", %%ymm" #r ", %%ymm" #r "\n\t"
#define TILE32_VPDPBUSD(r) "vpdpbusd %%zmm31, %%zmm30, %%zmm" #r "\n\t"
#define TILE32_VPDPWSSD(r) "vpdpwssd %%zmm31, %%zmm30, %%zmm" #r "\n\t"
#define TILE32_MADDUBS_ZMM(t) "vpmaddubsw %%zmm31, %%zmm30, %%zmm" #t "\n\t"
#define TILE32_MADDUBS_YMM(t) "vpmaddubsw %%ymm15, %%ymm14, %%ymm" #t "\n\t"
#define TILE32_MADD_ONES_ZMM(t) "vpmaddwd %%zmm29, %%zmm" #t ", %%zmm" #t "\n\t"
#define TILE32_MADD_ONES_YMM(t) "vpmaddwd %%ymm13, %%ymm" #t ", %%ymm" #t "\n\t"
#define TILE32_MADD_ZMM(t) "vpmaddwd %%zmm31, %%zmm30, %%zmm" #t "\n\t"
#define TILE32_MADD_YMM(t) "vpmaddwd %%ymm15, %%ymm14, %%ymm" #t "\n\t"
#define TILE32_ADD_ZMM(a, t) "vpaddd %%zmm" #t ", %%zmm" #a ", %%zmm" #a "\n\t"
#define TILE32_ADD_YMM(a, t) "vpaddd %%ymm" #t ", %%ymm" #a ", %%ymm" #a "\n\t"
#define TILE32_FMA_ZMM(r) "vfmadd231ps %%zmm31, %%zmm30, %%zmm" #r "\n\t"
#define TILE32_FMA_YMM(r) "vfmadd231ps %%ymm15, %%ymm14, %%ymm" #r "\n\t"
#define TILE32_CLOBBER(r) "xmm" #r,
#define TILE32_CLOBBERS_16 TILE32_R0_13(TILE32_CLOBBER) "xmm14", "xmm15"
#define TILE32_CLOBBERS_32 \
  TILE32_R0_23(TILE32_CLOBBER) "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31"
// `setup` once, then `body` `trips` times.
#define TILE32_LOOP(setup, body, clobbers) \
  __asm__ volatile(setup "1:\n\t" body "dec %0\n\t" "jnz 1b" : "+r"(trips) : : clobbers, "cc")

__attribute__((target("avx512f,avx512vnni"))) void LoopVpdpbusd(int64_t trips) {
  TILE32_LOOP(TILE32_R0_23(TILE32_ZERO_ZMM) TILE32_ONES_ZMM(30) TILE32_ONES_ZMM(31), TILE32_R0_23(TILE32_VPDPBUSD),
              TILE32_CLOBBERS_32);
}

__attribute__((target("avx512f,avx512vnni"))) void LoopVpdpwssd(int64_t trips) {
  TILE32_LOOP(TILE32_R0_23(TILE32_ZERO_ZMM) TILE32_ONES_ZMM(30) TILE32_ONES_ZMM(31), TILE32_R0_23(TILE32_VPDPWSSD),
              TILE32_CLOBBERS_32);
}

__attribute__((target("avx512f,avx512bw"))) void LoopMaddubsZmm(int64_t trips) {
  TILE32_LOOP(TILE32_R0_11(TILE32_ZERO_ZMM) TILE32_ONES_ZMM(30) TILE32_ONES_ZMM(31) TILE32_ONES_ZMM(29),
              TILE32_R12_23(TILE32_MADDUBS_ZMM) TILE32_R12_23(TILE32_MADD_ONES_ZMM) TILE32_PAIRS_12(TILE32_ADD_ZMM),
              TILE32_CLOBBERS_32);
}

__attribute__((target("avx2"))) void LoopMaddubsYmm(int64_t trips) {
  TILE32_LOOP(TILE32_ZERO_YMM(0) TILE32_ZERO_YMM(1) TILE32_ZERO_YMM(2) TILE32_ZERO_YMM(3) TILE32_ZERO_YMM(4)
                  TILE32_ZERO_YMM(5) TILE32_ONES_YMM(13) TILE32_ONES_YMM(14) TILE32_ONES_YMM(15),
              TILE32_MADDUBS_YMM(6) TILE32_MADDUBS_YMM(7) TILE32_MADDUBS_YMM(8) TILE32_MADDUBS_YMM(9)
                  TILE32_MADDUBS_YMM(10) TILE32_MADDUBS_YMM(11) TILE32_MADD_ONES_YMM(6) TILE32_MADD_ONES_YMM(7)
                      TILE32_MADD_ONES_YMM(8) TILE32_MADD_ONES_YMM(9) TILE32_MADD_ONES_YMM(10)
                          TILE32_MADD_ONES_YMM(11) TILE32_PAIRS_6(TILE32_ADD_YMM),
              TILE32_CLOBBERS_16);
}

__attribute__((target("avx512f,avx512bw"))) void LoopMaddwdZmm(int64_t trips) {
  TILE32_LOOP(TILE32_R0_13(TILE32_ZERO_ZMM) TILE32_ONES_ZMM(30) TILE32_ONES_ZMM(31),
              TILE32_R14_27(TILE32_MADD_ZMM) TILE32_PAIRS_14(TILE32_ADD_ZMM), TILE32_CLOBBERS_32);
}

__attribute__((target("avx2"))) void LoopMaddwdYmm(int64_t trips) {
  TILE32_LOOP(TILE32_ZERO_YMM(0) TILE32_ZERO_YMM(1) TILE32_ZERO_YMM(2) TILE32_ZERO_YMM(3) TILE32_ZERO_YMM(4)
                  TILE32_ZERO_YMM(5) TILE32_ZERO_YMM(6) TILE32_ONES_YMM(14) TILE32_ONES_YMM(15),
              TILE32_MADD_YMM(7) TILE32_MADD_YMM(8) TILE32_MADD_YMM(9) TILE32_MADD_YMM(10) TILE32_MADD_YMM(11)
                  TILE32_MADD_YMM(12) TILE32_MADD_YMM(13) TILE32_PAIRS_7(TILE32_ADD_YMM),
              TILE32_CLOBBERS_16);
}

// The fp32 loops start from zeros everywhere: zero is not a denormal, so no microcode assists.
__attribute__((target("avx512f"))) void LoopFmaZmm(int64_t trips) {
  TILE32_LOOP(TILE32_R0_23(TILE32_ZERO_ZMM) TILE32_ZERO_ZMM(30) TILE32_ZERO_ZMM(31), TILE32_R0_23(TILE32_FMA_ZMM),
              TILE32_CLOBBERS_32);
}

__attribute__((target("avx2,fma"))) void LoopFmaYmm(int64_t trips) {
  TILE32_LOOP(TILE32_R0_13(TILE32_ZERO_YMM) TILE32_ZERO_YMM(14) TILE32_ZERO_YMM(15), TILE32_R0_13(TILE32_FMA_YMM),
              TILE32_CLOBBERS_16);
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

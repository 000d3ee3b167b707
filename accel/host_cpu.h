// What the host CPU can run beyond Highway's targets: the exact integer and fp32 instructions the SIMD machine
// and the peak benchmarks use, and whether Intel AMX is usable (the CPU has it, the OS saves its state, and
// Linux granted this process the tile data permission). Read once, at first use.
#pragma once

#include <cstdint>
#include <string>

namespace tile32 {

struct HostCpu {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vnni = false, avx512bf16 = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;  // CPUID leaf 7, EDX bits 24, 25, 22
  bool amx_os = false;       // XCR0 bits 17 and 18: the OS saves and restores the tile state
  bool amx_granted = false;  // arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) returned 0
  std::string model;         // the CPU's brand string
  uint64_t l2_bytes = 1 << 20;  // one core's L2 cache (sysconf), 1 MiB where the OS does not say

  // AMX-INT8 can run in this process; otherwise `why_not` says what is missing.
  bool AmxInt8Usable(std::string* why_not = nullptr) const;
};

// The host, probed once (the first call asks Linux for the AMX tile permission when the CPU and OS have AMX).
const HostCpu& Host();

}  // namespace tile32

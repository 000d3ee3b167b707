// accel/host_cpu.h: CPUID, XGETBV and Linux's arch_prctl, the way the kernel's AMX documentation describes.
#include "accel/host_cpu.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace tile32 {
namespace {

constexpr int kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;

bool Bit(uint32_t reg, int bit) { return (reg >> bit) & 1u; }

// XCR0 (the OS-enabled state components); 0 when the OS does not enable XSAVE.
uint64_t Xcr0(bool osxsave) {
  if (!osxsave) return 0;
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

bool RequestTileData() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return false;
  uint64_t granted = 0;
  return syscall(SYS_arch_prctl, kArchGetXcompPerm, &granted) == 0 && ((granted >> kXfeatureXtiledata) & 1u);
#else
  return false;
#endif
}

HostCpu Probe() {
  HostCpu h;
  uint32_t a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return h;
  __cpuid_count(1, 0, a, b, c, d);
  const bool osxsave = Bit(c, 27);
  h.fma = Bit(c, 12);
  const uint64_t xcr0 = Xcr0(osxsave);
  const bool ymm_os = (xcr0 & 0x6) == 0x6, zmm_os = (xcr0 & 0xe6) == 0xe6;
  __cpuid_count(7, 0, a, b, c, d);
  h.avx2 = ymm_os && Bit(b, 5);
  h.fma = h.fma && ymm_os;
  h.avx512f = zmm_os && Bit(b, 16);
  h.avx512bw = h.avx512f && Bit(b, 30);
  h.avx512vnni = h.avx512f && Bit(c, 11);
  h.amx_bf16 = Bit(d, 22), h.amx_tile = Bit(d, 24), h.amx_int8 = Bit(d, 25);
  uint32_t a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  __cpuid_count(7, 1, a1, b1, c1, d1);
  h.avx512bf16 = h.avx512f && Bit(a1, 5);
  h.amx_os = (xcr0 & (uint64_t{3} << 17)) == (uint64_t{3} << 17);
  if (h.amx_tile && h.amx_os) h.amx_granted = RequestTileData();
  char brand[49] = {};
  if (__get_cpuid_max(0x80000000u, nullptr) >= 0x80000004u) {
    for (uint32_t leaf = 0; leaf < 3; ++leaf) {
      uint32_t r[4];
      __cpuid(0x80000002u + leaf, r[0], r[1], r[2], r[3]);
      std::memcpy(brand + 16 * leaf, r, 16);
    }
  }
  h.model = brand;
  while (!h.model.empty() && h.model.front() == ' ') h.model.erase(0, 1);
#if defined(_SC_LEVEL2_CACHE_SIZE)
  const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (l2 > 0) h.l2_bytes = static_cast<uint64_t>(l2);
#endif
  return h;
}

}  // namespace

bool HostCpu::AmxInt8Usable(std::string* why_not) const {
  const char* reason = !amx_tile || !amx_int8 ? "the CPU has no AMX-TILE/AMX-INT8 (CPUID leaf 7 EDX bits 24, 25)"
                       : !amx_os              ? "the OS does not enable the tile state (XCR0 bits 17, 18)"
                       : !amx_granted         ? "Linux refused the tile data permission (arch_prctl ARCH_REQ_XCOMP_PERM)"
                                              : nullptr;
  if (reason != nullptr && why_not != nullptr) *why_not = reason;
  return reason == nullptr;
}

const HostCpu& Host() {
  static const HostCpu host = Probe();
  return host;
}

}  // namespace tile32

// accel/host_cpu.h against GCC's own CPU detection, and AMX's reason when it cannot run.
#include "accel/host_cpu.h"

#include <gtest/gtest.h>

namespace tile32 {
namespace {

TEST(HostCpu, AgreesWithTheCompilersDetection) {
  const HostCpu& h = Host();
  __builtin_cpu_init();
  EXPECT_EQ(h.avx2, bool(__builtin_cpu_supports("avx2")));
  EXPECT_EQ(h.avx512f, bool(__builtin_cpu_supports("avx512f")));
  EXPECT_EQ(h.avx512bw, bool(__builtin_cpu_supports("avx512bw")));
  EXPECT_EQ(h.avx512vnni, bool(__builtin_cpu_supports("avx512vnni")));
  EXPECT_TRUE(!h.avx512vnni || h.avx512f);
  EXPECT_FALSE(h.model.empty());
}

TEST(HostCpu, AmxIsUsableOrSaysWhyNot) {
  const HostCpu& h = Host();
  std::string why;
  const bool usable = h.AmxInt8Usable(&why);
  EXPECT_EQ(usable, h.amx_tile && h.amx_int8 && h.amx_os && h.amx_granted);
  EXPECT_EQ(usable, why.empty()) << why;
  if (!usable) std::printf("AMX-INT8 cannot run on this host: %s\n", why.c_str());
}

}  // namespace
}  // namespace tile32

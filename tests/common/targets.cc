#include "tests/common/targets.h"

#include <hwy/targets.h>

#include "accel/simd_machine.h"

namespace tile32::test {

std::vector<int64_t> TargetsToTest() {
  // Compiled here with the same HWY_TARGETS as the library (HWY_WANT_AVX3_DL is a PUBLIC definition of
  // tile32), so these are exactly the targets SimdMachine can be forced to.
  std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  if (targets.empty()) targets.push_back(HWY_STATIC_TARGET);
  return targets;
}

std::string TargetName(int64_t target) { return hwy::TargetName(target); }

std::string TargetParamName(const ::testing::TestParamInfo<int64_t>& info) { return TargetName(info.param); }

ScopedTarget::ScopedTarget(int64_t target) : target_(target) { ForceSimdTarget(target); }

ScopedTarget::~ScopedTarget() { ForceSimdTarget(0); }

}  // namespace tile32::test

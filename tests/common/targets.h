// The Highway targets a test runs the SIMD machine on: every target compiled into this binary that this
// CPU supports (hwy::SupportedAndGeneratedTargets), each forced in turn with tile32::ForceSimdTarget.
//
//   class MyTest : public ::testing::TestWithParam<int64_t> {};
//   TEST_P(MyTest, Works) { tile32::test::ScopedTarget target(GetParam()); SimdMachine m(config); ... }
//   INSTANTIATE_TEST_SUITE_P(Targets, MyTest, ::testing::ValuesIn(tile32::test::TargetsToTest()),
//                            tile32::test::TargetParamName);
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tile32::test {

// One HWY_* bit per target, best first (Highway's order). Never empty. The environment variable
// TILE32_TEST_TARGETS (comma-separated names, e.g. AVX3_DL,AVX3) narrows it; an unknown or unsupported
// name exits with status 2.
std::vector<int64_t> TargetsToTest();

// Highway's name of one target bit ("AVX2", "SSE4", "EMU128", ...).
std::string TargetName(int64_t target);

// Names a parameterized instance after its target, e.g. RandomPrograms/AVX2.
std::string TargetParamName(const ::testing::TestParamInfo<int64_t>& info);

// Forces SIMD dispatch to one target for its lifetime (tile32::ForceSimdTarget), back to the default
// (ForceSimdTarget(0)) on destruction.
class ScopedTarget {
 public:
  explicit ScopedTarget(int64_t target);
  ~ScopedTarget();
  ScopedTarget(const ScopedTarget&) = delete;
  ScopedTarget& operator=(const ScopedTarget&) = delete;

  int64_t target() const { return target_; }
  std::string name() const { return TargetName(target_); }

 private:
  int64_t target_;
};

}  // namespace tile32::test

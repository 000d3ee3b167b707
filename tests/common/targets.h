// The Highway targets a test runs the SIMD machine on: every target compiled into this binary that this
// CPU supports (hwy::SupportedAndGeneratedTargets), each forced in turn with tile32::ForceSimdTarget, and
// the INT8 TMAC paths beside them (the AMX path, tile32::ForceTmacPath).
//
//   class MyTest : public ::testing::TestWithParam<int64_t> {};
//   TEST_P(MyTest, Works) { tile32::test::ScopedTarget target(GetParam()); SimdMachine m(config); ... }
//   INSTANTIATE_TEST_SUITE_P(Targets, MyTest, ::testing::ValuesIn(tile32::test::TargetsToTest()),
//                            tile32::test::TargetParamName);
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "accel/simd_machine.h"

namespace tile32::test {

// Bits beside a Highway target's bit that also force SimdMachine's INT8 TMAC path (tile32::ForceTmacPath):
// the AMX path on the host's tile unit, or on its software model. Highway leaves bits 39-42 unused.
inline constexpr int64_t kAmxBit = int64_t{1} << 40;
inline constexpr int64_t kAmxSoftwareBit = int64_t{1} << 41;

// One HWY_* bit per target, best first (Highway's order), then, where this host runs AMX-INT8, the best
// target with kAmxBit (its AMX path; the rows AMX does not take on that target). Never empty. The
// environment variable TILE32_TEST_TARGETS (comma-separated names, e.g. AVX3_DL,AVX3_DL_AMX) narrows it; an
// unknown or unsupported name exits with status 2.
std::vector<int64_t> TargetsToTest();

// The AMX variants beyond TargetsToTest, for the tests that must exercise the AMX path on every host: the
// best target with kAmxSoftwareBit (the AMX path's blocking, layouts and addresses on the software tile
// unit). Tests that run these also call ReportAmxCoverage.
std::vector<int64_t> AmxVariantsToTest();

// Prints "AMX path not run on this host: <why>" (once per process) where the host cannot run AMX-INT8, so
// that a test run says what it did not cover; returns whether the hardware AMX path is tested here.
bool ReportAmxCoverage();

// Highway's name of one target bit ("AVX2", "SSE4", "EMU128", ...), with "_AMX" or "_AMX_SOFTWARE" for the
// variants.
std::string TargetName(int64_t target);

// Names a parameterized instance after its target, e.g. RandomPrograms/AVX2.
std::string TargetParamName(const ::testing::TestParamInfo<int64_t>& info);

// Forces SIMD dispatch to one target for its lifetime (tile32::ForceSimdTarget), and for the AMX variants
// the TMAC path (tile32::ForceTmacPath), back to the default (ForceSimdTarget(0)) and the path before on
// destruction.
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
  TmacPath path_before_;
};

// Runs `run` on a fresh SimdMachine(config) under every target of TargetsToTest and AmxVariantsToTest, on one
// and on two threads; the first difference from `want` (test::FirstDifference), prefixed with the target and
// the threads, or "" when every run matches.
std::string FirstDifferenceOnEveryPath(const AccelConfig& config, const std::function<void(ScalarMachine&)>& run,
                                       const ScalarMachine& want);

}  // namespace tile32::test

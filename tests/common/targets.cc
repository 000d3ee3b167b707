#include "tests/common/targets.h"

#include <hwy/targets.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "accel/host_cpu.h"
#include "accel/simd_machine.h"
#include "tests/common/machine_state.h"

namespace tile32::test {

std::vector<int64_t> TargetsToTest() {
  // Compiled here with the same HWY_TARGETS as the library (HWY_WANT_AVX3_DL is a PUBLIC definition of
  // tile32), so these are exactly the targets SimdMachine can be forced to.
  std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  if (targets.empty()) targets.push_back(HWY_STATIC_TARGET);
  if (Host().AmxInt8Usable()) targets.push_back(targets.front() | kAmxBit);
  // TILE32_TEST_TARGETS=AVX3_DL,AVX3 keeps only the named targets (for runs under a slow emulator, where
  // the others are tested natively anyway). A name this CPU cannot run is an error, not a silent skip.
  const char* only = std::getenv("TILE32_TEST_TARGETS");
  if (only == nullptr || *only == '\0') return targets;
  std::vector<int64_t> kept;
  std::stringstream names(only);
  std::string name;
  while (std::getline(names, name, ',')) {
    auto it = std::find_if(targets.begin(), targets.end(), [&](int64_t t) { return TargetName(t) == name; });
    if (it == targets.end()) {
      std::fprintf(stderr, "TILE32_TEST_TARGETS: '%s' is not a target compiled in and supported here\n", name.c_str());
      std::exit(2);
    }
    kept.push_back(*it);
  }
  return kept;
}

std::vector<int64_t> AmxVariantsToTest() {
  std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  return {(targets.empty() ? HWY_STATIC_TARGET : targets.front()) | kAmxSoftwareBit};
}

bool ReportAmxCoverage() {
  std::string why;
  if (Host().AmxInt8Usable(&why)) return true;
  static const bool printed = (std::printf("AMX path not run on this host: %s (its software model runs instead)\n",
                                           why.c_str()),
                               true);
  (void)printed;
  return false;
}

std::string TargetName(int64_t target) {
  const std::string name = hwy::TargetName(target & ~(kAmxBit | kAmxSoftwareBit));
  return name + ((target & kAmxBit) ? "_AMX" : (target & kAmxSoftwareBit) ? "_AMX_SOFTWARE" : "");
}

std::string TargetParamName(const ::testing::TestParamInfo<int64_t>& info) { return TargetName(info.param); }

ScopedTarget::ScopedTarget(int64_t target) : target_(target), path_before_(ForcedTmacPath()) {
  if (target & kAmxBit) ForceTmacPath(TmacPath::kAmx);
  if (target & kAmxSoftwareBit) ForceTmacPath(TmacPath::kAmxSoftware);
  ForceSimdTarget(target & ~(kAmxBit | kAmxSoftwareBit));
}

ScopedTarget::~ScopedTarget() {
  ForceSimdTarget(0);
  ForceTmacPath(path_before_);
}

std::string FirstDifferenceOnEveryPath(const AccelConfig& config, const std::function<void(ScalarMachine&)>& run,
                                       const ScalarMachine& want) {
  std::vector<int64_t> targets = TargetsToTest();
  for (int64_t t : AmxVariantsToTest()) targets.push_back(t);
  for (int64_t target : targets) {
    ScopedTarget scoped(target);
    for (int threads : {1, 2}) {
      SimdMachine got(config);
      tbb::task_arena arena(threads);
      arena.execute([&] { run(got); });
      const std::string diff = FirstDifference(got, want);
      if (!diff.empty()) return scoped.name() + ", " + std::to_string(threads) + " threads: " + diff;
    }
  }
  return "";
}

}  // namespace tile32::test

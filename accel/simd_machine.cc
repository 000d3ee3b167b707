// DEV STUB (never committed): SimdMachine as a thin ScalarMachine subclass.
#include "accel/simd_machine.h"
#include <hwy/targets.h>
namespace tile32 {
SimdMachine::SimdMachine(const AccelConfig& config) : ScalarMachine(config) {}
SimdMachine::~SimdMachine() = default;
void SimdMachine::Do(const TileLoad& i) { ScalarMachine::Do(i); }
void SimdMachine::Do(const TileMac& i) { ScalarMachine::Do(i); }
void SimdMachine::Do(const ElemMac& i) { ScalarMachine::Do(i); }
void SimdMachine::Do(const Requant& i) { ScalarMachine::Do(i); }
void SimdMachine::Do(const AccStore& i) { ScalarMachine::Do(i); }
void SimdMachine::Do(const VAlu& i) { ScalarMachine::Do(i); }
SimdTargets ListSimdTargets() {
  SimdTargets t;
  for (int64_t b : hwy::SupportedAndGeneratedTargets()) t.supported.push_back({b, hwy::TargetName(b)});
  t.compiled = t.supported;
  t.dispatched = t.supported.empty() ? SimdTarget{} : t.supported.front();
  return t;
}
void ForceSimdTarget(int64_t target) { hwy::SetSupportedTargetsForTest(target); }
}  // namespace tile32

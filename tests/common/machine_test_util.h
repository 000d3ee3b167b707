// Shared fixtures of the machine tests (tests/unit/machine_*_test.cc): the parameterized fixture that runs
// each test on the scalar machine and on the SIMD machine forced to every Highway target this CPU supports,
// a small configuration, and helpers that read and set SRAM, vector registers and ACC rows.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "tests/common/targets.h"

namespace tile32::test::machine_test {

// 0 = the scalar machine, else the SIMD machine on that Highway target.
inline std::vector<int64_t> MachineKinds() {
  std::vector<int64_t> kinds = {0};
  for (int64_t t : TargetsToTest()) kinds.push_back(t);
  return kinds;
}

inline std::string KindName(const ::testing::TestParamInfo<int64_t>& info) {
  return info.param == 0 ? std::string("scalar") : "simd_" + TargetName(info.param);
}

inline AccelConfig SmallConfig(bool check_overflow = false) {
  AccelConfig c;
  c.sram_bytes = 1u << 16;
  c.vector_regs = 8;
  c.tile_regs = 6;
  c.acc_rows = 32;
  c.check_overflow = check_overflow;
  return c;
}

class MachineTest : public ::testing::TestWithParam<int64_t> {
 protected:
  void SetUp() override {
    if (GetParam() != 0) target_ = std::make_unique<ScopedTarget>(GetParam());
  }

  std::unique_ptr<ScalarMachine> Make(const AccelConfig& c) {
    if (GetParam() == 0) return std::make_unique<ScalarMachine>(c);
    return std::make_unique<SimdMachine>(c);
  }

  std::unique_ptr<ScopedTarget> target_;
};

inline void Put16(ScalarMachine& m, uint32_t addr, uint16_t v) {
  std::memcpy(m.sram().data() + addr, &v, 2);
}
inline void Put32(ScalarMachine& m, uint32_t addr, uint32_t v) {
  std::memcpy(m.sram().data() + addr, &v, 4);
}
inline uint32_t Get32(const ScalarMachine& m, uint32_t addr) {
  uint32_t v;
  std::memcpy(&v, m.sram().data() + addr, 4);
  return v;
}
inline int32_t Acc(const ScalarMachine& m, uint32_t row, int lane) {
  return static_cast<int32_t>(m.acc_row(row)[lane]);
}
inline int32_t V(const ScalarMachine& m, int v, int lane) { return static_cast<int32_t>(m.vreg(v)[lane]); }

// Sets V[v] to `lanes` through SRAM scratch at `scratch` (VLD.i32).
inline void SetV(ScalarMachine& m, int v, const std::array<int32_t, kLanes>& lanes, uint32_t scratch = 60000) {
  for (int j = 0; j < kLanes; ++j) Put32(m, scratch + 4 * j, static_cast<uint32_t>(lanes[j]));
  VLoad ld;
  ld.vd = static_cast<uint8_t>(v);
  ld.type = DType::kI32;
  ld.addr = scratch;
  ld.stride = 4;
  m.Execute(ld);
}

// Loads ACC[row] with `lanes` through SRAM scratch (ACC_LD).
inline void SetAcc(ScalarMachine& m, uint32_t row, const std::array<int32_t, kLanes>& lanes, uint32_t scratch = 60000) {
  for (int j = 0; j < kLanes; ++j) Put32(m, scratch + 4 * j, static_cast<uint32_t>(lanes[j]));
  AccLoad ld;
  ld.row = row;
  ld.addr = scratch;
  m.Execute(ld);
}

inline std::array<int32_t, kLanes> Fill(int32_t v) {
  std::array<int32_t, kLanes> a;
  a.fill(v);
  return a;
}

}  // namespace tile32::test::machine_test

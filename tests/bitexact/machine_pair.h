// The bit-exact suites' comparison (tests/bitexact): a scalar and a SIMD machine run the same program from
// the same images, and their whole state is compared after each instruction or at chosen checkpoints.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "accel/scalar_machine.h"
#include "accel/simd_machine.h"
#include "tests/common/random_program.h"

namespace tile32::test {

// A scalar and a SIMD machine with the same configuration, images and their own DRAM buffers.
class MachinePair {
 public:
  MachinePair(const AccelConfig& c, const RandomProgram& p);

  ScalarMachine& ref() { return ref_; }
  SimdMachine& simd() { return simd_; }

  // Executes `ins` on both machines; "" when they agree (and, for an instruction that must be rejected,
  // both rejected it and changed nothing), else what went wrong.
  std::string Step(const Instr& ins, bool must_reject);
  // Executes a valid instruction on both machines without comparing: "" or what went wrong.
  std::string Run(const Instr& ins);
  // "" when every register, ACC row, SRAM and DRAM byte, the flag, Q and the counters agree.
  std::string Compare() const;

 private:
  ScalarMachine ref_;
  SimdMachine simd_;
  std::vector<uint8_t> ref_rw_, ref_ro_, simd_rw_, simd_ro_;
};

inline constexpr uint64_t kCompareAtEnd = ~uint64_t{0};  // a checkpoint seed: compare after the last instruction only

// Runs `p` on both machines, comparing after every instruction, or with `checkpoint_seed` only after some
// (about one in six, chosen by the seed) and the last: reading the SIMD machine's state completes its
// deferred batches, so only the sparse comparisons let batches of several instructions form. Returns ""
// or a replayable report; `keep` receives the machines.
std::string RunAndCompare(const AccelConfig& c, const RandomProgram& p, const std::string& label,
                          std::unique_ptr<MachinePair>* keep = nullptr, std::optional<uint64_t> checkpoint_seed = {});

}  // namespace tile32::test

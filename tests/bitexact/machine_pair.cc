// The bit-exact suites' comparison of a scalar and a SIMD machine (tests/bitexact/machine_pair.h).
#include "tests/bitexact/machine_pair.h"

#include <exception>
#include <random>
#include <utility>

#include "accel/error.h"
#include "tests/common/machine_state.h"

namespace tile32::test {
namespace {

// Runs one instruction, returning "" or "error: <what()>".
std::string ExecuteCatching(Machine& m, const Instr& i) {
  try {
    m.Execute(i);
    return "";
  } catch (const Error& e) {
    return std::string("error: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("unexpected exception (not tile32::Error): ") + e.what();
  }
}

// What both machines must agree on for a rejected instruction: the text before the first ':' (the
// instruction name, e.g. "error: VLD").
std::string ErrorPrefix(const std::string& e) { return e.substr(0, e.find(':', 7)); }

}  // namespace

MachinePair::MachinePair(const AccelConfig& c, const RandomProgram& p)
    : ref_(c), simd_(c), ref_rw_(p.dram_rw), ref_ro_(p.dram_ro), simd_rw_(p.dram_rw), simd_ro_(p.dram_ro) {
  ref_.sram().assign(p.sram.begin(), p.sram.end());
  simd_.sram().assign(p.sram.begin(), p.sram.end());
  ref_.BindDram(kDramRwSegment, ref_rw_.data(), ref_rw_.size());
  ref_.BindDramReadOnly(kDramRoSegment, ref_ro_.data(), ref_ro_.size());
  simd_.BindDram(kDramRwSegment, simd_rw_.data(), simd_rw_.size());
  simd_.BindDramReadOnly(kDramRoSegment, simd_ro_.data(), simd_ro_.size());
}

std::string MachinePair::Step(const Instr& ins, bool must_reject) {
  std::optional<MachineState> ref_before, simd_before;
  std::vector<uint8_t> ref_rw_before, simd_rw_before;
  if (must_reject) {
    ref_before = Snapshot(ref_);
    simd_before = Snapshot(simd_);
    ref_rw_before = ref_rw_;
    simd_rw_before = simd_rw_;
  }
  const std::string er = ExecuteCatching(ref_, ins);
  const std::string es = ExecuteCatching(simd_, ins);
  if (must_reject) {
    if (er.empty()) return "the scalar machine accepted an instruction that must be rejected";
    if (es.empty()) return "the SIMD machine accepted an instruction the scalar machine rejects (" + er + ")";
    if (ErrorPrefix(er) != ErrorPrefix(es)) return "different errors: scalar '" + er + "', SIMD '" + es + "'";
    std::string d = FirstDifference(*ref_before, Snapshot(ref_));
    if (d.empty()) d = FirstDifference(ref_rw_before, ref_rw_, "DRAM segment 0");
    if (!d.empty()) return "the scalar machine changed state on a rejected instruction: " + d;
    d = FirstDifference(*simd_before, Snapshot(simd_));
    if (d.empty()) d = FirstDifference(simd_rw_before, simd_rw_, "DRAM segment 0");
    if (!d.empty()) return "the SIMD machine changed state on a rejected instruction: " + d;
  } else {
    if (!er.empty()) return "test generator bug: the scalar machine rejects a generated instruction: " + er;
    if (!es.empty()) return "the SIMD machine rejects a valid instruction: " + es;
  }
  return Compare();
}

std::string MachinePair::Run(const Instr& ins) {
  const std::string er = ExecuteCatching(ref_, ins);
  if (!er.empty()) return "test generator bug: the scalar machine rejects a generated instruction: " + er;
  const std::string es = ExecuteCatching(simd_, ins);
  return es.empty() ? "" : "the SIMD machine rejects a valid instruction: " + es;
}

std::string MachinePair::Compare() const {
  std::string d = FirstDifference(ref_, simd_);
  if (d.empty()) d = FirstDifference(ref_rw_, simd_rw_, "DRAM segment 0");
  if (d.empty()) d = FirstDifference(ref_ro_, simd_ro_, "DRAM segment 3 (read-only)");
  return d.empty() ? "" : "first difference (scalar vs SIMD): " + d;
}

std::string RunAndCompare(const AccelConfig& c, const RandomProgram& p, const std::string& label,
                          std::unique_ptr<MachinePair>* keep, std::optional<uint64_t> checkpoint_seed) {
  auto pair = std::make_unique<MachinePair>(c, p);
  std::string failure;
  std::mt19937_64 checkpoints(checkpoint_seed.value_or(0));
  for (size_t i = 0; i < p.program.size() && failure.empty(); ++i) {
    const bool compare = !checkpoint_seed || p.invalid[i] || i + 1 == p.program.size() ||
                         (*checkpoint_seed != kCompareAtEnd && checkpoints() % 6 == 0);
    const std::string d = compare ? pair->Step(p.program[i], p.invalid[i]) : pair->Run(p.program[i]);
    if (!d.empty()) {
      failure = label + ": after instruction #" + std::to_string(i) + " " + ToString(p.program[i]) +
                (p.invalid[i] ? " (invalid by construction)" : "") + "\n  " + d;
    }
  }
  if (keep != nullptr) *keep = std::move(pair);
  return failure;
}

}  // namespace tile32::test

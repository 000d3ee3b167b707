// Every operator of kernels/operators.inc on every machine: the scalar reference and the SIMD machine
// forced to each Highway target this CPU supports, against the textbook loops (a few representative cases
// per operator, tests/common/operator_samples.h; each operator's own test file has its full edge grid).
#include <gtest/gtest.h>

#include "tests/common/machine_test_util.h"
#include "tests/common/operator_samples.h"

namespace tile32::test {
namespace {

class Operators : public machine_test::MachineTest {};

#define TILE32_OPERATOR(name, kind, what)                             \
  TEST_P(Operators, name) {                                         \
    auto machine = Make(AccelConfig::Default());                     \
    OperatorSamples##name(*machine);                                 \
  }
#include "kernels/operators.inc"
#undef TILE32_OPERATOR

INSTANTIATE_TEST_SUITE_P(Machines, Operators, ::testing::ValuesIn(machine_test::MachineKinds()),
                         machine_test::KindName);

}  // namespace
}  // namespace tile32::test

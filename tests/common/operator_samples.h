// A few representative cases of each operator of kernels/operators.inc, run on one machine and compared
// byte for byte with the textbook (gtest failures name the case and its seed). tests/unit/operators_test.cc
// runs them on every machine; adding an operator to the list needs its OperatorSamples<Name> here.
#pragma once

#include "accel/machine.h"

namespace tile32::test {

#define TILE32_OPERATOR(name, kind, what) void OperatorSamples##name(Machine& machine);
#include "kernels/operators.inc"
#undef TILE32_OPERATOR

}  // namespace tile32::test

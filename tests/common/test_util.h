// Small helpers shared by the tests: replayable seeds, error-message checks and AddressSanitizer detection.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "accel/error.h"
#include "kernels/output_quant.h"
#include "tests/common/reference.h"

// TILE32_TEST_ASAN is defined in AddressSanitizer builds (GCC or Clang), where tests scale their work down.
#if defined(__SANITIZE_ADDRESS__)
#define TILE32_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TILE32_TEST_ASAN 1
#endif
#endif

namespace tile32::testing {

// The test's fixed seed, or TILE32_SEED when set (so a printed seed replays a failure).
inline uint64_t TestSeed(uint64_t fixed) {
  const char* env = std::getenv("TILE32_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 0) : fixed;
}

// f() must throw tile32::Error whose message contains `needle`.
template <typename F>
void ExpectErrorMentioning(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected tile32::Error mentioning '" << needle << "', nothing was thrown";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
  }
}

// The kernels' view of a reference quantization (per tensor: element 0 of each array).
inline OutputQuant KernelQuant(const RefQuant& q, bool per_channel) {
  OutputQuant k;
  k.mode = q.mode;
  k.per_channel = per_channel;
  k.multiplier = q.multiplier.data();
  k.shift = q.shift.data();
  k.scale = q.scale.data();
  k.zero_point = q.zero_point;
  k.qmin = q.qmin;
  k.qmax = q.qmax;
  return k;
}

}  // namespace tile32::testing

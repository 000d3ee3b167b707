// Internal to the random program generator (tests/common/random_program.cc and random_data.cc, both behind
// tests/common/random_program.h): the random primitives and the few value generators both halves use.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>

#include "accel/config.h"
#include "accel/isa.h"

namespace tile32::test::random_detail {

using Rng = std::mt19937_64;

inline constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
inline constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();

// Uniform integer in [lo, hi].
inline int64_t Range(Rng& r, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(r);
}
inline bool Chance(Rng& r, double p) {
  return std::uniform_real_distribution<double>(0, 1)(r) < p;
}
template <typename T>
inline T Pick(Rng& r, std::initializer_list<T> values) {
  return *(values.begin() + Range(r, 0, static_cast<int64_t>(values.size()) - 1));
}

inline void Put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void Put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

inline uint16_t Bf16Moderate(Rng& r) {
  const uint16_t sign = Chance(r, 0.5) ? 0x8000 : 0;
  const uint16_t exp = static_cast<uint16_t>(Range(r, 118, 136));
  return static_cast<uint16_t>(sign | (exp << 7) | Range(r, 0, 127));
}

inline uint32_t F32Special(Rng& r) {
  switch (Range(r, 0, 3)) {
    case 0:
      return Pick<uint32_t>(r, {0x7F800001u, 0x7FC00000u, 0xFFC00001u, 0x7FFFFFFFu, 0xFF800000u, 0x7F800000u,
                                0x80000000u, 0x00000000u, 0x00000001u, 0x807FFFFFu, 0x00800000u, 0x7F7FFFFFu,
                                0xFF7FFFFFu, 0x7F7F8000u, 0x00008000u, 0x00018000u});
    case 1: {  // on or next to a bf16 rounding tie
      const uint32_t hi = static_cast<uint32_t>(Bf16Moderate(r)) << 16;
      return hi | Pick<uint32_t>(r, {0x8000u, 0x7FFFu, 0x8001u, 0x0000u, 0xFFFFu});
    }
    case 2: return static_cast<uint32_t>(Bf16Moderate(r)) << 16 | static_cast<uint32_t>(Range(r, 0, 0xFFFF));
    default: return static_cast<uint32_t>(r());
  }
}

inline uint32_t ExtremeI32(Rng& r) {
  switch (Range(r, 0, 3)) {
    case 0: return static_cast<uint32_t>(kI32Max - Range(r, 0, 70000));
    case 1: return static_cast<uint32_t>(kI32Min + Range(r, 0, 70000));
    case 2:
      return static_cast<uint32_t>(Pick<int32_t>(r, {kI32Min, kI32Max, 0, -1, 1, 1 << 30, -(1 << 30), (1 << 30) - 1}));
    default: return static_cast<uint32_t>(r());
  }
}

inline void OutRange(DType out, int32_t* lo, int32_t* hi) {
  switch (out) {
    case DType::kI8: *lo = -128, *hi = 127; return;
    case DType::kU8: *lo = 0, *hi = 255; return;
    default: *lo = -32768, *hi = 32767; return;
  }
}

inline bool Accepts(const QuantConfig& q, DType out) {
  int32_t lo, hi;
  OutRange(out, &lo, &hi);
  return q.zero_point >= lo && q.zero_point <= hi && q.qmin >= lo && q.qmax <= hi;
}

}  // namespace tile32::test::random_detail

// The scalar numeric contract of docs/isa.md §2, §4 and §5, written once as plain C++. The scalar machine
// is built from these; the SIMD machine must match them bit for bit (and uses them for its rare slow paths).
#pragma once

#include <cstdint>
#include <cstring>

#include "accel/isa.h"

namespace tile32 {

inline float BitsToF32(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
inline uint32_t F32ToBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

inline constexpr uint32_t kCanonicalNanF32 = 0x7FC00000u;
inline constexpr uint16_t kCanonicalNanBF16 = 0x7FC0u;

// §2: bf16 widens exactly by a 16-bit shift.
inline uint32_t Bf16ToF32Bits(uint16_t b) { return uint32_t{b} << 16; }

// §2.1: fp32 -> bf16, round to nearest even, every NaN -> 0x7FC0.
inline uint16_t F32BitsToBf16(uint32_t f) {
  if ((f & 0x7FFFFFFFu) > 0x7F800000u) return kCanonicalNanBF16;
  return static_cast<uint16_t>((f + 0x7FFFu + ((f >> 16) & 1u)) >> 16);
}

inline uint32_t CanonicalizeNan(uint32_t f) { return (f & 0x7FFFFFFFu) > 0x7F800000u ? kCanonicalNanF32 : f; }

inline int32_t Wrap32(int64_t x) { return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(x))); }

// §2: an element of type t at p, widened to a 32-bit lane.
uint32_t WidenElement(DType t, const uint8_t* p);
// §2: a 32-bit lane narrowed to type t and stored at p.
void NarrowElement(DType t, uint32_t lane, uint8_t* p);

// §6.1: one lane of a VALU or AALU operation: the wrapped int32 result; *exceeds set when the exact
// result lies outside int32 (the overflow flag's condition, §6.3).
int32_t AluLane(AluOp op, int32_t a, int32_t b, int32_t imm, bool* exceeds);

// §5.2 building blocks (TFLite names).
int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b);
int32_t RoundingDivideByPOT(int32_t x, int exponent);

// §5.2: y before the zero point for TFL_DOUBLE, TFL_SINGLE and FLOAT_RNE (int64: TFL_SINGLE may exceed int32;
// FLOAT_RNE is clamped to +-2^40, beyond which every clamp range gives the same answer).
int64_t RequantTflDouble(int32_t x, int32_t multiplier, int shift);
int64_t RequantTflSingle(int32_t x, int32_t multiplier, int shift);
int64_t RequantFloatRne(int32_t x, float scale);
// §5.2: the final code of lane j of Q for accumulator value x (zero point and clamp included).
int32_t RequantLane(const QuantConfig& q, int lane, int32_t x);

}  // namespace tile32

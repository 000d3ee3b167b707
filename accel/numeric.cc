#include "accel/numeric.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tile32 {

uint32_t WidenElement(DType t, const uint8_t* p) {
  switch (t) {
    case DType::kI8: return static_cast<uint32_t>(int32_t{static_cast<int8_t>(p[0])});
    case DType::kU8: return p[0];
    case DType::kI16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return static_cast<uint32_t>(int32_t{v});
    }
    case DType::kBF16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return Bf16ToF32Bits(v);
    }
    case DType::kI32:
    case DType::kF32: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
  }
  return 0;
}

void NarrowElement(DType t, uint32_t lane, uint8_t* p) {
  switch (t) {
    case DType::kI8:
    case DType::kU8: p[0] = static_cast<uint8_t>(lane); return;
    case DType::kI16: {
      const uint16_t v = static_cast<uint16_t>(lane);
      std::memcpy(p, &v, 2);
      return;
    }
    case DType::kBF16: {
      const uint16_t v = F32BitsToBf16(lane);
      std::memcpy(p, &v, 2);
      return;
    }
    case DType::kI32:
    case DType::kF32: std::memcpy(p, &lane, 4); return;
  }
}

int32_t AluLane(AluOp op, int32_t a, int32_t b, int32_t imm, bool* exceeds) {
  const int64_t x = a, y = b;
  int64_t exact = 0;
  switch (op) {
    case AluOp::kAdd: exact = x + y; break;
    case AluOp::kSub: exact = x - y; break;
    case AluOp::kMul: exact = x * y; break;
    case AluOp::kMin: exact = std::min(x, y); break;
    case AluOp::kMax: exact = std::max(x, y); break;
    case AluOp::kSra: exact = x >> imm; break;
    case AluOp::kSll: exact = x * (int64_t{1} << imm); break;
    case AluOp::kMovi: exact = imm; break;
  }
  *exceeds = exact < std::numeric_limits<int32_t>::min() || exact > std::numeric_limits<int32_t>::max();
  return Wrap32(exact);
}

int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
  const int64_t ab = int64_t{a} * int64_t{b};
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));  // C++ division truncates toward zero
}

int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int64_t RequantTflDouble(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const int32_t a = Wrap32(int64_t{x} * (int64_t{1} << left));
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(a, multiplier), right);
}

int64_t RequantTflSingle(int32_t x, int32_t multiplier, int shift) {
  return (int64_t{x} * multiplier + (int64_t{1} << (30 - shift))) >> (31 - shift);
}

int64_t RequantFloatRne(int32_t x, float scale) {
  const float p = static_cast<float>(x) * scale;  // -ffp-contract=off: one rounding each
  const float limit = 1099511627776.0f;            // 2^40
  return static_cast<int64_t>(std::nearbyint(std::clamp(p, -limit, limit)));
}

int32_t RequantLane(const QuantConfig& q, int lane, int32_t x) {
  int64_t y;
  switch (q.mode) {
    case RequantMode::kTflDouble:
      y = RequantTflDouble(x, q.multiplier[lane], q.shift[lane]) + q.zero_point;
      break;
    case RequantMode::kTflSingle:
      y = RequantTflSingle(x, q.multiplier[lane], q.shift[lane]) + q.zero_point;
      break;
    case RequantMode::kFloatRne:
      y = RequantFloatRne(x, q.scale[lane]) + q.zero_point;
      break;
    case RequantMode::kFloatZpFirst: {
      const float p = static_cast<float>(x) * q.scale[lane];
      const float s = p + static_cast<float>(q.zero_point);
      const float limit = 1099511627776.0f;
      y = static_cast<int64_t>(std::nearbyint(std::clamp(s, -limit, limit)));
      break;
    }
    default:
      y = 0;
  }
  return static_cast<int32_t>(std::clamp<int64_t>(y, q.qmin, q.qmax));
}

}  // namespace tile32

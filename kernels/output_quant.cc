#include "kernels/output_quant.h"

#include <cmath>

#include "accel/error.h"

namespace tile32 {
namespace {

bool IsTfl(RequantMode m) { return m == RequantMode::kTflDouble || m == RequantMode::kTflSingle; }

}  // namespace

void CheckOutputQuant(const char* fn, const OutputQuant& q, int channels, DType out) {
  if (static_cast<uint8_t>(q.mode) > static_cast<uint8_t>(RequantMode::kFloatZpFirst)) {
    Fail(fn, ": quant.mode = ", int{static_cast<uint8_t>(q.mode)}, " is not a RequantMode");
  }
  const int count = q.per_channel ? channels : 1;
  if (IsTfl(q.mode)) {
    if (q.multiplier == nullptr) Fail(fn, ": quant.multiplier is null (needed by ", NameOf(q.mode), ")");
    if (q.shift == nullptr) Fail(fn, ": quant.shift is null (needed by ", NameOf(q.mode), ")");
    for (int i = 0; i < count; ++i) {
      if (q.multiplier[i] < 0) Fail(fn, ": quant.multiplier[", i, "] = ", q.multiplier[i], " is outside [0, 2147483647]");
      if (q.shift[i] < -31 || q.shift[i] > 7) Fail(fn, ": quant.shift[", i, "] = ", q.shift[i], " is outside [-31, 7]");
    }
  } else {
    if (q.scale == nullptr) Fail(fn, ": quant.scale is null (needed by ", NameOf(q.mode), ")");
    for (int i = 0; i < count; ++i) {
      if (!(std::isfinite(q.scale[i]) && q.scale[i] > 0)) {
        Fail(fn, ": quant.scale[", i, "] = ", q.scale[i], " must be finite and > 0");
      }
    }
  }
  if (out != DType::kI8 && out != DType::kU8 && out != DType::kI16) {
    Fail(fn, ": requantized output type ", NameOf(out), " is not one of {i8, u8, i16}");
  }
  const int32_t lo = out == DType::kU8 ? 0 : out == DType::kI16 ? -32768 : -128;
  const int32_t hi = out == DType::kU8 ? 255 : out == DType::kI16 ? 32767 : 127;
  const char* names[3] = {"zero_point", "qmin", "qmax"};
  const int32_t values[3] = {q.zero_point, q.qmin, q.qmax};
  for (int i = 0; i < 3; ++i) {
    if (values[i] < lo || values[i] > hi) {
      Fail(fn, ": quant.", names[i], " = ", values[i], " is outside [", lo, ", ", hi, "] of ", NameOf(out));
    }
  }
  if (q.qmin > q.qmax) Fail(fn, ": quant.qmin = ", q.qmin, " > quant.qmax = ", q.qmax);
}

QuantConfig LaneQuant(const OutputQuant& q, int n0, int channels) {
  QuantConfig c;
  c.mode = q.mode;
  c.zero_point = q.zero_point;
  c.qmin = q.qmin;
  c.qmax = q.qmax;
  const bool tfl = IsTfl(q.mode);
  for (int j = 0; j < kLanes; ++j) {
    const int n = n0 + j;
    const int i = q.per_channel ? n : 0;
    if (n >= channels) {
      c.multiplier[j] = 0, c.shift[j] = 0, c.scale[j] = 1.0f;
    } else if (tfl) {
      c.multiplier[j] = q.multiplier[i], c.shift[j] = q.shift[i], c.scale[j] = 1.0f;
    } else {
      c.multiplier[j] = 0, c.shift[j] = 0, c.scale[j] = q.scale[i];
    }
  }
  return c;
}

}  // namespace tile32

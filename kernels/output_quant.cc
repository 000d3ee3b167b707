#include "kernels/output_quant.h"

#include "accel/error.h"

namespace tile32 {

void CheckOutputQuant(const char* fn, const OutputQuant& q, int channels, DType out) {
  if (!IsValid(q.mode)) Fail(fn, ": quant.mode = ", int{static_cast<uint8_t>(q.mode)}, " is not a RequantMode");
  if (IsTfl(q.mode)) {
    if (q.multiplier == nullptr) Fail(fn, ": quant.multiplier is null (needed by ", NameOf(q.mode), ")");
    if (q.shift == nullptr) Fail(fn, ": quant.shift is null (needed by ", NameOf(q.mode), ")");
  } else if (q.scale == nullptr) {
    Fail(fn, ": quant.scale is null (needed by ", NameOf(q.mode), ")");
  }
  CheckRequantLanes(fn, "quant.", q.mode, q.multiplier, q.shift, q.scale, q.per_channel ? channels : 1);
  CheckRequantClamp(fn, "quant.", out, q.zero_point, q.qmin, q.qmax);
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

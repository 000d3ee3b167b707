// The convolution front end: desc validation, the ordered list of algorithms (the first that accepts a
// desc wins, as oneDNN's implementation lists), packing of what every algorithm shares (the bias row, the
// INT8 weight sums and zero points), and the per-call checks around the algorithm's loop.
//
// INT8 zero points, as in kernels/gemm.cc, with w' the packed int8 weight (w, or w - 128 for uint8) and
// z = w_zp (- 128), over the R = kernel_h * kernel_w * C/G terms of one output (padded taps hold x_zp):
//   acc = bias + sum (x - x_zp)(w' - z)
//       = sum x w'  -  z sum x  +  [bias - x_zp sum w' + R x_zp z]
// The bracket is the call's bias row (CallBias); z sum x is the row-sum term, only when some z != 0.
#include "kernels/conv.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "accel/error.h"
#include "kernels/conv_impl.h"

namespace tile32 {
namespace {

// Ordered: the first algorithm that accepts a desc runs it (ConvAlgorithm::kAuto).
const ConvImpl* const kImpls[] = {&kDepthwiseImpl, &kWinogradImpl, &kDirectImpl};

constexpr int kMaxExtent = 1 << 20;  // channels, spatial sizes, strides, dilations, padding
constexpr int kMaxKernel = 1 << 10;

uint32_t Wrap(int64_t v) { return static_cast<uint32_t>(static_cast<uint64_t>(v)); }

int FloorDiv(int64_t a, int64_t b) { return static_cast<int>(a >= 0 ? a / b : -((-a + b - 1) / b)); }

void CheckRange(const char* fn, const char* field, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) Fail(fn, ": ", field, " = ", v, " is outside [", lo, ", ", hi, "]");
}

const ConvImpl& ImplOf(ConvAlgorithm a) {
  for (const ConvImpl* impl : kImpls)
    if (impl->algorithm == a) return *impl;
  Fail("Conv: algorithm ", NameOf(a), " is not available in this build");
}

void CheckDesc(const char* fn, const ConvDesc& d, bool weights_given) {
  CheckRange(fn, "desc.in_channels", d.in_channels, 1, kMaxExtent);
  CheckRange(fn, "desc.out_channels", d.out_channels, 1, kMaxExtent);
  CheckRange(fn, "desc.groups", d.groups, 1, kMaxExtent);
  if (d.in_channels % d.groups != 0 || d.out_channels % d.groups != 0) {
    Fail(fn, ": desc.groups = ", d.groups, " must divide desc.in_channels = ", d.in_channels,
         " and desc.out_channels = ", d.out_channels);
  }
  CheckRange(fn, "desc.kernel_h", d.kernel_h, 1, kMaxKernel);
  CheckRange(fn, "desc.kernel_w", d.kernel_w, 1, kMaxKernel);
  CheckRange(fn, "desc.stride_h", d.stride_h, 1, kMaxExtent);
  CheckRange(fn, "desc.stride_w", d.stride_w, 1, kMaxExtent);
  CheckRange(fn, "desc.dilation_h", d.dilation_h, 1, kMaxExtent);
  CheckRange(fn, "desc.dilation_w", d.dilation_w, 1, kMaxExtent);
  CheckRange(fn, "desc.pad_top", d.pad_top, 0, kMaxExtent);
  CheckRange(fn, "desc.pad_bottom", d.pad_bottom, 0, kMaxExtent);
  CheckRange(fn, "desc.pad_left", d.pad_left, 0, kMaxExtent);
  CheckRange(fn, "desc.pad_right", d.pad_right, 0, kMaxExtent);
  if (!IsValid(d.x_type) || !(IsInt8(d.x_type) || d.x_type == DType::kI16 || d.x_type == DType::kBF16)) {
    Fail(fn, ": desc.x_type = ", IsValid(d.x_type) ? NameOf(d.x_type) : "invalid", " is not one of {u8, i8, i16, bf16}");
  }
  const MacMode mode = MacModeOf(fn, "desc.x_type", d.x_type, "desc.w_type", d.w_type);
  const int64_t reduction = int64_t{d.kernel_h} * d.kernel_w * (d.in_channels / d.groups);
  if (reduction > std::numeric_limits<int>::max() - kLanes) {
    Fail(fn, ": kernel_h * kernel_w * in_channels / groups = ", reduction, " exceeds ",
         std::numeric_limits<int>::max() - kLanes);
  }
  if (weights_given && d.w == nullptr) Fail(fn, ": desc.w is null");
  // The weight tensor itself (each algorithm checks its packing of it before allocating that).
  CheckedBytes(fn, "desc.w (out_channels x kernel_h x kernel_w x in_channels / groups)",
               uint64_t(d.out_channels) * uint64_t(reduction), SizeOf(d.w_type));
  CheckWeightZeroPointsAndBias(fn, "desc.w", mode, d.w_type, d.w_zero_points, d.w_zero_point_count, d.out_channels,
                               "out_channels", d.bias, d.bias_f32);
  if (d.input_shuffle_groups > 1) {
    if (d.in_channels % d.input_shuffle_groups != 0) {
      Fail(fn, ": desc.input_shuffle_groups = ", d.input_shuffle_groups, " must divide desc.in_channels = ", d.in_channels);
    }
    if (d.groups != 1) {
      Fail(fn, ": desc.input_shuffle_groups = ", d.input_shuffle_groups, " folds a shuffle into the weights of a "
           "convolution with groups = 1 only (desc.groups = ", d.groups, ": its groups would no longer be "
           "contiguous channels)");
    }
    if (mode == MacMode::kBF16) {
      Fail(fn, ": desc.input_shuffle_groups = ", d.input_shuffle_groups, " cannot be folded into bf16 weights: the "
           "fold reorders the channel reduction, and BF16's fma chain runs in channel order, so the bits would "
           "change (integer sums wrap and do not see the order); run ChannelShuffle before a bf16 convolution");
    }
  } else if (d.input_shuffle_groups < 0) {
    Fail(fn, ": desc.input_shuffle_groups = ", d.input_shuffle_groups, " must be >= 0");
  }
  if (static_cast<uint8_t>(d.algorithm) > static_cast<uint8_t>(ConvAlgorithm::kDirect)) {
    Fail(fn, ": desc.algorithm = ", int{static_cast<uint8_t>(d.algorithm)}, " is not a ConvAlgorithm");
  }
  if (static_cast<uint8_t>(d.layout) > static_cast<uint8_t>(ConvLayout::kFolded)) {
    Fail(fn, ": desc.layout = ", int{static_cast<uint8_t>(d.layout)}, " is not a ConvLayout");
  }
  if (d.layout != ConvLayout::kAuto && d.algorithm != ConvAlgorithm::kDirect && d.algorithm != ConvAlgorithm::kAuto) {
    Fail(fn, ": desc.layout = ", NameOf(d.layout), " applies to the direct algorithm only, not ", NameOf(d.algorithm));
  }
}

// Where output channel k's word sits in the packed bias row (block group * blocks_per_group + j / 32).
size_t BiasWordOf(const ConvFacts& f, int k) {
  const int g = k / f.group_outputs, j = k % f.group_outputs;
  return (size_t(g) * f.blocks_per_group + j / kLanes) * kLanes + j % kLanes;
}

// bias_row, w_sum, w_zero_points, needs_row_sums: what every algorithm's epilogue needs.
void PackShared(const ConvDesc& d, const ConvFacts& f, PackedConv* p) {
  const int K = d.out_channels;
  p->bias_row.assign(size_t{kLanes} * f.blocks_per_group * d.groups, 0);
  const bool int8 = IsInt8(d.x_type);
  if (int8) p->w_sum.assign(size_t(K), 0), p->w_zero_points.assign(size_t(K), 0);
  std::vector<int32_t> weights(int8 ? size_t(f.reduction) : 0);
  for (int k = 0; k < K; ++k) {
    uint32_t& word = p->bias_row[BiasWordOf(f, k)];
    if (d.bias != nullptr) word = static_cast<uint32_t>(d.bias[k]);
    if (d.bias_f32 != nullptr) std::memcpy(&word, &d.bias_f32[k], 4);  // raw bits, NaN payload kept
    if (!int8) continue;
    PackedWeightsOf(d, k, weights.data());
    int64_t sum = 0;
    for (const int32_t w : weights) sum += w;
    p->w_sum[k] = static_cast<int32_t>(Wrap(sum));
    p->w_zero_points[k] = ShiftedZeroPoint(d, k);
    if (p->w_zero_points[k] != 0) p->needs_row_sums = true;
  }
}

void CheckPacked(const char* fn, const PackedConv& p) {
  const ConvDesc& d = p.desc;
  bool ok = true;
  try {
    CheckDesc(fn, d, false);
  } catch (const Error&) {
    ok = false;
  }
  if (ok) {
    const ConvFacts f = FactsOf(d);
    const bool int8 = IsInt8(d.x_type);
    ok = p.mode == f.mode && p.algorithm != ConvAlgorithm::kAuto &&
         p.bias_row.size() == size_t{kLanes} * f.blocks_per_group * d.groups &&
         p.w_sum.size() == (int8 ? size_t(d.out_channels) : 0) &&
         p.w_zero_points.size() == (int8 ? size_t(d.out_channels) : 0) &&
         p.lane_bias.size() == (p.algorithm == ConvAlgorithm::kDepthwise ? size_t{kLanes} * Ceil32(d.out_channels) : 0) &&
         (!p.weights.empty() || !p.lane_weights.empty());
    int32_t any_z = 0;  // OR of every zero point: a loop the compiler vectorizes (per call, C of them)
    for (int32_t z : p.w_zero_points) any_z |= z;
    ok = ok && (any_z != 0) == p.needs_row_sums;
    // Winograd: 16 int16 matrices U per group (the weight zero point is inside U), the zero-point term and
    // the exactness bound per output channel.
    const bool winograd = p.algorithm == ConvAlgorithm::kWinograd;
    if (winograd) {
      ok = ok && int8 && p.weights.size() == size_t{16} * d.groups && p.u11_sums.size() == size_t(d.out_channels) &&
           p.w_abs_sum.size() == size_t(d.out_channels);
    }
    for (const PackedWeights& w : p.weights) ok = ok && w.dtype == (winograd ? DType::kI16 : WeightType(p.mode));
  }
  if (!ok) {
    Fail(fn, ": packed weights are not the result of PackConv (algorithm ", NameOf(p.algorithm), ", mode ",
         NameOf(p.mode), ", ", p.weights.size(), " weight sets, bias_row ", p.bias_row.size(), " words)");
  }
}

bool OutputAllowed(MacMode mode, DType y) {
  if (mode == MacMode::kBF16) return y == DType::kF32 || y == DType::kBF16;
  return y == DType::kI32 || IsRequantOutput(y);
}

}  // namespace

const char* NameOf(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::kAuto: return "auto";
    case ConvAlgorithm::kDepthwise: return "depthwise";
    case ConvAlgorithm::kWinograd: return "winograd";
    case ConvAlgorithm::kDirect: return "direct";
  }
  return "?";
}

const char* NameOf(ConvLayout l) {
  switch (l) {
    case ConvLayout::kAuto: return "auto";
    case ConvLayout::kTapMajor: return "tap-major";
    case ConvLayout::kFolded: return "folded";
  }
  return "?";
}

int ConvOutHeight(const ConvDesc& d, int height) {
  return FloorDiv(int64_t{height} + d.pad_top + d.pad_bottom - int64_t{d.dilation_h} * (d.kernel_h - 1) - 1,
                  d.stride_h) + 1;
}

int ConvOutWidth(const ConvDesc& d, int width) {
  return FloorDiv(int64_t{width} + d.pad_left + d.pad_right - int64_t{d.dilation_w} * (d.kernel_w - 1) - 1,
                  d.stride_w) + 1;
}

ConvFacts FactsOf(const ConvDesc& d) {
  ConvFacts f;
  f.mode = MacModeOf("Conv", "desc.x_type", d.x_type, "desc.w_type", d.w_type);
  f.group_channels = d.in_channels / d.groups;
  f.group_outputs = d.out_channels / d.groups;
  f.blocks_per_group = Ceil32(f.group_outputs);
  f.reduction = int64_t{d.kernel_h} * d.kernel_w * f.group_channels;
  return f;
}

int32_t PackedWeightAt(const ConvDesc& d, int k, int ky, int kx, int c) {
  const int cg = d.in_channels / d.groups;
  if (d.input_shuffle_groups > 1) {
    // The conv reads shuffled channel c' = (c % n) * g + c / n of the tensor before the shuffle's channel c.
    const int n = d.in_channels / d.input_shuffle_groups;
    c = (c % n) * d.input_shuffle_groups + c / n;
  }
  const size_t i = ((size_t(k) * d.kernel_h + ky) * d.kernel_w + kx) * cg + c;
  switch (d.w_type) {
    case DType::kI8: return static_cast<const int8_t*>(d.w)[i];
    case DType::kU8: return int32_t{static_cast<const uint8_t*>(d.w)[i]} - 128;
    case DType::kI16: return static_cast<const int16_t*>(d.w)[i];
    default: return static_cast<const uint16_t*>(d.w)[i];  // bf16 bits
  }
}

void PackedWeightsOf(const ConvDesc& d, int k, int32_t* out) {
  const int cg = d.in_channels / d.groups, taps = d.kernel_h * d.kernel_w;
  const int n = d.input_shuffle_groups > 1 ? d.in_channels / d.input_shuffle_groups : cg;
  const int shuffle = d.input_shuffle_groups > 1 ? d.input_shuffle_groups : 1;
  auto copy = [&](const auto* w, int32_t offset) {
    const auto* row = w + size_t(k) * taps * cg;
    if (shuffle == 1) {  // one pass the compiler vectorizes
      for (size_t i = 0; i < size_t(taps) * cg; ++i) out[i] = int32_t(row[i]) + offset;
      return;
    }
    for (int t = 0; t < taps; ++t, row += cg, out += cg) {
      for (int c = 0; c < cg; ++c) out[c] = int32_t(row[(c % n) * shuffle + c / n]) + offset;
    }
  };
  switch (d.w_type) {
    case DType::kI8: return copy(static_cast<const int8_t*>(d.w), 0);
    case DType::kU8: return copy(static_cast<const uint8_t*>(d.w), -128);
    case DType::kI16: return copy(static_cast<const int16_t*>(d.w), 0);
    default: return copy(static_cast<const uint16_t*>(d.w), 0);  // bf16 bits
  }
}

int32_t ShiftedZeroPoint(const ConvDesc& d, int k) {
  if (!IsInt8(d.x_type)) return 0;
  const int32_t zp = d.w_zero_points == nullptr ? 0 : d.w_zero_points[d.w_zero_point_count == 1 ? 0 : k];
  return zp - (d.w_type == DType::kU8 ? 128 : 0);
}

namespace {

// The per-call part of output channel k's seed word (INT8 with x_zp != 0): - x_zp * w_sum + reduction * x_zp * z,
// x_zp_r = reduction * x_zp.
uint32_t ZeroPointTerm(const PackedConv& p, int64_t x_zp, int64_t x_zp_r, int k) {
  return Wrap(-x_zp * p.w_sum[k]) + Wrap(x_zp_r * p.w_zero_points[k]);
}

int32_t RowSumFactor(const PackedConv& p, int k) { return static_cast<int32_t>(0u - static_cast<uint32_t>(p.w_zero_points[k])); }

}  // namespace

std::vector<uint32_t> CallBias(const PackedConv& p, int32_t x_zp) {
  std::vector<uint32_t> bias(p.bias_row);
  if (!IsInt8(p.desc.x_type) || x_zp == 0) return bias;
  const ConvFacts f = FactsOf(p.desc);
  const int64_t x_zp_r = f.reduction * x_zp;
  for (int k = 0; k < p.desc.out_channels; ++k) bias[BiasWordOf(f, k)] += ZeroPointTerm(p, x_zp, x_zp_r, k);
  return bias;
}

std::vector<int32_t> CallRowSumScale(const PackedConv& p) {
  if (!p.needs_row_sums) return {};
  const ConvFacts f = FactsOf(p.desc);
  std::vector<int32_t> scale(p.bias_row.size(), 0);
  for (int k = 0; k < p.desc.out_channels; ++k) scale[BiasWordOf(f, k)] = RowSumFactor(p, k);
  return scale;
}

std::vector<uint32_t> BiasByChannel(const PackedConv& p) {
  const ConvFacts f = FactsOf(p.desc);
  std::vector<uint32_t> bias(size_t{kLanes} * Ceil32(p.desc.out_channels), 0);
  const size_t group_words = size_t{kLanes} * f.blocks_per_group;
  for (int g = 0, k = 0; g < p.desc.groups; ++g) {
    for (int j = 0; j < f.group_outputs; ++j, ++k) bias[k] = p.bias_row[g * group_words + size_t(j)];
  }
  return bias;
}

std::vector<uint32_t> CallBiasByChannel(const PackedConv& p, int32_t x_zp) {
  std::vector<uint32_t> bias(p.lane_bias);
  if (IsInt8(p.desc.x_type) && x_zp != 0) {
    const int64_t x_zp_r = FactsOf(p.desc).reduction * x_zp;
    for (int k = 0; k < p.desc.out_channels; ++k) bias[k] += ZeroPointTerm(p, x_zp, x_zp_r, k);
  }
  return bias;
}

std::vector<int32_t> CallRowSumScaleByChannel(const PackedConv& p) {
  if (!p.needs_row_sums) return {};
  const int K = p.desc.out_channels;
  std::vector<int32_t> scale(size_t{kLanes} * Ceil32(K), 0);
  for (int k = 0; k < K; ++k) scale[k] = RowSumFactor(p, k);
  return scale;
}

BandSource InputBandSource(const ConvCall& call, const BandLayout& band, int elem_bytes, const uint8_t* channel_pad,
                           std::vector<uint8_t>* fill) {
  *fill = FillRow(band, elem_bytes, call.border, channel_pad);
  BandSource src;
  src.segment = call.seg_x;
  src.pixel_stride = call.x_pixel_stride;
  src.elem_bytes = elem_bytes;
  src.fill_segment = call.dram->BindReadOnly(fill->data(), fill->size());
  return src;
}

void BlockChannels(const PackedConv& p, int b, int* n0, int* end) {
  const ConvFacts f = FactsOf(p.desc);
  const int g = b / f.blocks_per_group, j = b % f.blocks_per_group;
  *n0 = g * f.group_outputs + kLanes * j;
  *end = (g + 1) * f.group_outputs;
}

PackedConv PackConv(const ConvDesc& desc) {
  const char* fn = "PackConv";
  CheckDesc(fn, desc, true);
  const ConvFacts facts = FactsOf(desc);
  const ConvImpl* chosen = nullptr;
  std::string why;
  if (desc.algorithm == ConvAlgorithm::kAuto) {
    for (const ConvImpl* impl : kImpls) {
      if (impl->accepts(desc, facts, &why)) {
        chosen = impl;
        break;
      }
    }
  } else {
    chosen = &ImplOf(desc.algorithm);
    if (!chosen->accepts(desc, facts, &why)) {
      Fail(fn, ": desc.algorithm = ", NameOf(desc.algorithm), " cannot run this convolution: ", why);
    }
  }
  if (chosen == nullptr) Fail(fn, ": no algorithm accepts this convolution: ", why);
  PackedConv p;
  p.desc = desc;
  p.algorithm = chosen->algorithm;
  p.mode = facts.mode;
  PackShared(desc, facts, &p);
  chosen->pack(desc, facts, &p);
  p.desc.w = nullptr, p.desc.w_zero_points = nullptr, p.desc.w_zero_point_count = 0;
  p.desc.bias = nullptr, p.desc.bias_f32 = nullptr;
  p.desc.algorithm = p.algorithm;
  return p;
}

std::string PackedConv::Describe() const {
  std::string s = NameOf(algorithm);
  if (algorithm == ConvAlgorithm::kDirect) s += std::string(" ") + NameOf(layout);
  s += std::string(" ") + NameOf(mode);
  if (desc.groups > 1) s += ", " + std::to_string(desc.groups) + " groups";
  if (!weights.empty()) {
    s += ", " + std::to_string(weights[0].k_tiles) + " weight tiles per 32 outputs" +
         (algorithm == ConvAlgorithm::kWinograd ? " and position" : "");
  }
  return s;
}

void Conv(Machine& machine, const PackedConv& packed, const ConvArgs& x) {
  const char* fn = "Conv";
  CheckPacked(fn, packed);
  const ConvDesc& d = packed.desc;
  CheckRange(fn, "batch", x.batch, 1, kMaxExtent);
  CheckRange(fn, "height", x.height, 1, kMaxExtent);
  CheckRange(fn, "width", x.width, 1, kMaxExtent);
  ConvCall call;
  call.fn = fn;
  call.packed = &packed;
  call.args = &x;
  ConvGeometry& g = call.geometry;
  g.height = x.height, g.width = x.width;
  g.out_h = ConvOutHeight(d, x.height), g.out_w = ConvOutWidth(d, x.width);
  if (g.out_h < 1 || g.out_w < 1) {
    Fail(fn, ": the output would be ", g.out_h, " x ", g.out_w, ": height ", x.height, " and width ", x.width,
         " with the padding are smaller than the dilated kernel ", int64_t{d.dilation_h} * (d.kernel_h - 1) + 1,
         " x ", int64_t{d.dilation_w} * (d.kernel_w - 1) + 1);
  }
  g.kernel_h = d.kernel_h, g.kernel_w = d.kernel_w, g.stride_h = d.stride_h, g.stride_w = d.stride_w;
  g.dilation_h = d.dilation_h, g.dilation_w = d.dilation_w, g.pad_top = d.pad_top, g.pad_left = d.pad_left;
  if (x.x == nullptr) Fail(fn, ": x is null");
  if (x.x_pixel_stride != 0 && x.x_pixel_stride < d.in_channels) {
    Fail(fn, ": x_pixel_stride = ", x.x_pixel_stride, " must be 0 or >= in_channels = ", d.in_channels);
  }
  call.x_pixel_stride = x.x_pixel_stride != 0 ? x.x_pixel_stride : d.in_channels;
  if (IsInt8(d.x_type)) {
    const ValueRange r = RangeOf(d.x_type);
    if (!r.Contains(x.x_zero_point)) {
      Fail(fn, ": x_zero_point = ", x.x_zero_point, " is outside [", r.lo, ", ", r.hi, "] of ", NameOf(d.x_type));
    }
  } else if (x.x_zero_point != 0) {
    Fail(fn, ": x_zero_point = ", x.x_zero_point, " must be 0: zero points are INT8 only, not ", NameOf(packed.mode));
  }
  if (!IsValid(x.y_type) || !OutputAllowed(packed.mode, x.y_type)) {
    Fail(fn, ": y_type = ", IsValid(x.y_type) ? NameOf(x.y_type) : "invalid", " is not one of ",
         packed.mode == MacMode::kBF16 ? "{f32, bf16}" : "{i32, i8, u8, i16}", " for ", NameOf(d.x_type),
         " activations");
  }
  if (x.y == nullptr) Fail(fn, ": y is null");
  if (x.y_pixel_stride != 0 && x.y_pixel_stride < d.out_channels) {
    Fail(fn, ": y_pixel_stride = ", x.y_pixel_stride, " must be 0 or >= out_channels = ", d.out_channels);
  }
  call.y_pixel_stride = x.y_pixel_stride != 0 ? x.y_pixel_stride : d.out_channels;
  if (IsRequantOutput(x.y_type)) {
    if (x.quant == nullptr) Fail(fn, ": quant is null but y_type is ", NameOf(x.y_type));
    CheckOutputQuant(fn, *x.quant, d.out_channels, x.y_type);
  }
  const int64_t in_pixels = int64_t{x.batch} * x.height * x.width;
  const int64_t out_pixels = int64_t{x.batch} * g.out_h * g.out_w;
  const uint64_t x_bytes = StridedBytes(fn, "x_pixel_stride", in_pixels, call.x_pixel_stride, d.in_channels,
                                        SizeOf(d.x_type));
  const uint64_t y_bytes = StridedBytes(fn, "y_pixel_stride", out_pixels, call.y_pixel_stride, d.out_channels,
                                        SizeOf(x.y_type));
  CheckNoOverlap(fn, {"y", x.y, y_bytes}, {{"x", x.x, x_bytes}});
  for (const PackedWeights& w : packed.weights) {
    CheckNoOverlap(fn, {"y", x.y, y_bytes}, {{"the packed weights", w.bytes.data(), w.bytes.size()}});
  }
  if (!packed.lane_weights.empty()) {
    CheckNoOverlap(fn, {"y", x.y, y_bytes}, {{"the packed weights", packed.lane_weights.data(), packed.lane_weights.size()}});
  }
  const int threads = OperatorThreads(fn, x.threads);
  if (IsInt8(d.x_type)) call.border[0] = static_cast<uint8_t>(x.x_zero_point);  // the zero point's code
  // INT16 and BF16 pad with 0 and +0.0: all-zero bytes, as initialised.
  RunInArena(threads, [&] {
    DramBindings dram(machine, fn);
    call.dram = &dram;
    call.seg_x = dram.BindReadOnly(x.x, x_bytes);
    call.seg_y = dram.Bind(x.y, y_bytes);
    ImplOf(packed.algorithm).run(machine, call);
  });
}

}  // namespace tile32

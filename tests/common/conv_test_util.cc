#include "tests/common/conv_test_util.h"

#include <climits>

namespace tile32 {
namespace conv_test {
namespace {

using gemm_test::RandomBf16;
using gemm_test::RandomBias;
using gemm_test::RandomInts;

// Output quantization from the accumulators' range so that the whole output code range occurs (per
// channel: each channel its own range and a jitter), as the GEMM tests choose theirs.
RefQuant ChooseQuant(std::mt19937_64& rng, const ConvCase& c, const std::vector<int32_t>& acc, int K) {
  RefQuant q;
  q.mode = c.mode;
  const ValueRange out = RangeOf(c.y_type);
  auto range_of = [&](int k0, int k1) {
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (size_t i = 0; i < acc.size(); ++i) {
      const int k = static_cast<int>(i % size_t(K));
      if (k < k0 || k >= k1) continue;
      mn = std::min<int64_t>(mn, acc[i]), mx = std::max<int64_t>(mx, acc[i]);
    }
    return std::make_pair(mn, mx);
  };
  const auto all = range_of(0, K);
  q.zero_point = static_cast<int32_t>((int64_t{out.lo} + out.hi) / 2) + static_cast<int32_t>(rng() % 5) - 2;
  for (int k = 0; k < K; ++k) {
    const auto r = c.per_channel ? range_of(k, k + 1) : all;
    const double span = std::max<double>(1.0, double(r.second) - double(r.first));
    double real = (double(out.hi) - double(out.lo) + 1) / span;
    if (c.per_channel) real *= 0.75 + 0.5 * double(rng() % 1000) / 1000.0;
    real = std::min(real, 100.0);
    int32_t mult, shift;
    gemm_test::QuantizeMultiplier(real, &mult, &shift);
    if (c.per_channel || k == 0) {
      q.multiplier.push_back(mult), q.shift.push_back(shift), q.scale.push_back(static_cast<float>(real));
    } else {
      q.multiplier.push_back(q.multiplier[0]), q.shift.push_back(q.shift[0]), q.scale.push_back(q.scale[0]);
    }
  }
  const int32_t margin = c.y_type == DType::kI16 ? 5000 : 20;
  q.qmin = c.narrow_clamp ? out.lo + margin : out.lo;
  q.qmax = c.narrow_clamp ? out.hi - margin - 10 : out.hi;
  return q;
}

}  // namespace

std::string Describe(const ConvCase& c, uint64_t seed) {
  const ConvRefShape& s = c.s;
  std::ostringstream os;
  os << "seed " << seed << " (TILE32_SEED overrides): N " << s.batch << " H " << s.height << " W " << s.width << " C "
     << s.in_channels << " K " << s.out_channels << " G " << s.groups << " kernel " << s.kernel_h << "x" << s.kernel_w
     << " stride " << s.stride_h << "," << s.stride_w << " dilation " << s.dilation_h << "," << s.dilation_w
     << " pad " << s.pad_top << "," << s.pad_bottom << "," << s.pad_left << "," << s.pad_right << " "
     << NameOf(c.x_type) << " x " << NameOf(c.w_type) << (c.bias ? " bias" : "");
  if (c.bias_base != 0) os << " bias_base " << c.bias_base;
  if (c.data == Data::kExtreme) os << " extreme";
  if (c.data == Data::kSpecial) os << " special-floats";
  if (IsInt8(c.x_type)) {
    os << " x_zp " << c.x_zp;
    if (c.w_zp == WeightZp::kPerTensor) os << " w_zp " << c.w_zp_value;
    if (c.w_zp == WeightZp::kPerChannel) os << " w_zp per-channel";
  }
  os << " y " << NameOf(c.y_type);
  if (IsRequantOutput(c.y_type)) {
    os << " " << NameOf(c.mode) << (c.per_channel ? " per-channel" : " per-tensor") << (c.narrow_clamp ? " narrow-clamp" : "");
  }
  os << " strides +" << c.x_stride_extra << "/+" << c.y_stride_extra;
  if (c.input_shuffle_groups > 1) os << " input shuffle " << c.input_shuffle_groups;
  os << " algorithm " << NameOf(c.algorithm) << " layout " << NameOf(c.layout) << " threads " << c.threads;
  return os.str();
}

void Vary(ConvCase& c, int index) {
  const gemm_test::TypePair t = gemm_test::kInt8Types[index % 4];
  c.x_type = t.a, c.w_type = t.b;
  c.x_zp = gemm_test::ZeroPointAt(c.x_type, index / 3);
  c.w_zp = static_cast<WeightZp>((index / 7) % 3);
  c.w_zp_value = gemm_test::ZeroPointAt(c.w_type, index / 5);
  c.bias = (index / 4) % 2 == 1;
  c.x_stride_extra = (index / 6) % 3 == 1 ? 5 : 0;
  c.y_stride_extra = (index / 5) % 4 == 1 ? 3 : 0;
  const int out = index % 9;  // 0: int32; 1-8: 4 modes x {per tensor, per channel}
  if (out > 0) {
    const DType outs[] = {DType::kU8, DType::kI8, DType::kI16};
    c.y_type = outs[(index / 7) % 3];
    c.mode = gemm_test::kModes[(out - 1) / 2];
    c.per_channel = (out - 1) % 2 == 1;
    c.narrow_clamp = (index / 11) % 2 == 1;
  }
}

ConvDesc DescOf(const ConvPrepared& p) {
  const ConvCase& c = p.c;
  ConvDesc d;
  d.in_channels = c.s.in_channels, d.out_channels = c.s.out_channels, d.groups = c.s.groups;
  d.kernel_h = c.s.kernel_h, d.kernel_w = c.s.kernel_w, d.stride_h = c.s.stride_h, d.stride_w = c.s.stride_w;
  d.dilation_h = c.s.dilation_h, d.dilation_w = c.s.dilation_w;
  d.pad_top = c.s.pad_top, d.pad_bottom = c.s.pad_bottom, d.pad_left = c.s.pad_left, d.pad_right = c.s.pad_right;
  d.x_type = c.x_type, d.w_type = c.w_type, d.w = p.w.data();
  if (!p.w_zps.empty()) d.w_zero_points = p.w_zps.data(), d.w_zero_point_count = static_cast<int>(p.w_zps.size());
  if (!p.bias.empty()) d.bias = p.bias.data();
  if (!p.bias_f32.empty()) d.bias_f32 = p.bias_f32.data();
  d.input_shuffle_groups = c.input_shuffle_groups;
  d.algorithm = c.algorithm, d.layout = c.layout;
  return d;
}

std::unique_ptr<ConvPrepared> PrepareConv(const ConvCase& c, uint64_t seed) {
  auto p = std::make_unique<ConvPrepared>();
  p->c = c;
  p->seed = seed;
  std::mt19937_64 rng(seed);
  const ConvRefShape& s = c.s;
  const int C = s.in_channels, K = s.out_channels, cg = C / s.groups;
  p->out_h = testing::ConvRefOutH(s), p->out_w = testing::ConvRefOutW(s);
  p->x_stride = C + c.x_stride_extra, p->y_stride = K + c.y_stride_extra;
  const size_t in_pixels = size_t(s.batch) * s.height * s.width, out_pixels = size_t(s.batch) * p->out_h * p->out_w;
  const size_t w_count = size_t(K) * s.kernel_h * s.kernel_w * cg;
  const int x_size = SizeOf(c.x_type), y_size = SizeOf(c.y_type);
  std::vector<int32_t> acc;        // integer modes: the reference accumulators, dense NHWK
  std::vector<uint32_t> acc_bits;  // BF16
  p->x.assign(in_pixels * p->x_stride * x_size, 0x5C);  // the bytes between pixels hold garbage

  // Dense inputs for the reference, shuffled when the case says so (the conv sees the shuffled tensor).
  auto shuffled = [&](const std::vector<uint8_t>& dense, int elem) {
    if (c.input_shuffle_groups <= 1) return dense;
    return testing::ChannelShuffleRef(static_cast<int>(in_pixels), C, c.input_shuffle_groups, elem, dense.data());
  };
  auto scatter = [&](const std::vector<uint8_t>& dense, int elem) {  // dense -> p->x with the pixel stride
    for (size_t px = 0; px < in_pixels; ++px) {
      std::memcpy(&p->x[px * p->x_stride * elem], &dense[px * C * elem], size_t(C) * elem);
    }
  };
  if (c.x_type == DType::kBF16) {
    const uint64_t rare = std::max<uint64_t>(256, uint64_t{16} * s.kernel_h * s.kernel_w * cg);
    std::vector<uint16_t> x(in_pixels * C), w(w_count);
    for (auto& v : x) v = RandomBf16(rng, c.data, rare);
    for (auto& v : w) v = RandomBf16(rng, c.data, rare);
    if (c.bias) {
      p->bias_f32.resize(size_t(K));
      for (auto& v : p->bias_f32) v = RandomBias(rng, c.data);
    }
    std::vector<uint8_t> xb(x.size() * 2);
    std::memcpy(xb.data(), x.data(), xb.size());
    scatter(xb, 2);
    const std::vector<uint8_t> xs = shuffled(xb, 2);
    std::vector<uint16_t> xs16(x.size());
    std::memcpy(xs16.data(), xs.data(), xs.size());
    acc_bits = testing::ConvBf16Ref(s, xs16.data(), w.data(), c.bias ? p->bias_f32.data() : nullptr);
    p->w.resize(w.size() * 2);
    std::memcpy(p->w.data(), w.data(), p->w.size());
  } else {
    const gemm_test::IntMatrix x = RandomInts(rng, c.x_type, in_pixels * C, c.data);
    gemm_test::IntMatrix w = RandomInts(rng, c.w_type, w_count, c.data == Data::kNarrowWeights ? Data::kRandom : c.data);
    if (c.data == Data::kNarrowWeights && SizeOf(c.w_type) == 1) gemm_test::NarrowWeights(rng, c.w_type, &w);
    scatter(x.bytes, x_size);
    std::vector<int32_t> xv = x.values;
    if (c.input_shuffle_groups > 1) {  // the conv sees the shuffled codes: shuffle the raw bytes, widen again
      const std::vector<uint8_t> raw = shuffled(x.bytes, x_size);
      for (size_t i = 0; i < xv.size(); ++i) {
        int16_t v16 = 0;
        std::memcpy(&v16, &raw[i * x_size], size_t(x_size));
        xv[i] = c.x_type == DType::kU8 ? int32_t{raw[i]} : c.x_type == DType::kI8 ? int32_t{static_cast<int8_t>(raw[i])} : v16;
      }
    }
    p->w = w.bytes;
    std::vector<int32_t> zps(size_t(K), 0);
    if (c.w_zp == WeightZp::kPerTensor) {
      p->w_zps = {c.w_zp_value};
      std::fill(zps.begin(), zps.end(), c.w_zp_value);
    } else if (c.w_zp == WeightZp::kPerChannel) {
      const ValueRange r = RangeOf(c.w_type);
      for (int k = 0; k < K; ++k) {
        const int pick = static_cast<int>(rng() % 4);
        zps[k] = pick == 0 ? r.lo : pick == 1 ? r.hi : r.lo + static_cast<int32_t>(rng() % uint64_t(r.hi - r.lo + 1));
      }
      p->w_zps = zps;
    }
    if (c.bias) {
      p->bias.resize(size_t(K));
      for (auto& v : p->bias) {
        v = static_cast<int32_t>(static_cast<uint32_t>(c.bias_base) + static_cast<uint32_t>(rng() % 200001) - 100000u);
      }
    }
    acc = testing::ConvIntRef(s, xv.data(), c.x_zp, w.values.data(), zps.data(), c.bias ? p->bias.data() : nullptr);
  }
  p->packed = PackConv(DescOf(*p));

  p->want.assign(out_pixels * p->y_stride * y_size, gemm_test::kSentinel);
  std::vector<int32_t> q;
  if (IsRequantOutput(c.y_type)) {
    p->ref_quant = ChooseQuant(rng, c, acc, K);
    p->quant = testing::KernelQuant(p->ref_quant, c.per_channel);
    q = testing::RequantNhwkRef(acc, K, p->ref_quant);
  }
  for (size_t px = 0; px < out_pixels; ++px) {
    for (int k = 0; k < K; ++k) {
      uint8_t* dst = &p->want[(px * p->y_stride + k) * y_size];
      const size_t i = px * K + k;
      switch (c.y_type) {
        case DType::kF32: std::memcpy(dst, &acc_bits[i], 4); break;
        case DType::kBF16: {
          const uint16_t v = testing::Bf16FromF32Ref(acc_bits[i]);
          std::memcpy(dst, &v, 2);
          break;
        }
        case DType::kI32: std::memcpy(dst, &acc[i], 4); break;
        default: {
          const uint16_t v = static_cast<uint16_t>(q[i]);
          std::memcpy(dst, &v, y_size);
          break;
        }
      }
    }
  }
  return p;
}

::testing::AssertionResult RunConvOn(Machine& machine, const ConvPrepared& p, int threads) {
  const ConvCase& c = p.c;
  const int y_size = SizeOf(c.y_type);
  std::vector<uint8_t> out(p.want.size(), gemm_test::kSentinel);
  ConvArgs a;
  a.batch = c.s.batch, a.height = c.s.height, a.width = c.s.width;
  a.x = p.x.data(), a.x_pixel_stride = c.x_stride_extra ? p.x_stride : 0, a.x_zero_point = c.x_zp;
  a.y_type = c.y_type, a.y = out.data(), a.y_pixel_stride = c.y_stride_extra ? p.y_stride : 0;
  a.quant = IsRequantOutput(c.y_type) ? &p.quant : nullptr;
  a.threads = threads;
  try {
    Conv(machine, p.packed, a);
  } catch (const Error& e) {
    return ::testing::AssertionFailure() << "threw: " << e.what();
  }
  int mismatches = 0;
  std::ostringstream os;
  const size_t pixels = p.want.size() / size_t(y_size) / size_t(p.y_stride);
  for (size_t px = 0; px < pixels; ++px) {
    for (int64_t k = 0; k < p.y_stride; ++k) {
      const size_t at = (px * p.y_stride + k) * y_size;
      if (std::memcmp(&out[at], &p.want[at], y_size) != 0 && ++mismatches <= 5) {
        const size_t ox = px % p.out_w, oy = px / p.out_w % p.out_h, n = px / p.out_w / p.out_h;
        os << "\n  y[" << n << "][" << oy << "][" << ox << "][" << k << "] got " << gemm_test::Hex(&out[at], y_size)
           << ", want " << gemm_test::Hex(&p.want[at], y_size) << (k < c.s.out_channels ? "" : " (stride padding)");
      }
    }
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << mismatches << " mismatching elements (" << p.packed.Describe() << ")"
                                       << os.str();
}

void RunConvOnStaleSram(Machines& machines, const ConvPrepared& p, std::mt19937_64& rng) {
  SCOPED_TRACE(Describe(p.c, p.seed));
  std::vector<uint64_t> words;
  machines.ForEach([&](Machine& machine, const std::string& name) {
    if (words.empty()) {
      words.resize((machine.config().sram_bytes + 7) / 8);
      for (auto& w : words) w = rng();
    }
    const uint8_t* noise = reinterpret_cast<const uint8_t*>(words.data());
    machine.BindDramReadOnly(0, noise, machine.config().sram_bytes);
    DmaIn fill;
    fill.sram = 0, fill.segment = 0, fill.dram = 0, fill.rows = 1, fill.row_bytes = machine.config().sram_bytes;
    machine.Execute(fill);
    machine.UnbindDram(0);
    EXPECT_TRUE(RunConvOn(machine, p, p.c.threads)) << "on " << name << " with random SRAM";
  });
}

void StaleSramFamily(ConvCase& c, int family) {
  c.w_zp = WeightZp::kPerChannel;
  if (family == 0) return;
  const DType t = family == 1 ? DType::kI16 : DType::kBF16;
  c.x_type = c.w_type = t, c.x_zp = 0, c.w_zp = WeightZp::kNone;
  c.y_type = family == 1 ? DType::kI32 : DType::kF32;
}

void RunConvEverywhere(Machines& machines, const ConvPrepared& p) {
  SCOPED_TRACE(Describe(p.c, p.seed));
  machines.ForEach([&](Machine& machine, const std::string& name) {
    EXPECT_TRUE(RunConvOn(machine, p, p.c.threads)) << "on " << name;
  });
}

}  // namespace conv_test
}  // namespace tile32

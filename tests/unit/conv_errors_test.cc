// Bad convolution descs and calls: every error names the argument with its value and allowed range, is
// thrown before anything is written (y keeps its bytes), and leaves no DRAM segment bound.
#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "accel/scalar_machine.h"
#include "kernels/conv.h"
#include "tests/common/test_util.h"

namespace tile32 {
namespace {

using testing::ExpectErrorMentioning;

std::vector<int8_t> g_w(64 * 64 * 9, 1);

ConvDesc Base() {
  ConvDesc d;
  d.in_channels = 8, d.out_channels = 8, d.kernel_h = d.kernel_w = 3;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1, d.w = g_w.data();
  return d;
}

TEST(ConvErrors, PackingNamesTheField) {
  auto expect = [](const ConvDesc& d, const std::string& needle) {
    ExpectErrorMentioning([&] { PackConv(d); }, needle);
  };
  const int32_t zp300 = 300, zp200 = 200, zps2[2] = {0, 0};
  const int32_t bias = 1;
  const float fbias = 1.0f;
  { auto d = Base(); d.in_channels = 0; expect(d, "desc.in_channels = 0"); }
  { auto d = Base(); d.out_channels = -3; expect(d, "desc.out_channels = -3"); }
  { auto d = Base(); d.in_channels = 1 << 21; expect(d, "desc.in_channels = 2097152 is outside [1, 1048576]"); }
  { auto d = Base(); d.groups = 0; expect(d, "desc.groups = 0"); }
  { auto d = Base(); d.groups = 3; expect(d, "desc.groups = 3 must divide desc.in_channels = 8"); }
  { auto d = Base(); d.out_channels = 12, d.groups = 8; expect(d, "desc.groups = 8 must divide"); }
  { auto d = Base(); d.kernel_h = 0; expect(d, "desc.kernel_h = 0"); }
  { auto d = Base(); d.kernel_w = 5000; expect(d, "desc.kernel_w = 5000"); }
  { auto d = Base(); d.stride_h = 0; expect(d, "desc.stride_h = 0"); }
  { auto d = Base(); d.stride_w = -1; expect(d, "desc.stride_w = -1"); }
  { auto d = Base(); d.dilation_h = 0; expect(d, "desc.dilation_h = 0"); }
  { auto d = Base(); d.pad_top = -1; expect(d, "desc.pad_top = -1"); }
  { auto d = Base(); d.pad_right = -2; expect(d, "desc.pad_right = -2"); }
  { auto d = Base(); d.x_type = DType::kI32; expect(d, "desc.x_type = i32"); }
  { auto d = Base(); d.w_type = DType::kI16; expect(d, "desc.w_type = i16 cannot meet desc.x_type = u8"); }
  { auto d = Base(); d.x_type = DType::kBF16; expect(d, "desc.w_type = i8 cannot meet desc.x_type = bf16"); }
  { auto d = Base(); d.w = nullptr; expect(d, "desc.w is null"); }
  { auto d = Base(); d.w_zero_points = &zp200, d.w_zero_point_count = 1; expect(d, "desc.w_zero_points[0] = 200"); }
  { auto d = Base(); d.w_type = DType::kU8, d.w_zero_points = &zp300, d.w_zero_point_count = 1; expect(d, "desc.w_zero_points[0] = 300"); }
  { auto d = Base(); d.w_zero_points = zps2, d.w_zero_point_count = 2; expect(d, "desc.w_zero_point_count = 2"); }
  { auto d = Base(); d.w_zero_point_count = 8; expect(d, "desc.w_zero_point_count = 8 but desc.w_zero_points is null"); }
  { auto d = Base(); d.x_type = d.w_type = DType::kI16, d.w_zero_points = &zp200, d.w_zero_point_count = 1; expect(d, "INT8 only"); }
  { auto d = Base(); d.bias_f32 = &fbias; expect(d, "desc.bias_f32 is set for i8 weights"); }
  { auto d = Base(); d.x_type = d.w_type = DType::kBF16, d.bias = &bias; expect(d, "desc.bias (int32) is set for bf16"); }
  { auto d = Base(); d.input_shuffle_groups = -1; expect(d, "desc.input_shuffle_groups = -1"); }
  { auto d = Base(); d.algorithm = static_cast<ConvAlgorithm>(9); expect(d, "desc.algorithm = 9"); }
  { auto d = Base(); d.layout = static_cast<ConvLayout>(7); expect(d, "desc.layout = 7"); }
  { auto d = Base(); d.in_channels = d.out_channels = 1 << 20, d.kernel_h = d.kernel_w = 1000; expect(d, "exceeds"); }
  {  // the packing would need more than the sane limit: refused before allocating
    auto d = Base();
    d.in_channels = d.out_channels = 1 << 20, d.kernel_h = d.kernel_w = 1, d.pad_top = d.pad_bottom = 0;
    d.pad_left = d.pad_right = 0;
    expect(d, "desc.w (out_channels x kernel_h x kernel_w x in_channels / groups) would need");
    // As depthwise 5x5 the same channels need one lane vector per tap and 32 channels: packed at once...
    std::vector<int8_t> dw(size_t{25} << 20, 1);
    d.groups = 1 << 20, d.w = dw.data(), d.kernel_h = d.kernel_w = 5;
    EXPECT_EQ(PackConv(d).algorithm, ConvAlgorithm::kDepthwise);
    // ...but forced onto direct tap-major they need 25 tiles per group, 25 GiB: refused before allocating.
    d.algorithm = ConvAlgorithm::kDirect, d.layout = ConvLayout::kTapMajor;
    expect(d, "the packed weights would need");
  }
}

struct Call {
  ScalarMachine machine{AccelConfig::Default()};
  std::vector<uint8_t> x = std::vector<uint8_t>(5 * 6 * 8 * 3, 7);
  std::vector<uint8_t> y = std::vector<uint8_t>(5 * 6 * 8 * 3 * 4, 0xA5);
  PackedConv packed = PackConv(Base());
  ConvArgs Args() {
    ConvArgs a;
    a.batch = 1, a.height = 5, a.width = 6, a.x = x.data(), a.y = y.data(), a.threads = 1;
    return a;
  }
  void Expect(const ConvArgs& a, const std::string& needle, const PackedConv* p = nullptr) {
    const std::vector<uint8_t> before = y;
    ExpectErrorMentioning([&] { Conv(machine, p ? *p : packed, a); }, needle);
    EXPECT_EQ(y, before) << "y was written by a failed call (" << needle << ")";
    for (uint32_t s = 0; s < kMaxDramSegments; ++s) EXPECT_FALSE(machine.dram_bound(s)) << "segment " << s;
  }
};

TEST(ConvErrors, CallNamesTheArgumentAndWritesNothing) {
  Call c;
  const int32_t mult = 1 << 30, shift = 0, bad_shift = 9;
  { auto a = c.Args(); a.batch = 0; c.Expect(a, "batch = 0"); }
  { auto a = c.Args(); a.height = -1; c.Expect(a, "height = -1"); }
  { auto a = c.Args(); a.width = 0; c.Expect(a, "width = 0"); }
  { auto a = c.Args(); a.height = 1 << 21; c.Expect(a, "height = 2097152"); }
  { auto a = c.Args(); a.x = nullptr; c.Expect(a, "x is null"); }
  { auto a = c.Args(); a.y = nullptr; c.Expect(a, "y is null"); }
  { auto a = c.Args(); a.x_pixel_stride = 7; c.Expect(a, "x_pixel_stride = 7 must be 0 or >= in_channels = 8"); }
  { auto a = c.Args(); a.y_pixel_stride = 3; c.Expect(a, "y_pixel_stride = 3"); }
  { auto a = c.Args(); a.x_pixel_stride = std::numeric_limits<int64_t>::max() / 2; c.Expect(a, "x_pixel_stride = "); }
  { auto a = c.Args(); a.x_zero_point = 256; c.Expect(a, "x_zero_point = 256 is outside [0, 255] of u8"); }
  { auto a = c.Args(); a.y_type = DType::kF32; c.Expect(a, "y_type = f32 is not one of {i32, i8, u8, i16}"); }
  { auto a = c.Args(); a.y_type = DType::kU8; c.Expect(a, "quant is null but y_type is u8"); }
  { auto a = c.Args(); a.threads = -1; c.Expect(a, "threads = -1"); }
  {
    OutputQuant q;
    q.multiplier = &mult, q.shift = &bad_shift;
    auto a = c.Args(); a.y_type = DType::kI8, a.quant = &q; c.Expect(a, "quant.shift[0] = 9");
  }
  {
    OutputQuant q;
    q.multiplier = &mult, q.shift = &shift, q.zero_point = 300;
    auto a = c.Args(); a.y_type = DType::kI8, a.quant = &q; c.Expect(a, "quant.zero_point = 300");
  }
  // Too small for the kernel: 1x1 input, 3x3 kernel, no padding.
  {
    ConvDesc d = Base();
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 0;
    const PackedConv p = PackConv(d);
    auto a = c.Args(); a.height = 2, a.width = 1; c.Expect(a, "smaller than the dilated kernel 3 x 3", &p);
  }
  // y overlapping x, partly or wholly.
  { auto a = c.Args(); a.y = c.x.data() + 40; c.Expect(a, "y ["); }
  { auto a = c.Args(); a.y = const_cast<void*>(a.x); c.Expect(a, "overlaps x"); }
  // Packed weights that PackConv did not make.
  {
    PackedConv broken = c.packed;
    broken.bias_row.pop_back();
    c.Expect(c.Args(), "packed weights are not the result of PackConv", &broken);
  }
  {
    PackedConv broken = c.packed;
    broken.mode = MacMode::kS16S16;
    c.Expect(c.Args(), "packed weights are not the result of PackConv", &broken);
  }
  {
    PackedConv broken = c.packed;
    broken.weights.clear();
    c.Expect(c.Args(), "packed weights are not the result of PackConv", &broken);
  }
  {
    PackedConv broken = c.packed;
    broken.desc.groups = 3;
    c.Expect(c.Args(), "packed weights are not the result of PackConv", &broken);
  }
  {  // row sums claimed for weights whose zero points are all 0 (or the other way round)
    PackedConv broken = c.packed;
    broken.needs_row_sums = !broken.needs_row_sums;
    c.Expect(c.Args(), "packed weights are not the result of PackConv", &broken);
  }
  // A machine too small for one output row of the band.
  {
    AccelConfig tiny;
    tiny.sram_bytes = 1024;
    ScalarMachine small(tiny);
    std::vector<uint8_t> before = c.y;
    ExpectErrorMentioning([&] { Conv(small, c.packed, c.Args()); }, "accelerator configuration too small");
    EXPECT_EQ(c.y, before);
    for (uint32_t s = 0; s < kMaxDramSegments; ++s) EXPECT_FALSE(small.dram_bound(s)) << "segment " << s;
  }
}

// An explicit algorithm that cannot run the desc says why.
TEST(ConvErrors, ExplicitAlgorithmSaysWhyNot) {
  ConvDesc d = Base();
  d.algorithm = ConvAlgorithm::kDirect;
  EXPECT_EQ(PackConv(d).algorithm, ConvAlgorithm::kDirect);
  d.layout = ConvLayout::kFolded;
  EXPECT_EQ(PackConv(d).layout, ConvLayout::kFolded);
}

}  // namespace
}  // namespace tile32

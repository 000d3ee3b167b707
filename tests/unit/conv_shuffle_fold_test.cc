// A channel shuffle folded into the next convolution's weights (ConvDesc::input_shuffle_groups) gives
// the bytes that the explicit ChannelShuffle kernel followed by the unfolded convolution gives, on every
// machine and target, and costs nothing: the counters show the shuffle's mux passes and cycles, and none
// for the fold.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/common/conv_test_util.h"

namespace tile32 {
namespace conv_test {
namespace {

using testing::TestSeed;

struct Cost {
  uint64_t cycles = 0, mux_passes = 0, instructions = 0;
};

TEST(ConvShuffleFold, EqualsExplicitShuffleThenConv) {
  const uint64_t seed = TestSeed(8101);
  int index = 0;
  // ShuffleNet shapes: the shuffled concat of two branches, then a 1x1 (or 3x3) convolution.
  const int shapes[][4] = {{116, 2, 116, 1}, {58, 2, 33, 3}, {48, 3, 64, 1}, {232, 4, 40, 1}, {6, 3, 5, 3}};
  for (const auto& sh : shapes) {
    for (DType t : {DType::kU8, DType::kI8, DType::kI16}) {
      ConvCase c;
      c.s = Shape(sh[0], sh[2], 7, 5);
      c.s.kernel_h = c.s.kernel_w = sh[3];
      if (sh[3] == 1) c.s.pad_top = c.s.pad_bottom = c.s.pad_left = c.s.pad_right = 0;
      c.x_type = t, c.w_type = t == DType::kU8 ? DType::kI8 : t == DType::kI8 ? DType::kU8 : t;
      c.x_zp = t == DType::kU8 ? 17 : t == DType::kI8 ? -100 : 0;
      c.w_zp = t == DType::kI8 ? WeightZp::kPerChannel : WeightZp::kNone;
      c.bias = true;
      c.y_type = DType::kI32;
      c.input_shuffle_groups = sh[1];
      const auto folded = PrepareConv(c, seed + index);  // its want: conv of the shuffled input
      // The same weights unfolded, run after the explicit shuffle.
      ConvDesc plain = DescOf(*folded);
      plain.input_shuffle_groups = 0;
      const PackedConv unfolded = PackConv(plain);
      ChannelShuffleDesc sd;
      sd.channels = c.s.in_channels, sd.groups = sh[1], sd.type = t;
      const PackedChannelShuffle shuffle = PackChannelShuffle(sd);
      SCOPED_TRACE(Describe(c, seed + index));
      ++index;

      Machines machines(AccelConfig::Default());
      machines.ForEach([&](Machine& m, const std::string& name) {
        // The fold, and its cost.
        m.ResetCounters();
        EXPECT_TRUE(RunConvOn(m, *folded, 1)) << "folded on " << name;
        const Cost fold{m.counters().total.cycles, m.counters().total.mux_passes, m.counters().instructions};
        // The explicit shuffle (cost counted alone), then the unfolded convolution on its output.
        std::vector<uint8_t> shuffled(folded->x.size());
        ChannelShuffleArgs sa;
        sa.batch = c.s.batch, sa.height = c.s.height, sa.width = c.s.width, sa.x = folded->x.data();
        sa.y = shuffled.data(), sa.threads = 1;
        m.ResetCounters();
        ChannelShuffle(m, shuffle, sa);
        const Cost shuf{m.counters().total.cycles, m.counters().total.mux_passes, m.counters().instructions};
        std::vector<uint8_t> out(folded->want.size());
        ConvArgs a;
        a.batch = c.s.batch, a.height = c.s.height, a.width = c.s.width, a.x = shuffled.data();
        a.x_zero_point = c.x_zp, a.y_type = c.y_type, a.y = out.data(), a.threads = 1;
        m.ResetCounters();
        Conv(m, unfolded, a);
        const Cost conv{m.counters().total.cycles, m.counters().total.mux_passes, m.counters().instructions};
        EXPECT_EQ(out, folded->want) << "explicit shuffle + conv on " << name;
        // The fold costs what the convolution alone costs; the shuffle adds its passes.
        EXPECT_EQ(fold.mux_passes, 0u);
        EXPECT_EQ(fold.cycles, conv.cycles);
        EXPECT_GT(shuf.mux_passes, 0u);
        if (name == "scalar" && t == DType::kU8) {
          std::printf("C %d groups %d: explicit shuffle %llu mux passes, %llu cycles, %llu instructions; "
                      "folded: 0 passes, 0 extra cycles (conv %llu cycles)\n",
                      sd.channels, sd.groups, static_cast<unsigned long long>(shuf.mux_passes),
                      static_cast<unsigned long long>(shuf.cycles), static_cast<unsigned long long>(shuf.instructions),
                      static_cast<unsigned long long>(conv.cycles));
        }
      });
      if (HasFailure()) return;
    }
  }
}

// The fold needs a convolution whose groups are contiguous channels (groups == 1), and an integer mode:
// BF16's fma chain runs in channel order, which the fold changes.
TEST(ConvShuffleFold, RefusedForGroupedConvolutions) {
  std::vector<int8_t> w(8 * 4);
  ConvDesc d;
  d.in_channels = 8, d.out_channels = 8, d.groups = 2, d.w = w.data(), d.input_shuffle_groups = 2;
  testing::ExpectErrorMentioning([&] { PackConv(d); }, "desc.input_shuffle_groups = 2");
  d.groups = 1, d.input_shuffle_groups = 3;
  testing::ExpectErrorMentioning([&] { PackConv(d); }, "must divide desc.in_channels = 8");
  d.input_shuffle_groups = 2, d.x_type = d.w_type = DType::kBF16;
  testing::ExpectErrorMentioning([&] { PackConv(d); }, "cannot be folded into bf16 weights");
}

}  // namespace
}  // namespace conv_test
}  // namespace tile32

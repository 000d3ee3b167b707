// oneDNN int8 convolution and channel shuffle (see onednn_conv_peer.h), against the oneDNN 2.x C++ API
// (convolution_forward::desc, set_output_scales: replaced in 3.0) as packaged by Debian 12 (2.6.3).
#include "bench/onednn_conv_peer.h"

#include <stdexcept>
#include <unordered_map>

#if TILE32_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace tile32::bench {

#if TILE32_HAVE_ONEDNN

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct Primitive {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::primitive primitive;
  dnnl::memory x, y;
  std::unordered_map<int, dnnl::memory> args;
  std::string impl;

  void Run(const uint8_t* src, uint8_t* dst) {
    x.set_data_handle(const_cast<uint8_t*>(src));
    y.set_data_handle(dst);
    primitive.execute(stream, args);
    stream.wait();
  }
};

dnnl::algorithm AlgorithmOf(OneDnnConvAlgorithm a) {
  switch (a) {
    case OneDnnConvAlgorithm::kDirect: return dnnl::algorithm::convolution_direct;
    case OneDnnConvAlgorithm::kWinograd: return dnnl::algorithm::convolution_winograd;
    default: return dnnl::algorithm::convolution_auto;
  }
}

}  // namespace

struct OneDnnConv::State : Primitive {};
struct OneDnnShuffle::State : Primitive {};

OneDnnConv::OneDnnConv(const OneDnnConvSpec& s, const int8_t* w) : state_(std::make_unique<State>()) {
  State& st = *state_;
  const int oh = (s.height + 2 * s.pad - s.kernel) / s.stride + 1;
  const int ow = (s.width + 2 * s.pad - s.kernel) / s.stride + 1;
  const int g = s.groups, kk = s.kernel;
  try {
    // Activations: logical NCHW, laid out NHWC (tag nhwc).
    const dnnl::memory::desc x_md({s.batch, s.in_channels, s.height, s.width}, dt::u8, tag::nhwc);
    const dnnl::memory::desc y_md({s.batch, s.out_channels, oh, ow}, dt::u8, tag::nhwc);
    // tile32's OHWI weights: logical OIHW (ohwi), or with groups GOIHW with the group outermost (gohwi);
    // depthwise is G = C, O = I = 1.
    const dnnl::memory::desc w_user =
        g == 1 ? dnnl::memory::desc({s.out_channels, s.in_channels, kk, kk}, dt::s8, tag::ohwi)
               : dnnl::memory::desc({g, s.out_channels / g, s.in_channels / g, kk, kk}, dt::s8, tag::gohwi);
    const dnnl::memory::desc w_any(w_user.dims(), dt::s8, tag::any);

    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {s.output_scale});  // mask 0: one scale for the tensor
    if (s.src_zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {s.src_zero_point});
    if (s.dst_zero_point != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {s.dst_zero_point});

    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, AlgorithmOf(s.algorithm),
                                               x_md, w_any, y_md, {s.stride, s.stride}, {s.pad, s.pad},
                                               {s.pad, s.pad});
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, st.engine);
    st.impl = pd.impl_info_str();

    // Weights into the primitive's layout once (with a source zero point its descriptor asks the reorder
    // for the compensation terms too).
    dnnl::memory w_src(w_user, st.engine, const_cast<int8_t*>(w));
    if (pd.weights_desc().data.format_kind == dnnl_format_kind_wino) {
      // oneDNN makes its int8 Winograd weights only from f32 oihw/hwio (the reorder transforms them and
      // requantizes the result to s8 with its own scale): widen first.
      dnnl::memory w_f32({w_user.dims(), dt::f32, tag::oihw}, st.engine);
      dnnl::reorder(w_src, w_f32).execute(st.stream, w_src, w_f32);
      w_src = w_f32;
    }
    dnnl::memory w_packed(pd.weights_desc(), st.engine);
    dnnl::reorder(w_src, w_packed).execute(st.stream, w_src, w_packed);
    st.stream.wait();

    st.primitive = dnnl::convolution_forward(pd);
    st.x = dnnl::memory(x_md, st.engine, DNNL_MEMORY_NONE);
    st.y = dnnl::memory(y_md, st.engine, DNNL_MEMORY_NONE);
    st.args = {{DNNL_ARG_SRC, st.x}, {DNNL_ARG_WEIGHTS, w_packed}, {DNNL_ARG_DST, st.y}};
  } catch (const dnnl::error& e) {
    std::string what = std::string("oneDNN convolution: ") + e.what();
    if (e.status == dnnl_unimplemented) {
      what += s.algorithm == OneDnnConvAlgorithm::kWinograd
                  ? " (oneDNN 2.6's int8 Winograd takes no zero points and needs channels in multiples of 16)"
                  : " (no implementation for this layer and these types on this CPU)";
    }
    throw std::runtime_error(what);
  }
}

OneDnnShuffle::OneDnnShuffle(int batch, int height, int width, int channels, int groups)
    : state_(std::make_unique<State>()) {
  State& st = *state_;
  try {
    const dnnl::memory::desc md({batch, channels, height, width}, dt::u8, tag::nhwc);
    // oneDNN's group_size is the length of one group (the rows of its C/G x G view), tile32's groups the
    // number of groups: group_size = C / groups (what PyTorch's mkldnn channel_shuffle passes too).
    const dnnl::shuffle_forward::desc desc(dnnl::prop_kind::forward_inference, md, 1, channels / groups);
    const dnnl::shuffle_forward::primitive_desc pd(desc, st.engine);
    st.impl = pd.impl_info_str();
    st.primitive = dnnl::shuffle_forward(pd);
    st.x = dnnl::memory(md, st.engine, DNNL_MEMORY_NONE);
    st.y = dnnl::memory(md, st.engine, DNNL_MEMORY_NONE);
    st.args = {{DNNL_ARG_SRC, st.x}, {DNNL_ARG_DST, st.y}};
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string("oneDNN shuffle: ") + e.what());
  }
}

void OneDnnConv::Run(const uint8_t* x, uint8_t* y) { state_->Run(x, y); }
void OneDnnShuffle::Run(const uint8_t* x, uint8_t* y) { state_->Run(x, y); }

#else  // !TILE32_HAVE_ONEDNN

namespace {
[[noreturn]] void NotCompiledIn() {
  throw std::runtime_error(
      "oneDNN is not compiled in (install libdnnl-dev and ocl-icd-opencl-dev, reconfigure)");
}
}  // namespace

struct OneDnnConv::State {
  std::string impl;
};
struct OneDnnShuffle::State {
  std::string impl;
};

OneDnnConv::OneDnnConv(const OneDnnConvSpec&, const int8_t*) { NotCompiledIn(); }
OneDnnShuffle::OneDnnShuffle(int, int, int, int, int) { NotCompiledIn(); }
void OneDnnConv::Run(const uint8_t*, uint8_t*) {}
void OneDnnShuffle::Run(const uint8_t*, uint8_t*) {}

#endif  // TILE32_HAVE_ONEDNN

OneDnnConv::~OneDnnConv() = default;
OneDnnShuffle::~OneDnnShuffle() = default;
const std::string& OneDnnConv::impl_name() const { return state_->impl; }
const std::string& OneDnnShuffle::impl_name() const { return state_->impl; }

}  // namespace tile32::bench

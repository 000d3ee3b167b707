// oneDNN matmul with prepacked weights (see onednn_peer.h). Written against the oneDNN 2.x C++ API
// (dnnl.hpp: matmul::desc, removed in 3.0), as packaged by Debian 12 (libdnnl-dev 2.6.3).
#include "bench/onednn_peer.h"

#include <dlfcn.h>

#include <stdexcept>
#include <unordered_map>

#if TILE32_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace tile32::bench {

bool OneDnnCompiledIn() {
#if TILE32_HAVE_ONEDNN
  return true;
#else
  return false;
#endif
}

std::string OneDnnVersion() {
#if TILE32_HAVE_ONEDNN
  const dnnl_version_t* v = dnnl::version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
#else
  return "";
#endif
}

bool SetOpenMpThreads(int threads, std::string* why) {
  // libdnnl.so.2 depends on libgomp.so.1, so with oneDNN linked in, the OpenMP runtime is already in the
  // process and its symbols are in the global scope.
  using SetFn = void (*)(int);
  using GetFn = int (*)();
  auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  auto get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  if (set == nullptr || get == nullptr) {
    *why = "no OpenMP runtime in the process (omp_set_num_threads not found): oneDNN's thread count cannot be set";
    return false;
  }
  set(threads);
  if (get() != threads) {
    *why = "omp_set_num_threads(" + std::to_string(threads) + ") left omp_get_max_threads() = " +
           std::to_string(get());
    return false;
  }
  return true;
}

#if TILE32_HAVE_ONEDNN

namespace {

std::string IsaName() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "isa #" + std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa()));
  }
}

}  // namespace

struct OneDnnMatmul::State {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul primitive;
  dnnl::memory a, b_packed, c;
  std::unordered_map<int, dnnl::memory> args;
  std::string impl;
};

OneDnnMatmul::OneDnnMatmul(OneDnnGemmType type, int M, int N, int K, const void* b)
    : state_(std::make_unique<State>()) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  dt src_t = dt::u8, wei_t = dt::s8, dst_t = dt::s32;
  switch (type) {
    case OneDnnGemmType::kU8S8S32: break;
    case OneDnnGemmType::kS8S8S32: src_t = dt::s8; break;
    case OneDnnGemmType::kBF16BF16F32: src_t = wei_t = dt::bf16; dst_t = dt::f32; break;
  }
  State& s = *state_;
  try {
    const dnnl::memory::desc a_md({M, K}, src_t, tag::ab);
    const dnnl::memory::desc b_any({K, N}, wei_t, tag::any);
    const dnnl::memory::desc c_md({M, N}, dst_t, tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, c_md), s.engine);
    s.impl = pd.impl_info_str();

    // Weights into the primitive's own layout, once: what a runtime does at model load.
    dnnl::memory b_user({{K, N}, wei_t, tag::ab}, s.engine, const_cast<void*>(b));
    s.b_packed = dnnl::memory(pd.weights_desc(), s.engine);
    dnnl::reorder(b_user, s.b_packed).execute(s.stream, b_user, s.b_packed);
    s.stream.wait();

    s.primitive = dnnl::matmul(pd);
    s.a = dnnl::memory(a_md, s.engine, DNNL_MEMORY_NONE);
    s.c = dnnl::memory(c_md, s.engine, DNNL_MEMORY_NONE);
    s.args = {{DNNL_ARG_SRC, s.a}, {DNNL_ARG_WEIGHTS, s.b_packed}, {DNNL_ARG_DST, s.c}};
  } catch (const dnnl::error& e) {
    std::string what = std::string("oneDNN matmul: ") + e.what();
    if (e.status == dnnl_unimplemented) {
      // Typically bf16 on a CPU without AVX-512: oneDNN 2.6 implements bf16 matmul from avx512_core up.
      what += " (no implementation for these types on this CPU; oneDNN's ISA here: " + IsaName() + ")";
    }
    throw std::runtime_error(what);
  }
}

void OneDnnMatmul::Run(const void* a, void* c) {
  State& s = *state_;
  s.a.set_data_handle(const_cast<void*>(a));
  s.c.set_data_handle(c);
  s.primitive.execute(s.stream, s.args);
  s.stream.wait();
}

#else  // !TILE32_HAVE_ONEDNN

struct OneDnnMatmul::State {
  std::string impl;
};

OneDnnMatmul::OneDnnMatmul(OneDnnGemmType, int, int, int, const void*) {
  throw std::runtime_error("oneDNN is not compiled in (install libdnnl-dev and ocl-icd-opencl-dev, reconfigure)");
}

void OneDnnMatmul::Run(const void*, void*) {}

#endif  // TILE32_HAVE_ONEDNN

OneDnnMatmul::~OneDnnMatmul() = default;

const std::string& OneDnnMatmul::impl_name() const { return state_->impl; }

}  // namespace tile32::bench

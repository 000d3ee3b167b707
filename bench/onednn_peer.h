// oneDNN as the speed peer of tile32's GEMM: a matmul primitive with its weights reordered once into the
// format the primitive prefers (format_tag::any, "prepacked"), run on caller buffers. The oneDNN headers
// stay in onednn_peer.cc, so this header compiles whether or not oneDNN was found (TILE32_HAVE_ONEDNN).
//
// Threads: Debian's libdnnl (2.6) is built with the OpenMP runtime (libgomp) and reads the calling
// thread's OpenMP thread count when a primitive is created and run. DNNL::dnnl's CMake target does not
// link OpenMP into the benchmark, but libdnnl.so.2 loads libgomp, so SetOpenMpThreads finds
// omp_set_num_threads at run time (dlsym) instead; it overrides OMP_NUM_THREADS.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace tile32::bench {

// True when this binary was built with oneDNN (CMake found libdnnl-dev).
bool OneDnnCompiledIn();

// "2.6.3" (the library loaded at run time), or "" when not compiled in.
std::string OneDnnVersion();

// Operand types src (A) x weights (B) -> dst (C). oneDNN has no int16 matmul, hence no s16 here.
enum class OneDnnGemmType {
  kU8S8S32,      // uint8 x int8 -> int32
  kS8S8S32,      // int8 x int8 -> int32
  kBF16BF16F32,  // bf16 x bf16 -> fp32 (bf16 given as raw uint16_t bits)
};

// Sets the OpenMP thread count of the calling thread (what oneDNN uses). Returns false with a reason in
// *why when the OpenMP runtime cannot be reached or does not take the count.
bool SetOpenMpThreads(int threads, std::string* why);

// C[M x N] = A[M x K] . B[K x N], all row-major with leading dimensions K, N and N, no zero points, no
// scales, no bias. Call SetOpenMpThreads first: the primitive is created for the current thread count.
class OneDnnMatmul {
 public:
  // Copies B (K x N) into the primitive's preferred weight format once. Throws std::runtime_error with
  // oneDNN's message when oneDNN is not compiled in or has no implementation for the types on this CPU.
  OneDnnMatmul(OneDnnGemmType type, int M, int N, int K, const void* b);
  ~OneDnnMatmul();
  OneDnnMatmul(const OneDnnMatmul&) = delete;
  OneDnnMatmul& operator=(const OneDnnMatmul&) = delete;

  // Runs the primitive on A (M x K) into C (M x N) and waits for it.
  void Run(const void* a, void* c);

  // oneDNN's name of the implementation it chose ("brg:avx512_core_vnni", "gemm:jit", ...).
  const std::string& impl_name() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tile32::bench

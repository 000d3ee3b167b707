#include "layout/tile_pack.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "accel/error.h"

namespace tile32 {

// The packing functions' write access to ImageBytes: zeroed bytes under a new version, then their pointer.
struct ImageWriter {
  static void Zeros(ImageBytes& b, size_t n) {
    static std::atomic<uint64_t> last{0};
    b.bytes_.assign(n, 0);
    b.version_ = ++last;
  }
  static uint8_t* Data(ImageBytes& b) { return b.bytes_.data(); }
};

namespace {

// Offset of T[k][j] inside one tile image (docs/isa.md §3.4), in bytes.
size_t InTileOffset(DType t, int k, int j) {
  if (t == DType::kI8) return size_t(k / 4) * 128 + size_t(j) * 4 + size_t(k % 4);
  return 2 * (size_t(k / 2) * 64 + size_t(j) * 2 + size_t(k % 2));
}

void CheckShape(const char* fn, const void* b, int K, int N, int64_t ldb, bool columns = false) {
  if (b == nullptr) Fail(fn, columns ? ": bt is null" : ": b is null");
  if (K < 1) Fail(fn, ": K = ", K, " must be >= 1");
  if (N < 1) Fail(fn, ": N = ", N, " must be >= 1");
  if (columns && ldb < K) Fail(fn, ": ldbt = ", ldb, " must be >= K = ", K);
  if (!columns && ldb < N) Fail(fn, ": ldb = ", ldb, " must be >= N = ", N);
}

int CeilTiles(int n) { return static_cast<int>((int64_t{n} + kLanes - 1) / kLanes); }

// The k_tiles x n_tiles images of a K x N matrix, all zero (the padding stays so), under a new version.
PackedWeights ZeroImages(DType dtype, int K, int N) {
  PackedWeights p;
  p.dtype = dtype;
  p.K = K;
  p.N = N;
  p.k_tiles = CeilTiles(K);
  p.n_tiles = CeilTiles(N);
  ImageWriter::Zeros(p.bytes, size_t(p.k_tiles) * size_t(p.n_tiles) * p.tile_bytes());
  return p;
}

template <typename T>
PackedWeights Pack(const char* fn, DType dtype, const T* b, int K, int N, int64_t ldb) {
  CheckShape(fn, b, K, N, ldb);
  PackedWeights p = ZeroImages(dtype, K, N);
  // Within a tile image, column j of row k lies 4 bytes after column j - 1 (§3.4, both element sizes): one
  // offset per row of each tile, the hot loop of every weight packing.
  uint8_t* out = ImageWriter::Data(p.bytes);
  for (int k = 0; k < K; ++k) {
    const T* row = b + int64_t{k} * ldb;
    const size_t in_tile = InTileOffset(dtype, k % kLanes, 0);
    for (int nt = 0; nt < p.n_tiles; ++nt) {
      uint8_t* at = out + p.TileOffset(k / kLanes, nt) + in_tile;
      const int n0 = nt * kLanes, n1 = std::min(N, n0 + kLanes);
      for (int n = n0; n < n1; ++n, at += 4) {
        if (row[n] != T{0}) std::memcpy(at, &row[n], sizeof(T));  // the image starts zero
      }
    }
  }
  return p;
}

// Column n of tile (kt, nt) is 4 bytes at j * 4 in each 128-byte row group of the image: rows 4g .. 4g + 3
// (int8) or 2g, 2g + 1 (16-bit). Copied run by run; the image starts zero, so a short last run leaves the
// padding as it is.
template <typename T>
PackedWeights PackColumns(const char* fn, DType dtype, const T* bt, int K, int N, int64_t ldbt) {
  CheckShape(fn, bt, K, N, ldbt, true);
  PackedWeights p = ZeroImages(dtype, K, N);
  constexpr int kRun = 4 / sizeof(T);  // elements of one column per 4 bytes
  constexpr int kGroupBytes = kLanes * 4;
  const size_t image = p.tile_bytes();
  for (int n = 0; n < N; ++n) {
    const T* col = bt + int64_t{n} * ldbt;
    // Column block n / 32's k_tiles images are consecutive (TileOffset).
    uint8_t* block = ImageWriter::Data(p.bytes) + size_t(n / kLanes) * size_t(p.k_tiles) * image + size_t(n % kLanes) * 4;
    for (int kt = 0; kt < p.k_tiles; ++kt) {
      uint8_t* at = block + size_t(kt) * image;
      const int k0 = kt * kLanes, k1 = std::min(K, k0 + kLanes);
      int k = k0;
      for (; k + kRun <= k1; k += kRun, at += kGroupBytes) std::memcpy(at, col + k, 4);
      if (k < k1) std::memcpy(at, col + k, sizeof(T) * size_t(k1 - k));
    }
  }
  return p;
}

template <typename T>
void Unpack(const char* fn, DType dtype, const PackedWeights& p, T* b, int64_t ldb) {
  if (p.dtype != dtype) Fail(fn, ": packed.dtype is ", NameOf(p.dtype), ", expected ", NameOf(dtype));
  if (p.k_tiles != CeilTiles(p.K) || p.n_tiles != CeilTiles(p.N) ||
      p.bytes.size() != size_t(p.k_tiles) * size_t(p.n_tiles) * p.tile_bytes()) {
    Fail(fn, ": packed is inconsistent (K ", p.K, ", N ", p.N, ", k_tiles ", p.k_tiles, ", n_tiles ", p.n_tiles,
         ", ", p.bytes.size(), " bytes)");
  }
  CheckShape(fn, b, p.K, p.N, ldb);
  for (int k = 0; k < p.K; ++k) {
    T* row = b + int64_t{k} * ldb;
    for (int n = 0; n < p.N; ++n) std::memcpy(&row[n], &p.bytes[p.ElementOffset(k, n)], sizeof(T));
  }
}

}  // namespace

size_t TileImageBytes(DType t) {
  switch (t) {
    case DType::kI8: return size_t{kLanes} * kLanes;
    case DType::kI16:
    case DType::kBF16: return size_t{2} * kLanes * kLanes;
    default: Fail("TileImageBytes: type ", NameOf(t), " is not one of {i8, i16, bf16}");
  }
}

size_t PackedWeights::tile_bytes() const { return TileImageBytes(dtype); }

size_t PackedWeights::TileOffset(int kt, int nt) const {
  return (size_t(nt) * size_t(k_tiles) + size_t(kt)) * tile_bytes();
}

size_t PackedWeights::ElementOffset(int k, int n) const {
  return TileOffset(k / kLanes, n / kLanes) + InTileOffset(dtype, k % kLanes, n % kLanes);
}

PackedWeights PackWeightsI8(const int8_t* b, int K, int N, int64_t ldb) {
  return Pack("PackWeightsI8", DType::kI8, b, K, N, ldb);
}
PackedWeights PackWeightsI16(const int16_t* b, int K, int N, int64_t ldb) {
  return Pack("PackWeightsI16", DType::kI16, b, K, N, ldb);
}
PackedWeights PackWeightsBF16(const uint16_t* b, int K, int N, int64_t ldb) {
  return Pack("PackWeightsBF16", DType::kBF16, b, K, N, ldb);
}

PackedWeights PackWeightColumnsI8(const int8_t* bt, int K, int N, int64_t ldbt) {
  return PackColumns("PackWeightColumnsI8", DType::kI8, bt, K, N, ldbt);
}
PackedWeights PackWeightColumnsI16(const int16_t* bt, int K, int N, int64_t ldbt) {
  return PackColumns("PackWeightColumnsI16", DType::kI16, bt, K, N, ldbt);
}
PackedWeights PackWeightColumnsBF16(const uint16_t* bt, int K, int N, int64_t ldbt) {
  return PackColumns("PackWeightColumnsBF16", DType::kBF16, bt, K, N, ldbt);
}

void UnpackWeightsI8(const PackedWeights& packed, int8_t* b, int64_t ldb) {
  Unpack("UnpackWeightsI8", DType::kI8, packed, b, ldb);
}
void UnpackWeightsI16(const PackedWeights& packed, int16_t* b, int64_t ldb) {
  Unpack("UnpackWeightsI16", DType::kI16, packed, b, ldb);
}
void UnpackWeightsBF16(const PackedWeights& packed, uint16_t* b, int64_t ldb) {
  Unpack("UnpackWeightsBF16", DType::kBF16, packed, b, ldb);
}

}  // namespace tile32

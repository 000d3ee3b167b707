// Weights in the ISA's tile order (docs/isa.md §3.4), packed once on the host so that kernels DMA tile
// images into SRAM and TLD them without any reordering.
//
// A K x N weight matrix B (row k = input index, column n = output channel) becomes k_tiles x n_tiles tile
// images, k_tiles = ceil(K/32), n_tiles = ceil(N/32), each 32 x 32, zero-padded beyond K and N. Tile
// (kt, nt) holds B[32*kt + k][32*nt + j] as T[k][j], and the tiles are stored
//
//     N-block major, K-tile minor:   tile index = nt * k_tiles + kt,   byte offset = index * tile_bytes
//
// so the k_tiles images of one 32-column block are consecutive: `t` of them, DMA'd to consecutive SRAM
// tile slots and TLD'd into T[i], ..., T[i+t-1], feed one TMAC with tiles = t (its 32*t-deep weight
// matrix is exactly B's rows [32*kt, 32*(kt+t)) of that column block). Zero padding makes any
// activation value in the padded K positions contribute exactly 0 to an integer TMAC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "accel/isa.h"

namespace tile32 {

// The bytes of packed tile images, read-only once packed. Each packing gives them a new version (copies keep
// it, as they hold the same bytes): a machine that has copied a version into SRAM may skip copying the same
// bytes to the same place again while that SRAM is unchanged (docs/simd_machine.md, "Packed weights kept in
// SRAM"), so nothing may change them in place. Only the packing functions write them.
class ImageBytes {
 public:
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  const uint8_t& operator[](size_t i) const { return bytes_[i]; }
  std::vector<uint8_t>::const_iterator begin() const { return bytes_.begin(); }
  std::vector<uint8_t>::const_iterator end() const { return bytes_.end(); }
  uint64_t version() const { return version_; }  // 0 until packed
  bool operator==(const ImageBytes& o) const { return bytes_ == o.bytes_; }  // the bytes, whatever the versions
  bool operator!=(const ImageBytes& o) const { return bytes_ != o.bytes_; }

 private:
  friend struct ImageWriter;  // layout/tile_pack.cc
  std::vector<uint8_t> bytes_;
  uint64_t version_ = 0;
};

struct PackedWeights {
  DType dtype = DType::kI8;  // kI8, kI16 or kBF16 (bf16 held as its raw 16 bits)
  int K = 0;                 // rows of the source matrix (the TMAC depth)
  int N = 0;                 // columns (output channels)
  int k_tiles = 0;           // ceil(K / 32)
  int n_tiles = 0;           // ceil(N / 32)
  ImageBytes bytes;  // k_tiles * n_tiles tile images, N-block major (see above)

  // Bytes of one tile image: 1024 (int8) or 2048 (int16, bf16).
  size_t tile_bytes() const;
  // Byte offset of tile (kt, nt) in `bytes`.
  size_t TileOffset(int kt, int nt) const;
  // Byte offset of element B[k][n] in `bytes` (k < 32*k_tiles, n < 32*n_tiles; padding included).
  size_t ElementOffset(int k, int n) const;
};

// Bytes of a tile image of type t (kI8: 1024, kI16/kBF16: 2048); throws for other types.
size_t TileImageBytes(DType t);

// Packs the K x N matrix b (row-major, leading dimension ldb >= N, in elements). K, N >= 1.
// Throws tile32::Error naming the argument for a null b, K or N < 1, or ldb < N.
PackedWeights PackWeightsI8(const int8_t* b, int K, int N, int64_t ldb);
PackedWeights PackWeightsI16(const int16_t* b, int K, int N, int64_t ldb);
PackedWeights PackWeightsBF16(const uint16_t* b, int K, int N, int64_t ldb);  // raw bf16 bits

// The same images from the transpose: column n of B is bt[n * ldbt .. n * ldbt + K) (ldbt >= K), as
// convolution weights lie, output channel by output channel. Each column's elements go to their image in
// runs of 4 bytes (4 int8 or 2 16-bit rows of one column are adjacent, §3.4), so the source is read once in
// order and no K x N transpose is built. Throws as PackWeights* (naming bt and ldbt).
PackedWeights PackWeightColumnsI8(const int8_t* bt, int K, int N, int64_t ldbt);
PackedWeights PackWeightColumnsI16(const int16_t* bt, int K, int N, int64_t ldbt);
PackedWeights PackWeightColumnsBF16(const uint16_t* bt, int K, int N, int64_t ldbt);

// The inverse: writes the K x N matrix back to b (leading dimension ldb >= N). The dtype of `packed`
// must match the function. Padding is not written.
void UnpackWeightsI8(const PackedWeights& packed, int8_t* b, int64_t ldb);
void UnpackWeightsI16(const PackedWeights& packed, int16_t* b, int64_t ldb);
void UnpackWeightsBF16(const PackedWeights& packed, uint16_t* b, int64_t ldb);

}  // namespace tile32

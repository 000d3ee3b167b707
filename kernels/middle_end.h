// The middle end every TMAC operator shares (kernels/operator.h names the three ends). Between the front
// end, which validated and packed, and the Machine, an operator's loop uses:
//   SramPlan     where everything sits in SRAM for one call (a bump allocator with errors that say what
//                did not fit in which configuration);
//   WeightTiles  the packed weight tiles (or all-ones tiles for row sums) brought into T0, T1, ... chunk by
//                chunk, from images DMA'd into SRAM in windows ahead of the TMACs that read them (resident,
//                or streamed through two window slots), else streamed per chunk;
//   Epilogue     the accumulators of one block of 32 output channels: seeded with the bias row, corrected
//                by the INT8 row-sum term, and turned into outputs in SRAM (ACC_ST, or QCFG + REQ).
// The loop itself (which rows, which activation addresses, in which order) is the operator's own: GEMM in
// kernels/gemm_loop.cc, each convolution in kernels/conv_*.cc.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "accel/machine.h"
#include "kernels/operator.h"
#include "kernels/output_quant.h"
#include "layout/tile_pack.h"

namespace tile32 {

class SramPlan {
 public:
  SramPlan(const AccelConfig& config, const char* fn) : size_(config.sram_bytes), fn_(fn) {}
  // A plan over [base, base + bytes) only (a region another plan reserved).
  SramPlan(uint64_t base, uint64_t bytes, const char* fn) : size_(base + bytes), used_(base), fn_(fn) {}
  // `bytes` at a 64-byte aligned address; a tile32::Error naming fn and `what` if they do not fit.
  uint32_t Take(const char* what, uint64_t bytes);
  // Bytes still free after aligning to 64.
  uint64_t left() const;
  uint32_t used() const { return static_cast<uint32_t>(used_); }

 private:
  uint64_t size_ = 0, used_ = 0;
  const char* fn_;
};

// Rounds n up to a multiple of 64 (SRAM regions start at 64-byte boundaries: whole bank words, and the
// host's cache lines in the SIMD machine).
inline uint64_t Align64(uint64_t n) { return (n + 63) & ~uint64_t{63}; }

class WeightTiles {
 public:
  // The images of `w` in the order the loops walk them, tile i = nt * k_tiles + kt, come by DMA in windows of
  // consecutive tiles: a TMAC waits only for the window it reads, and the loop brings the next one
  // (Prefetch) while TMACs read the current (docs/isa.md §8.3: the DMA then runs beside them).
  //   resident: every window keeps its own place in SRAM, each loaded once, when first needed or prefetched;
  //     one window of all when not `split_resident`.
  //   streamed, when `budget` bytes of SRAM hold two windows of at least max_chunk tiles: two window slots,
  //     the next window coming into the one the TMACs do not read.
  //   streamed otherwise: one slot of max_chunk tiles that each Load fills by one DMA (nothing ahead).
  // Ones tiles (for row sums) need `ones` = true. The constructor takes SramBytes(...) of `plan`, or up to
  // `budget` for two slots.
  WeightTiles(Machine& m, DramBindings& dram, SramPlan& plan, const PackedWeights& w, bool resident, int max_chunk,
              bool ones, uint64_t budget = 0, bool split_resident = true);
  // Bytes of SRAM the constructor takes for these arguments with no budget (the least it needs).
  static uint64_t SramBytes(const PackedWeights& w, bool resident, int max_chunk, bool ones);
  // The same from the size of all images and of one.
  static uint64_t SramBytes(uint64_t image_bytes, uint64_t tile_bytes, bool resident, int max_chunk, bool ones);
  // Tiles per window the constructor chooses for these arguments (all of `total_tiles` tiles of `k_tiles` per
  // column block), or 0 when streamed without windows (one slot of max_chunk tiles per Load).
  static int64_t WindowTiles(int64_t total_tiles, int k_tiles, uint64_t tile_bytes, bool resident, int max_chunk,
                             bool ones, uint64_t budget, bool split_resident);

  // Where window `win` goes: a resident window has its own slot, a streamed one the slot `other` is not.
  static int SlotFor(int64_t win, bool resident, int other) { return resident ? static_cast<int>(win) : 1 - other; }
  // The slots of windows w0 and w1 (w0 or w0 + 1) that one Load reads, fetching those not in SRAM
  // (find(w): its slot or -1; fetch(w, slot)). The analytic model places its windows by the same rule.
  template <typename FindFn, typename FetchFn>
  static std::pair<int, int> WindowSlots(int64_t w0, int64_t w1, bool resident, int cur_slot, FindFn find,
                                         FetchFn fetch) {
    int s0 = find(w0), s1 = find(w1);
    if (s0 < 0) fetch(w0, s0 = SlotFor(w0, resident, s1 >= 0 ? s1 : cur_slot));
    if (w1 == w0) s1 = s0;
    if (s1 < 0) fetch(w1, s1 = SlotFor(w1, resident, s0));
    return {s0, s1};
  }

  // T0 .. T(tiles-1) <- tiles (kt0 .. kt0+tiles-1) of column block nt; nothing when they are there already.
  void Load(int kt0, int tiles, int nt);
  // T0 .. T(tiles-1) <- all-ones int8 tiles (a TMAC against them puts each row's sum in every lane).
  void LoadOnes(int tiles);
  // Issued after a TMAC (so that a wait for the DMA engines holds up nothing before it): the window after the
  // one the last Load read, by one DMA, unless it is in SRAM already or there is none. `wrap`: the loop walks
  // the tiles again from the first (another band or row block), which then follows the last.
  void Prefetch(bool wrap);

 private:
  // Slot (0 or 1; resident: the window's own place) holding window `win`, or -1.
  int Find(int64_t win) const;
  // Window `win` into slot `slot` by one DMA.
  void Fetch(int64_t win, int slot);
  uint32_t SlotAddress(int slot) const;

  Machine& m_;
  const PackedWeights& w_;
  bool resident_;
  uint32_t seg_ = 0, addr_ = 0, ones_addr_ = 0;
  int64_t loaded_kt0_ = -1, loaded_nt_ = -1, loaded_tiles_ = 0;
  // Windows: none (one slot per Load), every window (resident) or two slots.
  int64_t total_tiles_ = 0, window_ = 0, windows_ = 0;
  std::vector<uint8_t> fetched_;  // resident: per window, whether its DMA was issued
  int64_t slot_window_[2] = {-1, -1};
  int cur_slot_ = 1;            // the slot the last Load read last
  int64_t cur_window_ = -1;     // the window the last Load read last
  int64_t cur_lo_ = 0, cur_hi_ = 0;  // its tiles [cur_lo_, cur_hi_) (none yet)
  uint32_t cur_at_ = 0;              // the address of tile cur_lo_
};

// A TMAC (the one instruction every loop issues in bulk).
void IssueTmac(Machine& m, MacMode mode, uint32_t acc_row, uint32_t rows, uint32_t a_addr, int32_t a_stride,
               int tiles);

// The bias words as EpilogueArgs::bias: null when every word is 0, so that the accumulators are seeded by
// ACC_ZERO, with no bias row to move (the same bits: int32 0, fp32 +0.0).
inline const uint32_t* SeedBias(const std::vector<uint32_t>& words) {
  for (uint32_t v : words) {
    if (v != 0) return words.data();
  }
  return nullptr;
}

struct EpilogueArgs {
  DType out = DType::kI32;  // kI32, kF32, kBF16 (ACC_ST) or kI8, kU8, kI16 (REQ with quant)
  const OutputQuant* quant = nullptr;
  int blocks = 0;                           // blocks of 32 output channels
  const uint32_t* bias = nullptr;           // 32 * blocks ACC words, or null (seed 0)
  const int32_t* row_sum_scale = nullptr;   // 32 * blocks factors of the INT8 row-sum term, or null
  int channel_offset = 0;                   // added to the channels of every Convert (a group's first output)
  // Every block's bias and factors in SRAM at once, by one DMA each, when they take at most 1/64 of it (else
  // one block's at a time, as without): a per-block DMA of 128 bytes queues behind the DMA engines' other
  // work and holds up the seed, which a loop that overlaps blocks cannot afford (docs/isa.md §8.3).
  bool resident = false;
};

class Epilogue {
 public:
  Epilogue(Machine& m, DramBindings& dram, SramPlan& plan, const EpilogueArgs& args);
  // Bytes of SRAM the constructor takes for these arguments (each region rounded up to 64).
  static uint64_t SramBytes(const AccelConfig& config, const EpilogueArgs& args);

  // ACC rows [acc_row, +rows) <- the bias row of block b (ACC_LD with row stride 0), or 0 (ACC_ZERO).
  void Seed(uint32_t acc_row, uint32_t rows, int b);
  // ACC[acc_row + r] = bias(b) + scale(b) * ACC[sums_row + r] lane by lane, wrapping (ACC_LD of the two
  // rows into spare_rows, spare_rows + 1, then AALU MUL and ADD): the INT8 weight-zero-point term of
  // every row, with the sums left as they are for the next block.
  void SeedWithRowSums(uint32_t acc_row, uint32_t rows, int b, uint32_t sums_row, uint32_t spare_rows);
  // The outputs of block b, rows [acc_row, +rows), into SRAM at sram + r * stride: ACC_ST, or REQ with the
  // quantization of output channels [n0, n0 + 32), lanes at or past `end` neutral (QCFG when it changes).
  void Convert(uint32_t acc_row, uint32_t rows, int n0, int end, uint32_t sram, int32_t stride);

  // The caller issued a QCFG of its own: the next Convert loads Q again.
  void QuantClobbered() { quant_key_ = -1; }

  bool requant() const { return requant_; }
  uint32_t row_bytes() const { return row_bytes_; }

 private:
  // Whether every block's rows stay in SRAM (EpilogueArgs::resident, when they fit).
  static bool Resident(const AccelConfig& config, const EpilogueArgs& args);
  // The address of block b's bias row, DMA'd into SRAM unless it is there already.
  uint32_t LoadBias(int b);

  Machine& m_;
  EpilogueArgs a_;
  bool requant_;
  uint32_t row_bytes_;
  uint32_t seg_bias_ = 0, seg_scale_ = 0, bias_addr_ = 0, scale_addr_ = 0;
  bool resident_ = false;
  int loaded_bias_ = -1;
  int64_t quant_key_ = -1;  // n0 * 2^32 + end of the Q register now loaded
};

}  // namespace tile32

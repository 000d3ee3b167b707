// The transformed weights (U) of kernels/conv_winograd.cc on their way to the tile registers: resident in
// SRAM or streamed from DRAM, fetched in the order the loop uses them.
// Internal to kernels/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "accel/error.h"
#include "accel/machine.h"
#include "kernels/middle_end.h"
#include "kernels/operator.h"
#include "layout/tile_pack.h"

namespace tile32 {
namespace winograd {

constexpr int kPositions = 16;  // of a 4x4 tile: one U matrix each

// The 16 U matrices of one group in T0, T1, ...: SRAM-resident, or streamed per chunk into slots used in turn
// (two, or up to eight with Stream; a DMA never overwrites images whose tile loads are still to be issued:
// program order, which the model's dependencies and the other machines keep). Resident images come by
// one DMA per position and column block, in the order the first band uses them, a window ahead of its TMACs
// (FetchThrough), so the first TMACs wait for their own images, not for all of U. Streamed, the column blocks
// from `cached_from` on keep their images in SRAM once fetched, for the next band of the image, which the
// loop runs in the opposite block order: it starts with them.
class UTiles {
 public:
  UTiles(Machine& m, DramBindings& dram, SramPlan& plan, const PackedWeights* w, bool resident, int chunk,
         uint32_t cache, int cached_from)
      : m_(m), w_(w), resident_(resident), cache_(cache), cached_from_(resident ? 0 : cached_from),
        fetched_(size_t(w[0].n_tiles) * kPositions, 0) {
    for (int pos = 0; pos < kPositions; ++pos) {
      seg_[pos] = dram.BindReadOnly(w[pos].bytes);
      if (resident) addr_[pos] = plan.Take("the transformed weights", w[pos].bytes.size());
    }
    if (!resident) {
      for (int i = 0; i < 2; ++i) slots_.push_back(plan.Take("a chunk of transformed weight tiles", w[0].tile_bytes() * uint64_t(chunk)));
    }
  }
  // Streamed: more slots (at `base`, `bytes` apart), and the loads from DRAM in the order the loop makes them
  // (position, first tile, tiles, column block), so that each comes as many loads ahead as there are slots
  // less one: the DMAs run on while the arrays wait for the vector unit (between blocks, a band's input
  // transform, the cached blocks).
  struct Use {
    int pos, kt0, tiles, nt;
  };
  void Stream(uint32_t base, int more, uint64_t bytes, std::vector<Use> uses) {
    for (int i = 0; i < more; ++i) slots_.push_back(base + static_cast<uint32_t>(bytes * uint64_t(i)));
    uses_ = std::move(uses);
  }
  static uint64_t SramBytes(const PackedWeights* w, bool resident, int chunk) {
    if (!resident) return 2 * Align64(w[0].tile_bytes() * uint64_t(chunk));
    uint64_t sum = 0;
    for (int pos = 0; pos < kPositions; ++pos) sum += Align64(w[pos].bytes.size());
    return sum;
  }
  // Bytes of one position's column block: what the cache holds per position and block.
  static uint64_t BlockBytes(const PackedWeights* w) { return w[0].tile_bytes() * uint64_t(w[0].k_tiles); }
  // The images of the first band's uses [0, i] (use u = column block u / 16, position u % 16), resident.
  void FetchThrough(int64_t i) {
    const int64_t uses = int64_t{w_[0].n_tiles} * kPositions;
    for (; resident_ && next_use_ <= i && next_use_ < uses; ++next_use_) {
      Fetch(static_cast<int>(next_use_ % kPositions), static_cast<int>(next_use_ / kPositions));
    }
  }
  // All of U, one DMA per position, resident.
  void FetchAll() {
    if (!resident_) return;
    for (int pos = 0; pos < kPositions; ++pos) {
      DmaIn in;
      in.sram = addr_[pos], in.segment = seg_[pos], in.rows = 1, in.row_bytes = static_cast<uint32_t>(w_[pos].bytes.size());
      m_.Execute(in);
    }
    std::fill(fetched_.begin(), fetched_.end(), 1);
    next_use_ = int64_t{w_[0].n_tiles} * kPositions;
  }
  // A new image: the cache's images are fetched again (so that every image costs the same).
  void Forget() {
    if (!resident_) std::fill(fetched_.begin(), fetched_.end(), 0);
  }
  // T0 .. T(tiles-1) <- tiles kt0 .. kt0+tiles-1 of column block nt of position pos.
  void Load(int pos, int kt0, int tiles, int nt) {
    const PackedWeights& w = w_[pos];
    const uint32_t tile_bytes = static_cast<uint32_t>(w.tile_bytes());
    uint32_t from = 0;
    if (Held(nt)) {
      Fetch(pos, nt);
      from = Home(pos, nt) + tile_bytes * static_cast<uint32_t>(kt0);
    } else if (uses_.empty()) {
      from = slots_[next_];
      next_ ^= 1;
      Stream(from, pos, kt0, tiles, nt);
    } else {
      const size_t n = slots_.size();
      for (; issued_ < uses_.size() && issued_ < used_ + n; ++issued_) {
        const Use& u = uses_[issued_];
        Stream(slots_[issued_ % n], u.pos, u.kt0, u.tiles, u.nt);
      }
      const Use& u = uses_[used_];
      if (u.pos != pos || u.kt0 != kt0 || u.tiles != tiles || u.nt != nt) {
        Fail("winograd: U load ", used_, " out of the order streamed (an internal error)");
      }
      from = slots_[used_++ % n];
    }
    for (int t = 0; t < tiles; ++t) {
      TileLoad tl;
      tl.td = static_cast<uint8_t>(t), tl.type = DType::kI16, tl.addr = from + tile_bytes * static_cast<uint32_t>(t);
      m_.Execute(tl);
    }
  }

 private:
  bool Held(int nt) const { return resident_ || nt >= cached_from_; }
  uint32_t Home(int pos, int nt) const {
    if (resident_) return addr_[pos] + static_cast<uint32_t>(w_[pos].TileOffset(0, nt));
    return cache_ + static_cast<uint32_t>((uint64_t(nt - cached_from_) * kPositions + uint64_t(pos)) * BlockBytes(w_));
  }
  void Stream(uint32_t to, int pos, int kt0, int tiles, int nt) {
    DmaIn in;
    in.sram = to, in.segment = seg_[pos], in.dram = w_[pos].TileOffset(kt0, nt), in.rows = 1;
    in.row_bytes = static_cast<uint32_t>(w_[pos].tile_bytes()) * static_cast<uint32_t>(tiles);
    m_.Execute(in);
  }
  void Fetch(int pos, int nt) {
    char& done = fetched_[size_t(nt) * kPositions + size_t(pos)];
    if (done) return;
    done = 1;
    DmaIn in;
    in.sram = Home(pos, nt), in.segment = seg_[pos], in.dram = w_[pos].TileOffset(0, nt), in.rows = 1;
    in.row_bytes = static_cast<uint32_t>(BlockBytes(w_));
    m_.Execute(in);
  }

  Machine& m_;
  const PackedWeights* w_;
  bool resident_;
  uint32_t cache_;
  int cached_from_;
  std::vector<char> fetched_;
  int64_t next_use_ = 0;
  uint32_t seg_[kPositions] = {}, addr_[kPositions] = {};
  std::vector<uint32_t> slots_;
  int next_ = 0;
  std::vector<Use> uses_;
  size_t issued_ = 0, used_ = 0;  // of uses_: DMAs issued, loads made
};

}  // namespace winograd
}  // namespace tile32

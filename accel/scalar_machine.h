// The reference machine: docs/isa.md as plain C++, one function per instruction, in the spec's order.
// It holds the architectural state in its canonical form; the SIMD machine derives from it, keeps the same
// state and replaces the hot instructions with vector code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "accel/machine.h"

namespace tile32 {

using ScalarMachineTile = std::array<uint16_t, kLanes * kLanes>;

// Storage aligned to 64 bytes: each 128-byte ACC row then starts a host cache line, which the SIMD
// machine's row loops rely on for speed (a 64-byte store across two lines costs two).
template <typename T>
struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <typename U>
  Aligned64(const Aligned64<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t{64}); }
  bool operator==(const Aligned64&) const { return true; }
  bool operator!=(const Aligned64&) const { return false; }
};

// SRAM's bytes, 64-byte aligned: a row of activations at a 64-byte address then starts a host cache line
// (AMX tile loads and 64-byte vector loads across two lines cost two: the AMX TMAC ran at half speed in a
// process whose SRAM the allocator had put 16 bytes past a line).
using SramBytes = std::vector<uint8_t, Aligned64<uint8_t>>;

// §3.4: the canonical tile of a tile image in tile order.
void DecodeTileImage(DType type, const uint8_t* image, ScalarMachineTile* tile);

class ScalarMachine : public Machine {
 public:
  using Lanes = std::array<uint32_t, kLanes>;
  // A tile in canonical form: T[k][j] at [k * 32 + j], int8/int16 values sign-extended to 16 bits, bf16 as
  // its raw 16 bits.
  using Tile = ScalarMachineTile;

  explicit ScalarMachine(const AccelConfig& config);
  const char* name() const override { return "scalar"; }

  // Architectural state, canonical (read by tests, golden dumps and the host).
  const SramBytes& sram() const {
    SettleSram();
    return sram_;
  }
  // Host writes to SRAM: call again after executing instructions (tile registers loaded before this call
  // keep the bytes they loaded; the SIMD machine snapshots them here).
  SramBytes& sram() {
    BeforeHostSramWrite();
    return sram_;
  }
  const Lanes& vreg(int v) const { return vregs_[v]; }
  const Tile& tile(int t) const {
    MaterializeTile(t);
    return tiles_[t];
  }
  const uint32_t* acc_row(uint32_t row) const {
    SettleAcc();
    return &acc_[size_t{row} * kLanes];
  }

 protected:
  virtual void BeforeHostSramWrite() {}
  // A derived machine that defers work on ACC (the SIMD machine batches EMACs) completes it here, before
  // anyone reads ACC through acc_row().
  virtual void SettleAcc() const {}
  // ... and work that writes SRAM (a REQ fused into an EMAC batch), before anyone reads SRAM through sram().
  virtual void SettleSram() const {}
  void Do(const DmaIn&) override;
  void Do(const DmaOut&) override;
  void Do(const VLoad&) override;
  void Do(const VStore&) override;
  void Do(const TileLoad&) override;
  void Do(const AccZero&) override;
  void Do(const AccLoad&) override;
  void Do(const AccStore&) override;
  void Do(const TileMac&) override;
  void Do(const ElemMac&) override;
  void Do(const Requant&) override;
  void Do(const VAlu&) override;
  void Do(const VPerm&) override;
  void Do(const VFromAcc&) override;
  void Do(const VToAcc&) override;
  void Do(const AccAlu&) override;
  void Do(const RowPerm&) override;

  // A derived machine that keeps tiles in its own layout brings tiles_[t] up to date here.
  virtual void MaterializeTile(int /*t*/) const {}

  uint32_t* acc_at(uint32_t row) { return &acc_[size_t{row} * kLanes]; }
  uint8_t* sram_at(int64_t addr) { return sram_.data() + addr; }

  SramBytes sram_;
  std::vector<Lanes> vregs_;
  mutable std::vector<Tile> tiles_;
  std::vector<uint32_t, Aligned64<uint32_t>> acc_;
};

}  // namespace tile32

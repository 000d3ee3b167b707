// The SIMD emulator: the scalar machine's state and semantics, with the hot instructions (TMAC, EMAC,
// REQ, ACC stores) executed by Highway vector code chosen at run time (dynamic dispatch). It must be
// bit-identical to ScalarMachine on every target; tests/bitexact proves it per target.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accel/scalar_machine.h"

namespace tile32 {

// A tile register as the vector unit reads it (derived state, never observable). TLD copies nothing: the
// register reads the SRAM bytes it was loaded from until an instruction is about to overwrite them, when
// they are copied to `image`. Every other layout is built by the first TMAC that reads it. (A GEMV reads
// each tile once: a copy or a layout it does not need would cost more than its MACs.)
struct alignas(64) PreparedTile {
  // int8 tiles: T[2p+i][j] at [p][j][i], a 32-bit lane holds a k-pair of column j (pmaddwd). (16-bit tile
  // order is this layout already; the int8 tile order is the k-quad layout of pmaddubsw and vpdpbusd:
  // both are read from `data`.)
  int16_t pairs[16][kLanes][2];
  int32_t comp128[kLanes];  // int8: 128 * sum_k T[k][j], undoes the +128 bias of s8 activations on u8 dot products
  float f32[kLanes][kLanes];  // bf16 tiles widened, row-major [k][j]
  uint8_t image[2 * kLanes * kLanes];  // the tile image as TLD read it (tile order), once copied
  const uint8_t* data = nullptr;       // the tile image: `image`, or SRAM at sram_addr while unchanged there
  uint32_t sram_addr = 0, bytes = 0;
  bool narrow;    // int8 tile with every weight in [-64, 63]: pmaddubsw cannot saturate (valid with kNarrow)
  uint8_t built;  // PreparedTile::k* bits: what above is valid beyond `data`
  static constexpr uint8_t kNarrow = 1, kComp = 2, kPairs = 4, kF32 = 8;
};

// One deferred EMAC (internal to the SIMD machine): where its rows read, and its weight lanes as they were
// when it was issued.
struct EmacItem {
  int64_t a_addr = 0, a_stride = 0;
  uint32_t w[kLanes] = {};
};
// EMACs on the same ACC rows run together, up to this many (a 7x7 depthwise kernel is 49).
inline constexpr int kMaxEmacBatch = 64;
// Work on an EMAC batch's rows fused into its pass (SimdMachine::FlushEmacs): the rows start as `seed` (a
// deferred ACC_LD broadcast) instead of as they are, and afterwards a deferred REQ with `quant` writes them
// as `out` to SRAM at addr + r * stride.
struct EmacTail {
  const uint32_t* seed = nullptr;
  const QuantConfig* quant = nullptr;
  DType out = DType::kU8;
  int64_t addr = 0, stride = 0;
};

// An RPERM route as bytes (internal to the SIMD machine): destination byte k (k < bytes = 32 * element
// size) takes source byte index[k] where bit k of mask is set; other bytes are not written.
struct BytePerm {
  alignas(64) uint8_t index[4 * kLanes] = {};
  uint64_t mask[2] = {};
  int bytes = 0;
};

class SimdMachine : public ScalarMachine {
 public:
  explicit SimdMachine(const AccelConfig& config);
  ~SimdMachine() override;
  const char* name() const override { return "simd"; }

 protected:
  void BeforeHostSramWrite() override;
  void BeforeInstruction(const Instr& next) override;
  void SettleAcc() const override;
  void SettleSram() const override;
  void Do(const DmaIn&) override;
  void Do(const DmaOut&) override;
  void Do(const VLoad&) override;
  void Do(const VStore&) override;
  void Do(const TileLoad&) override;
  void Do(const AccZero&) override;
  void Do(const AccLoad&) override;
  void Do(const TileMac&) override;
  void Do(const ElemMac&) override;
  void Do(const Requant&) override;
  void Do(const AccStore&) override;
  void Do(const AccAlu&) override;
  void Do(const RowPerm&) override;
  void MaterializeTile(int t) const override;

 private:
  // Copies the image of every tile register still reading SRAM in `span` before those bytes are written.
  void SettleTiles(ByteSpan span);
  void SettleWrites();  // SettleTiles for every SRAM write of the current instruction's footprint
  // Runs the deferred EMACs (all on ACC rows [emac_row_, + emac_rows_), of emac_mode_), row by row, each row
  // once through registers for the whole batch. Called before any other instruction, a host SRAM write, or
  // a read of ACC (docs/simd_machine.md, "EMAC").
  void FlushEmacs();
  // Whether REQ i can join the batch: same rows, rows written apart, nothing written that an EMAC reads.
  bool FusesRequant(const Requant& i) const;
  std::vector<EmacItem> emacs_;
  MacMode emac_mode_ = MacMode::kU8S8;
  uint32_t emac_row_ = 0, emac_rows_ = 0;
  // The batch's rows may also start from a deferred ACC_LD broadcast (before any EMAC joins) and end in a
  // deferred REQ (after which only register instructions and QCFG wait for the flush).
  bool seed_pending_ = false, req_pending_ = false;
  alignas(64) uint32_t seed_[kLanes] = {};
  Requant req_;
  QuantConfig req_quant_;
  // Decoding the canonical tile costs more than the MACs of a GEMV, so TLD leaves it stale and the
  // canonical tile is built only when something reads it (tests, scalar fallbacks).
  mutable std::vector<char> canonical_stale_;
  std::vector<PreparedTile> prepared_;  // indexed by tile register, contiguous for TMAC chains
};

// Highway targets: compiled into this binary, supported by this CPU (and compiled), and the one dynamic
// dispatch picks now. Bits are HWY_* target bits; names are Highway's ("AVX3_DL", "AVX2", ...).
struct SimdTarget {
  int64_t bits = 0;
  std::string name;
};
struct SimdTargets {
  std::vector<SimdTarget> compiled;
  std::vector<SimdTarget> supported;
  SimdTarget dispatched;
};
SimdTargets ListSimdTargets();

// Restricts dynamic dispatch to `target` (one HWY_* bit) for every SimdMachine until called with 0.
// Used by tests and benchmarks to run each compiled target on one machine.
void ForceSimdTarget(int64_t target);

}  // namespace tile32

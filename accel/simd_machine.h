// The SIMD emulator: the scalar machine's state and semantics, with the hot instructions (TMAC, EMAC,
// REQ, ACC stores) executed by Highway vector code chosen at run time (dynamic dispatch). It must be
// bit-identical to ScalarMachine on every target; tests/bitexact proves it per target.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
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
  // Still reading its SRAM bytes in place (not its own `image`): a write there must copy them first.
  bool ReadsSram() const { return data != nullptr && data != image; }
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

// Two int8 tile images back to back: the B operand of one AMX step (K = 64), copied when a TMAC's tiles
// are not already so in memory (accel/simd_amx.cc).
struct alignas(64) AmxPairBlock {
  uint8_t bytes[2 * kLanes * kLanes];
};

// An RPERM route as bytes (internal to the SIMD machine): destination byte k (k < bytes = 32 * element
// size) takes source byte index[k] where bit k of mask is set; other bytes are not written.
struct BytePerm {
  alignas(64) uint8_t index[4 * kLanes] = {};
  uint64_t mask[2] = {};
  int bytes = 0;
};

// Deferred RPERMs (internal to the SIMD machine). One RPERM of a batch: its route as bytes, where row 0
// reads and writes.
struct PermItem {
  BytePerm perm;
  int64_t src = 0, dst = 0;
};
// RPERMs of the same rows and strides run together, up to this many (a 464-channel groups-2 shuffle is 30).
inline constexpr int kMaxPermBatch = 64;
// The batch as the vector unit runs it, row by row (SimdMachine::FlushPerms builds it, docs/simd_machine.md
// "RPERM"): a row's destination window is written as 64-byte chunks, each the bytes of its last writer
// gathered from at most 128 source bytes per group (one vpermb or vpermt2b), kept where nothing writes.
struct PermGroup {
  alignas(64) uint8_t index[64] = {};  // chunk byte j <- source byte index[j] from `src` where bit j of mask
  uint64_t mask = 0;
  int64_t src = 0;  // row 0's first source byte of the group
  uint32_t span = 0;  // source bytes read from src: 1..128
  // The same gather as lookups within 16-byte source blocks (pshufb, for targets without vpermb): byte j of
  // block b's lookup is index[j] - 16 b where the source lies in block b, else 0x80 (a zero); used[q]: the
  // blocks that chunk bytes [16 q, 16 q + 16) read.
  alignas(64) uint8_t block_index[8][64];
  uint8_t used[4] = {};
};
struct PermChunk {
  int64_t dst = 0;        // row 0's first byte of the chunk
  uint64_t window = 0;    // the chunk's bytes inside the row's window (all 64 unless the window is shorter)
  uint64_t written = 0;   // the bytes some RPERM writes
  uint32_t group_begin = 0, group_end = 0;
  alignas(64) uint8_t kept[64] = {};  // 0xFF where nothing writes (the bytes of `written` as a vector, inverted)
};
struct PermPlan {
  std::vector<PermChunk> chunks;
  std::vector<PermGroup> groups;
  int64_t src_stride = 0, dst_stride = 0;
  int64_t read_end = 0;  // the end of the bytes the batch reads in all rows, which no RPERM of it writes
};

struct TmacJob;
struct TmacTail;

class SimdMachine : public ScalarMachine {
 public:
  explicit SimdMachine(const AccelConfig& config);
  ~SimdMachine() override;
  const char* name() const override { return "simd"; }
  // DMA_INs skipped because SRAM still held their bytes (docs/simd_machine.md, "Packed weights kept in SRAM").
  uint64_t dma_ins_skipped() const { return dma_ins_skipped_; }

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

  // DMA_INs of versioned bytes (Machine::BindDramReadOnly) whose SRAM copy no write has touched since: a
  // DMA_IN of the same version, DRAM bytes and SRAM place is then a no-op. SettleTiles drops those it writes.
  struct HeldCopy {
    uint64_t version;
    DmaIn dma;  // segment ignored
    ByteSpan span;
  };
  bool Holds(const DmaIn& i, uint64_t version) const;
  std::vector<HeldCopy> held_;
  uint64_t dma_ins_skipped_ = 0;
  // Runs the deferred EMACs (all on ACC rows [emac_row_, + emac_rows_), of emac_mode_), row by row, each row
  // once through registers for the whole batch. Called before any other instruction, a host SRAM write, or
  // a read of ACC (docs/simd_machine.md, "EMAC").
  void FlushEmacs();
  // Whether REQ i can join the batch: same rows, rows written apart, nothing written that an EMAC reads.
  bool FusesRequant(const Requant& i) const;
  // A TMAC (vectorized path) is deferred by one instruction: a REQ or an ACC_ST (32-bit) of exactly its
  // rows, rows written apart and nothing written that the TMAC reads, runs inside its pass, chunk by chunk
  // on the thread that computed the rows (TmacJob::tail); register instructions, VLD, a DMA_IN of SRAM bytes
  // apart from all it reads, a DMA_OUT, and the TLDs and TMACs of a chain (below) may come between; anything
  // else runs it first.
  void RunTmac(const TmacJob& job);
  // Runs a TMAC or a chain on the same ACC rows (`tiles` in all) on the AMX path where it takes them (false:
  // it does not).
  bool RunTmacOnAmx(const TmacJob* const* jobs, size_t n, uint64_t tiles, const TmacTail& tail);
  void FlushTmac();
  bool TmacJoins(const Instr& next) const;
  bool SeedBesideTmac(const Instr& next) const;
  // What a group of TMACs waits through (BeforeInstruction), besides what one TMAC does: an AALU on none of
  // their ACC rows, a REQ from none of them into SRAM apart.
  bool AccRowsApartFromTmacs(uint64_t lo, uint64_t hi) const;  // ACC rows [lo, hi)
  bool SramWriteApartFromTmacs(const ByteSpan& w) const;
  bool AaluApartFromTmacs(const Instr& next) const;
  bool ReqApartFromTmacs(const Instr& next) const;
  // Runs the deferred TMAC with `tail`; `joined` is the index of the instruction whose Do runs it, or -1.
  void RunTmacWithTail(const TmacTail& tail, int joined);
  // A TMAC of the deferred TMAC's rows and mode chains onto it (a reduction over more tiles than the
  // registers hold: TLDs, TMAC, TLDs, TMAC, ...), and the chain runs as one pass: each chunk of rows through
  // every TMAC while it is in L1, and split across threads as a whole (a TMAC of few rows alone is not
  // worth splitting). A TLD lets a TMAC that may chain wait; what the waiting TMACs read of the registers
  // it overwrites is copied first (DetachTmacTiles).
  bool TmacMayChain() const;
  bool TmacChains(const TileMac& next) const;
  void DetachTmacTiles();
  void RunTmacChain(const TmacTail& tail);
  std::vector<TmacJob> tmac_chain_;                     // the TMACs after *tmac_job_, in issue order
  std::vector<std::vector<PreparedTile>> chain_tiles_;  // per TMAC of the chain: its tiles, once copied
  bool tmac_pending_ = false, tmac_joins_ = false;
  uint32_t tmac_acc_row_ = 0;
  // A group: TMACs too small to split, on ACC rows apart from every waiting one's (Winograd's positions),
  // spread over the threads whole (RunTmacChain).
  bool tmac_group_ = false;
  std::vector<std::pair<uint32_t, uint32_t>> tmac_acc_rows_;  // the waiting TMACs' ACC rows: first row, rows
  ByteSpan tmac_tile_bytes_{};  // the SRAM bytes their tiles read (a DMA_IN apart lets them wait on)
  alignas(64) uint32_t tmac_seed_[kLanes] = {};  // the seed the deferred TMAC starts its rows from
  std::unique_ptr<TmacJob> tmac_job_;  // (accel/simd_tmac.h, which includes this header)
  ByteSpan tmac_reads_{};  // the SRAM bytes of its activation rows
  std::vector<EmacItem> emacs_;
  MacMode emac_mode_ = MacMode::kU8S8;
  uint32_t emac_row_ = 0, emac_rows_ = 0;
  // The batch's rows may also start from a deferred ACC_LD broadcast (before any EMAC joins) and end in a
  // deferred REQ (after which only register instructions and QCFG wait for the flush).
  bool seed_pending_ = false, req_pending_ = false;
  bool req_joins_ = false;  // the REQ being executed joins the batch (set by BeforeInstruction, once per REQ)
  alignas(64) uint32_t seed_[kLanes] = {};
  Requant req_;
  QuantConfig req_quant_;
  // Decoding the canonical tile costs more than the MACs of a GEMV, so TLD leaves it stale and the
  // canonical tile is built only when something reads it (tests, scalar fallbacks).
  mutable std::vector<char> canonical_stale_;
  std::vector<PreparedTile> prepared_;  // indexed by tile register: a TMAC reads [tile, tile + tiles) in place
  std::vector<AmxPairBlock> amx_pairs_;  // the AMX path's staged weights, per machine (never shared by threads' TMACs)

  // RPERM batch (docs/simd_machine.md, "RPERM"): consecutive RPERMs of the same rows and strides whose
  // writes cannot reach any of the batch's reads and whose rows write disjoint windows. Then every read
  // sees the bytes as they were before the batch, so the batch can run row by row (all RPERMs on one row
  // at once), rows in any order or in parallel. Flushed before any other instruction, a host SRAM access
  // or a read of SRAM.
  void FlushPerms();
  // Builds perm_plan_ for the pending batch; false when its window is too wide to plan.
  bool PlanPerms();
  std::vector<PermItem> perms_;  // kMaxPermBatch slots, the first perm_count_ pending
  uint32_t perm_count_ = 0;
  uint32_t perm_rows_ = 0;
  int64_t perm_src_stride_ = 0, perm_dst_stride_ = 0;
  ByteSpan perm_reads_{0, 0}, perm_writes_{0, 0};  // hulls over all rows: full source rows, written bytes
  int64_t perm_win_lo_ = 0, perm_win_hi_ = 0;      // row 0's written bytes (hull); lo == hi: none
  PermPlan perm_plan_;
  std::vector<PermItem> plan_items_;  // the batch perm_plan_ was built for (plan_count_ of them), when plan_valid_
  uint32_t plan_count_ = 0;
  bool plan_valid_ = false;
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

// How SimdMachine runs the rows of an INT8 TMAC (U8S8, S8S8). Every path gives the same bits
// (docs/simd_machine.md, "AMX"); the choice is process-wide, like ForceSimdTarget.
enum class TmacPath {
  kAuto,         // AMX where the host allows it and no Highway target is forced, else the target's own path
  kAmx,          // AMX whatever target is forced (the rows AMX does not take run on that target)
  kAmxSoftware,  // the AMX path with each tile instruction computed in C++ as Intel defines it: any host
  kHighway,      // never AMX: the dispatched Highway target's path (VNNI on AVX3_DL, pmaddubsw on AVX2, ...)
};
const char* NameOf(TmacPath path);

// Sets the path. kAmx where AMX-INT8 cannot run throws tile32::Error saying why (HostCpu::AmxInt8Usable).
// The initial path is kAuto, or TILE32_TMAC_PATH (auto, amx, amx-software, highway) when set.
void ForceTmacPath(TmacPath path);
TmacPath ForcedTmacPath();

// Which tile unit runs the AMX path's rows of a TMAC.
enum class AmxEngine { kNone, kHardware, kSoftware };
// The engine for `path` on a host where AMX-INT8 is usable or not, with a Highway target forced or not.
AmxEngine AmxEngineFor(TmacPath path, bool amx_usable, bool target_forced);
// The rows of a TMAC the AMX path takes: rows [0, n), whole groups of 16, for U8S8 and S8S8 TMACs of at
// least kAmxMinTiles tiles (K >= 128: below it the tile loads and stores per call cost more than AMX
// saves); 0 for any other TMAC. The rows from n on run on the Highway target's path.
inline constexpr int kAmxMinTiles = 4;
inline constexpr uint32_t kAmxGroupRows = 16;
inline uint32_t AmxTmacRows(MacMode mode, uint32_t rows, int tiles) {
  const bool int8 = mode == MacMode::kU8S8 || mode == MacMode::kS8S8;
  return int8 && tiles >= kAmxMinTiles ? rows / kAmxGroupRows * kAmxGroupRows : 0;
}
// TMAC rows the AMX path has run in this process, either engine: tests check that they exercised it.
uint64_t AmxTmacRowsRun();

}  // namespace tile32

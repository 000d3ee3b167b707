// The tile32 instruction set as data. docs/isa.md is the contract; this header names its types and
// instructions, one struct per instruction, in the order of the spec's sections. A program is a sequence of
// Instr; every machine executes Instr with identical results (the cycle model adds costs, accel/cost.h).
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <string>
#include <type_traits>
#include <variant>

#include "accel/config.h"

namespace tile32 {

// §2 Data types. Sizes in bytes: 1, 1, 2, 2, 4, 4.
enum class DType : uint8_t { kI8, kU8, kI16, kBF16, kI32, kF32 };
// (Inline, with the other facts every instruction's validation and footprint ask for.)
inline int SizeOf(DType t) {
  switch (t) {
    case DType::kI8:
    case DType::kU8: return 1;
    case DType::kI16:
    case DType::kBF16: return 2;
    case DType::kI32:
    case DType::kF32: return 4;
  }
  return 0;
}
const char* NameOf(DType t);
// One of the enumerators (a value read from outside may not be).
inline bool IsValid(DType t) { return static_cast<uint8_t>(t) <= static_cast<uint8_t>(DType::kF32); }

// The facts about types that every validator shares (the machine, the kernels' front ends, the tests):
// the values of an integer type (kU8, kI8, kI16, kI32; used for zero points, clamps and data ranges).
struct ValueRange {
  int32_t lo, hi;
  bool Contains(int64_t v) const { return v >= lo && v <= hi; }
};
ValueRange RangeOf(DType t);  // throws tile32::Error for kBF16 and kF32
bool IsInt8(DType t);           // kU8 or kI8
bool IsRequantOutput(DType t);  // kI8, kU8 or kI16: the types REQ writes (§5.2)

// §4 Tile MAC and element-wise MAC modes: activation type x weight type -> accumulator type.
enum class MacMode : uint8_t {
  kU8S8,   // uint8 activations, int8 weights, int32 accumulation (wraps)
  kS8S8,   // int8 activations, int8 weights, int32 accumulation (wraps)
  kS16S16, // int16 x int16, int32 accumulation (wraps)
  kBF16,   // bf16 x bf16, fp32 accumulation by fused multiply-add, k ascending
};
const char* NameOf(MacMode m);
inline bool IsValid(MacMode m) { return static_cast<uint8_t>(m) <= static_cast<uint8_t>(MacMode::kBF16); }
inline DType ActivationType(MacMode m) {  // kU8, kI8, kI16, kBF16
  switch (m) {
    case MacMode::kU8S8: return DType::kU8;
    case MacMode::kS8S8: return DType::kI8;
    case MacMode::kS16S16: return DType::kI16;
    case MacMode::kBF16: return DType::kBF16;
  }
  return DType::kI8;
}
inline DType WeightType(MacMode m) {  // kI8, kI8, kI16, kBF16
  switch (m) {
    case MacMode::kU8S8:
    case MacMode::kS8S8: return DType::kI8;
    case MacMode::kS16S16: return DType::kI16;
    case MacMode::kBF16: return DType::kBF16;
  }
  return DType::kI8;
}
bool IsIntegerMode(MacMode m);    // every mode but kBF16 (int32 accumulation)
// The MAC mode that multiplies activations of type `a` by weights of type `w` as a kernel sees them:
// INT8 (a kU8 or kI8, w kI8 or kU8: uint8 weights are packed as int8 with the zero point moved by 128,
// docs/isa.md §10), kI16 x kI16, kBF16 x kBF16. Any other pair throws tile32::Error naming `fn`, the two
// fields (a_field, w_field: the caller's argument names), their types and the pairs that exist.
MacMode MacModeOf(const char* fn, const char* a_field, DType a, const char* w_field, DType w);

// §5 Requantization modes (docs/isa.md §5 gives each formula bit for bit).
enum class RequantMode : uint8_t {
  kTflDouble,    // TFLite/gemmlowp: SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT
  kTflSingle,    // TFLite single rounding / TOSA apply_scale_32: (x*M + 2^(30-s)) >> (31-s) in int64
  kFloatRne,     // ONNX QLinear*: rne(fl32(fl32(x)*scale)), then + zero point
  kFloatZpFirst, // oneDNN / PyTorch x86: rne(fl32(fl32(fl32(x)*scale) + zero point))
};
const char* NameOf(RequantMode m);
bool IsValid(RequantMode m);
bool IsTfl(RequantMode m);  // kTflDouble, kTflSingle: multiplier and shift; the FLOAT modes: scale

// §5.1: the parameter rules of requantization, for QCFG and for every front end that takes requant
// parameters. Each throws tile32::Error "<fn>: <field>[i] = v ..." naming the first bad value and its range.
inline constexpr int kMinRequantShift = -31, kMaxRequantShift = 7;
void CheckRequantLanes(const char* fn, const char* prefix, RequantMode mode, const int32_t* multiplier,
                       const int32_t* shift, const float* scale, int count);
// §5.2: zero point, qmin and qmax inside the range of the output type, qmin <= qmax.
void CheckRequantClamp(const char* fn, const char* prefix, DType out, int32_t zero_point, int32_t qmin, int32_t qmax);

// The requantization register Q (§5): per-lane multiplier/shift (TFL modes) or scale (FLOAT modes),
// one zero point and clamp range. Per-tensor parameters are all lanes equal.
struct QuantConfig {
  RequantMode mode = RequantMode::kTflDouble;
  std::array<int32_t, kLanes> multiplier{};  // TFL modes: Q31, in [0, 2^31-1]
  std::array<int32_t, kLanes> shift{};       // TFL modes: in [-31, 7]; positive = left
  std::array<float, kLanes> scale{};         // FLOAT modes: finite, > 0
  int32_t zero_point = 0;
  int32_t qmin = -128, qmax = 127;           // checked against the output type by REQ
};

// ---- §3 Data movement ----

// DRAM <-> SRAM, 2-D: rows of row_bytes. DRAM is addressed as (segment, byte offset); segments are host
// buffers bound to the machine (Machine::BindDram).
struct DmaIn {
  uint32_t sram = 0;
  uint32_t segment = 0;
  uint64_t dram = 0;
  uint32_t rows = 1, row_bytes = 0;
  uint64_t dram_stride = 0;
  uint32_t sram_stride = 0;
};
struct DmaOut {
  uint32_t sram = 0;
  uint32_t segment = 0;
  uint64_t dram = 0;
  uint32_t rows = 1, row_bytes = 0;
  uint64_t dram_stride = 0;
  uint32_t sram_stride = 0;
};

// VLD: lane i <- element at addr + i*stride (bytes; stride may be 0 or negative), widened to 32 bits.
struct VLoad {
  uint8_t vd = 0;
  DType type = DType::kI8;
  uint32_t addr = 0;
  int32_t stride = 1;
};
// VST: lane i -> element at addr + i*stride, narrowed; lanes are written in ascending order.
struct VStore {
  uint8_t vs = 0;
  DType type = DType::kI8;
  uint32_t addr = 0;
  int32_t stride = 1;
};
// TLD: tile register td <- the tile image at addr (tile order, §3.4), of type kI8, kI16 or kBF16.
struct TileLoad {
  uint8_t td = 0;
  DType type = DType::kI8;
  uint32_t addr = 0;
};

// ACC rows [row, row+rows).
struct AccZero {
  uint32_t row = 0, rows = 1;
};
// ACC row r <- 32 elements of `type` at addr + (r-row)*row_stride, widened as VLD widens them (kI32 and
// kF32: the raw words). Stride 0 broadcasts one row (a bias row).
struct AccLoad {
  uint32_t row = 0, rows = 1;
  uint32_t addr = 0;
  int32_t row_stride = 128;
  DType type = DType::kI32;
};
// ACC row -> SRAM as kI32 (raw), kF32 (raw) or kBF16 (round to nearest even, canonical NaN).
struct AccStore {
  uint32_t row = 0, rows = 1;
  DType type = DType::kI32;
  uint32_t addr = 0;
  int32_t row_stride = 128;
};

// ---- §4 Compute ----

// TMAC: for r < rows, j < 32: ACC[acc_row+r][j] += sum_{k < 32*tiles} A_r[k] * T[tile + k/32][k%32][j],
// A_r = 32*tiles contiguous activations at a_addr + r*a_stride. Weight-stationary: the tiles stay while
// the rows stream.
struct TileMac {
  MacMode mode = MacMode::kU8S8;
  uint32_t acc_row = 0, rows = 1;
  uint32_t a_addr = 0;
  int32_t a_stride = 32;
  uint8_t tile = 0, tiles = 1;
};
// EMAC (depthwise): ACC[acc_row+r][j] += A_r[j] * W[j], A_r = 32 contiguous activations at
// a_addr + r*a_stride, W = vector register vw reinterpreted as the mode's weight type.
struct ElemMac {
  MacMode mode = MacMode::kU8S8;
  uint32_t acc_row = 0, rows = 1;
  uint32_t a_addr = 0;
  int32_t a_stride = 32;
  uint8_t vw = 0;
};

// ---- §5 Requantization ----
struct SetQuant {  // QCFG: Q <- config (validated here)
  QuantConfig q;
};
// REQ: SRAM row r (32 elements of out, contiguous at addr + r*row_stride) <- requant(ACC[acc_row+r]).
struct Requant {
  uint32_t acc_row = 0, rows = 1;
  DType out = DType::kI8;  // kI8, kU8 or kI16
  uint32_t addr = 0;
  int32_t row_stride = 32;
};

// ---- §6 Vector ALU (32 lanes of int32, two's-complement wrap) ----
enum class AluOp : uint8_t {
  kAdd, kSub, kMul,  // vd = va op vb (low 32 bits)
  kMin, kMax,        // signed
  kSra, kSll,        // vd = va shifted by imm in [0, 31]
  kMovi,             // vd = imm in every lane
};
const char* NameOf(AluOp op);
bool IsValid(AluOp op);
struct VAlu {
  AluOp op = AluOp::kAdd;
  uint8_t vd = 0, va = 0, vb = 0;
  int32_t imm = 0;
};
// VPERM through the lane multiplexors: vd[i] = route[i] < 0 ? 0 : vs[route[i]].
struct VPerm {
  uint8_t vd = 0, vs = 0;
  std::array<int8_t, kLanes> route{};
};
struct VFromAcc {  // vd <- ACC[row] (raw words)
  uint8_t vd = 0;
  uint32_t row = 0;
};
struct VToAcc {  // ACC[row] <- vs (raw words)
  uint32_t row = 0;
  uint8_t vs = 0;
};

// AALU (§6.5): the VALU operations on ACC rows, one row per step: for r = 0 .. rows-1 in order,
// ACC[dst + r*dst_stride] = op(ACC[a + r*a_stride], ACC[b + r*b_stride]) lane by lane (int32, wrapping).
// Row strides may be 0 (one row for every r, e.g. a bias row) or negative.
struct AccAlu {
  AluOp op = AluOp::kAdd;
  uint32_t rows = 1;
  uint32_t dst = 0, a = 0, b = 0;
  int32_t dst_stride = 1, a_stride = 1, b_stride = 1;
  int32_t imm = 0;
};

// RPERM (§6.6): SRAM rows through the lane multiplexors. For r = 0 .. rows-1 in order, the 32 elements of
// `type` at src + r*src_stride are routed: destination element i (at dst + r*dst_stride + i*size) takes
// source lane route[i]; a lane with route[i] = -1 is not written.
struct RowPerm {
  DType type = DType::kU8;
  uint32_t rows = 1;
  uint32_t dst = 0, src = 0;
  int32_t dst_stride = 32, src_stride = 32;
  std::array<int8_t, kLanes> route{};
};

using Instr = std::variant<DmaIn, DmaOut, VLoad, VStore, TileLoad, AccZero, AccLoad, AccStore, TileMac,
                           ElemMac, SetQuant, Requant, VAlu, VPerm, VFromAcc, VToAcc, AccAlu, RowPerm>;
inline constexpr size_t kInstrKinds = std::variant_size_v<Instr>;

// Assembly-like text of one instruction, for failure messages and traces.
std::string ToString(const Instr& instr);
// The mnemonic of the instruction kind at Instr::index() ("DMA_IN", "TMAC", "VMOV.FROMACC", ...).
inline const char* MnemonicOf(size_t index) {
  static constexpr const char* kNames[] = {"DMA_IN", "DMA_OUT", "VLD",  "VST", "TLD",  "ACC_ZERO",     "ACC_LD",
                                           "ACC_ST", "TMAC",    "EMAC", "QCFG", "REQ", "VALU", "VPERM",
                                           "VMOV.FROMACC", "VMOV.TOACC", "AALU", "RPERM"};
  static_assert(std::size(kNames) == kInstrKinds, "one mnemonic per instruction kind");
  return index < std::size(kNames) ? kNames[index] : "?";
}
// Instr::index() of the instruction kind T, at compile time.
template <typename T, typename V = Instr>
struct KindIndex;
template <typename T, typename... Ts>
struct KindIndex<T, std::variant<Ts...>> {
  static constexpr size_t value = [] {
    constexpr bool match[] = {std::is_same_v<T, Ts>...};
    size_t i = 0;
    while (!match[i]) ++i;
    return i;
  }();
};

// An identity route, and a rotation vd[i] = vs[(i + by) mod 32].
std::array<int8_t, kLanes> IdentityRoute();
std::array<int8_t, kLanes> RotateRoute(int by);

}  // namespace tile32

#include "accel/isa.h"

#include <cmath>
#include <iterator>
#include <sstream>

#include "accel/error.h"

namespace tile32 {

const char* NameOf(DType t) {
  switch (t) {
    case DType::kI8: return "i8";
    case DType::kU8: return "u8";
    case DType::kI16: return "i16";
    case DType::kBF16: return "bf16";
    case DType::kI32: return "i32";
    case DType::kF32: return "f32";
  }
  return "?";
}

ValueRange RangeOf(DType t) {
  switch (t) {
    case DType::kI8: return {-128, 127};
    case DType::kU8: return {0, 255};
    case DType::kI16: return {-32768, 32767};
    case DType::kI32: return {INT32_MIN, INT32_MAX};
    default: Fail("RangeOf: ", IsValid(t) ? NameOf(t) : "an invalid type", " is not an integer type");
  }
}

bool IsInt8(DType t) { return t == DType::kU8 || t == DType::kI8; }

bool IsRequantOutput(DType t) { return t == DType::kI8 || t == DType::kU8 || t == DType::kI16; }

bool IsIntegerMode(MacMode m) { return m != MacMode::kBF16; }

MacMode MacModeOf(const char* fn, const char* a_field, DType a, const char* w_field, DType w) {
  if (IsInt8(a) && IsInt8(w)) return a == DType::kU8 ? MacMode::kU8S8 : MacMode::kS8S8;
  if (a == DType::kI16 && w == DType::kI16) return MacMode::kS16S16;
  if (a == DType::kBF16 && w == DType::kBF16) return MacMode::kBF16;
  Fail(fn, ": ", w_field, " = ", IsValid(w) ? NameOf(w) : "invalid", " cannot meet ", a_field, " = ",
       IsValid(a) ? NameOf(a) : "invalid", " (the pairs are {u8, i8} x {i8, u8}, i16 x i16, bf16 x bf16)");
}

const char* NameOf(MacMode m) {
  switch (m) {
    case MacMode::kU8S8: return "u8s8";
    case MacMode::kS8S8: return "s8s8";
    case MacMode::kS16S16: return "s16s16";
    case MacMode::kBF16: return "bf16";
  }
  return "?";
}

const char* NameOf(RequantMode m) {
  switch (m) {
    case RequantMode::kTflDouble: return "TFL_DOUBLE";
    case RequantMode::kTflSingle: return "TFL_SINGLE";
    case RequantMode::kFloatRne: return "FLOAT_RNE";
    case RequantMode::kFloatZpFirst: return "FLOAT_ZP_FIRST";
  }
  return "?";
}

bool IsValid(RequantMode m) { return static_cast<uint8_t>(m) <= static_cast<uint8_t>(RequantMode::kFloatZpFirst); }

bool IsTfl(RequantMode m) { return m == RequantMode::kTflDouble || m == RequantMode::kTflSingle; }

void CheckRequantLanes(const char* fn, const char* prefix, RequantMode mode, const int32_t* multiplier,
                       const int32_t* shift, const float* scale, int count) {
  if (!IsValid(mode)) Fail(fn, ": ", prefix, "mode ", int{static_cast<uint8_t>(mode)}, " is not a RequantMode");
  for (int i = 0; i < count; ++i) {
    if (IsTfl(mode)) {
      if (multiplier[i] < 0) Fail(fn, ": ", prefix, "multiplier[", i, "] = ", multiplier[i], " is outside [0, 2147483647]");
      if (shift[i] < kMinRequantShift || shift[i] > kMaxRequantShift) {
        Fail(fn, ": ", prefix, "shift[", i, "] = ", shift[i], " is outside [", kMinRequantShift, ", ", kMaxRequantShift, "]");
      }
    } else if (!(std::isfinite(scale[i]) && scale[i] > 0)) {
      Fail(fn, ": ", prefix, "scale[", i, "] = ", scale[i], " must be finite and > 0");
    }
  }
}

void CheckRequantClamp(const char* fn, const char* prefix, DType out, int32_t zero_point, int32_t qmin, int32_t qmax) {
  if (!IsRequantOutput(out)) {
    Fail(fn, ": requantized output type ", IsValid(out) ? NameOf(out) : "invalid", " is not one of {i8, u8, i16}");
  }
  const ValueRange r = RangeOf(out);
  const char* names[3] = {"zero_point", "qmin", "qmax"};
  const int32_t values[3] = {zero_point, qmin, qmax};
  for (int i = 0; i < 3; ++i) {
    if (!r.Contains(values[i])) {
      Fail(fn, ": ", prefix, names[i], " = ", values[i], " is outside [", r.lo, ", ", r.hi, "] of ", NameOf(out));
    }
  }
  if (qmin > qmax) Fail(fn, ": ", prefix, "qmin = ", qmin, " > ", prefix, "qmax = ", qmax);
}

bool IsValid(AluOp op) { return static_cast<uint8_t>(op) <= static_cast<uint8_t>(AluOp::kMovi); }

const char* NameOf(AluOp op) {
  switch (op) {
    case AluOp::kAdd: return "add";
    case AluOp::kSub: return "sub";
    case AluOp::kMul: return "mul";
    case AluOp::kMin: return "min";
    case AluOp::kMax: return "max";
    case AluOp::kSra: return "sra";
    case AluOp::kSll: return "sll";
    case AluOp::kMovi: return "movi";
  }
  return "?";
}

namespace {

struct Printer {
  std::ostringstream& os;
  void operator()(const DmaIn& i) {
    os << "DMA_IN sram=" << i.sram << " seg=" << i.segment << " dram=" << i.dram << " rows=" << i.rows
       << " row_bytes=" << i.row_bytes << " dram_stride=" << i.dram_stride << " sram_stride=" << i.sram_stride;
  }
  void operator()(const DmaOut& i) {
    os << "DMA_OUT sram=" << i.sram << " seg=" << i.segment << " dram=" << i.dram << " rows=" << i.rows
       << " row_bytes=" << i.row_bytes << " dram_stride=" << i.dram_stride << " sram_stride=" << i.sram_stride;
  }
  void operator()(const VLoad& i) {
    os << "VLD." << NameOf(i.type) << " v" << int{i.vd} << ", addr=" << i.addr << " stride=" << i.stride;
  }
  void operator()(const VStore& i) {
    os << "VST." << NameOf(i.type) << " v" << int{i.vs} << ", addr=" << i.addr << " stride=" << i.stride;
  }
  void operator()(const TileLoad& i) { os << "TLD." << NameOf(i.type) << " t" << int{i.td} << ", addr=" << i.addr; }
  void operator()(const AccZero& i) { os << "ACC_ZERO row=" << i.row << " rows=" << i.rows; }
  void operator()(const AccLoad& i) {
    os << "ACC_LD." << (IsValid(i.type) ? NameOf(i.type) : "?") << " row=" << i.row << " rows=" << i.rows << " addr=" << i.addr << " row_stride=" << i.row_stride;
  }
  void operator()(const AccStore& i) {
    os << "ACC_ST." << NameOf(i.type) << " row=" << i.row << " rows=" << i.rows << " addr=" << i.addr
       << " row_stride=" << i.row_stride;
  }
  void operator()(const TileMac& i) {
    os << "TMAC." << NameOf(i.mode) << " acc=" << i.acc_row << " rows=" << i.rows << " a=" << i.a_addr
       << " a_stride=" << i.a_stride << " t" << int{i.tile} << " tiles=" << int{i.tiles};
  }
  void operator()(const ElemMac& i) {
    os << "EMAC." << NameOf(i.mode) << " acc=" << i.acc_row << " rows=" << i.rows << " a=" << i.a_addr
       << " a_stride=" << i.a_stride << " v" << int{i.vw};
  }
  void operator()(const SetQuant& i) {
    os << "QCFG " << NameOf(i.q.mode) << " zp=" << i.q.zero_point << " clamp=[" << i.q.qmin << "," << i.q.qmax
       << "] m0=" << i.q.multiplier[0] << " s0=" << i.q.shift[0] << " scale0=" << i.q.scale[0];
  }
  void operator()(const Requant& i) {
    os << "REQ." << NameOf(i.out) << " acc=" << i.acc_row << " rows=" << i.rows << " addr=" << i.addr
       << " row_stride=" << i.row_stride;
  }
  void operator()(const VAlu& i) {
    os << "VALU." << NameOf(i.op) << " v" << int{i.vd} << ", v" << int{i.va} << ", v" << int{i.vb}
       << ", imm=" << i.imm;
  }
  void operator()(const VPerm& i) {
    os << "VPERM v" << int{i.vd} << ", v" << int{i.vs} << ", route=[";
    for (int l = 0; l < kLanes; ++l) os << (l ? "," : "") << int{i.route[l]};
    os << "]";
  }
  void operator()(const VFromAcc& i) { os << "VMOV.FROMACC v" << int{i.vd} << ", row=" << i.row; }
  void operator()(const VToAcc& i) { os << "VMOV.TOACC row=" << i.row << ", v" << int{i.vs}; }
  void operator()(const AccAlu& i) {
    os << "AALU." << (IsValid(i.op) ? NameOf(i.op) : "?") << " rows=" << i.rows << " dst=" << i.dst << "/"
       << i.dst_stride << " a=" << i.a << "/" << i.a_stride << " b=" << i.b << "/" << i.b_stride << " imm=" << i.imm;
  }
  void operator()(const RowPerm& i) {
    os << "RPERM." << (IsValid(i.type) ? NameOf(i.type) : "?") << " rows=" << i.rows << " dst=" << i.dst
       << " dst_stride=" << i.dst_stride << " src=" << i.src << " src_stride=" << i.src_stride << " route=[";
    for (int l = 0; l < kLanes; ++l) os << (l ? "," : "") << int{i.route[l]};
    os << "]";
  }
};

}  // namespace

std::string ToString(const Instr& instr) {
  std::ostringstream os;
  std::visit(Printer{os}, instr);
  return os.str();
}

std::array<int8_t, kLanes> IdentityRoute() { return RotateRoute(0); }

std::array<int8_t, kLanes> RotateRoute(int by) {
  std::array<int8_t, kLanes> r{};
  for (int i = 0; i < kLanes; ++i) r[i] = static_cast<int8_t>(((i + by) % kLanes + kLanes) % kLanes);
  return r;
}

}  // namespace tile32

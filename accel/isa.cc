#include "accel/isa.h"

#include <iterator>

#include <sstream>

namespace tile32 {

int SizeOf(DType t) {
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

const char* NameOf(MacMode m) {
  switch (m) {
    case MacMode::kU8S8: return "u8s8";
    case MacMode::kS8S8: return "s8s8";
    case MacMode::kS16S16: return "s16s16";
    case MacMode::kBF16: return "bf16";
  }
  return "?";
}

DType ActivationType(MacMode m) {
  switch (m) {
    case MacMode::kU8S8: return DType::kU8;
    case MacMode::kS8S8: return DType::kI8;
    case MacMode::kS16S16: return DType::kI16;
    case MacMode::kBF16: return DType::kBF16;
  }
  return DType::kI8;
}

DType WeightType(MacMode m) {
  switch (m) {
    case MacMode::kU8S8:
    case MacMode::kS8S8: return DType::kI8;
    case MacMode::kS16S16: return DType::kI16;
    case MacMode::kBF16: return DType::kBF16;
  }
  return DType::kI8;
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
    os << "ACC_LD row=" << i.row << " rows=" << i.rows << " addr=" << i.addr << " row_stride=" << i.row_stride;
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
};

}  // namespace

const char* MnemonicOf(size_t index) {
  static constexpr const char* kNames[] = {"DMA_IN", "DMA_OUT", "VLD",  "VST", "TLD",  "ACC_ZERO",     "ACC_LD",
                                           "ACC_ST", "TMAC",    "EMAC", "QCFG", "REQ", "VALU", "VPERM",
                                           "VMOV.FROMACC", "VMOV.TOACC"};
  static_assert(std::size(kNames) == std::variant_size_v<Instr>, "one mnemonic per instruction kind");
  return index < std::size(kNames) ? kNames[index] : "?";
}

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

// Each Do() is the paragraph of docs/isa.md named above it, and nothing more. Validation happened in
// Machine::Execute, so every address here is in range.
#include "accel/scalar_machine.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "accel/numeric.h"

namespace tile32 {
namespace {

int64_t Addr(uint32_t base, int32_t stride, int64_t i) { return int64_t{base} + int64_t{stride} * i; }

// §4: the activation or weight code as an exact integer or fp32.
int32_t IntOf(DType t, const uint8_t* p) { return static_cast<int32_t>(WidenElement(t, p)); }

bool OutsideInt32(int64_t v) {
  return v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max();
}

}  // namespace

ScalarMachine::ScalarMachine(const AccelConfig& config)
    : Machine(config),
      sram_(config.sram_bytes, 0),
      vregs_(config.vector_regs, Lanes{}),
      tiles_(config.tile_regs, Tile{}),
      acc_(size_t{config.acc_rows} * kLanes, 0) {}

// §3.1
void ScalarMachine::Do(const DmaIn& i) {
  const Segment& s = segment(i.segment);
  for (uint32_t r = 0; r < i.rows; ++r) {
    std::memcpy(sram_at(int64_t{i.sram} + uint64_t{i.sram_stride} * r),
                s.base + i.dram + i.dram_stride * r, i.row_bytes);
  }
}

void ScalarMachine::Do(const DmaOut& i) {
  const Segment& s = segment(i.segment);
  for (uint32_t r = 0; r < i.rows; ++r) {
    std::memcpy(s.base + i.dram + i.dram_stride * r, sram_at(int64_t{i.sram} + uint64_t{i.sram_stride} * r),
                i.row_bytes);
  }
}

// §3.2
void ScalarMachine::Do(const VLoad& i) {
  for (int l = 0; l < kLanes; ++l) vregs_[i.vd][l] = WidenElement(i.type, sram_at(Addr(i.addr, i.stride, l)));
}

// §3.3
void ScalarMachine::Do(const VStore& i) {
  const Lanes v = vregs_[i.vs];
  for (int l = 0; l < kLanes; ++l) NarrowElement(i.type, v[l], sram_at(Addr(i.addr, i.stride, l)));
}

// §3.4: tile order.
void DecodeTileImage(DType type, const uint8_t* image, ScalarMachineTile* tile) {
  ScalarMachineTile& t = *tile;
  for (int k = 0; k < kLanes; ++k) {
    for (int j = 0; j < kLanes; ++j) {
      if (type == DType::kI8) {
        const int8_t v = static_cast<int8_t>(image[(k / 4) * 128 + j * 4 + k % 4]);
        t[k * kLanes + j] = static_cast<uint16_t>(int16_t{v});
      } else {
        uint16_t v;
        std::memcpy(&v, image + 2 * ((k / 2) * 64 + j * 2 + k % 2), 2);
        t[k * kLanes + j] = v;
      }
    }
  }
}

void ScalarMachine::Do(const TileLoad& i) { DecodeTileImage(i.type, sram_at(i.addr), &tiles_[i.td]); }

// §3.5
void ScalarMachine::Do(const AccZero& i) {
  std::fill(acc_at(i.row), acc_at(i.row) + size_t{i.rows} * kLanes, 0u);
}

void ScalarMachine::Do(const AccLoad& i) {
  const int size = SizeOf(i.type);
  for (uint32_t r = 0; r < i.rows; ++r) {
    for (int j = 0; j < kLanes; ++j) {
      acc_at(i.row + r)[j] = WidenElement(i.type, sram_at(Addr(i.addr, i.row_stride, r) + size * j));
    }
  }
}

void ScalarMachine::Do(const AccStore& i) {
  const int size = SizeOf(i.type);
  for (uint32_t r = 0; r < i.rows; ++r) {
    for (int j = 0; j < kLanes; ++j) {
      NarrowElement(i.type, acc_at(i.row + r)[j], sram_at(Addr(i.addr, i.row_stride, r) + size * j));
    }
  }
}

// §4.1
void ScalarMachine::Do(const TileMac& i) {
  const DType at = ActivationType(i.mode);
  const int size = SizeOf(at);
  const int depth = kLanes * i.tiles;
  for (int t = i.tile; t < i.tile + i.tiles; ++t) MaterializeTile(t);
  for (uint32_t r = 0; r < i.rows; ++r) {
    const int64_t row = Addr(i.a_addr, i.a_stride, r);
    uint32_t* acc = acc_at(i.acc_row + r);
    for (int j = 0; j < kLanes; ++j) {
      if (i.mode == MacMode::kBF16) {
        float sum = BitsToF32(acc[j]);
        for (int k = 0; k < depth; ++k) {
          const float a = BitsToF32(WidenElement(at, sram_at(row + int64_t{size} * k)));
          const float w = BitsToF32(Bf16ToF32Bits(tiles_[i.tile + k / kLanes][(k % kLanes) * kLanes + j]));
          sum = std::fma(a, w, sum);
        }
        acc[j] = CanonicalizeNan(F32ToBits(sum));
      } else {
        int64_t sum = static_cast<int32_t>(acc[j]);
        for (int k = 0; k < depth; ++k) {
          const int32_t w = static_cast<int16_t>(tiles_[i.tile + k / kLanes][(k % kLanes) * kLanes + j]);
          sum += int64_t{IntOf(at, sram_at(row + int64_t{size} * k))} * w;
        }
        if (OutsideInt32(sum) && config().check_overflow) overflow_ = true;
        acc[j] = static_cast<uint32_t>(Wrap32(sum));
      }
    }
  }
}

// §4.2
void ScalarMachine::Do(const ElemMac& i) {
  const DType at = ActivationType(i.mode);
  const int size = SizeOf(at);
  const Lanes& w = vregs_[i.vw];
  for (uint32_t r = 0; r < i.rows; ++r) {
    const int64_t row = Addr(i.a_addr, i.a_stride, r);
    uint32_t* acc = acc_at(i.acc_row + r);
    for (int j = 0; j < kLanes; ++j) {
      const uint8_t* a = sram_at(row + int64_t{size} * j);
      if (i.mode == MacMode::kBF16) {
        const float wf = BitsToF32(w[j] & 0xFFFF0000u);
        acc[j] = CanonicalizeNan(F32ToBits(std::fma(BitsToF32(WidenElement(at, a)), wf, BitsToF32(acc[j]))));
      } else {
        const int32_t wi = i.mode == MacMode::kS16S16 ? int32_t{static_cast<int16_t>(w[j])}
                                                      : int32_t{static_cast<int8_t>(w[j])};
        const int64_t sum = int64_t{static_cast<int32_t>(acc[j])} + int64_t{IntOf(at, a)} * wi;
        if (OutsideInt32(sum) && config().check_overflow) overflow_ = true;
        acc[j] = static_cast<uint32_t>(Wrap32(sum));
      }
    }
  }
}

// §5.2
void ScalarMachine::Do(const Requant& i) {
  const int size = SizeOf(i.out);
  for (uint32_t r = 0; r < i.rows; ++r) {
    for (int j = 0; j < kLanes; ++j) {
      const int32_t q = RequantLane(quant(), j, static_cast<int32_t>(acc_at(i.acc_row + r)[j]));
      NarrowElement(i.out, static_cast<uint32_t>(q), sram_at(Addr(i.addr, i.row_stride, r) + size * j));
    }
  }
}

// §6.1
void ScalarMachine::Do(const VAlu& i) {
  const Lanes a = vregs_[i.va], b = vregs_[i.vb];
  Lanes& d = vregs_[i.vd];
  for (int l = 0; l < kLanes; ++l) {
    bool exceeds = false;
    d[l] = static_cast<uint32_t>(
        AluLane(i.op, static_cast<int32_t>(a[l]), static_cast<int32_t>(b[l]), i.imm, &exceeds));
    if (exceeds && config().check_overflow) overflow_ = true;
  }
}

// §6.2
void ScalarMachine::Do(const VPerm& i) {
  const Lanes s = vregs_[i.vs];
  for (int l = 0; l < kLanes; ++l) vregs_[i.vd][l] = i.route[l] < 0 ? 0u : s[i.route[l]];
}

// §6.4
void ScalarMachine::Do(const VFromAcc& i) { std::memcpy(vregs_[i.vd].data(), acc_at(i.row), 4 * kLanes); }

void ScalarMachine::Do(const VToAcc& i) { std::memcpy(acc_at(i.row), vregs_[i.vs].data(), 4 * kLanes); }

// §6.5
void ScalarMachine::Do(const AccAlu& i) {
  for (uint32_t r = 0; r < i.rows; ++r) {
    Lanes a, b;  // both operands are read before the row is written
    std::memcpy(a.data(), acc_at(static_cast<uint32_t>(Addr(i.a, i.a_stride, r))), 4 * kLanes);
    std::memcpy(b.data(), acc_at(static_cast<uint32_t>(Addr(i.b, i.b_stride, r))), 4 * kLanes);
    uint32_t* d = acc_at(static_cast<uint32_t>(Addr(i.dst, i.dst_stride, r)));
    for (int l = 0; l < kLanes; ++l) {
      bool exceeds = false;
      d[l] = static_cast<uint32_t>(AluLane(i.op, static_cast<int32_t>(a[l]), static_cast<int32_t>(b[l]), i.imm, &exceeds));
      if (exceeds && config().check_overflow) overflow_ = true;
    }
  }
}

// §6.6
void ScalarMachine::Do(const RowPerm& i) {
  const int size = SizeOf(i.type);
  uint8_t row[4 * kLanes];  // the source row is read completely before any lane is written
  for (uint32_t r = 0; r < i.rows; ++r) {
    std::memcpy(row, sram_at(Addr(i.src, i.src_stride, r)), size_t{kLanes} * size);
    uint8_t* dst = sram_at(Addr(i.dst, i.dst_stride, r));
    for (int l = 0; l < kLanes; ++l) {
      if (i.route[l] >= 0) std::memcpy(dst + size * l, row + size * i.route[l], size);
    }
  }
}

}  // namespace tile32

// The instruction generator of the random programs (tests/common/random_program.h); memory flavors and the
// requant building blocks it draws on are in random_data.cc.
#include "tests/common/random_program.h"

#include <algorithm>
#include <cstdlib>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

#include "accel/numeric.h"
#include "tests/common/random_program_internal.h"

namespace tile32::test {

using namespace random_detail;

namespace {

// ---- the generator ----

class Generator {
 public:
  Generator(const AccelConfig& c, uint64_t seed, const RandomProgramOptions& o)
      : rng_(seed), c_(c), o_(o), tile_types_(c.tile_regs, DType::kI32) {
    sram_ = c.sram_bytes;
    const_rows_ = std::clamp<int64_t>(sram_ / 8 / 128, 1, 32);
    write_end_ = sram_ - const_rows_ * 128;
    out_.sram.resize(c.sram_bytes);
    out_.dram_rw.resize(8192);
    out_.dram_ro.resize(4096);
    FillMixed(rng_, out_.sram.data(), out_.sram.size());
    FillMixed(rng_, out_.dram_rw.data(), out_.dram_rw.size());
    FillMixed(rng_, out_.dram_ro.data(), out_.dram_ro.size());
  }

  RandomProgram Run() {
    while (static_cast<int>(out_.program.size()) < o_.instructions) {
      if (Chance(rng_, o_.invalid_fraction)) {
        EmitInvalid();
      } else {
        EmitValid();
      }
    }
    return std::move(out_);
  }

 private:
  void Emit(const Instr& i, bool invalid = false) {
    out_.program.push_back(i);
    out_.invalid.push_back(invalid);
    if (invalid) return;
    if (const auto* t = std::get_if<TileLoad>(&i)) tile_types_[t->td] = t->type;
    if (const auto* q = std::get_if<SetQuant>(&i)) quant_ = q->q;
  }

  // An address at which `count` items of `bytes` at addr + i*stride lie in [lo, hi), ends of the range
  // preferred; shrinks the stride toward 0 until one exists.
  uint32_t Place(int64_t lo, int64_t hi, int64_t* stride, int64_t count, int64_t bytes) {
    for (;;) {
      const int64_t span = *stride * (count - 1);
      const int64_t first = lo - std::min<int64_t>(0, span);
      const int64_t last = hi - (std::max<int64_t>(0, span) + bytes);
      if (first <= last) {
        const int64_t p = Range(rng_, 0, 9);
        return static_cast<uint32_t>(p == 0 ? first : p == 1 ? last : Range(rng_, first, last));
      }
      if (*stride == 0) std::abort();  // the items do not fit at all: a generator bug
      *stride /= 2;
    }
  }

  uint8_t V() { return static_cast<uint8_t>(Range(rng_, 0, c_.vector_regs - 1)); }

  void AccRows(int64_t max_rows, uint32_t* row, uint32_t* rows) {
    *rows = static_cast<uint32_t>(Range(rng_, 1, std::min<int64_t>(max_rows, c_.acc_rows)));
    *row = static_cast<uint32_t>(Range(rng_, 0, c_.acc_rows - *rows));
  }

  // AccRows, or with options.batches often the rows of the last instruction that took rows here.
  void BatchRows(int64_t max_rows, uint32_t* row, uint32_t* rows) {
    if (o_.batches && batch_rows_ > 0 && Chance(rng_, 0.7)) {
      *row = batch_row_, *rows = batch_rows_;
      return;
    }
    AccRows(max_rows, row, rows);
    batch_row_ = *row, batch_rows_ = *rows;
  }

  int64_t ElementStride(int size) {
    switch (Range(rng_, 0, 3)) {
      case 0: return Pick<int64_t>(rng_, {0, size, -size, 1, -1, 2, 3, 4, 8, 16, 32, 64, 128, 256, -256, 7, 33});
      case 1: return size;
      default: return Range(rng_, -600, 600);
    }
  }

  int64_t RowStride(int64_t row_bytes) {
    switch (Range(rng_, 0, 3)) {
      case 0: return Pick<int64_t>(rng_, {0, -row_bytes, 1, 2, 4, row_bytes / 2, row_bytes + 4, row_bytes * 2});
      case 1: return row_bytes;
      default: return Range(rng_, -3 * row_bytes / 2 - 8, 3 * row_bytes / 2 + 8);
    }
  }

  DType AnyType() {
    return Pick<DType>(rng_, {DType::kI8, DType::kU8, DType::kI16, DType::kBF16, DType::kI32, DType::kF32});
  }
  MacMode AnyMode() { return Pick<MacMode>(rng_, {MacMode::kU8S8, MacMode::kS8S8, MacMode::kS16S16, MacMode::kBF16}); }
  RequantMode AnyRequantMode() {
    return Pick<RequantMode>(rng_, {RequantMode::kTflDouble, RequantMode::kTflSingle, RequantMode::kFloatRne,
                                    RequantMode::kFloatZpFirst});
  }
  DType OutType() { return Pick<DType>(rng_, {DType::kI8, DType::kU8, DType::kI16}); }

  std::array<int8_t, kLanes> RandomRoute() {
    std::array<int8_t, kLanes> route{};
    switch (Range(rng_, 0, 8)) {
      case 0: return IdentityRoute();
      case 1: return RotateRoute(static_cast<int>(Range(rng_, -40, 40)));
      case 2:
        for (int i = 0; i < kLanes; ++i) route[i] = static_cast<int8_t>(kLanes - 1 - i);
        return route;
      case 3: {  // ShuffleNet channel shuffle, g groups of 32/g
        const int g = Pick<int>(rng_, {2, 4, 8});
        const int n = kLanes / g;
        for (int i = 0; i < kLanes; ++i) route[i] = static_cast<int8_t>((i % g) * n + i / g);
        return route;
      }
      case 4:
        route.fill(static_cast<int8_t>(Range(rng_, 0, 31)));
        return route;
      case 5:
        route.fill(-1);
        return route;
      case 6: {
        for (int i = 0; i < kLanes; ++i) route[i] = static_cast<int8_t>(i);
        std::shuffle(route.begin(), route.end(), rng_);
        return route;
      }
      default:
        for (int i = 0; i < kLanes; ++i) route[i] = static_cast<int8_t>(Range(rng_, -1, 31));
        return route;
    }
  }

  // ---- valid instructions ----

  void EmitValid() {
    switch (Range(rng_, 0, 24)) {
      case 0: return DmaInOp();
      case 1: return DmaOutOp();
      case 2:
      case 3: return VLoadOp();
      case 4:
      case 5: return VStoreOp();
      case 6: return TileLoadOp(static_cast<uint8_t>(Range(rng_, 0, c_.tile_regs - 1)),
                                Pick<DType>(rng_, {DType::kI8, DType::kI16, DType::kBF16}));
      case 7: {
        AccZero i;
        BatchRows(16, &i.row, &i.rows);
        return Emit(i);
      }
      case 8: return AccLoadOp();
      case 9: return AccStoreOp();
      case 10:
      case 11:
      case 12: return TileMacOp();
      case 13:
      case 14: return ElemMacOp();
      case 15: {
        const DType out = OutType();
        return Emit(SetQuant{RandomQuant(rng_, AnyRequantMode(), out)});
      }
      case 16: return RequantOp();
      case 17: return TieSequence();
      case 18: return VAluOp();
      case 19: {
        VPerm i;
        i.vd = V();
        i.vs = Chance(rng_, 0.3) ? i.vd : V();
        i.route = RandomRoute();
        return Emit(i);
      }
      case 20: {
        VFromAcc i;
        i.vd = V();
        i.row = static_cast<uint32_t>(Range(rng_, 0, c_.acc_rows - 1));
        return Emit(i);
      }
      case 21: {
        VToAcc i;
        i.vs = V();
        i.row = static_cast<uint32_t>(Range(rng_, 0, c_.acc_rows - 1));
        return Emit(i);
      }
      case 22:
      case 23: return AccAluOp();
      default: return RowPermOp();
    }
  }

  // `rows` ACC rows at row + r*stride inside [0, acc_rows); the stride shrinks toward 0 until they fit.
  uint32_t PlaceAcc(int64_t* stride, int64_t rows) { return Place(0, c_.acc_rows, stride, rows, 1); }

  int64_t AccStride() { return Pick<int64_t>(rng_, {1, 1, 1, 0, -1, 2, -3, Range(rng_, -8, 8)}); }

  void AccAluOp() {
    AccAlu i;
    i.op = Pick<AluOp>(rng_, {AluOp::kAdd, AluOp::kSub, AluOp::kMul, AluOp::kMin, AluOp::kMax, AluOp::kSra,
                              AluOp::kSll, AluOp::kMovi});
    i.rows = static_cast<uint32_t>(Range(rng_, 1, std::min<int64_t>(16, c_.acc_rows)));
    int64_t ds = AccStride(), as = AccStride(), bs = AccStride();
    i.dst = PlaceAcc(&ds, i.rows);
    // Operands often overlap the destination (in place, or shifted by a row): rows are read before written.
    i.a = Chance(rng_, 0.3) ? i.dst : PlaceAcc(&as, i.rows);
    if (i.a == i.dst) as = ds;
    i.b = PlaceAcc(&bs, i.rows);
    i.dst_stride = static_cast<int32_t>(ds), i.a_stride = static_cast<int32_t>(as), i.b_stride = static_cast<int32_t>(bs);
    if (i.op == AluOp::kSra || i.op == AluOp::kSll) {
      i.imm = static_cast<int32_t>(Chance(rng_, 0.4) ? Pick<int64_t>(rng_, {0, 1, 2, 30, 31}) : Range(rng_, 0, 31));
    } else if (i.op == AluOp::kMovi) {
      i.imm = static_cast<int32_t>(ExtremeI32(rng_));
    }
    Emit(i);
  }

  void RowPermOp() {
    RowPerm i;
    i.type = AnyType();
    i.rows = static_cast<uint32_t>(Range(rng_, 1, 8));
    const int64_t row_bytes = int64_t{kLanes} * SizeOf(i.type);
    int64_t ss = RowStride(row_bytes), ds = RowStride(row_bytes);
    i.src = Place(0, sram_, &ss, i.rows, row_bytes);
    i.dst = Chance(rng_, 0.2) ? i.src : Place(0, write_end_, &ds, i.rows, row_bytes);
    if (i.dst == i.src) {  // in place: the destination must stay below the constant rows
      ds = ss;
      if (SpanOfRows(i.dst, ds, i.rows, row_bytes) > write_end_) i.dst = Place(0, write_end_, &ds, i.rows, row_bytes);
    }
    i.src_stride = static_cast<int32_t>(ss), i.dst_stride = static_cast<int32_t>(ds);
    i.route = RandomRoute();
    if (Chance(rng_, 0.3)) {  // some lanes left unwritten
      for (auto& r : i.route)
        if (Chance(rng_, 0.4)) r = -1;
    }
    Emit(i);
  }

  static int64_t SpanOfRows(int64_t addr, int64_t stride, int64_t rows, int64_t bytes) {
    return addr + std::max<int64_t>(0, stride * (rows - 1)) + bytes;
  }

  uint32_t RowBytes() {
    return static_cast<uint32_t>(Chance(rng_, 0.5) ? Pick<int64_t>(rng_, {1, 2, 31, 32, 64, 128, 256, 300})
                                                   : Range(rng_, 1, 300));
  }

  void DmaInOp() {
    DmaIn i;
    const bool ro = Chance(rng_, 0.5);
    i.segment = ro ? kDramRoSegment : kDramRwSegment;
    const int64_t dram_size = ro ? out_.dram_ro.size() : out_.dram_rw.size();
    i.rows = static_cast<uint32_t>(Range(rng_, 1, 4));
    i.row_bytes = RowBytes();
    int64_t ds = Pick<int64_t>(rng_, {i.row_bytes, 0, i.row_bytes + 5, Range(rng_, 0, 2 * i.row_bytes)});
    int64_t ss = Pick<int64_t>(rng_, {i.row_bytes, 0, i.row_bytes + 3, Range(rng_, 0, 2 * i.row_bytes)});
    i.dram = Place(0, dram_size, &ds, i.rows, i.row_bytes);
    i.sram = Place(0, write_end_, &ss, i.rows, i.row_bytes);
    i.dram_stride = static_cast<uint64_t>(ds);
    i.sram_stride = static_cast<uint32_t>(ss);
    Emit(i);
  }

  void DmaOutOp() {
    DmaOut i;
    i.segment = kDramRwSegment;
    i.rows = static_cast<uint32_t>(Range(rng_, 1, 4));
    i.row_bytes = RowBytes();
    int64_t ds = Pick<int64_t>(rng_, {i.row_bytes, 0, i.row_bytes + 5, Range(rng_, 0, 2 * i.row_bytes)});
    int64_t ss = Pick<int64_t>(rng_, {i.row_bytes, 0, i.row_bytes + 3, Range(rng_, 0, 2 * i.row_bytes)});
    i.dram = Place(0, out_.dram_rw.size(), &ds, i.rows, i.row_bytes);
    i.sram = Place(0, sram_, &ss, i.rows, i.row_bytes);
    i.dram_stride = static_cast<uint64_t>(ds);
    i.sram_stride = static_cast<uint32_t>(ss);
    Emit(i);
  }

  void VLoadOp() {
    VLoad i;
    i.vd = V();
    i.type = AnyType();
    int64_t stride = ElementStride(SizeOf(i.type));
    i.addr = Place(0, sram_, &stride, kLanes, SizeOf(i.type));
    i.stride = static_cast<int32_t>(stride);
    Emit(i);
  }

  void VStoreOp() {
    VStore i;
    i.vs = V();
    i.type = AnyType();
    int64_t stride = ElementStride(SizeOf(i.type));
    i.addr = Place(0, write_end_, &stride, kLanes, SizeOf(i.type));
    i.stride = static_cast<int32_t>(stride);
    Emit(i);
  }

  void TileLoadOp(uint8_t td, DType type) {
    TileLoad i;
    i.td = td;
    i.type = type;
    int64_t stride = 0;
    i.addr = Place(0, sram_, &stride, 1, int64_t{kLanes} * kLanes * SizeOf(type));
    Emit(i);
  }

  void AccLoadOp() {
    AccLoad i;
    BatchRows(8, &i.row, &i.rows);
    i.type = Chance(rng_, 0.5) ? DType::kI32 : AnyType();
    const int64_t row_bytes = int64_t{kLanes} * SizeOf(i.type);
    int64_t stride = RowStride(row_bytes);
    i.addr = Place(0, sram_, &stride, i.rows, row_bytes);
    i.row_stride = static_cast<int32_t>(stride);
    Emit(i);
  }

  void AccStoreOp() {
    AccStore i;
    BatchRows(8, &i.row, &i.rows);  // often a TMAC's rows: the SIMD machine then runs the store in its pass
    i.type = Pick<DType>(rng_, {DType::kI32, DType::kF32, DType::kBF16});
    const int64_t row_bytes = int64_t{kLanes} * SizeOf(i.type);
    int64_t stride = RowStride(row_bytes);
    i.addr = Place(0, write_end_, &stride, i.rows, row_bytes);
    i.row_stride = static_cast<int32_t>(stride);
    Emit(i);
  }

  void TileMacOp() {
    TileMac i;
    i.mode = AnyMode();
    const DType wt = WeightType(i.mode);
    const int64_t max_tiles = std::min<int64_t>(16, c_.tile_regs);
    // One in eight streams many rows through many tiles (rows * tiles >= 256 takes the SIMD machine's
    // multi-threaded path).
    const bool big = Chance(rng_, 0.125);
    int64_t tiles;
    switch (big ? 3 : Range(rng_, 0, 2)) {
      case 0: tiles = 1; break;
      case 1: tiles = Range(rng_, 1, std::min<int64_t>(4, max_tiles)); break;
      case 2: tiles = Range(rng_, 1, max_tiles); break;
      default: tiles = Range(rng_, std::min<int64_t>(4, max_tiles), max_tiles); break;
    }
    i.tiles = static_cast<uint8_t>(tiles);
    i.tile = static_cast<uint8_t>(Range(rng_, 0, c_.tile_regs - tiles));
    for (int t = i.tile; t < i.tile + i.tiles; ++t) {
      if (tile_types_[t] != wt) TileLoadOp(static_cast<uint8_t>(t), wt);
    }
    BatchRows(big ? 64 : 8, &i.acc_row, &i.rows);
    const int64_t row_bytes = int64_t{kLanes} * tiles * SizeOf(ActivationType(i.mode));
    int64_t stride = RowStride(row_bytes);
    i.a_addr = Place(0, sram_, &stride, i.rows, row_bytes);
    i.a_stride = static_cast<int32_t>(stride);
    Emit(i);
  }

  void ElemMacOp() {
    ElemMac i;
    i.mode = AnyMode();
    i.vw = V();
    BatchRows(16, &i.acc_row, &i.rows);
    const int64_t row_bytes = int64_t{kLanes} * SizeOf(ActivationType(i.mode));
    int64_t stride = RowStride(row_bytes);
    i.a_addr = Place(0, sram_, &stride, i.rows, row_bytes);
    i.a_stride = static_cast<int32_t>(stride);
    Emit(i);
  }

  DType AcceptedOutType() {
    std::vector<DType> ok;
    for (DType t : {DType::kI8, DType::kU8, DType::kI16})
      if (Accepts(quant_, t)) ok.push_back(t);
    return ok[Range(rng_, 0, static_cast<int64_t>(ok.size()) - 1)];  // RandomQuant accepts >= 1 type
  }

  void RequantOp() {
    Requant i;
    BatchRows(8, &i.acc_row, &i.rows);
    i.out = AcceptedOutType();
    const int64_t row_bytes = int64_t{kLanes} * SizeOf(i.out);
    int64_t stride = RowStride(row_bytes);
    i.addr = Place(0, write_end_, &stride, i.rows, row_bytes);
    i.row_stride = static_cast<int32_t>(stride);
    Emit(i);
  }

  // QCFG, accumulator rows of exact ties (and neighbours) written into the constant area of the SRAM
  // image, ACC_LD of those rows, REQ.
  void TieSequence() {
    const DType out = OutType();
    Emit(SetQuant{RandomQuant(rng_, AnyRequantMode(), out)});
    const int64_t rows = Range(rng_, 1, std::min<int64_t>({4, const_rows_, c_.acc_rows}));
    const int64_t first = Range(rng_, 0, const_rows_ - rows);
    for (int64_t r = 0; r < rows; ++r) {
      uint8_t* row = out_.sram.data() + write_end_ + (first + r) * 128;
      for (int j = 0; j < kLanes; ++j) {
        int64_t x = RequantTie(rng_, quant_, j);
        if (Chance(rng_, 0.2)) x = std::clamp<int64_t>(x + Pick<int64_t>(rng_, {-1, 1}), kI32Min, kI32Max);
        Put32(row + 4 * j, static_cast<uint32_t>(static_cast<int32_t>(x)));
      }
    }
    AccLoad ld;
    ld.rows = static_cast<uint32_t>(rows);
    ld.row = static_cast<uint32_t>(Range(rng_, 0, c_.acc_rows - rows));
    ld.addr = static_cast<uint32_t>(write_end_ + first * 128);
    ld.row_stride = 128;
    Emit(ld);
    Requant rq;
    rq.acc_row = ld.row;
    rq.rows = ld.rows;
    rq.out = out;
    int64_t stride = int64_t{kLanes} * SizeOf(out);
    rq.addr = Place(0, write_end_, &stride, rows, stride);
    rq.row_stride = static_cast<int32_t>(stride);
    Emit(rq);
  }

  void VAluOp() {
    VAlu i;
    i.op = Pick<AluOp>(rng_, {AluOp::kAdd, AluOp::kSub, AluOp::kMul, AluOp::kMin, AluOp::kMax, AluOp::kSra,
                              AluOp::kSll, AluOp::kMovi});
    i.vd = V();
    i.va = V();
    i.vb = Chance(rng_, 0.2) ? i.va : V();
    if (i.op == AluOp::kSra || i.op == AluOp::kSll) {
      i.imm = static_cast<int32_t>(Chance(rng_, 0.4) ? Pick<int64_t>(rng_, {0, 1, 2, 30, 31}) : Range(rng_, 0, 31));
    } else if (i.op == AluOp::kMovi) {
      i.imm = Chance(rng_, 0.5) ? static_cast<int32_t>(ExtremeI32(rng_)) : static_cast<int32_t>(F32Special(rng_));
    } else {
      i.imm = static_cast<int32_t>(rng_());  // ignored
    }
    Emit(i);
  }

  // ---- invalid instructions: each certainly fails validation (docs/isa.md §7) ----

  void EmitInvalid() {
    const int64_t sram = sram_;
    switch (Range(rng_, 0, 27)) {
      case 0: {  // element past the end
        VLoad i;
        i.vd = V();
        i.type = AnyType();
        i.stride = 0;
        i.addr = static_cast<uint32_t>(sram - SizeOf(i.type) + Range(rng_, 1, 3));
        return Emit(i, true);
      }
      case 1: {  // 64-bit address arithmetic must not wrap
        VLoad i;
        i.vd = V();
        i.type = DType::kI32;
        i.addr = static_cast<uint32_t>(Range(rng_, 0xFFFFFF00u, 0xFFFFFFFFu));
        i.stride = static_cast<int32_t>(Range(rng_, 1, 64));
        return Emit(i, true);
      }
      case 2: {
        VStore i;
        i.vs = V();
        i.type = AnyType();
        i.addr = static_cast<uint32_t>(Range(rng_, 0, 64));
        i.stride = -static_cast<int32_t>(Range(rng_, 3, 1000));
        return Emit(i, true);
      }
      case 3: {
        if (c_.vector_regs >= 256) break;
        VLoad i;
        i.vd = static_cast<uint8_t>(Range(rng_, c_.vector_regs, 255));
        return Emit(i, true);
      }
      case 4: {
        TileLoad i;
        i.td = static_cast<uint8_t>(Range(rng_, 0, c_.tile_regs - 1));
        i.type = Pick<DType>(rng_, {DType::kU8, DType::kI32, DType::kF32});
        return Emit(i, true);
      }
      case 5: {
        if (c_.tile_regs >= 256) break;
        TileLoad i;
        i.td = static_cast<uint8_t>(Range(rng_, c_.tile_regs, 255));
        i.type = DType::kI8;
        return Emit(i, true);
      }
      case 6: {
        AccZero i;
        if (Chance(rng_, 0.5)) {
          i.rows = 0;
          i.row = static_cast<uint32_t>(Range(rng_, 0, c_.acc_rows - 1));
        } else {
          i.row = static_cast<uint32_t>(Range(rng_, 0, c_.acc_rows - 1));
          i.rows = static_cast<uint32_t>(c_.acc_rows - i.row + Range(rng_, 1, 3));
        }
        return Emit(i, true);
      }
      case 7: {
        AccLoad i;
        i.rows = 2;
        i.row_stride = 128;
        i.addr = static_cast<uint32_t>(sram - 255 + Range(rng_, 0, 200));
        return Emit(i, true);
      }
      case 8: {
        AccStore i;
        i.type = Pick<DType>(rng_, {DType::kI8, DType::kU8, DType::kI16});
        return Emit(i, true);
      }
      case 9: {
        TileMac i;
        i.mode = AnyMode();
        i.tiles = 0;
        return Emit(i, true);
      }
      case 10: {
        TileMac i;
        i.mode = AnyMode();
        i.tile = static_cast<uint8_t>(c_.tile_regs - 1);
        i.tiles = 2;
        return Emit(i, true);
      }
      case 11: {  // a tile never loaded, or of the wrong type
        for (int t = 0; t < static_cast<int>(c_.tile_regs); ++t) {
          if (tile_types_[t] == DType::kI32 || Chance(rng_, 0.3)) {
            TileMac i;
            i.tile = static_cast<uint8_t>(t);
            i.mode = AnyMode();
            while (tile_types_[t] == WeightType(i.mode)) i.mode = AnyMode();
            return Emit(i, true);
          }
        }
        break;
      }
      case 12: {
        ElemMac i;
        i.mode = AnyMode();
        if (c_.vector_regs >= 256) break;
        i.vw = static_cast<uint8_t>(Range(rng_, c_.vector_regs, 255));
        return Emit(i, true);
      }
      case 13: {  // bad TFL parameters
        QuantConfig q = RandomQuant(rng_, Chance(rng_, 0.5) ? RequantMode::kTflDouble : RequantMode::kTflSingle,
                                    OutType());
        const int j = static_cast<int>(Range(rng_, 0, kLanes - 1));
        switch (Range(rng_, 0, 2)) {
          case 0: q.multiplier[j] = static_cast<int32_t>(Range(rng_, kI32Min, -1)); break;
          case 1: q.shift[j] = Pick<int32_t>(rng_, {-32, 8, 100, kI32Min}); break;
          default: q.qmin = q.qmax + static_cast<int32_t>(Range(rng_, 1, 10)); break;
        }
        return Emit(SetQuant{q}, true);
      }
      case 14: {  // bad FLOAT parameters
        QuantConfig q = RandomQuant(rng_, Chance(rng_, 0.5) ? RequantMode::kFloatRne : RequantMode::kFloatZpFirst,
                                    OutType());
        q.scale[Range(rng_, 0, kLanes - 1)] = Pick<float>(
            rng_, {0.0f, -0.0f, -1.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                   -FLT_TRUE_MIN});
        return Emit(SetQuant{q}, true);
      }
      case 15: {
        QuantConfig q;
        q.mode = static_cast<RequantMode>(Range(rng_, 4, 255));
        return Emit(SetQuant{q}, true);
      }
      case 16: {  // REQ to a type the clamp or zero point does not fit, or a bad type
        Requant i;
        i.out = DType::kBF16;
        for (DType t : {DType::kI8, DType::kU8, DType::kI16})
          if (!Accepts(quant_, t)) i.out = t;
        if (i.out == DType::kBF16) i.out = Pick<DType>(rng_, {DType::kBF16, DType::kI32, DType::kF32});
        return Emit(i, true);
      }
      case 17: {
        VAlu i;
        i.op = Chance(rng_, 0.5) ? AluOp::kSra : AluOp::kSll;
        i.imm = Pick<int32_t>(rng_, {32, -1, 33, kI32Min, kI32Max});
        return Emit(i, true);
      }
      case 18: {
        VAlu i;
        i.op = static_cast<AluOp>(Range(rng_, 8, 255));
        return Emit(i, true);
      }
      case 19: {
        VPerm i;
        i.route = RandomRoute();
        i.route[Range(rng_, 0, kLanes - 1)] = Pick<int8_t>(rng_, {32, -2, 127, -128});
        return Emit(i, true);
      }
      case 20: {
        VFromAcc i;
        i.row = static_cast<uint32_t>(c_.acc_rows + Range(rng_, 0, 5));
        return Emit(i, true);
      }
      case 21: {  // DMA: unbound segment, segment out of range, past the segment end, zero rows/bytes
        DmaIn i;
        i.row_bytes = 16;
        switch (Range(rng_, 0, 4)) {
          case 0: i.segment = 7; break;
          case 1: i.segment = static_cast<uint32_t>(Range(rng_, 64, 1000)); break;
          case 2:
            i.segment = kDramRoSegment;
            i.dram = out_.dram_ro.size() - 8;
            break;
          case 3: i.rows = 0; break;
          default: i.row_bytes = 0; break;
        }
        return Emit(i, true);
      }
      case 22: {  // DMA_OUT into the read-only segment
        DmaOut i;
        i.segment = kDramRoSegment;
        i.row_bytes = static_cast<uint32_t>(Range(rng_, 1, 64));
        return Emit(i, true);
      }
      case 23: {  // AALU: rows past acc_rows (by a stride too), no rows, a bad op or shift
        AccAlu i;
        switch (Range(rng_, 0, 3)) {
          case 0:
            i.rows = 2, i.a_stride = static_cast<int32_t>(c_.acc_rows);
            break;
          case 1: i.rows = 0; break;
          case 2: i.op = static_cast<AluOp>(Range(rng_, 8, 255)); break;
          default:
            i.op = AluOp::kSra, i.imm = 32;
            break;
        }
        return Emit(i, true);
      }
      case 24: {
        AccAlu i;
        i.rows = 2, i.dst = 1, i.dst_stride = -2;  // row -1
        return Emit(i, true);
      }
      case 25: {  // RPERM: a bad route entry, or a row past the end of SRAM
        RowPerm i;
        i.route = IdentityRoute();
        if (Chance(rng_, 0.5)) {
          i.route[Range(rng_, 0, kLanes - 1)] = Pick<int8_t>(rng_, {32, -2, 127, -128});
        } else {
          i.type = DType::kI16;
          i.dst = static_cast<uint32_t>(sram - 63);
        }
        return Emit(i, true);
      }
      case 26: {
        AccLoad i;  // a row of i16 elements past the end of SRAM
        i.type = DType::kI16;
        i.addr = static_cast<uint32_t>(sram - 63);
        return Emit(i, true);
      }
      default: {
        TileMac i;
        i.mode = static_cast<MacMode>(Range(rng_, 4, 255));
        return Emit(i, true);
      }
    }
    // The chosen kind is impossible in this configuration: a certainly invalid fallback.
    VAlu i;
    i.op = AluOp::kSll;
    i.imm = 32;
    Emit(i, true);
  }

  Rng rng_;
  AccelConfig c_;
  RandomProgramOptions o_;
  RandomProgram out_;
  std::vector<DType> tile_types_;
  QuantConfig quant_;
  int64_t sram_ = 0;
  int64_t const_rows_ = 0;
  uint32_t batch_row_ = 0, batch_rows_ = 0;  // BatchRows
  int64_t write_end_ = 0;  // valid writes stay below; [write_end_, sram_) holds constant rows
};

}  // namespace

AccelConfig RandomSmallConfig(uint64_t seed) {
  Rng rng(seed ^ 0x9E3779B97F4A7C15ull);
  AccelConfig c;
  c.sram_bytes = Pick<uint32_t>(rng, {32768, 40960, 65536});
  c.sram_banks = Pick<uint32_t>(rng, {1, 3, 8, 32, 64});
  c.bank_bytes = Pick<uint32_t>(rng, {1, 2, 4, 8, 16});
  c.vector_regs = Pick<uint32_t>(rng, {4, 8, 32});
  c.tile_regs = Pick<uint32_t>(rng, {4, 16, 17, 32});
  c.acc_rows = Pick<uint32_t>(rng, {16, 40, 64, 128});
  c.tile_units = Pick<uint32_t>(rng, {1, 4});
  c.macs_per_cycle_int8 = Pick<uint32_t>(rng, {1024, 512, 100});
  c.macs_per_cycle_int16 = Pick<uint32_t>(rng, {1024, 256});
  c.macs_per_cycle_bf16 = Pick<uint32_t>(rng, {512, 1024, 7});
  c.clock_mhz = Pick<double>(rng, {933.0, 1000.0, 533.0});
  c.dram_gb_per_s = Pick<double>(rng, {17.0, 4.0, 100.0});
  c.dram_latency_cycles = Pick<uint32_t>(rng, {100, 0, 7});
  c.check_overflow = Chance(rng, 0.5);
  return c;
}

RandomProgram GenerateRandomProgram(const AccelConfig& config, uint64_t seed, const RandomProgramOptions& options) {
  return Generator(config, seed, options).Run();
}

}  // namespace tile32::test

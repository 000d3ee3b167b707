// Validation (docs/isa.md §7) and counting, shared by every machine: an instruction that reaches a
// machine's Do() is known to be in range, so machines never check and never half-execute.
#include "accel/machine.h"

#include <chrono>
#include <cmath>
#include <string>

#include "accel/error.h"

namespace tile32 {

namespace {

class Checker {
 public:
  Checker(const AccelConfig& c, const char* op) : c_(c), op_(op) {}

  // `count` items of `bytes` each at base + i*stride must lie inside SRAM.
  void Sram(const char* field, int64_t base, int64_t stride, uint64_t count, uint64_t bytes) const {
    // In 64 bits when nothing overflows (every instruction's fields are 32 bits wide, so practically
    // always): the 128-bit span cost more than the rest of a VLD's validation. The same bytes either way.
    int64_t span, lo, hi;
    if (count != 0 && count - 1 <= uint64_t{INT64_MAX} && bytes <= uint64_t{INT64_MAX} &&
        !__builtin_mul_overflow(stride, static_cast<int64_t>(count - 1), &span) &&
        !__builtin_add_overflow(base, span < 0 ? span : 0, &lo) &&
        !__builtin_add_overflow(base, span > 0 ? span : 0, &hi) &&
        !__builtin_add_overflow(hi, static_cast<int64_t>(bytes), &hi) && lo >= 0 && hi <= c_.sram_bytes) {
      return;
    }
    const ByteSpan s = SpanOf(base, stride, count, bytes);
    if (s.lo < 0 || s.hi > c_.sram_bytes) {
      Fail(op_, ": ", field, " touches SRAM bytes [", static_cast<int64_t>(s.lo), ", ", static_cast<int64_t>(s.hi),
           ") outside [0, ", c_.sram_bytes, ")");
    }
  }
  void Index(const char* field, uint64_t value, uint64_t limit) const {
    if (value >= limit) Fail(op_, ": ", field, " = ", value, " is outside [0, ", limit, ")");
  }
  void Count(const char* field, uint64_t value) const {
    if (value == 0) Fail(op_, ": ", field, " must be at least 1");
  }
  void AccRange(uint32_t row, uint32_t rows) const {
    Count("rows", rows);
    if (uint64_t{row} + rows > c_.acc_rows) {
      Fail(op_, ": ACC rows [", row, ", ", uint64_t{row} + rows, ") exceed acc_rows ", c_.acc_rows);
    }
  }
  void AccRows(const char* field, uint32_t row, int32_t stride, uint32_t rows) const {
    const ByteSpan s = SpanOf(row, stride, rows, 1);
    if (s.lo < 0 || s.hi > c_.acc_rows) {
      Fail(op_, ": ", field, " rows [", static_cast<int64_t>(s.lo), ", ", static_cast<int64_t>(s.hi),
           ") exceed acc_rows ", c_.acc_rows);
    }
  }
  void Route(const std::array<int8_t, kLanes>& route) const {
    // All lanes at once first (a loop without a call in it vectorizes: a tenth of the lane-by-lane check,
    // which was a fifth of a shuffle's RPERM issue), then the first bad lane for the message.
    uint8_t bad = 0;  // route[l] in [-1, 31] is route[l] + 1 in [0, 32] as a byte
    for (int l = 0; l < kLanes; ++l) bad |= static_cast<uint8_t>(static_cast<uint8_t>(route[l] + 1) > kLanes);
    if (bad == 0) return;
    for (int l = 0; l < kLanes; ++l) {
      if (route[l] < -1 || route[l] >= kLanes) Fail(op_, ": route[", l, "] = ", int{route[l]}, " is outside [-1, 31]");
    }
  }
  void Alu(AluOp op, int32_t imm) const {
    if (!IsValid(op)) Fail(op_, ": op ", int{static_cast<uint8_t>(op)}, " is not an ALU operation");
    if ((op == AluOp::kSra || op == AluOp::kSll) && (imm < 0 || imm > 31)) {
      Fail(op_, ".", NameOf(op), ": shift imm = ", imm, " is outside [0, 31]");
    }
  }
  void Type(DType t, std::initializer_list<DType> allowed) const {
    for (DType a : allowed)
      if (a == t) return;
    TypeFail(t, allowed);
  }
  [[noreturn, gnu::noinline, gnu::cold]] void TypeFail(DType t, std::initializer_list<DType> allowed) const {
    std::string names;
    for (DType a : allowed) names += std::string(names.empty() ? "" : ", ") + NameOf(a);
    Fail(op_, ": type ", IsValid(t) ? NameOf(t) : "invalid", " is not one of {", names, "}");
  }
  void Mode(MacMode m) const {
    if (!IsValid(m)) Fail(op_, ": MAC mode ", int{static_cast<uint8_t>(m)}, " is not a valid mode");
  }

 private:
  const AccelConfig& c_;
  const char* op_;
};

AccelConfig Validated(const AccelConfig& c) {
  c.Validate();
  return c;
}

}  // namespace

Machine::Machine(const AccelConfig& config) : config_(Validated(config)), cost_table_(config_) {
  sram_total_ = config_.sram_bytes;
  segments_.resize(kMaxDramSegments);
  tile_types_.assign(config_.tile_regs, DType::kI32);
}

Machine::~Machine() = default;

void Machine::ReserveSram(uint64_t bytes) {
  if (bytes > sram_total_ || sram_total_ - bytes < (1u << 10)) {
    Fail("Machine: keeping ", bytes, " bytes in SRAM leaves less than 1 KiB of sram_bytes = ", sram_total_,
         " to the kernels");
  }
  config_.sram_bytes = static_cast<uint32_t>(sram_total_ - bytes);
}

void Machine::BindDram(uint32_t segment, void* base, uint64_t bytes) {
  if (segment >= kMaxDramSegments) Fail("BindDram: segment ", segment, " is outside [0, ", kMaxDramSegments, ")");
  if (base == nullptr) Fail("BindDram: segment ", segment, " has a null base");
  dram_bound_bytes_ = dram_bound_bytes_ - segments_[segment].bytes + bytes;
  segments_[segment] = Segment{static_cast<uint8_t*>(base), bytes, true};
}

void Machine::BindDramReadOnly(uint32_t segment, const void* base, uint64_t bytes, uint64_t version) {
  BindDram(segment, const_cast<void*>(base), bytes);
  segments_[segment].writable = false;
  segments_[segment].version = version;
}

void Machine::UnbindDram(uint32_t segment) {
  if (segment >= kMaxDramSegments) return;
  dram_bound_bytes_ -= segments_[segment].bytes;
  segments_[segment] = Segment{};
}

// Validation reads the fields of the instruction as given: per kind the checks of its fields (types, register
// indices, counts, modes, requant rules); then, for every instruction alike, the ranges of its footprint
// (CheckRanges).
struct Machine::FieldChecks {
  const Machine& m;
  const AccelConfig& c;

  void Dma(const char* op, uint32_t seg, uint32_t rows, uint32_t row_bytes, bool writes_dram) const {
    Checker k(c, op);
    k.Count("rows", rows);
    k.Count("row_bytes", row_bytes);
    k.Index("segment", seg, kMaxDramSegments);
    const Segment& s = m.segments_[seg];
    if (s.base == nullptr) Fail(op, ": DRAM segment ", seg, " is not bound");
    if (writes_dram && !s.writable) Fail(op, ": DRAM segment ", seg, " is read-only");
  }
  void operator()(const DmaIn& i) const { Dma("DMA_IN", i.segment, i.rows, i.row_bytes, false); }
  void operator()(const DmaOut& i) const { Dma("DMA_OUT", i.segment, i.rows, i.row_bytes, true); }
  void operator()(const VLoad& i) const {
    Checker k(c, "VLD");
    k.Index("vd", i.vd, c.vector_regs);
    k.Type(i.type, {DType::kI8, DType::kU8, DType::kI16, DType::kBF16, DType::kI32, DType::kF32});
  }
  void operator()(const VStore& i) const {
    Checker k(c, "VST");
    k.Index("vs", i.vs, c.vector_regs);
    k.Type(i.type, {DType::kI8, DType::kU8, DType::kI16, DType::kBF16, DType::kI32, DType::kF32});
  }
  void operator()(const TileLoad& i) const {
    Checker k(c, "TLD");
    k.Index("td", i.td, c.tile_regs);
    k.Type(i.type, {DType::kI8, DType::kI16, DType::kBF16});
  }
  void operator()(const AccZero& i) const { Checker(c, "ACC_ZERO").Count("rows", i.rows); }
  void operator()(const AccLoad& i) const {
    Checker k(c, "ACC_LD");
    k.Count("rows", i.rows);
    k.Type(i.type, {DType::kI8, DType::kU8, DType::kI16, DType::kBF16, DType::kI32, DType::kF32});
  }
  void operator()(const AccStore& i) const {
    Checker k(c, "ACC_ST");
    k.Count("rows", i.rows);
    k.Type(i.type, {DType::kI32, DType::kF32, DType::kBF16});
  }
  void operator()(const TileMac& i) const {
    Checker k(c, "TMAC");
    k.Mode(i.mode);
    k.Count("rows", i.rows);
    k.Count("tiles", i.tiles);
    if (uint32_t{i.tile} + i.tiles > c.tile_regs) {
      Fail("TMAC: tiles [", int{i.tile}, ", ", int{i.tile} + i.tiles, ") exceed tile_regs ", c.tile_regs);
    }
    for (int t = i.tile; t < i.tile + i.tiles; ++t) {
      const DType have = m.tile_types_[t];
      if (have == DType::kI32) Fail("TMAC: tile T", t, " was never loaded");
      if (have != WeightType(i.mode)) {
        Fail("TMAC.", NameOf(i.mode), ": tile T", t, " holds ", NameOf(have), ", mode needs ",
             NameOf(WeightType(i.mode)));
      }
    }
  }
  void operator()(const ElemMac& i) const {
    Checker k(c, "EMAC");
    k.Mode(i.mode);
    k.Count("rows", i.rows);
    k.Index("vw", i.vw, c.vector_regs);
  }
  void operator()(const SetQuant& i) const {
    const QuantConfig& q = i.q;
    CheckRequantLanes("QCFG", "", q.mode, q.multiplier.data(), q.shift.data(), q.scale.data(), kLanes);
    if (q.qmin > q.qmax) Fail("QCFG: qmin ", q.qmin, " > qmax ", q.qmax);
  }
  void operator()(const Requant& i) const {
    Checker k(c, "REQ");
    k.Count("rows", i.rows);
    k.Type(i.out, {DType::kI8, DType::kU8, DType::kI16});
    // The clamp is checked in full (and named "REQ.<type>") only when it fails: building the name cost an
    // allocation per REQ.
    const QuantConfig& q = m.quant_;
    const ValueRange r = i.out == DType::kI8 ? ValueRange{-128, 127}
                         : i.out == DType::kU8 ? ValueRange{0, 255}
                                               : ValueRange{-32768, 32767};
    if (!(r.Contains(q.zero_point) && r.Contains(q.qmin) && r.Contains(q.qmax) && q.qmin <= q.qmax)) {
      const std::string op = std::string("REQ.") + NameOf(i.out);
      CheckRequantClamp(op.c_str(), "", i.out, q.zero_point, q.qmin, q.qmax);
    }
  }
  void operator()(const VAlu& i) const {
    Checker k(c, "VALU");
    k.Alu(i.op, i.imm);
    k.Index("vd", i.vd, c.vector_regs);
    k.Index("va", i.va, c.vector_regs);
    k.Index("vb", i.vb, c.vector_regs);
  }
  void operator()(const VPerm& i) const {
    Checker k(c, "VPERM");
    k.Index("vd", i.vd, c.vector_regs);
    k.Index("vs", i.vs, c.vector_regs);
    k.Route(i.route);
  }
  void operator()(const VFromAcc& i) const {
    Checker k(c, "VMOV.FROMACC");
    k.Index("vd", i.vd, c.vector_regs);
    k.Index("row", i.row, c.acc_rows);
  }
  void operator()(const VToAcc& i) const {
    Checker k(c, "VMOV.TOACC");
    k.Index("vs", i.vs, c.vector_regs);
    k.Index("row", i.row, c.acc_rows);
  }
  void operator()(const AccAlu& i) const {
    Checker k(c, "AALU");
    k.Alu(i.op, i.imm);
    k.Count("rows", i.rows);
  }
  void operator()(const RowPerm& i) const {
    Checker k(c, "RPERM");
    k.Count("rows", i.rows);
    k.Type(i.type, {DType::kI8, DType::kU8, DType::kI16, DType::kBF16, DType::kI32, DType::kF32});
    k.Route(i.route);
  }
};

// Inline into each Step: the footprint was just filled there, so the compiler sees which loops are empty.
[[gnu::always_inline]] inline void Machine::CheckRanges(const char* op, const Footprint& fp) const {
  const Checker k(config_, op);
  for (int a = 0; a < fp.acc_count; ++a) {
    const AccAccess& r = fp.acc[a];
    if (r.field == nullptr) {
      k.AccRange(static_cast<uint32_t>(r.row), r.count);
    } else {
      k.AccRows(r.field, static_cast<uint32_t>(r.row), static_cast<int32_t>(r.stride), r.count);
    }
  }
  if (fp.dram.used) {
    const DramAccess& d = fp.dram;
    const Segment& s = segments_[d.segment];
    const unsigned __int128 end =
        static_cast<unsigned __int128>(d.offset) + static_cast<unsigned __int128>(d.stride) * (d.rows - 1) + d.row_bytes;
    if (end > s.bytes) {
      Fail(op, ": DRAM bytes up to ", static_cast<uint64_t>(end > ~uint64_t{0} ? ~uint64_t{0} : end),
           " exceed segment ", d.segment, " of ", s.bytes, " bytes");
    }
  }
  for (int a = 0; a < fp.sram_count; ++a) {
    const SramAccess& r = fp.sram[a];
    k.Sram(r.field, r.base, r.stride, r.count, r.bytes);
  }
}

namespace {

// Host timing is off unless profiling: its clock reads stay out of line.
[[gnu::noinline, gnu::cold]] std::chrono::steady_clock::time_point Now() { return std::chrono::steady_clock::now(); }
[[gnu::noinline, gnu::cold]] double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// What std::visit throws for a valueless variant (std::bad_variant_access), as Execute threw by visiting.
[[noreturn, gnu::noinline, gnu::cold]] void ThrowValueless(const Instr& instr) {
  std::visit([](const auto&) {}, instr);
  __builtin_unreachable();
}

}  // namespace

// Footprint, validation, cost, execution, state, counters, in that order; a throw leaves everything but footprint_
// (internal) as it was. No SLP vectorization: it summed the cost into the counters in pairs of fields loaded
// from where they had been stored one by one, a store-forwarding stall on every instruction (half a VLD's time).
template <typename T>
[[gnu::optimize("no-tree-slp-vectorize")]] void Machine::Step(const Instr& instr, const T& i) {
  constexpr size_t kIndex = KindIndex<T>::value;
  std::chrono::steady_clock::time_point start;
  if (__builtin_expect(host_timing_, false)) start = Now();
  FootprintOf(i, &footprint_);
  FieldChecks{*this, config_}(i);
  CheckRanges(MnemonicOf(kIndex), footprint_);
  // Costed before Do (it depends on nothing Do changes), while the compiler still knows the footprint it
  // just filled in and drops the branches of the access shapes this kind never has.
  const InstrCost cost = CostOfKind(i, footprint_, cost_table_);
  Do(i);
  if (__builtin_expect(host_timing_, false)) counters_.host_seconds[kIndex] += SecondsSince(start);
  if constexpr (std::is_same_v<T, SetQuant>) quant_ = i.q;
  if constexpr (std::is_same_v<T, TileLoad>) tile_types_[i.td] = i.type;
  ++counters_.instructions;
  ++counters_.per_opcode[kIndex];
  InstrCost& sum = counters_.total;
  sum.cycles += cost.cycles;
  sum.tile_cycles += cost.tile_cycles;
  sum.sram_cycles += cost.sram_cycles;
  sum.conflict_cycles += cost.conflict_cycles;
  sum.mux_passes += cost.mux_passes;
  sum.dram_bytes += cost.dram_bytes;
  sum.macs += cost.macs;
  AfterInstruction(instr, footprint_, cost);
}

// A switch rather than std::visit: the visit reached each Step through a thunk of its own, a call more per
// instruction.
void Machine::Execute(const Instr& instr) {
  BeforeInstruction(instr);
  static_assert(kInstrKinds == 18, "one case per instruction kind");
  switch (instr.index()) {
#define TILE32_STEP(k) \
  case k: return Step(instr, *std::get_if<k>(&instr));
    TILE32_STEP(0) TILE32_STEP(1) TILE32_STEP(2) TILE32_STEP(3) TILE32_STEP(4) TILE32_STEP(5)
    TILE32_STEP(6) TILE32_STEP(7) TILE32_STEP(8) TILE32_STEP(9) TILE32_STEP(10) TILE32_STEP(11)
    TILE32_STEP(12) TILE32_STEP(13) TILE32_STEP(14) TILE32_STEP(15) TILE32_STEP(16) TILE32_STEP(17)
#undef TILE32_STEP
  }
  ThrowValueless(instr);
}

}  // namespace tile32

#include "tests/common/machine_state.h"

#include <cstring>
#include <sstream>

#include "accel/numeric.h"

namespace tile32::test {
namespace {

std::string Hex(uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

std::string Bytes(const uint8_t* a, const uint8_t* b, size_t n, const std::string& what) {
  if (std::memcmp(a, b, n) == 0) return "";
  size_t i = 0;
  while (a[i] == b[i]) ++i;
  std::ostringstream os;
  os << what << " byte " << i << ": " << Hex(a[i]) << " vs " << Hex(b[i]);
  return os.str();
}

// Views of one machine's state, shared by the snapshot and the live comparison.
struct View {
  const uint8_t* sram;
  size_t sram_bytes;
  std::vector<const ScalarMachine::Lanes*> vregs;
  std::vector<const ScalarMachine::Tile*> tiles;
  std::vector<DType> tile_types;
  const uint32_t* acc;
  size_t acc_rows;
  bool overflow;
  const Counters* counters;
  const QuantConfig* quant;
};

View ViewOf(const ScalarMachine& m) {
  const AccelConfig& c = m.config();
  View v;
  v.sram = m.sram().data();
  v.sram_bytes = m.sram().size();
  for (uint32_t r = 0; r < c.vector_regs; ++r) v.vregs.push_back(&m.vreg(static_cast<int>(r)));
  for (uint32_t t = 0; t < c.tile_regs; ++t) {
    v.tiles.push_back(&m.tile(static_cast<int>(t)));
    v.tile_types.push_back(m.tile_type(static_cast<int>(t)));
  }
  v.acc = m.acc_row(0);  // ACC rows are contiguous in the canonical state
  v.acc_rows = c.acc_rows;
  v.overflow = m.overflow();
  v.counters = &m.counters();
  v.quant = &m.quant();
  return v;
}

View ViewOf(const MachineState& s) {
  View v;
  v.sram = s.sram.data();
  v.sram_bytes = s.sram.size();
  for (const auto& l : s.vregs) v.vregs.push_back(&l);
  for (const auto& t : s.tiles) v.tiles.push_back(&t);
  v.tile_types = s.tile_types;
  v.acc = s.acc.data();
  v.acc_rows = s.acc.size() / kLanes;
  v.overflow = s.overflow;
  v.counters = &s.counters;
  v.quant = &s.quant;
  return v;
}

std::string CompareCounters(const Counters& a, const Counters& b) {
  std::ostringstream os;
  auto field = [&](const char* name, uint64_t x, uint64_t y) {
    if (x != y && os.tellp() == 0) os << "counters." << name << ": " << x << " vs " << y;
  };
  field("instructions", a.instructions, b.instructions);
  for (int i = 0; i < 16; ++i) {
    field(("per_opcode[" + std::to_string(i) + "]").c_str(), a.per_opcode[i], b.per_opcode[i]);
  }
  field("total.cycles", a.total.cycles, b.total.cycles);
  field("total.tile_cycles", a.total.tile_cycles, b.total.tile_cycles);
  field("total.sram_cycles", a.total.sram_cycles, b.total.sram_cycles);
  field("total.conflict_cycles", a.total.conflict_cycles, b.total.conflict_cycles);
  field("total.mux_passes", a.total.mux_passes, b.total.mux_passes);
  field("total.dram_bytes", a.total.dram_bytes, b.total.dram_bytes);
  field("total.macs", a.total.macs, b.total.macs);
  return os.str();
}

std::string CompareQuant(const QuantConfig& a, const QuantConfig& b) {
  std::ostringstream os;
  if (a.mode != b.mode) {
    os << "Q.mode: " << NameOf(a.mode) << " vs " << NameOf(b.mode);
  } else if (a.zero_point != b.zero_point || a.qmin != b.qmin || a.qmax != b.qmax) {
    os << "Q.zero_point/qmin/qmax: " << a.zero_point << "/" << a.qmin << "/" << a.qmax << " vs " << b.zero_point
       << "/" << b.qmin << "/" << b.qmax;
  } else {
    for (int j = 0; j < kLanes; ++j) {
      if (a.multiplier[j] != b.multiplier[j] || a.shift[j] != b.shift[j] ||
          F32ToBits(a.scale[j]) != F32ToBits(b.scale[j])) {
        os << "Q lane " << j << ": multiplier/shift/scale " << a.multiplier[j] << "/" << a.shift[j] << "/"
           << a.scale[j] << " vs " << b.multiplier[j] << "/" << b.shift[j] << "/" << b.scale[j];
        break;
      }
    }
  }
  return os.str();
}

std::string Compare(const View& a, const View& b) {
  if (a.sram_bytes != b.sram_bytes) return "SRAM sizes differ";
  std::string d = Bytes(a.sram, b.sram, a.sram_bytes, "SRAM");
  if (!d.empty()) return d;
  if (a.vregs.size() != b.vregs.size()) return "vector register counts differ";
  for (size_t r = 0; r < a.vregs.size(); ++r) {
    for (int l = 0; l < kLanes; ++l) {
      if ((*a.vregs[r])[l] != (*b.vregs[r])[l]) {
        return "V" + std::to_string(r) + "[" + std::to_string(l) + "]: " + Hex((*a.vregs[r])[l]) + " vs " +
               Hex((*b.vregs[r])[l]);
      }
    }
  }
  if (a.tiles.size() != b.tiles.size()) return "tile register counts differ";
  for (size_t t = 0; t < a.tiles.size(); ++t) {
    if (a.tile_types[t] != b.tile_types[t]) {
      return "T" + std::to_string(t) + " type: " + NameOf(a.tile_types[t]) + " vs " + NameOf(b.tile_types[t]);
    }
    for (int e = 0; e < kLanes * kLanes; ++e) {
      if ((*a.tiles[t])[e] != (*b.tiles[t])[e]) {
        return "T" + std::to_string(t) + "[k=" + std::to_string(e / kLanes) + "][j=" + std::to_string(e % kLanes) +
               "]: " + Hex((*a.tiles[t])[e]) + " vs " + Hex((*b.tiles[t])[e]);
      }
    }
  }
  if (a.acc_rows != b.acc_rows) return "ACC row counts differ";
  if (std::memcmp(a.acc, b.acc, a.acc_rows * kLanes * 4) != 0) {
    size_t i = 0;
    while (a.acc[i] == b.acc[i]) ++i;
    return "ACC[" + std::to_string(i / kLanes) + "][" + std::to_string(i % kLanes) + "]: " + Hex(a.acc[i]) +
           " vs " + Hex(b.acc[i]);
  }
  if (a.overflow != b.overflow) {
    return std::string("overflow flag: ") + (a.overflow ? "set" : "clear") + " vs " + (b.overflow ? "set" : "clear");
  }
  d = CompareQuant(*a.quant, *b.quant);
  if (!d.empty()) return d;
  return CompareCounters(*a.counters, *b.counters);
}

}  // namespace

MachineState Snapshot(const ScalarMachine& m) {
  const AccelConfig& c = m.config();
  MachineState s;
  s.sram.assign(m.sram().begin(), m.sram().end());
  for (uint32_t r = 0; r < c.vector_regs; ++r) s.vregs.push_back(m.vreg(static_cast<int>(r)));
  for (uint32_t t = 0; t < c.tile_regs; ++t) {
    s.tiles.push_back(m.tile(static_cast<int>(t)));
    s.tile_types.push_back(m.tile_type(static_cast<int>(t)));
  }
  s.acc.assign(m.acc_row(0), m.acc_row(0) + size_t{c.acc_rows} * kLanes);
  s.overflow = m.overflow();
  s.counters = m.counters();
  s.quant = m.quant();
  return s;
}

std::string FirstDifference(const MachineState& a, const MachineState& b) { return Compare(ViewOf(a), ViewOf(b)); }

std::string FirstDifference(const ScalarMachine& a, const ScalarMachine& b) { return Compare(ViewOf(a), ViewOf(b)); }

std::string FirstDifference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, const std::string& what) {
  if (a.size() != b.size()) return what + " sizes differ";
  return Bytes(a.data(), b.data(), a.size(), what);
}

}  // namespace tile32::test

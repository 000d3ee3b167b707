#include "accel/config.h"

#include <cmath>
#include <sstream>

#include "accel/error.h"

namespace tile32 {
namespace {

void CheckRange(const char* field, uint64_t value, uint64_t lo, uint64_t hi) {
  if (value < lo || value > hi) Fail("AccelConfig: ", field, " = ", value, " is outside [", lo, ", ", hi, "]");
}

void CheckRate(const char* field, double value, double lo, double hi) {
  if (!std::isfinite(value) || value <= 0) Fail("AccelConfig: ", field, " = ", value, " must be finite and > 0");
  if (value < lo || value > hi) Fail("AccelConfig: ", field, " = ", value, " is outside [", lo, ", ", hi, "]");
}

}  // namespace

void AccelConfig::Validate() const {
  CheckRange("sram_bytes", sram_bytes, 1u << 10, 1u << 30);
  CheckRange("sram_banks", sram_banks, 1, 1024);
  CheckRange("bank_bytes", bank_bytes, 1, 256);
  CheckRange("vector_regs", vector_regs, 4, 256);
  CheckRange("tile_regs", tile_regs, 1, 256);
  CheckRange("acc_rows", acc_rows, 1, 1u << 20);
  CheckRange("tile_units", tile_units, 1, 1u << 16);
  CheckRange("vector_units", vector_units, 1, 1u << 16);
  CheckRange("requant_units", requant_units, 1, 1u << 16);
  CheckRange("macs_per_cycle_int8", macs_per_cycle_int8, 1, 1024);
  CheckRange("macs_per_cycle_int16", macs_per_cycle_int16, 1, 1024);
  CheckRange("macs_per_cycle_bf16", macs_per_cycle_bf16, 1, 1024);
  // 1 MHz to 100 GHz, and at least 1 MB/s (far above any real DRAM is allowed: "unbounded" bandwidth for
  // comparisons with array-only models): DRAM bytes per cycle stay above 1e-5, so that the cycles of any
  // transfer tile32 allows (kernels/operator.h: 16 GiB) and a network's totals stay far inside 64 bits.
  CheckRate("clock_mhz", clock_mhz, 1, 1e5);
  CheckRate("dram_gb_per_s", dram_gb_per_s, 1e-3, 1e12);
  CheckRange("dram_latency_cycles", dram_latency_cycles, 0, 1u << 20);
}

std::string AccelConfig::Describe() const {
  std::ostringstream os;
  os << "  lanes " << kLanes << ", tile " << kLanes << "x" << kLanes << ", tile units " << tile_units << " @ "
     << clock_mhz << " MHz\n"
     << "  vector units " << vector_units << ", requantization units " << requant_units << "\n"
     << "  MACs/cycle/unit: int8 " << macs_per_cycle_int8 << ", int16 " << macs_per_cycle_int16 << ", bf16 "
     << macs_per_cycle_bf16 << "\n"
     << "  SRAM " << sram_bytes << " bytes in " << sram_banks << " banks x " << bank_bytes << " bytes\n"
     << "  registers: " << vector_regs << " vector, " << tile_regs << " tile, " << acc_rows << " ACC rows\n"
     << "  DRAM " << dram_gb_per_s << " GB/s (" << DramBytesPerCycle() << " B/cycle), latency "
     << dram_latency_cycles << " cycles\n"
     << "  overflow checking " << (check_overflow ? "on" : "off") << "\n";
  return os.str();
}

}  // namespace tile32

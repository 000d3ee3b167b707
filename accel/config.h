// The one accelerator configuration. Every machine (scalar reference, SIMD emulator, model machine) reads its
// sizes and rates from an AccelConfig; nothing else holds them. Presets and JSON files: accel/config_json.h.
// docs/isa.md §1 defines each field; AccelConfig::Default() models the reference chip (docs/isa.md §1.10).
#pragma once

#include <cstdint>
#include <string>

namespace tile32 {

// Lanes of a vector, rows and columns of a weight tile, lanes of an accumulator row. Fixed by the ISA.
inline constexpr int kLanes = 32;

struct AccelConfig {
  // On-chip SRAM: sram_bytes bytes in sram_banks banks, each bank_bytes wide (one word per bank per cycle).
  uint32_t sram_bytes = 8u << 20;
  uint32_t sram_banks = 32;
  uint32_t bank_bytes = 8;

  // Register files.
  uint32_t vector_regs = 32;  // V0..V31, 32 lanes of 32 bits
  uint32_t tile_regs = 16;    // T0..T15, 32x32 weights
  uint32_t acc_rows = 4096;   // ACC rows, 32 lanes of 32 bits (int32 or fp32)

  // Rates: tile units working in parallel, MACs per cycle per unit by precision, clock, DRAM.
  uint32_t tile_units = 4;
  // Vector units and requantization units working in parallel: the rows of an ACC-row instruction (ACC_ZERO,
  // ACC_LD, ACC_ST, AALU, RPERM) are shared over vector_units, the rows of a REQ over requant_units, as a
  // TMAC's rows are over the tile arrays. A chip that transforms and requantizes in each tile has one per tile.
  uint32_t vector_units = 1;
  uint32_t requant_units = 1;
  uint32_t macs_per_cycle_int8 = 1024;
  uint32_t macs_per_cycle_int16 = 1024;
  uint32_t macs_per_cycle_bf16 = 512;
  double clock_mhz = 933.0;
  double dram_gb_per_s = 17.0;  // one x32 LPDDR4-4266 channel
  uint32_t dram_latency_cycles = 100;

  // When set, integer MACs and vector arithmetic raise the sticky overflow flag (docs/isa.md §6).
  bool check_overflow = false;

  // The reference chip of docs/isa.md §1.10 (InferX X1 class). Same as a default-constructed AccelConfig.
  static AccelConfig Default() { return AccelConfig{}; }

  // Throws tile32::Error naming the first field out of range.
  void Validate() const;

  // Bank of an SRAM byte address and the word (row) within that bank (docs/isa.md §1.5).
  uint32_t BankOf(uint64_t addr) const { return static_cast<uint32_t>((addr / bank_bytes) % sram_banks); }
  uint64_t BankRowOf(uint64_t addr) const { return addr / (uint64_t{bank_bytes} * sram_banks); }

  double DramBytesPerCycle() const { return dram_gb_per_s * 1e3 / clock_mhz; }

  // Multi-line human-readable summary (used by `tile32 targets`).
  std::string Describe() const;
};

}  // namespace tile32

// Random tile32 programs for differential testing (tests/bitexact/differential_test.cc): for a small
// AccelConfig and a seed, initial SRAM and DRAM images and a program that exercises every instruction,
// every MAC and requant mode and every type, on random and extreme data:
//   - memory filled in chunks of one "flavor" each: random bytes, int8/uint8 extremes (-128, 127, 0, 255),
//     int16 extremes (-32768, 32767), int32 near the wrap boundary, small int32 (requant ties), bf16 of
//     moderate range, bf16 specials (NaN with payloads, +-Inf, -0, denormals, max finite), bf16 so small or
//     so large that products underflow or overflow, fp32 specials and values on bf16 rounding ties;
//   - TMAC with tiles > 1 (up to 16), zero, negative and overlapping strides; VST/ACC_ST/REQ with
//     overlapping strides; REQ in all four modes with per-lane parameters including shift -31 and 7,
//     multiplier 0 and 2^31-1, and accumulator values constructed to be exact rounding ties;
//   - DMA_IN/DMA_OUT between SRAM and two DRAM segments (one read-only);
//   - now and then an invalid instruction (flagged in `invalid`), which every machine must reject
//     with tile32::Error and no state change.
// The generator tracks the control state validation depends on (tile types, Q), so every instruction not
// flagged invalid is valid when executed in order on a machine reset and loaded with the images.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "accel/config.h"
#include "accel/isa.h"

namespace tile32::test {

// DRAM segments of a random case: a writable one and a read-only one.
inline constexpr uint32_t kDramRwSegment = 0;
inline constexpr uint32_t kDramRoSegment = 3;

struct RandomProgramOptions {
  int instructions = 60;          // program length (instructions, valid and invalid)
  double invalid_fraction = 0.04; // chance that an instruction is a deliberately invalid one
  // MACs, ACC_ZERO, ACC_LD and REQ often on the ACC rows of the one before, so that the SIMD machine's
  // deferred batches (seed, MACs, REQ) form and meet TLDs, stores and overlapping REQs.
  bool batches = false;
};

struct RandomProgram {
  std::vector<uint8_t> sram;     // initial SRAM image, config.sram_bytes
  std::vector<uint8_t> dram_rw;  // bind writable as kDramRwSegment
  std::vector<uint8_t> dram_ro;  // bind read-only as kDramRoSegment
  std::vector<Instr> program;
  std::vector<bool> invalid;     // invalid[i]: program[i] must throw tile32::Error
};

// A small configuration (a few KiB of SRAM, few registers and ACC rows) with random bank geometry, rates
// and check_overflow, so bank and overflow bookkeeping are compared too. tile_regs >= 16 unless small.
AccelConfig RandomSmallConfig(uint64_t seed);

// Program and images for `config` (which should be small: SRAM 16 KiB .. 1 MiB) from `seed`.
RandomProgram GenerateRandomProgram(const AccelConfig& config, uint64_t seed, const RandomProgramOptions& options = {});

// ---- building blocks, also used by the requant sweep and the extreme-value tests ----

// Fills [p, p + n) with chunks of random flavors (see above).
void FillMixed(std::mt19937_64& rng, uint8_t* p, size_t n);

// A random QuantConfig of `mode` that REQ accepts for output type `out`: per-tensor or per-lane
// multipliers/shifts/scales drawn from extreme and typical values, zero point and clamp at the ends of
// the output range or inside it.
QuantConfig RandomQuant(std::mt19937_64& rng, RequantMode mode, DType out);

// An accumulator value x at which lane `lane` of q meets an exact rounding tie (TFL_SINGLE: of the single
// rounding; TFL_DOUBLE: of SRDHM or of RDBPOT; FLOAT modes: the fp32 value rounded by rne is n + 0.5), or a
// random near-tie value when the parameters admit no tie.
int32_t RequantTie(std::mt19937_64& rng, const QuantConfig& q, int lane);

}  // namespace tile32::test

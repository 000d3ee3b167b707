// What the tile32 tool's commands share: naming a network or a configuration, and printing numbers.
#pragma once

#include <cstdint>
#include <string>

#include "accel/config.h"
#include "kernels/network.h"

namespace tile32 {

// 1234567 -> "1,234,567".
std::string Thousands(uint64_t v);
// A built-in network by name, or a CSV layer table read into *storage; an error naming both choices.
const Network& NetworkNamed(const std::string& what, Network* storage);
// A preset by name ("" = default) or a JSON file (file wins when given); validated.
AccelConfig ConfigNamed(const std::string& preset, const std::string& file);

}  // namespace tile32

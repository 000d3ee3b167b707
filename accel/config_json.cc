// accel/config_json.h with nlohmann-json (Debian's nlohmann-json3-dev).
#include "accel/config_json.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>
#include <sstream>

#include "accel/error.h"

namespace tile32 {
namespace {

using Json = nlohmann::ordered_json;

// Every field once: its JSON name and how to read and write it. The order is AccelConfig's.
struct Field {
  const char* name;
  uint32_t AccelConfig::*u32 = nullptr;
  double AccelConfig::*f64 = nullptr;
  bool AccelConfig::*flag = nullptr;
};
const Field kFields[] = {
    {"sram_bytes", &AccelConfig::sram_bytes},
    {"sram_banks", &AccelConfig::sram_banks},
    {"bank_bytes", &AccelConfig::bank_bytes},
    {"vector_regs", &AccelConfig::vector_regs},
    {"tile_regs", &AccelConfig::tile_regs},
    {"acc_rows", &AccelConfig::acc_rows},
    {"tile_units", &AccelConfig::tile_units},
    {"vector_units", &AccelConfig::vector_units},
    {"requant_units", &AccelConfig::requant_units},
    {"macs_per_cycle_int8", &AccelConfig::macs_per_cycle_int8},
    {"macs_per_cycle_int16", &AccelConfig::macs_per_cycle_int16},
    {"macs_per_cycle_bf16", &AccelConfig::macs_per_cycle_bf16},
    {"clock_mhz", nullptr, &AccelConfig::clock_mhz},
    {"dram_gb_per_s", nullptr, &AccelConfig::dram_gb_per_s},
    {"dram_latency_cycles", &AccelConfig::dram_latency_cycles},
    {"check_overflow", nullptr, nullptr, &AccelConfig::check_overflow},
};

}  // namespace

std::vector<std::string> AccelConfigPresetNames() { return {"default", "inferx-x1", "nvdla-2048"}; }

AccelConfig AccelConfigPreset(const std::string& name) {
  AccelConfig c;  // default: the reference chip of docs/isa.md §1.10
  if (name == "default") return c;
  if (name == "inferx-x1") {
    // Flex Logix InferX X1: 4 tiles of 1024 INT8 MACs (4096), BF16 at half rate (2048), 933 MHz, one x32
    // LPDDR4-4266 channel (17 GB/s), 8 MiB of its 8-13 MB SRAM. Each tile transforms (Winograd) and
    // requantizes its own data in its own logic, at the arrays' rate: a vector and a requantization unit per
    // tile, where the default has one of each.
    c.tile_units = 4, c.macs_per_cycle_int8 = 1024, c.macs_per_cycle_int16 = 1024, c.macs_per_cycle_bf16 = 512;
    c.vector_units = 4, c.requant_units = 4;
    c.clock_mhz = 933.0, c.dram_gb_per_s = 17.0, c.sram_bytes = 8u << 20;
    return c;
  }
  if (name == "nvdla-2048") {
    // NVIDIA NVDLA, large configuration (nv_full): 2048 INT8 MACs (two 32x32 units here), INT16 and FP16
    // (BF16 here) at half rate, 1 GHz, 20 GB/s of DRAM, a 512 KiB convolution buffer in 16 banks.
    c.tile_units = 2, c.macs_per_cycle_int8 = 1024, c.macs_per_cycle_int16 = 512, c.macs_per_cycle_bf16 = 512;
    c.clock_mhz = 1000.0, c.dram_gb_per_s = 20.0;
    c.sram_bytes = 512u << 10, c.sram_banks = 16, c.bank_bytes = 16;
    return c;
  }
  Fail("AccelConfig: no preset '", name, "' (presets: ", Joined(AccelConfigPresetNames()), ")");
}

std::string AccelConfigToJson(const AccelConfig& c) {
  Json j = Json::object();
  for (const Field& f : kFields) {
    if (f.u32 != nullptr) j[f.name] = c.*f.u32;
    if (f.f64 != nullptr) j[f.name] = c.*f.f64;
    if (f.flag != nullptr) j[f.name] = c.*f.flag;
  }
  return j.dump(2) + "\n";
}

AccelConfig AccelConfigFromJson(const std::string& text, const std::string& source) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 5: ...": keep what follows.
    std::string why = e.what();
    const size_t at = why.find("] ");
    Fail(source, ": not valid JSON: ", at == std::string::npos ? why : why.substr(at + 2));
  }
  if (!j.is_object()) Fail(source, ": expected one JSON object of AccelConfig fields, found ", j.type_name());
  AccelConfig c;
  bool from_preset = false;
  if (j.contains("preset")) {
    if (!j["preset"].is_string()) Fail(source, ": field 'preset' must be a string, found ", j["preset"].type_name());
    try {
      c = AccelConfigPreset(j["preset"].get<std::string>());
    } catch (const Error& e) {
      Fail(source, ": ", e.what());
    }
    from_preset = true;
  }
  for (const auto& item : j.items()) {
    if (item.key() == "preset") continue;
    bool known = false;
    for (const Field& f : kFields) known |= item.key() == f.name;
    if (!known) {
      std::vector<std::string> names{"preset"};
      for (const Field& f : kFields) names.push_back(f.name);
      Fail(source, ": unknown field '", item.key(), "' (fields: ", Joined(names), ")");
    }
  }
  for (const Field& f : kFields) {
    if (!j.contains(f.name)) {
      if (from_preset) continue;
      Fail(source, ": field '", f.name, "' is missing (give every field, or \"preset\": one of ",
           Joined(AccelConfigPresetNames()), " and the fields to change)");
    }
    const Json& v = j[f.name];
    if (f.u32 != nullptr) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
          v.get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
        Fail(source, ": field '", f.name, "' = ", v.dump(), " is not an integer in [0, 2^32)");
      }
      c.*f.u32 = v.get<uint32_t>();
    } else if (f.f64 != nullptr) {
      if (!v.is_number()) Fail(source, ": field '", f.name, "' = ", v.dump(), " is not a number");
      c.*f.f64 = v.get<double>();
    } else {
      if (!v.is_boolean()) Fail(source, ": field '", f.name, "' = ", v.dump(), " is not true or false");
      c.*f.flag = v.get<bool>();
    }
  }
  try {
    c.Validate();
  } catch (const Error& e) {
    Fail(source, ": ", e.what());
  }
  return c;
}

AccelConfig LoadAccelConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) Fail("AccelConfig: cannot open '", path, "'");
  std::ostringstream text;
  text << in.rdbuf();
  return AccelConfigFromJson(text.str(), path);
}

}  // namespace tile32

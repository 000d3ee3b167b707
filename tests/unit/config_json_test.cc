// AccelConfig as JSON (accel/config_json.h): presets, round trips, overrides of a preset, and a clear error
// naming the source and the field for every kind of bad file.
#include "accel/config_json.h"

#include <gtest/gtest.h>

#include <string>

#include "accel/error.h"

namespace tile32 {
namespace {

std::string ErrorOf(const std::string& json) {
  try {
    AccelConfigFromJson(json, "my.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigJson, PresetsHaveTheirPublishedRates) {
  const AccelConfig x1 = AccelConfigPreset("inferx-x1");
  EXPECT_EQ(x1.tile_units * x1.macs_per_cycle_int8, 4096u);
  EXPECT_EQ(x1.tile_units * x1.macs_per_cycle_bf16, 2048u);
  EXPECT_EQ(x1.clock_mhz, 933.0);
  EXPECT_EQ(x1.dram_gb_per_s, 17.0);  // one x32 LPDDR4-4266 channel
  const AccelConfig nv = AccelConfigPreset("nvdla-2048");
  EXPECT_EQ(nv.tile_units * nv.macs_per_cycle_int8, 2048u);
  EXPECT_EQ(nv.clock_mhz, 1000.0);
  EXPECT_EQ(nv.dram_gb_per_s, 20.0);
  EXPECT_EQ(AccelConfigToJson(AccelConfigPreset("default")), AccelConfigToJson(AccelConfig::Default()));
  for (const std::string& name : AccelConfigPresetNames()) EXPECT_NO_THROW(AccelConfigPreset(name).Validate()) << name;
}

TEST(ConfigJson, EveryPresetRoundTrips) {
  for (const std::string& name : AccelConfigPresetNames()) {
    const std::string json = AccelConfigToJson(AccelConfigPreset(name));
    EXPECT_EQ(AccelConfigToJson(AccelConfigFromJson(json, name)), json) << name;
  }
  AccelConfig odd;
  odd.clock_mhz = 812.5, odd.dram_gb_per_s = 12.8, odd.check_overflow = true, odd.acc_rows = 1000;
  EXPECT_EQ(AccelConfigToJson(AccelConfigFromJson(AccelConfigToJson(odd), "odd")), AccelConfigToJson(odd));
}

TEST(ConfigJson, APresetWithChanges) {
  const AccelConfig c = AccelConfigFromJson(R"({"preset": "nvdla-2048", "sram_bytes": 1048576, "clock_mhz": 1200})", "x");
  AccelConfig want = AccelConfigPreset("nvdla-2048");
  want.sram_bytes = 1048576, want.clock_mhz = 1200;
  EXPECT_EQ(AccelConfigToJson(c), AccelConfigToJson(want));
}

TEST(ConfigJson, BadFilesNameTheSourceAndTheField) {
  const struct {
    std::string json, expect;
  } cases[] = {
      {"{\"sram_bytes\": 8388608,\n \"sram_banks\": }", "my.json: not valid JSON: parse error at line 2, column 16"},
      {"[1, 2]", "my.json: expected one JSON object of AccelConfig fields, found array"},
      {R"({"preset": "default", "clock_mhx": 900})", "my.json: unknown field 'clock_mhx' (fields: preset, sram_bytes"},
      {R"({"sram_bytes": 8388608})", "my.json: field 'sram_banks' is missing (give every field, or \"preset\""},
      {R"({"preset": "default", "sram_banks": "32"})", "my.json: field 'sram_banks' = \"32\" is not an integer in [0, 2^32)"},
      {R"({"preset": "default", "sram_banks": -1})", "my.json: field 'sram_banks' = -1 is not an integer in [0, 2^32)"},
      {R"({"preset": "default", "tile_units": 2.5})", "my.json: field 'tile_units' = 2.5 is not an integer"},
      {R"({"preset": "default", "sram_bytes": 5000000000})", "field 'sram_bytes' = 5000000000 is not an integer in [0, 2^32)"},
      {R"({"preset": "default", "clock_mhz": "fast"})", "my.json: field 'clock_mhz' = \"fast\" is not a number"},
      {R"({"preset": "default", "check_overflow": 1})", "my.json: field 'check_overflow' = 1 is not true or false"},
      {R"({"preset": "default", "sram_banks": 0})", "my.json: AccelConfig: sram_banks = 0 is outside [1, 1024]"},
      {R"({"preset": "default", "clock_mhz": 0})", "my.json: AccelConfig: clock_mhz = 0 must be finite and > 0"},
      // Finite and positive, but absurd: the cycles of a transfer would leave 64 bits, the fps print as 300 digits.
      {R"({"preset": "default", "clock_mhz": 1e300})", "my.json: AccelConfig: clock_mhz = 1e+300 is outside [1, 100000]"},
      {R"({"preset": "default", "dram_gb_per_s": 1e-9})",
       "my.json: AccelConfig: dram_gb_per_s = 1e-09 is outside [0.001, 1e+12]"},
      {R"({"preset": "tpu"})", "my.json: AccelConfig: no preset 'tpu' (presets: default, inferx-x1, nvdla-2048)"},
      {R"({"preset": 3})", "my.json: field 'preset' must be a string, found number"},
  };
  for (const auto& c : cases) {
    const std::string e = ErrorOf(c.json);
    EXPECT_NE(e.find(c.expect), std::string::npos) << "got: '" << e << "'\nexpected: " << c.expect;
  }
}

TEST(ConfigJson, MissingFileIsAClearError) {
  try {
    LoadAccelConfig("no-such-folder/accel.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open 'no-such-folder/accel.json'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tile32

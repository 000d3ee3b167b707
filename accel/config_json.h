// AccelConfig as JSON, and the named presets (docs/isa.md §1.10). A configuration file is one JSON object:
// either every field of AccelConfig, or "preset": NAME and any fields to change from that preset. Unknown
// fields, fields of the wrong type, missing fields (without a preset) and values AccelConfig::Validate
// refuses are errors naming the file and the field.
//
//   {"preset": "nvdla-2048", "sram_bytes": 1048576}
#pragma once

#include <string>
#include <vector>

#include "accel/config.h"

namespace tile32 {

// "default", "inferx-x1", "nvdla-2048".
std::vector<std::string> AccelConfigPresetNames();
// The preset of that name; tile32::Error naming the presets otherwise.
AccelConfig AccelConfigPreset(const std::string& name);

// Every field, as one JSON object (2-space indent), in the order of AccelConfig; the result reads back
// to the same configuration.
std::string AccelConfigToJson(const AccelConfig& config);
// `source` names the text in errors ("my.json: field 'clock_mhz' ...").
AccelConfig AccelConfigFromJson(const std::string& text, const std::string& source);
AccelConfig LoadAccelConfig(const std::string& path);

}  // namespace tile32

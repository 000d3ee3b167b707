// tools/common.h.
#include "tools/common.h"

#include <fstream>

#include "accel/config_json.h"
#include "accel/error.h"

namespace tile32 {

std::string Thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

const Network& NetworkNamed(const std::string& what, Network* storage) {
  for (const std::string& name : BuiltinNetworkNames()) {
    if (name == what) return BuiltinNetwork(what);
  }
  if (!std::ifstream(what)) {
    Fail("'", what, "' is neither a built-in network (", Joined(BuiltinNetworkNames()),
         ") nor a readable CSV layer table");
  }
  *storage = ReadNetworkCsvFile(what);
  return *storage;
}

AccelConfig ConfigNamed(const std::string& preset, const std::string& file) {
  return file.empty() ? AccelConfigPreset(preset.empty() ? "default" : preset) : LoadAccelConfig(file);
}

}  // namespace tile32

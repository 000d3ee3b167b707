// The one error type of tile32. Every bad shape, stride, parameter, address or file is reported by
// throwing tile32::Error with a message that names what is wrong and the allowed range; a failed
// instruction leaves the machine exactly as it was (docs/isa.md §7).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tile32 {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Builds a message from streamable parts: Fail("TMAC: rows ", n, " exceeds ", m).
template <typename... Parts>
[[noreturn]] void Fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}

// "a, b, c": names listed in a message ("presets: default, inferx-x1, nvdla-2048").
inline std::string Joined(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

}  // namespace tile32

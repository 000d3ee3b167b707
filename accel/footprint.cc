// accel/footprint.h: the per-instruction footprints are inline there; here the dispatch over Instr.
#include "accel/footprint.h"

#include <variant>

namespace tile32 {

const char* NameOf(Unit u) {
  switch (u) {
    case Unit::kDma: return "DMA";
    case Unit::kTile: return "tile";
    case Unit::kVector: return "vector";
    case Unit::kRequant: return "requant";
  }
  return "invalid";
}

void FootprintOf(const Instr& instr, Footprint* out) {
  std::visit([out](const auto& i) { FootprintOf(i, out); }, instr);
}

Footprint FootprintOf(const Instr& instr) {
  Footprint f;
  FootprintOf(instr, &f);
  return f;
}

}  // namespace tile32

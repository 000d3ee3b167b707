#include "kernels/patch_gather.h"

#include <algorithm>

namespace tile32 {

void GatherPatches(Machine& m, const PatchSource& s, int64_t m0, uint32_t rows, int k0, int cols, uint32_t sram,
                   uint32_t stride) {
  auto issue = [&m](const DmaIn& in) { m.Execute(in); };
  GatherPatchesWith(issue, s, m0, rows, k0, cols, sram, stride);
}

}  // namespace tile32

// A run of like DMAs for the loops that are templates on their issuer (kernels/patch_gather.h,
// kernels/input_band.h): the kernels execute them one by one, the analytic model (kernels/analytic_conv.h)
// works a run out in closed form. Internal to kernels/.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "accel/isa.h"

namespace tile32 {

namespace dma_run_detail {
template <class Issue, class = void>
struct HasRun : std::false_type {};
template <class Issue>
struct HasRun<Issue, std::void_t<decltype(std::declval<Issue&>().Run(std::declval<const DmaIn&>(), uint32_t{},
                                                                     uint32_t{}, uint64_t{}))>> : std::true_type {};
}  // namespace dma_run_detail

// `count` DMAs: `first`, then each `sram_step` and `dram_step` bytes on from the one before (the issuer's own
// Run when it has one, else one `issue(dma)` each, in that order).
template <class Issue>
void IssueRun(Issue& issue, DmaIn first, uint32_t count, uint32_t sram_step, uint64_t dram_step) {
  if constexpr (dma_run_detail::HasRun<Issue>::value) {
    if (count > 0) issue.Run(first, count, sram_step, dram_step);
  } else {
    for (uint32_t i = 0; i < count; ++i, first.sram += sram_step, first.dram += dram_step) issue(first);
  }
}

}  // namespace tile32

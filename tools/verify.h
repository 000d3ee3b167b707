// `tile32 report NET --verify`: a sample of every distinct layer of a network run by the real kernels on the
// scalar reference machine and on the SIMD machine with random data, compared bit for bit, with host GMAC/s.
#pragma once

#include "kernels/network.h"
#include "kernels/network_run.h"

namespace tile32 {

// Each layer shape once, cut to at most 4 output rows (all of its width and channels): prints a line per
// sample and returns whether every one was bit-exact.
// `choices` (one per layer, or null) as RunNetwork takes them: the plan the report showed.
bool VerifySamples(const Network& net, Precision precision, const std::vector<LayerChoice>* choices = nullptr);

// The layer cut to at most `rows` output rows (a convolution's input height shortened to what they read;
// fully connected layers whole).
Layer SampleOf(const Layer& layer, int rows);

}  // namespace tile32

// kernels/planner.h.
#include "kernels/planner.h"

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "accel/error.h"
#include "accel/model_machine.h"

namespace tile32 {
namespace {

struct Candidate {
  LayerChoice choice;
  uint64_t cycles = 0;
  LayerRun run;
};

// The candidates that can run the layer, each timed on `model` (same shapes timed once: `memo`).
class Timer {
 public:
  Timer(const AccelConfig& config, const RunOptions& options, const PlanLimits& limits)
      : model_(config), options_(options), limits_(limits) {
    options_.progress = nullptr, options_.output = nullptr, options_.seed = 0;
  }
  const PlanLimits& limits() const { return limits_; }
  // The layer's run with `choice`, or false when the choice cannot run it (why: Refusals).
  bool Time(const Layer& l, const LayerChoice& choice, LayerRun* run) {
    const std::string key = l.ShapeKey() + "|" + choice.Describe();
    auto known = memo_.find(key);
    if (known == memo_.end()) {
      Timed t;
      try {
        t.run = RunLayer(model_, l, options_, choice);
        t.ok = true;
      } catch (const Error& e) {
        t.why = e.what();  // PackConv refuses this algorithm or layout for the layer, or the layer is too large
      }
      known = memo_.emplace(key, std::move(t)).first;
    }
    const Timed& t = known->second;
    if (!t.ok) {
      // LayerChoice names convolution choices; the one kernel of an fc layer and a shuffle's routes by name.
      const bool routes = l.kind == LayerKind::kShuffle && choice.shuffle == ShuffleAlgorithm::kRoutes && !choice.shuffle_folded;
      refusals_.emplace_back(l.kind == LayerKind::kFc ? "gemm" : routes ? "shuffle routes" : choice.Describe(), t.why);
      *run = LayerRun{};
      return false;
    }
    *run = t.run;
    run->layer = &l;
    return true;
  }
  // Why the choices tried since the last call were refused, a line per reason (the choices refused for the same
  // one on its line); and forgets them.
  std::string Refusals() {
    std::vector<std::pair<std::string, std::string>> lines;  // reason, choices
    for (const auto& [choice, why] : refusals_) {
      auto same = std::find_if(lines.begin(), lines.end(), [&](const auto& line) { return line.first == why; });
      if (same == lines.end()) {
        lines.emplace_back(why, choice);
      } else {
        same->second += ", " + choice;
      }
    }
    refusals_.clear();
    std::string out;
    for (const auto& [why, choices] : lines) out += "\n  " + choices + ": " + why;
    return out;
  }

 private:
  struct Timed {
    bool ok = false;
    LayerRun run;
    std::string why;
  };
  ModelMachine model_;
  RunOptions options_;
  PlanLimits limits_;
  std::map<std::string, Timed> memo_;
  std::vector<std::pair<std::string, std::string>> refusals_;  // choice, why
};

// Every algorithm and layout PackConv accepts for a convolution (with the shuffle fold given, if any).
std::vector<Candidate> ConvCandidates(Timer& timer, const Layer& l, const LayerChoice& base) {
  std::vector<LayerChoice> tries;
  for (ConvAlgorithm a : {ConvAlgorithm::kDepthwise, ConvAlgorithm::kWinograd}) {
    if (a == ConvAlgorithm::kWinograd && !timer.limits().winograd) continue;
    LayerChoice c = base;
    c.algorithm = a;
    tries.push_back(c);
  }
  for (ConvLayout layout : {ConvLayout::kTapMajor, ConvLayout::kFolded}) {
    LayerChoice c = base;
    c.algorithm = ConvAlgorithm::kDirect, c.layout = layout;
    tries.push_back(c);
  }
  std::vector<Candidate> out;
  for (const LayerChoice& c : tries) {
    Candidate k{c, 0, {}};
    if (timer.Time(l, c, &k.run)) k.cycles = k.run.timing.cycles, out.push_back(k);
  }
  return out;
}

// The fastest candidate, and the next as the runner-up (ties: the earlier in the list).
LayerPlan PlanOf(std::vector<Candidate> candidates) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.cycles < b.cycles; });
  LayerPlan p;
  if (candidates.empty()) return p;
  p.choice = candidates[0].choice, p.cycles = candidates[0].cycles, p.run = candidates[0].run;
  if (candidates.size() > 1) {
    p.has_runner_up = true, p.runner_up = candidates[1].choice, p.runner_up_cycles = candidates[1].cycles;
  }
  return p;
}

// Whether a shuffle can be folded into layer `next`: a convolution of one group reading half or all of the
// shuffled channels, in an integer precision (the fold reorders the reduction, which BF16's chain would show).
bool FoldTarget(const Layer& shuffle, const Layer& next, Precision precision) {
  return next.kind == LayerKind::kConv && next.groups == 1 && precision != Precision::kBF16 &&
         next.in_h == shuffle.in_h && next.in_w == shuffle.in_w && next.in_c <= shuffle.in_c;
}

uint64_t OutputBytes(const Layer& l, const RunOptions& o) {
  const uint64_t element = o.precision == Precision::kInt8 ? 1 : 2;
  return element * uint64_t(o.batch) * uint64_t(l.OutH()) * uint64_t(l.OutW()) * uint64_t(l.out_c);
}

bool Fits(uint64_t input, uint64_t output, const AccelConfig& config) {
  return input + output <= config.sram_bytes / 2;
}

bool Reads(const Layer& l, const Layer& next) {
  return l.kind != LayerKind::kShuffle && next.kind != LayerKind::kShuffle && next.in_h == l.OutH() &&
         next.in_w == l.OutW() && next.in_c == l.out_c;
}

// Which outputs stay in SRAM for the next layer: the fewest cycles over the whole chain (dynamic
// programming over whether each layer's input is kept), each layer's choice timed with its input and output
// kept or not, where they fit. A kernel with less SRAM can lose more than the DMAs save, so keeping is not
// always better. The runner-ups are timed again the way their layer runs.
void KeepOutputsInSram(const Network& net, const AccelConfig& config, const RunOptions& options, Timer& timer,
                       std::vector<LayerPlan>* plan) {
  std::vector<LayerPlan>& p = *plan;
  const size_t n = p.size();
  constexpr uint64_t kNone = ~uint64_t{0};
  struct State {
    uint64_t total = kNone;  // cycles of layers 0..i
    bool input_kept = false;  // of layer i, on the way to this state
    uint64_t cycles = 0;      // layer i's
    LayerRun run;
  };
  std::vector<std::array<State, 2>> best(n);  // [layer][its output kept]
  for (size_t i = 0; i < n; ++i) {
    const Layer& l = net.layers[i];
    const bool can_keep = i + 1 < n && Reads(l, net.layers[i + 1]) && !p[i].choice.shuffle_folded;
    for (int out = 0; out < (can_keep ? 2 : 1); ++out) {
      for (int in = 0; in < 2; ++in) {
        const uint64_t before = i == 0 ? (in ? kNone : 0) : best[i - 1][in].total;
        if (before == kNone) continue;
        const uint64_t in_bytes = in ? OutputBytes(net.layers[i - 1], options) : 0;
        if (!Fits(in_bytes, out ? OutputBytes(l, options) : 0, config)) continue;
        LayerChoice c = p[i].choice;
        c.input_in_sram = in, c.output_in_sram = out;
        LayerRun run;
        if (!in && !out) {
          run = p[i].run;
        } else if (!timer.Time(l, c, &run)) {
          continue;
        }
        const uint64_t total = before + run.timing.cycles;
        if (total < best[i][out].total) best[i][out] = State{total, bool(in), run.timing.cycles, run};
      }
    }
  }
  int out = n > 0 && best[n - 1][1].total < best[n - 1][0].total ? 1 : 0;
  for (size_t i = n; i-- > 0;) {
    const State& st = best[i][out];
    LayerPlan& lp = p[i];
    if (st.input_kept || out) {
      lp.choice.input_in_sram = st.input_kept, lp.choice.output_in_sram = out;
      lp.run = st.run, lp.cycles = st.cycles;
    }
    out = st.input_kept;
  }
  // A convolution with a tensor kept may run best by another algorithm or layout: its candidates again.
  for (size_t i = 0; i < n; ++i) {
    LayerPlan& lp = p[i];
    if (net.layers[i].kind != LayerKind::kConv || !(lp.choice.input_in_sram || lp.choice.output_in_sram)) continue;
    LayerChoice base;
    base.input_shuffle_groups = lp.choice.input_shuffle_groups;
    base.input_shuffle_channels = lp.choice.input_shuffle_channels;
    base.input_in_sram = lp.choice.input_in_sram, base.output_in_sram = lp.choice.output_in_sram;
    const LayerPlan again = PlanOf(ConvCandidates(timer, net.layers[i], base));
    if (again.cycles > 0 && again.cycles < lp.cycles) {
      lp = again;
    } else if (again.has_runner_up) {
      // The runner-up among the others, timed as this layer runs.
      const bool first_is_ours = again.choice.Describe() == lp.choice.Describe();
      lp.has_runner_up = true;
      lp.runner_up = first_is_ours ? again.runner_up : again.choice;
      lp.runner_up_cycles = first_is_ours ? again.runner_up_cycles : again.cycles;
    }
  }
}

}  // namespace

std::vector<LayerChoice> KeptWhereTheyFit(const Network& net, const AccelConfig& config, const RunOptions& options,
                                          std::vector<LayerChoice> choices) {
  if (choices.size() != net.layers.size()) {
    Fail("KeptWhereTheyFit: ", choices.size(), " choices for the ", net.layers.size(), " layers of ", net.name);
  }
  uint64_t input = 0;  // bytes of the layer's input kept by the layer before
  for (size_t i = 0; i < choices.size(); ++i) {
    LayerChoice& c = choices[i];
    c.input_in_sram = input > 0;
    const uint64_t output = OutputBytes(net.layers[i], options);
    c.output_in_sram = c.output_in_sram && i + 1 < choices.size() && Fits(input, output, config);
    input = c.output_in_sram ? output : 0;
  }
  return choices;
}

std::vector<LayerPlan> PlanNetwork(const Network& net, const AccelConfig& config, const RunOptions& options,
                                   const PlanLimits& limits) {
  Timer timer(config, options, limits);
  std::vector<LayerPlan> plan(net.layers.size());
  for (size_t i = 0; i < net.layers.size(); ++i) {
    if (options.progress) options.progress(i, net.layers.size());
    const Layer& l = net.layers[i];
    timer.Refusals();  // forgets the refusals of the layers before
    // A layer no kernel runs (too large for the host, or for the accelerator's SRAM): every refusal named.
    auto runs = [&](const LayerPlan& p) {
      if (p.run.layer == nullptr) Fail("PlanNetwork: ", net.name, ": layer '", l.name, "': no kernel runs it:", timer.Refusals());
    };
    if (l.kind == LayerKind::kFc) {
      timer.Time(l, LayerChoice{}, &plan[i].run);
      runs(plan[i]);
      plan[i].cycles = plan[i].run.timing.cycles;
      continue;
    }
    if (l.kind == LayerKind::kConv) {
      if (plan[i].choice.input_shuffle_groups > 1) continue;  // planned with the shuffle before it
      plan[i] = PlanOf(ConvCandidates(timer, l, LayerChoice{}));
      runs(plan[i]);
      continue;
    }
    // A shuffle: by routes through the muxes or by the permutation GEMM on the arrays (integer types), or
    // folded into the next layer when that costs less than the faster of the two.
    std::vector<Candidate> kernels;
    for (ShuffleAlgorithm a : {ShuffleAlgorithm::kRoutes, ShuffleAlgorithm::kPermutation}) {
      Candidate k{LayerChoice{}, 0, {}};
      k.choice.shuffle = a;
      if (timer.Time(l, k.choice, &k.run)) k.cycles = k.run.timing.cycles, kernels.push_back(k);
    }
    plan[i] = PlanOf(kernels);
    runs(plan[i]);
    const uint64_t kernel = plan[i].cycles;
    if (i + 1 >= net.layers.size() || !FoldTarget(l, net.layers[i + 1], options.precision)) continue;
    const Layer& next = net.layers[i + 1];
    const LayerPlan alone = PlanOf(ConvCandidates(timer, next, LayerChoice{}));
    LayerChoice fold;
    fold.input_shuffle_groups = l.groups, fold.input_shuffle_channels = l.in_c;
    const LayerPlan folded = PlanOf(ConvCandidates(timer, next, fold));
    if (folded.cycles == 0) continue;
    plan[i].fold_cost = int64_t(folded.cycles) - int64_t(alone.cycles);
    if (folded.cycles < kernel + alone.cycles) {
      plan[i].runner_up = plan[i].choice, plan[i].runner_up_cycles = kernel;  // the faster kernel
      plan[i].has_runner_up = true;
      plan[i].choice = LayerChoice{}, plan[i].choice.shuffle_folded = true, plan[i].cycles = 0;
      timer.Time(l, plan[i].choice, &plan[i].run);
      plan[i + 1] = folded;
      // The next layer's runner-up: the best of the others unfolded, or its own runner-up folded.
      if (alone.run.layer != nullptr && (!folded.has_runner_up || alone.cycles < folded.runner_up_cycles)) {
        plan[i + 1].has_runner_up = true, plan[i + 1].runner_up = alone.choice, plan[i + 1].runner_up_cycles = alone.cycles;
      }
    } else {
      plan[i].has_runner_up = true, plan[i].runner_up = LayerChoice{}, plan[i].runner_up.shuffle_folded = true;
      plan[i].runner_up_cycles = 0;
      plan[i + 1] = alone;
    }
  }
  KeepOutputsInSram(net, config, options, timer, &plan);
  return plan;
}

std::vector<LayerChoice> ChoicesOf(const std::vector<LayerPlan>& plan) {
  std::vector<LayerChoice> out;
  for (const LayerPlan& p : plan) out.push_back(p.choice);
  return out;
}

std::vector<LayerRun> RunsOf(const std::vector<LayerPlan>& plan) {
  std::vector<LayerRun> out;
  for (const LayerPlan& p : plan) out.push_back(p.run);
  return out;
}

}  // namespace tile32

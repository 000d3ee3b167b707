#include "kernels/middle_end.h"

#include <algorithm>

#include "accel/error.h"

namespace tile32 {
namespace {

// The all-ones int8 tile image: a TMAC against it puts sum_k A[k] in every lane of its row.
struct OnesTile {
  uint8_t bytes[kLanes * kLanes];
  OnesTile() {
    for (auto& b : bytes) b = 1;
  }
};
const OnesTile kOnesTile;

void DmaInOne(Machine& m, uint32_t sram, uint32_t seg, uint64_t dram, uint32_t bytes) {
  DmaIn d;
  d.sram = sram, d.segment = seg, d.dram = dram, d.rows = 1, d.row_bytes = bytes;
  m.Execute(d);
}

}  // namespace

// ---- SramPlan ----

uint32_t SramPlan::Take(const char* what, uint64_t bytes) {
  const uint64_t at = Align64(used_);
  if (at + bytes > size_) {
    Fail(fn_, ": accelerator configuration too small: ", bytes, " bytes of SRAM for ", what, ", only ",
         at >= size_ ? 0 : size_ - at, " of sram_bytes = ", size_, " are left");
  }
  used_ = at + bytes;
  return static_cast<uint32_t>(at);
}

uint64_t SramPlan::left() const {
  const uint64_t at = Align64(used_);
  return at >= size_ ? 0 : size_ - at;
}

// ---- WeightTiles ----

namespace {
// A window holds at least this many column blocks' tiles (and a TMAC chunk): the DMA engines run in order, so
// the next window's DMA, issued after the first TMAC of the current one, should come with the stores of the
// blocks before it, not hold them up for long (a block's store frees the staging two blocks on). Two, not one:
// with one, YOLOv3-416's last 1x1 layer (256 KiB of weights) cost 2 % more at batch 1 than the line through
// batches 2 and 3 gives, which the report's batch sweep assumes.
constexpr int64_t kWindowBlocks = 2;
// And at most this many windows per pass: each DMA pays the latency again (ResNet-50's 1x1 layer4.0.conv3, 16
// tiles per block: 68,558 against 72,443 cycles with a window per block, nvdla-2048).
constexpr int64_t kMostWindows = 16;
}  // namespace

uint64_t WeightTiles::SramBytes(const PackedWeights& w, bool resident, int max_chunk, bool ones) {
  return SramBytes(w.bytes.size(), w.tile_bytes(), resident, max_chunk, ones);
}

uint64_t WeightTiles::SramBytes(uint64_t image_bytes, uint64_t tile_bytes, bool resident, int max_chunk, bool ones) {
  const uint64_t images = resident ? image_bytes : tile_bytes * uint64_t(max_chunk);
  return Align64(images) + (ones ? sizeof(kOnesTile.bytes) : 0);
}

int64_t WeightTiles::WindowTiles(int64_t total_tiles, int k_tiles, uint64_t tile_bytes, bool resident, int max_chunk,
                                 bool ones, uint64_t budget, bool split_resident) {
  int64_t window = std::max<int64_t>({max_chunk, k_tiles * kWindowBlocks, (total_tiles + kMostWindows - 1) / kMostWindows});
  if (resident) return split_resident ? window : total_tiles;
  // Two slots from the budget, less the ones tile and the rounding of two regions.
  const uint64_t spare = ones ? sizeof(kOnesTile.bytes) + 128 : 128;
  const int64_t fit = budget > spare ? static_cast<int64_t>((budget - spare) / 2 / tile_bytes) : 0;
  window = std::min(window, fit);
  return window >= max_chunk ? window : 0;
}

WeightTiles::WeightTiles(Machine& m, DramBindings& dram, SramPlan& plan, const PackedWeights& w, bool resident,
                         int max_chunk, bool ones, uint64_t budget, bool split_resident)
    : m_(m), w_(w), resident_(resident) {
  seg_ = dram.BindReadOnly(w.bytes);
  const uint64_t tile_bytes = w.tile_bytes();
  total_tiles_ = static_cast<int64_t>(w.bytes.size() / tile_bytes);
  window_ = WindowTiles(total_tiles_, w.k_tiles, tile_bytes, resident, max_chunk, ones, budget, split_resident);
  if (resident) {
    addr_ = plan.Take("the packed weights", w.bytes.size());
  } else if (window_ > 0) {
    addr_ = plan.Take("two windows of weight tiles", 2 * Align64(tile_bytes * uint64_t(window_)));
  } else {
    addr_ = plan.Take("a chunk of weight tiles", tile_bytes * uint64_t(max_chunk));
  }
  if (window_ > 0) windows_ = (total_tiles_ + window_ - 1) / window_;
  if (resident) fetched_.assign(size_t(windows_), 0);
  if (resident && windows_ == 1) Fetch(0, 0);  // all at once, first, as the loops expect of resident weights
  if (ones) {
    ones_addr_ = plan.Take("the all-ones tile", sizeof(kOnesTile.bytes));
    DmaInOne(m, ones_addr_, dram.BindReadOnly(kOnesTile.bytes, sizeof(kOnesTile.bytes)), 0, sizeof(kOnesTile.bytes));
  }
}

uint32_t WeightTiles::SlotAddress(int slot) const {
  const uint64_t tile_bytes = w_.tile_bytes();
  return addr_ + static_cast<uint32_t>(resident_ ? tile_bytes * window_ * slot : Align64(tile_bytes * window_) * slot);
}

int WeightTiles::Find(int64_t win) const {
  if (resident_) return fetched_[size_t(win)] ? static_cast<int>(win) : -1;
  return slot_window_[0] == win ? 0 : slot_window_[1] == win ? 1 : -1;
}

void WeightTiles::Fetch(int64_t win, int slot) {
  const int64_t first = win * window_, tiles = std::min(window_, total_tiles_ - first);
  DmaInOne(m_, SlotAddress(slot), seg_, uint64_t(first) * w_.tile_bytes(),
           static_cast<uint32_t>(uint64_t(tiles) * w_.tile_bytes()));
  if (resident_) {
    fetched_[size_t(win)] = 1;
  } else {
    slot_window_[slot] = win;
    if (slot == cur_slot_) cur_lo_ = cur_hi_ = 0;  // the window the fast path of Load reads is gone
  }
}

void WeightTiles::Load(int kt0, int tiles, int nt) {
  if (loaded_kt0_ == kt0 && loaded_nt_ == nt && loaded_tiles_ >= tiles) return;
  const uint32_t tile_bytes = static_cast<uint32_t>(w_.tile_bytes());
  auto tile_load = [&](int t, uint32_t addr) {
    TileLoad tl;
    tl.td = static_cast<uint8_t>(t), tl.type = w_.dtype, tl.addr = addr;
    m_.Execute(tl);
  };
  if (window_ == 0) {
    DmaInOne(m_, addr_, seg_, w_.TileOffset(kt0, nt), tile_bytes * tiles);
    for (int t = 0; t < tiles; ++t) tile_load(t, addr_ + tile_bytes * t);
  } else if (const int64_t first = int64_t{nt} * w_.k_tiles + kt0; first >= cur_lo_ && first + tiles <= cur_hi_) {
    // Inside the window the last Load ended in (most chunks): no look-ups, as the SIMD machine's few ns per
    // instruction would show them.
    const uint32_t at = cur_at_ + tile_bytes * static_cast<uint32_t>(first - cur_lo_);
    for (int t = 0; t < tiles; ++t) tile_load(t, at + tile_bytes * t);
  } else {
    // tiles <= max_chunk <= window_: at most two windows, consecutive, so in different slots.
    const int64_t w0 = first / window_, w1 = (first + tiles - 1) / window_;
    const auto [s0, s1] = WindowSlots(
        w0, w1, resident_, cur_slot_, [this](int64_t w) { return Find(w); },
        [this](int64_t w, int slot) { Fetch(w, slot); });
    // Tiles t < split lie in window w0, the rest in w1 (no division per tile: the SIMD machine's time per
    // instruction is a few ns).
    const int split = static_cast<int>(std::min<int64_t>(tiles, (w0 + 1) * window_ - first));
    const uint32_t at0 = SlotAddress(s0) + tile_bytes * static_cast<uint32_t>(first - w0 * window_);
    const uint32_t at1 = SlotAddress(s1);
    for (int t = 0; t < tiles; ++t) tile_load(t, t < split ? at0 + tile_bytes * t : at1 + tile_bytes * (t - split));
    cur_slot_ = s1, cur_window_ = w1;
    cur_lo_ = w1 * window_, cur_hi_ = std::min(cur_lo_ + window_, total_tiles_), cur_at_ = at1;
  }
  loaded_kt0_ = kt0, loaded_nt_ = nt, loaded_tiles_ = tiles;
}

void WeightTiles::Prefetch(bool wrap) {
  if (window_ == 0 || cur_window_ < 0) return;
  int64_t next = cur_window_ + 1;
  if (next == windows_) {
    if (!wrap || resident_) return;
    next = 0;
  }
  if (Find(next) < 0) Fetch(next, SlotFor(next, resident_, cur_slot_));
}

void WeightTiles::LoadOnes(int tiles) {
  for (int t = 0; t < tiles; ++t) {
    TileLoad tl;
    tl.td = static_cast<uint8_t>(t), tl.type = DType::kI8, tl.addr = ones_addr_;
    m_.Execute(tl);
  }
  loaded_kt0_ = -1, loaded_nt_ = -1, loaded_tiles_ = 0;
}

void IssueTmac(Machine& m, MacMode mode, uint32_t acc_row, uint32_t rows, uint32_t a_addr, int32_t a_stride,
               int tiles) {
  TileMac mac;
  mac.mode = mode, mac.acc_row = acc_row, mac.rows = rows, mac.a_addr = a_addr, mac.a_stride = a_stride;
  mac.tile = 0, mac.tiles = static_cast<uint8_t>(tiles);
  m.Execute(mac);
}

// ---- Epilogue ----

bool Epilogue::Resident(const AccelConfig& config, const EpilogueArgs& args) {
  return args.resident && uint64_t{4} * kLanes * args.blocks <= config.sram_bytes / 64;
}

uint64_t Epilogue::SramBytes(const AccelConfig& config, const EpilogueArgs& args) {
  const uint64_t bytes = Align64(uint64_t{4} * kLanes * (Resident(config, args) ? uint64_t(args.blocks) : 1));
  return (args.bias != nullptr ? bytes : 0) + (args.row_sum_scale != nullptr ? bytes : 0);
}

Epilogue::Epilogue(Machine& m, DramBindings& dram, SramPlan& plan, const EpilogueArgs& args)
    : m_(m), a_(args), requant_(IsRequantOutput(args.out)), resident_(Resident(m.config(), args)) {
  row_bytes_ = static_cast<uint32_t>(kLanes * SizeOf(args.out));
  const uint64_t words = uint64_t{4} * kLanes * args.blocks;
  const uint32_t held = static_cast<uint32_t>(resident_ ? words : 4 * kLanes);
  if (args.bias != nullptr) {
    seg_bias_ = dram.BindReadOnly(args.bias, words);
    bias_addr_ = plan.Take("the bias row", held);
    if (resident_) DmaInOne(m_, bias_addr_, seg_bias_, 0, held);
  }
  if (args.row_sum_scale != nullptr) {
    seg_scale_ = dram.BindReadOnly(args.row_sum_scale, words);
    scale_addr_ = plan.Take("the row-sum factors", held);
    if (resident_) DmaInOne(m_, scale_addr_, seg_scale_, 0, held);
  }
}

uint32_t Epilogue::LoadBias(int b) {
  if (resident_) return bias_addr_ + uint32_t{4} * kLanes * static_cast<uint32_t>(b);
  if (loaded_bias_ != b) DmaInOne(m_, bias_addr_, seg_bias_, uint64_t{4} * kLanes * b, 4 * kLanes);
  loaded_bias_ = b;
  return bias_addr_;
}

void Epilogue::Seed(uint32_t acc_row, uint32_t rows, int b) {
  if (a_.bias == nullptr) {
    AccZero z;
    z.row = acc_row, z.rows = rows;
    m_.Execute(z);
    return;
  }
  AccLoad ld;
  ld.row = acc_row, ld.rows = rows, ld.addr = LoadBias(b), ld.row_stride = 0;
  m_.Execute(ld);
}

void Epilogue::SeedWithRowSums(uint32_t acc_row, uint32_t rows, int b, uint32_t sums_row, uint32_t spare_rows) {
  uint32_t scale_at = scale_addr_;
  if (resident_) {
    scale_at += uint32_t{4} * kLanes * static_cast<uint32_t>(b);
  } else {
    DmaInOne(m_, scale_addr_, seg_scale_, uint64_t{4} * kLanes * b, 4 * kLanes);
  }
  AccLoad scale;
  scale.row = spare_rows, scale.rows = 1, scale.addr = scale_at;
  m_.Execute(scale);
  AccAlu mul;
  mul.op = AluOp::kMul, mul.rows = rows, mul.dst = acc_row, mul.a = sums_row, mul.b = spare_rows, mul.b_stride = 0;
  m_.Execute(mul);
  if (a_.bias == nullptr) return;
  AccLoad bias;
  bias.row = spare_rows + 1, bias.rows = 1, bias.addr = LoadBias(b);
  m_.Execute(bias);
  AccAlu add;
  add.op = AluOp::kAdd, add.rows = rows, add.dst = acc_row, add.a = acc_row, add.b = spare_rows + 1, add.b_stride = 0;
  m_.Execute(add);
}

void Epilogue::Convert(uint32_t acc_row, uint32_t rows, int n0, int end, uint32_t sram, int32_t stride) {
  n0 += a_.channel_offset, end += a_.channel_offset;
  if (!requant_) {
    AccStore st;
    st.row = acc_row, st.rows = rows, st.type = a_.out, st.addr = sram, st.row_stride = stride;
    m_.Execute(st);
    return;
  }
  // Per tensor every lane takes entry 0 and one QCFG serves every block.
  const int64_t key = a_.quant->per_channel ? (int64_t{n0} << 32) + end : -2;
  if (key != quant_key_) {
    m_.Execute(SetQuant{a_.quant->per_channel ? LaneQuant(*a_.quant, n0, end) : LaneQuant(*a_.quant, 0, kLanes)});
    quant_key_ = key;
  }
  Requant rq;
  rq.acc_row = acc_row, rq.rows = rows, rq.out = a_.out, rq.addr = sram, rq.row_stride = stride;
  m_.Execute(rq);
}

}  // namespace tile32

#include "drn.h"

#include "error.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <iterator>

namespace gearnn {

// One stage of a DRN variant, in fyu/drn's terms. `convs`: `count` times
// conv, BN, ReLU (state-dict children 3i and 3i+1; the stem is such a stage
// with a 7x7 kernel). `blocks`: `count` BasicBlocks of two 3x3 convs, each
// padded by its dilation; the first block takes the stride, a downsample
// branch where the shape changes and, on a new level, half the dilation in
// its first conv. `residual` false drops the skip connection (arch C's last
// two stages).
struct DrnStage {
  enum Kind { convs, blocks } kind;
  const char* prefix;
  int level;  // channels: kChannels[level] x width
  int count;
  int stride, dilation;
  int kernel = 3, padding = 0;  // convs only
  bool residual = true, new_level = false;  // blocks only
};

namespace {

// {kind, prefix, level, count, stride, dilation, kernel, padding, residual, new_level}
constexpr DrnStage kDrnC26[] = {
    {DrnStage::convs, "base", 0, 1, 1, 1, 7, 3},
    {DrnStage::blocks, "base.3", 0, 1, 1, 1, 3, 0, true, true},
    {DrnStage::blocks, "base.4", 1, 1, 2, 1, 3, 0, true, true},
    {DrnStage::blocks, "base.5", 2, 2, 2, 1, 3, 0, true, true},
    {DrnStage::blocks, "base.6", 3, 2, 2, 1, 3, 0, true, true},
    {DrnStage::blocks, "base.7", 4, 2, 1, 2, 3, 0, true, false},
    {DrnStage::blocks, "base.8", 5, 2, 1, 4, 3, 0, true, false},
    {DrnStage::blocks, "base.9", 6, 1, 1, 2, 3, 0, false, false},
    {DrnStage::blocks, "base.10", 7, 1, 1, 1, 3, 0, false, false},
};

constexpr DrnStage kDrnD22[] = {
    {DrnStage::convs, "base.0", 0, 1, 1, 1, 7, 3},
    {DrnStage::convs, "base.1", 0, 1, 1, 1, 3, 1},
    {DrnStage::convs, "base.2", 1, 1, 2, 1, 3, 1},
    {DrnStage::blocks, "base.3", 2, 2, 2, 1, 3, 0, true, true},
    {DrnStage::blocks, "base.4", 3, 2, 2, 1, 3, 0, true, true},
    {DrnStage::blocks, "base.5", 4, 2, 1, 2, 3, 0, true, false},
    {DrnStage::blocks, "base.6", 5, 2, 1, 4, 3, 0, true, false},
    {DrnStage::convs, "base.7", 6, 1, 1, 2, 3, 2},
    {DrnStage::convs, "base.8", 7, 1, 1, 1, 3, 1},
};

constexpr DrnStage kDrnD38[] = {
    {DrnStage::convs, "base.0", 0, 1, 1, 1, 7, 3},
    {DrnStage::convs, "base.1", 0, 1, 1, 1, 3, 1},
    {DrnStage::convs, "base.2", 1, 1, 2, 1, 3, 1},
    {DrnStage::blocks, "base.3", 2, 3, 2, 1, 3, 0, true, true},
    {DrnStage::blocks, "base.4", 3, 4, 2, 1, 3, 0, true, true},
    {DrnStage::blocks, "base.5", 4, 6, 1, 2, 3, 0, true, false},
    {DrnStage::blocks, "base.6", 5, 3, 1, 4, 3, 0, true, false},
    {DrnStage::convs, "base.7", 6, 1, 1, 2, 3, 2},
    {DrnStage::convs, "base.8", 7, 1, 1, 1, 3, 1},
};

struct Variant {
  const char* name;
  const DrnStage* stages;
  size_t stage_count;
};

constexpr Variant kVariants[] = {
    {"drn_c_26", kDrnC26, std::size(kDrnC26)},
    {"drn_d_22", kDrnD22, std::size(kDrnD22)},
    {"drn_d_38", kDrnD38, std::size(kDrnD38)},
};

constexpr int64_t kChannels[8] = {16, 32, 64, 128, 256, 512, 512, 512};

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

const std::vector<std::string>& Architecture::names() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v;
    for (const auto& f : kVariants) v.emplace_back(f.name);
    return v;
  }();
  return all;
}

int Architecture::add_conv(const std::string& name, int64_t in, int64_t out, int kernel, bool bias) {
  Layer layer{name, Layer::Kind::conv, {}, 0};
  layer.slots.push_back(slots_.size());
  slots_.push_back({name + ".weight", {out, in, kernel, kernel}, true});
  if (bias) {
    layer.slots.push_back(slots_.size());
    slots_.push_back({name + ".bias", {out}, true});
  }
  for (size_t s : layer.slots) layer.size += numel(slots_[s].shape);
  layers_.push_back(std::move(layer));
  return static_cast<int>(layers_.size() - 1);
}

int Architecture::add_bn(const std::string& name, int64_t channels) {
  Layer layer{name, Layer::Kind::batch_norm, {}, 4 * channels};
  for (const char* field : {"weight", "bias", "running_mean", "running_var"}) {
    layer.slots.push_back(slots_.size());
    const bool learnable = field[0] != 'r';
    slots_.push_back({name + "." + field, {channels}, learnable});
  }
  layers_.push_back(std::move(layer));
  return static_cast<int>(layers_.size() - 1);
}

void Architecture::add_stage(const DrnStage& stage, int64_t& inplanes, int64_t channels) {
  for (int i = 0; i < stage.count; ++i) {
    Step step;
    step.stride = i == 0 ? stage.stride : 1;
    if (stage.kind == DrnStage::convs) {  // fyu/drn _make_conv_layers: Conv, BN, ReLU; children 3i, 3i+1, 3i+2
      const std::string prefix = std::string(stage.prefix) + ".";
      step.conv1 = add_conv(prefix + std::to_string(3 * i), inplanes, channels, stage.kernel, false);
      step.bn1 = add_bn(prefix + std::to_string(3 * i + 1), channels);
      step.dilation1 = stage.dilation;
      step.padding1 = stage.padding;
    } else {  // fyu/drn _make_layer with BasicBlock (expansion 1)
      const std::string block = std::string(stage.prefix) + "." + std::to_string(i);
      step.block = true;
      step.residual = stage.residual;
      const int d = stage.dilation;
      step.dilation1 = (i > 0 || d == 1) ? d : (stage.new_level ? d / 2 : d);
      step.dilation2 = d;
      step.padding1 = step.dilation1;
      step.padding2 = step.dilation2;
      step.conv1 = add_conv(block + ".conv1", inplanes, channels, 3, false);
      step.bn1 = add_bn(block + ".bn1", channels);
      step.conv2 = add_conv(block + ".conv2", channels, channels, 3, false);
      step.bn2 = add_bn(block + ".bn2", channels);
      if (i == 0 && (stage.stride != 1 || inplanes != channels)) {
        step.downsample_conv = add_conv(block + ".downsample.0", inplanes, channels, 1, false);
        step.downsample_bn = add_bn(block + ".downsample.1", channels);
      }
    }
    for (auto [c, b] : {std::pair{step.conv1, step.bn1}, std::pair{step.conv2, step.bn2},
                        std::pair{step.downsample_conv, step.downsample_bn}})
      if (c >= 0) conv_bn_pairs_.emplace_back(size_t(c), size_t(b));
    steps_.push_back(step);
    inplanes = channels;
  }
}

Architecture::Architecture(const std::string& name, int classes, double width)
    : name_(name), classes_(classes), width_(width) {
  const Variant* variant = nullptr;
  for (const auto& v : kVariants)
    if (name == v.name) variant = &v;
  if (!variant) {
    std::string known;
    for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown architecture '" + name + "' (known: " + known + ")");
  }
  if (classes < 1) throw Error("architecture " + name + ": classes must be at least 1");
  if (!(width > 0.0) || width > 4.0) throw Error("architecture " + name + ": width must be in (0, 4]");

  int64_t inplanes = 3;
  int stride = 1;
  for (size_t i = 0; i < variant->stage_count; ++i) {
    const DrnStage& stage = variant->stages[i];
    const size_t first = steps_.size();
    add_stage(stage, inplanes, std::max<int64_t>(1, std::llround(kChannels[stage.level] * width)));
    stride *= stage.stride;
    stages_.push_back({stage.prefix, first, steps_.size(), inplanes, stride});
  }
  add_conv("seg", inplanes, classes, 1, true);
  up_slot_ = slots_.size();
  slots_.push_back({"up.weight", {classes, 1, 16, 16}, false});
}

std::optional<size_t> Architecture::find_slot(const std::string& slot_name) const {
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].name == slot_name) return i;
  return std::nullopt;
}

std::optional<size_t> Architecture::find_layer(const std::string& layer_name) const {
  for (size_t i = 0; i < layers_.size(); ++i)
    if (layers_[i].name == layer_name) return i;
  return std::nullopt;
}

// Counted like sum(p.numel() for p in DRNSeg.parameters()): `up.weight` is a
// parameter there (with requires_grad off), so it counts as learnable.
int64_t Architecture::learnable_params() const {
  int64_t n = 0;
  for (const auto& s : slots_)
    if (s.learnable || s.name == "up.weight") n += numel(s.shape);
  return n;
}

int64_t Architecture::params_with_buffers() const {
  int64_t n = 0;
  for (const auto& s : slots_) n += numel(s.shape);
  return n;
}

WeightTable Architecture::initial_weights(uint64_t seed) const {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  WeightTable w(slots_.size());
  for (const Layer& layer : layers_) {
    if (layer.kind == Layer::Kind::conv) {
      const auto& shape = slots_[layer.slots[0]].shape;
      const double n = double(shape[2] * shape[3] * shape[0]);
      w[layer.slots[0]] = at::empty(shape).normal_(0.0, std::sqrt(2.0 / n), gen);
      if (layer.slots.size() > 1) w[layer.slots[1]] = at::zeros(slots_[layer.slots[1]].shape);
    } else {
      const auto& shape = slots_[layer.slots[0]].shape;
      w[layer.slots[0]] = at::ones(shape);
      w[layer.slots[1]] = at::zeros(shape);
      w[layer.slots[2]] = at::zeros(shape);
      w[layer.slots[3]] = at::ones(shape);
    }
  }
  // fyu/drn fill_up_weights: a separable bilinear kernel, the same for every class.
  at::Tensor up = at::empty(slots_[up_slot_].shape);
  auto a = up.accessor<float, 4>();
  const int k = 16;
  const double f = std::ceil(k / 2.0);
  const double c = (2 * f - 1 - std::fmod(f, 2.0)) / (2.0 * f);
  for (int64_t cls = 0; cls < classes_; ++cls)
    for (int i = 0; i < k; ++i)
      for (int j = 0; j < k; ++j)
        a[cls][0][i][j] = float((1 - std::fabs(i / f - c)) * (1 - std::fabs(j / f - c)));
  w[up_slot_] = up;
  return w;
}

// ATen sends a single-frame 3x3 conv whose input holds at most 20,480 values
// to its native kernels instead of oneDNN, and a dilated one to
// slow_conv_dilated2d: the 1/8-resolution stages of a small frame (160x120 at
// width 0.25: 32 x 15 x 20) took 3.7 ms each there. Inference on CPU floats
// goes to oneDNN directly; training keeps at::conv2d and its autograd.
at::Tensor conv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int stride, int padding,
                  int dilation) {
  if (x.is_cpu() && x.scalar_type() == at::kFloat && !at::GradMode::is_enabled() && at::hasMKLDNN())
    return at::mkldnn_convolution(x.contiguous(), weight, bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt,
                                  {padding, padding}, {stride, stride}, {dilation, dilation}, 1);
  return at::conv2d(x, weight, bias, {stride, stride}, {padding, padding}, {dilation, dilation});
}

// One table for every sample, BN layers on batch statistics where asked.
class Architecture::TableRunner final : public LayerRunner {
public:
  TableRunner(const Architecture& arch, const WeightTable& w, const std::vector<bool>& batch_stats, double momentum)
      : arch_(arch), w_(w), batch_stats_(batch_stats), momentum_(momentum) {}
  at::Tensor conv_bn(int conv_layer, int bn_layer, const at::Tensor& x, int stride, int padding,
                     int dilation) const override {
    return arch_.conv_bn(w_, conv_layer, bn_layer, x, stride, padding, dilation, batch_stats_, momentum_);
  }
  at::Tensor classifier(int layer, const at::Tensor& x) const override { return arch_.conv(w_, layer, x, 1, 0, 1); }

private:
  const Architecture& arch_;
  const WeightTable& w_;
  const std::vector<bool>& batch_stats_;
  double momentum_;
};

at::Tensor Architecture::conv(const WeightTable& w, int layer, const at::Tensor& x, int stride,
                              int padding, int dilation) const {
  const Layer& l = layers_[layer];
  const at::Tensor bias = l.slots.size() > 1 ? w[l.slots[1]] : at::Tensor();
  return conv2d(x, w[l.slots[0]], bias, stride, padding, dilation);
}

at::Tensor Architecture::bn(const WeightTable& w, int layer, const at::Tensor& x,
                            const std::vector<bool>& batch_stats, double momentum) const {
  const auto& s = layers_[layer].slots;
  const bool train = !batch_stats.empty() && batch_stats[layer];
  return at::batch_norm(x, w[s[0]], w[s[1]], w[s[2]], w[s[3]], train, momentum, 1e-5, true);
}

at::Tensor Architecture::conv_bn(const WeightTable& w, int conv_layer, int bn_layer, const at::Tensor& x, int stride,
                                 int padding, int dilation, const std::vector<bool>& batch_stats,
                                 double momentum) const {
  const auto& b = layers_[bn_layer].slots;
  if (w[b[0]].defined()) return bn(w, bn_layer, conv(w, conv_layer, x, stride, padding, dilation), batch_stats, momentum);
  if (!batch_stats.empty() && batch_stats[bn_layer])
    throw Error("layer " + layers_[bn_layer].name + " was folded into its conv; it cannot use batch statistics");
  return conv2d(x, w[layers_[conv_layer].slots[0]], w[b[1]], stride, padding, dilation);
}

at::Tensor Architecture::forward(const WeightTable& w, const at::Tensor& input, const std::vector<bool>& train,
                                 double momentum) const {
  return log_probs(w, scores(w, input, train, momentum));
}

at::Tensor Architecture::log_probs(const WeightTable& w, const at::Tensor& x) const {
  return at::log_softmax(at::conv_transpose2d(x, w[up_slot_], {}, {8, 8}, {4, 4}, {0, 0}, classes_, {1, 1}), 1);
}

at::Tensor Architecture::scores(const WeightTable& w, const at::Tensor& input, const std::vector<bool>& train,
                                double momentum) const {
  if (w.size() != slots_.size())
    throw Error("weight table has " + std::to_string(w.size()) + " entries, " + name_ + " needs " +
                std::to_string(slots_.size()));
  if (!train.empty() && train.size() != layers_.size())
    throw Error("batch-statistics mask has " + std::to_string(train.size()) + " entries, " + name_ + " has " +
                std::to_string(layers_.size()) + " layers");
  return scores(TableRunner(*this, w, train, momentum), input);
}

std::optional<size_t> Architecture::find_stage(const std::string& prefix) const {
  for (size_t i = 0; i < stages_.size(); ++i)
    if (stages_[i].prefix == prefix) return i;
  return std::nullopt;
}

at::Tensor Architecture::scores(const LayerRunner& run, const at::Tensor& input) const {
  return classify(run, trunk(run, input, 0, steps_.size()));
}

at::Tensor Architecture::classify(const LayerRunner& run, const at::Tensor& features) const {
  return run.classifier(static_cast<int>(layers_.size() - 1), features);
}

at::Tensor Architecture::trunk(const WeightTable& w, at::Tensor x, size_t from, size_t to) const {
  static const std::vector<bool> running;
  return trunk(TableRunner(*this, w, running, 0.1), std::move(x), from, to);
}

at::Tensor Architecture::classify(const WeightTable& w, const at::Tensor& features) const {
  static const std::vector<bool> running;
  return classify(TableRunner(*this, w, running, 0.1), features);
}

std::vector<int64_t> Architecture::step_macs(int64_t height, int64_t width) const {
  std::vector<int64_t> macs;
  int64_t h = height, w = width;
  // One conv's multiply-accumulates; moves (h, w) to its output size when `advance`.
  auto conv = [&](int layer, int stride, int padding, int dilation, bool advance) {
    const auto& shape = slots_[layers_[layer].slots[0]].shape;  // out, in, k, k
    const int64_t k = shape[2];
    const int64_t oh = (h + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
    const int64_t ow = (w + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
    if (advance) h = oh, w = ow;
    return shape[0] * shape[1] * k * k * oh * ow;
  };
  for (const Step& s : steps_) {
    int64_t n = 0;
    if (s.downsample_conv >= 0) n += conv(s.downsample_conv, s.stride, 0, 1, false);
    n += conv(s.conv1, s.stride, s.padding1, s.dilation1, true);
    if (s.block) n += conv(s.conv2, 1, s.padding2, s.dilation2, true);
    macs.push_back(n);
  }
  macs.push_back(conv(static_cast<int>(layers_.size() - 1), 1, 0, 1, false));
  return macs;
}

at::Tensor Architecture::trunk(const LayerRunner& run, at::Tensor x, size_t from, size_t to) const {
  if (from > to || to > steps_.size())
    throw Error(name_ + ": trunk steps " + std::to_string(from) + ".." + std::to_string(to) + " out of range");
  for (size_t i = from; i < to; ++i) {
    const Step& s = steps_[i];
    if (!s.block) {
      x = at::relu(run.conv_bn(s.conv1, s.bn1, x, s.stride, s.padding1, s.dilation1));
      continue;
    }
    at::Tensor out = at::relu(run.conv_bn(s.conv1, s.bn1, x, s.stride, s.padding1, s.dilation1));
    out = run.conv_bn(s.conv2, s.bn2, out, 1, s.padding2, s.dilation2);
    if (s.residual) {
      const at::Tensor skip =
          s.downsample_conv >= 0 ? run.conv_bn(s.downsample_conv, s.downsample_bn, x, s.stride, 0, 1) : x;
      out = out + skip;
    }
    x = at::relu(out);
  }
  return x;
}

}  // namespace gearnn

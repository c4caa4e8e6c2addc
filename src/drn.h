#pragma once
// The DRN family (drn_c_26, drn_d_22, drn_d_38) with the DRNSeg head, written as
// a table of value slots plus a forward pass that reads its weights from a
// WeightTable. Keeping weights outside the network is what makes adaptor
// switching free: a level is just another table whose few adaptor entries
// point at other tensors. Slot names equal fyu/drn's DRNSeg state-dict keys.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gearnn {

struct DrnStage;  // one stage of a variant's table (drn.cpp)

struct TensorSlot {
  std::string name;  // "base.3.0.conv1.weight"
  std::vector<int64_t> shape;
  bool learnable;  // false for BN running statistics and the fixed bilinear `up` filter
};

// What an adaptor replaces as a whole: a conv (weight, bias if any) or a BN
// layer (affine parameters and running statistics). The seg head is a conv.
struct Layer {
  enum class Kind { conv, batch_norm };
  std::string name;  // "base.3.0.conv1", "base.3.0.bn1", "seg"
  Kind kind;
  std::vector<size_t> slots;  // conv: weight[, bias]; BN: weight, bias, running_mean, running_var
  int64_t size = 0;           // values an adaptor stores for this layer
};

using WeightTable = std::vector<at::Tensor>;  // indexed like Architecture::slots()

// What the forward pass asks of its weights, layer by layer: a conv followed
// by its BN layer, and the final 1x1 classifier. One table serves every
// sample in Architecture::scores; a batch of samples on different levels
// (mixed_batch.h) answers per group of samples.
class LayerRunner {
public:
  virtual ~LayerRunner() = default;
  virtual at::Tensor conv_bn(int conv_layer, int bn_layer, const at::Tensor& x, int stride, int padding,
                             int dilation) const = 0;
  virtual at::Tensor classifier(int layer, const at::Tensor& x) const = 0;
};

// 2-D convolution as the forward pass runs it (oneDNN directly for CPU
// inference; at::conv2d with autograd otherwise). `bias` may be undefined.
at::Tensor conv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int stride, int padding,
                  int dilation);

class Architecture {
public:
  // Throws gearnn::Error for an unknown name, classes < 1 or width <= 0.
  Architecture(const std::string& name, int classes, double width = 1.0);

  static const std::vector<std::string>& names();

  const std::string& name() const { return name_; }
  int classes() const { return classes_; }
  double width() const { return width_; }
  const std::vector<TensorSlot>& slots() const { return slots_; }
  const std::vector<Layer>& layers() const { return layers_; }
  std::optional<size_t> find_slot(const std::string& slot_name) const;
  std::optional<size_t> find_layer(const std::string& layer_name) const;

  // Each conv followed by a BN layer, as (conv layer, BN layer) indices.
  const std::vector<std::pair<size_t, size_t>>& conv_bn_pairs() const { return conv_bn_pairs_; }

  int64_t learnable_params() const;     // parameters that training updates
  int64_t params_with_buffers() const;  // ... plus the BN running statistics

  // fyu/drn's initialisation: convs N(0, sqrt(2/n)), BN weight 1 and bias 0,
  // running mean 0 and variance 1, `up` bilinear. Deterministic for a seed.
  WeightTable initial_weights(uint64_t seed) const;

  // Input: normalised RGB, N x 3 x H x W, H and W multiples of 8 for an exact
  // size. Output: log-probabilities N x classes x H x W. BN layer i uses batch
  // statistics (and updates its running statistics in the table) when
  // `batch_stats[i]` is set; empty = inference mode everywhere. A BN layer
  // whose weight entry is empty was folded into its conv (bn_folding.h): the
  // conv entry holds the folded weight and the BN's bias entry its bias.
  // `bn_momentum` weighs each batch in the running statistics (PyTorch's 0.1).
  at::Tensor forward(const WeightTable& weights, const at::Tensor& input,
                     const std::vector<bool>& batch_stats = {}, double bn_momentum = 0.1) const;
  // The same network up to the 1x1 classifier: N x classes x H/8 x W/8
  // scores, before the fixed up-sampling and the log-softmax.
  at::Tensor scores(const WeightTable& weights, const at::Tensor& input,
                    const std::vector<bool>& batch_stats = {}, double bn_momentum = 0.1) const;
  // The same walk with every layer run by `runner`.
  at::Tensor scores(const LayerRunner& runner, const at::Tensor& input) const;
  // What forward() does after scores(): the fixed up-sampling, then the log-softmax.
  at::Tensor log_probs(const WeightTable& weights, const at::Tensor& scores) const;

  // The variant's stages (fyu/drn's layer0.. layer8, "base.0".. in the state
  // dict) as ranges of steps: early exits (early_exit.h) branch off after one.
  struct Stage {
    std::string prefix;  // "base.5"
    size_t first_step, end_step;
    int64_t channels;    // of the stage's output
    int output_stride;   // of the stage's output, relative to the input
  };
  const std::vector<Stage>& stages() const { return stages_; }
  std::optional<size_t> find_stage(const std::string& prefix) const;
  // Steps [from, to) of the trunk, from the output of step from-1 (the input for 0).
  at::Tensor trunk(const LayerRunner& runner, at::Tensor x, size_t from, size_t to) const;
  // The 1x1 classifier on the last stage's output.
  at::Tensor classify(const LayerRunner& runner, const at::Tensor& features) const;
  // Both with one table, BN layers on their running statistics.
  at::Tensor trunk(const WeightTable& weights, at::Tensor x, size_t from, size_t to) const;
  at::Tensor classify(const WeightTable& weights, const at::Tensor& features) const;
  // Multiply-accumulates of each step on a height x width input, then of the
  // classifier (the last entry); counted from the weight shapes.
  std::vector<int64_t> step_macs(int64_t height, int64_t width) const;

private:
  // One step of the forward pass: conv+BN+ReLU, or a BasicBlock.
  struct Step {
    bool block = false;
    int conv1 = -1, bn1 = -1, stride = 1, dilation1 = 1, padding1 = 0;
    int conv2 = -1, bn2 = -1, dilation2 = 1, padding2 = 0;  // block only
    int downsample_conv = -1, downsample_bn = -1;
    bool residual = true;
  };
  class TableRunner;
  int add_conv(const std::string& name, int64_t in, int64_t out, int kernel, bool bias);
  int add_bn(const std::string& name, int64_t channels);
  void add_stage(const DrnStage& stage, int64_t& inplanes, int64_t channels);
  at::Tensor conv(const WeightTable& w, int layer, const at::Tensor& x, int stride, int padding,
                  int dilation) const;
  at::Tensor bn(const WeightTable& w, int layer, const at::Tensor& x, const std::vector<bool>& batch_stats,
                double momentum) const;
  at::Tensor conv_bn(const WeightTable& w, int conv_layer, int bn_layer, const at::Tensor& x, int stride,
                     int padding, int dilation, const std::vector<bool>& batch_stats, double momentum) const;

  std::string name_;
  int classes_;
  double width_;
  std::vector<TensorSlot> slots_;
  std::vector<Layer> layers_;
  std::vector<Step> steps_;
  std::vector<Stage> stages_;
  std::vector<std::pair<size_t, size_t>> conv_bn_pairs_;
  size_t up_slot_ = 0;
};

}  // namespace gearnn

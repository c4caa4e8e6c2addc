#pragma once
// Training of a DRN weight table: SGD with momentum, poly or step schedule,
// NLL with ignore index 255 and optional class weights, optional stability
// loss, a subset of trainable layers (partial fine-tuning), checkpoints every
// epoch and resume. Used for the base, GearNN's adaptors and every baseline.
#include "drn.h"

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace gearnn {

// One pass over the data: start_epoch(e) then next() until it returns false.
struct TrainData {
  std::function<void(int epoch)> start_epoch;
  std::function<bool(at::Tensor& images, at::Tensor& labels)> next;  // images N x 3 x H x W, labels N x H x W int64
  size_t batches_per_epoch = 0;
};

struct TrainOptions {
  int epochs = 10;
  double lr = 0.01;
  double momentum = 0.9;
  double weight_decay = 1e-4;
  std::string schedule = "poly";  // poly (power 0.9 per iteration), step (x0.1 every step_epochs), constant
  int step_epochs = 30;
  std::vector<float> class_weights;    // empty: unweighted
  std::vector<bool> trainable_layers;  // per Architecture::layers(); empty: every layer
  // Stability training (Zheng et al. 2016): loss = NLL(clean) + alpha x pixel-wise
  // KL(clean || perturbed), the perturbation Gaussian with sigma in RGB/255 units.
  double stability_alpha = 0.0;
  double stability_sigma = 0.0;
  std::array<float, 3> input_std{1, 1, 1};  // to express sigma in normalised units
  uint64_t seed = 1;
  std::string checkpoint_dir;  // empty: no checkpoints
  bool resume = false;         // continue from checkpoint_dir's last epoch
  // After the last epoch, recompute the running statistics of the BN layers that
  // trained as exact averages over one more pass of the data. A short
  // fine-tune (an adaptor's few epochs) otherwise leaves them part old, part
  // new, and eval-mode outputs suffer.
  bool recalibrate_bn = true;
  // The data of that pass; null: the training data. The base passes whole,
  // unaugmented frames, so that its statistics are those of inference.
  TrainData* recalibration_data = nullptr;
  bool progress = true;        // a progress line on stderr
  std::string label;           // shown in the progress line
};


struct EpochReport {
  int epoch = 0;  // 1-based
  int epochs = 0;
  double loss = 0;
  double images_per_second = 0;
  double seconds = 0;
};

// Trains a copy of `weights` and returns it. Tensors of frozen layers are the
// caller's own (shared, untouched); trained ones are fresh copies.
WeightTable train(const Architecture& arch, const WeightTable& weights, const TrainOptions& options,
                  TrainData& data, const std::function<void(const EpochReport&, const WeightTable&)>& on_epoch = {});

// The per-pixel loss used above, exposed for tests: NLL of `log_probs`
// against labels (255 ignored), plus alpha x KL(clean || perturbed) when
// `perturbed_log_probs` is defined.
at::Tensor segmentation_loss(const at::Tensor& log_probs, const at::Tensor& labels, const at::Tensor& class_weights,
                             const at::Tensor& perturbed_log_probs = {}, double alpha = 0.0);

}  // namespace gearnn

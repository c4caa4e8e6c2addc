#include "trainer.h"

#include "error.h"
#include "progress.h"
#include "tensor_file.h"
#include "weight_file.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace gearnn {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCheckpointFile = "checkpoint.safetensors";

// Slots that SGD updates: learnable tensors of trainable layers.
std::vector<bool> trained_slots(const Architecture& arch, const std::vector<bool>& trainable_layers) {
  std::vector<bool> trained(arch.slots().size(), false);
  for (size_t l = 0; l < arch.layers().size(); ++l) {
    if (!trainable_layers.empty() && !trainable_layers[l]) continue;
    for (size_t s : arch.layers()[l].slots) trained[s] = arch.slots()[s].learnable;
  }
  return trained;
}

// BN layers of trained layers run on batch statistics; frozen ones stay in eval mode.
std::vector<bool> batch_stat_layers(const Architecture& arch, const std::vector<bool>& trainable_layers) {
  std::vector<bool> on(arch.layers().size(), false);
  for (size_t l = 0; l < arch.layers().size(); ++l)
    on[l] = arch.layers()[l].kind == Layer::Kind::batch_norm && (trainable_layers.empty() || trainable_layers[l]);
  return on;
}

double learning_rate(const TrainOptions& o, int epoch0, size_t batch0, size_t batches) {
  if (o.schedule == "constant") return o.lr;
  if (o.schedule == "step") return o.lr * std::pow(0.1, epoch0 / std::max(1, o.step_epochs));
  const double progress = double(size_t(epoch0) * batches + batch0) / double(size_t(o.epochs) * batches);
  return o.lr * std::pow(1.0 - progress, 0.9);
}

struct Checkpoint {
  int epoch = 0;
  NamedTensors tensors;
};

void save_checkpoint(const std::string& dir, const Architecture& arch, const WeightTable& w,
                     const std::vector<at::Tensor>& momentum, int epoch) {
  fs::create_directories(dir);
  NamedTensors t;
  for (size_t s = 0; s < w.size(); ++s) {
    t[arch.slots()[s].name] = w[s].detach();
    if (momentum[s].defined()) t["momentum/" + arch.slots()[s].name] = momentum[s];
  }
  write_tensor_file((fs::path(dir) / kCheckpointFile).string(), t,
                    {{"epoch", std::to_string(epoch)}, {"architecture", arch.name()}});
}

// Cumulative averages: batch k enters with momentum 1/k, so that after the pass
// the running statistics are the plain mean over every batch.
void recalibrate_batch_norm(const Architecture& arch, WeightTable& w, const std::vector<bool>& batch_stats,
                            TrainData& data, int epoch) {
  c10::AutoGradMode no_grad(false);
  for (size_t l = 0; l < arch.layers().size(); ++l) {
    if (!batch_stats[l]) continue;
    w[arch.layers()[l].slots[2]].zero_();
    w[arch.layers()[l].slots[3]].fill_(1.0);
  }
  data.start_epoch(epoch);
  at::Tensor images, labels;
  const at::Device device = w[0].device();
  for (int k = 1; data.next(images, labels); ++k) arch.forward(w, images.to(device), batch_stats, 1.0 / k);
}

}  // namespace

at::Tensor segmentation_loss(const at::Tensor& log_probs, const at::Tensor& labels, const at::Tensor& class_weights,
                             const at::Tensor& perturbed_log_probs, double alpha) {
  at::Tensor loss = at::nll_loss2d(log_probs, labels, class_weights, at::Reduction::Mean, 255);
  if (perturbed_log_probs.defined() && alpha > 0) {
    // KL(clean || perturbed) per pixel, summed over classes, averaged over pixels.
    const at::Tensor kl = (log_probs.exp() * (log_probs - perturbed_log_probs)).sum(1).mean();
    loss = loss + alpha * kl;
  }
  return loss;
}

WeightTable train(const Architecture& arch, const WeightTable& initial, const TrainOptions& o, TrainData& data,
                  const std::function<void(const EpochReport&, const WeightTable&)>& on_epoch) {
  if (o.epochs < 1) throw Error("training needs at least one epoch");
  if (data.batches_per_epoch == 0) throw Error("training data is empty");
  if (!o.trainable_layers.empty() && o.trainable_layers.size() != arch.layers().size())
    throw Error("trainable layer mask does not match " + arch.name());

  const std::vector<bool> trained = trained_slots(arch, o.trainable_layers);
  const std::vector<bool> batch_stats = batch_stat_layers(arch, o.trainable_layers);

  // Trained layers (and BN statistics that batches update) get their own copies;
  // frozen tensors stay shared with the caller and are never written.
  std::vector<bool> owned(arch.slots().size(), false);
  for (size_t l = 0; l < arch.layers().size(); ++l)
    if (batch_stats[l])
      for (size_t s : arch.layers()[l].slots) owned[s] = true;
  WeightTable w(initial.size());
  for (size_t s = 0; s < w.size(); ++s) w[s] = (trained[s] || owned[s]) ? initial[s].detach().clone() : initial[s];
  std::vector<at::Tensor> momentum(w.size());
  const at::Device device = initial.at(0).device();  // batches and every helper tensor follow the weights

  int first_epoch = 1;
  const std::string checkpoint = o.checkpoint_dir.empty() ? "" : (fs::path(o.checkpoint_dir) / kCheckpointFile).string();
  if (o.resume && !checkpoint.empty() && fs::exists(checkpoint)) {
    TensorFile saved = read_tensor_file(checkpoint);
    const WeightTable saved_weights = take_all_weights(saved, checkpoint, arch, at::kCPU);
    for (size_t s = 0; s < w.size(); ++s) {
      if (trained[s] || owned[s]) w[s] = saved_weights[s].to(device);
      auto m = saved.tensors.find("momentum/" + arch.slots()[s].name);
      if (m == saved.tensors.end()) continue;
      if (m->second.scalar_type() != at::kFloat || m->second.sizes() != saved_weights[s].sizes())
        throw Error(checkpoint + ": tensor '" + m->first + "' is not float32 of its weight's shape");
      momentum[s] = m->second.to(device);
    }
    const auto epoch = saved.metadata.find("epoch");
    char* end = nullptr;
    const long done = epoch == saved.metadata.end() ? -1 : std::strtol(epoch->second.c_str(), &end, 10);
    if (done < 0 || done > 1000000 || !end || end == epoch->second.c_str() || *end != '\0')
      throw Error(checkpoint + ": no valid 'epoch' in its metadata (not a gearnn training checkpoint?)");
    first_epoch = int(done) + 1;
    std::fprintf(stderr, "%s: resuming after epoch %d\n", checkpoint.c_str(), first_epoch - 1);
  }
  for (size_t s = 0; s < w.size(); ++s)
    if (trained[s]) w[s].requires_grad_(true);

  const at::Tensor class_weights =
      o.class_weights.empty() ? at::Tensor() : at::tensor(at::ArrayRef<float>(o.class_weights)).to(device);
  const at::Tensor sigma =
      at::tensor({float(o.stability_sigma / o.input_std[0]), float(o.stability_sigma / o.input_std[1]),
                  float(o.stability_sigma / o.input_std[2])})
          .view({1, 3, 1, 1})
          .to(device);

  ProgressLine progress(o.label.empty() ? arch.name() : o.label, o.epochs, data.batches_per_epoch, o.progress);
  for (int epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    data.start_epoch(epoch);
    at::Generator noise = at::detail::createCPUGenerator(o.seed * 1000003ULL + uint64_t(epoch));
    double loss_sum = 0;
    size_t batches = 0, images_seen = 0;
    at::Tensor images, labels;
    while (data.next(images, labels)) {
      const double lr = learning_rate(o, epoch - 1, batches, data.batches_per_epoch);
      at::Tensor perturbed, unit_noise;
      if (o.stability_alpha > 0) unit_noise = at::empty_like(images).normal_(0.0, 1.0, noise).to(device);
      images = images.to(device);
      labels = labels.to(device);
      const at::Tensor log_probs = arch.forward(w, images, batch_stats);
      if (o.stability_alpha > 0) perturbed = arch.forward(w, images + unit_noise * sigma, batch_stats);
      const at::Tensor loss = segmentation_loss(log_probs, labels, class_weights, perturbed, o.stability_alpha);
      std::vector<at::Tensor> params;
      for (size_t s = 0; s < w.size(); ++s)
        if (trained[s]) params.push_back(w[s]);
      const auto grads = torch::autograd::grad({loss}, params);
      {
        c10::AutoGradMode no_grad(false);
        size_t g = 0;
        for (size_t s = 0; s < w.size(); ++s) {
          if (!trained[s]) continue;
          at::Tensor d = grads[g++];
          if (o.weight_decay > 0) d = d + o.weight_decay * w[s];
          momentum[s] = momentum[s].defined() ? momentum[s].mul_(o.momentum).add_(d) : d.clone();
          w[s].sub_(lr * momentum[s]);
        }
      }
      loss_sum += loss.item<double>();
      ++batches;
      images_seen += size_t(images.size(0));
      progress.update(epoch, batches, loss_sum / double(batches), size_t(images.size(0)));
    }
    if (batches == 0) throw Error("training data gave no batch in epoch " + std::to_string(epoch));
    EpochReport report;
    report.epoch = epoch;
    report.epochs = o.epochs;
    report.loss = loss_sum / double(batches);
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.images_per_second = double(images_seen) / report.seconds;
    progress.end_epoch(epoch, report.loss, report.images_per_second, report.seconds);
    if (!o.checkpoint_dir.empty()) save_checkpoint(o.checkpoint_dir, arch, w, momentum, epoch);
    if (on_epoch) on_epoch(report, w);
  }
  for (auto& t : w) t = t.detach();
  if (o.recalibrate_bn && std::find(batch_stats.begin(), batch_stats.end(), true) != batch_stats.end())
    recalibrate_batch_norm(arch, w, batch_stats, o.recalibration_data ? *o.recalibration_data : data, o.epochs + 1);
  return w;
}

}  // namespace gearnn

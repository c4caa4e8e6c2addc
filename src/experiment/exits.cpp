#include "experiment/exits.h"

#include "adaptive_model.h"
#include "bundle.h"
#include "class_map_head.h"
#include "data/random.h"
#include "error.h"
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

namespace gearnn {

ExitFrames collect_exit_frames(const Bundle& bundle, size_t level, const Dataset& dataset,
                               const std::vector<std::string>& stages,
                               const std::function<RgbImage(size_t)>& image_source) {
  c10::InferenceMode guard;
  const Architecture& arch = bundle.architecture();
  ExitFrames f;
  for (const std::string& s : stages) {
    ExitSpec bare;  // a classifier alone: only its stage matters here
    bare.after = s;
    bare.convs = 0;
    f.stages.push_back(exit_head_layout(arch, bare).stage);
  }
  if (!std::is_sorted(f.stages.begin(), f.stages.end()) ||
      std::adjacent_find(f.stages.begin(), f.stages.end()) != f.stages.end())
    throw Error("exit stages must be distinct and in trunk order");
  const WeightTable& w = bundle.weights(level);
  for (size_t i = 0; i < dataset.size(); ++i) {
    const RgbImage image = image_source ? image_source(i) : dataset.load_image(i);
    at::Tensor x = frame_to_input(image.view(), bundle.manifest().normalization, bundle.device());
    std::vector<at::Tensor> features;
    size_t step = 0;
    for (size_t s : f.stages) {
      x = arch.trunk(w, std::move(x), step, arch.stages()[s].end_step);
      step = arch.stages()[s].end_step;
      features.push_back(x.clone());
    }
    f.network_scores.push_back(arch.classify(w, arch.trunk(w, std::move(x), step, arch.stages().back().end_step)));
    f.features.push_back(std::move(features));
    f.labels.push_back(dataset.load_label(i));
    f.sizes.emplace_back(image.width, image.height);
  }
  return f;
}

namespace {

// Normal tensors of the inference-mode features, batched by equal size.
std::vector<std::vector<size_t>> batches_of(const ExitFrames& frames, const std::vector<size_t>& order, int batch) {
  std::vector<std::vector<size_t>> out;
  for (size_t i : order) {
    if (out.empty() || int(out.back().size()) >= batch ||
        frames.sizes[out.back().front()] != frames.sizes[i] ||
        frames.labels[out.back().front()].width != frames.labels[i].width ||
        frames.labels[out.back().front()].height != frames.labels[i].height)
      out.emplace_back();
    out.back().push_back(i);
  }
  return out;
}

at::Tensor label_tensor(const ClassMap& label) {
  return at::from_blob(const_cast<uint8_t*>(label.classes.data()), {label.height, label.width}, at::kByte)
      .to(at::kLong);
}

ClassMap class_map_of(const Bundle& bundle, const at::Tensor& scores, int width, int height) {
  return argmax_class_map(bundle.architecture().log_probs(bundle.base_weights(), scores), width, height);
}

}  // namespace

void train_exit_head(ExitHead& head, size_t candidate, const ExitFrames& frames, const Bundle& bundle,
                     const ExitTraining& o) {
  const Architecture& arch = bundle.architecture();
  const auto& cw = bundle.manifest().class_weights;
  const at::Tensor class_weights = cw.empty() ? at::Tensor() : at::tensor(cw).to(bundle.device());
  std::vector<at::Tensor*> params = head.tensors();
  std::vector<at::Tensor> momentum;
  for (at::Tensor* p : params) {
    *p = p->detach().clone().set_requires_grad(true);
    momentum.push_back(at::zeros_like(*p));
  }
  std::vector<size_t> order(frames.features.size());
  std::iota(order.begin(), order.end(), size_t(0));
  const size_t per_epoch = batches_of(frames, order, o.batch).size();
  const double total = double(std::max<size_t>(1, per_epoch * size_t(o.epochs)));
  size_t iteration = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    SplitMix64 rng(mix_seed({o.seed, uint64_t(epoch)}));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (const auto& batch : batches_of(frames, order, o.batch)) {
      std::vector<at::Tensor> features, labels, teacher;
      for (size_t i : batch) {
        features.push_back(frames.features[i][candidate].clone());  // normal tensors, out of inference mode
        labels.push_back(label_tensor(frames.labels[i]));
        if (o.distill > 0) teacher.push_back(frames.network_scores[i].clone());
      }
      const ClassMap& first = frames.labels[batch.front()];
      const at::Tensor scores = head.scores(at::cat(features));
      at::Tensor log_probs = arch.log_probs(bundle.base_weights(), scores);
      log_probs = log_probs.narrow(2, 0, first.height).narrow(3, 0, first.width);
      at::Tensor loss = segmentation_loss(log_probs, at::stack(labels).to(log_probs.device()), class_weights);
      if (o.distill > 0) {
        const at::Tensor target = at::log_softmax(at::cat(teacher), 1);
        loss = loss + o.distill * (target.exp() * (target - at::log_softmax(scores, 1))).sum(1).mean();
      }
      loss.backward();
      const double lr = o.lr * std::pow(1.0 - double(iteration++) / total, 0.9);
      c10::NoGradGuard no_grad;
      for (size_t k = 0; k < params.size(); ++k) {
        at::Tensor& p = *params[k];
        const at::Tensor g = p.grad() + o.weight_decay * p;
        momentum[k].mul_(o.momentum).add_(g);
        p.sub_(lr * momentum[k]);
        p.mutable_grad().zero_();
      }
    }
  }
  for (at::Tensor* p : params) *p = p->detach();
}

ConfusionMatrix ExitScores::total() const {
  ConfusionMatrix t(confusion.empty() ? 1 : confusion.front().classes());
  for (const auto& c : confusion) t.merge(c);
  return t;
}

ExitScores score_exit_head(const ExitHead& head, size_t candidate, const ExitFrames& frames, const Bundle& bundle) {
  c10::InferenceMode guard;
  ExitScores s;
  for (size_t i = 0; i < frames.features.size(); ++i) {
    const at::Tensor scores = head.scores(frames.features[i][candidate]);
    s.confidence.push_back(exit_confidence(scores));
    ConfusionMatrix c(bundle.architecture().classes());
    c.add(class_map_of(bundle, scores, frames.sizes[i].first, frames.sizes[i].second), frames.labels[i]);
    s.confusion.push_back(std::move(c));
  }
  return s;
}

std::vector<ConfusionMatrix> score_network(const ExitFrames& frames, const Bundle& bundle) {
  c10::InferenceMode guard;
  std::vector<ConfusionMatrix> out;
  for (size_t i = 0; i < frames.network_scores.size(); ++i) {
    ConfusionMatrix c(bundle.architecture().classes());
    c.add(class_map_of(bundle, frames.network_scores[i], frames.sizes[i].first, frames.sizes[i].second),
          frames.labels[i]);
    out.push_back(std::move(c));
  }
  return out;
}

ExitHead pruned_exit_head(const Architecture& arch, const ExitHead& head, int channels) {
  if (head.spec.convs == 0 || channels < 1 || channels > head.spec.channels)
    throw Error("cannot prune the exit after " + head.spec.after + " to " + std::to_string(channels) + " channels");
  ExitSpec spec = head.spec;
  spec.channels = channels;
  ExitHead out = exit_head_layout(arch, spec);
  at::Tensor kept;  // input channels the next layer keeps
  for (size_t i = 0; i < head.conv_weights.size(); ++i) {
    at::Tensor w = head.conv_weights[i];
    if (kept.defined()) w = w.index_select(1, kept);
    kept = std::get<0>(std::get<1>(w.abs().sum({1, 2, 3}).topk(channels)).sort());
    out.conv_weights.push_back(w.index_select(0, kept).contiguous());
    out.conv_biases.push_back(head.conv_biases[i].index_select(0, kept).contiguous());
  }
  out.classifier_weight = head.classifier_weight.index_select(1, kept).contiguous();
  out.classifier_bias = head.classifier_bias.clone();
  return out;
}

ExitHead shallower_exit_head(const Architecture& arch, const ExitHead& head, uint64_t seed) {
  if (head.spec.convs == 0) throw Error("the exit after " + head.spec.after + " has no conv left to remove");
  ExitSpec spec = head.spec;
  spec.convs -= 1;
  if (spec.convs == 0) spec.channels = 0, spec.dilation = 1;
  ExitHead out = initial_exit_head(arch, spec, seed);
  for (int i = 0; i < spec.convs; ++i) {
    out.conv_weights[size_t(i)] = head.conv_weights[size_t(i)].clone();
    out.conv_biases[size_t(i)] = head.conv_biases[size_t(i)].clone();
  }
  return out;
}

ExitOutcomeSummary simulate_exits(const ExitEvidence& e, const ExitPolicy& p) {
  const size_t heads = e.heads.size(), frames = e.network.size();
  if (p.present.size() != heads || p.thresholds.size() != heads) throw Error("exit policy does not fit the evidence");
  ExitOutcomeSummary s;
  s.confusion = ConfusionMatrix(frames ? e.network.front().classes() : 1);
  ConfusionMatrix network(s.confusion.classes());
  s.exit_rate.assign(heads, 0.0);
  for (size_t f = 0; f < frames; ++f) {
    const ExitCosts& c = e.costs[f];
    int64_t cost = 0, all_heads = 0;  // heads run so far; every candidate's, to undo the absent ones
    int taken = -1;
    for (size_t i = 0; i < heads && taken < 0; ++i) {
      all_heads += c.head[i];
      if (!p.present[i]) continue;
      cost += c.head[i];
      if (e.heads[i].confidence[f] >= p.thresholds[i]) {
        taken = int(i);
        cost += c.at_exit[i] - all_heads;  // the trunk up to exit i
      }
    }
    if (taken < 0) cost += c.full;
    s.mean_macs += double(cost);
    s.network_macs += double(c.full);
    s.confusion.merge(taken < 0 ? e.network[f] : e.heads[size_t(taken)].confusion[f]);
    network.merge(e.network[f]);
    if (taken >= 0) s.exit_rate[size_t(taken)] += 1.0;
  }
  if (frames) {
    s.mean_macs /= double(frames);
    s.network_macs /= double(frames);
    for (double& r : s.exit_rate) r /= double(frames);
  }
  s.miou = s.confusion.miou();
  s.network_miou = network.miou();
  return s;
}

std::vector<double> saving_ratios(const ExitEvidence& e, const ExitPolicy& p) {
  const ExitOutcomeSummary with = simulate_exits(e, p);
  const size_t frames = e.network.size();
  std::vector<double> r(e.heads.size(), 0.0);
  for (size_t i = 0; i < e.heads.size(); ++i) {
    if (!p.present[i]) continue;
    ExitPolicy without = p;
    without.present[i] = false;
    const double total_with = with.mean_macs * double(frames);
    const double total_without = simulate_exits(e, without).mean_macs * double(frames);
    // FlexDNN's terms: the head's cost is overhead only on the frames that
    // reach it and go on; a frame leaving there saves what it skips less the
    // head. The saving is measured against the plan without this exit, so
    // later exits that would catch its frames count. R > 1 exactly when the
    // exit lowers the mean cost.
    double overhead = 0;
    for (size_t f = 0; f < frames; ++f) {
      bool reached = true;
      for (size_t j = 0; j < i && reached; ++j)
        reached = !(p.present[j] && e.heads[j].confidence[f] >= p.thresholds[j]);
      if (reached && e.heads[i].confidence[f] < p.thresholds[i]) overhead += double(e.costs[f].head[i]);
    }
    const double saved = total_without - total_with + overhead;
    if (overhead > 0)
      r[i] = saved / overhead;
    else  // every frame that reaches it leaves: it pays exactly when it saves anything
      r[i] = saved > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  }
  return r;
}

std::vector<double> choose_thresholds(const ExitEvidence& e, const std::vector<bool>& present, double max_loss) {
  const size_t heads = e.heads.size();
  // Each exit's candidate thresholds: its frames' confidences, highest first; "off" above them all.
  constexpr double kOff = 2.0;
  std::vector<std::vector<double>> steps(heads);
  for (size_t i = 0; i < heads; ++i) {
    steps[i] = e.heads[i].confidence;
    std::sort(steps[i].rbegin(), steps[i].rend());
    steps[i].erase(std::unique(steps[i].begin(), steps[i].end()), steps[i].end());
  }
  ExitPolicy p{present, std::vector<double>(heads, kOff)};
  std::vector<size_t> next(heads, 0);
  ExitOutcomeSummary now = simulate_exits(e, p);
  for (;;) {
    int best = -1;
    double best_value = -1;
    ExitOutcomeSummary best_outcome;
    for (size_t i = 0; i < heads; ++i) {
      if (!present[i] || next[i] >= steps[i].size()) continue;
      ExitPolicy trial = p;
      trial.thresholds[i] = steps[i][next[i]];
      const ExitOutcomeSummary o = simulate_exits(e, trial);
      if (o.network_miou - o.miou > max_loss) continue;
      const double saved = now.mean_macs - o.mean_macs;
      const double lost = std::max(1e-6, now.miou - o.miou);
      if (saved / lost > best_value) {
        best_value = saved / lost;
        best = int(i);
        best_outcome = o;
      }
    }
    if (best < 0) break;
    p.thresholds[size_t(best)] = steps[size_t(best)][next[size_t(best)]++];
    now = best_outcome;
  }
  for (double& t : p.thresholds) t = std::min(t, 1.0);
  return p.thresholds;
}

ExitPolicy plan_exits(const ExitEvidence& e, double max_loss, std::vector<std::string>* log) {
  ExitPolicy p{std::vector<bool>(e.heads.size(), true), {}};
  for (;;) {
    p.thresholds = choose_thresholds(e, p.present, max_loss);
    const std::vector<double> r = saving_ratios(e, p);
    int worst = -1;
    for (size_t i = 0; i < r.size(); ++i)
      if (p.present[i] && (worst < 0 || r[i] < r[size_t(worst)])) worst = int(i);
    const ExitOutcomeSummary s = simulate_exits(e, p);
    if (log) {
      std::ostringstream line;
      line << "exits";
      for (size_t i = 0; i < r.size(); ++i)
        if (p.present[i]) line << " [" << i << "] threshold " << p.thresholds[i] << " R " << r[i];
      line << ": mIoU " << s.miou << " (network " << s.network_miou << "), MACs " << s.mean_macs / s.network_macs;
      log->push_back(line.str());
    }
    if (worst < 0 || r[size_t(worst)] > 1.0) return p;
    p.present[size_t(worst)] = false;
    if (log) log->push_back("removed exit [" + std::to_string(worst) + "]: R <= 1");
  }
}

}  // namespace gearnn

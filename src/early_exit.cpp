#include "early_exit.h"

#include "error.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace gearnn {

namespace {

std::string conv_name(const ExitSpec& spec, size_t i) { return "exit." + spec.after + ".conv" + std::to_string(i); }
std::string classifier_name(const ExitSpec& spec) { return "exit." + spec.after + ".classifier"; }

// Stride-8 output size of a stage, as the trunk's convs round it.
int64_t stage_extent(int64_t extent, int output_stride) {
  for (int s = output_stride; s > 1; s /= 2) extent = (extent - 1) / 2 + 1;
  return extent;
}

}  // namespace

std::string exit_head_text(const ExitSpec& spec) {
  if (spec.convs == 0) return "classifier only";
  return std::to_string(spec.convs) + " x conv " + std::to_string(spec.channels) +
         (spec.dilation != 1 ? " dilated " + std::to_string(spec.dilation) : "");
}

std::vector<std::string> exit_candidate_stages(const Architecture& arch) {
  std::vector<std::string> out;
  const auto& stages = arch.stages();
  for (size_t i = 0; i + 1 < stages.size(); ++i)
    if (stages[i].output_stride == 8) out.push_back(stages[i].prefix);
  return out;
}

ExitHead exit_head_layout(const Architecture& arch, const ExitSpec& spec, const ExitHead* previous) {
  const auto stage = arch.find_stage(spec.after);
  std::string candidates;
  for (const auto& c : exit_candidate_stages(arch)) candidates += (candidates.empty() ? "" : ", ") + c;
  if (!stage || arch.stages()[*stage].output_stride != 8 || *stage + 1 == arch.stages().size())
    throw Error("an exit cannot follow '" + spec.after + "' in " + arch.name() + " (candidates: " + candidates + ")");
  if (previous && *stage <= previous->stage)
    throw Error("the exit after '" + spec.after + "' is listed after the one after '" + previous->spec.after +
                "'; exits go in trunk order");
  if (spec.convs < 0 || (spec.convs > 0 && spec.channels < 1) || spec.dilation < 1)
    throw Error("the exit after '" + spec.after + "' needs convs >= 0, channels >= 1 and dilation >= 1");
  ExitHead head;
  head.spec = spec;
  head.stage = *stage;
  head.end_step = arch.stages()[*stage].end_step;
  head.in_channels = arch.stages()[*stage].channels;
  return head;
}

at::Tensor ExitHead::scores(const at::Tensor& features) const {
  at::Tensor x = features;
  const int d = spec.dilation;
  for (size_t i = 0; i < conv_weights.size(); ++i) x = at::relu(conv2d(x, conv_weights[i], conv_biases[i], 1, d, d));
  return conv2d(x, classifier_weight, classifier_bias, 1, 0, 1);
}

std::vector<at::Tensor*> ExitHead::tensors() {
  std::vector<at::Tensor*> out;
  for (size_t i = 0; i < conv_weights.size(); ++i) {
    out.push_back(&conv_weights[i]);
    out.push_back(&conv_biases[i]);
  }
  out.push_back(&classifier_weight);
  out.push_back(&classifier_bias);
  return out;
}

NamedTensors ExitHead::named_tensors() const {
  NamedTensors out;
  for (size_t i = 0; i < conv_weights.size(); ++i) {
    out[conv_name(spec, i) + ".weight"] = conv_weights[i];
    out[conv_name(spec, i) + ".bias"] = conv_biases[i];
  }
  out[classifier_name(spec) + ".weight"] = classifier_weight;
  out[classifier_name(spec) + ".bias"] = classifier_bias;
  return out;
}

int64_t ExitHead::params() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_tensors()) n += t.numel();
  return n;
}

namespace {

// The shapes of a head's tensors, in the order of ExitHead::tensors().
std::vector<std::pair<std::string, std::vector<int64_t>>> head_shapes(const Architecture& arch, const ExitHead& h) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  int64_t in = h.in_channels;
  for (int i = 0; i < h.spec.convs; ++i) {
    out.push_back({conv_name(h.spec, size_t(i)) + ".weight", {h.spec.channels, in, 3, 3}});
    out.push_back({conv_name(h.spec, size_t(i)) + ".bias", {h.spec.channels}});
    in = h.spec.channels;
  }
  out.push_back({classifier_name(h.spec) + ".weight", {arch.classes(), in, 1, 1}});
  out.push_back({classifier_name(h.spec) + ".bias", {arch.classes()}});
  return out;
}

void size_tensors(ExitHead& h) {
  h.conv_weights.resize(size_t(h.spec.convs));
  h.conv_biases.resize(size_t(h.spec.convs));
}

}  // namespace

ExitHead initial_exit_head(const Architecture& arch, const ExitSpec& spec, uint64_t seed) {
  ExitHead h = exit_head_layout(arch, spec);
  size_tensors(h);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const auto shapes = head_shapes(arch, h);
  const auto slots = h.tensors();
  for (size_t i = 0; i < slots.size(); ++i) {
    const auto& shape = shapes[i].second;
    if (shape.size() == 1) {
      *slots[i] = at::zeros(shape);
    } else {
      const double fan_in = double(shape[1] * shape[2] * shape[3]);
      *slots[i] = at::empty(shape).normal_(0.0, std::sqrt(2.0 / fan_in), gen);
    }
  }
  return h;
}

std::vector<ExitHead> load_exit_heads(const Architecture& arch, const std::vector<ExitSpec>& specs, TensorFile& file,
                                      const std::string& path, const at::Device& device) {
  std::vector<ExitHead> heads;
  for (const ExitSpec& spec : specs) {
    ExitHead h;
    try {
      h = exit_head_layout(arch, spec, heads.empty() ? nullptr : &heads.back());
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    size_tensors(h);
    const auto shapes = head_shapes(arch, h);
    const auto slots = h.tensors();
    for (size_t i = 0; i < slots.size(); ++i) {
      const auto& [name, shape] = shapes[i];
      auto it = file.tensors.find(name);
      if (it == file.tensors.end()) throw Error(path + ": tensor '" + name + "' is missing (exit after " + spec.after + ")");
      if (it->second.scalar_type() != at::kFloat)
        throw Error(path + ": tensor '" + name + "': dtype " + std::string(c10::toString(it->second.scalar_type())) +
                    ", expected float32");
      if (it->second.sizes().vec() != shape)
        throw Error(path + ": tensor '" + name + "': shape " + c10::str(it->second.sizes()) + ", the manifest's exit needs " +
                    c10::str(at::IntArrayRef(shape)));
      *slots[i] = it->second.to(device);
      file.tensors.erase(it);
    }
    heads.push_back(std::move(h));
  }
  if (!file.tensors.empty())
    throw Error(path + ": tensor '" + file.tensors.begin()->first + "' belongs to no exit the manifest lists");
  return heads;
}

double exit_confidence(const at::Tensor& scores) {
  return at::softmax(scores, 1).amax(1).mean().item<double>();
}

at::Tensor scores_with_exits(const Architecture& arch, const WeightTable& weights, const std::vector<ExitHead>& heads,
                             const std::vector<double>& thresholds, const at::Tensor& input, ExitOutcome& outcome) {
  if (thresholds.size() != heads.size())
    throw Error(std::to_string(thresholds.size()) + " exit thresholds for " + std::to_string(heads.size()) + " exits");
  at::Tensor x = input;
  size_t step = 0;
  for (size_t i = 0; i < heads.size(); ++i) {
    x = arch.trunk(weights, std::move(x), step, heads[i].end_step);
    step = heads[i].end_step;
    at::Tensor s = heads[i].scores(x);
    const double confidence = exit_confidence(s);
    if (confidence >= thresholds[i]) {
      outcome = {int(i), confidence};
      return s;
    }
  }
  outcome = {-1, 0.0};
  return arch.classify(weights, arch.trunk(weights, std::move(x), step, arch.stages().back().end_step));
}

ExitCosts exit_costs(const Architecture& arch, const std::vector<ExitHead>& heads, int64_t height, int64_t width) {
  const std::vector<int64_t> steps = arch.step_macs(height, width);
  std::vector<int64_t> before(steps.size() + 1, 0);  // before[k]: steps [0, k)
  for (size_t k = 0; k < steps.size(); ++k) before[k + 1] = before[k] + steps[k];
  ExitCosts c;
  c.full = before.back();
  int64_t heads_so_far = 0;
  for (const ExitHead& h : heads) {
    const int stride = arch.stages()[h.stage].output_stride;
    const int64_t pixels = stage_extent(height, stride) * stage_extent(width, stride);
    int64_t in = h.in_channels, n = 0;
    for (int i = 0; i < h.spec.convs; ++i) {
      n += int64_t(h.spec.channels) * in * 9 * pixels;
      in = h.spec.channels;
    }
    n += int64_t(arch.classes()) * in * pixels;
    c.head.push_back(n);
    heads_so_far += n;
    c.at_exit.push_back(before[h.end_step] + heads_so_far);
  }
  c.through = c.full + heads_so_far;
  return c;
}

}  // namespace gearnn

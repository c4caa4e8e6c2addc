#pragma once
// FlexDNN's early exits (Fang et al., SEC 2020) on the DRN trunk, for
// segmentation. An exit is a small head after a stage at output stride 8:
// `convs` 3x3 convs with bias and ReLU, then a 1x1 classifier with bias. Its
// 1/8-resolution scores stand in for the network's when the frame is
// confident enough there; the confidence of a frame is the mean over its
// pixels of the top class probability. The heads read the trunk of whichever
// level is selected, so exits and GearNN's adaptors compose, and a level may
// have thresholds of its own (distorted frames are usually less confident).
#include "drn.h"
#include "manifest.h"
#include "tensor_file.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gearnn {

struct ExitHead {
  ExitSpec spec;
  size_t stage = 0;     // index in Architecture::stages()
  size_t end_step = 0;  // the trunk steps [0, end_step) run before it
  int64_t in_channels = 0;
  std::vector<at::Tensor> conv_weights, conv_biases;
  at::Tensor classifier_weight, classifier_bias;

  // Features of its stage (N x in_channels x h x w) to scores (N x classes x h x w).
  at::Tensor scores(const at::Tensor& features) const;
  // Every tensor, for training (requires_grad) and for writing.
  std::vector<at::Tensor*> tensors();
  NamedTensors named_tensors() const;
  int64_t params() const;
};

// A head's place and shape, checked against the architecture: the stage
// exists, works at output stride 8, is not the last, and follows the stage of
// `previous` (heads are kept in trunk order). Throws gearnn::Error.
ExitHead exit_head_layout(const Architecture& arch, const ExitSpec& spec, const ExitHead* previous = nullptr);
// The stages an exit may follow: those at output stride 8 but the last.
std::vector<std::string> exit_candidate_stages(const Architecture& arch);

// "2 x conv 64", or "classifier only".
std::string exit_head_text(const ExitSpec& spec);

// A head with fresh weights (He-normal convs, zero biases), deterministic for a seed.
ExitHead initial_exit_head(const Architecture& arch, const ExitSpec& spec, uint64_t seed);
// The heads of `specs` from `file` (read from `path`): exactly their tensors,
// float32 and of their shapes, on `device`.
std::vector<ExitHead> load_exit_heads(const Architecture& arch, const std::vector<ExitSpec>& specs,
                                      TensorFile& file, const std::string& path, const at::Device& device);

// Mean over pixels of the top class probability of 1 x C x h x w scores.
double exit_confidence(const at::Tensor& scores);

// Where a frame left the network.
struct ExitOutcome {
  int exit = -1;  // index into the heads; -1: the whole network
  double confidence = 0;  // at the exit taken (0 for the whole network)
};

// The trunk stage by stage; at each head its scores and confidence, and the
// first head whose confidence reaches thresholds[i] gives the frame's scores.
// Else the network's own classifier. One frame (N = 1).
at::Tensor scores_with_exits(const Architecture& arch, const WeightTable& weights, const std::vector<ExitHead>& heads,
                             const std::vector<double>& thresholds, const at::Tensor& input, ExitOutcome& outcome);

// Multiply-accumulates on a height x width input: the whole network without
// exits; `at_exit[i]` for a frame that leaves at head i (the trunk up to it,
// the heads it passed and its own); `through` for a frame that passes every
// head and takes the whole network.
struct ExitCosts {
  int64_t full = 0;
  std::vector<int64_t> head, at_exit;
  int64_t through = 0;
};
ExitCosts exit_costs(const Architecture& arch, const std::vector<ExitHead>& heads, int64_t height, int64_t width);

}  // namespace gearnn

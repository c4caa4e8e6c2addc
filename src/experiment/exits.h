#pragma once
// Builds FlexDNN's early exits for a bundle (gearnn exits). Heads are trained
// on the frozen trunk of the bundle's default level with the base's loss; each
// is then pruned (filters by L1 norm, then whole convs, each step fine-tuned)
// while its mIoU stays within a tolerance of the over-parameterised head's
// (the exit-architecture search); thresholds are chosen on selection frames
// for a stated mIoU loss of the whole; and exits whose saving ratio R (compute
// they save over compute they add) is at most 1 are removed one at a time
// (the insertion plan). Without search and plan the same code gives
// BranchyNet-style exits: a fixed head at every candidate stage.
#include "data/dataset.h"
#include "early_exit.h"
#include "eval/confusion.h"

#include <functional>
#include <string>
#include <vector>

namespace gearnn {

class Bundle;

// Whole frames through the trunk once: the features at every candidate stage,
// the network's own scores, and the labels.
struct ExitFrames {
  std::vector<size_t> stages;                     // Architecture::stages() indices of the candidates
  std::vector<std::vector<at::Tensor>> features;  // [frame][candidate]: 1 x C x h x w
  std::vector<at::Tensor> network_scores;         // [frame]: 1 x classes x h x w
  std::vector<ClassMap> labels;
  std::vector<std::pair<int, int>> sizes;  // the frames' width and height
};
ExitFrames collect_exit_frames(const Bundle& bundle, size_t level, const Dataset& dataset,
                               const std::vector<std::string>& stages,
                               const std::function<RgbImage(size_t)>& image_source = {});

struct ExitTraining {
  int epochs = 20;
  double lr = 0.01, momentum = 0.9, weight_decay = 1e-4;
  int batch = 8;
  uint64_t seed = 1;
  double distill = 0;  // weight of the KL divergence from the network's own class probabilities
};
// SGD on the head alone (poly schedule), NLL of the up-sampled scores with the
// base's class weights, over `frames` in a seeded order; with `distill`, plus
// that weight times the per-pixel KL from the network's probabilities at
// stride 8 (a head that errs where the network errs loses less when it stands
// in for it).
void train_exit_head(ExitHead& head, size_t candidate, const ExitFrames& frames, const Bundle& bundle,
                     const ExitTraining& options);

// Per frame: the head's confidence and the confusion of its class map.
struct ExitScores {
  std::vector<double> confidence;
  std::vector<ConfusionMatrix> confusion;
  ConfusionMatrix total() const;
};
ExitScores score_exit_head(const ExitHead& head, size_t candidate, const ExitFrames& frames, const Bundle& bundle);
std::vector<ConfusionMatrix> score_network(const ExitFrames& frames, const Bundle& bundle);

// The head with the `channels` filters of largest L1 norm kept in every conv.
ExitHead pruned_exit_head(const Architecture& arch, const ExitHead& head, int channels);
// The head without its last conv (the classifier re-initialised on what is left).
ExitHead shallower_exit_head(const Architecture& arch, const ExitHead& head, uint64_t seed);

// What exits do on a set of frames: which exits are present, with which
// thresholds (a frame leaves at the first present exit whose confidence
// reaches its threshold), against the network alone.
struct ExitPolicy {
  std::vector<bool> present;
  std::vector<double> thresholds;
};
struct ExitOutcomeSummary {
  double miou = 0, network_miou = 0;
  double mean_macs = 0, network_macs = 0;  // per frame
  std::vector<double> exit_rate;           // per candidate, fraction of frames
  ConfusionMatrix confusion{1};
};
struct ExitEvidence {
  std::vector<ExitScores> heads;         // per candidate
  std::vector<ConfusionMatrix> network;  // per frame
  std::vector<ExitCosts> costs;          // per frame
};
ExitOutcomeSummary simulate_exits(const ExitEvidence& evidence, const ExitPolicy& policy);
// FlexDNN's R of each present exit: the compute its leaving frames save
// (what they skip against the plan without it, less the head), over the
// compute its head adds to the frames that reach it and cannot leave there;
// R > 1 exactly when the exit lowers the mean cost. Absent exits get 0; an
// exit that every frame reaching it leaves gets infinity.
std::vector<double> saving_ratios(const ExitEvidence& evidence, const ExitPolicy& policy);
// Lowers thresholds greedily, by the best saving per mIoU point lost, while
// the loss against the network stays within `max_loss` points.
std::vector<double> choose_thresholds(const ExitEvidence& evidence, const std::vector<bool>& present, double max_loss);
// Thresholds, then removal of the lowest-R exit while some R <= 1; `log` gets one line per step.
ExitPolicy plan_exits(const ExitEvidence& evidence, double max_loss, std::vector<std::string>* log = nullptr);

}  // namespace gearnn

#pragma once
// A one-line progress bar on stderr: epoch, batch, loss, images/s, ETA.
#include <chrono>
#include <string>

namespace gearnn {

class ProgressLine {
public:
  ProgressLine(std::string label, int epochs, size_t batches_per_epoch, bool enabled);
  void update(int epoch, size_t batch, double loss, size_t images);  // epoch 1-based, batch 1-based
  void end_epoch(int epoch, double loss, double images_per_second, double seconds);

private:
  std::string label_;
  int epochs_;
  size_t batches_;
  bool enabled_;
  std::chrono::steady_clock::time_point epoch_start_, run_start_;
  size_t images_ = 0;
  int first_epoch_ = 0;
};

}  // namespace gearnn

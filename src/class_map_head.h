#pragma once
// From network outputs to class maps. The exact path takes full-resolution
// log-probabilities (Architecture::forward) and keeps the best class of each
// pixel. The fused path takes the 1/8-resolution scores (Architecture::scores)
// and computes only what the class map needs: per output pixel it
// interpolates each class bilinearly (align_corners=False, as the fixed `up`
// filter does inside the frame) and keeps the best, without materialising
// C x H x W scores or the log-softmax, which cannot change the argmax. At the
// border the transposed conv `up` lacks the taps outside the frame, which
// scales every class of a pixel by the same positive factor, so the argmax is
// that of the clamped interpolation here; only ties broken by rounding differ.
#include "image.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace gearnn {

// Class indices of log-probabilities (N = 1), cropped to width x height.
ClassMap argmax_class_map(const at::Tensor& log_probs, int width, int height);
// The same into `classes` (width x height bytes).
void argmax_into(const at::Tensor& log_probs, int width, int height, uint8_t* classes);

// The fused path for one stream: interpolation tables and the row buffer are
// kept while the sizes hold.
class UpsampledArgmax {
public:
  // `scores`: 1 x C x h x w; the class map is the top-left width x height of
  // the 8x up-sampling (width <= 8w, height <= 8h). On a GPU it up-samples there.
  void run(const at::Tensor& scores, int width, int height, uint8_t* classes);

private:
  struct Axis {
    std::vector<int32_t> low, high;  // source indices, clamped
    std::vector<float> frac;         // weight of `high`
    void build(int source, int output);
  };
  Axis rows_, cols_;
  int classes_ = 0, source_h_ = 0, source_w_ = 0, width_ = 0, height_ = 0;
  std::vector<float> horizontal_;  // C x h x width: each source row up-sampled across
};

}  // namespace gearnn

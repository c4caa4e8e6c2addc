#pragma once
// Scores a weight table on a dataset: every image through the model at its
// own size, the class map compared with the label at the label's size. Also
// test-time BN adaptation, the label-free baseline: the base's BN statistics
// re-estimated on a level's own frames.
#include "data/dataset.h"
#include "drn.h"
#include "eval/confusion.h"
#include "manifest.h"

#include <functional>

namespace gearnn {

// `image_source(i)`: the image of sample i (distorted, perhaps smaller); empty = the dataset's own.
// With `frame_statistics`, every BN layer normalises each frame with that
// frame's own statistics (test-time BN adaptation at a batch of one frame).
ConfusionMatrix evaluate(const Architecture& arch, const WeightTable& weights, const Normalization& normalization,
                         const Dataset& dataset, const std::function<RgbImage(size_t)>& image_source = {},
                         bool frame_statistics = false);

// `weights` with every BN layer's running mean and variance replaced by their
// average over the dataset's frames (from image_source), in batches of up to
// `batch` frames of one size; no labels are read. The other tensors are shared.
WeightTable adapt_bn_statistics(const Architecture& arch, const WeightTable& weights,
                                const Normalization& normalization, const Dataset& dataset,
                                const std::function<RgbImage(size_t)>& image_source, int batch = 8);

}  // namespace gearnn

#pragma once
// Scores a weight table on a dataset: every image through the model at its
// own size, the class map compared with the label at the label's size.
#include "data/dataset.h"
#include "drn.h"
#include "eval/confusion.h"
#include "manifest.h"

#include <functional>

namespace gearnn {

// `image_source(i)`: the image of sample i (distorted, perhaps smaller); empty = the dataset's own.
ConfusionMatrix evaluate(const Architecture& arch, const WeightTable& weights, const Normalization& normalization,
                         const Dataset& dataset, const std::function<RgbImage(size_t)>& image_source = {});

}  // namespace gearnn

#pragma once
// The one way weights get from a tensor file into an architecture's weight
// table (bundles, adaptors, training checkpoints, whole models, imports):
// each tensor must be present, float32 and of the architecture's shape;
// errors name the file, the tensor and what was expected.
#include "drn.h"
#include "tensor_file.h"

#include <c10/core/Device.h>

#include <string>
#include <vector>

namespace gearnn {

// Moves the tensors of `slots` out of `file` (read from `path`) into `table`,
// on `device`. `owner` completes "is missing (...)": the architecture or the layer.
void take_weights(TensorFile& file, const std::string& path, const Architecture& arch,
                  const std::vector<size_t>& slots, const at::Device& device, WeightTable& table,
                  const std::string& owner);

// Every slot of `arch`, moved out of `file`.
WeightTable take_all_weights(TensorFile& file, const std::string& path, const Architecture& arch,
                             const at::Device& device);

// Throws when `file` still holds a tensor: "tensor 'x' <why>".
void refuse_leftover_tensors(const TensorFile& file, const std::string& path, const std::string& why);

// A whole model from `path`: exactly the architecture's tensors.
WeightTable read_weights(const Architecture& arch, const std::string& path, const at::Device& device);

}  // namespace gearnn

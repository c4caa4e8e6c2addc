#pragma once
// safetensors files: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then the
// raw little-endian data. The reader checks every field before it trusts it.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace gearnn {

using NamedTensors = std::map<std::string, at::Tensor>;
using TensorFileMetadata = std::map<std::string, std::string>;

struct TensorFile {
  NamedTensors tensors;  // contiguous CPU tensors that own their memory
  TensorFileMetadata metadata;
};

// Throws gearnn::Error naming the file (and the tensor) on any problem.
TensorFile read_tensor_file(const std::string& path);
// The same from the file's bytes; `path` names it in errors.
TensorFile parse_tensor_file(const std::vector<char>& bytes, const std::string& path);

// Tensors are written in name order; they may live on any device.
void write_tensor_file(const std::string& path, const NamedTensors& tensors,
                       const TensorFileMetadata& metadata = {});

}  // namespace gearnn

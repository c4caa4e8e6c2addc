#include "weight_file.h"

#include "error.h"

#include <ATen/ATen.h>

namespace gearnn {

void take_weights(TensorFile& file, const std::string& path, const Architecture& arch,
                  const std::vector<size_t>& slots, const at::Device& device, WeightTable& table,
                  const std::string& owner) {
  table.resize(arch.slots().size());
  for (size_t s : slots) {
    const TensorSlot& slot = arch.slots().at(s);
    auto it = file.tensors.find(slot.name);
    if (it == file.tensors.end()) throw Error(path + ": tensor '" + slot.name + "' is missing (" + owner + ")");
    const at::Tensor& t = it->second;
    if (t.scalar_type() != at::kFloat)
      throw Error(path + ": tensor '" + slot.name + "': dtype " + std::string(c10::toString(t.scalar_type())) +
                  ", expected float32");
    if (t.sizes().vec() != slot.shape)
      throw Error(path + ": tensor '" + slot.name + "': shape " + c10::str(t.sizes()) + ", " + arch.name() +
                  " needs " + c10::str(at::IntArrayRef(slot.shape)));
    table[s] = t.to(device);
    file.tensors.erase(it);
  }
}

WeightTable take_all_weights(TensorFile& file, const std::string& path, const Architecture& arch,
                             const at::Device& device) {
  std::vector<size_t> all(arch.slots().size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  WeightTable table;
  take_weights(file, path, arch, all, device, table, arch.name());
  return table;
}

void refuse_leftover_tensors(const TensorFile& file, const std::string& path, const std::string& why) {
  if (!file.tensors.empty()) throw Error(path + ": tensor '" + file.tensors.begin()->first + "' " + why);
}

WeightTable read_weights(const Architecture& arch, const std::string& path, const at::Device& device) {
  TensorFile file = read_tensor_file(path);
  WeightTable table = take_all_weights(file, path, arch, device);
  refuse_leftover_tensors(file, path, "is not part of " + arch.name());
  return table;
}

}  // namespace gearnn

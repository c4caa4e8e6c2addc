#include "bundle.h"

#include "error.h"
#include "sha256.h"
#include "weight_file.h"

#include <ATen/ATen.h>

#include <cctype>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

namespace gearnn {
namespace fs = std::filesystem;

namespace {

void check_hash(const std::string& path, const std::string& expected) {
  const std::string actual = sha256_of_file(path);
  if (actual != expected)
    throw Error(path + ": SHA-256 does not match the manifest (file " + actual + ", manifest " + expected +
                "): the file was changed or truncated");
}

}  // namespace

at::Device parse_device(const std::string& device) {
  at::Device d(at::kCPU);
  try {
    d = at::Device(device);
  } catch (const std::exception&) {
    throw Error("unknown device '" + device + "' (use cpu, cuda or cuda:N)");
  }
  if (d.is_cuda() && !at::hasCUDA())
    throw Error("device '" + device + "': this build of LibTorch has no CUDA support or no GPU is visible");
  if (!d.is_cpu() && !d.is_cuda()) throw Error("unsupported device '" + device + "' (use cpu or cuda)");
  return d;
}

Bundle::Bundle(std::string folder, Manifest manifest, const at::Device& device)
    : folder_(std::move(folder)),
      manifest_(std::move(manifest)),
      architecture_(manifest_.architecture, int(manifest_.classes.size()), manifest_.width),
      device_(device),
      matcher_([this] {
        std::vector<Distortion> d;
        for (const auto& l : manifest_.levels) d.push_back(l.distortion);
        return d;
      }()) {}

std::shared_ptr<const Bundle> Bundle::load(const std::string& bundle, const std::string& device_name,
                                          DescriptorCheck check, Folding folding) {
  const std::string manifest_path = manifest_path_of(bundle);
  const std::string folder = fs::path(manifest_path).parent_path().string();
  Manifest manifest = read_manifest(manifest_path);
  if (check == DescriptorCheck::current) check_measure_version(manifest, manifest_path);
  const at::Device device = parse_device(device_name);

  std::shared_ptr<Bundle> b;
  try {
    b.reset(new Bundle(folder, manifest, device));
  } catch (const Error& e) {
    throw Error(manifest_path + ": " + e.what());
  }
  const Architecture& arch = b->architecture_;
  auto in_folder = [&](const std::string& file) { return (fs::path(folder) / file).string(); };

  // Base: exactly the architecture's tensors.
  const std::string base_path = in_folder(manifest.base_file);
  check_hash(base_path, manifest.base_sha256);
  b->base_ = read_weights(arch, base_path, device);

  // Adaptors: exactly the tensors of the layers they name.
  for (const LevelSpec& level : manifest.levels) {
    WeightTable table = b->base_;  // shares every tensor with the base
    if (level.adaptor) {
      const std::string path = in_folder(level.adaptor->file);
      check_hash(path, level.adaptor->sha256);
      TensorFile adaptor = read_tensor_file(path);
      std::set<std::string> seen;
      for (const std::string& layer_name : level.adaptor->layers) {
        const auto layer = arch.find_layer(layer_name);
        if (!layer) throw Error(path + ": layer '" + layer_name + "' is not a layer of " + arch.name());
        if (!seen.insert(layer_name).second) throw Error(path + ": layer '" + layer_name + "' is listed twice");
        take_weights(adaptor, path, arch, arch.layers()[*layer].slots, device, table, "layer " + layer_name);
      }
      refuse_leftover_tensors(adaptor, path, "belongs to no layer the manifest lists for level '" + level.name + "'");
    }
    b->level_weights_.push_back(std::move(table));
  }
  if (manifest.exits) {
    const std::string path = in_folder(manifest.exits->file);
    check_hash(path, manifest.exits->sha256);
    TensorFile file = read_tensor_file(path);
    b->exits_ = load_exit_heads(arch, manifest.exits->heads, file, path, device);
  }
  if (folding == Folding::inference) {
    std::vector<bool> adapted(arch.layers().size(), false);
    for (const LevelSpec& level : manifest.levels)
      if (level.adaptor)
        for (const std::string& name : level.adaptor->layers) adapted[*arch.find_layer(name)] = true;
    b->folding_ = fold_batch_norms(arch, adapted, b->base_, b->level_weights_);
  }
  return b;
}

std::shared_ptr<const Bundle> Bundle::load_shared(const std::string& bundle, const std::string& device) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>, std::weak_ptr<const Bundle>> cache;

  std::error_code ec;
  fs::path canonical = fs::canonical(manifest_path_of(bundle), ec);
  const auto key = std::make_pair(ec ? bundle : canonical.string(), parse_device(device).str());

  std::lock_guard<std::mutex> lock(mutex);
  if (auto found = cache[key].lock()) return found;
  auto loaded = load(bundle, device, DescriptorCheck::current, Folding::inference);
  cache[key] = loaded;
  return loaded;
}

std::optional<size_t> Bundle::find_level(const std::string& name) const {
  for (size_t i = 0; i < manifest_.levels.size(); ++i)
    if (manifest_.levels[i].name == name) return i;
  return std::nullopt;
}

size_t Bundle::default_level() const {
  for (size_t i = 0; i < manifest_.levels.size(); ++i)
    if (!manifest_.levels[i].adaptor) return i;
  return 0;
}

double Bundle::exit_threshold(size_t exit, size_t level) const {
  const ExitSpec& spec = exits_.at(exit).spec;
  const auto own = spec.level_thresholds.find(manifest_.levels.at(level).name);
  return own != spec.level_thresholds.end() ? own->second : spec.threshold;
}

int64_t Bundle::adaptor_params(size_t level) const {
  const auto& adaptor = manifest_.levels.at(level).adaptor;
  if (!adaptor) return 0;
  int64_t n = 0;
  for (const auto& name : adaptor->layers) n += architecture_.layers()[*architecture_.find_layer(name)].size;
  return n;
}

double Bundle::memory_overhead_percent() const {
  int64_t n = 0;
  for (size_t i = 0; i < level_count(); ++i) n += adaptor_params(i);
  return 100.0 * double(n) / double(base_params());
}

NamedTensors named_weights(const Architecture& arch, const WeightTable& weights) {
  NamedTensors out;
  for (size_t i = 0; i < arch.slots().size(); ++i) out[arch.slots()[i].name] = weights.at(i);
  return out;
}

NamedTensors named_layers(const Architecture& arch, const WeightTable& weights,
                          const std::vector<std::string>& layers) {
  NamedTensors out;
  for (const std::string& name : layers) {
    const auto layer = arch.find_layer(name);
    if (!layer) throw Error("'" + name + "' is not a layer of " + arch.name());
    for (size_t s : arch.layers()[*layer].slots) out[arch.slots()[s].name] = weights.at(s);
  }
  return out;
}

std::string file_safe_name(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '@') c = '_';
  return out;
}

void write_bundle(const std::string& folder, Manifest manifest, const NamedTensors& base,
                  const std::vector<NamedTensors>& adaptors) {
  if (adaptors.size() != manifest.levels.size())
    throw Error(folder + ": " + std::to_string(adaptors.size()) + " adaptors for " +
                std::to_string(manifest.levels.size()) + " levels");
  fs::create_directories(folder);
  auto in_folder = [&](const std::string& file) { return (fs::path(folder) / file).string(); };

  manifest.base_file = "base.safetensors";
  write_tensor_file(in_folder(manifest.base_file), base, {{"architecture", manifest.architecture}});
  manifest.base_sha256 = sha256_of_file(in_folder(manifest.base_file));
  // Exits are tensors of their own that only write_bundle_exits writes, and
  // heads trained on another trunk do not belong to these weights.
  manifest.exits.reset();

  for (size_t i = 0; i < adaptors.size(); ++i) {
    LevelSpec& level = manifest.levels[i];
    if (adaptors[i].empty()) {
      level.adaptor.reset();
      continue;
    }
    if (!level.adaptor) throw Error(folder + ": level '" + level.name + "' has tensors but no adaptor layers");
    level.adaptor->file = "adaptor-" + file_safe_name(level.name) + ".safetensors";
    write_tensor_file(in_folder(level.adaptor->file), adaptors[i], {{"level", level.name}});
    level.adaptor->sha256 = sha256_of_file(in_folder(level.adaptor->file));
  }
  write_manifest(in_folder("manifest.json"), manifest);
}

void write_bundle_exits(const std::string& folder, const std::vector<ExitHead>& heads) {
  const std::string manifest_path = manifest_path_of(folder);
  Manifest manifest = read_manifest(manifest_path);
  if (heads.empty()) {
    manifest.exits.reset();
    write_manifest(manifest_path, manifest);
    return;
  }
  ExitsRef ref;
  ref.file = "exits.safetensors";
  NamedTensors tensors;
  for (const ExitHead& h : heads) {
    ref.heads.push_back(h.spec);
    for (const auto& [name, t] : h.named_tensors()) tensors[name] = t.detach();
  }
  const std::string path = (fs::path(manifest_path).parent_path() / ref.file).string();
  write_tensor_file(path, tensors, {{"architecture", manifest.architecture}});
  ref.sha256 = sha256_of_file(path);
  manifest.exits = ref;
  write_manifest(manifest_path, manifest);
}

}  // namespace gearnn

#pragma once
// A loaded bundle: the manifest, the architecture, one resident base and every
// adaptor, on one device. For each level it keeps a weight table whose entries
// are the base tensors except where the level's adaptor replaces a layer; no
// tensor data is duplicated between levels.
#include "bn_folding.h"
#include "drn.h"
#include "early_exit.h"
#include "manifest.h"
#include "tensor_file.h"

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gearnn {

// Whether a bundle's level descriptors must follow this build's measurement
// definitions (check_measure_version): always where levels are matched;
// offline commands that only take a bundle's base, and inspect, skip it.
enum class DescriptorCheck { current, skip };

// Whether conv+BN pairs that no adaptor touches are folded (bn_folding.h):
// for inference only; training and evaluation of the base need them apart.
enum class Folding { none, inference };

class Bundle {
public:
  // Reads and validates everything (hashes, names, shapes, dtypes). Throws
  // gearnn::Error naming the file and the problem. `device`: "cpu", "cuda", "cuda:N".
  static std::shared_ptr<const Bundle> load(const std::string& bundle, const std::string& device = "cpu",
                                            DescriptorCheck check = DescriptorCheck::current,
                                            Folding folding = Folding::none);

  // One resident copy per bundle folder and device in the process, folded for
  // inference: every caller naming the same bundle gets the same object while
  // any caller holds it.
  static std::shared_ptr<const Bundle> load_shared(const std::string& bundle,
                                                   const std::string& device = "cpu");

  const std::string& folder() const { return folder_; }
  const Manifest& manifest() const { return manifest_; }
  const Architecture& architecture() const { return architecture_; }
  const at::Device& device() const { return device_; }

  size_t level_count() const { return level_weights_.size(); }
  std::optional<size_t> find_level(const std::string& name) const;
  const LevelMatcher& matcher() const { return matcher_; }
  // The level without an adaptor if there is one, else the first.
  size_t default_level() const;

  const WeightTable& base_weights() const { return base_; }
  // What folding did (all zero for Folding::none).
  const FoldingReport& folding() const { return folding_; }
  const WeightTable& weights(size_t level) const { return level_weights_.at(level); }

  // Early exits, in trunk order (empty: the bundle has none).
  const std::vector<ExitHead>& exits() const { return exits_; }
  // The confidence a frame of `level` needs to leave at `exit`.
  double exit_threshold(size_t exit, size_t level) const;

  int64_t base_params() const { return architecture_.params_with_buffers(); }
  int64_t adaptor_params(size_t level) const;
  // Sum of all adaptors over the base, in percent.
  double memory_overhead_percent() const;

private:
  Bundle(std::string folder, Manifest manifest, const at::Device& device);

  std::string folder_;
  Manifest manifest_;
  Architecture architecture_;
  at::Device device_;
  LevelMatcher matcher_;
  WeightTable base_;
  std::vector<WeightTable> level_weights_;
  std::vector<ExitHead> exits_;
  FoldingReport folding_;
};

// Conversions between the architecture's weight table and named tensors.
NamedTensors named_weights(const Architecture& arch, const WeightTable& weights);
NamedTensors named_layers(const Architecture& arch, const WeightTable& weights,
                          const std::vector<std::string>& layers);

// Writes base.safetensors, one <level>.safetensors per adaptor and
// manifest.json into `folder` (created if needed), filling in file names and
// hashes. `adaptors[i]` holds level i's tensors (empty: no adaptor).
void write_bundle(const std::string& folder, Manifest manifest, const NamedTensors& base,
                  const std::vector<NamedTensors>& adaptors);

// Writes `heads` into the bundle in `folder` (exits.safetensors and the
// manifest's "exits" section), replacing any exits it had.
void write_bundle_exits(const std::string& folder, const std::vector<ExitHead>& heads);

at::Device parse_device(const std::string& device);

// A level name made safe as a file name ("h264:320x240@28" -> "h264_320x240@28").
std::string file_safe_name(const std::string& name);

}  // namespace gearnn

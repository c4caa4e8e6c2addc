#include "manifest.h"

#include "checked_file.h"
#include "error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <type_traits>
#include <fstream>
#include <set>

namespace gearnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

template <typename T>
struct is_vector : std::false_type {};
template <typename U>
struct is_vector<std::vector<U>> : std::true_type {};

// Whether `v` converts to T without loss or undefined behaviour: integers in
// T's range, floats within float's, and so on through vectors and maps.
template <typename T>
bool fits(const json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max());
    if (!v.is_number_integer()) return false;
    const int64_t i = v.get<int64_t>();
    return i >= int64_t(std::numeric_limits<T>::min()) && (i < 0 || uint64_t(i) <= uint64_t(std::numeric_limits<T>::max()));
  } else if constexpr (std::is_floating_point_v<T>) {
    return v.is_number() && std::isfinite(v.get<double>()) &&
           std::fabs(v.get<double>()) <= double(std::numeric_limits<T>::max());
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v.is_string();
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array()) return false;
    for (const json& e : v)
      if (!fits<typename T::value_type>(e)) return false;
    return true;
  } else {  // std::map<std::string, U>
    if (!v.is_object()) return false;
    for (const auto& e : v.items())
      if (!fits<typename T::mapped_type>(e.value())) return false;
    return true;
  }
}

template <typename T>
T field(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw Error(where + ": missing '" + key + "'");
  if (!fits<T>(j.at(key))) throw Error(where + ": '" + key + "' has the wrong type or is out of range");
  return j.at(key).get<T>();
}

Distortion parse_distortion(const json& j, std::optional<double>& crf, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": distortion must be an object");
  Distortion d;
  for (auto item = j.begin(); item != j.end(); ++item) {
    const std::string& key = item.key();
    const json& value = item.value();
    auto number = [&]() {
      if (!value.is_number()) throw Error(where + ": distortion '" + key + "' must be a number");
      return value.get<double>();
    };
    if (key == "resolution") {
      if (!value.is_array() || value.size() != 2 || !fits<int>(value[0]) || !fits<int>(value[1]) ||
          value[0].get<int>() < 1 || value[1].get<int>() < 1)
        throw Error(where + ": distortion 'resolution' must be [width, height]");
      d.resolution = Resolution{value[0].get<int>(), value[1].get<int>()};
    } else if (key == "h264_qp") {
      d.h264_qp = number();
      if (*d.h264_qp < 0 || *d.h264_qp > 51) throw Error(where + ": h264_qp must be in 0..51");
    } else if (key == "jpeg_quality") {
      d.jpeg_quality = number();
      if (*d.jpeg_quality < 1 || *d.jpeg_quality > 100) throw Error(where + ": jpeg_quality must be in 1..100");
    } else if (key == "brightness") {
      d.brightness = number();
      if (*d.brightness < 0) throw Error(where + ": brightness must not be negative");
    } else if (key == "h264_crf") {
      crf = number();
    } else {
      throw Error(where + ": unknown distortion dimension '" + key +
                  "' (known: resolution, h264_qp, jpeg_quality, brightness, h264_crf)");
    }
  }
  return d;
}

json distortion_json(const LevelSpec& level) {
  json j = json::object();
  const Distortion& d = level.distortion;
  if (d.resolution) j["resolution"] = {d.resolution->width, d.resolution->height};
  if (d.h264_qp) j["h264_qp"] = *d.h264_qp;
  if (level.h264_crf) j["h264_crf"] = *level.h264_crf;
  if (d.jpeg_quality) j["jpeg_quality"] = *d.jpeg_quality;
  if (d.brightness) j["brightness"] = *d.brightness;
  return j;
}

std::string dimension_list(const Distortion& d) {
  std::string out;
  for (Dimension dim : kDimensions)
    if (d.has(dim)) out += (out.empty() ? "" : ", ") + std::string(dimension_name(dim));
  return out.empty() ? "none" : out;
}


ExitsRef parse_exits(const json& j, const std::set<std::string>& level_names, const std::string& path) {
  const std::string where = path + ": exits";
  if (!j.is_object()) throw Error(where + " must be an object");
  ExitsRef ref;
  ref.file = field<std::string>(j, "file", where);
  ref.sha256 = field<std::string>(j, "sha256", where);
  if (!j.contains("heads") || !j["heads"].is_array() || j["heads"].empty())
    throw Error(where + ": 'heads' must be a non-empty list");
  std::set<std::string> after;
  for (const json& h : j["heads"]) {
    ExitSpec e;
    e.after = field<std::string>(h, "after", where + ": head");
    const std::string at = where + ": head after '" + e.after + "'";
    if (!after.insert(e.after).second) throw Error(at + ": two heads follow the same stage");
    e.convs = field<int>(h, "convs", at);
    if (e.convs < 0 || e.convs > 4) throw Error(at + ": convs must be in 0..4");
    e.channels = e.convs > 0 ? field<int>(h, "channels", at) : 0;
    if (e.convs > 0 && (e.channels < 1 || e.channels > 4096)) throw Error(at + ": channels must be in 1..4096");
    if (h.contains("dilation")) e.dilation = field<int>(h, "dilation", at);
    if (e.dilation < 1 || e.dilation > 16) throw Error(at + ": dilation must be in 1..16");
    e.threshold = field<double>(h, "threshold", at);
    if (!(e.threshold > 0 && e.threshold <= 1)) throw Error(at + ": threshold must be in (0, 1]");
    if (h.contains("level_thresholds")) {
      e.level_thresholds = field<std::map<std::string, double>>(h, "level_thresholds", at);
      for (const auto& [level, t] : e.level_thresholds) {
        if (!level_names.count(level)) throw Error(at + ": level_thresholds names unknown level '" + level + "'");
        if (!(t > 0 && t <= 1)) throw Error(at + ": the threshold of level '" + level + "' must be in (0, 1]");
      }
    }
    if (h.contains("saving_ratio")) e.saving_ratio = field<double>(h, "saving_ratio", at);
    ref.heads.push_back(e);
  }
  return ref;
}

json exits_json(const ExitsRef& ref) {
  json heads = json::array();
  for (const ExitSpec& e : ref.heads) {
    json h = {{"after", e.after}, {"convs", e.convs}, {"threshold", e.threshold}};
    if (e.convs > 0) h["channels"] = e.channels;
    if (e.dilation != 1) h["dilation"] = e.dilation;
    if (!e.level_thresholds.empty()) h["level_thresholds"] = e.level_thresholds;
    if (e.saving_ratio) h["saving_ratio"] = *e.saving_ratio;
    heads.push_back(h);
  }
  return {{"file", ref.file}, {"sha256", ref.sha256}, {"heads", heads}};
}

}  // namespace

Palette Manifest::palette() const {
  Palette p;
  for (const auto& c : classes) p.push_back(c.color);
  return p;
}

std::string manifest_path_of(const std::string& bundle) {
  return fs::is_directory(bundle) ? (fs::path(bundle) / "manifest.json").string() : bundle;
}

Manifest read_manifest(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": cannot open bundle manifest: no such file or folder");
  const std::vector<char> text = read_regular_file(path, kMaxTextFileBytes);
  return parse_manifest(text.data(), text.size(), path);
}

Manifest parse_manifest(const char* text, size_t size, const std::string& path) {
  json j;
  try {
    j = json::parse(text, text + size);
  } catch (const json::exception& e) {
    throw Error(path + ": manifest is not valid JSON: " + escape_untrusted(e.what()));
  }
  if (!j.is_object()) throw Error(path + ": manifest is not a JSON object");
  if (!j.contains("format") || j["format"] != "gearnn-bundle")
    throw Error(path + ": not a gearnn bundle manifest (format)");
  const int version = field<int>(j, "version", path);
  if (version != kBundleFormatVersion)
    throw Error(path + ": bundle format version " + std::to_string(version) + ", this build reads " +
                std::to_string(kBundleFormatVersion));

  Manifest m;
  const json& arch = j.contains("architecture") ? j["architecture"] : json();
  if (!arch.is_object()) throw Error(path + ": missing 'architecture' object");
  m.architecture = field<std::string>(arch, "name", path + ": architecture");
  m.width = arch.contains("width") ? field<double>(arch, "width", path + ": architecture") : 1.0;

  if (!j.contains("classes") || !j["classes"].is_array() || j["classes"].empty())
    throw Error(path + ": 'classes' must be a non-empty list");
  if (j["classes"].size() > 255) throw Error(path + ": at most 255 classes fit a class map");
  for (const auto& c : j["classes"]) {
    ClassInfo info;
    info.name = field<std::string>(c, "name", path + ": class");
    const auto color = field<std::vector<int>>(c, "color", path + ": class " + info.name);
    if (color.size() != 3) throw Error(path + ": class " + info.name + ": color must be [r, g, b]");
    for (int i = 0; i < 3; ++i) {
      if (color[i] < 0 || color[i] > 255) throw Error(path + ": class " + info.name + ": color out of 0..255");
      info.color[i] = uint8_t(color[i]);
    }
    m.classes.push_back(info);
  }

  const json& norm = j.contains("normalization") ? j["normalization"] : json();
  if (!norm.is_object()) throw Error(path + ": missing 'normalization' object");
  const auto mean = field<std::vector<float>>(norm, "mean", path + ": normalization");
  const auto std_ = field<std::vector<float>>(norm, "std", path + ": normalization");
  if (mean.size() != 3 || std_.size() != 3) throw Error(path + ": normalization mean and std need 3 values (RGB)");
  for (int i = 0; i < 3; ++i) {
    if (!(std_[i] > 0)) throw Error(path + ": normalization std must be positive");
    m.normalization.mean[i] = mean[i];
    m.normalization.std[i] = std_[i];
  }

  const json& base = j.contains("base") ? j["base"] : json();
  if (!base.is_object()) throw Error(path + ": missing 'base' object");
  m.base_file = field<std::string>(base, "file", path + ": base");
  m.base_sha256 = field<std::string>(base, "sha256", path + ": base");

  if (j.contains("training")) {
    const json& training = j["training"];
    if (!training.is_object()) throw Error(path + ": 'training' must be an object");
    if (training.contains("class_weights")) {
      m.class_weights = field<std::vector<float>>(training, "class_weights", path + ": training");
      if (m.class_weights.size() != m.classes.size())
        throw Error(path + ": training: " + std::to_string(m.class_weights.size()) + " class weights for " +
                    std::to_string(m.classes.size()) + " classes");
      for (float w : m.class_weights)
        if (!(w >= 0 && std::isfinite(w))) throw Error(path + ": training: class weights must be finite and >= 0");
    }
  }

  if (!j.contains("levels") || !j["levels"].is_array() || j["levels"].empty())
    throw Error(path + ": 'levels' must be a non-empty list");
  std::set<std::string> names;
  for (const auto& l : j["levels"]) {
    LevelSpec level;
    level.name = field<std::string>(l, "name", path + ": level");
    const std::string where = path + ": level '" + level.name + "'";
    if (level.name.empty()) throw Error(path + ": a level has an empty name");
    if (!names.insert(level.name).second) throw Error(where + ": two levels share this name");
    if (!l.contains("distortion")) throw Error(where + ": missing 'distortion'");
    level.distortion = parse_distortion(l["distortion"], level.h264_crf, where);
    if (l.contains("adaptor") && !l["adaptor"].is_null()) {
      const json& a = l["adaptor"];
      AdaptorRef ref;
      ref.file = field<std::string>(a, "file", where + ": adaptor");
      ref.sha256 = field<std::string>(a, "sha256", where + ": adaptor");
      ref.layers = field<std::vector<std::string>>(a, "layers", where + ": adaptor");
      if (ref.layers.empty()) throw Error(where + ": adaptor lists no layers");
      level.adaptor = ref;
    }
    if (l.contains("measure")) {
      level.measure_version = field<int>(l, "measure", where);
      if (level.measure_version < 1) throw Error(where + ": 'measure' must be a version from 1");
    } else {
      level.measure_version = 1;
    }
    if (l.contains("encoder")) level.encoder = field<std::string>(l, "encoder", where);
    if (l.contains("expected")) {
      const json& e = l["expected"];
      ExpectedAccuracy x;
      x.miou = field<double>(e, "miou", where + ": expected");
      if (e.contains("class_iou")) x.class_iou = field<std::vector<double>>(e, "class_iou", where + ": expected");
      if (e.contains("split")) x.split = field<std::string>(e, "split", where + ": expected");
      if (!(x.miou >= 0 && x.miou <= 100)) throw Error(where + ": expected mIoU must be a percentage");
      for (double v : x.class_iou)
        if (!(v == -1 || (v >= 0 && v <= 100))) throw Error(where + ": expected class_iou must be percentages (-1: absent)");
      if (!x.class_iou.empty() && x.class_iou.size() != m.classes.size())
        throw Error(where + ": expected class_iou has " + std::to_string(x.class_iou.size()) + " values for " +
                    std::to_string(m.classes.size()) + " classes");
      level.expected = x;
    }
    if (l.contains("selection")) {
      const json& sel = l["selection"];
      level.budget = field<int64_t>(sel, "budget", where + ": selection");
      level.sensitivity = field<std::map<std::string, double>>(sel, "sensitivity", where + ": selection");
    }
    if (!m.levels.empty() && dimension_list(level.distortion) != dimension_list(m.levels[0].distortion))
      throw Error(where + ": describes " + dimension_list(level.distortion) + " but level '" +
                  m.levels[0].name + "' describes " + dimension_list(m.levels[0].distortion));
    m.levels.push_back(level);
  }
  if (j.contains("exits")) m.exits = parse_exits(j["exits"], names, path);
  return m;
}

void check_measure_version(const Manifest& m, const std::string& path) {
  for (const LevelSpec& l : m.levels) {
    const std::string where = path + ": level '" + l.name + "'";
    if (l.measure_version > kMeasureVersion)
      throw Error(where + ": described with measurement definitions version " + std::to_string(l.measure_version) +
                  ", newer than this build's (" + std::to_string(kMeasureVersion) + ")");
    // Version 2 redefined the H.264 QP and the brightness; resolution and JPEG quality read as before.
    const bool changed = l.distortion.h264_qp || l.distortion.brightness;
    if (l.measure_version < 2 && changed)
      throw Error(where + ": its " + (l.distortion.h264_qp ? "h264_qp" : "brightness") +
                  " was computed with measurement definitions version " + std::to_string(l.measure_version) +
                  (l.distortion.h264_qp ? " (the decoder's mean macroblock QP)" : " (the requested factor)") +
                  ", and this build measures streams with version " + std::to_string(kMeasureVersion) +
                  ", so the runtime would pick the wrong level; re-describe the bundle from the data its levels "
                  "were made from: gearnn bundle redescribe " + fs::path(path).parent_path().string() +
                  " --data DATA_ROOT (or rebuild it with gearnn adapt)");
  }
}

void write_manifest(const std::string& path, const Manifest& m) {
  json j;
  j["format"] = "gearnn-bundle";
  j["version"] = kBundleFormatVersion;
  j["architecture"] = {{"name", m.architecture}, {"width", m.width}};
  j["classes"] = json::array();
  for (const auto& c : m.classes)
    j["classes"].push_back({{"name", c.name}, {"color", {c.color[0], c.color[1], c.color[2]}}});
  j["normalization"] = {{"mean", m.normalization.mean}, {"std", m.normalization.std}};
  j["base"] = {{"file", m.base_file}, {"sha256", m.base_sha256}};
  if (!m.class_weights.empty()) j["training"] = {{"class_weights", m.class_weights}};
  j["levels"] = json::array();
  for (const auto& l : m.levels) {
    json level = {{"name", l.name}, {"distortion", distortion_json(l)}, {"measure", l.measure_version}};
    if (!l.encoder.empty()) level["encoder"] = l.encoder;
    if (l.adaptor)
      level["adaptor"] = {{"file", l.adaptor->file}, {"sha256", l.adaptor->sha256}, {"layers", l.adaptor->layers}};
    if (!l.sensitivity.empty()) level["selection"] = {{"budget", l.budget}, {"sensitivity", l.sensitivity}};
    if (l.expected) {
      level["expected"] = {{"miou", l.expected->miou}, {"split", l.expected->split}};
      if (!l.expected->class_iou.empty()) level["expected"]["class_iou"] = l.expected->class_iou;
    }
    j["levels"].push_back(level);
  }
  if (m.exits) j["exits"] = exits_json(*m.exits);
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw Error(path + ": cannot write manifest");
  out << j.dump(2) << "\n";
  if (!out.flush()) throw Error(path + ": write error");
}

std::vector<ClassInfo> builtin_classes(const std::string& dataset) {
  if (dataset == "camvid")
    return {{"Sky", {128, 128, 128}},      {"Building", {128, 0, 0}}, {"Pole", {192, 192, 128}},
            {"Road", {128, 64, 128}},      {"Pavement", {60, 40, 222}}, {"Tree", {128, 128, 0}},
            {"SignSymbol", {192, 128, 128}}, {"Fence", {64, 64, 128}}, {"Car", {64, 0, 128}},
            {"Pedestrian", {64, 64, 0}},   {"Bicyclist", {0, 128, 192}}};
  if (dataset == "cityscapes")
    return {{"road", {128, 64, 128}},     {"sidewalk", {244, 35, 232}}, {"building", {70, 70, 70}},
            {"wall", {102, 102, 156}},    {"fence", {190, 153, 153}},   {"pole", {153, 153, 153}},
            {"traffic light", {250, 170, 30}}, {"traffic sign", {220, 220, 0}}, {"vegetation", {107, 142, 35}},
            {"terrain", {152, 251, 152}}, {"sky", {70, 130, 180}},      {"person", {220, 20, 60}},
            {"rider", {255, 0, 0}},       {"car", {0, 0, 142}},         {"truck", {0, 0, 70}},
            {"bus", {0, 60, 100}},        {"train", {0, 80, 100}},      {"motorcycle", {0, 0, 230}},
            {"bicycle", {119, 11, 32}}};
  throw Error("unknown class table '" + dataset + "' (known: camvid, cityscapes)");
}

std::vector<ClassInfo> generic_classes(int count) {
  std::vector<ClassInfo> out;
  for (int i = 0; i < count; ++i) {
    // Spread hues by the golden ratio so that neighbouring indices differ.
    const unsigned h = unsigned(i * 0x9E3779B9u);
    out.push_back({"class" + std::to_string(i), {uint8_t(64 + (h >> 24) % 192), uint8_t(64 + (h >> 16) % 192),
                                                   uint8_t(64 + (h >> 8) % 192)}});
  }
  return out;
}

}  // namespace gearnn

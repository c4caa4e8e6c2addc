#include "distort/distort_images.h"

#include "distort/apply.h"
#include "distort/h264.h"
#include "checked_file.h"
#include "error.h"
#include "image.h"
#include "measure/stream_quality.h"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

namespace gearnn {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// Part of every key: bump it when the generators change what they write.
// 2: x264's default preset and fixed GOPs, slice QPs, mean luma.
constexpr int kCacheVersion = 2;

// One piece of work: a single image, or every frame of an H.264 sequence.
struct Unit {
  std::vector<size_t> inputs;  // indices into image_paths, in video order
  std::string key;
};

std::string hex_sha256(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr))
    throw Error("distort: SHA-256 failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 10; ++i) {  // 80 bits name a unit well enough
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

std::string source_identity(const std::string& path) {
  std::error_code ec;
  const fs::path full = fs::weakly_canonical(fs::absolute(path), ec);
  const auto size = fs::file_size(path, ec);
  if (ec) throw Error(path + ": cannot read (" + ec.message() + ")");
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  if (ec) throw Error(path + ": cannot read (" + ec.message() + ")");
  return full.string() + "\t" + std::to_string(size) + "\t" + std::to_string(mtime) + "\n";
}

std::string folder_name(const std::string& setting_text) {
  std::string name = setting_text;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
  return name;
}

Resolution png_size(const std::string& path) {
  const std::vector<char> start = read_regular_file_start(path, kMaxImageFileBytes, 24);
  if (start.size() < 24) throw Error(path + ": cannot read a PNG header");
  unsigned char h[24];
  std::memcpy(h, start.data(), sizeof h);
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (!std::equal(signature, signature + 8, h) || std::string(reinterpret_cast<char*>(h + 12), 4) != "IHDR")
    throw Error(path + ": not a PNG file");
  auto be32 = [&](int at) {
    return int(uint32_t(h[at]) << 24 | uint32_t(h[at + 1]) << 16 | uint32_t(h[at + 2]) << 8 | h[at + 3]);
  };
  const Resolution r{be32(16), be32(20)};
  if (r.width <= 0 || r.height <= 0) throw Error(path + ": PNG header gives an empty image");
  return r;
}

json measured_json(const Distortion& d) {
  json j = json::object();
  if (d.resolution) j["resolution"] = {d.resolution->width, d.resolution->height};
  if (d.h264_qp) j["h264_qp"] = *d.h264_qp;
  if (d.jpeg_quality) j["jpeg_quality"] = *d.jpeg_quality;
  if (d.brightness) j["brightness"] = *d.brightness;
  return j;
}

Distortion measured_from(const json& j) {
  Distortion d;
  if (j.contains("resolution"))
    d.resolution = Resolution{j["resolution"].at(0).get<int>(), j["resolution"].at(1).get<int>()};
  if (j.contains("h264_qp")) d.h264_qp = j["h264_qp"].get<double>();
  if (j.contains("jpeg_quality")) d.jpeg_quality = j["jpeg_quality"].get<double>();
  if (j.contains("brightness")) d.brightness = j["brightness"].get<double>();
  return d;
}

// Writes through a name no other writer uses, then renames into place, so a
// reader sees the old file or the whole new one.
template <class Write>
void write_atomically(const fs::path& target, Write write) {
  static std::atomic<unsigned long> counter{0};
  const fs::path temp = target.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  try {
    write(temp.string());
    std::error_code ec;
    fs::rename(temp, target, ec);
    if (ec) throw Error(target.string() + ": cannot write (" + ec.message() + ")");
  } catch (...) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
}

class UnitCache {
public:
  UnitCache(const fs::path& folder, const std::string& setting) : folder_(folder), setting_(setting) {}

  fs::path record_path(const Unit& u) const { return folder_ / (u.key + ".json"); }
  fs::path frame_path(const Unit& u, size_t i) const {
    return folder_ / (u.inputs.size() == 1 ? u.key + ".png" : u.key + "-" + std::to_string(i) + ".png");
  }

  // The unit's results when its record is complete and its files are there.
  std::optional<std::vector<DistortedImage>> read(const Unit& u) const {
    std::error_code ec;
    if (!fs::exists(record_path(u), ec)) return std::nullopt;
    try {
      const std::vector<char> text = read_regular_file(record_path(u).string(), kMaxTextFileBytes);
      const json j = json::parse(text.begin(), text.end());
      if (j.at("version") != kCacheVersion || j.at("setting") != setting_ || j.at("frames").size() != u.inputs.size())
        return std::nullopt;
      std::vector<DistortedImage> out;
      for (size_t i = 0; i < u.inputs.size(); ++i) {
        const fs::path file = frame_path(u, i);
        if (j["frames"][i].at("file") != file.filename().string() || !fs::exists(file)) return std::nullopt;
        out.push_back({file.string(), measured_from(j["frames"][i].at("measured")),
                       j["frames"][i].contains("mean_luma") ? std::optional<double>(j["frames"][i]["mean_luma"].get<double>())
                                                            : std::nullopt});
      }
      return out;
    } catch (const std::exception&) {
      return std::nullopt;  // a damaged record is made again
    }
  }

  void write_frame(const Unit& u, size_t i, const RgbImage& image) const {
    write_atomically(frame_path(u, i), [&](const std::string& temp) { write_png_rgb(temp, image); });
  }

  // Written last: its presence says every frame file is complete.
  void write_record(const Unit& u, const std::vector<std::string>& sources,
                    const std::vector<DistortedImage>& done) const {
    json frames = json::array();
    for (size_t i = 0; i < done.size(); ++i) {
      json frame = {{"source", sources[u.inputs[i]]},
                    {"file", frame_path(u, i).filename().string()},
                    {"measured", measured_json(done[i].measured)}};
      if (done[i].mean_luma) frame["mean_luma"] = *done[i].mean_luma;
      frames.push_back(frame);
    }
    const json record = {{"format", "gearnn-distort-cache"}, {"version", kCacheVersion}, {"setting", setting_},
                         {"frames", frames}};
    write_atomically(record_path(u), [&](const std::string& temp) {
      std::ofstream out(temp);
      out << record.dump(1) << "\n";
      if (!out.flush()) throw Error(temp + ": cannot write");
    });
  }

private:
  fs::path folder_;
  std::string setting_;
};

std::vector<DistortedImage> compute_image(const Unit& u, const std::vector<std::string>& paths,
                                          const DistortionSetting& setting, const UnitCache& cache) {
  const std::string& path = paths[u.inputs[0]];
  const RgbImage source = read_png_rgb(path);
  DistortedPixels d;
  try {
    d = apply_distortion(source, setting);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  cache.write_frame(u, 0, d.image);
  return {{cache.frame_path(u, 0).string(), d.measured, d.mean_luma}};
}

// An error that already names the file it is about.
struct FileError : Error {
  using Error::Error;
};

std::vector<DistortedImage> compute_sequence(const Unit& u, const std::vector<std::string>& paths,
                                             const DistortionSetting& setting, const UnitCache& cache) {
  std::vector<DistortedImage> out(u.inputs.size());
  Resolution first{};
  // Frames come out in display order, as the runtime sees them after the decoder.
  H264QualityWindow window;
  const H264Source source = [&](size_t i) {
    const std::string& path = paths[u.inputs[i]];
    RgbImage image;
    try {
      image = read_png_rgb(path);
    } catch (const Error& e) {
      throw FileError(e.what());
    }
    if (i == 0) first = {image.width, image.height};
    if (!setting.size && (image.width != first.width || image.height != first.height))
      throw FileError(path + ": is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                      " but its sequence began with " + paths[u.inputs[0]] + " at " + std::to_string(first.width) +
                      "x" + std::to_string(first.height) + "; an H.264 level without a size needs equal frames");
    return image;
  };
  const H264Sink sink = [&](size_t i, RgbImage&& frame, const H264FrameQp& qp) {
    try {
      cache.write_frame(u, i, frame);
    } catch (const Error& e) {
      throw FileError(e.what());
    }
    window.push(qp);
    out[i].path = cache.frame_path(u, i).string();
    out[i].measured.resolution = Resolution{frame.width, frame.height};
    out[i].measured.h264_qp = window.value();
    out[i].mean_luma = mean_luma(frame.view());
  };
  try {
    h264_roundtrip_stream(u.inputs.size(), source, sink, h264_rate_of(setting), setting.size);
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw Error("H.264 sequence starting at " + paths[u.inputs[0]] + ": " + e.what());
  }
  return out;
}

// Runs f(i) for i in 0..n-1 on `threads` workers; rethrows the error of the
// lowest failing i, so a failure reads the same whatever the scheduling.
template <class F>
void parallel_for(size_t n, int threads, F f) {
  std::vector<std::exception_ptr> errors(n);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < n;) {
      try {
        f(i);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int>(std::max(threads, 1), int(n)); ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

std::vector<DistortedImage> distort_images(const std::vector<std::string>& image_paths,
                                           const std::vector<std::string>& sequence_of,
                                           const DistortionSetting& setting, const std::string& cache_dir,
                                           int threads, DistortStats* stats) {
  if (sequence_of.size() != image_paths.size())
    throw Error("distort_images: " + std::to_string(image_paths.size()) + " images but " +
                std::to_string(sequence_of.size()) + " sequence names");
  std::vector<DistortedImage> results(image_paths.size());
  if (setting.kind == DistortionSetting::Kind::clean) {
    for (size_t i = 0; i < image_paths.size(); ++i) {
      results[i].path = image_paths[i];
      results[i].measured.resolution = png_size(image_paths[i]);
    }
    return results;
  }

  const std::string text = setting.text();
  std::string header = "gearnn-distort " + std::to_string(kCacheVersion) + "\n" + text + "\n";
  if (setting.kind == DistortionSetting::Kind::h264) header += h264_recipe() + "\n";
  std::vector<Unit> units;
  if (setting.kind == DistortionSetting::Kind::h264) {
    std::map<std::string, size_t> unit_of;
    for (size_t i = 0; i < image_paths.size(); ++i) {
      auto [it, fresh] = unit_of.emplace(sequence_of[i], units.size());
      if (fresh) units.emplace_back();
      units[it->second].inputs.push_back(i);
    }
  } else {
    for (size_t i = 0; i < image_paths.size(); ++i) units.push_back({{i}, ""});
  }
  for (Unit& u : units) {
    std::string identity = header;
    for (size_t i : u.inputs) identity += source_identity(image_paths[i]);
    u.key = hex_sha256(identity);
  }

  const fs::path folder = fs::absolute(cache_dir) / folder_name(text);
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error(folder.string() + ": cannot create the cache folder (" + ec.message() + ")");
  const UnitCache cache(folder, text);

  std::atomic<size_t> computed{0}, cached{0};
  parallel_for(units.size(), threads, [&](size_t n) {
    const Unit& u = units[n];
    std::optional<std::vector<DistortedImage>> done = cache.read(u);
    if (done) {
      ++cached;
    } else {
      done = setting.kind == DistortionSetting::Kind::h264 ? compute_sequence(u, image_paths, setting, cache)
                                                            : compute_image(u, image_paths, setting, cache);
      cache.write_record(u, image_paths, *done);
      ++computed;
    }
    for (size_t i = 0; i < u.inputs.size(); ++i) results[u.inputs[i]] = std::move((*done)[i]);
  });
  if (stats) *stats = {computed, cached};
  return results;
}

}  // namespace gearnn

#include "test_support.h"

#include "random_bundle.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <unistd.h>

namespace gearnn::testing {
namespace fs = std::filesystem;

namespace {

struct ScratchRoot {
  fs::path path;
  ScratchRoot() {
    path = fs::temp_directory_path() / ("gearnn-test-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~ScratchRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const fs::path& root() {
  static ScratchRoot r;
  return r.path;
}

}  // namespace

std::string scratch_dir(const std::string& name) {
  const fs::path dir = root() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string small_bundle(int levels) {
  static std::map<int, std::string> made;
  auto it = made.find(levels);
  if (it != made.end()) return it->second;
  RandomBundleOptions o;
  o.architecture = "drn_d_22";
  o.classes = 5;
  o.width = 0.125;
  o.levels = levels;
  o.budget = "2%";
  const std::string dir = scratch_dir("bundle-" + std::to_string(levels));
  write_random_bundle(dir, o);
  made[levels] = dir;
  return dir;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace gearnn::testing

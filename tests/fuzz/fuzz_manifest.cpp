// libFuzzer target: the bundle manifest parser. Bad input must come back as
// a gearnn::Error; any other exception escaping is a bug (libFuzzer reports
// it as a crash).
#include "error.h"
#include "manifest.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const gearnn::Manifest m = gearnn::parse_manifest(reinterpret_cast<const char*>(data), size, "fuzz.json");
    gearnn::check_measure_version(m, "fuzz.json");
  } catch (const gearnn::Error&) {
  }
  return 0;
}

#pragma once
// Helpers shared by the unit tests: scratch folders and small bundles.
#include <string>

namespace gearnn::testing {

// A fresh empty folder under the build's temp area, removed at process exit.
std::string scratch_dir(const std::string& name);

// A small random bundle (drn_d_22 at width 0.125, 5 classes) written once per
// process and reused; `levels` levels, the last one without adaptor.
std::string small_bundle(int levels = 3);

// Environment variable or "".
std::string env(const char* name);

}  // namespace gearnn::testing

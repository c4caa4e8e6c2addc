#pragma once
// Helpers shared by the unit tests: scratch folders and small bundles.
#include <string>

namespace gearnn::testing {

// A fresh empty folder under the build's temp area, removed at process exit.
std::string scratch_dir(const std::string& name);

// A small random bundle (drn_d_22 at width 0.125, 5 classes) written once per
// process and reused; `levels` levels, the last one without adaptor.
std::string small_bundle(int levels = 3);

// A small CamVid-layout dataset of synthetic street-like scenes (sky band,
// road, pavement strip, car boxes; label 11 = void at the borders) in `dir`,
// with train.txt and val.txt. Sequences "SYNA" and "SYNB". Returns `dir`.
std::string make_shapes_dataset(const std::string& dir, int train_images = 12, int val_images = 4, int width = 64,
                                int height = 48);

// Environment variable or "".
std::string env(const char* name);

}  // namespace gearnn::testing

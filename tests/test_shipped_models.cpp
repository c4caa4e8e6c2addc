// The bundles shipped in models/: they load and validate (hashes, shapes, the
// shared base they point at), their adaptors keep to the budget recorded for
// them, and the default bundle segments real CamVid frames (when the dataset
// is beside the repository; skipped with a message otherwise).
#include "adaptive_model.h"
#include "bundle.h"
#include "data/dataset.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace fs = std::filesystem;
using namespace gearnn;

namespace {

fs::path models_dir() { return fs::path(gearnn::testing::env("GEARNN_SOURCE_ROOT")) / "models"; }

std::vector<fs::path> shipped_bundles() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(models_dir()))
    if (fs::exists(entry.path() / "manifest.json")) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(ShippedModels, DefaultBundleIsThere) {
  const auto bundles = shipped_bundles();
  EXPECT_NE(std::find(bundles.begin(), bundles.end(), models_dir() / "camvid-abr"), bundles.end())
      << "the README demo and the plugin's default use models/camvid-abr";
}

TEST(ShippedModels, EveryBundleLoadsAndKeepsItsBudget) {
  for (const fs::path& folder : shipped_bundles()) {
    SCOPED_TRACE(folder.string());
    std::shared_ptr<const Bundle> b;
    ASSERT_NO_THROW(b = Bundle::load(folder.string()));
    if (b->level_count() == 1) {  // a base for bundles to be built on (camvid-base)
      EXPECT_FALSE(b->manifest().levels[0].adaptor);
      EXPECT_EQ(b->manifest().class_weights.size(), b->manifest().classes.size())
          << "a base records its loss, for like-for-like fine-tuning";
      continue;
    }
    size_t without_adaptor = 0;
    for (size_t l = 0; l < b->level_count(); ++l) {
      const LevelSpec& level = b->manifest().levels[l];
      if (!level.adaptor) {
        ++without_adaptor;
        continue;
      }
      EXPECT_GT(b->adaptor_params(l), 0) << level.name;
      EXPECT_LE(b->adaptor_params(l), level.budget) << level.name;
    }
    EXPECT_EQ(without_adaptor, 1u) << "one level runs the base as it is";
    EXPECT_LT(b->memory_overhead_percent(), 0.2 * double(b->level_count()));
  }
}

// Pixel accuracy of the default bundle's base level on the first CamVid val
// frames. A model with random or mismatched weights scores near 1/11.
TEST(ShippedModels, DefaultBundleSegmentsCamVid) {
  const fs::path camvid = fs::path(gearnn::testing::env("GEARNN_SOURCE_ROOT")) / ".." / "shared" / "datasets" / "camvid";
  if (!fs::exists(camvid / "val.txt")) GTEST_SKIP() << "no CamVid at " << camvid.string() << ": skipped";
  const Dataset val = Dataset::open(camvid.string(), "val");
  AdaptiveModel model(Bundle::load((models_dir() / "camvid-abr").string()));
  int64_t right = 0, counted = 0;
  for (size_t i = 0; i < 8; ++i) {
    const ClassMap label = val.load_label(i * 12);
    const ClassMap predicted = model.segment(val.load_image(i * 12).view());
    ASSERT_EQ(predicted.classes.size(), label.classes.size());
    for (size_t p = 0; p < label.classes.size(); ++p) {
      if (label.classes[p] == Dataset::kIgnore) continue;
      ++counted;
      right += predicted.classes[p] == label.classes[p];
    }
  }
  ASSERT_GT(counted, 0);
  EXPECT_GT(double(right) / double(counted), 0.7);
}

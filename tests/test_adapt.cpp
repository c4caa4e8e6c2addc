// Algorithm 1 end to end on synthetic scenes: the adaptor for a dark level is
// chosen within budget, touches only its layers, and lowers the loss there.
#include "adaptive_model.h"
#include "bundle.h"
#include "data/dataset.h"
#include "distort/h264.h"
#include "error.h"
#include "experiment/adapt.h"
#include "experiment/level_images.h"
#include "experiment/redescribe.h"
#include "measure/stream_quality.h"
#include "random_bundle.h"
#include "experiment/train_data.h"
#include "test_support.h"
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

namespace {

// Mean NLL of a weight table over the dataset's images as the level sees them.
double level_loss(const gearnn::Bundle& b, const gearnn::WeightTable& w, const gearnn::Dataset& data,
                  const gearnn::LevelImages& level) {
  c10::InferenceMode guard;
  double sum = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    const gearnn::RgbImage img = level.image(i);
    const at::Tensor x = gearnn::frame_to_input(img.view(), b.manifest().normalization, at::kCPU);
    const gearnn::ClassMap label = data.load_label(i);
    const at::Tensor y = at::from_blob(const_cast<uint8_t*>(label.classes.data()), {1, label.height, label.width},
                                       at::kByte).to(at::kLong);
    sum += gearnn::segmentation_loss(b.architecture().forward(w, x), y, {}).item<double>();
  }
  return sum / double(data.size());
}

}  // namespace

TEST(Adapt, TinyRunLowersTheLossOnDistortedData) {
  const std::string root = gearnn::testing::make_shapes_dataset(gearnn::testing::scratch_dir("shapes"), 12, 2);
  const gearnn::Dataset data = gearnn::Dataset::open(root, "train");

  // A base: a few epochs on clean scenes.
  const gearnn::Architecture arch("drn_d_22", 11, 0.125);
  gearnn::Manifest m;
  m.architecture = arch.name();
  m.width = arch.width();
  m.classes = data.classes();
  m.levels.resize(1);
  m.levels[0].name = "clean";
  gearnn::BatchLoader clean(data, m.normalization, {}, 4, true, 1, 1);
  gearnn::TrainData clean_data = gearnn::loader_data(clean);
  gearnn::TrainOptions t;
  t.epochs = 4;
  t.lr = 0.05;
  t.progress = false;
  const gearnn::WeightTable base = gearnn::train(arch, arch.initial_weights(3), t, clean_data);
  const std::string base_dir = gearnn::testing::scratch_dir("adapt-base");
  gearnn::write_bundle(base_dir, m, gearnn::named_weights(arch, base), {{}});

  gearnn::AdaptOptions o;
  o.base_bundle = base_dir;
  o.levels = gearnn::parse_level_spec("brightness:0.25,1.0");
  o.base_level = "brightness:1";
  o.budget = "3%";
  o.full_epochs = 2;
  o.adaptor_epochs = 3;
  o.adaptor_lr = 0.05;
  o.full_lr = 0.05;
  o.batch_size = 4;
  o.workers = 1;
  o.threads = 2;
  o.progress = false;
  o.cache_dir = gearnn::testing::scratch_dir("adapt-cache");
  o.output = gearnn::testing::scratch_dir("adapt-out") + "/bundle";
  o.switching_dir = o.output + ".switching";
  gearnn::build_adapted_bundle(data, o);

  const auto bundle = gearnn::Bundle::load(o.output);
  ASSERT_EQ(bundle->level_count(), 2u);
  const auto dark = bundle->find_level(o.levels[0].text());
  ASSERT_TRUE(dark);
  const gearnn::LevelSpec& spec = bundle->manifest().levels[*dark];
  ASSERT_TRUE(spec.adaptor);
  EXPECT_FALSE(bundle->manifest().levels[1 - *dark].adaptor) << "the base level runs the base as it is";
  EXPECT_EQ(spec.sensitivity.size(), arch.layers().size());
  EXPECT_EQ(spec.budget, int64_t(arch.params_with_buffers() * 0.03));
  EXPECT_LE(bundle->adaptor_params(*dark), spec.budget);
  EXPECT_GT(bundle->adaptor_params(*dark), spec.budget / 2);  // the knapsack fills most of it
  // The descriptor is the runtime's measurement of the level's own frames: their
  // mean luma against the luma of the bundle's normalisation mean.
  {
    const gearnn::LevelImages level(data, o.levels[0], o.cache_dir, 2);
    double sum = 0;
    for (size_t i = 0; i < level.size(); ++i)
      sum += gearnn::relative_brightness(gearnn::mean_luma(level.image(i).view()),
                                         gearnn::luma_of_mean(m.normalization.mean));
    EXPECT_NEAR(*spec.distortion.brightness, sum / double(level.size()), 1e-9);
    EXPECT_EQ(spec.measure_version, gearnn::kMeasureVersion);
  }
  EXPECT_TRUE(std::filesystem::exists(gearnn::switching_model_path(o.switching_dir, spec.name)));

  const gearnn::LevelImages level(data, o.levels[0], o.cache_dir, 2);
  const double before = level_loss(*bundle, bundle->base_weights(), data, level);
  const double after = level_loss(*bundle, bundle->weights(*dark), data, level);
  EXPECT_LT(after, before) << "the adaptor did not lower the loss on its level";

  // A rerun finds every level done and rebuilds the same bundle without training.
  gearnn::build_adapted_bundle(data, o);
  EXPECT_EQ(gearnn::Bundle::load(o.output)->manifest().base_sha256, bundle->manifest().base_sha256);

  // Described under measurement version 1 (the requested factor), the bundle is
  // refused with the way out; `bundle redescribe` measures it again.
  const std::string manifest_path = o.output + "/manifest.json";
  gearnn::Manifest old = gearnn::read_manifest(manifest_path);
  for (gearnn::LevelSpec& l : old.levels) {
    l.measure_version = 1;
    l.distortion.brightness = gearnn::parse_distortion_setting(l.name).brightness;
  }
  gearnn::write_manifest(manifest_path, old);
  try {
    gearnn::Bundle::load(o.output);
    ADD_FAILURE() << "a version-1 brightness bundle was accepted";
  } catch (const gearnn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("gearnn bundle redescribe"), std::string::npos) << e.what();
  }
  std::ostringstream log;
  gearnn::redescribe_bundle(o.output, data, o.cache_dir, 2, log);
  const auto redescribed = gearnn::Bundle::load(o.output);
  EXPECT_NEAR(*redescribed->manifest().levels[*dark].distortion.brightness, *spec.distortion.brightness, 1e-9);
  EXPECT_EQ(redescribed->manifest().levels[*dark].measure_version, gearnn::kMeasureVersion);
  EXPECT_NE(log.str().find("brightness=0.25 ->"), std::string::npos) << log.str();
}

// An H.264 level records the encoder its data was made with. Re-describing it
// under another encoder is refused (its adaptor saw other pixels) and leaves
// the manifest as it was; a level that records none is re-described and then
// records this build's encoder.
TEST(Adapt, RedescribeKeepsH264LevelsToTheirEncoder) {
  if (gearnn::h264_recipe() == "unavailable") GTEST_SKIP() << "built without FFmpeg: no H.264 levels";
  const std::string dir = gearnn::testing::scratch_dir("redescribe-encoder");
  const gearnn::Dataset data =
      gearnn::Dataset::open(gearnn::testing::make_shapes_dataset(dir + "/data", 3, 1, 96, 72), "train");
  const std::string bundle = dir + "/bundle", manifest_path = bundle + "/manifest.json";
  gearnn::RandomBundleOptions o;
  o.kind = "abr";
  o.classes = 11;
  o.width = 0.125;
  gearnn::write_random_bundle(bundle, o);
  gearnn::Manifest m = gearnn::read_manifest(manifest_path);
  for (gearnn::LevelSpec& l : m.levels)  // named as gearnn adapt names them, so that their data can be made again
    l.name = "h264:" + std::to_string(l.distortion.resolution->width) + "x" +
             std::to_string(l.distortion.resolution->height) + "@" + std::to_string(int(*l.distortion.h264_qp));
  const std::string other = "libx264 preset=ultrafast; x264 core 1 r1; libavcodec 1; swscale 1";
  m.levels[1].encoder = other;
  gearnn::write_manifest(manifest_path, m);
  std::ostringstream log;
  try {
    gearnn::redescribe_bundle(bundle, data, dir + "/cache", 1, log);
    ADD_FAILURE() << "a level made by another encoder was re-described";
  } catch (const gearnn::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("level '" + m.levels[1].name + "' was made with the H.264 encoder '" + other + "'"),
              std::string::npos) << what;
    EXPECT_NE(what.find("gearnn adapt"), std::string::npos) << what;
  }
  EXPECT_EQ(gearnn::read_manifest(manifest_path).levels[1].encoder, other) << "the manifest is left as it was";
  EXPECT_FALSE(std::filesystem::exists(dir + "/cache")) << "refused before any level's data was made";

  m.levels[1].encoder.clear();
  gearnn::write_manifest(manifest_path, m);
  gearnn::redescribe_bundle(bundle, data, dir + "/cache", 1, log);
  for (const gearnn::LevelSpec& l : gearnn::read_manifest(manifest_path).levels)
    EXPECT_EQ(l.encoder, gearnn::h264_recipe()) << l.name;
  EXPECT_NE(log.str().find("does not say which encoder made its data"), std::string::npos) << log.str();
}

TEST(Adapt, LevelsSmallerThanTheCropTrainOnWholeFrames) {
  gearnn::AugmentOptions a;
  a.crop_width = 320;
  a.crop_height = 240;
  a.flip = true;
  const auto level = [](const char* text) { return gearnn::parse_distortion_setting(text); };
  const gearnn::AugmentOptions small = gearnn::level_augment(a, level("h264:240x180@38"));
  EXPECT_EQ(small.crop_width, 240);
  EXPECT_EQ(small.crop_height, 176);  // a multiple of 8, inside the frame
  EXPECT_TRUE(small.flip);
  const gearnn::AugmentOptions big = gearnn::level_augment(a, level("h264:480x360@38"));
  EXPECT_EQ(big.crop_width, 320);
  EXPECT_EQ(big.crop_height, 240);
  EXPECT_EQ(gearnn::level_augment(a, level("jpeg:10")).crop_width, 320);  // the image's own size: unknown here
  a.scale_min = 0.5;  // frames of many sizes batch only through a fixed crop
  EXPECT_EQ(gearnn::level_augment(a, level("resize:240x180")).crop_width, 320);
}

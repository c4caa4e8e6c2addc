// Datasets on disk: the CamVid and Cityscapes layouts, void mapping, errors.
#include "data/dataset.h"
#include "error.h"
#include "synthetic.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

using namespace gearnn;
using namespace gearnn::testing;
namespace fs = std::filesystem;

namespace {

// Runs `f`, expects a gearnn::Error, and returns its message.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no gearnn::Error thrown";
  return "";
}

}  // namespace

TEST(Dataset, ReadsCamvidLayoutAndMapsVoid) {
  const std::string root = scratch_dir("camvid-layout");
  const SyntheticSet set = make_camvid(root, "train", 5, 12, 8);
  make_camvid(root, "val", 2, 12, 8, {"0016E5"});

  const Dataset d = Dataset::open(root, "train");
  EXPECT_EQ(d.layout(), "camvid");
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d.classes().size(), 11u);
  EXPECT_EQ(d.classes()[0].name, "Sky");
  for (size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d.sample(i).name, set.names[i]);
  EXPECT_EQ(d.sample(0).sequence, "0001TP");
  EXPECT_EQ(d.sample(1).sequence, "0006R0");
  EXPECT_EQ(d.sample(1).image_path, root + "/train/0006R0_000030.png");
  EXPECT_EQ(d.sample(1).label_path, root + "/trainannot/0006R0_000030.png");

  const RgbImage image = d.load_image(2);
  const ClassMap label = d.load_label(2);
  EXPECT_EQ(image.width, 12);
  EXPECT_EQ(image.height, 8);
  ASSERT_EQ(label.classes.size(), 96u);
  const ClassMap raw = read_png_gray(d.sample(2).label_path);
  int voids = 0;
  for (size_t p = 0; p < raw.classes.size(); ++p) {
    if (raw.classes[p] == 11) {
      EXPECT_EQ(label.classes[p], Dataset::kIgnore);
      ++voids;
    } else {
      EXPECT_EQ(label.classes[p], raw.classes[p]);
    }
    EXPECT_EQ(class_of_colour(&image.pixels[p * 3]), label.classes[p]);
  }
  EXPECT_GT(voids, 0) << "the synthetic label should hold some void";

  const Dataset val = Dataset::open(root, "val");
  EXPECT_EQ(val.size(), 2u);
  EXPECT_EQ(val.sample(0).sequence, "0016E5");
}

TEST(Dataset, ReadsCityscapesLayout) {
  const std::string root = scratch_dir("cityscapes-layout");
  make_cityscapes(root, "val", {"zurich", "aachen"}, 3, 10, 6);

  const Dataset d = Dataset::open(root, "val");
  EXPECT_EQ(d.layout(), "cityscapes");
  ASSERT_EQ(d.size(), 6u);
  EXPECT_EQ(d.classes().size(), 19u);
  EXPECT_EQ(d.sample(0).name, "aachen_000000_000019");  // cities and files sorted
  EXPECT_EQ(d.sample(0).sequence, "aachen_000000");
  EXPECT_EQ(d.sample(2).sequence, "aachen_000001");
  EXPECT_EQ(d.sample(3).name, "zurich_000000_000019");
  EXPECT_EQ(d.sample(3).label_path, root + "/gtFine/val/zurich/zurich_000000_000019_gtFine_labelTrainIds.png");

  const RgbImage image = d.load_image(4);
  const ClassMap label = d.load_label(4);
  ASSERT_EQ(label.classes.size(), 60u);
  for (size_t p = 0; p < label.classes.size(); ++p) {
    EXPECT_EQ(class_of_colour(&image.pixels[p * 3]), label.classes[p]);
    EXPECT_TRUE(label.classes[p] < 19 || label.classes[p] == Dataset::kIgnore);
  }
}

TEST(Dataset, FilteredHoldsOutASequence) {
  const std::string root = scratch_dir("camvid-filter");
  make_camvid(root, "train", 6, 4, 4, {"0001TP", "0006R0", "0016E5"});
  const Dataset d = Dataset::open(root, "train");
  const Dataset held = d.filtered([](const Sample& s) { return s.sequence != "0006R0"; });
  ASSERT_EQ(held.size(), 4u);
  for (const auto& s : held.samples()) EXPECT_NE(s.sequence, "0006R0");
  EXPECT_EQ(held.layout(), "camvid");
  EXPECT_EQ(held.sample(1).name, d.sample(2).name);
  EXPECT_EQ(d.filtered([](const Sample&) { return false; }).size(), 0u);
}

TEST(Dataset, BadListLinesNameTheFileAndLine) {
  const std::string root = scratch_dir("camvid-bad-lines");
  make_camvid(root, "train", 2, 4, 4);
  const std::string list = root + "/train.txt";
  const std::string good = "train/0001TP_000000.png trainannot/0001TP_000000.png\n";

  write_text_file(list, good + "train/0006R0_000030.png\n");
  std::string e = error_of([&] { Dataset::open(root, "train"); });
  EXPECT_NE(e.find(list + ":2"), std::string::npos) << e;

  write_text_file(list, good + "\n# a comment\na b c\n");
  e = error_of([&] { Dataset::open(root, "train"); });
  EXPECT_NE(e.find(list + ":4"), std::string::npos) << e;

  write_text_file(list, good + "train/missing.png trainannot/0001TP_000000.png\n");
  e = error_of([&] { Dataset::open(root, "train"); });
  EXPECT_NE(e.find(list + ":2"), std::string::npos) << e;
  EXPECT_NE(e.find(root + "/train/missing.png"), std::string::npos) << e;

  write_text_file(list, "\n\n");
  e = error_of([&] { Dataset::open(root, "train"); });
  EXPECT_NE(e.find(list), std::string::npos) << e;
  EXPECT_NE(e.find("no samples"), std::string::npos) << e;

  // Windows line ends and SegNet's absolute /SegNet/CamVid/... paths are accepted.
  write_text_file(list, "/SegNet/CamVid/train/0001TP_000000.png /SegNet/CamVid/trainannot/0001TP_000000.png\r\n");
  const Dataset d = Dataset::open(root, "train");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.sample(0).image_path, root + "/train/0001TP_000000.png");
}

TEST(Dataset, MissingFilesAndFoldersNameThem) {
  const std::string root = scratch_dir("missing");
  std::string e = error_of([&] { Dataset::open(root + "/nope", "train"); });
  EXPECT_NE(e.find(root + "/nope"), std::string::npos) << e;

  e = error_of([&] { Dataset::open(root, "train"); });
  EXPECT_NE(e.find(root + "/train.txt"), std::string::npos) << e;
  EXPECT_NE(e.find(root + "/leftImg8bit/train"), std::string::npos) << e;

  const std::string city = scratch_dir("cityscapes-missing-label");
  make_cityscapes(city, "train", {"bonn"}, 2, 4, 4);
  const std::string label = city + "/gtFine/train/bonn/bonn_000000_000020_gtFine_labelTrainIds.png";
  fs::remove(label);
  e = error_of([&] { Dataset::open(city, "train"); });
  EXPECT_NE(e.find(label), std::string::npos) << e;
}

TEST(Dataset, BadLabelValuesAndUnreadableImagesNameTheFile) {
  const std::string root = scratch_dir("camvid-bad-values");
  make_camvid(root, "train", 2, 4, 4);
  const Dataset d = Dataset::open(root, "train");
  write_png_gray(d.sample(0).label_path, ClassMap{4, 4, std::vector<uint8_t>(16, 12)});
  std::string e = error_of([&] { d.load_label(0); });
  EXPECT_NE(e.find(d.sample(0).label_path), std::string::npos) << e;
  EXPECT_NE(e.find("12"), std::string::npos) << e;

  write_text_file(d.sample(1).image_path, "not a png");
  e = error_of([&] { d.load_image(1); });
  EXPECT_NE(e.find(d.sample(1).image_path), std::string::npos) << e;

  e = error_of([&] { d.sample(7); });
  EXPECT_NE(e.find("out of range"), std::string::npos) << e;
}

TEST(Dataset, RealCamvidIfPresent) {
  const std::string root = env("GEARNN_SOURCE_ROOT") + "/../shared/datasets/camvid";
  if (env("GEARNN_SOURCE_ROOT").empty() || !fs::exists(root + "/train.txt"))
    GTEST_SKIP() << "SKIPPED: the CamVid copy was not found at " << root;
  const Dataset train = Dataset::open(root, "train");
  const Dataset val = Dataset::open(root, "val");
  EXPECT_EQ(train.layout(), "camvid");
  EXPECT_EQ(train.size(), 367u);
  EXPECT_EQ(val.size(), 101u);
  std::map<std::string, int> sequences;
  for (const auto& s : train.samples()) ++sequences[s.sequence];
  EXPECT_EQ(sequences, (std::map<std::string, int>{{"0001TP", 62}, {"0006R0", 101}, {"0016E5", 204}}));

  const RgbImage image = train.load_image(0);
  const ClassMap label = train.load_label(0);
  EXPECT_EQ(image.width, 480);
  EXPECT_EQ(image.height, 360);
  ASSERT_EQ(label.width, 480);
  ASSERT_EQ(label.height, 360);
  for (uint8_t v : label.classes) ASSERT_TRUE(v < 11 || v == Dataset::kIgnore) << int(v);
}

// The batch loader: seeded order, augmentation that keeps labels aligned,
// worker-count independence, distorted image sources; resizing; normalisation.
#include "data/loader.h"
#include "data/resize.h"
#include "error.h"
#include "synthetic.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <numeric>

using namespace gearnn;
using namespace gearnn::testing;

namespace {

// Mean 0 and std 1 leave RGB/255 in the tensor, so pixels can be read back.
Normalization identity_normalization() {
  Normalization n;
  n.mean = {0, 0, 0};
  n.std = {1, 1, 1};
  return n;
}

std::vector<std::vector<size_t>> epoch_indices(BatchLoader& loader, int epoch) {
  loader.start_epoch(epoch);
  std::vector<std::vector<size_t>> out;
  while (auto b = loader.next()) out.push_back(b->indices);
  return out;
}

std::vector<size_t> flat(const std::vector<std::vector<size_t>>& batches) {
  std::vector<size_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Every pixel's label must be the class its colour encodes (padding: black and void).
void expect_aligned(const Batch& batch) {
  const auto images = batch.images.contiguous();
  const auto labels = batch.labels.contiguous();
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3), plane = h * w;
  const float* px = images.data_ptr<float>();
  const int64_t* lb = labels.data_ptr<int64_t>();
  int wrong = 0;
  for (int64_t k = 0; k < n; ++k)
    for (int64_t p = 0; p < plane; ++p) {
      uint8_t rgb[3];
      for (int c = 0; c < 3; ++c) rgb[c] = uint8_t(std::lround(px[(k * 3 + c) * plane + p] * 255.0f));
      wrong += class_of_colour(rgb) != lb[k * plane + p];
    }
  EXPECT_EQ(wrong, 0) << "label pixels off their image pixels";
}

}  // namespace

TEST(BatchLoader, ShuffleFollowsTheSeed) {
  const std::string root = scratch_dir("loader-shuffle");
  make_camvid(root, "train", 23, 4, 4);
  const Dataset d = Dataset::open(root, "train");
  const AugmentOptions none;

  BatchLoader a(d, identity_normalization(), none, 5, true, 7, 2);
  BatchLoader b(d, identity_normalization(), none, 5, true, 7, 0);
  BatchLoader c(d, identity_normalization(), none, 5, true, 8, 2);
  BatchLoader plain(d, identity_normalization(), none, 5, false, 7, 2);

  EXPECT_EQ(a.batches_per_epoch(), 5u);
  const auto a0 = epoch_indices(a, 0);
  ASSERT_EQ(a0.size(), 5u);
  EXPECT_EQ(a0.back().size(), 3u) << "the last partial batch is kept";
  EXPECT_EQ(a0, epoch_indices(b, 0)) << "same seed, same order";
  EXPECT_NE(flat(a0), flat(epoch_indices(c, 0))) << "another seed, another order";
  EXPECT_NE(flat(a0), flat(epoch_indices(a, 1))) << "another epoch, another order";
  EXPECT_EQ(a0, epoch_indices(a, 0)) << "an epoch can be replayed";

  std::vector<size_t> sorted = flat(a0);
  std::sort(sorted.begin(), sorted.end());
  std::vector<size_t> all(23);
  std::iota(all.begin(), all.end(), size_t(0));
  EXPECT_EQ(sorted, all) << "each sample exactly once";
  EXPECT_EQ(flat(epoch_indices(plain, 3)), all) << "no shuffle keeps the dataset order";

  a.set_drop_last(true);
  EXPECT_EQ(a.batches_per_epoch(), 4u);
  const auto dropped = epoch_indices(a, 0);
  ASSERT_EQ(dropped.size(), 4u);
  for (const auto& batch : dropped) EXPECT_EQ(batch.size(), 5u);
}

TEST(BatchLoader, WorkerCountDoesNotChangeBatches) {
  const std::string root = scratch_dir("loader-workers");
  make_camvid(root, "train", 9, 20, 14);
  const Dataset d = Dataset::open(root, "train");
  AugmentOptions aug;
  aug.scale_min = 0.7;
  aug.scale_max = 1.4;
  aug.crop_width = 16;
  aug.crop_height = 12;
  aug.flip = true;
  aug.brightness_jitter = aug.contrast_jitter = aug.saturation_jitter = 0.3;
  Normalization norm;
  norm.mean = {0.4f, 0.5f, 0.6f};
  norm.std = {0.2f, 0.25f, 0.3f};

  std::vector<Batch> reference;
  for (int workers : {0, 1, 3}) {
    BatchLoader loader(d, norm, aug, 2, true, 42, workers);
    loader.start_epoch(2);
    std::vector<Batch> batches;
    while (auto b = loader.next()) batches.push_back(std::move(*b));
    ASSERT_EQ(batches.size(), 5u);
    EXPECT_EQ(batches[0].images.sizes(), (std::vector<int64_t>{2, 3, 12, 16}));
    EXPECT_EQ(batches[0].images.dtype(), at::kFloat);
    EXPECT_EQ(batches[0].labels.sizes(), (std::vector<int64_t>{2, 12, 16}));
    EXPECT_EQ(batches[0].labels.dtype(), at::kLong);
    if (reference.empty()) {
      reference = std::move(batches);
      continue;
    }
    for (size_t i = 0; i < batches.size(); ++i) {
      EXPECT_EQ(batches[i].indices, reference[i].indices) << workers << " workers";
      EXPECT_TRUE(at::equal(batches[i].images, reference[i].images)) << workers << " workers, batch " << i;
      EXPECT_TRUE(at::equal(batches[i].labels, reference[i].labels)) << workers << " workers, batch " << i;
    }
  }
}

TEST(BatchLoader, CropAndFlipKeepLabelsOnTheirPixels) {
  const std::string root = scratch_dir("loader-align");
  make_camvid(root, "train", 6, 24, 10);
  const Dataset d = Dataset::open(root, "train");
  AugmentOptions aug;
  aug.crop_width = 17;   // narrower than the image: a random window
  aug.crop_height = 13;  // taller than the image: padded with black / void
  aug.flip = true;

  BatchLoader loader(d, identity_normalization(), aug, 3, true, 1, 2);
  int flipped = 0, padded = 0;  // 4 epochs of 2 batches
  for (int epoch = 0; epoch < 4; ++epoch) {
    loader.start_epoch(epoch);
    while (auto b = loader.next()) {
      expect_aligned(*b);
      // 13 rows from a 10-row image: at least 3 rows are wholly padding (void).
      const auto void_rows = (b->labels == Dataset::kIgnore).all(2).sum(1);
      padded += (void_rows >= 3).all().item<bool>();
      // A sample is flipped when its window is not found unflipped in the source.
      for (size_t k = 0; k < b->indices.size(); ++k) {
        const ClassMap full = d.load_label(b->indices[k]);
        const auto row = b->labels[int64_t(k)];
        bool found = false;
        for (int dy = 0; dy <= 3 && !found; ++dy)
          for (int x0 = 0; x0 + 17 <= 24 && !found; ++x0) {
            bool same = true;
            for (int x = 0; x < 17 && same; ++x) same = row[dy][x].item<int64_t>() == full.classes[size_t(x0 + x)];
            found = same;
          }
        flipped += !found;
      }
    }
  }
  EXPECT_EQ(padded, 8) << "every batch padded to 13 rows";
  EXPECT_GT(flipped, 0) << "flip never happened in 24 samples";
}

TEST(BatchLoader, LabelFollowsASmallerDistortedImage) {
  const std::string root = scratch_dir("loader-source");
  make_camvid(root, "train", 4, 16, 12);
  const Dataset d = Dataset::open(root, "train");
  // The distorted image is half size, made of the pixels (2x + 1, 2y + 1) that a
  // nearest 2x downscale of the label reads: then every pixel still matches.
  std::atomic<int> calls{0};
  auto half = [&](size_t i) {
    ++calls;
    const RgbImage full = d.load_image(i);
    RgbImage out{full.width / 2, full.height / 2, {}};
    for (int y = 0; y < out.height; ++y)
      for (int x = 0; x < out.width; ++x) {
        const uint8_t* p = &full.pixels[(size_t(2 * y + 1) * size_t(full.width) + size_t(2 * x + 1)) * 3];
        out.pixels.insert(out.pixels.end(), p, p + 3);
      }
    return out;
  };
  AugmentOptions aug;
  aug.flip = true;
  BatchLoader loader(d, identity_normalization(), aug, 2, false, 3, 2, half);
  loader.start_epoch(0);
  int batches = 0;
  while (auto b = loader.next()) {
    ++batches;
    EXPECT_EQ(b->images.sizes(), (std::vector<int64_t>{2, 3, 6, 8}));
    EXPECT_EQ(b->labels.sizes(), (std::vector<int64_t>{2, 6, 8}));
    expect_aligned(*b);
  }
  EXPECT_EQ(batches, 2);
  EXPECT_EQ(calls, 4);
}

TEST(BatchLoader, ErrorsReachTheConsumer) {
  const std::string root = scratch_dir("loader-errors");
  make_camvid(root, "train", 4, 8, 8);
  make_camvid(root + "/mixed", "train", 1, 6, 6);
  const Dataset d = Dataset::open(root, "train");

  EXPECT_THROW(BatchLoader(d, identity_normalization(), AugmentOptions{}, 0, false, 0, 1), Error);
  Normalization zero = identity_normalization();
  zero.std[1] = 0;
  EXPECT_THROW(BatchLoader(d, zero, AugmentOptions{}, 2, false, 0, 1), Error);
  AugmentOptions bad;
  bad.scale_min = 2;
  bad.scale_max = 1;
  EXPECT_THROW(BatchLoader(d, identity_normalization(), bad, 2, false, 0, 1), Error);

  write_text_file(d.sample(2).image_path, "garbage");
  BatchLoader loader(d, identity_normalization(), AugmentOptions{}, 1, false, 0, 2);
  loader.start_epoch(0);
  EXPECT_TRUE(loader.next().has_value());
  EXPECT_TRUE(loader.next().has_value());
  try {
    loader.next();
    ADD_FAILURE() << "no error for a broken image";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(d.sample(2).image_path), std::string::npos) << e.what();
  }
  EXPECT_TRUE(loader.next().has_value()) << "the epoch goes on after a failed batch";
  EXPECT_FALSE(loader.next().has_value());

  // Images of different sizes cannot share a batch without a crop or resize.
  const std::string mixed_list = root + "/train.txt";
  write_text_file(mixed_list, "train/0001TP_000000.png trainannot/0001TP_000000.png\n"
                              "mixed/train/0001TP_000000.png mixed/trainannot/0001TP_000000.png\n");
  const Dataset mixed = Dataset::open(root, "train");
  BatchLoader two(mixed, identity_normalization(), AugmentOptions{}, 2, false, 0, 0);
  try {
    two.next();
    ADD_FAILURE() << "no error for mixed sizes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("crop"), std::string::npos) << e.what();
  }
  AugmentOptions resize;
  resize.resize_width = 8;
  resize.resize_height = 8;
  BatchLoader resized(mixed, identity_normalization(), resize, 2, false, 0, 0);
  const auto b = resized.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->images.sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
}

TEST(BatchLoader, NormalisesWithTheGivenMeanAndStd) {
  const std::string root = scratch_dir("loader-norm");
  make_camvid(root, "train", 1, 5, 4);
  const Dataset d = Dataset::open(root, "train");
  Normalization n;
  n.mean = {0.1f, 0.2f, 0.3f};
  n.std = {0.5f, 0.25f, 2.0f};
  BatchLoader loader(d, n, AugmentOptions{}, 1, false, 0, 0);
  const auto b = loader.next();
  ASSERT_TRUE(b.has_value());
  const RgbImage image = d.load_image(0);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x) {
        const float v = image.pixels[size_t(y * 5 + x) * 3 + size_t(c)] / 255.0f;
        EXPECT_NEAR(b->images[0][c][y][x].item<float>(), (v - n.mean[size_t(c)]) / n.std[size_t(c)], 1e-5);
      }
}

TEST(Augment, SameSeedSameResult) {
  const SyntheticPair p = synthetic_pair(30, 20, 11, 255, 9);
  AugmentOptions aug;
  aug.scale_min = 0.5;
  aug.scale_max = 1.5;
  aug.crop_width = aug.crop_height = 16;
  aug.flip = true;
  aug.brightness_jitter = 0.5;
  RgbImage i1 = p.image, i2 = p.image, i3 = p.image;
  ClassMap l1 = p.label, l2 = p.label, l3 = p.label;
  augment_pair(i1, l1, aug, 5);
  augment_pair(i2, l2, aug, 5);
  augment_pair(i3, l3, aug, 6);
  EXPECT_EQ(i1.pixels, i2.pixels);
  EXPECT_EQ(l1.classes, l2.classes);
  EXPECT_EQ(i1.width, 16);
  EXPECT_EQ(l1.height, 16);
  EXPECT_NE(i1.pixels, i3.pixels);

  // Resize with one side given keeps the aspect ratio.
  AugmentOptions keep;
  keep.resize_width = 15;
  RgbImage i4 = p.image;
  ClassMap l4 = p.label;
  augment_pair(i4, l4, keep, 0);
  EXPECT_EQ(i4.width, 15);
  EXPECT_EQ(i4.height, 10);
  EXPECT_EQ(l4.width, 15);
  EXPECT_EQ(l4.height, 10);
}

// Blur, noise and JPEG change pixels of about half the images each, never
// the label or the size; blur lowers the contrast of a fine checkerboard.
TEST(Augment, DegradationsTouchPixelsOnly) {
  RgbImage checker{32, 24, std::vector<uint8_t>(32 * 24 * 3)};
  for (int y = 0; y < 24; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c) checker.pixels[size_t(y * 32 + x) * 3 + size_t(c)] = ((x + y) % 2) ? 200 : 40;
  const ClassMap label{32, 24, std::vector<uint8_t>(32 * 24, 3)};
  const auto spread = [](const RgbImage& i) {
    const auto [lo, hi] = std::minmax_element(i.pixels.begin(), i.pixels.end());
    return int(*hi) - int(*lo);
  };
  for (int which = 0; which < 3; ++which) {
    AugmentOptions aug;
    if (which == 0) aug.blur_sigma_max = 1.5;
    if (which == 1) aug.noise_sigma_max = 20;
    if (which == 2) aug.compress_quality_min = 10;
    int changed = 0;
    for (uint64_t seed = 0; seed < 40; ++seed) {
      RgbImage i = checker;
      ClassMap l = label;
      augment_pair(i, l, aug, seed);
      EXPECT_EQ(l.classes, label.classes);
      ASSERT_EQ(i.width, 32);
      ASSERT_EQ(i.height, 24);
      if (i.pixels == checker.pixels) continue;
      ++changed;
      if (which == 0) EXPECT_LT(spread(i), 160) << "seed " << seed;
    }
    EXPECT_GT(changed, 10) << "degradation " << which;
    EXPECT_LT(changed, 30) << "degradation " << which;
  }
  AugmentOptions bad;
  bad.compress_quality_min = 99;
  EXPECT_THROW(check_augment_options(bad), gearnn::Error);
}

TEST(ClassMapResize, NearestAlignsPixelCentres) {
  const ClassMap small{2, 2, {1, 2, 3, 4}};
  const ClassMap big = resize_nearest(small, 4, 4);
  EXPECT_EQ(big.classes, (std::vector<uint8_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  const ClassMap three{3, 1, {5, 6, 7}};
  EXPECT_EQ(resize_nearest(three, 2, 1).classes, (std::vector<uint8_t>{5, 7}));  // centres 0.75 and 2.25
  EXPECT_THROW(resize_nearest(small, 0, 3), Error);
}

TEST(Normalization, ConstantAndTwoValuedImages) {
  const std::string root = scratch_dir("norm");
  make_camvid(root, "train", 3, 6, 4);
  const Dataset d = Dataset::open(root, "train");
  write_png_rgb(d.sample(0).image_path, RgbImage{6, 4, std::vector<uint8_t>(6 * 4 * 3, 51)});
  const Dataset one = d.filtered([&](const Sample& s) { return s.name == d.sample(0).name; });
  const Normalization n = compute_normalization(one, 2);
  for (int c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(n.mean[size_t(c)], 0.2f);
    EXPECT_EQ(n.std[size_t(c)], 0.0f);
  }

  // Half the pixels 0 and half 255 in one image, 255 everywhere in another:
  // mean 0.75, std sqrt(0.75 * 0.25) per channel.
  RgbImage split{6, 4, {}};
  for (int p = 0; p < 24; ++p)
    for (int c = 0; c < 3; ++c) split.pixels.push_back(p < 12 ? 0 : 255);
  write_png_rgb(d.sample(1).image_path, split);
  write_png_rgb(d.sample(2).image_path, RgbImage{6, 4, std::vector<uint8_t>(6 * 4 * 3, 255)});
  const Dataset two = d.filtered([&](const Sample& s) { return s.name != d.sample(0).name; });
  const Normalization m = compute_normalization(two, 1);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(m.mean[size_t(c)], 0.75, 1e-6);
    EXPECT_NEAR(m.std[size_t(c)], std::sqrt(0.75 * 0.25), 1e-6);
  }
  const Normalization threaded = compute_normalization(two, 3);
  EXPECT_EQ(threaded.mean, m.mean);
  EXPECT_EQ(threaded.std, m.std);
}

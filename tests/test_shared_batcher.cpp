// The shared batcher with real threads, one per stream: each stream gets the
// map it would get alone, frames batch together, and nothing waits on a
// stream that has stopped, a lone stream, a frame of another size or an error.
#include "adaptive_model.h"
#include "bundle.h"
#include "error.h"
#include "shared_batcher.h"
#include "test_support.h"

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

namespace {

using gearnn::BatchSettings;
using gearnn::SharedBatcher;
using Clock = std::chrono::steady_clock;

gearnn::RgbImage frame(int width, int height, int seed) {
  gearnn::RgbImage img{width, height, std::vector<uint8_t>(size_t(width) * size_t(height) * 3)};
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * 7 + size_t(seed) * 31 + i / 97) % 251);
  return img;
}

std::vector<uint8_t> alone(const std::shared_ptr<const gearnn::Bundle>& bundle, const gearnn::RgbImage& image,
                           size_t level) {
  gearnn::AdaptiveModel model(bundle);
  model.select(level);
  return model.segment(image.view()).classes;
}

// Runs `body` on another thread; fails the test instead of hanging.
void within(double seconds, const std::function<void()>& body) {
  auto done = std::async(std::launch::async, body);
  ASSERT_EQ(done.wait_for(std::chrono::duration<double>(seconds)), std::future_status::ready) << "deadlock?";
  done.get();
}

}  // namespace

TEST(SharedBatcher, ThreeStreamsOnThreeLevelsGetTheirOwnMaps) {
  const auto bundle = gearnn::Bundle::load_shared(gearnn::testing::small_bundle(3));
  BatchSettings s;
  s.batch_size = 3;
  s.timeout = std::chrono::seconds(5);  // full batches, or all three waiting, send long before
  s.group = "three";
  const int frames = 6;
  std::vector<gearnn::RgbImage> images;
  for (int k = 0; k < 3; ++k) images.push_back(frame(40, 24, k));
  std::vector<std::vector<std::vector<uint8_t>>> maps(3);
  std::shared_ptr<SharedBatcher> seen;
  within(60, [&] {
    std::vector<std::thread> streams;
    for (size_t k = 0; k < 3; ++k)
      streams.emplace_back([&, k] {
        c10::InferenceMode guard;
        auto client = SharedBatcher::join(bundle, s);
        for (int f = 0; f < frames; ++f) {
          std::vector<uint8_t> map(40 * 24);
          client->segment(images[k].view(), k, map.data());
          maps[k].push_back(std::move(map));
        }
        if (k == 0) {
          const auto [batches, frames_sent] = client->batcher().counts();
          std::printf("%llu frames in %llu batches\n", (unsigned long long)frames_sent, (unsigned long long)batches);
          EXPECT_LT(batches, frames_sent) << "frames were batched together";
        }
      });
    for (auto& t : streams) t.join();
  });
  for (size_t k = 0; k < 3; ++k) {
    const std::vector<uint8_t> expected = alone(bundle, images[k], k);
    for (const auto& map : maps[k]) {
      size_t differing = 0;
      for (size_t p = 0; p < map.size(); ++p) differing += map[p] != expected[p];
      EXPECT_LE(differing, map.size() / 1000) << "stream " << k;
    }
  }
}

TEST(SharedBatcher, NobodyWaitsForTheTimeoutNeedlessly) {
  const auto bundle = gearnn::Bundle::load_shared(gearnn::testing::small_bundle(3));
  BatchSettings s;
  s.batch_size = 8;
  s.timeout = std::chrono::seconds(30);
  const gearnn::RgbImage small = frame(40, 24, 1), big = frame(48, 32, 2);
  std::vector<uint8_t> map(48 * 32);
  // A lone stream: every client is waiting, so the batch goes at once.
  within(10, [&] {
    auto client = SharedBatcher::join(bundle, s);
    for (int f = 0; f < 3; ++f) client->segment(small.view(), 0, map.data());
  });
  // Two clients, one idle (at EOS): the other does not wait for it.
  within(10, [&] {
    auto stopped = SharedBatcher::join(bundle, s);
    stopped->set_idle(true);
    auto running = SharedBatcher::join(bundle, s);
    running->segment(small.view(), 1, map.data());
  });
  // Two streams of different sizes: separate batches, both answered.
  within(10, [&] {
    std::thread other([&] {
      auto client = SharedBatcher::join(bundle, s);
      std::vector<uint8_t> own(48 * 32);
      client->segment(big.view(), 2, own.data());
    });
    auto client = SharedBatcher::join(bundle, s);
    client->segment(small.view(), 0, map.data());
    other.join();
  });
}

TEST(SharedBatcher, TimeoutSendsAPartialBatch) {
  const auto bundle = gearnn::Bundle::load_shared(gearnn::testing::small_bundle(3));
  BatchSettings s;
  s.batch_size = 4;
  s.timeout = std::chrono::milliseconds(200);
  s.group = "partial";
  const gearnn::RgbImage image = frame(40, 24, 3);
  std::vector<uint8_t> map(40 * 24);
  within(10, [&] {
    auto stalled = SharedBatcher::join(bundle, s);
    auto client = SharedBatcher::join(bundle, s);
    // A client that joined and sent nothing yet is not waited for ...
    auto start = Clock::now();
    client->segment(image.view(), 0, map.data());
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 0.15);
    // ... one that sent a frame of this size and then stalls is, up to the timeout.
    stalled->segment(image.view(), 1, map.data());
    const auto t0 = Clock::now();
    client->segment(image.view(), 0, map.data());
    const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_GE(waited, 0.15) << "sent before the timeout although a client was missing";
    EXPECT_LT(waited, 5.0);
  });
}

TEST(SharedBatcher, ErrorsReachTheirStreamOnly) {
  const auto bundle = gearnn::Bundle::load_shared(gearnn::testing::small_bundle(3));
  BatchSettings s;
  s.batch_size = 2;
  s.timeout = std::chrono::milliseconds(50);
  s.group = "errors";
  const gearnn::RgbImage image = frame(40, 24, 4);
  std::vector<uint8_t> map(40 * 24);
  within(10, [&] {
    auto client = SharedBatcher::join(bundle, s);
    try {
      client->segment(image.view(), 99, map.data());
      ADD_FAILURE() << "level 99 was accepted";
    } catch (const gearnn::Error& e) {
      EXPECT_NE(std::string(e.what()).find("no level 99"), std::string::npos) << e.what();
    }
    client->segment(image.view(), 1, map.data());  // the batcher still works
    EXPECT_EQ(map, alone(bundle, image, 1));
  });
  BatchSettings bad = s;
  bad.batch_size = 0;
  EXPECT_THROW(SharedBatcher::join(bundle, bad), gearnn::Error);
}

// gearnn elements batching through one shared batcher: every stream gets the
// map it would get alone at its own level, and no stream's EOS, flush, caps
// change or state change blocks the others (each bounded by a timeout).
#include "bundle.h"
#include "gst_test_support.h"

#include <gst/app/gstappsink.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>

using namespace gsttest;

namespace {

std::string level_name(const std::string& bundle, size_t k) {
  return gearnn::Bundle::load_shared(bundle, "cpu")->manifest().levels.at(k).name;
}

// One branch: a test pattern at WxH into gearnn on a fixed level, into appsink out<k>.
std::string branch(int k, const std::string& bundle, const std::string& level, int frames, int width, int height,
                   const std::string& batching) {
  return "videotestsrc num-buffers=" + std::to_string(frames) + " pattern=" + std::to_string(k % 3 == 0 ? 0 : k % 3 == 1 ? 18 : 13) +
         " ! video/x-raw,format=I420,width=" + std::to_string(width) + ",height=" + std::to_string(height) +
         " ! gearnn name=nn" + std::to_string(k) + " bundle=" + bundle + " level-source=fixed level=" + level + " " +
         batching + " ! appsink name=out" + std::to_string(k) + " sync=false wait-on-eos=false ";
}

struct Played {
  std::vector<std::vector<GstBuffer*>> buffers;
  double mean_batch = 0;
  bool finished = false;
};

// Plays to EOS (or error) within `seconds`; `during` runs once the pipeline plays.
Played play(const std::string& description, int streams, double seconds,
            const std::function<void(GstElement*)>& during = {}) {
  Played out;
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &err);
  EXPECT_NE(pipeline, nullptr) << (err ? err->message : "");
  if (!pipeline) return out;
  EXPECT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  if (during) during(pipeline);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, GstClockTime(seconds * GST_SECOND),
                                             GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  out.finished = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
  if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    ADD_FAILURE() << e->message;
    g_error_free(e);
  }
  if (m) gst_message_unref(m);
  GstElement* nn = gst_bin_get_by_name(GST_BIN(pipeline), "nn0");
  g_object_get(nn, "batch-mean-size", &out.mean_batch, nullptr);
  gst_object_unref(nn);
  out.buffers.resize(size_t(streams));
  for (int k = 0; k < streams; ++k) {
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), ("out" + std::to_string(k)).c_str());
    while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0)) {
      out.buffers[size_t(k)].push_back(gst_buffer_ref(gst_sample_get_buffer(s)));
      gst_sample_unref(s);
    }
    gst_object_unref(sink);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return out;
}

void release(Played& p) {
  for (auto& stream : p.buffers)
    for (GstBuffer* b : stream) gst_buffer_unref(b);
}

}  // namespace

TEST(Batching, ThreeStreamsOnThreeLevelsGetTheirOwnMaps) {
  const std::string bundle = bundle_of_kind("jpeg", 3);
  const std::string batching = "batch-size=3 batch-timeout=5000 batch-group=three";
  std::string description;
  for (int k = 0; k < 3; ++k) description += branch(k, bundle, level_name(bundle, size_t(k)), 5, 64, 48, batching);
  Played p = play(description, 3, 60);
  ASSERT_TRUE(p.finished);
  EXPECT_GT(p.mean_batch, 1.0) << "the three streams were not batched together";
  for (int k = 0; k < 3; ++k) {
    ASSERT_EQ(p.buffers[size_t(k)].size(), 5u) << "stream " << k;
    for (GstBuffer* b : p.buffers[size_t(k)]) {
      const Seg seg = read_seg(b);
      ASSERT_TRUE(seg.present);
      EXPECT_EQ(seg.level, level_name(bundle, size_t(k)));
      const auto expected = engine_map(bundle, seg.level, GST_VIDEO_FORMAT_I420, 64, 48, b);
      size_t differing = 0;
      for (size_t i = 0; i < expected.size(); ++i) differing += expected[i] != seg.map[i];
      EXPECT_LE(differing, expected.size() / 1000) << "stream " << k << ": " << differing << " pixels differ";
    }
  }
  release(p);
}

// A stream that ends early, and one at another frame size: with a 10 s batch
// timeout, waiting for either would show as a test far slower than this bound.
TEST(Batching, EosAndOtherSizesDoNotHoldTheOthers) {
  const std::string bundle = bundle_of_kind("jpeg", 3);
  const std::string batching = "batch-size=3 batch-timeout=10000 batch-group=eos";
  const std::string description = branch(0, bundle, level_name(bundle, 0), 12, 64, 48, batching) +
                                  branch(1, bundle, level_name(bundle, 1), 3, 64, 48, batching) +
                                  branch(2, bundle, level_name(bundle, 2), 12, 48, 40, batching);
  const auto t0 = std::chrono::steady_clock::now();
  Played p = play(description, 3, 60);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(p.finished);
  EXPECT_LT(seconds, 9.0) << "a stream waited for the batch timeout";
  EXPECT_EQ(p.buffers[0].size(), 12u);
  EXPECT_EQ(p.buffers[1].size(), 3u);
  EXPECT_EQ(p.buffers[2].size(), 12u);
  for (const auto& stream : p.buffers)
    for (GstBuffer* b : stream) EXPECT_TRUE(read_seg(b).present);
  release(p);
}

TEST(Batching, FlushingSeekAndNullWithABatchPending) {
  const std::string bundle = bundle_of_kind("jpeg", 3);
  const std::string batching = "batch-size=2 batch-timeout=300 batch-group=flush";
  // Both streams flush mid-stream (a flushing seek back to the start) and then play to the end.
  const std::string description = branch(0, bundle, level_name(bundle, 0), 400, 64, 48, batching) +
                                  branch(1, bundle, level_name(bundle, 2), 400, 64, 48, batching);
  Played p = play(description, 2, 60, [](GstElement* pipeline) {
    gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND);
    g_usleep(50000);
    EXPECT_TRUE(gst_element_seek_simple(pipeline, GST_FORMAT_TIME, GstSeekFlags(GST_SEEK_FLAG_FLUSH), 0));
  });
  EXPECT_TRUE(p.finished);
  for (const auto& stream : p.buffers) {
    EXPECT_GT(stream.size(), 0u);
    for (GstBuffer* b : stream) EXPECT_TRUE(read_seg(b).present);
  }
  release(p);

  // To NULL while frames wait for a batch that a stalled stream would fill.
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(
      (branch(0, bundle, level_name(bundle, 0), 1000, 64, 48, "batch-size=4 batch-timeout=2000 batch-group=null") +
       branch(1, bundle, level_name(bundle, 1), 1000, 64, 48, "batch-size=4 batch-timeout=2000 batch-group=null"))
          .c_str(),
      &err);
  ASSERT_NE(pipeline, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  g_usleep(300000);
  auto stopped = std::async(std::launch::async, [pipeline] { return gst_element_set_state(pipeline, GST_STATE_NULL); });
  ASSERT_EQ(stopped.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "NULL blocked";
  EXPECT_EQ(stopped.get(), GST_STATE_CHANGE_SUCCESS);
  gst_object_unref(pipeline);
}

// A caps change in one stream of a batch group: its frames batch at the new
// size, the other stream keeps its own, and both get maps at their own size.
TEST(Batching, CapsChangeInOneStream) {
  const std::string bundle = abr_bundle();
  auto a = gearnn_harness("bundle=" + bundle + " batch-size=2 batch-timeout=200 batch-group=caps");
  auto b = gearnn_harness("bundle=" + bundle + " batch-size=2 batch-timeout=200 batch-group=caps");
  gst_harness_set_src_caps_str(a.get(), caps_string(GST_VIDEO_FORMAT_I420, 240, 180).c_str());
  gst_harness_set_src_caps_str(b.get(), caps_string(GST_VIDEO_FORMAT_I420, 320, 240).c_str());
  auto pushed = std::async(std::launch::async, [&] {
    for (int i = 0; i < 3; ++i) {
      if (i == 1) gst_harness_set_src_caps_str(a.get(), caps_string(GST_VIDEO_FORMAT_I420, 480, 360).c_str());
      const int w = i == 0 ? 240 : 480, h = i == 0 ? 180 : 360;
      GstBuffer* oa = push_pull(a.get(), make_frame(GST_VIDEO_FORMAT_I420, w, h, i), i);
      const Seg seg = read_seg(oa);
      EXPECT_EQ(seg.s.width, guint(w));
      EXPECT_EQ(seg.level.rfind(std::to_string(w) + "x", 0), 0u) << seg.level;
      gst_buffer_unref(oa);
    }
  });
  for (int i = 0; i < 3; ++i) {
    GstBuffer* ob = push_pull(b.get(), make_frame(GST_VIDEO_FORMAT_I420, 320, 240, i), i);
    EXPECT_EQ(read_seg(ob).s.width, 320u);
    gst_buffer_unref(ob);
  }
  ASSERT_EQ(pushed.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  pushed.get();
}

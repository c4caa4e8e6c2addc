/**
 * SECTION:element-gearnn
 * @title: gearnn
 * @short_description: DRN semantic segmentation that adapts to each frame's distortion
 *
 * Runs the segmentation network of a GearNN bundle on every frame, at the
 * frame's own size, and attaches the class map as a segmentation meta (see
 * gearnnmeta.h). Before each inference it measures the frame's distortion and
 * selects the nearest level of the bundle: the resident base plus that level's
 * small adaptor. A switch swaps a weight table; it copies no weights.
 *
 * What is measured (`level-source`): the resolution from the caps, the H.264
 * slice QP (made P-equivalent and averaged over `qp-window` frames) or the
 * JPEG quality from the quality meta that `gearnnquality` puts on encoded
 * frames upstream of the decoder, and the brightness from the frame's mean
 * luma (the Y plane of YUV frames). The definitions are the engine's
 * (src/measure/), the ones the offline side describes levels with; the
 * choice itself is the engine's gearnn::LevelSelector. In `auto` the
 * bundle's levels decide which of these are used; a dimension that this
 * stream cannot provide is left out (matching falls back to the others) and
 * a warning says so once.
 *
 * Setting `bundle` while playing swaps bundles without a gap: the new one
 * loads on a thread of its own, the next frame after it is ready runs on it,
 * and the element posts `gearnn-bundle-swap` (`from`, `to`, `pts`). A bundle
 * that does not load leaves the running one in place and posts a warning.
 *
 * On every change of level the element posts an element message
 * `gearnn-level-switch` with the fields `from` (string, empty for the first
 * frame), `to` (string), `from-index` (int, -1 for the first frame),
 * `to-index` (int), `measured` (string), `pts`, `running-time` (uint64), and
 * `expected-miou` (double) where the bundle records the new level's offline mIoU.
 *
 * With `target-miou` set, the element tracks the representations (frame
 * sizes) it has played and the expected mIoU of the level each ran, and names
 * the cheapest that meets the target in `abr-hint` ("WxH"); each change posts
 * `gearnn-abr-hint` (`width`, `height`, `level`, `expected-miou`,
 * `meets-target`, `target-miou`, `pts`), for a player to cap its bitrate.
 *
 * With `batch-size` above 1, the elements of a process that share a bundle
 * (and `batch-group`, `batch-size` and `batch-timeout`) send their frames
 * to one shared batcher: one forward for all their frames, each frame on its
 * own level (src/shared_batcher.h). A frame waits at most `batch-timeout` for
 * the others, and not at all when no other stream could join its batch (the
 * others wait already, have reached EOS, or run another frame size).
 *
 * Buffers are processed in place; the pixels are only read. QoS is on by
 * default (the `qos` property of #GstBaseTransform): when inference falls
 * behind a synchronised sink, late frames are dropped.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
 *     gearnn bundle=/path/to/bundle ! gearnnoverlay ! videoconvert ! autovideosink
 * ]|
 */
#include "gstgearnn.h"

#include "abr_hint.h"
#include "error.h"
#include "gearnnmeta.h"
#include "level_selector.h"
#include "measure/stream_quality.h"
#include "shared_batcher.h"
#include "background_load.h"
#include "stream_engine.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

GST_DEBUG_CATEGORY_STATIC(gst_gearnn_debug);
#define GST_CAT_DEFAULT gst_gearnn_debug

#define GEARNN_VIDEO_FORMATS "{ I420, YV12, NV12, NV21, Y42B, Y444, RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR }"

namespace {

enum {
  PROP_0,
  PROP_BUNDLE,
  PROP_DEVICE,
  PROP_THREADS,
  PROP_LEVEL_SOURCE,
  PROP_LEVEL,
  PROP_INTERVAL,
  PROP_REFERENCE_LUMA,
  PROP_QP_WINDOW,
  PROP_HYSTERESIS,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT,
  PROP_BATCH_GROUP,
  PROP_BATCH_MEAN_SIZE,
  PROP_EARLY_EXIT,
  PROP_EXIT_THRESHOLD_SCALE,
  PROP_CURRENT_LEVEL,
  PROP_BUNDLE_USERS,
  PROP_TARGET_MIOU,
  PROP_ABR_HINT,
};

constexpr const char* kDefaultDevice = "cpu";
constexpr guint kDefaultInterval = 1;
constexpr guint kDefaultQpWindow = guint(gearnn::kDefaultQpWindow);
constexpr gdouble kDefaultHysteresis = 0.2;
constexpr guint kDefaultBatchSize = 1;
constexpr guint kDefaultBatchTimeoutMs = 10;
constexpr gdouble kDefaultExitThresholdScale = 1.0;

// The last inference, kept for `interval` reuse.
struct LastResult {
  GBytes* class_map = nullptr;
  int width = 0, height = 0;
  size_t level = 0;
  guint64 inference_ns = 0;
  bool exits_on = false;
  int exit = -1;  // gearnn::ExitOutcome::exit
  double compute_fraction = 1.0;
  void clear() {
    if (class_map) g_bytes_unref(class_map);
    class_map = nullptr;
  }
};

// Everything that exists between start() and stop(); streaming-thread state.
struct Running {
  std::string bundle_path;  // as the property named it
  std::unique_ptr<gstgearnn::StreamEngine> engine;
  std::unique_ptr<gearnn::LevelSelector> selector;
  std::unique_ptr<gearnn::BatchClient> batch;  // batch-size > 1; released before the engine
  std::unique_ptr<gearnn::AbrHintTracker> hint;  // on the bundle's levels
  LastResult last;
  int inherited_threads = 0;  // LibTorch's count where the element was started
  ~Running() { last.clear(); }
};

gearnn::LevelSource to_engine(GstGearnnLevelSource source) {
  switch (source) {
    case GST_GEARNN_LEVEL_SOURCE_AUTO: return gearnn::LevelSource::automatic;
    case GST_GEARNN_LEVEL_SOURCE_CAPS: return gearnn::LevelSource::caps;
    case GST_GEARNN_LEVEL_SOURCE_QP: return gearnn::LevelSource::qp;
    case GST_GEARNN_LEVEL_SOURCE_JPEG: return gearnn::LevelSource::jpeg;
    case GST_GEARNN_LEVEL_SOURCE_BRIGHTNESS: return gearnn::LevelSource::brightness;
    case GST_GEARNN_LEVEL_SOURCE_FIXED: return gearnn::LevelSource::fixed;
  }
  return gearnn::LevelSource::automatic;
}

}  // namespace

struct _GstGearnn {
  GstBaseTransform parent;

  // Properties (GST_OBJECT_LOCK).
  gchar* bundle;
  gchar* device;
  gint threads;
  GstGearnnLevelSource level_source;
  gchar* level;
  guint interval;
  gdouble reference_luma;
  guint qp_window;
  gdouble hysteresis;
  guint batch_size;
  guint batch_timeout_ms;
  gchar* batch_group;
  gboolean early_exit;
  gdouble exit_threshold_scale;
  gboolean exits_changed;  // early-exit or its scale changed since the streaming thread last looked
  gdouble target_miou;
  gboolean target_changed;  // target-miou changed since the streaming thread last looked
  gchar* abr_hint;          // "WxH" or empty
  gchar* current_level;
  gboolean selection_changed;  // a selection property changed since the streaming thread last looked

  // Streaming state.
  GstVideoInfo info;
  gboolean have_info;
  gboolean luma_from_y_plane;  // brightness read from plane 0 (planar or semi-planar 8-bit YUV), set with the caps
  gboolean limited_range;      // the Y plane is 16..235 (set with the caps)
  Running* run;                               // replaced under GST_OBJECT_LOCK
  gboolean playing;                           // GST_OBJECT_LOCK; batch clients count only while PLAYING
  gstgearnn::BackgroundLoad<Running>* swap;  // a bundle set while started
};

G_DEFINE_TYPE(GstGearnn, gst_gearnn, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(gearnn, "gearnn", GST_RANK_NONE, GST_TYPE_GEARNN);

GType gst_gearnn_level_source_get_type(void) {
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_GEARNN_LEVEL_SOURCE_AUTO, "Every dimension the bundle's levels describe", "auto"},
      {GST_GEARNN_LEVEL_SOURCE_CAPS, "Resolution from the caps", "caps"},
      {GST_GEARNN_LEVEL_SOURCE_QP, "H.264 QP from the quality meta", "qp"},
      {GST_GEARNN_LEVEL_SOURCE_JPEG, "JPEG quality from the quality meta", "jpeg"},
      {GST_GEARNN_LEVEL_SOURCE_BRIGHTNESS, "Brightness from the frame's mean luma", "brightness"},
      {GST_GEARNN_LEVEL_SOURCE_FIXED, "The level named by the level property", "fixed"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstGearnnLevelSource", values));
  return GType(type);
}

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GEARNN_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GEARNN_VIDEO_FORMATS)));

static void begin_bundle_swap(GstGearnn* self);

static void gst_gearnn_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstGearnn* self = GST_GEARNN(object);
  bool swap_bundle = false;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_BUNDLE:
      g_free(self->bundle);
      self->bundle = g_value_dup_string(value);
      swap_bundle = self->run != nullptr;
      break;
    case PROP_DEVICE:
      g_free(self->device);
      self->device = g_value_dup_string(value);
      if (!self->device) self->device = g_strdup(kDefaultDevice);
      break;
    case PROP_THREADS: self->threads = g_value_get_int(value); break;
    case PROP_LEVEL_SOURCE: self->level_source = GstGearnnLevelSource(g_value_get_enum(value)); break;
    case PROP_LEVEL:
      g_free(self->level);
      self->level = g_value_dup_string(value);
      break;
    case PROP_INTERVAL: self->interval = g_value_get_uint(value); break;
    case PROP_REFERENCE_LUMA: self->reference_luma = g_value_get_double(value); break;
    case PROP_QP_WINDOW: self->qp_window = g_value_get_uint(value); break;
    case PROP_HYSTERESIS: self->hysteresis = g_value_get_double(value); break;
    case PROP_BATCH_SIZE: self->batch_size = g_value_get_uint(value); break;
    case PROP_BATCH_TIMEOUT: self->batch_timeout_ms = g_value_get_uint(value); break;
    case PROP_EARLY_EXIT:
      self->early_exit = g_value_get_boolean(value);
      self->exits_changed = TRUE;
      break;
    case PROP_EXIT_THRESHOLD_SCALE:
      self->exit_threshold_scale = g_value_get_double(value);
      self->exits_changed = TRUE;
      break;
    case PROP_TARGET_MIOU:
      self->target_miou = g_value_get_double(value);
      self->target_changed = TRUE;
      break;
    case PROP_BATCH_GROUP:
      g_free(self->batch_group);
      self->batch_group = g_value_dup_string(value);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  if (prop_id == PROP_LEVEL_SOURCE || prop_id == PROP_LEVEL || prop_id == PROP_INTERVAL ||
      prop_id == PROP_REFERENCE_LUMA || prop_id == PROP_QP_WINDOW || prop_id == PROP_HYSTERESIS)
    self->selection_changed = TRUE;
  GST_OBJECT_UNLOCK(self);
  if (swap_bundle) begin_bundle_swap(self);
}

static void gst_gearnn_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstGearnn* self = GST_GEARNN(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_BUNDLE: g_value_set_string(value, self->bundle); break;
    case PROP_DEVICE: g_value_set_string(value, self->device); break;
    case PROP_THREADS: g_value_set_int(value, self->threads); break;
    case PROP_LEVEL_SOURCE: g_value_set_enum(value, self->level_source); break;
    case PROP_LEVEL: g_value_set_string(value, self->level); break;
    case PROP_INTERVAL: g_value_set_uint(value, self->interval); break;
    case PROP_REFERENCE_LUMA: g_value_set_double(value, self->reference_luma); break;
    case PROP_QP_WINDOW: g_value_set_uint(value, self->qp_window); break;
    case PROP_HYSTERESIS: g_value_set_double(value, self->hysteresis); break;
    case PROP_BATCH_SIZE: g_value_set_uint(value, self->batch_size); break;
    case PROP_BATCH_TIMEOUT: g_value_set_uint(value, self->batch_timeout_ms); break;
    case PROP_EARLY_EXIT: g_value_set_boolean(value, self->early_exit); break;
    case PROP_EXIT_THRESHOLD_SCALE: g_value_set_double(value, self->exit_threshold_scale); break;
    case PROP_BATCH_GROUP: g_value_set_string(value, self->batch_group); break;
    case PROP_BATCH_MEAN_SIZE: {
      const gearnn::SharedBatcher* b = self->run && self->run->batch ? &self->run->batch->batcher() : nullptr;
      const auto [batches, frames] = b ? b->counts() : std::pair<uint64_t, uint64_t>{0, 0};
      g_value_set_double(value, batches ? double(frames) / double(batches) : 0.0);
      break;
    }
    case PROP_CURRENT_LEVEL: g_value_set_string(value, self->current_level); break;
    case PROP_TARGET_MIOU: g_value_set_double(value, self->target_miou); break;
    case PROP_ABR_HINT: g_value_set_string(value, self->abr_hint ? self->abr_hint : ""); break;
    case PROP_BUNDLE_USERS: g_value_set_uint(value, self->run ? guint(self->run->engine->bundle_users()) : 0u); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_gearnn_finalize(GObject* object) {
  GstGearnn* self = GST_GEARNN(object);
  delete self->swap;  // waits for a load in progress; its outcome is dropped
  delete self->run;
  g_free(self->bundle);
  g_free(self->device);
  g_free(self->level);
  g_free(self->batch_group);
  g_free(self->current_level);
  g_free(self->abr_hint);
  G_OBJECT_CLASS(gst_gearnn_parent_class)->finalize(object);
}

// LibTorch's intra-op thread count is process-global; OpenMP also keeps it per
// calling thread, so it is applied on the streaming thread too.
static void apply_threads(gint threads) {
  if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(threads);
}

// The selection properties as the engine's settings. Object lock held.
static gearnn::SelectorSettings selector_settings(GstGearnn* self) {
  gearnn::SelectorSettings s;
  s.source = to_engine(self->level_source);
  s.fixed_level = self->level ? self->level : "";
  s.qp_window = std::max(1u, self->qp_window);
  s.hysteresis = self->hysteresis;
  s.reference_luma = self->reference_luma;
  s.interval = self->interval;
  self->selection_changed = FALSE;
  return s;
}

static void warn_if_nothing_measured(GstGearnn* self, const gearnn::LevelSelector& selector) {
  if (!selector.warning().empty())
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("The level source measures nothing this bundle describes"),
                        ("%s", selector.warning().c_str()));
}

// Applies selection properties changed while playing; streaming thread.
static void update_selector(GstGearnn* self, gearnn::LevelSelector& selector) {
  GST_OBJECT_LOCK(self);
  if (!self->selection_changed) {
    GST_OBJECT_UNLOCK(self);
    return;
  }
  const gearnn::SelectorSettings s = selector_settings(self);
  GST_OBJECT_UNLOCK(self);
  if (s.source == gearnn::LevelSource::fixed && !selector.set_fixed_level(s.fixed_level))
    GST_WARNING_OBJECT(self, "unknown level '%s'; keeping the current one", s.fixed_level.c_str());
  const std::string before = selector.warning();
  selector.set_source(s.source);
  selector.set_qp_window(s.qp_window);
  selector.set_hysteresis(s.hysteresis);
  selector.set_interval(s.interval);
  selector.set_reference_luma(s.reference_luma);
  if (selector.warning() != before) warn_if_nothing_measured(self, selector);
}

// Everything a Running is made from, read under the object lock.
struct RunConfig {
  std::string bundle, device;
  gearnn::SelectorSettings settings;
  gint threads = 0;
  int inherited_threads = 0;
  gearnn::BatchSettings batching;
  bool early_exit = false;
  double exit_threshold_scale = kDefaultExitThresholdScale;
  double target_miou = 0;
};

static RunConfig run_config(GstGearnn* self) {
  RunConfig c;
  c.bundle = self->bundle ? self->bundle : "";
  c.device = self->device ? self->device : kDefaultDevice;
  c.settings = selector_settings(self);
  c.threads = self->threads;
  c.batching.batch_size = self->batch_size;
  c.batching.timeout = std::chrono::milliseconds(self->batch_timeout_ms);
  c.batching.group = self->batch_group ? self->batch_group : "";
  c.early_exit = self->early_exit;
  c.exit_threshold_scale = self->exit_threshold_scale;
  self->exits_changed = FALSE;
  c.target_miou = self->target_miou;
  self->target_changed = FALSE;
  return c;
}

// Why a Running could not be made: the message's summary and details.
struct RunFailure : std::runtime_error {
  RunFailure(bool settings, const std::string& summary, std::string details)
      : std::runtime_error(summary), bad_settings(settings), details(std::move(details)) {}
  bool bad_settings;  // RESOURCE SETTINGS rather than OPEN_READ
  std::string details;
};

// Loads (or shares) the bundle and makes the selector (and batch client) for
// it; the stream format is applied by the caller. Any thread.
static std::unique_ptr<Running> make_running(const RunConfig& c) {
  auto run = std::make_unique<Running>();
  run->bundle_path = c.bundle;
  run->inherited_threads = c.inherited_threads;
  try {
    run->engine = std::make_unique<gstgearnn::StreamEngine>(c.bundle, c.device);
  } catch (const std::exception& e) {
    throw RunFailure(false, std::string("Cannot load bundle: ") + e.what(),
                     "bundle=" + c.bundle + " device=" + c.device);
  }
  const gearnn::Bundle& b = run->engine->bundle();
  try {
    run->selector = std::make_unique<gearnn::LevelSelector>(b.manifest(), b.default_level(), c.settings);
    run->engine->model().set_early_exit(c.early_exit, c.exit_threshold_scale);
    run->hint = std::make_unique<gearnn::AbrHintTracker>(b.manifest().levels);
    run->hint->set_target(c.target_miou);
    if (c.batching.batch_size > 1) {
      gearnn::BatchSettings batching = c.batching;
      batching.threads = c.threads > 0 ? c.threads : run->inherited_threads;
      run->batch = gearnn::SharedBatcher::join(run->engine->model().shared_bundle(), batching);
    }
  } catch (const std::exception& e) {
    throw RunFailure(true, "Bundle " + c.bundle + ": " + e.what(), "");
  }
  return run;
}

static gboolean gst_gearnn_start(GstBaseTransform* trans) {
  GstGearnn* self = GST_GEARNN(trans);
  GST_OBJECT_LOCK(self);
  RunConfig config = run_config(self);
  GST_OBJECT_UNLOCK(self);

  if (config.bundle.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No bundle given"),
                      ("set the 'bundle' property to a bundle folder or its manifest.json"));
    return FALSE;
  }
  apply_threads(config.threads);
  // Streaming threads are not the application's: without this they may run
  // with OpenMP's per-thread default (often 1) instead of the process's setting.
  config.inherited_threads = at::get_num_threads();
  std::unique_ptr<Running> run;
  try {
    run = make_running(config);
  } catch (const RunFailure& e) {
    if (e.bad_settings) GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", e.what()), (nullptr));
    else GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", e.what()), ("%s", e.details.c_str()));
    return FALSE;
  }
  const gearnn::Bundle& b = run->engine->bundle();
  warn_if_nothing_measured(self, *run->selector);
  if (config.target_miou > 0 && !run->hint->has_expectations())
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("target-miou is set, but bundle %s records no expected accuracy",
                                                   config.bundle.c_str()),
                        ("record it with: gearnn eval --methods gearnn --write-expected ..."));
  GST_INFO_OBJECT(self, "bundle %s on %s: %zu levels, %zu classes, overhead %.3f%%", config.bundle.c_str(),
                  config.device.c_str(), b.level_count(), b.manifest().classes.size(), b.memory_overhead_percent());
  if (self->have_info) {
    try {
      run->engine->set_format(self->info);
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Cannot prepare for the stream's format: %s", e.what()), (nullptr));
      return FALSE;
    }
  }
  GST_INFO_OBJECT(self, "resident bundle shared by %ld elements", run->engine->bundle_users());
  self->swap->open();
  GST_OBJECT_LOCK(self);  // get_property reads run
  if (run->batch) run->batch->set_counted(self->playing);
  Running* old = self->run;
  self->run = run.release();
  // `bundle` set while this start loaded the earlier one: swap to it as if set while playing.
  const bool set_meanwhile = self->bundle && config.bundle != self->bundle;
  GST_OBJECT_UNLOCK(self);
  delete old;
  if (set_meanwhile) begin_bundle_swap(self);
  return TRUE;
}

// `bundle` set while started: the new bundle loads on a thread of its own and
// the streaming thread adopts it at the next frame (adopt_swapped_bundle).
static void begin_bundle_swap(GstGearnn* self) {
  GST_OBJECT_LOCK(self);
  // Changes still owed to the running selector, model and hint tracker.
  const gboolean selection_changed = self->selection_changed, exits_changed = self->exits_changed,
                 target_changed = self->target_changed;
  RunConfig config = run_config(self);
  self->selection_changed = selection_changed;
  self->exits_changed = exits_changed;
  self->target_changed = target_changed;
  config.inherited_threads = self->run ? self->run->inherited_threads : at::get_num_threads();
  GST_OBJECT_UNLOCK(self);
  GST_INFO_OBJECT(self, "loading bundle %s", config.bundle.c_str());
  self->swap->start(config.bundle, [config] { return make_running(config); });
}

// The property names the bundle that runs again, unless it was set anew meanwhile.
static void name_running_bundle(GstGearnn* self, const std::string& refused) {
  GST_OBJECT_LOCK(self);
  if (self->run && self->bundle && refused == self->bundle) {
    g_free(self->bundle);
    self->bundle = g_strdup(self->run->bundle_path.c_str());
  }
  GST_OBJECT_UNLOCK(self);
}

// The hint changed: the property and a gearnn-abr-hint message.
static void publish_hint(GstGearnn* self, GstBuffer* buf, const gearnn::AbrHintTracker& tracker) {
  const auto& hint = tracker.current();
  const auto& levels = self->run->engine->bundle().manifest().levels;
  const std::string size = hint ? std::to_string(hint->width) + "x" + std::to_string(hint->height) : "";
  GST_OBJECT_LOCK(self);
  g_free(self->abr_hint);
  self->abr_hint = g_strdup(size.c_str());
  GST_OBJECT_UNLOCK(self);
  GstStructure* s = gst_structure_new(
      "gearnn-abr-hint", "width", G_TYPE_INT, hint ? hint->width : 0, "height", G_TYPE_INT, hint ? hint->height : 0,
      "level", G_TYPE_STRING, hint ? levels[hint->level].name.c_str() : "", "expected-miou", G_TYPE_DOUBLE,
      hint ? hint->expected_miou : 0.0, "meets-target", G_TYPE_BOOLEAN, gboolean(hint && hint->meets_target),
      "target-miou", G_TYPE_DOUBLE, tracker.target(), "pts", G_TYPE_UINT64, GST_BUFFER_PTS(buf), nullptr);
  GST_INFO_OBJECT(self, "ABR hint: %s", size.empty() ? "(none)" : size.c_str());
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

// Streaming thread, at a frame boundary: takes a finished swap. A bundle that
// loaded replaces the running one (message gearnn-bundle-swap); one that did
// not leaves it, with a warning.
static void adopt_swapped_bundle(GstGearnn* self, GstBuffer* buf) {
  auto outcome = self->swap->take_ready();
  if (!outcome) return;
  const std::string running = self->run ? self->run->bundle_path : "";
  std::string why, details;
  if (outcome->error) {
    try {
      std::rethrow_exception(outcome->error);
    } catch (const RunFailure& e) {
      why = e.what();
      details = e.details;
    } catch (const std::exception& e) {
      why = e.what();
    }
  } else if (self->have_info) {
    try {
      outcome->made->engine->set_format(self->info);
    } catch (const std::exception& e) {
      why = std::string("Cannot prepare for the stream's format: ") + e.what();
    }
  }
  if (!why.empty()) {
    name_running_bundle(self, outcome->what);
    GST_ELEMENT_WARNING(self, RESOURCE, OPEN_READ, ("Keeping bundle %s: %s", running.c_str(), why.c_str()),
                        ("%s", details.c_str()));
    return;
  }
  std::unique_ptr<Running> fresh = std::move(outcome->made);
  warn_if_nothing_measured(self, *fresh->selector);
  GST_OBJECT_LOCK(self);
  if (fresh->batch) fresh->batch->set_counted(self->playing);
  Running* old = self->run;
  self->run = fresh.release();
  g_clear_pointer(&self->current_level, g_free);
  // Properties set during the load reach the new selector, model and tracker.
  self->selection_changed = self->exits_changed = self->target_changed = TRUE;
  const bool had_hint = self->abr_hint && *self->abr_hint;
  GST_OBJECT_UNLOCK(self);
  delete old;  // the old resident bundle goes when its last element lets go
  if (had_hint) publish_hint(self, buf, *self->run->hint);  // the old bundle's hint no longer holds
  gst_element_post_message(
      GST_ELEMENT(self),
      gst_message_new_element(GST_OBJECT(self),
                              gst_structure_new("gearnn-bundle-swap", "from", G_TYPE_STRING, running.c_str(), "to",
                                                G_TYPE_STRING, self->run->bundle_path.c_str(), "pts", G_TYPE_UINT64,
                                                GST_BUFFER_PTS(buf), nullptr)));
  GST_INFO_OBJECT(self, "bundle %s replaced by %s", running.c_str(), self->run->bundle_path.c_str());
}

// A batch client counts (others wait for its frames) only while PLAYING: in
// PAUSED its sink may hold the streaming thread in preroll, and the other
// streams' prerolls would wait out the batch timeout for it.
static GstStateChangeReturn gst_gearnn_change_state(GstElement* element, GstStateChange transition) {
  GstGearnn* self = GST_GEARNN(element);
  if (transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED || transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING) {
    const bool playing = transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING;
    GST_OBJECT_LOCK(self);
    self->playing = playing;
    if (self->run && self->run->batch) self->run->batch->set_counted(playing);
    GST_OBJECT_UNLOCK(self);
  }
  return GST_ELEMENT_CLASS(gst_gearnn_parent_class)->change_state(element, transition);
}

static gboolean gst_gearnn_stop(GstBaseTransform* trans) {
  GstGearnn* self = GST_GEARNN(trans);
  self->swap->close();
  GST_OBJECT_LOCK(self);
  Running* run = self->run;
  self->run = nullptr;
  g_clear_pointer(&self->current_level, g_free);
  g_clear_pointer(&self->abr_hint, g_free);
  GST_OBJECT_UNLOCK(self);
  delete run;
  self->have_info = FALSE;
  return TRUE;
}

// Y, U and V in separate planes or Y and interleaved UV (I420, NV12, ...): the luma is plane 0.
static bool has_luma_plane(const GstVideoInfo& info) {
  return GST_VIDEO_INFO_IS_YUV(&info) && GST_VIDEO_INFO_N_PLANES(&info) >= 2 && GST_VIDEO_INFO_COMP_DEPTH(&info, 0) == 8;
}

static gboolean gst_gearnn_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps* /*outcaps*/) {
  GstGearnn* self = GST_GEARNN(trans);
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps)) {
    GST_ERROR_OBJECT(self, "invalid caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  self->info = info;
  self->have_info = TRUE;
  self->luma_from_y_plane = has_luma_plane(info);
  self->limited_range = info.colorimetry.range != GST_VIDEO_COLOR_RANGE_0_255;
  if (self->run) {
    try {
      self->run->engine->set_format(info);
    } catch (const std::exception& e) {
      GST_ERROR_OBJECT(self, "%s", e.what());
      return FALSE;
    }
    // A new size invalidates the kept result; a new representation (an ABR switch) starts a new measurement.
    self->run->last.clear();
    self->run->selector->new_representation();
  }
  GST_DEBUG_OBJECT(self, "caps %" GST_PTR_FORMAT, incaps);
  return TRUE;
}

static gboolean gst_gearnn_sink_event(GstBaseTransform* trans, GstEvent* event) {
  GstGearnn* self = GST_GEARNN(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP && self->run) {
    // After a seek or flush the next frame is always inferred.
    self->run->last.clear();
    self->run->selector->new_representation();
  }
  // A stream at EOS sends no more frames: the others' batches stop waiting for it.
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && self->run && self->run->batch) self->run->batch->set_idle(true);
  return GST_BASE_TRANSFORM_CLASS(gst_gearnn_parent_class)->sink_event(trans, event);
}

static const char* how_to_measure(gearnn::Dimension d) {
  switch (d) {
    case gearnn::Dimension::h264_qp:
      return "no quality meta with a QP on the frames: put gearnnquality between the H.264 parser and the decoder";
    case gearnn::Dimension::jpeg_quality:
      return "no quality meta with a JPEG quality on the frames: put gearnnquality in front of the JPEG decoder";
    default: return "not available on this stream";
  }
}

static void post_switch(GstGearnn* self, GstBuffer* buf, std::optional<size_t> from, size_t to,
                        const gearnn::Distortion& measured) {
  const auto& levels = self->run->engine->bundle().manifest().levels;
  GstClockTime running_time = gst_segment_to_running_time(&GST_BASE_TRANSFORM(self)->segment, GST_FORMAT_TIME,
                                                           GST_BUFFER_PTS(buf));
  GstStructure* s = gst_structure_new(
      "gearnn-level-switch", "from", G_TYPE_STRING, from ? levels[*from].name.c_str() : "", "to", G_TYPE_STRING,
      levels[to].name.c_str(), "from-index", G_TYPE_INT, from ? gint(*from) : -1, "to-index", G_TYPE_INT, gint(to),
      "measured", G_TYPE_STRING, measured.describe().c_str(), "pts", G_TYPE_UINT64, GST_BUFFER_PTS(buf),
      "running-time", G_TYPE_UINT64, running_time, nullptr);
  if (levels[to].expected) gst_structure_set(s, "expected-miou", G_TYPE_DOUBLE, levels[to].expected->miou, nullptr);
  GST_INFO_OBJECT(self, "level %s -> %s (measured %s) at %" GST_TIME_FORMAT,
                  from ? levels[*from].name.c_str() : "(none)", levels[to].name.c_str(), measured.describe().c_str(),
                  GST_TIME_ARGS(GST_BUFFER_PTS(buf)));
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

// What this frame offers along the dimensions the selector uses.
static gearnn::FrameObservation observe(const gearnn::LevelSelector& selector, GstBuffer* buf, int width, int height,
                                        const std::optional<gearnn::RgbView>& rgb) {
  gearnn::FrameObservation o;
  if (selector.uses(gearnn::Dimension::resolution)) o.resolution = gearnn::Resolution{width, height};
  const bool wants_quality =
      selector.uses(gearnn::Dimension::h264_qp) || selector.uses(gearnn::Dimension::jpeg_quality);
  GstGearnnQuality quality;
  if (wants_quality && gst_buffer_get_gearnn_quality(buf, &quality)) {
    if (selector.uses(gearnn::Dimension::h264_qp) && quality.qp >= 0) {
      gearnn::H264FrameQp frame;
      frame.qp = quality.qp;
      // gearnnquality decided the type from the slices; a producer that gives none counts as P.
      frame.type = quality.frame_type == 'I'   ? gearnn::H264FrameType::I
                   : quality.frame_type == 'B' ? gearnn::H264FrameType::B
                                               : gearnn::H264FrameType::P;
      o.h264 = frame;
    }
    if (selector.uses(gearnn::Dimension::jpeg_quality) && quality.jpeg_quality >= 0)
      o.jpeg_quality = quality.jpeg_quality;
  }
  if (rgb) o.mean_luma = gearnn::mean_luma(*rgb);
  return o;
}

static double frame_mean_luma(const GstVideoFrame& frame, bool limited_range) {
  const GstVideoInfo& info = frame.info;
  return gearnn::mean_luma_of_y(static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)),
                                GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info),
                                size_t(GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0)), limited_range);
}

static GstFlowReturn gst_gearnn_transform_ip(GstBaseTransform* trans, GstBuffer* buf) {
  GstGearnn* self = GST_GEARNN(trans);
  adopt_swapped_bundle(self, buf);
  Running* run = self->run;
  if (!run || !self->have_info) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (nullptr), ("no caps before the first buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  GST_OBJECT_LOCK(self);
  const gint threads = self->threads;
  const bool exits_changed = self->exits_changed, early_exit = self->early_exit;
  const double exit_scale = self->exit_threshold_scale;
  const bool target_changed = self->target_changed;
  const double target_miou = self->target_miou;
  self->exits_changed = self->target_changed = FALSE;
  GST_OBJECT_UNLOCK(self);
  apply_threads(threads > 0 ? threads : run->inherited_threads);
  if (exits_changed) run->engine->model().set_early_exit(early_exit, exit_scale);
  gearnn::LevelSelector& selector = *run->selector;
  update_selector(self, selector);
  if (G_UNLIKELY(!selector.current()))
    GST_INFO_OBJECT(self, "intra-op threads on the streaming thread: %d", at::get_num_threads());

  gstgearnn::StreamEngine& engine = *run->engine;
  const gearnn::Bundle& bundle = engine.bundle();
  const int width = GST_VIDEO_INFO_WIDTH(&self->info), height = GST_VIDEO_INFO_HEIGHT(&self->info);

  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &self->info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, (nullptr), ("cannot map the frame"));
    return GST_FLOW_ERROR;
  }

  gearnn::Selection selection;
  try {
    // Measure and select.
    // Brightness only where it is used: from the Y plane of YUV frames, else from the RGB frame.
    std::optional<gearnn::RgbView> rgb;
    const bool brightness = selector.uses(gearnn::Dimension::brightness);
    if (brightness && !self->luma_from_y_plane) rgb = engine.rgb(frame);
    gearnn::FrameObservation observation = observe(selector, buf, width, height, rgb);
    if (brightness && !rgb) observation.mean_luma = frame_mean_luma(frame, self->limited_range);
    const bool can_reuse = run->last.class_map && run->last.width == width && run->last.height == height;
    selection = selector.next(observation, can_reuse);
    for (gearnn::Dimension d : gearnn::kDimensions)
      if (selection.newly_missing[size_t(d)])
        GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                            ("Cannot measure %s on this stream; levels are matched on the other dimensions",
                             gearnn::dimension_name(d)),
                            ("%s", how_to_measure(d)));
    if (selection.changed) {
      engine.model().select(selection.level);
      GST_OBJECT_LOCK(self);
      g_free(self->current_level);
      self->current_level = g_strdup(bundle.manifest().levels[selection.level].name.c_str());
      GST_OBJECT_UNLOCK(self);
      post_switch(self, buf, selection.previous, selection.level, selection.measured);
    }
    bool hint_changed = target_changed && run->hint->set_target(target_miou);
    hint_changed = run->hint->observe(width, height, selection.level) || hint_changed;
    if (hint_changed) publish_hint(self, buf, *run->hint);

    // Infer (or reuse). A stream that reuses sends nothing to its batcher: nobody waits for it.
    if (!selection.infer && run->batch) run->batch->set_idle(true);
    if (selection.infer) {
      if (!rgb) rgb = engine.rgb(frame);
      const auto t0 = std::chrono::steady_clock::now();
      // The class map is written once, into the memory its GBytes then owns.
      const gsize size = gsize(width) * gsize(height);
      guint8* classes = static_cast<guint8*>(g_malloc(size));
      try {
        if (run->batch) run->batch->segment(*rgb, selection.level, classes);
        else engine.model().segment_into(*rgb, classes);
      } catch (...) {
        g_free(classes);
        throw;
      }
      const auto t1 = std::chrono::steady_clock::now();
      run->last.clear();
      run->last.class_map = g_bytes_new_take(classes, size);
      run->last.width = width;
      run->last.height = height;
      run->last.level = selection.level;
      run->last.inference_ns = guint64(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
      // Batched frames take the whole network.
      run->last.exits_on = !run->batch && engine.model().early_exit();
      run->last.exit = run->last.exits_on ? engine.model().last_exit().exit : -1;
      run->last.compute_fraction = run->last.exits_on ? engine.model().last_compute_fraction() : 1.0;
    }
  } catch (const std::exception& e) {
    gst_video_frame_unmap(&frame);
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Segmentation failed: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
  gst_video_frame_unmap(&frame);
  const gearnn::Distortion& measured = selection.measured;
  const bool reuse = !selection.infer;
  GstGearnnMeasured measured_flags = GST_GEARNN_MEASURED_NONE;

  // Attach.
  const auto& spec = bundle.manifest().levels[run->last.level];
  GstGearnnSegmentation seg{};
  seg.width = guint(width);
  seg.height = guint(height);
  seg.n_classes = guint(bundle.manifest().classes.size());
  seg.level = spec.name.c_str();
  seg.level_index = guint(run->last.level);
  seg.adaptor = spec.adaptor ? spec.adaptor->file.c_str() : nullptr;
  seg.has_expected = spec.expected.has_value();
  seg.expected_miou = spec.expected ? spec.expected->miou : 0.0;
  if (run->last.exits_on) {
    if (run->last.exit >= 0) seg.exit = bundle.exits()[size_t(run->last.exit)].spec.after.c_str();
    seg.has_compute_fraction = TRUE;
    seg.compute_fraction = run->last.compute_fraction;
  }
  if (measured.resolution) {
    measured_flags = GstGearnnMeasured(measured_flags | GST_GEARNN_MEASURED_RESOLUTION);
    seg.measured_width = guint(measured.resolution->width);
    seg.measured_height = guint(measured.resolution->height);
  }
  if (measured.h264_qp) {
    measured_flags = GstGearnnMeasured(measured_flags | GST_GEARNN_MEASURED_H264_QP);
    seg.measured_qp = *measured.h264_qp;
  }
  if (measured.jpeg_quality) {
    measured_flags = GstGearnnMeasured(measured_flags | GST_GEARNN_MEASURED_JPEG_QUALITY);
    seg.measured_jpeg_quality = *measured.jpeg_quality;
  }
  if (measured.brightness) {
    measured_flags = GstGearnnMeasured(measured_flags | GST_GEARNN_MEASURED_BRIGHTNESS);
    seg.measured_brightness = *measured.brightness;
  }
  seg.measured = measured_flags;
  seg.inference_ns = run->last.inference_ns;
  seg.reused = reuse;
  gst_buffer_add_gearnn_segmentation_bytes(buf, &seg, run->last.class_map, engine.palette());
  return GST_FLOW_OK;
}

static void gst_gearnn_class_init(GstGearnnClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  gobject_class->set_property = gst_gearnn_set_property;
  gobject_class->get_property = gst_gearnn_get_property;
  gobject_class->finalize = gst_gearnn_finalize;

  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_BUNDLE,
      g_param_spec_string("bundle", "Bundle",
                          "GearNN bundle: a folder with manifest.json, base and adaptors (or the manifest itself). "
                          "Elements naming the same bundle and device share one resident copy. Loaded when the "
                          "element goes to PAUSED; a missing or invalid bundle fails that state change. Set while "
                          "playing, the new bundle loads in the background and takes over at a frame boundary "
                          "(message gearnn-bundle-swap); one that fails to load leaves the running bundle, with a "
                          "warning, and the property names the running bundle again",
                          nullptr, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device", "Where the network runs: cpu, cuda or cuda:N", kDefaultDevice,
                          GParamFlags(rw | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads",
                       "LibTorch intra-op threads for inference (0 = LibTorch's setting in the thread that starts "
                       "the element, normally one per core or OMP_NUM_THREADS). LibTorch's thread count is "
                       "process-global: the last value set by any element or by the application applies to all "
                       "of them",
                       0, 1024, 0, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_LEVEL_SOURCE,
      g_param_spec_enum("level-source", "Level source",
                        "What selects the adaptor of each frame: auto (every dimension the bundle's levels "
                        "describe: resolution from the caps, H.264 QP and JPEG quality from gearnnquality's meta, "
                        "brightness from the mean luma), one of those alone, or fixed (the 'level' property)",
                        GST_TYPE_GEARNN_LEVEL_SOURCE, GST_GEARNN_LEVEL_SOURCE_AUTO,
                        GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_LEVEL,
      g_param_spec_string("level", "Level",
                          "Name of the level to use when level-source=fixed (an unknown name fails the start; "
                          "changed while playing, an unknown name is ignored)",
                          nullptr, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_INTERVAL,
      g_param_spec_uint("interval", "Interval",
                        "Infer every Nth frame; the frames in between carry the last class map, marked reused "
                        "(a caps change or a flush forces a new inference)",
                        1, G_MAXUINT, kDefaultInterval, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_REFERENCE_LUMA,
      g_param_spec_double("reference-luma", "Reference luma",
                          "Mean luma (0..255) of an undistorted frame: measured brightness = mean luma / this. "
                          "0 = the luma of the bundle's normalisation mean (its training data's mean colour)",
                          0.0, 255.0, 0.0, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_QP_WINDOW,
      g_param_spec_uint("qp-window", "QP window",
                        "The measured H.264 QP is the mean P-equivalent slice QP over this many recent frames, "
                        "I frames counting only while there is nothing else (the definition the offline side "
                        "describes levels with, at 8). Cleared on a caps change (a new representation) and a "
                        "flush; until it has filled again, each frame takes the nearest level",
                        1, 1000, kDefaultQpWindow, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_HYSTERESIS,
      g_param_spec_double("hysteresis", "Hysteresis",
                          "Keeps the current level while a measurement hovers between two levels: a switch needs "
                          "the measurement nearer the new level by more than this fraction of the distance between "
                          "the two levels (0 = always the nearest level). A measurement equal to a level always "
                          "reaches it",
                          0.0, 1.0, kDefaultHysteresis, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint("batch-size", "Batch size",
                        "Above 1: send frames to the process's shared batcher for this bundle and batch-group, "
                        "which runs up to this many frames of the streams that use it in one forward, each on its "
                        "own level. 1: this element runs its own forward per frame",
                        1, 256, kDefaultBatchSize, GParamFlags(rw | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_uint("batch-timeout", "Batch timeout",
                        "With batching, the longest a frame waits for others to fill its batch, in milliseconds",
                        0, 10000, kDefaultBatchTimeoutMs, GParamFlags(rw | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_GROUP,
      g_param_spec_string("batch-group", "Batch group",
                          "With batching, elements on one bundle batch together only within one group name (and "
                          "with equal batch-size and batch-timeout)",
                          nullptr, GParamFlags(rw | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_MEAN_SIZE,
      g_param_spec_double("batch-mean-size", "Mean batch size",
                          "With batching, the mean number of frames per forward of this element's shared batcher "
                          "so far (0 without batching or before the first batch)",
                          0.0, 256.0, 0.0, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_EARLY_EXIT,
      g_param_spec_boolean("early-exit", "Early exit",
                           "Let confident frames leave the network at the bundle's early exits (FlexDNN); the meta "
                           "then records the exit and the compute used. No effect on a bundle without exits, nor "
                           "with batch-size above 1",
                           FALSE, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_EXIT_THRESHOLD_SCALE,
      g_param_spec_double("exit-threshold-scale", "Exit threshold scale",
                          "Multiplies every exit's confidence threshold (capped at 1): above 1 fewer frames leave "
                          "early and accuracy rises, below 1 more frames leave early",
                          0.01, 100.0, kDefaultExitThresholdScale, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_TARGET_MIOU,
      g_param_spec_double("target-miou", "Target mIoU",
                          "Analytics-aware ABR hint: name in abr-hint the cheapest representation played so far "
                          "whose level's expected mIoU (recorded in the bundle) reaches this; 0 = off",
                          0.0, 100.0, 0.0, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_ABR_HINT,
      g_param_spec_string("abr-hint", "ABR hint",
                          "With target-miou: the frame size (WxH) of the cheapest representation played so far "
                          "whose level meets the target (else the best one seen); empty without a hint",
                          nullptr, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_CURRENT_LEVEL,
      g_param_spec_string("current-level", "Current level", "Name of the level selected for the latest frame",
                          nullptr, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  g_object_class_install_property(
      gobject_class, PROP_BUNDLE_USERS,
      g_param_spec_uint("bundle-users", "Bundle users",
                        "How many gearnn elements of this process share this element's resident bundle (itself "
                        "included; 0 when stopped). Elements naming the same bundle on the same device hold one "
                        "copy of its weights",
                        0, G_MAXUINT, 0, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_set_static_metadata(
      element_class, "GearNN segmentation", "Filter/Analyzer/Video",
      "DRN semantic segmentation with per-frame adaptor selection (partial weight adaptation); attaches the class "
      "map as metadata",
      "gst-gearnn developers");
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_gearnn_change_state);
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = FALSE;
  trans_class->start = GST_DEBUG_FUNCPTR(gst_gearnn_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_gearnn_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_gearnn_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_gearnn_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_gearnn_transform_ip);

  gst_type_mark_as_plugin_api(GST_TYPE_GEARNN_LEVEL_SOURCE, GstPluginAPIFlags(0));
  GST_DEBUG_CATEGORY_INIT(gst_gearnn_debug, "gearnn", 0, "GearNN segmentation");
}

static void gst_gearnn_init(GstGearnn* self) {
  self->device = g_strdup(kDefaultDevice);
  self->interval = kDefaultInterval;
  self->qp_window = kDefaultQpWindow;
  self->hysteresis = kDefaultHysteresis;
  self->batch_size = kDefaultBatchSize;
  self->batch_timeout_ms = kDefaultBatchTimeoutMs;
  self->exit_threshold_scale = kDefaultExitThresholdScale;
  self->swap = new gstgearnn::BackgroundLoad<Running>();
  self->level_source = GST_GEARNN_LEVEL_SOURCE_AUTO;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}

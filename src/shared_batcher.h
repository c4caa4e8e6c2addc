#pragma once
// Frames from several streams on one resident bundle, batched into one
// forward (batch_segmenter.h). Each stream joins as a BatchClient and calls
// segment(), which blocks until its frame's class map is written. A worker
// thread sends the oldest waiting frame's batch (the waiting frames of its
// size, in arrival order) when `batch_size` of them wait, when no other
// client could add one (each joined, non-idle client either waits already or
// sent a frame of another size last), or when the oldest has waited
// `timeout`. So a frame never waits longer than the timeout plus the batch
// ahead of it, and a lone stream does not wait at all. A client joins idle
// and is waited for from its first frame until it is set idle again (EOS, or
// a frame it reuses instead of sending). Two clients on one thread (two
// elements in series) would each wait out the timeout for the other: give
// them different groups. No GStreamer here.
#include "batch_segmenter.h"
#include "bundle.h"
#include "image.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gearnn {

class SharedBatcher;

class BatchClient {
public:
  ~BatchClient();
  BatchClient(const BatchClient&) = delete;
  BatchClient& operator=(const BatchClient&) = delete;

  // Blocks until `classes` (frame.width x frame.height bytes) holds the map of
  // `frame` at `level`. An empty frame or unknown level is refused here
  // (gearnn::Error), before it could fail the other streams' batch; a batch's
  // own error reaches every frame in it. Not to be called from two threads at once.
  void segment(const RgbView& frame, size_t level, uint8_t* classes);
  // An idle client (at EOS, say) is not waited for by the others; its next frame makes it active again.
  void set_idle(bool idle);
  // While not counted (an element that is not PLAYING: its sink may hold its
  // thread in preroll), a client is never waited for, frames or not.
  void set_counted(bool counted);
  const SharedBatcher& batcher() const { return *batcher_; }

private:
  friend class SharedBatcher;
  explicit BatchClient(std::shared_ptr<SharedBatcher> batcher) : batcher_(std::move(batcher)) {}
  std::shared_ptr<SharedBatcher> batcher_;
  // Under the batcher's mutex:
  bool idle_ = true;
  bool counted_ = true;
  bool waiting_ = false;
  int last_width_ = 0, last_height_ = 0;  // of the last frame sent; 0: none yet
};

struct BatchSettings {
  size_t batch_size = 8;
  std::chrono::microseconds timeout{10000};
  std::string group;  // clients of one bundle with other groups or settings get other batchers
  int threads = 0;    // LibTorch threads of the worker; 0: the joining thread's
};

class SharedBatcher {
public:
  // One batcher per (bundle, group, batch size, timeout) in the process while
  // any client holds it; the first client's thread count sets the worker's.
  static std::unique_ptr<BatchClient> join(std::shared_ptr<const Bundle> bundle, const BatchSettings& settings);

  SharedBatcher(std::shared_ptr<const Bundle> bundle, const BatchSettings& settings);
  ~SharedBatcher();
  SharedBatcher(const SharedBatcher&) = delete;
  SharedBatcher& operator=(const SharedBatcher&) = delete;

  const BatchSettings& settings() const { return settings_; }
  // Batches sent and frames in them, since the batcher was made (read together).
  std::pair<uint64_t, uint64_t> counts() const;

private:
  friend class BatchClient;
  struct Request {
    BatchClient* client = nullptr;
    BatchItem item;
    std::chrono::steady_clock::time_point arrival;
    bool done = false;
    std::exception_ptr error;
  };
  void submit(Request& request);
  void set_active(BatchClient* client, bool active);
  // Whether no active client but those waiting could still add a frame of this size. Mutex held.
  bool nobody_else_for(int width, int height) const;
  void worker();

  std::shared_ptr<const Bundle> bundle_;
  BatchSettings settings_;
  BatchSegmenter segmenter_;  // the worker's alone
  mutable std::mutex mutex_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Request*> pending_;
  std::vector<BatchClient*> active_;
  bool stopping_ = false;
  uint64_t batches_ = 0, frames_ = 0;
  std::thread thread_;
};

}  // namespace gearnn

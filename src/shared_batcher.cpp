#include "shared_batcher.h"

#include "error.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

namespace gearnn {
namespace {

using Key = std::tuple<const Bundle*, std::string, size_t, int64_t>;

std::mutex registry_mutex;
// Never destroyed: a batcher freed during exit must still find it.
std::map<Key, std::weak_ptr<SharedBatcher>>& registry() {
  static auto* batchers = new std::map<Key, std::weak_ptr<SharedBatcher>>();
  return *batchers;
}

}  // namespace

std::unique_ptr<BatchClient> SharedBatcher::join(std::shared_ptr<const Bundle> bundle, const BatchSettings& settings) {
  if (settings.batch_size < 1) throw Error("batch size must be at least 1");
  if (settings.timeout.count() < 0) throw Error("batch timeout must not be negative");
  BatchSettings s = settings;
  if (s.threads <= 0) s.threads = at::get_num_threads();
  std::shared_ptr<SharedBatcher> batcher;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    const Key key{bundle.get(), s.group, s.batch_size, int64_t(s.timeout.count())};
    auto& entry = registry()[key];
    batcher = entry.lock();
    if (!batcher) {
      batcher = std::make_shared<SharedBatcher>(std::move(bundle), s);
      entry = batcher;
    }
  }
  return std::unique_ptr<BatchClient>(new BatchClient(std::move(batcher)));  // idle until its first frame
}

SharedBatcher::SharedBatcher(std::shared_ptr<const Bundle> bundle, const BatchSettings& settings)
    : bundle_(std::move(bundle)), settings_(settings), segmenter_(bundle_), thread_([this] { worker(); }) {}

SharedBatcher::~SharedBatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (auto it = registry().begin(); it != registry().end();)
    it = it->second.expired() ? registry().erase(it) : std::next(it);
}

std::pair<uint64_t, uint64_t> SharedBatcher::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {batches_, frames_};
}

void SharedBatcher::set_active(BatchClient* client, bool active) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    client->idle_ = !active;
    auto it = std::find(active_.begin(), active_.end(), client);
    if (active && it == active_.end()) active_.push_back(client);
    if (!active && it != active_.end()) active_.erase(it);
  }
  work_cv_.notify_all();  // fewer clients to wait for may complete a batch
}

bool SharedBatcher::nobody_else_for(int width, int height) const {
  for (const BatchClient* c : active_)
    if (!c->waiting_ && (c->last_width_ == 0 || (c->last_width_ == width && c->last_height_ == height))) return false;
  return true;
}

void SharedBatcher::submit(Request& request) {
  std::unique_lock<std::mutex> lock(mutex_);
  BatchClient* client = request.client;
  if (client->idle_ && client->counted_) {
    client->idle_ = false;
    active_.push_back(client);
  }
  client->waiting_ = true;
  client->last_width_ = request.item.frame.width;
  client->last_height_ = request.item.frame.height;
  request.arrival = std::chrono::steady_clock::now();
  pending_.push_back(&request);
  work_cv_.notify_all();
  done_cv_.wait(lock, [&] { return request.done; });
  if (request.error) std::rethrow_exception(request.error);
}

void SharedBatcher::worker() {
  if (settings_.threads > 0) at::set_num_threads(settings_.threads);
  std::unique_lock<std::mutex> lock(mutex_);
  std::vector<Request*> batch;
  std::vector<BatchItem> items;
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (stopping_ && pending_.empty()) return;
    // The oldest frame sets the size; its batch is the waiting frames of that size, in arrival order.
    const Request* first = pending_.front();
    const auto same_size = [&] {
      size_t n = 0;
      for (const Request* r : pending_)
        n += r->item.frame.width == first->item.frame.width && r->item.frame.height == first->item.frame.height;
      return n;
    };
    const auto ready = [&] {
      return stopping_ || same_size() >= settings_.batch_size ||
             nobody_else_for(first->item.frame.width, first->item.frame.height);
    };
    work_cv_.wait_until(lock, first->arrival + settings_.timeout, ready);
    batch.clear();
    items.clear();
    for (auto it = pending_.begin(); it != pending_.end() && batch.size() < settings_.batch_size;) {
      if ((*it)->item.frame.width == first->item.frame.width && (*it)->item.frame.height == first->item.frame.height) {
        batch.push_back(*it);
        items.push_back((*it)->item);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    std::exception_ptr error;
    try {
      segmenter_.segment(items);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    ++batches_;
    frames_ += batch.size();
    for (Request* r : batch) {
      r->error = error;
      r->done = true;
      r->client->waiting_ = false;  // it may send its next frame before it wakes; count it as able to
    }
    done_cv_.notify_all();
  }
}

BatchClient::~BatchClient() { batcher_->set_active(this, false); }

void BatchClient::segment(const RgbView& frame, size_t level, uint8_t* classes) {
  FrameInput::check(frame);
  if (level >= batcher_->bundle_->level_count())
    throw Error(batcher_->bundle_->folder() + ": no level " + std::to_string(level) + " (the bundle has " +
                std::to_string(batcher_->bundle_->level_count()) + ")");
  SharedBatcher::Request request;
  request.client = this;
  request.item = BatchItem{frame, level, classes};
  batcher_->submit(request);
}

void BatchClient::set_idle(bool idle) {
  if (!idle) {
    std::lock_guard<std::mutex> lock(batcher_->mutex_);
    if (!counted_) return;
  }
  batcher_->set_active(this, !idle);
}

void BatchClient::set_counted(bool counted) {
  {
    std::lock_guard<std::mutex> lock(batcher_->mutex_);
    counted_ = counted;
  }
  if (!counted) batcher_->set_active(this, false);  // active again with its next frame once counted
}

}  // namespace gearnn

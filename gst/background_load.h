// Builds an object on a thread of its own while the caller goes on, for a
// bundle swap while playing: the streaming thread takes the result at a
// frame boundary (take_ready), never waiting for the load. No GObject here.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace gstgearnn {

template <class T>
class BackgroundLoad {
public:
  BackgroundLoad() = default;
  BackgroundLoad(const BackgroundLoad&) = delete;
  BackgroundLoad& operator=(const BackgroundLoad&) = delete;
  ~BackgroundLoad() { cancel(); }

  // Starts `load` on a new thread, after the previous load (if any) has
  // finished; a result not yet taken is dropped. `failed` gets load's exception, on that thread.
  void start(std::function<std::unique_ptr<T>()> load, std::function<void(std::exception_ptr)> failed) {
    std::lock_guard<std::mutex> control(control_);
    finish();
    thread_ = std::thread([this, load = std::move(load), failed = std::move(failed)] {
      std::unique_ptr<T> made;
      try {
        made = load();
      } catch (...) {
        failed(std::current_exception());
        return;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      ready_ = std::move(made);
    });
  }

  // The loaded object once there is one, else null; never blocks on the load.
  std::unique_ptr<T> take_ready() {
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return nullptr;
    return std::move(ready_);
  }

  // Waits for a load in progress and drops its result.
  void cancel() {
    std::lock_guard<std::mutex> control(control_);
    finish();
  }

private:
  void finish() {
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    ready_.reset();
  }

  std::mutex control_;  // start and cancel, from any thread
  std::thread thread_;
  std::mutex mutex_;
  std::unique_ptr<T> ready_;
};

}  // namespace gstgearnn

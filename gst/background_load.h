// Builds an object on a thread of its own while the caller goes on, for a
// bundle swap while playing: the streaming thread takes the result (or the
// load's error) at a frame boundary, never waiting for the load, so no
// GObject code runs on the loading thread. No GObject here.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace gstgearnn {

template <class T>
class BackgroundLoad {
public:
  // What a finished load left: the object, or the error and what was asked for.
  struct Outcome {
    std::unique_ptr<T> made;
    std::exception_ptr error;
    std::string what;  // the request, as start() named it
  };

  BackgroundLoad() = default;
  BackgroundLoad(const BackgroundLoad&) = delete;
  BackgroundLoad& operator=(const BackgroundLoad&) = delete;
  ~BackgroundLoad() { close(); }

  // Starts `load` on a new thread, after the previous load (if any) has
  // finished (the caller waits for it); an outcome not yet taken is dropped.
  // Ignored while closed.
  void start(const std::string& what, std::function<std::unique_ptr<T>()> load) {
    std::lock_guard<std::mutex> control(control_);
    if (closed_) return;
    finish();
    thread_ = std::thread([this, what, load = std::move(load)] {
      Outcome outcome;
      outcome.what = what;
      try {
        outcome.made = load();
      } catch (...) {
        outcome.error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      ready_ = std::make_unique<Outcome>(std::move(outcome));
    });
  }

  // The finished load's outcome once there is one, else null; never blocks on the load.
  std::unique_ptr<Outcome> take_ready() {
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return nullptr;
    return std::move(ready_);
  }

  // Stops taking loads: waits for one in progress and drops its outcome (the element's stop).
  void close() {
    std::lock_guard<std::mutex> control(control_);
    closed_ = true;
    finish();
  }
  void open() {
    std::lock_guard<std::mutex> control(control_);
    closed_ = false;
  }

private:
  void finish() {
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    ready_.reset();
  }

  std::mutex control_;  // start, open and close, from any thread
  bool closed_ = true;
  std::thread thread_;
  std::mutex mutex_;
  std::unique_ptr<Outcome> ready_;
};

}  // namespace gstgearnn

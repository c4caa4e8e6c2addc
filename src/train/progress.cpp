#include "progress.h"

#include <cstdio>
#include <unistd.h>

namespace gearnn {

namespace {
std::string clock_text(double seconds) {
  const long s = long(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}
}  // namespace

ProgressLine::ProgressLine(std::string label, int epochs, size_t batches_per_epoch, bool enabled)
    : label_(std::move(label)), epochs_(epochs), batches_(batches_per_epoch), enabled_(enabled) {
  run_start_ = epoch_start_ = std::chrono::steady_clock::now();
}

void ProgressLine::update(int epoch, size_t batch, double loss, size_t images) {
  const auto now = std::chrono::steady_clock::now();
  if (batch == 1) {
    epoch_start_ = now;
    images_ = 0;
    if (first_epoch_ == 0) {
      first_epoch_ = epoch;
      run_start_ = now;
    }
  }
  images_ += images;
  if (!enabled_) return;
  const bool tty = isatty(STDERR_FILENO);
  const size_t step = batches_ >= 10 ? batches_ / 10 : 1;
  if (!tty && batch % step != 0) return;  // logs get a line every tenth of an epoch
  const double epoch_s = std::chrono::duration<double>(now - epoch_start_).count();
  const double run_s = std::chrono::duration<double>(now - run_start_).count();
  const double done = double(epoch - first_epoch_) + double(batch) / double(batches_);
  const double total = double(epochs_ - first_epoch_ + 1);
  const double eta = done > 0 ? run_s / done * (total - done) : 0.0;
  const int width = 20, filled = int(width * double(batch) / double(batches_));
  std::fprintf(stderr, "\r%s epoch %d/%d [%s%s] %zu/%zu loss %.4f %.1f img/s ETA %s   ", label_.c_str(), epoch, epochs_,
               std::string(size_t(filled), '#').c_str(), std::string(size_t(width - filled), '.').c_str(), batch,
               batches_, loss, epoch_s > 0 ? double(images_) / epoch_s : 0.0, clock_text(eta).c_str());
  if (!tty) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

void ProgressLine::end_epoch(int epoch, double loss, double images_per_second, double seconds) {
  if (!enabled_) return;
  std::fprintf(stderr, "%s%s epoch %d/%d done: loss %.4f, %.1f img/s, %s\n", isatty(STDERR_FILENO) ? "\r" : "",
               label_.c_str(), epoch, epochs_, loss, images_per_second, clock_text(seconds).c_str());
}

}  // namespace gearnn

#include "checked_file.h"

#include "error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gearnn {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

private:
  int fd_;
};

// Reads up to `limit` bytes (the whole file when it is larger than the file).
void read_checked(const std::string& path, uint64_t max_bytes, uint64_t limit,
                  const std::function<void(const char*, size_t)>& chunk) {
  // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting for one.
  const Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error(path + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(path + ": is " + std::string(kind_of(st.st_mode)) + ", not a regular file");
  const uint64_t size = uint64_t(st.st_size);
  if (size > max_bytes)
    throw Error(path + ": " + std::to_string(size) + " bytes, more than the " + std::to_string(max_bytes) +
                " such a file may have");
  std::vector<char> buffer(size_t(std::min<uint64_t>(size + 1, uint64_t(1) << 20)));
  uint64_t done = 0;
  while (done < limit) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": read error: " + std::strerror(errno));
    }
    if (n == 0) break;
    if (done + uint64_t(n) > size) throw Error(path + ": grew while it was read (it was " + std::to_string(size) + " bytes)");
    chunk(buffer.data(), size_t(n));
    done += uint64_t(n);
  }
  if (done < std::min(size, limit))
    throw Error(path + ": shrank while it was read (" + std::to_string(done) + " of " + std::to_string(size) +
                " bytes)");
}

}  // namespace

void read_regular_file_chunks(const std::string& path, uint64_t max_bytes,
                              const std::function<void(const char*, size_t)>& chunk) {
  read_checked(path, max_bytes, UINT64_MAX, chunk);
}

std::vector<char> read_regular_file(const std::string& path, uint64_t max_bytes) {
  std::vector<char> out;
  read_checked(path, max_bytes, UINT64_MAX,
               [&](const char* data, size_t size) { out.insert(out.end(), data, data + size); });
  return out;
}

std::vector<char> read_regular_file_start(const std::string& path, uint64_t max_bytes, size_t bytes) {
  std::vector<char> out;
  read_checked(path, max_bytes, bytes, [&](const char* data, size_t size) {
    out.insert(out.end(), data, data + std::min(size, bytes - out.size()));
  });
  return out;
}

std::string escape_untrusted(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace gearnn

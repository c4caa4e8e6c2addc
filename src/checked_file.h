#pragma once
// Reading files that could be anything. A path naming a device, a FIFO, a
// socket or a directory is refused at once, without reading from it or
// waiting on it; sizes are bounded by what such a file may hold; a file that
// grows or shrinks while it is read is an error. Every error names the path.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gearnn {

constexpr uint64_t kMaxTextFileBytes = uint64_t(64) << 20;     // manifests, lists, cache records
constexpr uint64_t kMaxImageFileBytes = uint64_t(1) << 30;     // PNG frames and labels
constexpr uint64_t kMaxTensorFileBytes = uint64_t(16) << 30;   // weights

std::vector<char> read_regular_file(const std::string& path, uint64_t max_bytes);
// The same checks, the bytes handed over in chunks (for hashing large files).
void read_regular_file_chunks(const std::string& path, uint64_t max_bytes,
                              const std::function<void(const char* data, size_t size)>& chunk);

// The first `bytes` bytes (fewer if the file is shorter), with the same
// checks except that the rest of the file is not read.
std::vector<char> read_regular_file_start(const std::string& path, uint64_t max_bytes, size_t bytes);

// Printable ASCII as it is, any other byte as \xNN: bytes from a file, or a
// parser's message quoting them, made safe to print.
std::string escape_untrusted(const std::string& text);

}  // namespace gearnn

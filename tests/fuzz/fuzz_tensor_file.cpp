// libFuzzer target: the safetensors reader. Bad input must come back as a
// gearnn::Error, never a crash, an out-of-bounds read or another exception.
#include "error.h"
#include "tensor_file.h"

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<char> bytes(data, data + size);
  try {
    gearnn::parse_tensor_file(bytes, "fuzz.safetensors");
  } catch (const gearnn::Error&) {
  }
  return 0;
}

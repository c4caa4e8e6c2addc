// libFuzzer target: the JPEG marker walk and quantisation-table reader.
#include "distort/jpeg_quality.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (const auto q = gearnn::jpeg_quality_of(data, size)) {
    if (!(*q >= 1 && *q <= 100)) __builtin_trap();  // a quality outside 1..100 is a bug
  }
  return 0;
}

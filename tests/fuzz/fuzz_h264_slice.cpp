// libFuzzer target: the H.264 slice-header reader. The first byte picks the
// framing: even, the rest is one Annex B access unit (any number of NAL
// units); odd, a 2-byte length, that many bytes of avcC record, then
// length-prefixed access units. Nothing may crash, hang or read out of bounds.
#include "measure/h264_slice.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  gearnn::H264SliceReader reader;
  const uint8_t* p = data + 1;
  size_t n = size - 1;
  if (data[0] & 1) {
    if (n < 2) return 0;
    const size_t avcc = size_t(p[0]) << 8 | p[1];
    p += 2;
    n -= 2;
    if (avcc > n) return 0;
    if (!reader.read_avcc(p, avcc)) return 0;
    p += avcc;
    n -= avcc;
    // Each access unit: a 4-byte length, then its NAL units.
    while (n >= 4) {
      const size_t length = size_t(p[0]) << 24 | size_t(p[1]) << 16 | size_t(p[2]) << 8 | p[3];
      p += 4;
      n -= 4;
      const size_t take = length < n ? length : n;
      reader.read_access_unit(p, take);
      p += take;
      n -= take;
    }
  } else {
    // Twice: the second pass reads with the parameter sets of the first.
    reader.read_access_unit(p, n);
    reader.read_access_unit(p, n);
  }
  return 0;
}

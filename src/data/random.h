#pragma once
// A small seeded generator with the same sequence on every platform and
// standard library (std:: distributions are not specified bit for bit), so
// that shuffles and augmentations are reproducible anywhere.
#include <cstdint>
#include <initializer_list>

namespace gearnn {

class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform in [0, n); n > 0. The modulo bias is below 2^-40 for any n we meet.
  uint64_t below(uint64_t n) { return next() % n; }

private:
  uint64_t state_;
};

// One seed from several numbers (seed, epoch, sample index, ...).
inline uint64_t mix_seed(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x243F6A8885A308D3ull;
  for (uint64_t p : parts) h = SplitMix64(h ^ p).next();
  return h;
}

}  // namespace gearnn

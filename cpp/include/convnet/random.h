// The global random generator: initialization, dropout, shuffling and
// augmentation draw from it, so convnet::manual_seed(n) makes runs repeatable
// (bit-identical for the same seed and thread count). Draws are serial.
#pragma once
#include <cstdint>

#include "tensor.h"

namespace convnet {

// xoshiro256** seeded through splitmix64: the global generator, and the per-image generators of
// the data transforms (each seeded from one draw of the global one).
struct Generator {
  uint64_t s[4];
  uint64_t seed;

  explicit Generator(uint64_t v = 5489) { reseed(v); }
  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  void reseed(uint64_t v) {
    seed = v;
    uint64_t x = v;
    for (auto& w : s) w = splitmix(x);
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
  }
  // Uniform in [0, 1) from the top 53 bits.
  double uniform() { return (next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n) (n >= 1), as next() % n.
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  // Standard normal by Box–Muller: one value from two uniforms u1, u2 drawn in that order.
  double normal();
};

void manual_seed(uint64_t seed);
uint64_t initial_seed();
// The global generator's state as bytes (its four state words, then its seed, native byte order),
// for checkpoints; set_rng_state takes what get_rng_state returned and throws convnet::ValueError
// for a tensor that is not uint8 of kRngStateBytes elements or holds the all-zero (invalid) state.
constexpr int64_t kRngStateBytes = 5 * sizeof(uint64_t);
Tensor get_rng_state();
void set_rng_state(const Tensor& state);
// One 64-bit draw (for seeding other generators, e.g. a loader's shuffle).
uint64_t random_u64();
// Uniform in [0, 1).
double random_uniform();

// In place: uniform in [low, high), normal(mean, std).
void uniform_(const Tensor& t, double low, double high);
void normal_(const Tensor& t, double mean, double std);

Tensor rand(const Shape& shape, DType dtype = DType::Float32);
Tensor randn(const Shape& shape, DType dtype = DType::Float32);
// A random permutation of 0..n-1 (int64).
Tensor randperm(int64_t n);

}  // namespace convnet

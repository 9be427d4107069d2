#include "convnet/random.h"

#include <cmath>
#include <mutex>
#include <numeric>

namespace convnet {

namespace {

// xoshiro256** seeded through splitmix64.
struct Generator {
  uint64_t s[4];
  uint64_t seed;

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
  double uniform() { return (next() >> 11) * 0x1.0p-53; }
};

std::mutex g_mu;
Generator& gen() {
  static Generator g = [] {
    Generator x;
    x.reseed(5489);
    return x;
  }();
  return g;
}

template <typename F>
void fill_each(const Tensor& t, const char* op, F draw) {
  dispatch_floating(t.dtype(), op, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* p = t.data<T>();
    std::lock_guard<std::mutex> lock(g_mu);
    Generator& g = gen();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(draw(g));
  });
}

}  // namespace

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_mu);
  gen().reseed(seed);
}

uint64_t initial_seed() {
  std::lock_guard<std::mutex> lock(g_mu);
  return gen().seed;
}

uint64_t random_u64() {
  std::lock_guard<std::mutex> lock(g_mu);
  return gen().next();
}

double random_uniform() {
  std::lock_guard<std::mutex> lock(g_mu);
  return gen().uniform();
}

void uniform_(const Tensor& t, double low, double high) {
  CONVNET_CHECK(low <= high, "uniform_: expected low <= high, got low=", low, " high=", high);
  fill_each(t, "uniform_", [&](Generator& g) { return low + (high - low) * g.uniform(); });
}

void normal_(const Tensor& t, double mean, double std) {
  CONVNET_CHECK(std >= 0, "normal_: expected std >= 0, got ", std);
  // Box–Muller, one value per pair of uniforms.
  fill_each(t, "normal_", [&](Generator& g) {
    double u1 = 1.0 - g.uniform(), u2 = g.uniform();
    return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  });
}

Tensor rand(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  uniform_(t, 0, 1);
  return t;
}

Tensor randn(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  normal_(t, 0, 1);
  return t;
}

Tensor randperm(int64_t n) {
  CONVNET_CHECK(n >= 0, "randperm: expected n >= 0, got ", n);
  Tensor t = Tensor::empty({n}, DType::Int64);
  int64_t* p = t.data<int64_t>();
  std::iota(p, p + n, int64_t(0));
  std::lock_guard<std::mutex> lock(g_mu);
  Generator& g = gen();
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(g.next() % static_cast<uint64_t>(i + 1));
    std::swap(p[i], p[j]);
  }
  return t;
}

}  // namespace convnet

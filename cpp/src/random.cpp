#include "convnet/random.h"

#include <cmath>
#include <cstring>
#include <mutex>
#include <numeric>
#include <vector>

#include "cpu/parallel.h"

namespace convnet {

namespace {

std::mutex g_mu;
Generator& gen() {
  static Generator g(5489);
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

double Generator::normal() {
  double u1 = 1.0 - uniform(), u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_mu);
  gen().reseed(seed);
}

uint64_t initial_seed() {
  std::lock_guard<std::mutex> lock(g_mu);
  return gen().seed;
}

Tensor get_rng_state() {
  Tensor t = Tensor::empty({kRngStateBytes}, DType::UInt8);
  std::lock_guard<std::mutex> lock(g_mu);
  const Generator& g = gen();
  std::memcpy(t.data<uint8_t>(), g.s, sizeof(g.s));
  std::memcpy(t.data<uint8_t>() + sizeof(g.s), &g.seed, sizeof(g.seed));
  return t;
}

void set_rng_state(const Tensor& state) {
  CONVNET_CHECK(state.defined() && state.dtype() == DType::UInt8 && state.numel() == kRngStateBytes,
                "set_rng_state: expected a uint8 tensor of ", kRngStateBytes,
                " bytes (as get_rng_state returns), got ",
                state.defined() ? dtype_name(state.dtype()) : "an undefined tensor", " of shape ",
                state.defined() ? shape_str(state.shape()) : "()");
  Generator g;
  std::memcpy(g.s, state.data<uint8_t>(), sizeof(g.s));
  std::memcpy(&g.seed, state.data<uint8_t>() + sizeof(g.s), sizeof(g.seed));
  CONVNET_CHECK(g.s[0] | g.s[1] | g.s[2] | g.s[3],
                "set_rng_state: the state words are all zero, which is not a valid generator state");
  std::lock_guard<std::mutex> lock(g_mu);
  gen() = g;
}

uint64_t random_u64() {
  std::lock_guard<std::mutex> lock(g_mu);
  return gen().next();
}

double random_uniform() {
  std::lock_guard<std::mutex> lock(g_mu);
  return gen().uniform();
}

// Fills a tensor on a GPU, or a non-contiguous view, with `fill`'s draws made on a contiguous
// host tensor: the values are the ones the same generator state gives a CPU tensor.
template <typename F>
bool drawn_on_host(const Tensor& t, F fill) {
  if (t.device().is_cpu() && t.is_contiguous()) return false;
  Tensor h = Tensor::empty(t.shape(), t.dtype());
  fill(h);
  copy_into(t, h);
  return true;
}

void uniform_(const Tensor& t, double low, double high) {
  CONVNET_CHECK(low <= high, "uniform_: expected low <= high, got low=", low, " high=", high);
  if (drawn_on_host(t, [&](const Tensor& h) { uniform_(h, low, high); })) return;
  fill_each(t, "uniform_", [&](Generator& g) { return low + (high - low) * g.uniform(); });
}

// Marsaglia's polar method, both outputs of a pair used: the accepted points (x, y, s) are
// drawn in order under the lock, a block at a time, and the logarithms run over the threads
// (each pair depends only on its own point, so the result does not depend on the thread count).
void normal_(const Tensor& t, double mean, double std) {
  CONVNET_CHECK(std >= 0, "normal_: expected std >= 0, got ", std);
  if (drawn_on_host(t, [&](const Tensor& h) { normal_(h, mean, std); })) return;
  constexpr int64_t kBlockPairs = int64_t(1) << 16;
  dispatch_floating(t.dtype(), "normal_", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* p = t.data<T>();
    const int64_t n = t.numel();
    std::vector<double> pts(3 * std::min(kBlockPairs, (n + 1) / 2));  // x, y, s per pair
    std::lock_guard<std::mutex> lock(g_mu);
    Generator& g = gen();
    for (int64_t start = 0; start < n; start += 2 * kBlockPairs) {
      const int64_t count = std::min(2 * kBlockPairs, n - start);  // outputs in this block
      const int64_t pairs = (count + 1) / 2;
      for (int64_t k = 0; k < pairs; ++k) {
        double x, y, r2;
        do {
          x = 2.0 * g.uniform() - 1.0;
          y = 2.0 * g.uniform() - 1.0;
          r2 = x * x + y * y;
        } while (r2 >= 1.0 || r2 == 0.0);
        pts[3 * k] = x, pts[3 * k + 1] = y, pts[3 * k + 2] = r2;
      }
      T* out = p + start;
      cpu::parallel_for(pairs, 4096, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
          const double f = std * std::sqrt(-2.0 * std::log(pts[3 * k + 2]) / pts[3 * k + 2]);
          out[2 * k] = static_cast<T>(mean + f * pts[3 * k]);
          if (2 * k + 1 < count) out[2 * k + 1] = static_cast<T>(mean + f * pts[3 * k + 1]);
        }
      });
    }
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
    int64_t j = g.below(i + 1);
    std::swap(p[i], p[j]);
  }
  return t;
}

}  // namespace convnet

// CPU row normalization kernels with the affine transform, shared by layer_norm, group_norm and
// instance_norm. M rows of K elements: x viewed as (M,K), where a row is what one mean and one
// variance cover; rows come in G groups (row m in group m % G) and a row's elements in blocks of
// S sharing one affine parameter, so that element (m, k) takes parameter
//   p = (m % G) * (K / S) + k / S   of P = G * K / S parameters
// (layer_norm: G = 1, S = 1, p = k; group_norm: G groups, S spatial positions, p = channel;
// instance_norm: G = C, S = K, p = channel).
//   mean[m] = sum_k x[m,k] / K,  rstd[m] = 1 / sqrt(sum_k (x[m,k] - mean)^2 / K + eps),
//   y[m,k] = (x[m,k] - mean[m]) * rstd[m] * w[p] + b[p]   (w, b optional).
// Rows are independent: forward and dx run parallel over rows; dw and db parallel over the
// parameters, each summed over its rows in order. Every sum is accumulated in double in a
// fixed order, so results do not depend on the thread count. Backward kernels overwrite their
// outputs; autograd accumulates (+=) the returned gradients into .grad.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "isa.h"
#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

int64_t grain(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)); }

// sum over i < n of f(i), in kLanes interleaved double partial sums (so that the loop
// vectorizes) added in a fixed order: the same result on every call.
constexpr int64_t kLanes = 8;
template <typename F>
inline double lane_sum(int64_t n, F f) {
  double part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) part[j] += f(i + j);
  double acc = 0;
  for (int64_t j = 0; j < kLanes; ++j) acc += part[j];
  for (; i < n; ++i) acc += f(i);
  return acc;
}

// The mean and rstd of x (K).
template <typename T>
CONVNET_CPU_CLONES void row_moments(int64_t K, double eps, const T* x, T* mean, T* rstd) {
  const double mu = lane_sum(K, [&](int64_t k) { return static_cast<double>(x[k]); }) / K;
  const double v = lane_sum(K, [&](int64_t k) {
    const double d = x[k] - mu;
    return d * d;
  });
  *mean = static_cast<T>(mu);
  *rstd = static_cast<T>(1 / std::sqrt(v / K + eps));
}

// A run of n elements of one row: with PerElement, element i takes parameters w[i], b[i] (a
// layer_norm row); otherwise all take w[0], b[0] (one channel of a group_norm row).
template <bool PerElement, typename T>
inline T param(const T* v, int64_t i) {
  return PerElement ? v[i] : v[0];
}

// y (n) = (x - mean) * rstd * w + b over a run.
template <bool PerElement, typename T>
CONVNET_CPU_CLONES void affine_run(int64_t n, T mean, T rstd, const T* w, const T* b, const T* x, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd * param<PerElement>(w, i) + param<PerElement>(b, i);
}

// Sums over a run: a += g, c += g * xhat with g = dy * w.
template <bool PerElement, typename T>
CONVNET_CPU_CLONES void grad_sums_run(int64_t n, T mean, T rstd, const T* w, const T* x, const T* dy, double* a,
                                      double* c) {
  *a += lane_sum(n, [&](int64_t i) { return static_cast<double>(dy[i] * param<PerElement>(w, i)); });
  *c += lane_sum(n, [&](int64_t i) {
    return static_cast<double>(dy[i] * param<PerElement>(w, i)) * ((x[i] - mean) * rstd);
  });
}

// dx (n) = rstd * (dy * w - ma - xhat * mc) over a run.
template <bool PerElement, typename T>
CONVNET_CPU_CLONES void dx_run(int64_t n, T mean, T rstd, const T* w, T ma, T mc, const T* x, const T* dy, T* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] = rstd * (dy[i] * param<PerElement>(w, i) - ma - (x[i] - mean) * rstd * mc);
}

// Sums over a run of n elements of one parameter: dw += dy * xhat, db += dy.
template <typename T>
CONVNET_CPU_CLONES void param_sums_run(int64_t n, T mean, T rstd, const T* x, const T* dy, double* dw, double* db) {
  *dw += lane_sum(n, [&](int64_t i) { return static_cast<double>(dy[i]) * ((x[i] - mean) * rstd); });
  *db += lane_sum(n, [&](int64_t i) { return static_cast<double>(dy[i]); });
}

// Per-element sums over a run of n elements with one parameter each: dw[i] += dy * xhat,
// db[i] += dy.
template <typename T>
CONVNET_CPU_CLONES void param_sums_each(int64_t n, T mean, T rstd, const T* x, const T* dy, double* dw, double* db) {
  for (int64_t i = 0; i < n; ++i) {
    dw[i] += static_cast<double>(dy[i]) * ((x[i] - mean) * rstd);
    db[i] += dy[i];
  }
}

// Calls f(PerElement tag, offset, length, w, b) over the runs of row m: the whole row at once
// without parameters or with per-element ones (S is 1), else one run of S elements per
// parameter. A missing w or b reads the constant 1 or 0.
template <typename T, typename F>
void for_runs(int64_t m, int64_t K, int64_t G, int64_t S, const T* w, const T* b, const T* one, const T* zero,
              F f) {
  const int64_t per_row = K / S, p0 = (m % G) * per_row;
  if (!w && !b) return f(std::false_type{}, 0, K, one, zero);
  if (S == 1 && w && b) return f(std::true_type{}, 0, K, w + p0, b + p0);
  for (int64_t j = 0; j < per_row; ++j) f(std::false_type{}, j * S, S, w ? w + p0 + j : one, b ? b + p0 + j : zero);
}

}  // namespace

// x (M,K); w, b (P) or null; y (M,K), mean (M), rstd (M) overwritten; mean and rstd are saved
// for backward.
template <typename T>
void layer_norm_forward_cpu(int64_t M, int64_t K, int64_t G, int64_t S, double eps, const T* x, const T* w,
                            const T* b, T* y, T* mean, T* rstd) {
  const T one = 1, zero = 0;
  parallel_for(M, grain(3 * K), [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      row_moments(K, eps, x + m * K, mean + m, rstd + m);
      for_runs(m, K, G, S, w, b, &one, &zero, [&](auto per_element, int64_t o, int64_t n, const T* wr, const T* br) {
        affine_run<decltype(per_element)::value>(n, mean[m], rstd[m], wr, br, x + m * K + o, y + m * K + o);
      });
    }
  });
}

// x (M,K), mean and rstd (M) from forward, w (P) or null, dy (M,K); dx (M,K), dw (P), db (P)
// overwritten, each may be null:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w, xhat = (x - mean) * rstd;
//   dw[p] = sum of dy * xhat and db[p] = sum of dy over the elements of parameter p.
template <typename T>
void layer_norm_backward_cpu(int64_t M, int64_t K, int64_t G, int64_t S, const T* x, const T* mean,
                             const T* rstd, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const int64_t per_row = K / S;
  if (dx) {
    const T one = 1, zero = 0;
    parallel_for(M, grain(3 * K), [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m) {
        double a = 0, c = 0;
        const T* xr = x + m * K;
        const T* gr = dy + m * K;
        // b does not enter dx: w stands in for it, so that the runs follow w alone
        const T* bw = w;
        for_runs(m, K, G, S, w, bw, &one, &zero, [&](auto per_element, int64_t o, int64_t n, const T* wr, const T*) {
          grad_sums_run<decltype(per_element)::value>(n, mean[m], rstd[m], wr, xr + o, gr + o, &a, &c);
        });
        const T ma = static_cast<T>(a / K), mc = static_cast<T>(c / K);
        for_runs(m, K, G, S, w, bw, &one, &zero, [&](auto per_element, int64_t o, int64_t n, const T* wr, const T*) {
          dx_run<decltype(per_element)::value>(n, mean[m], rstd[m], wr, ma, mc, xr + o, gr + o, dx + m * K + o);
        });
      }
    });
  }
  if (!dw && !db) return;
  const int64_t P = G * per_row, N = M / G;
  if (S == 1 && G == 1) {  // one parameter per element (layer_norm): blocks of them, the rows in order
    constexpr int64_t kBlock = 256;
    parallel_for((P + kBlock - 1) / kBlock, grain(N * kBlock), [&](int64_t b0, int64_t b1) {
      double sw[kBlock], sb[kBlock];
      for (int64_t blk = b0; blk < b1; ++blk) {
        const int64_t q0 = blk * kBlock, n = std::min(kBlock, P - q0);
        std::fill(sw, sw + n, 0.0);
        std::fill(sb, sb + n, 0.0);
        for (int64_t r = 0; r < N; ++r) {
          const int64_t o = r * K + q0;
          param_sums_each(n, mean[r], rstd[r], x + o, dy + o, sw, sb);
        }
        for (int64_t i = 0; i < n; ++i) {
          if (dw) dw[q0 + i] = static_cast<T>(sw[i]);
          if (db) db[q0 + i] = static_cast<T>(sb[i]);
        }
      }
    });
    return;
  }
  parallel_for(P, grain(N * S), [&](int64_t q0, int64_t q1) {
    for (int64_t p = q0; p < q1; ++p) {
      const int64_t g = p / per_row, j = p % per_row;
      double sw = 0, sb = 0;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t m = n * G + g;
        param_sums_run(S, mean[m], rstd[m], x + m * K + j * S, dy + m * K + j * S, &sw, &sb);
      }
      if (dw) dw[p] = static_cast<T>(sw);
      if (db) db[p] = static_cast<T>(sb);
    }
  });
}

#define CONVNET_INSTANTIATE(T)                                                                                \
  template void layer_norm_forward_cpu<T>(int64_t, int64_t, int64_t, int64_t, double, const T*, const T*,    \
                                          const T*, T*, T*, T*);                                              \
  template void layer_norm_backward_cpu<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*, const T*, \
                                           const T*, const T*, T*, T*, T*);
CONVNET_INSTANTIATE(float)
CONVNET_INSTANTIATE(double)
#undef CONVNET_INSTANTIATE

}  // namespace convnet::cpu

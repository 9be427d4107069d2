// Threads for the CPU kernels: one OpenMP thread count for convnet and BLAS.
#pragma once
#include <cstdint>

namespace convnet::cpu {

int num_threads();
void set_num_threads(int n);

// Minimum amount of elementwise work per thread before a loop goes parallel.
constexpr int64_t kGrainSize = 32768;

// Splits [0, n) into contiguous chunks, one per thread, and calls f(begin, end)
// for each; runs inline when n is below `grain` or one thread is set. The
// chunking depends only on n and the thread count, so results are reproducible.
template <typename F>
void parallel_for(int64_t n, int64_t grain, const F& f);

}  // namespace convnet::cpu

#include "parallel_impl.h"

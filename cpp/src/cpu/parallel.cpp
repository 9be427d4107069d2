#include "parallel.h"

#include <algorithm>
#include <thread>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace convnet::cpu {

namespace {
int initial_threads() {
#ifdef _OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}
int g_threads = initial_threads();
}  // namespace

int num_threads() { return g_threads; }

void set_num_threads(int n) {
  g_threads = std::max(1, n);
#ifdef _OPENMP
  omp_set_num_threads(g_threads);
#endif
}

}  // namespace convnet::cpu

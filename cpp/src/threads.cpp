#include "convnet/threads.h"

#include "convnet/check.h"
#include "cpu/blas.h"
#include "cpu/parallel.h"

namespace convnet {

namespace {
// BLAS is pinned to one thread once, when the library loads.
const bool g_blas_ready = [] {
  cpu::blas_init();
  return true;
}();
}  // namespace

int get_num_threads() { return cpu::num_threads(); }

void set_num_threads(int n) {
  CONVNET_CHECK(n >= 1, "set_num_threads: expected a positive thread count, got ", n);
  cpu::set_num_threads(n);
}

}  // namespace convnet

// One thread count for convnet's kernels and its BLAS calls.
#pragma once

namespace convnet {

int get_num_threads();
// n >= 1; BLAS always runs single-threaded inside convnet's own threads.
void set_num_threads(int n);

}  // namespace convnet

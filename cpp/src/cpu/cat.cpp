// CPU kernels of cat: byte copies, so one kernel serves every dtype. k parts;
// part i is viewed as (outer, b_i) bytes, b_i = D_i * inner * element size
// (D_i its size along the cat dimension, inner the product of the dimensions
// after it); y (outer, sum of b_i). Backward overwrites the parts' gradients;
// autograd accumulates (+=) them into .grad.
#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "parallel.h"

namespace convnet::cpu {

namespace {

// For each row r and part i: copy(row r of the joined buffer at column offset o_i, part i, b_i).
template <typename F>
void for_each_block(int64_t outer, int64_t k, const int64_t* part_bytes, F copy) {
  int64_t row = 0;
  for (int64_t i = 0; i < k; ++i) row += part_bytes[i];
  parallel_for(outer, std::max<int64_t>(1, kGrainSize * 4 / std::max<int64_t>(row, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t r = b; r < e; ++r)
                   for (int64_t i = 0, off = 0; i < k; off += part_bytes[i], ++i)
                     copy(r, r * row + off, i, part_bytes[i]);
               });
}

}  // namespace

// parts k pointers to (outer, b_i) bytes, y (outer, sum b_i) overwritten.
void cat_forward_cpu(int64_t outer, int64_t k, const char* const* parts, const int64_t* part_bytes,
                     char* y) {
  for_each_block(outer, k, part_bytes, [&](int64_t r, int64_t at, int64_t i, int64_t b) {
    std::memcpy(y + at, parts[i] + r * b, b);
  });
}

// dy (outer, sum b_i); dparts k pointers to (outer, b_i) bytes, overwritten; a null one is skipped.
void cat_backward_cpu(int64_t outer, int64_t k, const char* dy, const int64_t* part_bytes,
                      char* const* dparts) {
  for_each_block(outer, k, part_bytes, [&](int64_t r, int64_t at, int64_t i, int64_t b) {
    if (dparts[i]) std::memcpy(dparts[i] + r * b, dy + at, b);
  });
}

}  // namespace convnet::cpu

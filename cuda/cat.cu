// CUDA kernels of cat: byte copies, so one launcher serves every dtype. k parts; part
// i is viewed as (outer, b_i) bytes, b_i = D_i * inner * element size; y (outer, sum
// of b_i). Each part is one strided 2-D copy on the stream (outer rows of b_i bytes,
// at pitch b_i on the part's side and sum b_i on the joined side). Backward overwrites
// the parts' gradients; autograd accumulates (+=) them into .grad.
#include "common.cuh"
#include "kernels.h"

namespace convnet::cuda {

namespace {

// The largest pitch cudaMemcpy2DAsync takes (cudaDeviceProp::memPitch, 2^31 - 1).
constexpr int64_t kMaxPitch = 2147483647;

// rows rows of width bytes from src (rows spitch bytes apart) to dst (dpitch apart).
void copy_rows(char* dst, int64_t dpitch, const char* src, int64_t spitch, int64_t width, int64_t rows) {
  if (width == 0 || rows == 0) return;
  if (rows == 1 || (dpitch == width && spitch == width)) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(width * rows), cudaMemcpyDeviceToDevice, stream()));
  } else if (dpitch <= kMaxPitch && spitch <= kMaxPitch) {
    CUDA_CHECK(cudaMemcpy2DAsync(dst, static_cast<size_t>(dpitch), src, static_cast<size_t>(spitch),
                                 static_cast<size_t>(width), static_cast<size_t>(rows), cudaMemcpyDeviceToDevice,
                                 stream()));
  } else {
    for (int64_t r = 0; r < rows; ++r)
      CUDA_CHECK(cudaMemcpyAsync(dst + r * dpitch, src + r * spitch, static_cast<size_t>(width),
                                 cudaMemcpyDeviceToDevice, stream()));
  }
}

int64_t row_bytes(int64_t k, const int64_t* part_bytes) {
  int64_t row = 0;
  for (int64_t i = 0; i < k; ++i) row += part_bytes[i];
  return row;
}

}  // namespace

// parts: a host array of k device pointers to (outer, b_i) bytes; part_bytes (k) on the host;
// y (outer, sum b_i) overwritten.
void cat_forward_cuda(int64_t outer, int64_t k, const char* const* parts, const int64_t* part_bytes, char* y) {
  const int64_t row = row_bytes(k, part_bytes);
  for (int64_t i = 0, off = 0; i < k; off += part_bytes[i], ++i)
    copy_rows(y + off, row, parts[i], part_bytes[i], part_bytes[i], outer);
}

// dy (outer, sum b_i); dparts: a host array of k device pointers to (outer, b_i) bytes,
// overwritten; a null one is skipped.
void cat_backward_cuda(int64_t outer, int64_t k, const char* dy, const int64_t* part_bytes, char* const* dparts) {
  const int64_t row = row_bytes(k, part_bytes);
  for (int64_t i = 0, off = 0; i < k; off += part_bytes[i], ++i)
    if (dparts[i]) copy_rows(dparts[i], part_bytes[i], dy + off, row, part_bytes[i], outer);
}

}  // namespace convnet::cuda

// CONVNET_CUDA=EMULATE: the runtime and cuBLAS of emulation.h on the host.
#include "emulation.h"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "convnet/half.h"
#include "cpu/blas.h"

thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace convnet::cuda::emu {

namespace {

constexpr size_t kArenaBytes = size_t(1) << 40;  // address space only (1 TiB, reserved lazily)
constexpr size_t kPage = 4096;

struct Arena {
  std::recursive_mutex mu;
  int depth = 0;
  char* base = nullptr;
  size_t used = 0;  // bytes handed out, rounded to pages; never reused
  std::unordered_map<void*, size_t> sizes;
  Arena() {
    void* p = mmap(nullptr, kArenaBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) std::abort();
    base = static_cast<char*>(p);
  }
  void protect(int prot) {
    if (used) mprotect(base, used, prot);
  }
};

Arena& arena() {
  static Arena* a = new Arena();
  return *a;
}

}  // namespace

DeviceScope::DeviceScope() {
  Arena& a = arena();
  a.mu.lock();
  if (a.depth++ == 0) a.protect(PROT_READ | PROT_WRITE);
}

DeviceScope::~DeviceScope() {
  Arena& a = arena();
  if (--a.depth == 0) a.protect(PROT_NONE);
  a.mu.unlock();
}

}  // namespace convnet::cuda::emu

using convnet::cuda::emu::DeviceScope;

namespace {
thread_local cudaError_t t_last_error = cudaSuccess;
int t_device = 0;
}  // namespace

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidPitchValue: return "invalid pitch argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
  }
  return "unknown error";
}

cudaError_t cudaGetLastError() {
  cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int index) {
  if (index != 0) return t_last_error = cudaErrorInvalidValue;
  t_device = index;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* index) {
  *index = t_device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int index) {
  if (index != 0) return t_last_error = cudaErrorInvalidValue;
  std::memset(p, 0, sizeof(*p));
  std::strcpy(p->name, "convnet CUDA emulation");
  p->totalGlobalMem = size_t(16) << 30;
  p->major = 9;
  p->multiProcessorCount = 1;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** p, size_t n) {
  auto& a = convnet::cuda::emu::arena();
  DeviceScope scope;
  size_t rounded = (n + convnet::cuda::emu::kPage - 1) / convnet::cuda::emu::kPage * convnet::cuda::emu::kPage;
  if (a.used + rounded > convnet::cuda::emu::kArenaBytes) return t_last_error = cudaErrorMemoryAllocation;
  *p = a.base + a.used;
  a.used += rounded;
  a.sizes[*p] = rounded;
  mprotect(*p, rounded, PROT_READ | PROT_WRITE);
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  // the pages go back to the OS; the address range is not reused (a stale device pointer keeps faulting)
  auto& a = convnet::cuda::emu::arena();
  DeviceScope scope;
  auto it = a.sizes.find(p);
  if (it == a.sizes.end()) return p ? (t_last_error = cudaErrorInvalidValue) : cudaSuccess;
  madvise(p, it->second, MADV_DONTNEED);
  a.sizes.erase(it);
  return cudaSuccess;
}

cudaError_t cudaHostAlloc(void** p, size_t n, unsigned) {
  *p = std::aligned_alloc(64, (n + 63) / 64 * 64);
  return *p ? cudaSuccess : (t_last_error = cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind, cudaStream_t) {
  DeviceScope scope;
  if (n) std::memmove(dst, src, n);
  return cudaSuccess;
}

cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind, cudaStream_t) {
  constexpr size_t kMemPitch = 2147483647;
  if (dpitch > kMemPitch || spitch > kMemPitch) return t_last_error = cudaErrorInvalidPitchValue;
  if (width > dpitch || width > spitch) return t_last_error = cudaErrorInvalidValue;
  DeviceScope scope;
  for (size_t r = 0; r < height && width; ++r)
    std::memmove(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* p, int value, size_t n, cudaStream_t) {
  DeviceScope scope;
  if (n) std::memset(p, value, n);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  static int the_stream;
  *s = reinterpret_cast<cudaStream_t>(&the_stream);
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  static int the_event;
  *e = reinterpret_cast<cudaEvent_t>(&the_event);
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventQuery(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventDestroy(cudaEvent_t) { return cudaSuccess; }

// ---- cuBLAS ----------------------------------------------------------------------

const char* cublasGetStatusString(cublasStatus_t s) {
  return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_NOT_SUPPORTED";
}

cublasStatus_t cublasCreate(cublasHandle_t* h) {
  static int the_handle;
  *h = reinterpret_cast<cublasHandle_t>(&the_handle);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }

namespace {

// Column-major C (m,n) = alpha op(A) op(B) + beta C is row-major C^T = op(B)^T op(A)^T:
// the row-major product of B's and A's memory with the same transpose flags.
template <typename T>
void gemm_colmajor(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, T alpha, const T* A,
                   int lda, const T* B, int ldb, T beta, T* C, int ldc) {
  convnet::cpu::gemm<T>(tb == CUBLAS_OP_T, ta == CUBLAS_OP_T, n, m, k, alpha, B, ldb, A, lda, beta, C, ldc);
}

template <typename T>
cublasStatus_t gemm_batched(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T* alpha,
                            const T* A, int lda, long long sA, const T* B, int ldb, long long sB, const T* beta,
                            T* C, int ldc, long long sC, int batch) {
  DeviceScope scope;
  for (int i = 0; i < batch; ++i)
    gemm_colmajor<T>(ta, tb, m, n, k, *alpha, A + i * sA, lda, B + i * sB, ldb, *beta, C + i * sC, ldc);
  return CUBLAS_STATUS_SUCCESS;
}

// The stored extent of a column-major operand with `cols` columns of `rows` rows.
size_t extent(int rows, int cols, int ld) { return cols ? size_t(cols - 1) * ld + rows : 0; }

float load(const void* p, cudaDataType_t t, size_t i) {
  switch (t) {
    case CUDA_R_16F: return convnet::to_float(static_cast<const convnet::float16*>(p)[i]);
    case CUDA_R_16BF: return convnet::to_float(static_cast<const convnet::bfloat16*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

void store(void* p, cudaDataType_t t, size_t i, float v) {
  switch (t) {
    case CUDA_R_16F: static_cast<convnet::float16*>(p)[i] = convnet::to_float16(v); break;
    case CUDA_R_16BF: static_cast<convnet::bfloat16*>(p)[i] = convnet::to_bfloat16(v); break;
    default: static_cast<float*>(p)[i] = v;
  }
}

}  // namespace

cublasStatus_t cublasSgemm(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float* alpha, const float* A, int lda, const float* B, int ldb,
                           const float* beta, float* C, int ldc) {
  return gemm_batched<float>(ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

cublasStatus_t cublasDgemm(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const double* alpha, const double* A, int lda, const double* B, int ldb,
                           const double* beta, double* C, int ldc) {
  return gemm_batched<double>(ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m,
                                         int n, int k, const float* alpha, const float* A, int lda,
                                         long long sA, const float* B, int ldb, long long sB,
                                         const float* beta, float* C, int ldc, long long sC, int batch) {
  return gemm_batched<float>(ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m,
                                         int n, int k, const double* alpha, const double* A, int lda,
                                         long long sA, const double* B, int ldb, long long sB,
                                         const double* beta, double* C, int ldc, long long sC, int batch) {
  return gemm_batched<double>(ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m,
                                          int n, int k, const void* alpha, const void* A, cudaDataType_t type_a,
                                          int lda, long long sA, const void* B, cudaDataType_t type_b, int ldb,
                                          long long sB, const void* beta, void* C, cudaDataType_t type_c, int ldc,
                                          long long sC, int batch, cublasComputeType_t compute,
                                          cublasGemmAlgo_t) {
  if (compute == CUBLAS_COMPUTE_64F || type_a == CUDA_R_64F || type_b == CUDA_R_64F || type_c == CUDA_R_64F)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  DeviceScope scope;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  size_t na = extent(ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, lda);
  size_t nb = extent(tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, ldb);
  size_t nc = extent(m, n, ldc);
  std::vector<float> fa(na), fb(nb), fc(nc);
  for (int i = 0; i < batch; ++i) {
    for (size_t j = 0; j < na; ++j) fa[j] = load(A, type_a, i * sA + j);
    for (size_t j = 0; j < nb; ++j) fb[j] = load(B, type_b, i * sB + j);
    for (size_t j = 0; j < nc; ++j) fc[j] = b == 0 ? 0.0f : load(C, type_c, i * sC + j);
    gemm_colmajor<float>(ta, tb, m, n, k, a, fa.data(), lda, fb.data(), ldb, b, fc.data(), ldc);
    for (int col = 0; col < n; ++col)
      for (int row = 0; row < m; ++row) {
        size_t j = size_t(col) * ldc + row;
        store(C, type_c, i * sC + j, fc[j]);
      }
  }
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void* alpha, const void* A, cudaDataType_t type_a, int lda, const void* B,
                            cudaDataType_t type_b, int ldb, const void* beta, void* C, cudaDataType_t type_c,
                            int ldc, cublasComputeType_t compute, cublasGemmAlgo_t algo) {
  return cublasGemmStridedBatchedEx(h, ta, tb, m, n, k, alpha, A, type_a, lda, 0, B, type_b, ldb, 0, beta, C,
                                    type_c, ldc, 0, 1, compute, algo);
}

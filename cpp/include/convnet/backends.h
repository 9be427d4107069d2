// How the matrix products of conv2d, conv_transpose2d, linear and matmul multiply on a GPU:
// the TF32 switches (PyTorch's torch.backends.cuda.matmul.allow_tf32 and
// torch.backends.cudnn.allow_tf32, both off by default here) and autocast, which runs
// those products on float32 CUDA tensors with 16-bit inputs.
//
// Autocast in convnet keeps activations, gradients and master weights in float32: under it,
// the four product ops cast their float32 CUDA operands to bfloat16 or float16 on the fly,
// multiply with float32 accumulation, and return float32; their backward runs its products
// the same way. It has no effect on CPU tensors, on float64 tensors, or on any other op.
// Every product on the CPU and every float64 product is exact IEEE arithmetic.
#pragma once
#include "device.h"

namespace convnet {

// The arithmetic of a float32 product on a GPU; every mode accumulates in float32.
enum class MathMode {
  Float32,   // IEEE float32 multiplication
  TF32,      // inputs rounded to TF32 (float32 range, 10-bit mantissa) by the tensor cores
  BFloat16,  // inputs cast to bfloat16 (autocast)
  Float16,   // inputs cast to float16 (autocast)
};

// Which TF32 switch governs an op's products.
enum class ProductKind { Convolution, Matmul };

namespace backends {
// torch.backends.cuda.matmul.allow_tf32: linear and matmul (process-wide; default false).
bool matmul_allow_tf32();
void set_matmul_allow_tf32(bool on);
// torch.backends.cudnn.allow_tf32: conv2d and conv_transpose2d (process-wide; default false).
bool conv_allow_tf32();
void set_conv_allow_tf32(bool on);
// The most bytes a CUDA convolution takes at once for its column buffers (default 256 MiB);
// a batch whose columns need more runs in chunks of images (at least one image a chunk).
size_t conv_workspace_limit();
void set_conv_workspace_limit(size_t bytes);
// torch.backends.cpu.get_cpu_capability(): which version of the multiversioned CPU kernels
// this CPU runs, by the loader's rule: "AVX512" (x86-64-v4: AVX-512 F/BW/CD/DQ/VL), "AVX2"
// (x86-64-v3: AVX2, FMA, BMI2, ...) or "DEFAULT" (baseline x86-64, or not x86-64). A
// -march=native build (CONVNET_NATIVE) has no clones and reports this CPU's level.
const char* cpu_capability();
}  // namespace backends

// Autocast for CUDA tensors, per thread: enabled, and the 16-bit dtype (BFloat16 or Float16).
struct AutocastState {
  bool enabled = false;
  DType dtype = DType::BFloat16;
};
AutocastState autocast_state();
// Throws ValueError unless state.dtype is BFloat16 or Float16.
void set_autocast_state(const AutocastState& state);

// Autocast on (or off) for this thread until the guard goes.
class AutocastGuard {
 public:
  explicit AutocastGuard(bool enabled, DType dtype = DType::BFloat16);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  AutocastState saved_;
};

// The mode in which an op of `kind` multiplies inputs of `dtype` on `device` now: autocast's
// 16-bit type for float32 CUDA inputs under autocast, else TF32 for float32 CUDA inputs when
// the kind's switch is on, else Float32 (the mode is ignored for float64 and on the CPU).
MathMode math_mode_for(ProductKind kind, Device device, DType dtype);

// The mode the CUDA product kernels use on this thread (Float32 when no guard is alive). An op
// sets it around its kernels, in forward with math_mode_for and in backward with the mode its
// forward used, so that backward multiplies as forward did wherever it runs.
MathMode current_math_mode();
class MathModeGuard {
 public:
  explicit MathModeGuard(MathMode mode);
  ~MathModeGuard();
  MathModeGuard(const MathModeGuard&) = delete;
  MathModeGuard& operator=(const MathModeGuard&) = delete;

 private:
  MathMode saved_;
};

}  // namespace convnet

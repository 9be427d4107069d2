#include "convnet/backends.h"

#include <atomic>

#include "convnet/check.h"
#include "cpu/isa.h"

namespace convnet {

namespace {
std::atomic<bool> g_matmul_tf32{false};
std::atomic<bool> g_conv_tf32{false};
std::atomic<size_t> g_conv_workspace{size_t(256) << 20};
thread_local AutocastState t_autocast;
thread_local MathMode t_math_mode = MathMode::Float32;
}  // namespace

namespace backends {
bool matmul_allow_tf32() { return g_matmul_tf32.load(std::memory_order_relaxed); }
void set_matmul_allow_tf32(bool on) { g_matmul_tf32.store(on, std::memory_order_relaxed); }
bool conv_allow_tf32() { return g_conv_tf32.load(std::memory_order_relaxed); }
void set_conv_allow_tf32(bool on) { g_conv_tf32.store(on, std::memory_order_relaxed); }
size_t conv_workspace_limit() { return g_conv_workspace.load(std::memory_order_relaxed); }
void set_conv_workspace_limit(size_t bytes) { g_conv_workspace.store(bytes, std::memory_order_relaxed); }

// the resolvers of the CONVNET_CPU_CLONES functions test the same levels, best first (a
// -march=native build has no clones: all of it runs at this CPU's level)
const char* cpu_capability() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "AVX512";
  if (__builtin_cpu_supports("x86-64-v3")) return "AVX2";
#endif
  return "DEFAULT";
}
}  // namespace backends

AutocastState autocast_state() { return t_autocast; }

void set_autocast_state(const AutocastState& state) {
  CONVNET_CHECK(state.dtype == DType::BFloat16 || state.dtype == DType::Float16,
                "autocast: dtype must be bfloat16 or float16 on CUDA, got ", dtype_name(state.dtype));
  t_autocast = state;
}

AutocastGuard::AutocastGuard(bool enabled, DType dtype) : saved_(t_autocast) {
  set_autocast_state({enabled, dtype});
}
AutocastGuard::~AutocastGuard() { t_autocast = saved_; }

MathMode math_mode_for(ProductKind kind, Device device, DType dtype) {
  if (device.is_cpu() || dtype != DType::Float32) return MathMode::Float32;
  if (t_autocast.enabled) return t_autocast.dtype == DType::Float16 ? MathMode::Float16 : MathMode::BFloat16;
  const bool tf32 = kind == ProductKind::Convolution ? backends::conv_allow_tf32() : backends::matmul_allow_tf32();
  return tf32 ? MathMode::TF32 : MathMode::Float32;
}

MathMode current_math_mode() { return t_math_mode; }
MathModeGuard::MathModeGuard(MathMode mode) : saved_(t_math_mode) { t_math_mode = mode; }
MathModeGuard::~MathModeGuard() { t_math_mode = saved_; }

}  // namespace convnet

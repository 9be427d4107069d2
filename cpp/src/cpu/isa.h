// Runtime CPU dispatch for the hot CPU kernels, by function multiversioning.
//
// A function marked CONVNET_CPU_CLONES is compiled three times, for x86-64-v4 (AVX-512),
// x86-64-v3 (AVX2 + FMA) and the baseline x86-64 the portable wheel targets; the dynamic loader
// binds each call to the best version this CPU runs, once, when libconvnet loads (an ifunc).
// So `pip install convnet` runs AVX2 / AVX-512 code where the CPU has it, without a
// -march=native build.
//
// Only the marked function is cloned: a lambda handed to parallel_for is compiled once, for the
// baseline. Keep the hot loop inside a marked function that takes pointers and sizes, and call it
// from the parallel chunk: parallel_for(n, grain, [&](i0, i1) { kernel_rows(..., i0, i1); }).
// A helper the marked function calls is inlined into each clone only where GCC judges it
// worth it: mark the helpers of a hot loop always inline (__attribute__((always_inline))), or
// the clone calls one baseline copy per element.
#pragma once
#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(CONVNET_NO_CPU_CLONES)
#define CONVNET_CPU_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CONVNET_CPU_CLONES
#endif

namespace convnet::cpu {

// f(i) for i in [b, e), compiled once per clone with f inlined into each: the marked loop for a
// kernel whose loop body is a lambda, called from the parallel chunk.
template <typename F>
CONVNET_CPU_CLONES void cloned_for(int64_t b, int64_t e, F f) {
  for (int64_t i = b; i < e; ++i) f(i);
}

}  // namespace convnet::cpu

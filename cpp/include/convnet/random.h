// The global random generator: initialization, dropout, shuffling and
// augmentation draw from it, so convnet::manual_seed(n) makes runs repeatable
// (bit-identical for the same seed and thread count). Draws are serial.
#pragma once
#include <cstdint>

#include "tensor.h"

namespace convnet {

void manual_seed(uint64_t seed);
uint64_t initial_seed();
// One 64-bit draw (for seeding other generators, e.g. a loader's shuffle).
uint64_t random_u64();
// Uniform in [0, 1).
double random_uniform();

// In place: uniform in [low, high), normal(mean, std).
void uniform_(const Tensor& t, double low, double high);
void normal_(const Tensor& t, double mean, double std);

Tensor rand(const Shape& shape, DType dtype = DType::Float32);
Tensor randn(const Shape& shape, DType dtype = DType::Float32);
// A random permutation of 0..n-1 (int64).
Tensor randperm(int64_t n);

}  // namespace convnet

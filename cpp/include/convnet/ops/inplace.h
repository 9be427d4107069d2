// In-place writes with autograd. Every in-place op is copy_ of its out-of-place result:
// x.add_(y) is copy_(x, add(x, y)). The values land in self's memory (every view of it sees
// them) and bump its version; self's autograd history becomes src's, and when self is a view,
// its base's history becomes the old one outside the view's elements and src's inside (as
// PyTorch's CopySlices). As PyTorch, with grad mode on, a leaf that requires grad and the views
// of one cannot be written in place.
#pragma once
#include "convnet/tensor.h"

namespace convnet {

// self = src (broadcast to self's shape, converted to its dtype and device); returns self.
Tensor copy_(const Tensor& self, const Tensor& src);
// copy_ of an op's result, which must not need a floating dtype when self is an integer or bool
// tensor (PyTorch's "result type ... can't be cast" error, naming op). The op reads
// inplace_input(self, ...): what its backward saves of the result refers to self afterwards.
Tensor assign_result_(const Tensor& self, const Tensor& result, const char* op);
// The input an in-place op computes from: self, or a copy of it when autograd records (so that a
// backward that saved the input reads the values from before the write, as PyTorch's
// original_self), `other` being the op's other operand (or an undefined tensor).
Tensor inplace_input(const Tensor& self, const Tensor& other = Tensor());

}  // namespace convnet

// Shared pieces of the _core module's bindings.
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>

#include "convnet/convnet.h"

namespace py = pybind11;

namespace convnet::bindings {

void bind_tensor(py::module_& m);
void bind_views(py::module_& m);
void bind_ops(py::module_& m);
// Math methods and functions (math.cpp): unary math, powers, clamping, comparisons, logical ops,
// reductions, sorting, contractions.
void bind_math(py::module_& m);
void bind_nn(py::module_& m);
void bind_nn_utils(py::module_& m);
// The 1-D layers, sample normalization, embedding, pixel shuffle, unfold/fold, unpooling
// (layers.cpp); after bind_ops and bind_nn.
void bind_layers(py::module_& m);
void bind_optim(py::module_& m);
void bind_io(py::module_& m);
void bind_data(py::module_& m);
void bind_cuda(py::module_& m);
void bind_amp(py::module_& m);
// Class docstrings (docs.cpp); called after every bind_*.
void add_docs(py::module_& m);

// An int or a pair of ints (PyTorch's `_pair`), for kernel sizes, strides, paddings.
std::array<int64_t, 2> to_pair(const py::handle& v, const char* what);
// conv2d's options from Python arguments (padding an int, a pair, "same" or "valid").
Conv2dOptions conv_options(const py::object& stride, const py::object& padding,
                           const py::object& dilation, int64_t groups);
// Pooling options from Python arguments (stride None or empty: the kernel size); `who` names the
// function or layer in error messages.
Pool2dOptions pool_options(const char* who, const py::object& kernel_size, const py::object& stride,
                           const py::object& padding, const py::object& dilation, bool ceil_mode,
                           bool count_include_pad);
// An adaptive pooling output size: an int, None, or a pair of ints or Nones; `scalar` is set
// when it was one int or None.
AdaptiveSize adaptive_size(const py::handle& v, const char* what, bool* scalar = nullptr);
// interpolate's options from F.interpolate's / nn.Upsample's arguments; `scalar` is set when
// size or scale_factor was one number.
InterpolateOptions interpolate_options(const py::object& size, const py::object& scale_factor,
                                       const std::string& mode, const py::object& align_corners,
                                       const py::object& recompute_scale_factor, bool* scalar = nullptr);
// The forward of a max-pooling module: with return_indices the pair (values, indices), which the
// module's C++ forward cannot return, with the module's repr in front of an op's error as in
// Module::call_forward.
template <typename Pool, typename WithIndices>
py::object pool_forward(Pool& p, const Tensor& x, WithIndices with_indices) {
  if (!p.return_indices) {
    Tensor y;
    {
      py::gil_scoped_release nogil;
      y = p.call_forward(x);
    }
    return py::cast(y);
  }
  std::pair<Tensor, Tensor> r;
  try {
    py::gil_scoped_release nogil;
    r = with_indices(x, p.options);
  } catch (const ValueError& e) {
    throw ValueError(p.repr() + ": " + e.what());
  }
  return py::make_tuple(r.first, r.second);
}

// "cpu", "cuda", "cuda:N", an int (a CUDA index) or a convnet.device.
Device parse_device(const py::object& o);
// A tensor from any array-like, copying; dtype None keeps NumPy's (Python floats become float32).
Tensor tensor_from_object(const py::handle& obj, const py::object& dtype);

}  // namespace convnet::bindings

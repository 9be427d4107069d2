// convnet._core.backends (the TF32 switches, the CPU convolution algorithm) and convnet._core.amp (autocast's state and the
// gradient scaler's unscaling); python/convnet/backends and python/convnet/amp.py wrap them.
#include "bindings.h"

namespace convnet::bindings {

using namespace pybind11::literals;

void bind_amp(py::module_& m) {
  py::module_ b = m.def_submodule("backends", "switches of the compute backends");
  b.def("get_matmul_allow_tf32", &backends::matmul_allow_tf32);
  b.def("set_matmul_allow_tf32", &backends::set_matmul_allow_tf32, "on"_a);
  b.def("get_cudnn_allow_tf32", &backends::conv_allow_tf32);
  b.def("set_cudnn_allow_tf32", &backends::set_conv_allow_tf32, "on"_a);
  b.def("get_conv_workspace_limit", &backends::conv_workspace_limit);
  b.def("set_conv_workspace_limit", &backends::set_conv_workspace_limit, "bytes"_a);
  b.def("conv2d_cpu_algorithm",
        [](const Tensor& x, const Tensor& w, py::object stride, py::object padding, py::object dilation,
           int64_t groups) { return conv2d_cpu_algorithm(x, w, conv_options(stride, padding, dilation, groups)); },
        "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "groups"_a = 1,
        "the algorithm conv2d runs on the CPU: 'gemm', 'winograd' or 'depthwise'");
  b.def("get_cpu_capability", [] { return std::string(backends::cpu_capability()); });

  py::module_ a = m.def_submodule("amp", "mixed precision");
  a.def("get_autocast", [] {
    AutocastState s = autocast_state();
    return py::make_tuple(s.enabled, s.dtype);
  }, "(enabled, dtype) of autocast for CUDA tensors on this thread");
  a.def("set_autocast", [](bool enabled, DType dtype) { set_autocast_state({enabled, dtype}); }, "enabled"_a,
        "dtype"_a);
  a.def("unscale_", [](const std::vector<Tensor>& grads, double inv_scale, const Tensor& found_inf) {
    py::gil_scoped_release nogil;
    amp_unscale_(grads, inv_scale, found_inf);
  }, "grads"_a, "inv_scale"_a, "found_inf"_a);
}

}  // namespace convnet::bindings

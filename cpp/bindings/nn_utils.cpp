// convnet.nn.utils: gradient clipping and regularizers, run in C++ with the GIL released.
#include "bindings.h"

namespace convnet::bindings {

using namespace pybind11::literals;

void bind_nn_utils(py::module_& m) {
  py::module_ u = m.def_submodule("nn_utils", "Gradient clipping and regularizers");
  auto nogil = py::call_guard<py::gil_scoped_release>();
  u.def("clip_grad_norm_", &nn::utils::clip_grad_norm_, "parameters"_a, "max_norm"_a,
        "norm_type"_a = 2.0, "error_if_nonfinite"_a = false, nogil);
  u.def("clip_grad_value_", &nn::utils::clip_grad_value_, "parameters"_a, "clip_value"_a, nogil);
  u.def("l1_penalty", &nn::utils::l1_penalty, "parameters"_a, nogil);
  u.def("max_norm_", &nn::utils::max_norm_, "weight"_a, "max_norm"_a, "dim"_a = 0, nogil);
}

}  // namespace convnet::bindings

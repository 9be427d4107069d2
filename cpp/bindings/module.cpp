// PYBIND11_MODULE(_core): the compiled half of the convnet package.
#include "bindings.h"

namespace convnet::bindings {

std::array<int64_t, 2> to_pair(const py::handle& v, const char* what) {
  if (py::isinstance<py::int_>(v) && !py::isinstance<py::bool_>(v)) {
    int64_t x = v.cast<int64_t>();
    return {x, x};
  }
  if (py::isinstance<py::tuple>(v) || py::isinstance<py::list>(v)) {
    py::sequence s = py::reinterpret_borrow<py::sequence>(v);
    if (s.size() == 2 && py::isinstance<py::int_>(s[0]) && py::isinstance<py::int_>(s[1]))
      return {s[0].cast<int64_t>(), s[1].cast<int64_t>()};
  }
  throw py::type_error(cat_str(what, " must be an int or a pair of ints, got ",
                               std::string(py::str(py::repr(v)))));
}

}  // namespace convnet::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "convnet's C++ core";
  using namespace convnet::bindings;
  // convnet::ValueError and convnet::IndexError keep their Python types, SafetensorsError and
  // OutOfMemoryError are convnet's own (subclasses of ValueError and MemoryError); any other
  // convnet::Error is a std::runtime_error, which pybind11 raises as RuntimeError.
  static py::handle safetensors_error =
      py::exception<convnet::SafetensorsError>(m, "SafetensorsError", PyExc_ValueError).release();
  static py::handle out_of_memory_error =
      py::exception<convnet::OutOfMemoryError>(m, "OutOfMemoryError", PyExc_MemoryError).release();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const convnet::SafetensorsError& e) {
      PyErr_SetString(safetensors_error.ptr(), e.what());
    } catch (const convnet::OutOfMemoryError& e) {
      PyErr_SetString(out_of_memory_error.ptr(), e.what());
    } catch (const convnet::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const convnet::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    }
  });
  bind_tensor(m);
  bind_ops(m);
  bind_math(m);
  bind_views(m);
  bind_nn(m);
  bind_nn_utils(m);
  bind_layers(m);
  bind_optim(m);
  bind_io(m);
  bind_data(m);
  bind_cuda(m);
  bind_amp(m);
  add_docs(m);
}

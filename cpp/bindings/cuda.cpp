// convnet._core.cuda: devices, synchronization and the device allocator's statistics.
#include "bindings.h"
#include "convnet/cuda.h"

namespace convnet::bindings {

using namespace pybind11::literals;

namespace {
int index_of(const py::object& device) {
  if (device.is_none()) return cuda::current_device();
  Device d = parse_device(device);
  if (d.is_cpu()) throw py::value_error("cuda: expected a CUDA device, got cpu");
  return d.index;
}
}  // namespace

void bind_cuda(py::module_& m) {
  py::module_ c = m.def_submodule("cuda", "CUDA devices");
  c.def("is_available", &cuda::is_available);
  c.def("device_count", &cuda::device_count);
  c.def("current_device", &cuda::current_device);
  c.def("set_device", [](const py::object& d) { cuda::set_device(index_of(d)); }, "device"_a);
  c.def("get_device_name", [](const py::object& d) { return cuda::get_device_name(index_of(d)); },
        "device"_a = py::none());
  c.def("synchronize", [](const py::object& d) {
    py::gil_scoped_release release;
    cuda::synchronize(d.is_none() ? -1 : index_of(d));
  }, "device"_a = py::none());
  c.def("memory_stats", [](const py::object& d) {
    AllocatorStats s = cuda::memory_stats(index_of(d));
    py::dict r;
    r["allocated_bytes"] = s.allocated_bytes;
    r["peak_allocated_bytes"] = s.peak_allocated_bytes;
    r["cached_bytes"] = s.cached_bytes;
    return r;
  }, "device"_a = py::none());
  c.def("reset_peak_memory_stats", [](const py::object& d) { cuda::reset_peak_memory_stats(index_of(d)); },
        "device"_a = py::none());
  c.def("empty_cache", &cuda::empty_cache);
}

}  // namespace convnet::bindings

// convnet._core._transforms: the C++ image transforms and the pipeline that runs them on images
// and batches (Python's convnet.transforms wraps these with PyTorch's argument conventions).
#include <pybind11/numpy.h>

#include <optional>

#include "bindings.h"
#include "convnet/data/loader.h"
#include "convnet/data/transforms.h"

namespace convnet::bindings {

using namespace pybind11::literals;
using namespace convnet::data;

namespace {

Interpolation parse_interp(const std::string& s) {
  if (s == "bilinear") return Interpolation::Bilinear;
  if (s == "nearest") return Interpolation::Nearest;
  throw py::value_error(cat_str("interpolation must be 'bilinear' or 'nearest', got '", s, "'"));
}

PadMode parse_pad_mode(const std::string& s) {
  if (s == "constant") return PadMode::Constant;
  if (s == "edge") return PadMode::Edge;
  if (s == "reflect") return PadMode::Reflect;
  if (s == "symmetric") return PadMode::Symmetric;
  throw py::value_error(cat_str("padding_mode must be 'constant', 'edge', 'reflect' or 'symmetric', got '", s, "'"));
}

}  // namespace

// uint8 (H, W) or (H, W, C) as decoded; float32 (C, H, W) or (H, W) as after ToTensor. Copies.
Image image_from_array(const py::array& a, const char* who) {
  Image im;
  const bool u8 = a.dtype().is(py::dtype::of<uint8_t>()), f32 = a.dtype().is(py::dtype::of<float>());
  auto shape = [&] {
    std::string s = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
    return s + (a.ndim() == 1 ? ",)" : ")");
  };
  if (!(u8 || f32) || a.ndim() < 2 || a.ndim() > 3)
    throw py::value_error(cat_str(who, ": expected an image as a uint8 array (H, W) or (H, W, C), or a float32 "
                                  "array (C, H, W), got ", std::string(py::str(a.dtype())), " ", shape()));
  py::array c = py::array::ensure(a, py::array::c_style | py::array::forcecast);
  im.is_float = f32;
  if (u8) {
    im.h = a.shape(0);
    im.w = a.shape(1);
    im.c = a.ndim() == 3 ? a.shape(2) : 1;
    const uint8_t* p = static_cast<const uint8_t*>(c.data());
    im.u8.assign(p, p + c.size());
  } else {
    im.c = a.ndim() == 3 ? a.shape(0) : 1;
    im.h = a.shape(a.ndim() - 2);
    im.w = a.shape(a.ndim() - 1);
    const float* p = static_cast<const float*>(c.data());
    im.f.assign(p, p + c.size());
  }
  if (im.h <= 0 || im.w <= 0 || im.c <= 0)
    throw py::value_error(cat_str(who, ": empty image ", shape()));
  return im;
}

// A list of images, or a uint8 array (N, H, W[, C]) / float32 array (N, C, H, W) of them.
std::vector<Image> images_from_object(const py::handle& obj, const char* who) {
  std::vector<Image> out;
  if (py::isinstance<py::array>(obj)) {
    py::array a = py::reinterpret_borrow<py::array>(obj);
    if (a.ndim() < 3)
      throw py::value_error(cat_str(who, ": a batch array needs a leading batch dimension, got ", a.ndim(), " dims"));
    for (py::ssize_t i = 0; i < a.shape(0); ++i)
      out.push_back(image_from_array(py::reinterpret_borrow<py::array>(a[py::int_(i)]), who));
    return out;
  }
  for (auto item : py::reinterpret_borrow<py::sequence>(obj))
    out.push_back(image_from_array(py::array::ensure(item), who));
  return out;
}

void bind_data(py::module_& root) {
  py::module_ m = root.def_submodule("_transforms", "C++ image transforms (wrapped by convnet.transforms)");
  py::class_<Transform, std::shared_ptr<Transform>>(m, "Transform").def_property_readonly("name", &Transform::name);
#define CONVNET_TRANSFORM(cls) py::class_<cls, Transform, std::shared_ptr<cls>>(m, #cls)
  CONVNET_TRANSFORM(ToTensor).def(py::init<>());
  CONVNET_TRANSFORM(Normalize).def(py::init<std::vector<double>, std::vector<double>>(), "mean"_a, "std"_a);
  CONVNET_TRANSFORM(RandomCrop)
      .def(py::init([](int64_t h, int64_t w, std::array<int64_t, 4> padding, bool pad_if_needed,
                       std::vector<double> fill, const std::string& mode) {
             return std::make_shared<RandomCrop>(h, w, padding, pad_if_needed, std::move(fill), parse_pad_mode(mode));
           }),
           "h"_a, "w"_a, "padding"_a, "pad_if_needed"_a, "fill"_a, "padding_mode"_a);
  CONVNET_TRANSFORM(CenterCrop).def(py::init<int64_t, int64_t>(), "h"_a, "w"_a);
  CONVNET_TRANSFORM(Resize).def(py::init([](int64_t h, int64_t w, const std::string& interp) {
                                  return std::make_shared<Resize>(h, w, parse_interp(interp));
                                }),
                                "h"_a, "w"_a, "interpolation"_a);
  CONVNET_TRANSFORM(RandomResizedCrop)
      .def(py::init([](int64_t h, int64_t w, std::array<double, 2> scale, std::array<double, 2> ratio,
                       const std::string& interp) {
             return std::make_shared<RandomResizedCrop>(h, w, scale, ratio, parse_interp(interp));
           }),
           "h"_a, "w"_a, "scale"_a, "ratio"_a, "interpolation"_a);
  CONVNET_TRANSFORM(RandomFlip).def(py::init<double, bool>(), "p"_a, "vertical"_a);
  CONVNET_TRANSFORM(RandomAffine)
      .def(py::init([](std::array<double, 2> degrees, std::vector<double> translate, std::vector<double> scale,
                       std::vector<double> shear, const std::string& interp, std::vector<double> fill,
                       std::string who) {
             return std::make_shared<RandomAffine>(degrees, std::move(translate), std::move(scale), std::move(shear),
                                                   parse_interp(interp), std::move(fill), std::move(who));
           }),
           "degrees"_a, "translate"_a, "scale"_a, "shear"_a, "interpolation"_a, "fill"_a, "who"_a);
  CONVNET_TRANSFORM(ColorJitter)
      .def(py::init<std::vector<double>, std::vector<double>, std::vector<double>, std::vector<double>>(),
           "brightness"_a, "contrast"_a, "saturation"_a, "hue"_a);
  CONVNET_TRANSFORM(Grayscale).def(py::init<int64_t, double>(), "channels"_a, "p"_a);
  CONVNET_TRANSFORM(Lighting)
      .def(py::init<double, std::array<double, 3>, std::array<std::array<double, 3>, 3>>(), "alphastd"_a,
           "eigval"_a, "eigvec"_a);
  CONVNET_TRANSFORM(RandomErasing)
      .def(py::init<double, std::array<double, 2>, std::array<double, 2>, std::vector<double>>(), "p"_a,
           "scale"_a, "ratio"_a, "value"_a);
  CONVNET_TRANSFORM(TenCrop).def(py::init<int64_t, int64_t, bool>(), "h"_a, "w"_a, "vertical_flip"_a);
#undef CONVNET_TRANSFORM

  py::class_<Pipeline, std::shared_ptr<Pipeline>>(m, "Pipeline")
      .def(py::init([](const std::vector<std::shared_ptr<Transform>>& stages) {
             return std::make_shared<Pipeline>(std::vector<TransformPtr>(stages.begin(), stages.end()));
           }),
           "stages"_a)
      .def(
          "batch",
          [](const Pipeline& p, const py::object& images, uint64_t base, int64_t first, bool parallel,
             const std::optional<std::vector<int64_t>>& indices) {
            std::vector<Image> ims = images_from_object(images, "transform");
            if (ims.empty()) throw py::value_error("transform: empty batch");
            if (indices && indices->size() != ims.size())
              throw py::value_error("transform: one data set index per image is required");
            py::gil_scoped_release nogil;
            return p.batch(std::move(ims), base, first, parallel, indices ? indices->data() : nullptr);
          },
          "images"_a, "base"_a, "first"_a = 0, "parallel"_a = true, "indices"_a = py::none(),
          "Transforms images[k] with the generator of image_seed(base, first + k) and collates them; "
          "errors name indices[k], the image's data set index, when given.")
      .def_static("image_seed", &image_seed, "base"_a, "k"_a);

  py::class_<BatchIterator>(m, "BatchIterator", "One epoch of a DataLoader over arrays (convnet/data/loader.h)")
      .def(py::init([](const std::vector<Tensor>& arrays, const py::list& pipelines,
                       py::array_t<int64_t, py::array::c_style | py::array::forcecast> indices,
                       py::array_t<int64_t, py::array::c_style | py::array::forcecast> sizes, uint64_t base,
                       int64_t num_workers, int64_t prefetch, bool pin_memory) {
             if (pipelines.size() != arrays.size())
               throw py::value_error("BatchIterator: one pipeline (or None) per array is required");
             std::vector<Column> columns;
             for (size_t c = 0; c < arrays.size(); ++c) {
               py::handle p = pipelines[c];
               columns.push_back({arrays[c], p.is_none() ? nullptr : p.cast<std::shared_ptr<Pipeline>>()});
             }
             std::vector<std::vector<int64_t>> batches;
             const int64_t* idx = indices.data();
             int64_t at = 0;
             for (py::ssize_t b = 0; b < sizes.size(); ++b) {
               const int64_t n = sizes.data()[b];
               if (n < 0 || at + n > indices.size())
                 throw py::value_error("BatchIterator: batch sizes do not match the indices");
               batches.emplace_back(idx + at, idx + at + n);
               at += n;
             }
             return std::make_unique<BatchIterator>(std::move(columns), std::move(batches), base, num_workers,
                                                    prefetch, pin_memory);
           }),
           "arrays"_a, "pipelines"_a, "indices"_a, "sizes"_a, "base"_a, "num_workers"_a, "prefetch"_a,
           "pin_memory"_a = false)
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__",
           [](BatchIterator& it) {
             std::vector<Tensor> out;
             bool more;
             {
               py::gil_scoped_release nogil;
               more = it.next(out);
             }
             if (!more) throw py::stop_iteration();
             return py::tuple(py::cast(out));
           })
      .def("__len__", &BatchIterator::size)
      .def("close", &BatchIterator::close, py::call_guard<py::gil_scoped_release>(),
           "Stops the workers and drops the prefetched batches.");
}

}  // namespace convnet::bindings

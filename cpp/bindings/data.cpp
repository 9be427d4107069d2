// convnet._core._transforms: the C++ image transforms and the pipeline that runs them on images
// and batches (Python's convnet.transforms wraps these with PyTorch's argument conventions).
#include <pybind11/numpy.h>

#include <cstring>
#include <optional>
#include <tuple>

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

AugmentPolicy parse_policy(const std::string& s) {
  if (s == "imagenet") return AugmentPolicy::ImageNet;
  if (s == "cifar10") return AugmentPolicy::CIFAR10;
  if (s == "svhn") return AugmentPolicy::SVHN;
  if (s == "randaugment") return AugmentPolicy::RandAugment;
  if (s == "trivialaugmentwide") return AugmentPolicy::TrivialAugmentWide;
  throw py::value_error(cat_str("AutoAugment: policy must be 'imagenet', 'cifar10' or 'svhn', got '", s, "'"));
}

AugmentOp parse_op(const std::string& s) {
  for (int k = 0; k <= static_cast<int>(AugmentOp::Invert); ++k)
    if (s == augment_op_name(static_cast<AugmentOp>(k))) return static_cast<AugmentOp>(k);
  throw py::value_error(cat_str("unknown augmentation operation '", s, "'"));
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
  CONVNET_TRANSFORM(RandomPerspective)
      .def(py::init([](double distortion_scale, double p, const std::string& interp, std::vector<double> fill) {
             return std::make_shared<RandomPerspective>(distortion_scale, p, parse_interp(interp), std::move(fill));
           }),
           "distortion_scale"_a, "p"_a, "interpolation"_a, "fill"_a);
  CONVNET_TRANSFORM(GaussianBlur)
      .def(py::init<int64_t, int64_t, double, double>(), "kx"_a, "ky"_a, "sigma_lo"_a, "sigma_hi"_a);
  CONVNET_TRANSFORM(AutoAugment)
      .def(py::init([](const std::string& policy, int64_t num_ops, int64_t magnitude, int64_t bins,
                       const std::string& interp, std::vector<double> fill) {
             return std::make_shared<AutoAugment>(parse_policy(policy), num_ops, magnitude, bins, parse_interp(interp),
                                                  std::move(fill));
           }),
           "policy"_a, "num_ops"_a, "magnitude"_a, "num_magnitude_bins"_a, "interpolation"_a, "fill"_a)
      .def(
          "draw",
          [](const AutoAugment& t, uint64_t seed, int64_t h, int64_t w) {
            Generator g(seed);
            py::list out;
            for (const auto& [op, m] : t.draw(g, h, w)) out.append(py::make_tuple(augment_op_name(op), m));
            return out;
          },
          "seed"_a, "h"_a, "w"_a,
          "The (operation name, signed magnitude) pairs drawn for an (h, w) image by a generator seeded with `seed`.");
#undef CONVNET_TRANSFORM

  m.def(
      "augment_op",
      [](const py::array& image, const std::string& op, double magnitude, const std::string& interp,
         std::vector<double> fill) {
        Image im = image_from_array(image, "augment_op");
        {
          py::gil_scoped_release nogil;
          apply_augment_op(im, parse_op(op), magnitude, parse_interp(interp), fill);
        }
        py::array_t<uint8_t> out({im.h, im.w, im.c});
        std::memcpy(out.mutable_data(), im.u8.data(), im.u8.size());
        return out;
      },
      "image"_a, "op"_a, "magnitude"_a, "interpolation"_a = "nearest", "fill"_a = std::vector<double>{},
      "One AutoAugment operation with a signed magnitude on a uint8 (H, W[, C]) image.");
  m.def(
      "mix_params",
      [](uint64_t seed, double alpha, bool cutmix, int64_t h, int64_t w) {
        MixParams p = draw_mix_params(seed, alpha, cutmix, h, w);
        py::dict d("lam"_a = p.lam);
        if (cutmix) d["box"] = py::make_tuple(p.x1, p.y1, p.x2, p.y2);
        return d;
      },
      "seed"_a, "alpha"_a, "cutmix"_a, "h"_a = 0, "w"_a = 0,
      "MixUp's lam, or CutMix's box (x1, y1, x2, y2) and corrected lam, drawn from a generator seeded with `seed`.");
  m.def(
      "mix_batch",
      [](const Tensor& images, const Tensor& labels, int64_t num_classes, double lam,
         const std::optional<std::array<int64_t, 4>>& box, const std::string& who) {
        MixParams p;
        p.lam = lam;
        if (box) {
          p.cutmix = true;
          std::tie(p.x1, p.y1, p.x2, p.y2) = std::make_tuple((*box)[0], (*box)[1], (*box)[2], (*box)[3]);
        }
        py::gil_scoped_release nogil;
        return mix_batch(images, labels, num_classes, p, who);
      },
      "images"_a, "labels"_a, "num_classes"_a, "lam"_a, "box"_a = py::none(), "who"_a = "MixUp",
      "Mixed images and soft targets of a batch (MixUp with lam, or CutMix with box and its lam).");

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

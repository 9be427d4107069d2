// cat and stack. Legend: k tensors; tensor i has shape (s_0, ..., D_i, ...,
// s_{d-1}) with D_i at the cat dimension; the output has sum D_i there. Each
// tensor is viewed as (outer, D_i * inner), outer and inner the products of the
// dimensions before and after the cat dimension. Backward returns each input's
// slice of dy; autograd accumulates (+=) them into .grad.
#include "convnet/ops/cat.h"

#include <algorithm>

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/view.h"
#include "dispatch.h"

namespace convnet {

namespace {

struct CatPlan {
  std::vector<Tensor> parts;  // the inputs taking part (1-D empty ones dropped), in the common dtype
  std::vector<size_t> index;  // each part's position in the caller's list
  int64_t dim;                // normalized
  Device device;              // of every part
  Shape out_shape;
  int64_t outer, inner;
};

std::string shapes_str(const std::vector<Tensor>& ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + shape_str(ts[i].shape());
  return s;
}

CatPlan check_cat(const std::vector<Tensor>& ts, int64_t dim) {
  CONVNET_CHECK(!ts.empty(), "cat: expected a non-empty list of tensors");
  CatPlan p;
  DType common = ts[0].dtype();
  for (size_t i = 0; i < ts.size(); ++i) {
    CONVNET_CHECK(ts[i].defined(), "cat: tensor ", i, " is undefined");
    CONVNET_CHECK(ts[i].dim() > 0, "cat: zero-dimensional tensor (at position ", i,
                  ") cannot be concatenated; shapes ", shapes_str(ts));
    common = promote(common, ts[i].dtype());
    if (ts[i].dim() == 1 && ts[i].numel() == 0) continue;  // legacy empty tensor, skipped as PyTorch
    p.index.push_back(i);
  }
  if (p.index.empty()) p.index.push_back(0);  // only empty 1-D tensors: the result is one of them
  const Tensor& first = ts[p.index[0]];
  const int64_t nd = first.dim();
  if (dim < -nd || dim >= nd)
    throw IndexError(cat_str("cat: dim ", dim, " is out of range for tensors of ", nd,
                                    " dimension(s) (expected -", nd, " <= dim < ", nd, "); shapes ",
                                    shapes_str(ts)));
  p.dim = dim < 0 ? dim + nd : dim;
  p.out_shape = first.shape();
  p.out_shape[p.dim] = 0;
  for (size_t i : p.index) {
    const Tensor& t = ts[i];
    CONVNET_CHECK(t.dim() == nd, "cat: tensor ", i, " has ", t.dim(), " dimension(s), tensor ",
                  p.index[0], " has ", nd, "; shapes ", shapes_str(ts));
    for (int64_t d = 0; d < nd; ++d)
      CONVNET_CHECK(d == p.dim || t.size(d) == first.size(d), "cat(dim=", dim,
                    "): sizes must match except in dimension ", p.dim, ", but tensor ", i,
                    " has shape ", shape_str(t.shape()), " and tensor ", p.index[0], " has shape ",
                    shape_str(first.shape()), " (dimension ", d, ": ", t.size(d), " vs ",
                    first.size(d), ")");
    CONVNET_CHECK(t.device() == first.device(), "cat: expected all tensors on one device, got tensor ",
                  p.index[0], " on ", first.device().str(), " and tensor ", i, " on ", t.device().str(),
                  "; shapes ", shapes_str(ts));
    p.out_shape[p.dim] += t.size(p.dim);
    p.parts.push_back(t.to(common));
  }
  p.device = common_device("cat", {&first});
  p.outer = 1;
  p.inner = 1;
  for (int64_t d = 0; d < p.dim; ++d) p.outer *= p.out_shape[d];
  for (int64_t d = p.dim + 1; d < nd; ++d) p.inner *= p.out_shape[d];
  return p;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  if (std::any_of(tensors.begin(), tensors.end(), [](const Tensor& t) { return !t.is_contiguous(); })) {
    std::vector<Tensor> parts;
    for (const Tensor& t : tensors) parts.push_back(t.contiguous());
    return cat(parts, dim);
  }
  CatPlan p = check_cat(tensors, dim);
  const size_t k = p.parts.size();
  const DType dt = p.parts[0].dtype();
  const int64_t es = static_cast<int64_t>(dtype_size(dt));
  std::vector<int64_t> bytes(k);
  std::vector<const char*> src(k);
  for (size_t i = 0; i < k; ++i) {
    bytes[i] = p.parts[i].size(p.dim) * p.inner * es;
    src[i] = static_cast<const char*>(p.parts[i].raw_data());
  }
  Tensor out = Tensor::empty(p.out_shape, dt, p.device);
  CONVNET_KERNEL(p.device, cat_forward, )(p.outer, static_cast<int64_t>(k), src.data(), bytes.data(),
                                          static_cast<char*>(out.raw_data()));
  if (autograd::needs_record(p.parts)) {
    // only the parts' shapes are kept: the gradient of each is its slice of dy
    std::vector<Shape> shapes;
    for (auto& t : p.parts) shapes.push_back(t.shape());
    autograd::record(out, "cat", p.parts, [shapes, bytes, outer = p.outer, dim = p.dim](
                                              const Tensor& dy, const std::vector<bool>& needs) {
      const Device dev = common_device("cat", {&dy});
      std::vector<Tensor> grads(shapes.size());
      if (autograd::grad_enabled()) {  // backward records (create_graph): the slices as views of dy
        int64_t start = 0;
        for (size_t i = 0; i < shapes.size(); ++i) {
          if (needs[i]) grads[i] = narrow(dy, dim, start, shapes[i][dim]);
          start += shapes[i][dim];
        }
        return grads;
      }
      std::vector<char*> dst(shapes.size(), nullptr);
      for (size_t i = 0; i < shapes.size(); ++i) {
        if (!needs[i]) continue;
        grads[i] = Tensor::empty(shapes[i], dy.dtype(), dev);
        dst[i] = static_cast<char*>(grads[i].raw_data());
      }
      CONVNET_KERNEL(dev, cat_backward, )(outer, static_cast<int64_t>(shapes.size()),
                                          static_cast<const char*>(dy.raw_data()), bytes.data(), dst.data());
      return grads;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  CONVNET_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  const Shape& shape = tensors[0].shape();
  const int64_t nd = static_cast<int64_t>(shape.size()) + 1;
  if (dim < -nd || dim >= nd)
    throw IndexError(cat_str("stack: dim ", dim, " is out of range for tensors of shape ",
                                    shape_str(shape), " (expected -", nd, " <= dim < ", nd, ")"));
  const int64_t d = dim < 0 ? dim + nd : dim;
  std::vector<Tensor> views;
  for (size_t i = 0; i < tensors.size(); ++i) {
    CONVNET_CHECK(tensors[i].defined(), "stack: tensor ", i, " is undefined");
    CONVNET_CHECK(tensors[i].shape() == shape, "stack: expects each tensor to be equal size, but tensor ",
                  i, " has shape ", shape_str(tensors[i].shape()), " and tensor 0 has shape ",
                  shape_str(shape));
    Shape s = shape;
    s.insert(s.begin() + d, 1);
    views.push_back(tensors[i].reshape(s));
  }
  return cat(views, d);
}

}  // namespace convnet

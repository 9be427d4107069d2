// Views: each op maps the input's geometry (sizes, strides, storage offset, in elements)
// to the output's, over the same storage. The backward of permute, transpose, squeeze and
// unsqueeze is the inverse view of dy; the others apply the same map to a contiguous zero
// tensor of the input's shape and write dy through it; expand sums over the expanded
// dimensions, and unfold, whose windows overlap, accumulates one window position at a time.
// When backward records (create_graph), the write through a view is recorded as an op of dy
// whose adjoint is the same view of ddx.
#include "convnet/ops/view.h"

#include <algorithm>
#include <string>

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/reduce.h"
#include "ops/dims.h"

namespace convnet {

namespace {

struct Geometry {
  Shape sizes, strides;
  int64_t offset;
};

Geometry geometry_of(const Tensor& x) { return {x.shape(), x.strides(), x.storage_offset()}; }

// The view that `map` makes of x, whose gradient is inverse(dy): another view, no copy.
template <typename Map, typename Inverse>
Tensor make_invertible_view(const Tensor& x, const char* name, Map map, Inverse inverse) {
  Geometry g = map(geometry_of(x));
  Tensor out = strided_view(x, std::move(g.sizes), std::move(g.strides), g.offset);
  if (autograd::needs_record({x}))
    autograd::record(out, name, {x}, [inverse](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
      return {inverse(dy)};
    });
  return out;
}

// The view that `map` makes of x, with its backward.
template <typename Map>
Tensor make_view(const Tensor& x, const char* name, Map map) {
  Geometry g = map(geometry_of(x));
  Tensor out = strided_view(x, std::move(g.sizes), std::move(g.strides), g.offset);
  if (autograd::needs_record({x})) {
    Shape in_shape = x.shape();
    autograd::record(out, name, {x}, [in_shape, map, name](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
      Tensor dx = zeros(in_shape, dy.dtype(), dy.device());
      Geometry r = map(Geometry{in_shape, contiguous_strides(in_shape), 0});
      copy_into(strided_view(dx, std::move(r.sizes), std::move(r.strides), r.offset), dy);
      return {autograd::record_linear(dx, dy, name, [map, name](const Tensor& ddx) {
        return make_view(ddx.contiguous(), name, map);
      })};
    });
  }
  return out;
}

}  // namespace

Tensor permute(const Tensor& x, std::vector<int64_t> dims) {
  const int64_t n = x.dim();
  CONVNET_CHECK(static_cast<int64_t>(dims.size()) == n, "permute: the number of dims (", dims.size(),
                ") does not match the tensor's ", n, " dimensions; shape ", shape_str(x.shape()));
  std::vector<bool> seen(n, false);
  for (int64_t& d : dims) {
    d = wrap_dim(d, n, "permute", x.shape());
    CONVNET_CHECK(!seen[d], "permute: dimension ", d, " repeats in dims ", shape_str(Shape(dims.begin(), dims.end())));
    seen[d] = true;
  }
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) inverse[dims[i]] = static_cast<int64_t>(i);
  return make_invertible_view(x, "permute", [dims](Geometry g) {
    Geometry o{Shape(dims.size()), Shape(dims.size()), g.offset};
    for (size_t i = 0; i < dims.size(); ++i) {
      o.sizes[i] = g.sizes[dims[i]];
      o.strides[i] = g.strides[dims[i]];
    }
    return o;
  }, [inverse](const Tensor& dy) { return permute(dy, inverse); });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  const int64_t n = std::max<int64_t>(x.dim(), 1);
  dim0 = wrap_dim(dim0, n, "transpose", x.shape());
  dim1 = wrap_dim(dim1, n, "transpose", x.shape());
  if (x.dim() == 0) return make_view(x, "transpose", [](Geometry g) { return g; });
  return make_invertible_view(x, "transpose", [dim0, dim1](Geometry g) {
    std::swap(g.sizes[dim0], g.sizes[dim1]);
    std::swap(g.strides[dim0], g.strides[dim1]);
    return g;
  }, [dim0, dim1](const Tensor& dy) { return transpose(dy, dim0, dim1); });
}

Tensor squeeze(const Tensor& x, std::vector<int64_t> dims) {
  const int64_t n = x.dim();
  std::vector<bool> drop(n, dims.empty());
  for (int64_t d : dims) {
    d = wrap_dim(d, std::max<int64_t>(n, 1), "squeeze", x.shape());
    if (n > 0) drop[d] = true;
  }
  const Shape in_shape = x.shape();
  return make_invertible_view(x, "squeeze", [drop](Geometry g) {
    Geometry o{{}, {}, g.offset};
    for (size_t i = 0; i < g.sizes.size(); ++i)
      if (!(drop[i] && g.sizes[i] == 1)) {
        o.sizes.push_back(g.sizes[i]);
        o.strides.push_back(g.strides[i]);
      }
    return o;
  }, [in_shape](const Tensor& dy) { return dy.reshape(in_shape); });
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  dim = wrap_dim(dim, x.dim() + 1, "unsqueeze", x.shape());
  return make_invertible_view(x, "unsqueeze", [dim](Geometry g) {
    const int64_t st = dim < static_cast<int64_t>(g.sizes.size()) ? g.sizes[dim] * g.strides[dim] : 1;
    g.sizes.insert(g.sizes.begin() + dim, 1);
    g.strides.insert(g.strides.begin() + dim, st);
    return g;
  }, [dim](const Tensor& dy) { return squeeze(dy, {dim}); });
}

Tensor expand(const Tensor& x, Shape sizes) {
  const int64_t n = x.dim(), m = static_cast<int64_t>(sizes.size());
  CONVNET_CHECK(m >= n, "expand: the number of sizes provided (", m,
                ") must be greater or equal to the number of dimensions in the tensor (", n, "); shape ",
                shape_str(x.shape()));
  Shape strides(m, 0);
  for (int64_t i = m - 1; i >= 0; --i) {
    const int64_t j = i - (m - n);
    if (j < 0) {
      CONVNET_CHECK(sizes[i] >= 0, "expand: the expanded size ", sizes[i], " of a new leading dimension ", i,
                    " is not allowed; sizes ", shape_str(sizes));
      continue;
    }
    const int64_t have = x.shape()[j];
    if (sizes[i] == -1) sizes[i] = have;
    CONVNET_CHECK(sizes[i] == have || have == 1, "expand: the expanded size of the tensor (", sizes[i],
                  ") must match the existing size (", have, ") at non-singleton dimension ", i, ".  Target sizes: ",
                  shape_str(sizes), ".  Tensor sizes: ", shape_str(x.shape()));
    strides[i] = sizes[i] == have ? x.strides()[j] : 0;
  }
  Tensor out = strided_view(x, sizes, strides, x.storage_offset());
  if (autograd::needs_record({x})) {
    Shape in_shape = x.shape();
    autograd::record(out, "expand", {x}, [in_shape](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
      return {sum_to(dy, in_shape)};
    });
  }
  return out;
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  CONVNET_CHECK(x.dim() > 0, "slice: cannot slice a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "slice", x.shape());
  CONVNET_CHECK(step > 0, "slice: step must be greater than zero, got ", step);
  const int64_t size = x.shape()[dim];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  const int64_t len = (end - start + step - 1) / step;
  return make_view(x, "slice", [dim, start, len, step](Geometry g) {
    g.offset += start * g.strides[dim];
    g.sizes[dim] = len;
    g.strides[dim] *= step;
    return g;
  });
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  CONVNET_CHECK(x.dim() > 0, "narrow: cannot narrow a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "narrow", x.shape());
  const int64_t size = x.shape()[dim];
  CONVNET_CHECK(start >= -size && start <= size, "narrow: start (", start, ") is out of range for dimension ", dim,
                " of size ", size, "; shape ", shape_str(x.shape()));
  if (start < 0) start += size;
  CONVNET_CHECK(length >= 0 && start + length <= size, "narrow: start (", start, ") + length (", length,
                ") exceeds dimension ", dim, " of size ", size, "; shape ", shape_str(x.shape()));
  return slice(x, dim, start, start + length, 1);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  CONVNET_CHECK(x.dim() > 0, "select: cannot select on a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "select", x.shape());
  const int64_t size = x.shape()[dim];
  if (index < -size || index >= size)
    throw IndexError(cat_str("select: index ", index, " is out of bounds for dimension ", dim, " with size ", size));
  if (index < 0) index += size;
  return make_view(x, "select", [dim, index](Geometry g) {
    g.offset += index * g.strides[dim];
    g.sizes.erase(g.sizes.begin() + dim);
    g.strides.erase(g.strides.begin() + dim);
    return g;
  });
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  CONVNET_CHECK(x.dim() > 0, "unbind: a 0-d tensor has no dimension to unbind");
  dim = wrap_dim(dim, x.dim(), "unbind", x.shape());
  std::vector<Tensor> out;
  for (int64_t i = 0; i < x.shape()[dim]; ++i) out.push_back(select(x, dim, i));
  return out;
}

std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  CONVNET_CHECK(x.dim() > 0, "split: a 0-d tensor cannot be split");
  dim = wrap_dim(dim, x.dim(), "split", x.shape());
  int64_t total = 0;
  for (int64_t s : sizes) {
    CONVNET_CHECK(s >= 0, "split: split sizes must be non-negative, got ", shape_str(sizes));
    total += s;
  }
  CONVNET_CHECK(total == x.shape()[dim], "split: split sizes ", shape_str(sizes), " must sum to the size of dimension ",
                dim, " (", x.shape()[dim], "); shape ", shape_str(x.shape()));
  std::vector<Tensor> out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(x, dim, at, s));
    at += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  CONVNET_CHECK(x.dim() > 0, "split: a 0-d tensor cannot be split");
  dim = wrap_dim(dim, x.dim(), "split", x.shape());
  const int64_t size = x.shape()[dim];
  CONVNET_CHECK(split_size > 0 || (split_size == 0 && size == 0), "split: split_size must be positive, got ",
                split_size);
  std::vector<int64_t> sizes;
  for (int64_t at = 0; at < size; at += split_size) sizes.push_back(std::min(split_size, size - at));
  if (sizes.empty()) sizes.push_back(0);
  return split_with_sizes(x, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  CONVNET_CHECK(chunks > 0, "chunk: chunks must be positive, got ", chunks);
  CONVNET_CHECK(x.dim() > 0, "chunk: a 0-d tensor cannot be chunked");
  const int64_t size = x.shape()[wrap_dim(dim, x.dim(), "chunk", x.shape())];
  return split(x, std::max<int64_t>((size + chunks - 1) / chunks, size == 0 ? 0 : 1), dim);
}

Tensor unfold(const Tensor& x, int64_t dim, int64_t size, int64_t step) {
  const int64_t n = std::max<int64_t>(x.dim(), 1);
  dim = wrap_dim(dim, n, "unfold", x.shape());
  const int64_t len = x.dim() ? x.shape()[dim] : 1;
  CONVNET_CHECK(size >= 0 && size <= len, "unfold: maximum size for tensor at dimension ", dim, " is ", len,
                " but size is ", size);
  CONVNET_CHECK(step > 0, "unfold: step is ", step, " but must be > 0");
  const int64_t windows = (len - size) / step + 1;
  auto map = [dim, size, step, windows](Geometry g) {
    if (g.sizes.empty()) {  // a 0-d tensor unfolds to (size,)
      g.sizes = {size};
      g.strides = {1};
      return g;
    }
    const int64_t st = g.strides[dim];
    g.sizes[dim] = windows;
    g.strides[dim] = st * step;
    g.sizes.push_back(size);
    g.strides.push_back(st);
    return g;
  };
  Geometry g = map(geometry_of(x));
  Tensor out = strided_view(x, std::move(g.sizes), std::move(g.strides), g.offset);
  if (autograd::needs_record({x})) {
    Shape in_shape = x.shape();
    autograd::record(out, "unfold", {x}, [in_shape, dim, size, step, windows](const Tensor& dy, const std::vector<bool>&)
                                             -> std::vector<Tensor> {
      Tensor dx = zeros(in_shape, dy.dtype(), dy.device());
      if (in_shape.empty()) {
        accumulate_into(dx, sum(dy));
      } else {
        // position k of every window: distinct elements of dx, so each pass writes without overlap
        for (int64_t k = 0; k < size; ++k)
          accumulate_into(slice(dx, dim, k, k + (windows - 1) * step + 1, step), select(dy, -1, k));
      }
      // linear in dy: its adjoint is the forward
      return {autograd::record_linear(dx, dy, "unfold",
                                      [dim, size, step](const Tensor& ddx) { return unfold(ddx, dim, size, step); })};
    });
  }
  return out;
}

}  // namespace convnet

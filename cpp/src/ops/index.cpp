// index: index_select, gather, scatter, scatter_add (kernels cpu/index.cpp: x viewed as
// (N, M, K) around the indexed dimension); advanced indexing and its assignment composed of
// them (x[indices] is index_select over the indexed dimensions merged into one; index_put
// scatters into the flattened tensor at the offsets that indexing an arange gives); where,
// masked_fill, nonzero. Index values are checked on the host (a copy for a GPU tensor).
// Backward: index_select and gather scatter-add dy; scatter and scatter_add gather it; autograd
// accumulates (+=) into .grad. When backward records (create_graph), index_select's and gather's
// are ops of dy whose adjoint is the forward, and scatter's is written with gather and scatter, for
// double backward.
#include "convnet/ops/index.h"

#include <algorithm>

#include "convnet/autograd.h"
#include "convnet/ops/elementwise.h"
#include "convnet/ops/view.h"
#include "dispatch.h"
#include "ops/dims.h"

namespace convnet {

namespace {

// An int64 (or int32) index tensor as a contiguous int64 tensor on dev with every entry in [0, M) (negative
// entries wrapped where allowed); IndexError naming op otherwise.
Tensor checked_index(const Tensor& idx, int64_t M, bool allow_negative, const char* op, int64_t dim, Device dev) {
  CONVNET_CHECK(idx.dtype() == DType::Int64 || idx.dtype() == DType::Int32, op,
                ": index must be an int64 or int32 tensor, got ", dtype_name(idx.dtype()), " of shape ",
                shape_str(idx.shape()));
  Tensor h = idx.detach().contiguous().to(Device()).to(DType::Int64).clone();
  int64_t* p = h.data<int64_t>();
  for (int64_t k = 0; k < h.numel(); ++k) {
    const int64_t v = p[k];
    if (v >= M || v < -M || (v < 0 && !allow_negative))
      throw IndexError(cat_str(op, ": index ", v, " is out of bounds for dimension ", dim, " with size ", M));
    if (v < 0) p[k] = v + M;
  }
  return h.to(dev);
}

// Calls f with a typed null pointer: an unsigned integer of the dtype's size.
template <typename F>
void dispatch_bytes(DType dt, const F& f) {
  switch (dtype_size(dt)) {
    case 1: f(static_cast<uint8_t*>(nullptr)); break;
    case 2: f(static_cast<uint16_t*>(nullptr)); break;
    case 4: f(static_cast<uint32_t*>(nullptr)); break;
    default: f(static_cast<uint64_t*>(nullptr)); break;
  }
}

// y (out_shape) = x (contiguous, (N, M, K)) at the positions of s.
Tensor gather_positions(const Tensor& x, const cpu::IndexShape& s, const Tensor& idx, const Shape& out_shape) {
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  const Device dev = x.device();
  dispatch_bytes(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, index_gather, <T>)(s, idx.data<int64_t>(), static_cast<const T*>(x.raw_data()),
                                           static_cast<T*>(y.raw_data()));
  });
  return y;
}

// y (contiguous, (N, M, K), modified) at the positions of s = or += src (contiguous (N, n, K)).
void scatter_positions(const Tensor& y, const cpu::IndexShape& s, const Tensor& idx, const Tensor& src, bool accumulate,
                       const char* op) {
  const Device dev = y.device();
  y.bump_version();
  if (accumulate) {
    dispatch_floating(y.dtype(), op, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      CONVNET_KERNEL(dev, index_scatter, <T>)(s, idx.data<int64_t>(), src.data<T>(), y.data<T>(), true);
    });
  } else {
    dispatch_bytes(y.dtype(), [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      CONVNET_KERNEL(dev, index_scatter, <T>)(s, idx.data<int64_t>(), static_cast<const T*>(src.raw_data()),
                                              static_cast<T*>(y.raw_data()), false);
    });
  }
}

// t narrowed to `sizes` (from the start of every dimension).
Tensor leading_block(const Tensor& t, const Shape& sizes) {
  Tensor r = t;
  for (size_t d = 0; d < sizes.size(); ++d)
    if (sizes[d] != t.shape()[d]) r = narrow(r, static_cast<int64_t>(d), 0, sizes[d]);
  return r;
}

// A zero tensor of `shape` holding part (a leading block of it).
Tensor padded_to(const Tensor& part, const Shape& shape) {
  if (part.shape() == shape) return part;
  Tensor out = zeros(shape, part.dtype(), part.device());
  copy_into(leading_block(out, part.shape()), part);
  return out;
}

// The positions of gather and scatter: index (contiguous, checked) over x's dimension dim.
cpu::IndexShape along(const Shape& index_shape, int64_t dim, int64_t M) {
  const int64_t N = size_product(index_shape, 0, dim, "index"), n = index_shape.empty() ? 1 : index_shape[dim],
                K = size_product(index_shape, dim + 1, index_shape.size(), "index");
  return {N, M, K, n, n * K, K, 1};
}

// index's checks for gather/scatter: as many dimensions as x (and src), sizes at most theirs.
void check_gather_index(const Tensor& x, int64_t dim, const Tensor& index, const Tensor* src, const char* op) {
  CONVNET_CHECK(index.dim() == x.dim(), op, ": index must have as many dimensions as the input (", x.dim(),
                "), got index of shape ", shape_str(index.shape()), " and input of shape ", shape_str(x.shape()));
  for (int64_t d = 0; d < x.dim(); ++d) {
    CONVNET_CHECK(d == dim || index.shape()[d] <= x.shape()[d], op, ": size of index ", shape_str(index.shape()),
                  " exceeds the input's ", shape_str(x.shape()), " at dimension ", d);
    CONVNET_CHECK(!src || index.shape()[d] <= src->shape()[d], op, ": size of index ", shape_str(index.shape()),
                  " exceeds the source's ", shape_str(src->shape()), " at dimension ", d);
  }
}

// scatter and scatter_add.
Tensor scatter_impl(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, bool add, const char* op) {
  dim = wrap_dim(dim, x.dim(), op, x.shape());
  CONVNET_CHECK(src.dtype() == x.dtype(), op, ": source dtype ", dtype_name(src.dtype()), " must match the input's ",
                dtype_name(x.dtype()));
  check_gather_index(x, dim, index, &src, op);
  common_device(op, {&x, &index, &src});
  const int64_t M = x.dim() ? x.shape()[dim] : 1;
  const Tensor idx = checked_index(index, M, false, op, dim, x.device());
  const cpu::IndexShape s = along(index.shape(), dim, M);
  Shape block = index.shape();
  if (x.dim()) block[dim] = M;
  Tensor out = x.detach().clone();
  const Tensor region = leading_block(out, block);
  const Tensor work = region.is_contiguous() ? region : region.contiguous();
  scatter_positions(work, s, idx, leading_block(src.detach(), index.shape()).contiguous(), add, op);
  if (!region.is_contiguous()) copy_into(region, work);
  if (autograd::needs_record({x, src})) {
    const Shape src_shape = src.shape(), ishape = index.shape();
    autograd::record(out, op, {x, src}, [idx, s, dim, block, src_shape, ishape, add](const Tensor& dy, const std::vector<bool>& n) {
      Tensor dx, dsrc;
      if (autograd::grad_enabled()) {  // backward records (create_graph): the same with the ops themselves
        if (n[0]) dx = add ? dy : scatter(dy, dim, idx, zeros(ishape, dy.dtype(), dy.device()));
        if (n[1]) {
          const Tensor g = gather(dy, dim, idx);
          dsrc = src_shape == ishape ? g : autograd::record_linear(padded_to(g, src_shape), g, "scatter",
                                                                   [ishape](const Tensor& dd) {
                                                                     return leading_block(dd, ishape).contiguous();
                                                                   });
        }
        return std::vector<Tensor>{dx, dsrc};
      }
      const Tensor dblock = leading_block(dy, block).contiguous();
      if (n[0]) {
        dx = dy;
        if (!add) {  // the overwritten elements get no gradient
          dx = dy.clone();
          Tensor z = dblock.clone();
          scatter_positions(z, s, idx, zeros(ishape, dy.dtype(), dy.device()), false, "scatter");
          copy_into(leading_block(dx, block), z);
        }
      }
      if (n[1]) dsrc = padded_to(gather_positions(dblock, s, idx, ishape), src_shape);
      return std::vector<Tensor>{dx, dsrc};
    });
  }
  return out;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  dim = wrap_dim(dim, x.dim(), "index_select", x.shape());
  CONVNET_CHECK(index.dim() <= 1, "index_select: index must be 0-D or 1-D, got shape ", shape_str(index.shape()));
  common_device("index_select", {&x, &index});
  const Shape xs = x.dim() ? x.shape() : Shape{1};
  const int64_t M = xs[dim];
  const Tensor idx = checked_index(index, M, false, "index_select", dim, x.device());
  const int64_t n = index.numel();
  const cpu::IndexShape s{size_product(xs, 0, dim, "index"), M, size_product(xs, dim + 1, xs.size(), "index"), n, 0, 1, 0};
  Shape out_shape = x.shape();
  if (x.dim()) out_shape[dim] = n;
  Tensor y = gather_positions(x.contiguous(), s, idx, out_shape);
  if (autograd::needs_record({x})) {
    const Shape in_shape = x.shape();
    autograd::record(y, "index_select", {x}, [idx, s, dim, in_shape](const Tensor& dy, const std::vector<bool>&) {
      Tensor dx = zeros(in_shape, dy.dtype(), dy.device());
      scatter_positions(dx, s, idx, dy, true, "index_select");
      // linear in dy: its adjoint is the forward
      return std::vector<Tensor>{autograd::record_linear(
          dx, dy, "index_select", [idx, dim](const Tensor& ddx) { return index_select(ddx, dim, idx); })};
    });
  }
  return y;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  dim = wrap_dim(dim, x.dim(), "gather", x.shape());
  check_gather_index(x, dim, index, nullptr, "gather");
  common_device("gather", {&x, &index});
  const int64_t M = x.dim() ? x.shape()[dim] : 1;
  const Tensor idx = checked_index(index, M, false, "gather", dim, x.device());
  const cpu::IndexShape s = along(index.shape(), dim, M);
  Shape block = index.shape();
  if (x.dim()) block[dim] = M;
  Tensor y = gather_positions(leading_block(x, block).contiguous(), s, idx, index.shape());
  if (autograd::needs_record({x})) {
    const Shape in_shape = x.shape();
    autograd::record(y, "gather", {x}, [idx, s, dim, block, in_shape](const Tensor& dy, const std::vector<bool>&) {
      Tensor d = zeros(block, dy.dtype(), dy.device());
      scatter_positions(d, s, idx, dy, true, "gather");
      // linear in dy: its adjoint is the forward
      return std::vector<Tensor>{autograd::record_linear(
          padded_to(d, in_shape), dy, "gather", [idx, dim](const Tensor& ddx) { return gather(ddx, dim, idx); })};
    });
  }
  return y;
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl(x, dim, index, src, false, "scatter");
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl(x, dim, index, src, true, "scatter_add");
}

Tensor nonzero(const Tensor& x) {
  const Tensor h = x.detach().contiguous().to(Device());
  std::vector<int64_t> hits;
  dispatch_storage(h.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* p = h.data<T>();
    for (int64_t k = 0; k < h.numel(); ++k)
      if (convert<double>(p[k]) != 0) hits.push_back(k);
  });
  const int64_t nd = x.dim(), count = static_cast<int64_t>(hits.size());
  Tensor out = Tensor::empty({count, nd}, DType::Int64);
  int64_t* o = out.data<int64_t>();
  for (int64_t r = 0; r < count; ++r)
    for (int64_t d = nd - 1, rem = hits[r]; d >= 0; --d) {
      o[r * nd + d] = rem % x.shape()[d];
      rem /= x.shape()[d];
    }
  return out.to(x.device());
}

Tensor index(const Tensor& x, std::vector<Tensor> indices) {
  // bool masks become the int64 indices of their true elements, one tensor per dimension
  std::vector<Tensor> idx;
  for (const Tensor& t : indices) {
    if (!t.defined() || (t.dtype() != DType::Bool && t.dtype() != DType::UInt8)) {
      idx.push_back(t);
      continue;
    }
    const int64_t at = static_cast<int64_t>(idx.size());
    CONVNET_CHECK(at + t.dim() <= x.dim(), "index: too many indices for tensor of dimension ", x.dim());
    for (int64_t d = 0; d < t.dim(); ++d)
      if (t.shape()[d] != x.shape()[at + d])
        throw IndexError(cat_str("index: the shape of the mask ", shape_str(t.shape()), " at index ", d,
                                 " does not match the shape of the indexed tensor ", shape_str(x.shape()),
                                 " at index ", at + d));
    const Tensor nz = nonzero(t);
    for (int64_t d = 0; d < t.dim(); ++d) idx.push_back(select(nz, 1, d));
  }
  CONVNET_CHECK(static_cast<int64_t>(idx.size()) <= x.dim(), "index: too many indices for tensor of dimension ",
                x.dim(), " (got ", idx.size(), ")");
  std::vector<int64_t> dims;
  Shape b;
  for (size_t d = 0; d < idx.size(); ++d)
    if (idx[d].defined()) {
      b = dims.empty() ? idx[d].shape() : broadcast_shapes(b, idx[d].shape(), "index");
      dims.push_back(static_cast<int64_t>(d));
    }
  if (dims.empty()) return x;
  // the indexed dimensions first when they are not adjacent
  const bool adjacent = dims.back() - dims.front() + 1 == static_cast<int64_t>(dims.size());
  Tensor xp = x;
  int64_t first = dims.front();
  if (!adjacent) {
    std::vector<int64_t> perm = dims;
    for (int64_t d = 0; d < x.dim(); ++d)
      if (std::find(dims.begin(), dims.end(), d) == dims.end()) perm.push_back(d);
    xp = permute(x, perm);
    first = 0;
  }
  // linear index over the indexed dimensions, row-major, computed on the host
  const int64_t nb = numel_of(b), k = static_cast<int64_t>(dims.size());
  Tensor lin = zeros({nb}, DType::Int64);
  int64_t* L = lin.data<int64_t>();
  int64_t mult = 1;
  for (int64_t t = k - 1; t >= 0; --t) {
    const int64_t size = xp.shape()[first + t];
    const Tensor e = checked_index(expand(idx[dims[t]], b), size, true, "index", dims[t], Device());
    const int64_t* p = e.data<int64_t>();
    for (int64_t j = 0; j < nb; ++j) L[j] += p[j] * mult;
    mult *= size;
  }
  Shape merged(xp.shape().begin(), xp.shape().begin() + first);
  merged.push_back(mult);
  merged.insert(merged.end(), xp.shape().begin() + first + k, xp.shape().end());
  Tensor y = index_select(xp.reshape(merged), first, lin.to(x.device()));
  Shape out(xp.shape().begin(), xp.shape().begin() + first);
  out.insert(out.end(), b.begin(), b.end());
  out.insert(out.end(), xp.shape().begin() + first + k, xp.shape().end());
  return y.reshape(out);
}

Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
  const Tensor offsets = index(arange(0, static_cast<double>(x.numel()), 1, DType::Int64, x.device()).reshape(x.shape()),
                               indices);
  const Tensor vals = expand(values.to(x.dtype()).to(x.device()), offsets.shape()).reshape({-1});
  const Tensor flat = x.reshape({-1});
  const Tensor pos = offsets.reshape({-1});
  return (accumulate ? scatter_add(flat, 0, pos, vals) : scatter(flat, 0, pos, vals)).reshape(x.shape());
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  CONVNET_CHECK(cond.dtype() == DType::Bool, "where: the condition must be a bool tensor, got ", dtype_name(cond.dtype()));
  const Device dev = common_device("where", {&cond, &a, &b});
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  const DType dt = promote(a.dtype(), b.dtype());
  const Tensor c = expand(cond.detach(), shape).contiguous();
  const Tensor ea = expand(a.detach().to(dt), shape).contiguous(), eb = expand(b.detach().to(dt), shape).contiguous();
  Tensor y = Tensor::empty(shape, dt, dev);
  dispatch_bytes(dt, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, where, <T>)(y.numel(), c.data<bool>(), static_cast<const T*>(ea.raw_data()),
                                    static_cast<const T*>(eb.raw_data()), static_cast<T*>(y.raw_data()));
  });
  if (autograd::needs_record({a, b})) {
    const Shape sa = a.shape(), sb = b.shape();
    const DType da = a.dtype(), db = b.dtype();
    autograd::record(y, "where", {a, b}, [c, sa, sb, da, db](const Tensor& dy, const std::vector<bool>& n) {
      const Tensor z = scalar_tensor(0, dy.dtype(), dy.device());
      return std::vector<Tensor>{n[0] ? sum_to(where(c, dy, z), sa).to(da) : Tensor(),
                                 n[1] ? sum_to(where(c, z, dy), sb).to(db) : Tensor()};
    });
  }
  return y;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  CONVNET_CHECK(mask.dtype() == DType::Bool, "masked_fill: the mask must be a bool tensor, got ", dtype_name(mask.dtype()));
  CONVNET_CHECK(broadcast_shapes(mask.shape(), x.shape(), "masked_fill") == x.shape(), "masked_fill: the mask of shape ",
                shape_str(mask.shape()), " must broadcast to the input's shape ", shape_str(x.shape()));
  return where(mask, scalar_tensor(value, x.dtype(), x.device()), x);
}

}  // namespace convnet

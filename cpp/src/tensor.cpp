#include "convnet/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "convnet/allocator.h"
#include "convnet/autograd.h"
#include "cpu/parallel.h"
#include "dispatch.h"

namespace convnet {

// ---- devices and dtypes ----------------------------------------------------

Device Device::parse(const std::string& s) {
  if (s == "cpu") return Device(DeviceType::CPU);
  if (s.rfind("cuda", 0) == 0) {
    if (s == "cuda") return Device(DeviceType::CUDA, 0);
    if (s.size() > 5 && s[4] == ':') {
      try {
        return Device(DeviceType::CUDA, std::stoi(s.substr(5)));
      } catch (const std::exception&) {
      }
    }
  }
  throw ValueError(cat_str("device: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"", s, "\""));
}

std::string Device::str() const {
  return type == DeviceType::CPU ? "cpu" : cat_str("cuda:", index);
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Int32: return 4;
    case DType::UInt8: return 1;
    case DType::Bool: return 1;
    case DType::BFloat16: return 2;
    case DType::Float16: return 2;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Int32: return "int32";
    case DType::UInt8: return "uint8";
    case DType::Bool: return "bool";
    case DType::BFloat16: return "bfloat16";
    case DType::Float16: return "float16";
  }
  return "?";
}

bool is_floating(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::BFloat16 || t == DType::Float16;
}

std::string shape_str(const Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  if (s.size() == 1) r += ",";
  return r + ")";
}

int64_t size_product(const Shape& shape, size_t begin, size_t end, const char* op) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i)
    if (__builtin_mul_overflow(n, shape[i], &n))
      throw ValueError(cat_str(op, ": shape ", shape_str(shape),
                               " is too large: the product of its sizes overflows a 64-bit integer"));
  return n;
}

int64_t numel_of(const Shape& shape) {
  // at most this many elements, so that the bytes of any dtype fit in an int64 (no overflow)
  constexpr int64_t kMaxNumel = std::numeric_limits<int64_t>::max() / 8;
  bool empty = false;
  for (int64_t d : shape) {
    CONVNET_CHECK(d >= 0, "tensor: negative dimension in shape ", shape_str(shape));
    empty |= d == 0;
  }
  int64_t stride = 1;  // the row-major stride of dimension i-1 (sizes 0 count as 1, as in PyTorch)
  for (size_t i = shape.size(); i-- > 1;)
    CONVNET_CHECK(!__builtin_mul_overflow(stride, std::max<int64_t>(shape[i], 1), &stride), "tensor: shape ",
                  shape_str(shape), " is too large: its strides overflow a 64-bit integer");
  if (empty) return 0;
  int64_t n = 1;
  for (int64_t d : shape) {
    CONVNET_CHECK(n <= kMaxNumel / d, "tensor: shape ", shape_str(shape),
                  " has too many elements (expected at most ", kMaxNumel, ")");
    n *= d;
  }
  return n;
}

// ---- storage -----------------------------------------------------------------

Storage::Storage(size_t nbytes, Device device, bool pinned)
    : nbytes_(nbytes), device_(device), pinned_(pinned) {
  if (!device.is_cpu())
    data_ = cuda::device_alloc(nbytes, device.index);
  else if (pinned)
    data_ = cuda::pinned_alloc(nbytes);
  else
    data_ = cpu_alloc(nbytes);
}

Storage::Storage(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner)
    : data_(data), nbytes_(nbytes), device_(device), owner_(std::move(owner)) {}

Storage::~Storage() {
  if (owner_) return;
  if (!device_.is_cpu())
    cuda::device_free(data_, nbytes_, device_.index);
  else if (pinned_)
    cuda::pinned_free(data_, nbytes_);
  else
    cpu_free(data_, nbytes_);
}

// ---- device dispatch (dispatch.h) ------------------------------------------------

Device common_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first)
      first = t;
    else if (t->device() != first->device())
      throw ValueError(cat_str(op, ": expected all tensors on one device, got ", first->device().str(), " (shape ",
                               shape_str(first->shape()), ") and ", t->device().str(), " (shape ",
                               shape_str(t->shape()), ")"));
  }
  Device d = first ? first->device() : Device();
  if (!d.is_cpu()) cuda::ensure_device(d.index);
  return d;
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (dst_device.is_cpu() && src_device.is_cpu())
    std::memcpy(dst, src, nbytes);
  else
    cuda::copy(dst, dst_device, src, src_device, nbytes);
}

void zero_bytes(void* p, Device device, size_t nbytes) {
  if (device.is_cpu())
    std::memset(p, 0, nbytes);
  else
    cuda::memset_zero(p, nbytes, device.index);
}

// ---- tensor ------------------------------------------------------------------

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t s = 1;  // no overflow: numel_of checked these products for every tensor's shape
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = s;
    if (i > 0) s *= std::max<int64_t>(shape[i], 1);
  }
  return st;
}

namespace {

// As PyTorch: strides row-major, sizes 1 aside (their stride is arbitrary); empty tensors are.
bool strides_contiguous(const Shape& shape, const Shape& strides, int64_t numel) {
  if (numel == 0) return true;
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

std::shared_ptr<TensorImpl> new_impl(const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->numel = numel_of(shape);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return impl;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  auto impl = new_impl(shape, dtype);
  impl->storage = std::make_shared<Storage>(impl->numel * dtype_size(dtype), device);
  return Tensor(std::move(impl));
}

Tensor Tensor::from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<void> owner,
                         Device device) {
  auto impl = new_impl(shape, dtype);
  impl->storage =
      std::make_shared<Storage>(data, impl->numel * dtype_size(dtype), device, std::move(owner));
  return Tensor(std::move(impl));
}

Tensor strided_view(const Tensor& t, Shape sizes, Shape strides, int64_t storage_offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl()->storage;
  impl->dtype = t.dtype();
  impl->offset = static_cast<size_t>(storage_offset) * dtype_size(t.dtype());
  impl->numel = numel_of(sizes);
  impl->contiguous = strides_contiguous(sizes, strides, impl->numel);
  impl->base = t.impl()->base ? t.impl()->base : t.impl();
  impl->shape = std::move(sizes);
  impl->strides = std::move(strides);
  return Tensor(std::move(impl));
}

void Tensor::throw_not_contiguous() const {
  throw Error(cat_str("internal error: a kernel was given a non-contiguous tensor of shape ", shape_str(shape()),
                      " and strides ", shape_str(strides()), "; the op must call contiguous() first"));
}

int64_t Tensor::stride(int64_t d) const {
  const int64_t n = dim();
  if (d < -n || d >= n)
    throw IndexError(cat_str("stride: dimension ", d, " out of range for a tensor of shape ", shape_str(shape())));
  return impl_->strides[d < 0 ? d + n : d];
}

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  if (d < 0) d += n;
  if (d < 0 || d >= n)
    throw IndexError(cat_str("size: dimension ", d, " out of range for a tensor of shape ",
                                    shape_str(shape())));
  return impl_->shape[d];
}

Tensor& Tensor::set_requires_grad(bool on) {
  if (!is_leaf())
    throw Error(
        "requires_grad_: only leaf tensors can change requires_grad; use detach() for a non-leaf");
  if (on && !is_floating(dtype()))
    throw Error(cat_str("requires_grad_: only floating point tensors can require "
                                     "gradients, got dtype ", dtype_name(dtype())));
  impl_->requires_grad = on;
  return *this;
}

void Tensor::set_grad(const Tensor& g) {
  if (g.defined()) {
    CONVNET_CHECK(g.shape() == shape() && g.dtype() == dtype(), "grad: assigned gradient of shape ",
                  shape_str(g.shape()), " and dtype ", dtype_name(g.dtype()),
                  " does not match the tensor's shape ", shape_str(shape()), " and dtype ",
                  dtype_name(dtype()));
  }
  impl_->grad = g.impl();
}

void Tensor::backward(const Tensor& grad, bool retain_graph, bool create_graph) const {
  autograd::backward(*this, grad, retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>(*impl_);
  impl->requires_grad = false;
  impl->grad = nullptr;
  impl->grad_fn = nullptr;
  impl->base = nullptr;
  impl->post_accumulate_grad_hooks.clear();
  return Tensor(std::move(impl));
}

namespace {

// PyTorch's computeStride: the strides of `shape` over the elements of a tensor with `sizes` and
// `strides`, or false where no strides reach them in row-major order (a reshape must copy).
bool view_strides(const Shape& sizes, const Shape& strides, int64_t numel, const Shape& shape, Shape& out) {
  out.assign(shape.size(), 1);
  if (sizes.empty()) return true;
  if (numel == 0) {
    out = contiguous_strides(shape);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base = strides.back(), tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= sizes[d];
    if (d == 0 || (sizes[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base = strides[d - 1];
        tensor_numel = view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

// `shape` with its -1 inferred, checked against numel elements (op: "reshape" or "view").
Shape infer_shape(Shape shape, const Tensor& t, const char* op) {
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      CONVNET_CHECK(infer < 0, op, ": only one dimension can be -1, got ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      CONVNET_CHECK(shape[i] >= 0, op, ": invalid shape ", shape_str(shape));
      CONVNET_CHECK(!__builtin_mul_overflow(known, shape[i], &known), op, ": shape ", shape_str(shape),
                    " is too large: the product of its sizes overflows a 64-bit integer");
    }
  }
  if (infer >= 0) {
    CONVNET_CHECK(known != 0 && t.numel() % known == 0, op, ": shape ", shape_str(shape),
                  " is invalid for input of shape ", shape_str(t.shape()), " (", t.numel(), " elements)");
    shape[infer] = t.numel() / known;
  }
  CONVNET_CHECK(numel_of(shape) == t.numel(), op, ": shape ", shape_str(shape), " is invalid for input of shape ",
                shape_str(t.shape()), " (", t.numel(), " elements)");
  return shape;
}

// The view of t with `shape` and `strides`; its gradient is dy reshaped back.
Tensor reshaped_view(const Tensor& t, Shape shape, Shape strides) {
  Tensor out = strided_view(t, std::move(shape), std::move(strides), t.storage_offset());
  if (autograd::needs_record({t})) {
    Shape in_shape = t.shape();
    autograd::record(out, "reshape", {t}, [in_shape](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
      return {dy.reshape(in_shape)};
    });
  }
  return out;
}

}  // namespace

Tensor Tensor::reshape(Shape shape) const {
  shape = infer_shape(std::move(shape), *this, "reshape");
  Shape st;
  if (view_strides(this->shape(), strides(), numel(), shape, st)) return reshaped_view(*this, std::move(shape), std::move(st));
  const Tensor c = contiguous();
  return reshaped_view(c, std::move(shape), contiguous_strides(shape));
}

Tensor Tensor::view(Shape shape) const {
  shape = infer_shape(std::move(shape), *this, "view");
  Shape st;
  CONVNET_CHECK(view_strides(this->shape(), strides(), numel(), shape, st), "view: size ", shape_str(shape),
                " is not compatible with the input's size ", shape_str(this->shape()), " and stride ",
                shape_str(strides()), " (at least one dimension spans across two contiguous subspaces); use "
                ".reshape(...) instead");
  return reshaped_view(*this, std::move(shape), std::move(st));
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = Tensor::empty(shape(), dtype(), device());
  {
    NoGradGuard no_grad;
    copy_into(out, *this);
  }
  if (autograd::needs_record({*this})) {
    autograd::record(out, "contiguous", {*this}, [](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
      return {dy};
    });
  }
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype(), device());
  if (is_contiguous())
    copy_bytes(out.raw_data(), out.device(), raw_data(), device(), nbytes());
  else
    copy_into(out, *this);
  if (autograd::needs_record({*this})) {
    autograd::record(out, "clone", {*this},
                     [](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
                       return {dy};
                     });
  }
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  if (!is_contiguous()) return contiguous().to(target);
  Tensor out = Tensor::empty(shape(), target, device());
  if (!device().is_cpu()) {
    cuda::ensure_device(device().index);
    cuda::cast_cuda(dtype(), target, numel(), raw_data(), out.raw_data());
  } else dispatch_storage(dtype(), [&](auto* src_tag) {
    using S = std::remove_pointer_t<decltype(src_tag)>;
    dispatch_storage(target, [&](auto* dst_tag) {
      using D = std::remove_pointer_t<decltype(dst_tag)>;
      const S* s = data<S>();
      D* d = out.data<D>();
      cpu::parallel_for(numel(), cpu::kGrainSize, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) d[i] = convert<D>(s[i]);
      });
    });
  });
  if (is_floating(target) && is_floating(dtype()) && autograd::needs_record({*this})) {
    DType src = dtype();
    autograd::record(out, "to", {*this},
                     [src](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
                       return {dy.to(src)};
                     });
  }
  return out;
}

double Tensor::item() const {
  CONVNET_CHECK(numel() == 1, "item: a Tensor with ", numel(),
                " elements cannot be converted to a scalar; shape ", shape_str(shape()));
  const Tensor host = contiguous().to(Device());
  double v = 0;
  dispatch_storage(dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    v = convert<double>(*host.data<T>());
  });
  return v;
}

Tensor Tensor::to(Device target, bool non_blocking) const {
  if (target == device()) return *this;
  if (!is_contiguous()) return contiguous().to(target, non_blocking);
  Tensor out = Tensor::empty(shape(), dtype(), target);
  cuda::copy(out.raw_data(), target, raw_data(), device(), nbytes(), non_blocking, impl_->storage);
  if (is_floating(dtype()) && autograd::needs_record({*this})) {
    Device src = device();
    autograd::record(out, "to", {*this}, [src](const Tensor& dy, const std::vector<bool>&) -> std::vector<Tensor> {
      return {dy.to(src)};
    });
  }
  return out;
}

void Tensor::set_data(const Tensor& src_in) {
  const Tensor src = src_in.contiguous();  // parameters stay contiguous for the update kernels
  CONVNET_CHECK(src.shape() == shape(), "set_data: the new data has shape ", shape_str(src.shape()),
                ", expected the tensor's shape ", shape_str(shape()));
  CONVNET_CHECK(!requires_grad() || is_floating(src.dtype()), "set_data: a tensor that requires grad needs floating "
                "data, got ", dtype_name(src.dtype()));
  if (impl_->grad) {
    Tensor g(impl_->grad);
    impl_->grad = g.to(src.device()).to(src.dtype()).detach().impl();
  }
  impl_->storage = src.impl()->storage;
  impl_->offset = src.impl()->offset;
  impl_->strides = src.strides();
  impl_->contiguous = src.is_contiguous();
  impl_->dtype = src.dtype();
}

Tensor Tensor::pin_memory() const {
  CONVNET_CHECK(device().is_cpu(), "pin_memory: only CPU tensors can be pinned, got one on ", device().str());
  if (is_pinned()) return *this;
  const Tensor src = contiguous();
  auto impl = new_impl(shape(), dtype());
  impl->storage = std::make_shared<Storage>(nbytes(), Device(), true);
  Tensor out(std::move(impl));
  std::memcpy(out.raw_data(), src.raw_data(), nbytes());
  return out;
}

// ---- factories ---------------------------------------------------------------

void fill_(const Tensor& t, double value) {
  if (!t.is_contiguous()) {
    copy_into(t, scalar_tensor(value, t.dtype(), t.device()));
    return;
  }
  t.bump_version();
  if (!t.device().is_cpu()) {
    cuda::ensure_device(t.device().index);
    cuda::fill_cuda(t.dtype(), t.numel(), value, t.raw_data());
    return;
  }
  dispatch_storage(t.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* p = t.data<T>();
    T v = convert<T>(value);
    if (value == 0) {
      std::memset(p, 0, t.nbytes());
      return;
    }
    cpu::parallel_for(t.numel(), cpu::kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = v;
    });
  });
}

void add_(const Tensor& dst, const Tensor& src) {
  CONVNET_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(), "add_: shapes ",
                shape_str(dst.shape()), " and ", shape_str(src.shape()), " must match");
  if (!dst.is_contiguous() || !src.is_contiguous()) {
    accumulate_into(dst, src);
    return;
  }
  dst.bump_version();
  if (!common_device("add_", {&dst, &src}).is_cpu()) {
    cuda::add_inplace_cuda(dst.dtype(), dst.numel(), dst.raw_data(), src.raw_data());
    return;
  }
  dispatch_floating(dst.dtype(), "add_", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* d = dst.data<T>();
    const T* s = src.data<T>();
    cpu::parallel_for(dst.numel(), cpu::kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) d[i] += s[i];
    });
  });
}

namespace {

// dst's and src's strides over dst's shape (src's 0 where it broadcasts), dimensions of size 1
// dropped and neighbours contiguous for both merged; op names the caller in errors.
cpu::StridedCopy make_strided_copy(const Tensor& dst, const Shape& src_shape, const Shape& src_strides, const char* op) {
  const Shape& shape = dst.shape();
  const size_t lead = shape.size() - src_shape.size();
  cpu::StridedCopy s{};
  s.n = dst.numel();
  int64_t sizes[64], sd[64], ss[64];  // merged dimensions, innermost first
  int nd = 0;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    const int64_t d = dst.strides()[i];
    const int64_t src = i < lead || src_shape[i - lead] == 1 ? 0 : src_strides[i - lead];
    CONVNET_CHECK(d != 0, op, ": more than one element of the written-to tensor refers to a single memory location "
                  "(shape ", shape_str(shape), ", strides ", shape_str(dst.strides()), "); clone() it first");
    if (nd > 0 && d == sd[nd - 1] * sizes[nd - 1] && src == ss[nd - 1] * sizes[nd - 1]) {
      sizes[nd - 1] *= shape[i];
      continue;
    }
    CONVNET_CHECK(nd < cpu::kMaxDims, op, ": a strided copy over more than ", cpu::kMaxDims,
                  " dimensions that cannot be merged is not supported; shape ", shape_str(shape), ", strides ",
                  shape_str(dst.strides()), " and ", shape_str(src_strides));
    sizes[nd] = shape[i];
    sd[nd] = d;
    ss[nd] = src;
    ++nd;
  }
  s.nd = nd;
  for (int k = 0; k < nd; ++k) {
    s.shape[k] = sizes[nd - 1 - k];
    s.sd[k] = sd[nd - 1 - k];
    s.ss[k] = ss[nd - 1 - k];
  }
  return s;
}

template <typename T>
void copy_elements(Device dev, const cpu::StridedCopy& s, void* dst, const void* src) {
  CONVNET_KERNEL(dev, copy_strided, <T>)(s, static_cast<T*>(dst), static_cast<const T*>(src));
}

}  // namespace

void copy_into(const Tensor& dst, const Tensor& src_in) {
  const Shape& ds = dst.shape();
  const Shape& ss = src_in.shape();
  bool ok = ss.size() <= ds.size();
  for (size_t i = 0; ok && i < ss.size(); ++i) {
    const int64_t a = ss[ss.size() - 1 - i];
    ok = a == 1 || a == ds[ds.size() - 1 - i];
  }
  CONVNET_CHECK(ok, "copy_: the source of shape ", shape_str(ss), " cannot be broadcast to the destination's shape ",
                shape_str(ds));
  Tensor src = src_in.detach().to(dst.device()).to(dst.dtype());
  // a source that shares memory with the destination is read before anything is written
  if (src.impl()->storage == dst.impl()->storage) src = src.clone();
  const cpu::StridedCopy s = make_strided_copy(dst, src.shape(), src.strides(), "copy_");
  dst.bump_version();
  if (s.n == 0) return;
  const Device dev = common_device("copy_", {&dst, &src});
  void* d = dst.element_ptr();
  const void* p = src.element_ptr();
  switch (dtype_size(dst.dtype())) {
    case 1: copy_elements<uint8_t>(dev, s, d, p); break;
    case 2: copy_elements<uint16_t>(dev, s, d, p); break;
    case 4: copy_elements<uint32_t>(dev, s, d, p); break;
    default: copy_elements<uint64_t>(dev, s, d, p); break;
  }
}

void accumulate_into(const Tensor& dst, const Tensor& src) {
  CONVNET_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(), "add_: shapes ", shape_str(dst.shape()),
                " and ", shape_str(src.shape()), " and dtypes must match");
  const cpu::StridedCopy s = make_strided_copy(dst, src.shape(), src.strides(), "add_");
  dst.bump_version();
  if (s.n == 0) return;
  const Device dev = common_device("add_", {&dst, &src});
  dispatch_floating(dst.dtype(), "add_", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(dev, accumulate_strided, <T>)(s, static_cast<T*>(dst.element_ptr()),
                                                  static_cast<const T*>(src.element_ptr()));
  });
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  fill_(t, value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1, dtype, device); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor scalar_tensor(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  CONVNET_CHECK(step != 0, "arange: step must be nonzero");
  CONVNET_CHECK((end - start) / step >= 0, "arange: upper bound and step are inconsistent: start=",
                start, " end=", end, " step=", step);
  int64_t n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = Tensor::empty({n}, dtype);
  dispatch_all(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + i * step);
  });
  return t.to(device);
}

}  // namespace convnet

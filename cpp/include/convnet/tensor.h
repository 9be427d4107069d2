// Tensor: sizes, strides and an offset over ref-counted storage from the caching
// allocator; dtype, device. Images are NCHW. A view (reshape, permute, slicing,
// expand: ops/view.h) shares its base's storage with its own strides; a version
// counter per storage counts in-place writes, so that autograd can refuse a
// backward whose saved tensors were modified. Kernels take contiguous pointers
// (data<T>() throws for a non-contiguous tensor): ops call contiguous() first.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "check.h"
#include "device.h"
#include "half.h"

namespace convnet {

struct Node;
class Tensor;
// Called by backward() once a leaf's gradient of that backward has been accumulated into .grad.
using PostAccumulateGradHook = std::function<void(const Tensor& leaf)>;
// A tensor's gradient hook (Tensor.register_hook): returns a replacement, or an undefined tensor
// to keep the gradient.
using GradHook = std::function<Tensor(const Tensor& grad)>;

// A block of memory. Owned blocks return to their device's caching allocator
// (pinned host blocks to the pinned one) when the last reference goes; external
// blocks (NumPy arrays) release their owner.
class Storage {
 public:
  Storage(size_t nbytes, Device device, bool pinned = false);
  Storage(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }
  // In-place writes to this storage so far (autograd's check on saved tensors).
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> version_{0};
  void* data_;
  size_t nbytes_;
  Device device_;
  bool pinned_ = false;
  std::shared_ptr<void> owner_;  // null for blocks from the allocator
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // bytes into storage
  Shape shape;
  Shape strides;  // in elements, one per dimension
  int64_t numel = 0;
  bool contiguous = true;  // strides are the row-major ones of shape (sizes 1 aside)
  DType dtype = DType::Float32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  std::shared_ptr<TensorImpl> base;  // for a view made by a view op: the tensor it views (never a view)
  std::vector<std::shared_ptr<PostAccumulateGradHook>> post_accumulate_grad_hooks;  // leaves only
  std::vector<std::shared_ptr<GradHook>> grad_hooks;  // a leaf's (a non-leaf's are on its grad_fn)
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Uninitialized tensor from the caching allocator.
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = {});
  // Wraps external memory (zero-copy); `owner` keeps it alive.
  static Tensor from_blob(void* data, const Shape& shape, DType dtype,
                          std::shared_ptr<void> owner, Device device = {});

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  // Size of dimension d; negative d counts from the end.
  int64_t size(int64_t d) const;
  int64_t numel() const { return impl_->numel; }
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device(); }
  size_t nbytes() const { return impl_->numel * dtype_size(impl_->dtype); }

  const Shape& strides() const { return impl_->strides; }
  // Stride of dimension d in elements; negative d counts from the end.
  int64_t stride(int64_t d) const;
  // Offset of the first element into the storage, in elements.
  int64_t storage_offset() const { return static_cast<int64_t>(impl_->offset / dtype_size(impl_->dtype)); }
  // True for an undefined tensor too (an absent optional input needs no copy).
  bool is_contiguous() const { return !impl_ || impl_->contiguous; }
  // *this when contiguous (or undefined), else a contiguous copy (differentiable).
  Tensor contiguous() const;
  // Pointer to the first element of a contiguous tensor; throws Error for a
  // non-contiguous one (a kernel would read it in the wrong order).
  void* raw_data() const {
    if (!impl_->contiguous) throw_not_contiguous();
    return element_ptr();
  }
  // Pointer to the first element whatever the strides (for strided kernels).
  void* element_ptr() const { return static_cast<char*>(impl_->storage->data()) + impl_->offset; }
  template <typename T>
  T* data() const {
    return static_cast<T*>(raw_data());
  }

  // Autograd state.
  bool requires_grad() const { return impl_->requires_grad; }
  // Only leaves may change requires_grad; throws otherwise.
  Tensor& set_requires_grad(bool on);
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& g);
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  // Runs backpropagation from this tensor (autograd.cpp).
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  // Same storage, cut from the graph.
  Tensor detach() const;

  // Another shape (one dimension may be -1): a view where the strides allow one, else a
  // contiguous copy; differentiable.
  Tensor reshape(Shape shape) const;
  // Another shape as a view; throws ValueError where the strides allow none (as PyTorch's view).
  Tensor view(Shape shape) const;
  // The in-place write counter of this tensor's storage (shared by its views).
  uint64_t version() const { return impl_->storage->version(); }
  void bump_version() const { impl_->storage->bump_version(); }
  // Deep copy, contiguous (differentiable).
  Tensor clone() const;
  // Conversion; returns *this when the dtype already matches.
  Tensor to(DType dtype) const;
  // Copy to another device (differentiable); returns *this when already there. With
  // non_blocking, a copy from pinned host memory to a GPU returns before it finishes.
  Tensor to(Device device, bool non_blocking = false) const;
  // A copy in page-locked host memory (CPU tensors only), for asynchronous copies to a GPU.
  Tensor pin_memory() const;
  bool is_pinned() const { return impl_->storage->pinned(); }
  // Scalar value of a one-element tensor, as double.
  double item() const;
  // Makes this tensor use src's storage, dtype and device (shapes must match),
  // keeping its identity, autograd flags and graph position (PyTorch's `t.data = src`);
  // a gradient follows to the new device and dtype.
  void set_data(const Tensor& src);
  bool shares_storage(const Tensor& o) const { return impl_->storage == o.impl_->storage; }

  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }

 private:
  [[noreturn]] void throw_not_contiguous() const;
  std::shared_ptr<TensorImpl> impl_;
};

// The row-major strides of shape, in elements.
Shape contiguous_strides(const Shape& shape);
// A view of t's storage with these sizes, strides (elements) and storage offset (elements),
// outside autograd: for view ops (ops/view.cpp), which record their own backward.
Tensor strided_view(const Tensor& t, Shape sizes, Shape strides, int64_t storage_offset);
// dst (a view of any strides) = src, element by element; src broadcasts to dst's shape and is
// converted to dst's dtype and device. Bumps dst's version; outside autograd.
void copy_into(const Tensor& dst, const Tensor& src);
// dst += src for a dst of any strides, even with overlapping elements (expand, unfold: each
// element gets every contribution, in order); same shape, floating dtype; outside autograd.
void accumulate_into(const Tensor& dst, const Tensor& src);

// The number of elements of a tensor of this shape. Throws ValueError naming the shape for a
// negative size, or (as PyTorch) when its row-major strides or, for a non-empty tensor, its bytes
// in any dtype would overflow an int64.
int64_t numel_of(const Shape& shape);
// The product of shape[begin:end], checked: throws ValueError naming `op` and the shape when it
// overflows an int64.
int64_t size_product(const Shape& shape, size_t begin, size_t end, const char* op);

// Factories. Random ones draw from the global generator (random.h).
Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = {});
Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = {});
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = {});
// Zeros of t's shape, dtype and device.
Tensor zeros_like(const Tensor& t);
Tensor arange(double start, double end, double step = 1, DType dtype = DType::Int64, Device device = {});
Tensor scalar_tensor(double value, DType dtype = DType::Float32, Device device = {});

// Fills in place (no autograd).
void fill_(const Tensor& t, double value);
// dst += src element by element, same shape and dtype (no autograd).
void add_(const Tensor& dst, const Tensor& src);
// nbytes from src to dst, host or device memory on either side.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);
// nbytes of zeros at p on `device`.
void zero_bytes(void* p, Device device, size_t nbytes);


// Calls f with a typed null pointer for the floating dtype of t, e.g.
// dispatch_floating(t.dtype(), "conv2d", [&](auto* tag) { using T = ...; });
template <typename F>
void dispatch_floating(DType dtype, const char* op, const F& f) {
  switch (dtype) {
    case DType::Float32: f(static_cast<float*>(nullptr)); break;
    case DType::Float64: f(static_cast<double*>(nullptr)); break;
    default:
      throw ValueError(cat_str(op, ": expected a float32 or float64 tensor, got ",
                                          dtype_name(dtype)));
  }
}

// Calls f with a typed null pointer for the dtypes the ops compute in (float32, float64,
// int64, int32, uint8, bool); the 16-bit storage dtypes are rejected with a ValueError.
template <typename F>
void dispatch_all(DType dtype, const F& f) {
  switch (dtype) {
    case DType::Float32: f(static_cast<float*>(nullptr)); break;
    case DType::Float64: f(static_cast<double*>(nullptr)); break;
    case DType::Int64: f(static_cast<int64_t*>(nullptr)); break;
    case DType::Int32: f(static_cast<int32_t*>(nullptr)); break;
    case DType::UInt8: f(static_cast<uint8_t*>(nullptr)); break;
    case DType::Bool: f(static_cast<bool*>(nullptr)); break;
    case DType::BFloat16:
    case DType::Float16:
      throw ValueError(cat_str("expected a float32, float64, int64, int32, uint8 or bool tensor, got ",
                               dtype_name(dtype), ": 16-bit tensors are for storage and autocast; "
                               "convert with .float() to compute with them"));
  }
}

// Every dtype, the 16-bit ones as convnet::bfloat16 and convnet::float16: for what works on
// any element type (conversion with convert<D>(v), fills, reading a scalar).
template <typename F>
void dispatch_storage(DType dtype, const F& f) {
  switch (dtype) {
    case DType::BFloat16: f(static_cast<bfloat16*>(nullptr)); break;
    case DType::Float16: f(static_cast<float16*>(nullptr)); break;
    default: dispatch_all(dtype, f);
  }
}

}  // namespace convnet

// Matrix products. Shapes: matmul a (B,n,k) @ b (B,k,m) → (B,n,m); linear
// x (M,in), w (out,in), b (out) → y (M,out). Outputs and gradients live on the inputs'
// device; CUDA products run in the MathMode of convnet/backends.h (TF32, autocast), backward
// in the one its forward used. Backward returns gradients; autograd accumulates them (+=)
// into .grad.
#include "convnet/ops/linear.h"

#include "convnet/autograd.h"
#include "convnet/ops/reduce.h"
#include "convnet/ops/view.h"
#include "convnet/backends.h"
#include "dispatch.h"

namespace convnet {

namespace {

// c (n,m) = op(a) @ op(b) for each of `batch` matrices; a_batch/b_batch say whether
// the operand steps with the batch (a 2-D operand is shared).
void bmm_into(const Tensor& a, bool ta, bool a_batch, const Tensor& b, bool tb, bool b_batch,
              Tensor& c, int64_t batch, int64_t n, int64_t k, int64_t m) {
  dispatch_floating(c.dtype(), "matmul", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    CONVNET_KERNEL(c.device(), bmm, <T>)(batch, n, k, m, a.data<T>(), ta, a_batch, b.data<T>(), tb, b_batch,
                                          c.data<T>());
  });
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  if (any_strided({&a_in, &b_in})) return matmul(a_in.contiguous(), b_in.contiguous());
  CONVNET_CHECK(a_in.dim() >= 1 && a_in.dim() <= 3 && b_in.dim() >= 1 && b_in.dim() <= 2 + (a_in.dim() == 3),
                "matmul: unsupported ranks: shapes ", shape_str(a_in.shape()), " and ",
                shape_str(b_in.shape()), " (expected 1-D or 2-D operands, or a 3-D batch on the left)");
  CONVNET_CHECK(a_in.dtype() == b_in.dtype() && is_floating(a_in.dtype()),
                "matmul: expected two float32 or two float64 tensors, got ", dtype_name(a_in.dtype()),
                " and ", dtype_name(b_in.dtype()), "; shapes ", shape_str(a_in.shape()), " and ",
                shape_str(b_in.shape()));
  // 1-D operands become matrices and the added dimension is dropped from the result
  Tensor a = a_in.dim() == 1 ? a_in.reshape({1, a_in.size(0)}) : a_in;
  Tensor b = b_in.dim() == 1 ? b_in.reshape({b_in.size(0), 1}) : b_in;
  const bool batched = a.dim() == 3;
  const bool b_batch = b.dim() == 3;
  const int64_t batch = batched ? a.size(0) : 1;
  const int64_t n = a.size(-2), k = a.size(-1), m = b.size(-1);
  CONVNET_CHECK(b.size(-2) == k, "matmul: shapes ", shape_str(a_in.shape()), " and ",
                shape_str(b_in.shape()), " cannot be multiplied (", k, " vs ", b.size(-2), ")");
  CONVNET_CHECK(!b_batch || b.size(0) == batch, "matmul: batch sizes differ: shapes ",
                shape_str(a_in.shape()), " and ", shape_str(b_in.shape()));
  const Device dev = common_device("matmul", {&a, &b});
  const MathMode mode = math_mode_for(ProductKind::Matmul, dev, a.dtype());
  Shape out_shape = batched ? Shape{batch, n, m} : Shape{n, m};
  Tensor out = Tensor::empty(out_shape, a.dtype(), dev);
  {
    MathModeGuard guard(mode);
    bmm_into(a, false, batched, b, false, b_batch, out, batch, n, k, m);
  }
  if (autograd::needs_record({a, b})) {
    // both operands saved: da = dy bᵀ, db = aᵀ dy; when backward records (create_graph), through
    // matmul itself
    autograd::record(out, "matmul", {a, b}, [a, b, batched, b_batch, batch, n, k, m, mode](
                                                const Tensor& dy, const std::vector<bool>& need) {
      MathModeGuard guard(mode);
      Tensor da, db;
      if (autograd::grad_enabled()) {
        if (need[0]) da = matmul(dy, transpose(b, -2, -1));
        if (need[1])
          db = b_batch ? matmul(transpose(a, -2, -1), dy)
                       : matmul(transpose(a.reshape({batch * n, k}), 0, 1), dy.reshape({batch * n, m}));
        return std::vector<Tensor>{da, db};
      }
      if (need[0]) {
        da = Tensor::empty(a.shape(), a.dtype(), a.device());
        bmm_into(dy, false, true, b, true, b_batch, da, batch, n, m, k);
      }
      if (need[1]) {
        if (b_batch) {
          db = Tensor::empty(b.shape(), b.dtype(), b.device());
          bmm_into(a, true, true, dy, false, true, db, batch, k, n, m);
        } else {
          // shared b: sum over the batch = one product of the stacked rows
          db = Tensor::empty(b.shape(), b.dtype(), b.device());
          bmm_into(a.reshape({batch * n, k}), true, false, dy.reshape({batch * n, m}), false,
                   false, db, 1, k, batch * n, m);
        }
      }
      return std::vector<Tensor>{da, db};
    });
    autograd::save_versions(out, {b.requires_grad() ? a : Tensor(), a.requires_grad() ? b : Tensor()});
  }
  Shape final_shape = out_shape;
  if (a_in.dim() == 1) final_shape.erase(final_shape.end() - 2);
  if (b_in.dim() == 1) final_shape.pop_back();
  return final_shape == out_shape ? out : out.reshape(final_shape);
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  if (any_strided({&x, &w, &b})) return linear(x.contiguous(), w.contiguous(), b.contiguous());
  CONVNET_CHECK(w.dim() == 2, "linear: weight must be 2-D (out_features, in_features), got shape ",
                shape_str(w.shape()));
  const int64_t out_f = w.size(0), in_f = w.size(1);
  CONVNET_CHECK(x.dim() >= 1 && x.size(-1) == in_f, "linear: input has ", x.dim() ? x.size(-1) : 0,
                " feature(s), expected ", in_f, "; input shape ", shape_str(x.shape()));
  CONVNET_CHECK(x.dtype() == w.dtype() && is_floating(x.dtype()), "linear: input dtype ", dtype_name(x.dtype()),
                " does not match weight dtype ", dtype_name(w.dtype()),
                " (expected floating point); input shape ", shape_str(x.shape()));
  CONVNET_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == out_f && b.dtype() == w.dtype()),
                "linear: bias must have shape (", out_f, ",), got ", shape_str(b.shape()));
  int64_t M = 1;  // rows: the product of the leading dimensions
  for (int64_t d = 0; d + 1 < x.dim(); ++d) M *= x.size(d);
  const Device dev = common_device("linear", {&x, &w, &b});
  const MathMode mode = math_mode_for(ProductKind::Matmul, dev, x.dtype());
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  Tensor y = Tensor::empty(out_shape, x.dtype(), dev);
  dispatch_floating(x.dtype(), "linear", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    MathModeGuard guard(mode);
    CONVNET_KERNEL(dev, linear_forward, <T>)(M, in_f, out_f, x.data<T>(), w.data<T>(),
                                              b.defined() ? b.data<T>() : nullptr, y.data<T>());
  });
  if (autograd::needs_record({x, w, b})) {
    // x and w saved: dx = dy w, dw = dyᵀ x, db = Σ dy; when backward records (create_graph),
    // through matmul and sum
    autograd::record(y, "linear", {x, w, b}, [x, w, M, in_f, out_f, mode](
                                                 const Tensor& dy, const std::vector<bool>& need) {
      const Device dev = x.device();
      Tensor dx, dw, db;
      if (autograd::grad_enabled()) {
        const Tensor dy2 = dy.reshape({M, out_f}), x2 = x.reshape({M, in_f});
        if (need[0]) dx = matmul(dy2, w).reshape(x.shape());
        if (need[1]) dw = matmul(transpose(dy2, 0, 1), x2);
        if (need[2]) db = sum(dy2, {0});
        return std::vector<Tensor>{dx, dw, db};
      }
      if (need[0]) dx = Tensor::empty(x.shape(), x.dtype(), dev);
      if (need[1]) dw = Tensor::empty(w.shape(), w.dtype(), dev);
      if (need[2]) db = Tensor::empty({out_f}, dy.dtype(), dev);
      MathModeGuard guard(mode);
      dispatch_floating(dy.dtype(), "linear", [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        CONVNET_KERNEL(dev, linear_backward, <T>)(M, in_f, out_f, x.data<T>(), w.data<T>(), dy.data<T>(),
                                    dx.defined() ? dx.data<T>() : nullptr,
                                    dw.defined() ? dw.data<T>() : nullptr,
                                    db.defined() ? db.data<T>() : nullptr);
      });
      return std::vector<Tensor>{dx, dw, db};
    });
    autograd::save_versions(y, {w.requires_grad() ? x : Tensor(), x.requires_grad() ? w : Tensor()});
  }
  return y;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  CONVNET_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected two 3-D tensors, got shapes ", shape_str(a.shape()),
                " and ", shape_str(b.shape()));
  CONVNET_CHECK(a.size(0) == b.size(0), "bmm: batch sizes differ: shapes ", shape_str(a.shape()), " and ",
                shape_str(b.shape()));
  return matmul(a, b);
}

}  // namespace convnet

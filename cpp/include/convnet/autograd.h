// Define-by-run autograd. A differentiable op that sees an input requiring
// grad records a Node on its output; the node holds what its backward needs.
// backward() walks the graph once in reverse topological order; gradients of
// leaves accumulate (+=) into .grad. The graph's saved tensors are freed after
// backward unless retain_graph is set.
#pragma once
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "tensor.h"

namespace convnet {

// Where a node sends the gradient of one of its inputs: to the node that made
// that input, or into the .grad of a leaf; neither when the input needs no grad.
struct Edge {
  std::shared_ptr<Node> fn;
  std::shared_ptr<TensorImpl> leaf;
  bool active() const { return fn != nullptr || leaf != nullptr; }
};

// The version of a tensor that a node's backward reads, taken when the node was recorded.
struct SavedVersion {
  std::weak_ptr<Storage> storage;
  uint64_t version;
  Shape shape;
  DType dtype;
};

struct Node : std::enable_shared_from_this<Node> {
  // Gradients with respect to each input, given the output's gradient dy;
  // `needs[i]` says whether input i wants one (undefined Tensor otherwise).
  using BackwardFn =
      std::function<std::vector<Tensor>(const Tensor& dy, const std::vector<bool>& needs)>;

  const char* name;  // op name, for error messages and grad_fn's repr
  std::vector<Edge> next;
  std::vector<bool> needs;
  BackwardFn fn;  // reset after backward unless the graph is retained
  Shape out_shape;
  DType out_dtype;
  // What fn reads: backward refuses to run once one of them was modified in place.
  std::vector<SavedVersion> saved;
  // Hooks on the output's gradient (register_hook on a non-leaf), run before fn in order.
  std::vector<std::shared_ptr<GradHook>> pre_hooks;
  // The output when it retains its gradient (retain_grad): backward accumulates dy into its .grad.
  std::weak_ptr<TensorImpl> retained;
};

namespace autograd {

bool grad_enabled();
void set_grad_enabled(bool on);

// True when grad mode is on and one of the inputs requires grad.
inline bool needs_record(std::initializer_list<Tensor> inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}
// The same for a list of inputs whose length is known at run time (cat).
inline bool needs_record(const std::vector<Tensor>& inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

// Makes `out` a non-leaf whose gradient flows to `inputs` through `fn`.
// Call only when needs_record(inputs) is true; undefined inputs get no edge.
void record(Tensor& out, const char* name, std::initializer_list<Tensor> inputs,
            Node::BackwardFn fn);
void record(Tensor& out, const char* name, const std::vector<Tensor>& inputs, Node::BackwardFn fn);

// Notes that the backward of `out`'s node reads `saved` as they are now (call right after
// record): backward raises if any of them is modified in place before it runs, as PyTorch.
void save_versions(const Tensor& out, std::initializer_list<Tensor> saved);

// Double backward (create_graph). A backward closure checks grad_enabled(): when it is on, it
// writes its gradients with differentiable ops so that they carry a graph; otherwise it runs its
// fused kernels. Two helpers for it:
// - `saved` (an op's output that its backward saved detached, to avoid a cycle) as an output of
//   the node whose backward is running, so that a derivative written in terms of the output
//   differentiates through that node (PyTorch's saved outputs). Call only from a backward closure.
Tensor running_output(const Tensor& saved);
// - for a backward linear in dy alone (its saved values are constants: indices, shapes): dx,
//   computed by the kernels, recorded as an op of dy named `name` whose backward is
//   `adjoint(ddx)`, the transposed map (usually the op's forward). dx unchanged when dy needs no
//   grad or grad mode is off.
Tensor record_linear(Tensor dx, const Tensor& dy, const char* name, std::function<Tensor(const Tensor&)> adjoint);
// - for a backward that has no differentiable form (its kernels only): when grad mode is on, each
//   defined gradient becomes the output of a node named `op` that depends on dy and on the inputs of
//   the node whose backward is running, and whose own backward raises "<op>: double backward is not
//   implemented", so that a second backward through it fails instead of giving a zero derivative
//   (PyTorch's NotImplemented node). The gradients unchanged when grad mode is off. Call only from
//   a backward closure.
std::vector<Tensor> once_differentiable(std::vector<Tensor> grads, const Tensor& dy, const char* op);

// Accumulates into the .grad of the leaves the gradients of root (seeded with grad, ones for a
// scalar root when undefined). create_graph records the backward itself, for higher derivatives.
void backward(const Tensor& root, const Tensor& grad, bool retain_graph, bool create_graph = false);

// The gradients of the sum of outputs (each seeded with its grad_outputs entry) with respect to
// inputs, returned instead of accumulated into .grad (torch.autograd.grad). An input that the
// outputs do not depend on gets an undefined tensor with allow_unused, else an error.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool create_graph,
                         bool allow_unused);

// Registers a hook on t's gradient: on a leaf it sees the leaf's total gradient of a backward
// before it is accumulated; on a non-leaf the gradient reaching t's grad_fn. The hook may return a
// replacement. Returns the handle that removes it.
std::shared_ptr<GradHook> register_hook(const Tensor& t, GradHook fn);
void remove_hook(const Tensor& t, const std::shared_ptr<GradHook>& handle);
// A non-leaf t keeps its gradient in .grad during backward.
void retain_grad(const Tensor& t);

// Anomaly detection (torch.autograd.detect_anomaly): backward checks every gradient a node
// returns and raises naming the node when one holds a NaN.
bool anomaly_enabled();
void set_anomaly_enabled(bool on);

// Registers `fn` on a leaf that requires grad: each backward() that sends gradient to the leaf calls
// it once, after the last of that backward's gradients for the leaf has been accumulated into .grad
// (as torch.Tensor.register_post_accumulate_grad_hook; data-parallel training starts averaging a
// gradient from it while the rest of backward runs). Returns the handle that removes it.
std::shared_ptr<PostAccumulateGradHook> add_post_accumulate_grad_hook(const Tensor& leaf,
                                                                      PostAccumulateGradHook fn);
void remove_post_accumulate_grad_hook(const Tensor& leaf,
                                      const std::shared_ptr<PostAccumulateGradHook>& handle);

}  // namespace autograd

// Disables recording in its scope (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(autograd::grad_enabled()) { autograd::set_grad_enabled(false); }
  ~NoGradGuard() { autograd::set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace convnet

#include "convnet/autograd.h"

#include <unordered_map>

namespace convnet {
namespace autograd {

namespace {
thread_local bool g_grad_enabled = true;

// Gradients may alias tensors still in use (the backward of add returns dy
// twice); a gradient is adopted as a .grad or an accumulator only when nothing
// else refers to its memory, and copied otherwise.
Tensor owned(const Tensor& g) {
  if (g.impl().use_count() <= 2 && g.impl()->storage.use_count() == 1) return g;
  return g.clone();
}

// Into a leaf's .grad, which the engine owns: in place.
void accumulate_leaf(TensorImpl& leaf, const Tensor& g) {
  if (!leaf.grad)
    leaf.grad = g.is_contiguous() ? owned(g).impl() : g.contiguous().impl();
  else
    add_(Tensor(leaf.grad), g);
}

// Into the pending gradient of a node: out of place, so no alias is written.
void accumulate_pending(Tensor& slot, const Tensor& g) {
  if (!slot.defined()) {
    slot = g;
  } else {
    Tensor sum = slot.clone();
    add_(sum, g);
    slot = sum;
  }
}
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool on) { g_grad_enabled = on; }

void record(Tensor& out, const char* name, std::initializer_list<Tensor> inputs,
            Node::BackwardFn fn) {
  record(out, name, std::vector<Tensor>(inputs), std::move(fn));
}

void record(Tensor& out, const char* name, const std::vector<Tensor>& inputs, Node::BackwardFn fn) {
  auto node = std::make_shared<Node>();
  node->name = name;
  node->next.reserve(inputs.size());
  node->needs.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    Edge e;
    if (t.defined() && t.requires_grad()) {
      if (t.grad_fn())
        e.fn = t.grad_fn();
      else
        e.leaf = t.impl();
    }
    node->needs.push_back(e.active());
    node->next.push_back(std::move(e));
  }
  node->fn = std::move(fn);
  node->out_shape = out.shape();
  node->out_dtype = out.dtype();
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
}

void save_versions(const Tensor& out, std::initializer_list<Tensor> saved) {
  Node& n = *out.grad_fn();
  for (const Tensor& t : saved)
    if (t.defined()) n.saved.push_back({t.impl()->storage, t.version(), t.shape(), t.dtype()});
}

namespace {
// PyTorch's error for a saved tensor modified in place after it was saved.
void check_saved_versions(const Node& n) {
  for (const SavedVersion& v : n.saved) {
    const std::shared_ptr<Storage> st = v.storage.lock();
    if (st && st->version() != v.version)
      throw Error(cat_str("one of the variables needed for gradient computation has been modified by an inplace "
                          "operation: [convnet.", dtype_name(v.dtype), " ", shape_str(v.shape), "], saved by ", n.name,
                          "_backward, is at version ", st->version(), "; expected version ", v.version,
                          " instead. Hint: the operation that modified it ran between the forward that saved it and "
                          "this backward; clone() the tensor before modifying it"));
  }
}
}  // namespace

void backward(const Tensor& root, const Tensor& grad_in, bool retain_graph) {
  CONVNET_CHECK(root.requires_grad(),
                "backward: the tensor does not require grad and has no grad_fn; shape ",
                shape_str(root.shape()));
  Tensor grad = grad_in;
  if (!grad.defined()) {
    CONVNET_CHECK(root.numel() == 1,
                  "backward: grad can be implicitly created only for scalar outputs; got a tensor "
                  "of shape ", shape_str(root.shape()), ", pass grad= of the same shape");
    grad = ones(root.shape(), root.dtype(), root.device());
  } else {
    CONVNET_CHECK(grad.shape() == root.shape() && grad.dtype() == root.dtype(),
                  "backward: grad has shape ", shape_str(grad.shape()), " and dtype ",
                  dtype_name(grad.dtype()), ", expected shape ", shape_str(root.shape()),
                  " and dtype ", dtype_name(root.dtype()));
  }
  NoGradGuard no_grad;

  if (!root.grad_fn()) {
    accumulate_leaf(*root.impl(), grad);
    return;
  }

  // Count, for each node reachable from the root, how many edges lead into it.
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack{root.grad_fn().get()};
  deps[root.grad_fn().get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next) {
      if (!e.fn) continue;
      auto it = deps.find(e.fn.get());
      if (it == deps.end()) {
        deps[e.fn.get()] = 1;
        stack.push_back(e.fn.get());
      } else {
        ++it->second;
      }
    }
  }

  // Kahn's order: a node runs once every consumer has sent its gradient.
  std::unordered_map<Node*, Tensor> grads;
  grads[root.grad_fn().get()] = grad;
  std::vector<Node*> ready{root.grad_fn().get()};
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    auto git = grads.find(n);
    std::vector<Tensor> dxs;
    if (git != grads.end()) {  // else no gradient reached this node: it only releases its inputs
      Tensor dy = std::move(git->second);
      grads.erase(git);
      if (!n->fn)
        throw Error(cat_str(
            "backward: trying to backward through the graph a second time (through ", n->name,
            "); its saved tensors were freed. Specify retain_graph=True on the first backward."));
      check_saved_versions(*n);
      dxs = n->fn(dy.contiguous(), n->needs);
      if (!retain_graph) n->fn = nullptr;
    }
    for (size_t i = 0; i < n->next.size(); ++i) {
      const Edge& e = n->next[i];
      if (!e.active()) continue;
      if (i < dxs.size() && dxs[i].defined()) {
        if (e.fn)
          accumulate_pending(grads[e.fn.get()], dxs[i]);
        else
          accumulate_leaf(*e.leaf, dxs[i]);
      }
      if (e.fn && --deps[e.fn.get()] == 0) ready.push_back(e.fn.get());
    }
  }
}

}  // namespace autograd
}  // namespace convnet

#include "convnet/autograd.h"

#include <algorithm>
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

// Leaves with post-accumulate hooks: how many of the graph's edges still lead into each, and
// whether one of them has delivered a gradient in this backward.
struct HookedLeaf {
  int pending = 0;
  bool accumulated = false;
};
using HookedLeaves = std::unordered_map<TensorImpl*, HookedLeaf>;

void count_hooked_leaf(HookedLeaves& leaves, const Edge& e) {
  if (e.leaf && !e.leaf->post_accumulate_grad_hooks.empty()) ++leaves[e.leaf.get()].pending;
}

// One edge into a leaf is done (`delivered`: it carried a gradient); after the last one the leaf's
// hooks run, if any gradient arrived. A copy of the hook list, so a hook may remove itself.
void finish_leaf_edge(HookedLeaves& leaves, const Edge& e, bool delivered) {
  auto it = leaves.find(e.leaf.get());
  if (it == leaves.end()) return;
  it->second.accumulated |= delivered;
  if (--it->second.pending > 0 || !it->second.accumulated) return;
  auto hooks = e.leaf->post_accumulate_grad_hooks;
  Tensor leaf(e.leaf);
  for (const auto& h : hooks) (*h)(leaf);
}
}  // namespace

std::shared_ptr<PostAccumulateGradHook> add_post_accumulate_grad_hook(const Tensor& leaf,
                                                                      PostAccumulateGradHook fn) {
  CONVNET_CHECK(leaf.requires_grad() && !leaf.grad_fn(),
                "register_post_accumulate_grad_hook: the tensor of shape ", shape_str(leaf.shape()),
                " is not a leaf that requires grad");
  auto h = std::make_shared<PostAccumulateGradHook>(std::move(fn));
  leaf.impl()->post_accumulate_grad_hooks.push_back(h);
  return h;
}

void remove_post_accumulate_grad_hook(const Tensor& leaf,
                                      const std::shared_ptr<PostAccumulateGradHook>& handle) {
  auto& hooks = leaf.impl()->post_accumulate_grad_hooks;
  hooks.erase(std::remove(hooks.begin(), hooks.end(), handle), hooks.end());
}

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
    HookedLeaves leaves;
    Edge self{nullptr, root.impl()};
    count_hooked_leaf(leaves, self);
    finish_leaf_edge(leaves, self, true);
    return;
  }

  // Count, for each node reachable from the root, how many edges lead into it.
  std::unordered_map<Node*, int> deps;
  HookedLeaves leaves;
  std::vector<Node*> stack{root.grad_fn().get()};
  deps[root.grad_fn().get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next) {
      count_hooked_leaf(leaves, e);
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
      bool delivered = i < dxs.size() && dxs[i].defined();
      if (delivered) {
        if (e.fn)
          accumulate_pending(grads[e.fn.get()], dxs[i]);
        else
          accumulate_leaf(*e.leaf, dxs[i]);
      }
      if (e.leaf) finish_leaf_edge(leaves, e, delivered);
      if (e.fn && --deps[e.fn.get()] == 0) ready.push_back(e.fn.get());
    }
  }
}

}  // namespace autograd
}  // namespace convnet

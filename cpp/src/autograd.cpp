#include "convnet/autograd.h"

#include <algorithm>
#include <unordered_map>

#include "convnet/ops/elementwise.h"

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

// Into a leaf's .grad, which the engine owns: in place; with grad mode on (create_graph), as
// an add that records.
void accumulate_leaf(TensorImpl& leaf, const Tensor& g) {
  if (!leaf.grad)
    leaf.grad = g.is_contiguous() ? owned(g).impl() : g.contiguous().impl();
  else if (grad_enabled())
    leaf.grad = add(Tensor(leaf.grad), g).impl();
  else
    add_(Tensor(leaf.grad), g);
}

// Into the pending gradient of a node: out of place, so no alias is written (recorded under
// create_graph).
void accumulate_pending(Tensor& slot, const Tensor& g) {
  if (!slot.defined()) {
    slot = g;
  } else if (grad_enabled()) {
    slot = add(slot, g);
  } else {
    Tensor sum = slot.clone();
    add_(sum, g);
    slot = sum;
  }
}

// Leaves with hooks: how many of the graph's edges still lead into each, and the sum of the
// gradients delivered so far in this backward (tensor hooks see the total, before it lands).
struct HookedLeaf {
  int pending = 0;
  Tensor sum;
};
using HookedLeaves = std::unordered_map<TensorImpl*, HookedLeaf>;

bool has_hooks(const TensorImpl& leaf) { return !leaf.post_accumulate_grad_hooks.empty() || !leaf.grad_hooks.empty(); }

// Applies hooks in order to g (a hook may return a replacement).
Tensor run_hooks(const std::vector<std::shared_ptr<GradHook>>& hooks, Tensor g) {
  const auto copy = hooks;  // a hook may remove itself
  for (const auto& h : copy) {
    Tensor r = (*h)(g);
    if (r.defined()) g = r;
  }
  return g;
}

bool has_nan(const Tensor& t) {
  if (!is_floating(t.dtype())) return false;
  const Tensor h = t.detach().contiguous().to(Device()).to(DType::Float64);
  const double* p = h.data<double>();
  for (int64_t i = 0; i < h.numel(); ++i)
    if (p[i] != p[i]) return true;
  return false;
}

thread_local bool g_anomaly = false;
thread_local Node* g_running = nullptr;  // the node whose backward runs on this thread
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

namespace {

// One run of the engine. With capture (autograd::grad), the gradients of the captured leaves and
// nodes are summed into out instead of landing in .grad.
struct Capture {
  std::unordered_map<Node*, size_t> nodes;
  std::unordered_map<TensorImpl*, size_t> leaves;
  std::vector<Tensor> out;
};

// The seed of root's backward: grad checked against it, or ones for a scalar root.
Tensor seed(const Tensor& root, const Tensor& grad, const char* op) {
  CONVNET_CHECK(root.requires_grad(), op, ": the tensor does not require grad and has no grad_fn; shape ",
                shape_str(root.shape()));
  if (!grad.defined()) {
    CONVNET_CHECK(root.numel() == 1, op, ": grad can be implicitly created only for scalar outputs; got a tensor "
                  "of shape ", shape_str(root.shape()), ", pass grad= of the same shape");
    return ones(root.shape(), root.dtype(), root.device());
  }
  CONVNET_CHECK(grad.shape() == root.shape() && grad.dtype() == root.dtype(), op, ": grad has shape ",
                shape_str(grad.shape()), " and dtype ", dtype_name(grad.dtype()), ", expected shape ",
                shape_str(root.shape()), " and dtype ", dtype_name(root.dtype()));
  return grad;
}

void run(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds, bool retain_graph, bool create_graph,
         Capture* capture) {
  // the backward functions record a graph only for create_graph
  struct GradMode {
    bool prev;
    ~GradMode() { set_grad_enabled(prev); }
  } restore{grad_enabled()};
  set_grad_enabled(create_graph);

  HookedLeaves leaves;
  // a gradient for a leaf: into the capture, or (hooks aside) into .grad
  auto land = [&](TensorImpl& leaf, const Tensor& g) {
    if (capture) {
      auto it = capture->leaves.find(&leaf);
      if (it != capture->leaves.end()) accumulate_pending(capture->out[it->second], g);
      return;
    }
    accumulate_leaf(leaf, g);
  };
  auto deliver_leaf = [&](const std::shared_ptr<TensorImpl>& leaf, const Tensor& g) {
    auto it = leaves.find(leaf.get());
    if (it == leaves.end())
      land(*leaf, g);
    else
      accumulate_pending(it->second.sum, g);
  };
  // one edge into a hooked leaf is done; after the last, its hooks run and its gradient lands
  auto finish_leaf = [&](const std::shared_ptr<TensorImpl>& leaf) {
    auto it = leaves.find(leaf.get());
    if (it == leaves.end() || --it->second.pending > 0 || !it->second.sum.defined()) return;
    land(*leaf, run_hooks(leaf->grad_hooks, it->second.sum));
    if (capture) return;
    const auto hooks = leaf->post_accumulate_grad_hooks;
    const Tensor t(leaf);
    for (const auto& h : hooks) (*h)(t);
  };

  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, Tensor> grads;
  std::vector<Node*> stack;
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    if (!root.grad_fn()) {
      if (has_hooks(*root.impl())) leaves[root.impl().get()].pending++;
      continue;
    }
    Node* n = root.grad_fn().get();
    if (!deps.count(n)) {
      deps[n] = 0;
      stack.push_back(n);
    }
  }
  // count, for each node reachable from the roots, how many edges lead into it
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next) {
      if (e.leaf && has_hooks(*e.leaf)) leaves[e.leaf.get()].pending++;
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
  std::vector<Node*> ready;
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    if (!root.grad_fn()) {
      deliver_leaf(root.impl(), seeds[r]);
      finish_leaf(root.impl());
      continue;
    }
    Node* n = root.grad_fn().get();
    if (!grads.count(n) && deps[n] == 0) ready.push_back(n);
    accumulate_pending(grads[n], seeds[r]);
  }

  // Kahn's order: a node runs once every consumer has sent its gradient.
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    auto git = grads.find(n);
    std::vector<Tensor> dxs;
    if (git != grads.end()) {  // else no gradient reached this node: it only releases its inputs
      Tensor dy = run_hooks(n->pre_hooks, std::move(git->second));
      grads.erase(git);
      if (const auto kept = n->retained.lock(); kept && !capture) accumulate_leaf(*kept, dy.detach());
      if (capture) {
        auto it = capture->nodes.find(n);
        if (it != capture->nodes.end()) accumulate_pending(capture->out[it->second], dy);
      }
      if (!n->fn)
        throw Error(cat_str(
            "backward: trying to backward through the graph a second time (through ", n->name,
            "); its saved tensors were freed. Specify retain_graph=True on the first backward."));
      check_saved_versions(*n);
      struct Running {
        Node* prev;
        ~Running() { g_running = prev; }
      } restore_running{g_running};
      g_running = n;
      dxs = n->fn(dy.contiguous(), n->needs);
      if (!retain_graph) n->fn = nullptr;
      if (g_anomaly)
        for (size_t i = 0; i < dxs.size(); ++i)
          if (dxs[i].defined() && has_nan(dxs[i]))
            throw Error(cat_str("Function '", n->name, "_backward' returned nan values in its ", i, "th output."));
    }
    for (size_t i = 0; i < n->next.size(); ++i) {
      const Edge& e = n->next[i];
      if (!e.active()) continue;
      if (i < dxs.size() && dxs[i].defined()) {
        if (e.fn)
          accumulate_pending(grads[e.fn.get()], dxs[i]);
        else
          deliver_leaf(e.leaf, dxs[i]);
      }
      if (e.leaf) finish_leaf(e.leaf);
      if (e.fn && --deps[e.fn.get()] == 0) ready.push_back(e.fn.get());
    }
  }
}

}  // namespace

void backward(const Tensor& root, const Tensor& grad_in, bool retain_graph, bool create_graph) {
  const Tensor g = seed(root, grad_in, "backward");
  run({root}, {g}, retain_graph || create_graph, create_graph, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool create_graph,
                         bool allow_unused) {
  CONVNET_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "grad: got ", grad_outputs.size(),
                " grad_outputs for ", outputs.size(), " outputs");
  std::vector<Tensor> seeds;
  for (size_t i = 0; i < outputs.size(); ++i)
    seeds.push_back(seed(outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i], "grad"));
  Capture c;
  c.out.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    CONVNET_CHECK(t.requires_grad(), "grad: input ", i, " of shape ", shape_str(t.shape()), " does not require grad");
    if (t.grad_fn())
      c.nodes[t.grad_fn().get()] = i;
    else
      c.leaves[t.impl().get()] = i;
  }
  run(outputs, seeds, retain_graph || create_graph, create_graph, &c);
  for (Tensor& g : c.out) g = g.contiguous();  // as .grad: the gradients of views are views
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!c.out[i].defined() && !allow_unused)
      throw Error(cat_str("grad: one of the differentiated tensors (input ", i, " of shape ", shape_str(inputs[i].shape()),
                          ") appears to not have been used in the graph. Set allow_unused=True if this is the desired "
                          "behavior."));
  return c.out;
}

std::shared_ptr<GradHook> register_hook(const Tensor& t, GradHook fn) {
  CONVNET_CHECK(t.requires_grad(), "register_hook: cannot register a hook on a tensor that doesn't require gradient");
  auto h = std::make_shared<GradHook>(std::move(fn));
  (t.grad_fn() ? t.grad_fn()->pre_hooks : t.impl()->grad_hooks).push_back(h);
  return h;
}

void remove_hook(const Tensor& t, const std::shared_ptr<GradHook>& handle) {
  for (auto* hooks : {&t.impl()->grad_hooks, t.grad_fn() ? &t.grad_fn()->pre_hooks : nullptr})
    if (hooks) hooks->erase(std::remove(hooks->begin(), hooks->end(), handle), hooks->end());
}

void retain_grad(const Tensor& t) {
  CONVNET_CHECK(t.requires_grad(), "retain_grad: can't retain_grad on a tensor that has requires_grad=False");
  if (t.grad_fn()) t.grad_fn()->retained = t.impl();
}

Tensor running_output(const Tensor& saved) {
  CONVNET_CHECK(g_running, "running_output: called outside a backward function");
  Tensor out = saved.detach();
  out.impl()->grad_fn = g_running->shared_from_this();
  out.impl()->requires_grad = true;
  return out;
}

Tensor record_linear(Tensor dx, const Tensor& dy, const char* name, std::function<Tensor(const Tensor&)> adjoint) {
  if (needs_record({dy}))
    record(dx, name, {dy}, [adjoint = std::move(adjoint)](const Tensor& ddx, const std::vector<bool>&) {
      return std::vector<Tensor>{adjoint(ddx)};
    });
  return dx;
}

std::vector<Tensor> once_differentiable(std::vector<Tensor> grads, const Tensor& dy, const char* op) {
  if (!grad_enabled()) return grads;
  CONVNET_CHECK(g_running, "once_differentiable: called outside a backward function");
  // the edges: dy's producer, then the running node's inputs (what its backward reads)
  std::vector<Edge> next;
  next.push_back(dy.requires_grad() ? (dy.grad_fn() ? Edge{dy.grad_fn(), nullptr} : Edge{nullptr, dy.impl()}) : Edge{});
  next.insert(next.end(), g_running->next.begin(), g_running->next.end());
  bool any = false;
  for (const Edge& e : next) any = any || e.active();
  if (!any) return grads;
  for (Tensor& g : grads) {
    if (!g.defined()) continue;
    auto node = std::make_shared<Node>();
    node->name = op;
    node->next = next;
    for (const Edge& e : next) node->needs.push_back(e.active());
    node->fn = [op](const Tensor&, const std::vector<bool>&) -> std::vector<Tensor> {
      throw Error(cat_str(op, ": double backward is not implemented"));
    };
    node->out_shape = g.shape();
    node->out_dtype = g.dtype();
    g = g.detach();
    g.impl()->grad_fn = std::move(node);
    g.impl()->requires_grad = true;
  }
  return grads;
}

bool anomaly_enabled() { return g_anomaly; }
void set_anomaly_enabled(bool on) { g_anomaly = on; }

}  // namespace autograd
}  // namespace convnet

// Module: parameters, buffers and children in registration order, train/eval,
// state_dict, forward hooks. Python subclasses of convnet.nn.Module are
// Modules too: what they assign as attributes is registered here, so C++ and
// Python see the same model.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convnet/tensor.h"

namespace convnet::nn {

template <typename V>
using Named = std::vector<std::pair<std::string, V>>;

struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

class Module : public std::enable_shared_from_this<Module> {
 public:
  // hook(module, input, output) may return a replacement output (or undefined).
  using ForwardHook = std::function<Tensor(Module&, const Tensor&, const Tensor&)>;
  // hook(module, input) may return a replacement input (or undefined).
  using ForwardPreHook = std::function<Tensor(Module&, const Tensor&)>;
  // hook(module, grad_input, grad_output) may return a replacement grad_input (or undefined);
  // grad_input is undefined when the input does not require grad.
  using BackwardHook = std::function<Tensor(Module&, const Tensor&, const Tensor&)>;

  Module() = default;
  virtual ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x);
  // The forward pre-hooks, forward, then the forward hooks (and the backward hooks on the
  // gradients). Containers call their children through this.
  Tensor operator()(const Tensor& x) {
    const Tensor in = before_forward(x);
    return after_forward(in, call_forward(in));
  }
  // What a call does around forward: the pre-hooks on the input (and, with backward hooks and
  // grad mode on, a node that runs them on the input's gradient); then, on the output, a node that
  // keeps its gradient for them, and the forward hooks. Python forwards are called between these.
  Tensor before_forward(const Tensor& x);
  Tensor after_forward(const Tensor& x, Tensor y);
  // forward; a module without children puts its repr in front of the message of a ValueError
  // or IndexError from the ops it runs ("Linear(in_features=4, out_features=2, bias=True):
  // linear: input has 3 feature(s), expected 4; input shape (2, 3)"). A container passes its
  // children's errors on as they are, so the message names the failing layer once.
  Tensor call_forward(const Tensor& x);
  // The forward hooks on (input, output); returns the output they leave.
  Tensor run_hooks(const Tensor& x, Tensor y);

  // The class name ("Conv2d"); Python subclasses report their own.
  virtual std::string type_name() const { return "Module"; }
  // Arguments shown in repr: "1, 6, kernel_size=(5, 5), stride=(1, 1)".
  virtual std::string extra_repr() const { return ""; }

  // Registration replaces an entry of the same name in place (keeping its order).
  void register_parameter(const std::string& name, const Tensor& t);
  void register_buffer(const std::string& name, const Tensor& t);
  void register_module(const std::string& name, std::shared_ptr<Module> m);
  // Removes a parameter, buffer or child; false if there was none.
  bool unregister(const std::string& name);
  // Declares `name` an empty slot (PyTorch's register_parameter(name, None)): Python reads the
  // attribute as None. Registering a tensor or module under the name fills the slot.
  void register_none(const std::string& name);
  bool is_none_slot(const std::string& name) const;

  // Direct members only.
  Tensor* find_parameter(const std::string& name);
  Tensor* find_buffer(const std::string& name);
  std::shared_ptr<Module> find_child(const std::string& name) const;

  Named<Tensor> named_parameters(bool recurse = true) const;
  Named<Tensor> named_buffers(bool recurse = true) const;
  const Named<std::shared_ptr<Module>>& named_children() const { return children_; }
  // This module first (name ""), then every descendant, depth first.
  Named<std::shared_ptr<Module>> named_modules(const std::string& prefix = "");
  std::vector<Tensor> parameters(bool recurse = true) const;

  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves every parameter and buffer to `device`, or converts the floating ones to
  // `dtype`, in place: the tensors keep their identity (Tensor::set_data), so an
  // optimizer built before the move keeps updating them.
  void to(Device device, bool non_blocking = false);
  void to(DType dtype);

  void zero_grad(bool set_to_none = true);
  void requires_grad_(bool on);

  // Parameters then buffers of each module, depth first, with dotted names.
  Named<Tensor> state_dict() const;
  // Copies values into the existing tensors (shapes must match); with strict,
  // missing or unexpected keys raise an error naming them.
  LoadResult load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  // Each returns an id for remove_hook.
  int64_t register_forward_hook(ForwardHook hook);
  int64_t register_forward_pre_hook(ForwardPreHook hook);
  int64_t register_full_backward_hook(BackwardHook hook);
  void remove_hook(int64_t id);

  // Multi-line repr in PyTorch's layout; a Python subclass's own __repr__ (ModuleList's) overrides it.
  virtual std::string repr() const;

 protected:
  Named<Tensor> params_;
  Named<Tensor> buffers_;
  Named<std::shared_ptr<Module>> children_;
  std::vector<std::string> none_slots_;
  bool training_ = true;

 private:
  void fill_slot(const std::string& name);
  void collect(const std::string& prefix, bool params, bool buffers, bool recurse, Named<Tensor>& out) const;
  std::vector<std::pair<int64_t, ForwardHook>> hooks_;
  std::vector<std::pair<int64_t, ForwardPreHook>> pre_hooks_;
  std::vector<std::pair<int64_t, BackwardHook>> backward_hooks_;
  std::shared_ptr<Tensor> pending_grad_output_;  // the call in progress, for the backward hooks
  // This module for the graph's backward-hook nodes, which may outlive it (null once it is gone;
  // a Python module has no shared owner to take a weak pointer from).
  std::shared_ptr<Module*> self_ = std::make_shared<Module*>(this);
  int64_t next_hook_id_ = 0;
};

}  // namespace convnet::nn

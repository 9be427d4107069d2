#include "convnet/nn/module.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "convnet/autograd.h"

namespace convnet::nn {

namespace {
template <typename V>
V* find_named(Named<V>& list, const std::string& name) {
  for (auto& [n, v] : list)
    if (n == name) return &v;
  return nullptr;
}
template <typename V>
void put_named(Named<V>& list, const std::string& name, V v) {
  if (V* slot = find_named(list, name))
    *slot = std::move(v);
  else
    list.emplace_back(name, std::move(v));
}
template <typename V>
bool erase_named(Named<V>& list, const std::string& name) {
  auto it = std::find_if(list.begin(), list.end(), [&](const auto& p) { return p.first == name; });
  if (it == list.end()) return false;
  list.erase(it);
  return true;
}
void check_name(const std::string& name, const char* what) {
  CONVNET_CHECK(!name.empty() && name.find('.') == std::string::npos, "Module.", what,
                ": name must be non-empty and contain no \".\", got \"", name, "\"");
}
}  // namespace

Tensor Module::forward(const Tensor&) {
  throw Error(cat_str(type_name(), ": forward() is not implemented"));
}

Tensor Module::call_forward(const Tensor& x) {
  if (!children_.empty()) return forward(x);
  try {
    return forward(x);
  } catch (const IndexError& e) {
    throw IndexError(repr() + ": " + e.what());
  } catch (const ValueError& e) {
    throw ValueError(repr() + ": " + e.what());
  }
}

namespace {
// An alias of t whose backward is fn(dy) (the gradient passed on to t).
Tensor hooked_identity(const Tensor& t, std::function<Tensor(const Tensor&)> fn) {
  Tensor out = t.detach();
  autograd::record(out, "BackwardHookFunction", {t}, [fn](const Tensor& dy, const std::vector<bool>&) {
    return std::vector<Tensor>{fn(dy)};
  });
  return out;
}

}  // namespace

Module::~Module() { *self_ = nullptr; }

Tensor Module::before_forward(const Tensor& x) {
  Tensor in = x;
  for (auto& [id, hook] : std::vector<std::pair<int64_t, ForwardPreHook>>(pre_hooks_)) {
    Tensor r = hook(*this, in);
    if (r.defined()) in = r;
  }
  pending_grad_output_.reset();
  if (backward_hooks_.empty() || !autograd::grad_enabled()) return in;
  auto grad_output = std::make_shared<Tensor>();
  pending_grad_output_ = grad_output;
  if (!in.requires_grad()) return in;
  return hooked_identity(in, [self = self_, grad_output](const Tensor& dy) {
    Tensor gi = dy;
    if (Module* m = *self)
      for (auto& [id, hook] : std::vector<std::pair<int64_t, BackwardHook>>(m->backward_hooks_)) {
        Tensor r = hook(*m, gi, *grad_output);
        if (r.defined()) gi = r;
      }
    return gi;
  });
}

Tensor Module::after_forward(const Tensor& x, Tensor y) {
  if (auto grad_output = std::move(pending_grad_output_); grad_output && y.requires_grad()) {
    const bool input_grad = x.requires_grad();
    y = hooked_identity(y, [self = self_, grad_output, input_grad](const Tensor& dy) {
      *grad_output = dy;
      if (Module* m = *self; m && !input_grad)  // no input gradient: the hooks run here
        for (auto& [id, hook] : std::vector<std::pair<int64_t, BackwardHook>>(m->backward_hooks_)) hook(*m, Tensor(), dy);
      return dy;
    });
  }
  return run_hooks(x, y);
}

Tensor Module::run_hooks(const Tensor& x, Tensor y) {
  for (auto& [id, hook] : hooks_) {
    Tensor r = hook(*this, x, y);
    if (r.defined()) y = r;
  }
  return y;
}

void Module::register_parameter(const std::string& name, const Tensor& t) {
  check_name(name, "register_parameter");
  CONVNET_CHECK(t.defined(), "Module.register_parameter: parameter \"", name, "\" is undefined");
  put_named(params_, name, t);
  fill_slot(name);
}

void Module::register_buffer(const std::string& name, const Tensor& t) {
  check_name(name, "register_buffer");
  put_named(buffers_, name, t);
  fill_slot(name);
}

void Module::register_module(const std::string& name, std::shared_ptr<Module> m) {
  check_name(name, "register_module");
  CONVNET_CHECK(m != nullptr, "Module.register_module: module \"", name, "\" is null");
  CONVNET_CHECK(m.get() != this, "Module.register_module: a module cannot be its own child");
  put_named(children_, name, std::move(m));
  fill_slot(name);
}

void Module::fill_slot(const std::string& name) {
  none_slots_.erase(std::remove(none_slots_.begin(), none_slots_.end(), name), none_slots_.end());
}

void Module::register_none(const std::string& name) {
  check_name(name, "register_parameter");
  unregister(name);
  if (!is_none_slot(name)) none_slots_.push_back(name);
}

bool Module::is_none_slot(const std::string& name) const {
  return std::find(none_slots_.begin(), none_slots_.end(), name) != none_slots_.end();
}

bool Module::unregister(const std::string& name) {
  return erase_named(params_, name) || erase_named(buffers_, name) || erase_named(children_, name);
}

Tensor* Module::find_parameter(const std::string& name) { return find_named(params_, name); }
Tensor* Module::find_buffer(const std::string& name) { return find_named(buffers_, name); }
std::shared_ptr<Module> Module::find_child(const std::string& name) const {
  for (auto& [n, m] : children_)
    if (n == name) return m;
  return nullptr;
}

void Module::collect(const std::string& prefix, bool params, bool buffers, bool recurse,
                     Named<Tensor>& out) const {
  if (params)
    for (auto& [n, t] : params_) out.emplace_back(prefix + n, t);
  if (buffers)
    for (auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
  if (recurse)
    for (auto& [n, m] : children_) m->collect(prefix + n + ".", params, buffers, true, out);
}

Named<Tensor> Module::named_parameters(bool recurse) const {
  Named<Tensor> out;
  collect("", true, false, recurse, out);
  // a parameter shared by two modules is listed once
  std::set<TensorImpl*> seen;
  Named<Tensor> unique;
  for (auto& p : out)
    if (seen.insert(p.second.impl().get()).second) unique.push_back(p);
  return unique;
}

Named<Tensor> Module::named_buffers(bool recurse) const {
  Named<Tensor> out;
  collect("", false, true, recurse, out);
  return out;
}

Named<std::shared_ptr<Module>> Module::named_modules(const std::string& prefix) {
  Named<std::shared_ptr<Module>> out;
  // A module subclassed in Python is owned by its Python object and has no shared_ptr owner
  // until a parent holds it; its own entry then does not own it (the caller does).
  std::shared_ptr<Module> self = weak_from_this().lock();
  out.emplace_back(prefix, self ? self : std::shared_ptr<Module>(std::shared_ptr<Module>(), this));
  for (auto& [n, m] : children_) {
    auto sub = m->named_modules(prefix.empty() ? n : prefix + "." + n);
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& p : named_parameters(recurse)) out.push_back(p.second);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, m] : children_) m->train(on);
}

void Module::to(Device device, bool non_blocking) {
  for (auto& [name, mod] : named_modules()) {
    for (auto& [n, p] : mod->named_parameters(false)) p.set_data(p.detach().to(device, non_blocking));
    for (auto& [n, b] : mod->named_buffers(false)) b.set_data(b.to(device, non_blocking));
  }
}

void Module::to(DType dtype) {
  CONVNET_CHECK(is_floating(dtype), "Module.to: expected a floating dtype, got ", dtype_name(dtype));
  for (auto& [name, mod] : named_modules()) {
    for (auto& [n, p] : mod->named_parameters(false)) p.set_data(p.detach().to(dtype));
    for (auto& [n, b] : mod->named_buffers(false))  // floating buffers only, as PyTorch
      if (is_floating(b.dtype())) b.set_data(b.to(dtype));
  }
}

void Module::zero_grad(bool set_to_none) {
  for (auto& t : parameters()) {
    if (!t.grad().defined()) continue;
    if (set_to_none)
      t.set_grad(Tensor());
    else
      fill_(t.grad(), 0);
  }
}

void Module::requires_grad_(bool on) {
  for (auto& t : parameters()) t.set_requires_grad(on);
}

Named<Tensor> Module::state_dict() const {
  Named<Tensor> out;
  collect("", true, true, true, out);
  return out;
}

LoadResult Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  LoadResult r;
  Named<Tensor> own = state_dict();
  std::set<std::string> own_names;
  for (auto& [name, t] : own) {
    own_names.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      r.missing_keys.push_back(name);
      continue;
    }
    const Tensor& src = it->second;
    CONVNET_CHECK(src.shape() == t.shape(), "load_state_dict: size mismatch for ", name,
                  ": copying a tensor of shape ", shape_str(src.shape()),
                  ", the shape in the current model is ", shape_str(t.shape()));
  }
  for (auto& [name, t] : state)
    if (!own_names.count(name)) r.unexpected_keys.push_back(name);
  if (strict && (!r.missing_keys.empty() || !r.unexpected_keys.empty())) {
    std::string msg = "load_state_dict: error(s) in loading state_dict for " + type_name() + ":";
    if (!r.missing_keys.empty()) {
      msg += " missing key(s): ";
      for (size_t i = 0; i < r.missing_keys.size(); ++i) msg += (i ? ", \"" : "\"") + r.missing_keys[i] + "\"";
      msg += ".";
    }
    if (!r.unexpected_keys.empty()) {
      msg += " unexpected key(s): ";
      for (size_t i = 0; i < r.unexpected_keys.size(); ++i)
        msg += (i ? ", \"" : "\"") + r.unexpected_keys[i] + "\"";
      msg += ".";
    }
    throw Error(msg);
  }
  NoGradGuard g;
  for (auto& [name, t] : own) {
    auto it = state.find(name);
    if (it == state.end()) continue;
    copy_into(t, it->second);  // from any device and dtype to the module's
  }
  return r;
}

int64_t Module::register_forward_hook(ForwardHook hook) {
  hooks_.emplace_back(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}

int64_t Module::register_forward_pre_hook(ForwardPreHook hook) {
  pre_hooks_.emplace_back(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}

int64_t Module::register_full_backward_hook(BackwardHook hook) {
  backward_hooks_.emplace_back(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}

void Module::remove_hook(int64_t id) {
  auto drop = [id](auto& hooks) {
    hooks.erase(std::remove_if(hooks.begin(), hooks.end(), [id](const auto& h) { return h.first == id; }), hooks.end());
  };
  drop(hooks_);
  drop(pre_hooks_);
  drop(backward_hooks_);
}

std::string Module::repr() const {
  std::string s = type_name() + "(" + extra_repr();
  if (children_.empty()) return s + ")";
  s += "\n";
  for (auto& [n, m] : children_) {
    std::string child = m->repr(), indented;
    for (char c : child) {
      indented += c;
      if (c == '\n') indented += "  ";
    }
    s += "  (" + n + "): " + indented + "\n";
  }
  return s + ")";
}

}  // namespace convnet::nn

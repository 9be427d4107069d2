// Optimizers update parameters in place from their .grad, per parameter group,
// and keep per-parameter state (momentum buffers, running averages, step
// counts) as named tensors.
#pragma once
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "convnet/tensor.h"

namespace convnet::optim {

struct ParamGroup {
  std::vector<Tensor> params;
  // "lr", "momentum", …; flags are 0 or 1; Adam's betas are "beta1" and "beta2".
  std::map<std::string, double> options;
  double get(const std::string& key) const;
};

// Per-parameter state: scalars ("step", NAdam's "mu_product": float32 on the CPU, as
// PyTorch's) and tensors of the parameter's shape, dtype and device ("momentum_buffer",
// "exp_avg", …).
using ParamState = std::map<std::string, Tensor>;

// An optimizer's state in PyTorch's layout: parameters are numbered in group
// order; `state` is keyed by that number and each group lists its numbers.
struct OptimizerState {
  struct Group {
    std::map<std::string, double> options;
    std::vector<int64_t> params;
  };
  std::map<int64_t, ParamState> state;
  std::vector<Group> param_groups;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Parameters without a gradient are skipped.
  virtual void step() = 0;
  void zero_grad(bool set_to_none = true);
  // Adds a group; options it lacks take the optimizer's defaults.
  void add_param_group(ParamGroup group);
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::map<std::string, double>& defaults() const { return defaults_; }
  const std::string& name() const { return name_; }

  // A copy: later steps leave it unchanged.
  OptimizerState state_dict() const;
  // Takes the groups' options and copies of the state from `s`, whose groups
  // must hold as many parameters as this optimizer's; state tensors must have
  // their parameter's shape (they are converted to its dtype and moved to its
  // device; "step" stays on the CPU).
  void load_state_dict(const OptimizerState& s);

 protected:
  // `state_names`: the per-parameter state entries this optimizer may keep.
  Optimizer(std::string name, std::map<std::string, double> defaults,
            std::vector<std::string> state_names);
  // Checks the parameter list and adds the groups (constructors call this).
  void add_param_groups(std::vector<ParamGroup> groups);
  // p's state, empty until its first update.
  ParamState& state(const Tensor& p) { return state_[p.impl().get()]; }
  // p's gradient, undefined when it has none; throws unless it has p's shape, dtype and
  // device.
  Tensor grad_of(const Tensor& p) const;
  // The entry `key` of st, created filled with `value` (shaped like p, on p's device) if
  // absent, and moved to p's device and dtype if it is elsewhere (a model moved with
  // Module.to after some steps).
  static Tensor& entry(ParamState& st, const std::string& key, const Tensor& p, double value);
  // st[key], a float32 scalar on the CPU, created holding value if absent.
  static Tensor& scalar_entry(ParamState& st, const std::string& key, double value);
  // st["step"], created at 0 if absent.
  static Tensor& step_entry(ParamState& st) { return scalar_entry(st, "step", 0); }
  // True for the state entries that are scalars on the CPU rather than tensors shaped
  // like their parameter.
  static bool is_scalar_state(const std::string& key) { return key == "step" || key == "mu_product"; }
  // Adds one to st["step"] and returns the new count.
  static double count_step(ParamState& st);

  std::vector<ParamGroup> groups_;
  std::map<std::string, double> defaults_;

 private:
  std::string name_;
  std::vector<std::string> state_names_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

}  // namespace convnet::optim

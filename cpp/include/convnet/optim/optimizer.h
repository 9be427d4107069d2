// Optimizers update parameters in place from their .grad, per parameter group.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "convnet/tensor.h"

namespace convnet::optim {

struct ParamGroup {
  std::vector<Tensor> params;
  std::map<std::string, double> options;  // "lr", "momentum", …
  double get(const std::string& key) const;
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

 protected:
  Optimizer(std::map<std::string, double> defaults) : defaults_(std::move(defaults)) {}
  std::vector<ParamGroup> groups_;
  std::map<std::string, double> defaults_;
};

}  // namespace convnet::optim

// What the optimizers' constructors and steps share about their options: the range
// checks, with PyTorch's messages, and the hyperparameters of Adam and its variants
// (AdamW, NAdam, RAdam, LAMB) read from a parameter group.
#pragma once
#include <initializer_list>
#include <string>
#include <utility>

#include "convnet/check.h"
#include "convnet/optim/optimizer.h"
#include "updates.h"

namespace convnet::optim {

// Throws "<name>: invalid <what>: <value>" for the first option that is not >= 0 (NaN
// included); `what` in PyTorch's words: "learning rate", "epsilon value", "weight_decay value".
inline void check_nonnegative(const std::string& name,
                              std::initializer_list<std::pair<const char*, double>> options) {
  for (const auto& [what, value] : options) CONVNET_CHECK(value >= 0, name, ": invalid ", what, ": ", value);
}

// Adam and its variants: lr and eps >= 0, both betas in [0, 1), weight_decay >= 0.
inline void check_adam_options(const std::string& name, double lr, double beta1, double beta2, double eps,
                               double weight_decay) {
  check_nonnegative(name, {{"learning rate", lr}, {"epsilon value", eps}});
  const double betas[] = {beta1, beta2};
  for (int i = 0; i < 2; ++i)
    CONVNET_CHECK(betas[i] >= 0 && betas[i] < 1, name, ": invalid beta parameter at index ", i, ": ", betas[i]);
  check_nonnegative(name, {{"weight_decay value", weight_decay}});
}

// The options Adam and its variants read from a parameter group.
struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;

  explicit AdamOptions(const ParamGroup& g)
      : lr(g.get("lr")),
        beta1(g.get("beta1")),
        beta2(g.get("beta2")),
        eps(g.get("eps")),
        weight_decay(g.get("weight_decay")) {}

  // The update kernels' hyperparameters, converted to the parameters' type T.
  template <typename T>
  AdamHyper<T> hyper(bool decoupled, bool maximize) const {
    return {static_cast<T>(weight_decay), static_cast<T>(1 - lr * weight_decay),
            static_cast<T>(1 - beta1),    static_cast<T>(beta2),
            static_cast<T>(1 - beta2),    static_cast<T>(eps),
            decoupled,                    maximize};
  }
};

}  // namespace convnet::optim

#include "norms.h"

#include <utility>

#include "dispatch.h"
#include "tensor_lists.h"

namespace convnet::optim {

std::vector<double> l2_norms(const std::vector<Tensor>& ts, const char* op) {
  // TensorLists groups the tensors by device and dtype in the order they first appear and
  // keeps their order within a group: members[k] lists the indices of group k's tensors.
  std::vector<std::pair<Device, DType>> keys;
  std::vector<std::vector<size_t>> members;
  TensorLists lists(1);
  for (size_t i = 0; i < ts.size(); ++i) {
    const Tensor& t = ts[i];
    if (t.numel() == 0) continue;
    size_t k = 0;
    while (k < keys.size() && !(keys[k].first == t.device() && keys[k].second == t.dtype())) ++k;
    if (k == keys.size()) {
      keys.emplace_back(t.device(), t.dtype());
      members.emplace_back();
    }
    members[k].push_back(i);
    lists.add({t});
  }
  std::vector<double> out(ts.size(), 0.0);
  size_t k = 0;
  lists.for_each(op, [&](Device dev, const auto& l) {
    using T = typename std::decay_t<decltype(l)>::Scalar;
    Tensor n = Tensor::empty({l.count}, DType::Float64, dev);
    CONVNET_KERNEL(dev, grad_norms, <T>)(norm_order(2), l, n.data<double>());
    std::vector<double> host(static_cast<size_t>(l.count));
    copy_bytes(host.data(), Device(), n.raw_data(), n.device(), n.nbytes());
    for (size_t j = 0; j < host.size(); ++j) out[members[k][j]] = host[j];
    ++k;
  });
  return out;
}

}  // namespace convnet::optim

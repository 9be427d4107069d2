// The ops layer's side of the multi-tensor kernels (cpu/tensor_list.h): tensors are
// added with their operands and per-tensor scalars, grouped by device and dtype, and
// each group becomes one kernel call, its table built once on the host and, for a
// GPU, uploaded with one asynchronous copy from pinned memory.
#pragma once
#include <type_traits>
#include <vector>

#include "convnet/tensor.h"
#include "cpu/tensor_list.h"

namespace convnet {

class TensorLists {
 public:
  // Every tensor comes with `operands` operands and `scalars` scalars.
  TensorLists(int operands, int scalars = 0);

  // Adds a tensor: operands[0] decides its device, dtype and size (an empty one is
  // skipped); each other operand matches it or is undefined (an absent state, null
  // in the list).
  void add(const std::vector<Tensor>& operands, const std::vector<double>& scalars = {});
  bool empty() const { return groups_.empty(); }

  // Calls f(device, list) for each device and dtype in the order they were first added,
  // with a cpu::TensorList<T> (T float or double; `op` names other dtypes in the error)
  // whose table is on that device, which is made the current one.
  template <typename F>
  void for_each(const char* op, const F& f) const;

 private:
  struct Group {
    Device device;
    DType dtype;
    std::vector<int64_t> sizes;
    std::vector<void*> ptrs;      // (count, operands)
    std::vector<double> scalars;  // (count, scalars)
  };
  // Group g's table (offsets, scalars, operand pointers; cpu/tensor_list.h) in a tensor
  // of 8-byte words on g's device.
  Tensor table(const Group& g) const;

  int operands_, scalars_;
  std::vector<Group> groups_;
};

template <typename F>
void TensorLists::for_each(const char* op, const F& f) const {
  for (const Group& g : groups_) {
    dispatch_floating(g.dtype, op, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      const Tensor t = table(g);
      const int64_t count = static_cast<int64_t>(g.sizes.size());
      const int64_t* words = t.data<int64_t>();  // device memory for a GPU: addresses only
      cpu::TensorList<T> l;
      l.count = count;
      for (int64_t n : g.sizes) l.total += n;
      l.offsets = words;
      l.scalars = reinterpret_cast<const double*>(words + count + 1);
      l.ptrs = reinterpret_cast<T* const*>(words + count + 1 + scalars_ * count);
      f(g.device, l);
    });
  }
}

}  // namespace convnet

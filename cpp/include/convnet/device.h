// Devices and element types.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace convnet {

enum class DeviceType { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  Device() = default;
  Device(DeviceType t, int i = 0) : type(t), index(i) {}
  // Parses "cpu", "cuda", "cuda:1".
  static Device parse(const std::string& s);
  std::string str() const;
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// BFloat16 and Float16 are storage types for mixed precision: tensors of them can be
// created, converted (to), copied and saved, and autocast multiplies in them, but the
// ops compute in float32 and float64 only (they reject 16-bit inputs).
enum class DType { Float32, Float64, Int64, UInt8, Bool, BFloat16, Float16, Int32 };

size_t dtype_size(DType t);
// PyTorch spelling: "float32", "float64", "int64", "uint8", "bool", "bfloat16", "float16".
const char* dtype_name(DType t);
// float32, float64, bfloat16 and float16 (PyTorch's dtype.is_floating_point).
bool is_floating(DType t);

}  // namespace convnet

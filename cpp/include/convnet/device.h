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

enum class DType { Float32, Float64, Int64, UInt8, Bool };

size_t dtype_size(DType t);
// PyTorch spelling: "float32", "float64", "int64", "uint8", "bool".
const char* dtype_name(DType t);
bool is_floating(DType t);

}  // namespace convnet

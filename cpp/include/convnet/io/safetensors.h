// Named tensors in the safetensors layout: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
// {str: str}}, then the raw little-endian data. Files are written atomically
// (a temporary file in the same folder, then rename). Tensors on a GPU are copied
// to the host to be written; loaded tensors are on the CPU.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "convnet/tensor.h"

namespace convnet::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

void save_safetensors(const NamedTensors& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  NamedTensors tensors;  // in file order
  std::map<std::string, std::string> metadata;
};

// Throws convnet::Error naming the file and the problem for a missing,
// truncated or foreign file.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace convnet::io

// Named tensors in the safetensors layout: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
// {str: str}}, then the raw little-endian data. Files are written atomically
// (write_file_atomic). Tensors on a GPU are copied
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

// Validates the whole header before allocating (as the safetensors reference reader:
// header length within the file, strict UTF-8 JSON, known dtypes, shape x itemsize equal to
// each tensor's span, spans contiguous from 0 without overlaps or gaps and covering the data
// exactly). Throws convnet::SafetensorsError naming the file, the field and what was expected
// for a truncated, corrupt or foreign file; convnet::Error when it cannot be opened.
SafetensorsFile load_safetensors(const std::string& path);

// Writes `pieces` one after another to `path` atomically: a temporary file in the same folder
// ("<path>.convnet-tmp-XXXXXXXX", locked while written), fsync, rename over `path`, fsync of the
// folder. Temporary files that killed writers left in the folder are removed first. `who`
// names the caller in errors.
void write_file_atomic(const std::string& path, const std::vector<std::pair<const void*, size_t>>& pieces,
                       const char* who);

}  // namespace convnet::io

// Errors and argument checks. Errors on user input are exceptions whose message
// names the op, the shapes and what was expected. Every exception convnet throws
// for bad input or state is a convnet::Error (a std::runtime_error); the subclass
// says which Python exception the bindings raise with the same message:
//   convnet::ValueError -> ValueError, convnet::IndexError -> IndexError,
//   convnet::SafetensorsError -> convnet.SafetensorsError (a ValueError),
//   convnet::OutOfMemoryError -> convnet.OutOfMemoryError (a MemoryError),
//   any other convnet::Error -> RuntimeError.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace convnet {

using Shape = std::vector<int64_t>;

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// An argument has a wrong value, shape or dtype (Python ValueError).
class ValueError : public Error {
 public:
  using Error::Error;
};
// An index or dimension is out of range (Python IndexError).
class IndexError : public Error {
 public:
  using Error::Error;
};

// A safetensors file is truncated, corrupt or foreign (Python convnet.SafetensorsError).
class SafetensorsError : public ValueError {
 public:
  using ValueError::ValueError;
};
// An allocation failed even after the caching allocator returned its cache to the system
// (Python convnet.OutOfMemoryError, a MemoryError).
class OutOfMemoryError : public Error {
 public:
  using Error::Error;
};

// "(64, 1, 28, 28)"
std::string shape_str(const Shape& s);

namespace detail {
inline void append(std::ostringstream&) {}
template <typename A, typename... R>
void append(std::ostringstream& os, const A& a, const R&... r) {
  os << a;
  append(os, r...);
}
}  // namespace detail

template <typename... Args>
std::string cat_str(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

}  // namespace convnet

// CONVNET_CHECK(cond, "conv2d: ", "input has ", c, " channels") throws convnet::ValueError.
#define CONVNET_CHECK(cond, ...)                                       \
  do {                                                                 \
    if (!(cond)) throw ::convnet::ValueError(::convnet::cat_str(__VA_ARGS__)); \
  } while (0)

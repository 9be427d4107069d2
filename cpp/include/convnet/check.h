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

namespace detail {
// The failing branch of CONVNET_CHECK, kept out of line so that a passing check is a compare
// and a branch.
template <typename... Args>
[[noreturn, gnu::cold, gnu::noinline]] void throw_value_error(const Args&... args) {
  throw ValueError(cat_str(args...));
}
}  // namespace detail

}  // namespace convnet

// CONVNET_CHECK(cond, "conv2d: ", "input has ", c, " channel(s)") throws convnet::ValueError.
// The message pieces are evaluated and formatted only when cond is false: pass the pieces
// (literals, numbers, shape_str(...) calls), never a string formatted before the check.
#define CONVNET_CHECK(cond, ...)                                                    \
  do {                                                                              \
    if (__builtin_expect(!(cond), 0)) ::convnet::detail::throw_value_error(__VA_ARGS__); \
  } while (0)

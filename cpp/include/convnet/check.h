// Argument checks. Errors on user input are exceptions whose message names the
// op, the shapes and what was expected; std::invalid_argument reaches Python as
// ValueError, std::out_of_range as IndexError, std::runtime_error as RuntimeError.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace convnet {

using Shape = std::vector<int64_t>;

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

// CONVNET_CHECK(cond, "conv2d: ", "input has ", c, " channels") throws std::invalid_argument.
#define CONVNET_CHECK(cond, ...)                                       \
  do {                                                                 \
    if (!(cond)) throw std::invalid_argument(::convnet::cat_str(__VA_ARGS__)); \
  } while (0)

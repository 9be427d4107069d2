#include "convnet/io/safetensors.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace convnet::io {

namespace {

const char* st_dtype(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::UInt8: return "U8";
    case DType::Bool: return "BOOL";
    case DType::BFloat16: return "BF16";
    case DType::Float16: return "F16";
  }
  return "";
}

bool parse_st_dtype(const std::string& s, DType& out) {
  static const std::pair<const char*, DType> table[] = {{"F32", DType::Float32}, {"F64", DType::Float64},
                                                        {"I64", DType::Int64},   {"U8", DType::UInt8},
                                                        {"BOOL", DType::Bool},   {"BF16", DType::BFloat16},
                                                        {"F16", DType::Float16}};
  for (auto& [n, t] : table)
    if (s == n) {
      out = t;
      return true;
    }
  return false;
}

std::string json_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      r += '\\';
      r += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      r += buf;
    } else {
      r += c;
    }
  }
  return r;
}

// A small JSON reader for the safetensors header: objects, arrays, strings, integers.
struct Json {
  enum Kind { Object, Array, String, Number } kind = Number;
  std::vector<std::pair<std::string, Json>> object;
  std::vector<Json> array;
  std::string str;
  int64_t num = 0;
};

class Parser {
 public:
  Parser(const std::string& s, const std::string& path) : s_(s), path_(path) {}
  Json parse() {
    Json j = value(0);
    ws();
    if (i_ != s_.size()) fail("trailing characters after the header");
    return j;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(cat_str("load: ", path_, " is not a valid safetensors file: bad JSON header (",
                                     what, " at byte ", i_, ")"));
  }
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  char peek() {
    ws();
    if (i_ >= s_.size()) fail("unexpected end");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  Json value(int depth) {
    if (depth > 8) fail("nesting too deep");
    char c = peek();
    Json j;
    if (c == '{') {
      j.kind = Json::Object;
      ++i_;
      if (peek() == '}') {
        ++i_;
        return j;
      }
      while (true) {
        std::string k = string();
        expect(':');
        j.object.emplace_back(k, value(depth + 1));
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect('}');
        return j;
      }
    }
    if (c == '[') {
      j.kind = Json::Array;
      ++i_;
      if (peek() == ']') {
        ++i_;
        return j;
      }
      while (true) {
        j.array.push_back(value(depth + 1));
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect(']');
        return j;
      }
    }
    if (c == '"') {
      j.kind = Json::String;
      j.str = string();
      return j;
    }
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      j.kind = Json::Number;
      size_t start = i_;
      if (s_[i_] == '-') ++i_;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (i_ == start || (s_[start] == '-' && i_ == start + 1)) fail("expected digits");
      if (i_ - start > 18) fail("integer too large");
      j.num = std::stoll(s_.substr(start, i_ - start));
      return j;
    }
    fail("unexpected character");
  }
  std::string string() {
    expect('"');
    std::string r;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      char c = s_[i_++];
      if (c == '"') return r;
      if (c == '\\') {
        if (i_ >= s_.size()) fail("unterminated escape");
        char e = s_[i_++];
        switch (e) {
          case 'n': r += '\n'; break;
          case 't': r += '\t'; break;
          case 'r': r += '\r'; break;
          case 'b': r += '\b'; break;
          case 'f': r += '\f'; break;
          case 'u': {
            if (i_ + 4 > s_.size() || !std::all_of(s_.begin() + i_, s_.begin() + i_ + 4, [](char h) {
                  return std::isxdigit(static_cast<unsigned char>(h));
                }))
              fail("bad \\u escape");
            unsigned v = std::stoul(s_.substr(i_, 4), nullptr, 16);
            i_ += 4;
            if (v < 0x80) {
              r += static_cast<char>(v);
            } else if (v < 0x800) {
              r += static_cast<char>(0xC0 | (v >> 6));
              r += static_cast<char>(0x80 | (v & 0x3F));
            } else {
              r += static_cast<char>(0xE0 | (v >> 12));
              r += static_cast<char>(0x80 | ((v >> 6) & 0x3F));
              r += static_cast<char>(0x80 | (v & 0x3F));
            }
            break;
          }
          default: r += e;
        }
      } else {
        r += c;
      }
    }
  }
  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

}  // namespace

void save_safetensors(const NamedTensors& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata) {
  std::ostringstream h;
  h << "{";
  bool first = true;
  if (!metadata.empty()) {
    h << "\"__metadata__\":{";
    bool f2 = true;
    for (auto& [k, v] : metadata) {
      h << (f2 ? "" : ",") << "\"" << json_escape(k) << "\":\"" << json_escape(v) << "\"";
      f2 = false;
    }
    h << "}";
    first = false;
  }
  size_t offset = 0;
  for (auto& [name, t] : tensors) {
    CONVNET_CHECK(t.defined(), "save: tensor \"", name, "\" is undefined");
    CONVNET_CHECK(t.device().is_cpu(), "save: tensor \"", name, "\" must be on the CPU");
    h << (first ? "" : ",") << "\"" << json_escape(name) << "\":{\"dtype\":\"" << st_dtype(t.dtype())
      << "\",\"shape\":[";
    for (size_t i = 0; i < t.shape().size(); ++i) h << (i ? "," : "") << t.shape()[i];
    h << "],\"data_offsets\":[" << offset << "," << offset + t.nbytes() << "]}";
    offset += t.nbytes();
    first = false;
  }
  h << "}";
  std::string header = h.str();
  header.append((8 - header.size() % 8) % 8, ' ');  // data starts 8-byte aligned

  // temporary file in the same folder, renamed over the target when complete
  std::random_device rd;
  std::string tmp = cat_str(path, ".tmp", std::hex, rd());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(cat_str("save: cannot open ", tmp, " for writing"));
    uint64_t n = header.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    f.write(reinterpret_cast<const char*>(len), 8);
    f.write(header.data(), header.size());
    for (auto& [name, t] : tensors) f.write(static_cast<const char*>(t.raw_data()), t.nbytes());
    f.flush();
    if (!f) {
      f.close();
      std::remove(tmp.c_str());
      throw Error(cat_str("save: writing ", tmp, " failed (disk full?)"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(cat_str("save: cannot rename ", tmp, " to ", path));
  }
}

SafetensorsFile load_safetensors(const std::string& path) {
  if (std::filesystem::is_directory(path))
    throw Error(cat_str("load: ", path, " is a directory, expected a safetensors file"));
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error(cat_str("load: cannot open ", path, " (no such file or not readable)"));
  const uint64_t size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  auto bad = [&](const std::string& what) {
    return Error(cat_str("load: ", path, " is not a valid safetensors file: ", what));
  };
  if (size < 8) throw bad(cat_str("it has ", size, " bytes, fewer than the 8-byte header length"));
  unsigned char len[8];
  f.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > size - 8 || n > (100u << 20))
    throw bad(cat_str("the header claims ", n, " bytes but the file has ", size, " bytes"));
  std::string header(n, '\0');
  f.read(header.data(), n);
  if (n == 0 || header[0] != '{') throw bad("the header is not a JSON object");
  Json root = Parser(header, path).parse();
  if (root.kind != Json::Object) throw bad("the header is not a JSON object");
  const uint64_t data_size = size - 8 - n;
  SafetensorsFile out;
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto& [name, v] : root.object) {
    if (name == "__metadata__") {
      if (v.kind != Json::Object) throw bad("__metadata__ is not an object");
      for (auto& [k, s] : v.object) {
        if (s.kind != Json::String) throw bad("__metadata__ values must be strings");
        out.metadata[k] = s.str;
      }
      continue;
    }
    Entry e{name, DType::Float32, {}, 0, 0};
    const Json *dt = nullptr, *sh = nullptr, *off = nullptr;
    if (v.kind != Json::Object) throw bad(cat_str("entry \"", name, "\" is not an object"));
    for (auto& [k, x] : v.object) {
      if (k == "dtype") dt = &x;
      if (k == "shape") sh = &x;
      if (k == "data_offsets") off = &x;
    }
    if (!dt || !sh || !off || dt->kind != Json::String || sh->kind != Json::Array ||
        off->kind != Json::Array || off->array.size() != 2)
      throw bad(cat_str("entry \"", name, "\" lacks dtype, shape or data_offsets"));
    if (!parse_st_dtype(dt->str, e.dtype))
      throw bad(cat_str("entry \"", name, "\" has unsupported dtype ", dt->str,
                        " (supported: F32, F64, I64, U8, BOOL)"));
    int64_t count = 1;
    for (auto& d : sh->array) {
      if (d.kind != Json::Number || d.num < 0 || d.num > (int64_t(1) << 40))
        throw bad(cat_str("entry \"", name, "\" has an invalid shape"));
      e.shape.push_back(d.num);
      if (d.num > 0 && count > (int64_t(1) << 40) / d.num)  // checked before multiplying: no overflow
        throw bad(cat_str("entry \"", name, "\" is too large"));
      count *= d.num;
    }
    if (off->array[0].kind != Json::Number || off->array[1].kind != Json::Number || off->array[0].num < 0 ||
        off->array[1].num < off->array[0].num)
      throw bad(cat_str("entry \"", name, "\" has invalid data_offsets"));
    e.begin = off->array[0].num;
    e.end = off->array[1].num;
    if (e.end - e.begin != static_cast<uint64_t>(count) * dtype_size(e.dtype))
      throw bad(cat_str("entry \"", name, "\" has ", e.end - e.begin, " bytes of data but shape ",
                        shape_str(e.shape), " of ", dtype_name(e.dtype), " needs ", count * dtype_size(e.dtype)));
    if (e.end > data_size)
      throw bad(cat_str("the file is truncated: entry \"", name, "\" ends at byte ", e.end,
                        " of the data section, which has ", data_size, " bytes"));
    entries.push_back(std::move(e));
  }
  for (auto& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    f.seekg(static_cast<std::streamoff>(8 + n + e.begin));
    f.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(e.end - e.begin));
    if (!f) throw bad(cat_str("reading entry \"", e.name, "\" failed"));
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

}  // namespace convnet::io

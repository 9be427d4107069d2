#include "convnet/io/safetensors.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace convnet::io {

namespace {

const char* st_dtype(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::Int32: return "I32";
    case DType::UInt8: return "U8";
    case DType::Bool: return "BOOL";
    case DType::BFloat16: return "BF16";
    case DType::Float16: return "F16";
  }
  return "";
}

bool parse_st_dtype(const std::string& s, DType& out) {
  static const std::pair<const char*, DType> table[] = {{"F32", DType::Float32}, {"F64", DType::Float64},
                                                        {"I64", DType::Int64},   {"I32", DType::Int32},   {"U8", DType::UInt8},
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

// The temporary files of write_file_atomic are "<target>.convnet-tmp-<8 hex digits>", locked
// (flock) by their writer until renamed: an unlocked one was left by a writer that died.
constexpr const char* kTmpMark = ".convnet-tmp-";

// Removes the temporary files that dead writers left in `folder`.
void remove_stale_temporaries(const std::filesystem::path& folder) {
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(folder, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t mark = name.rfind(kTmpMark);
    if (mark == std::string::npos || name.size() != mark + std::strlen(kTmpMark) + 8) continue;
    const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(it->path().c_str());  // no live writer holds it
    ::close(fd);
  }
}

void fsync_folder(const std::filesystem::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// A strict JSON reader (RFC 8259, as serde_json) for the safetensors header. Numbers keep
// their value only when they are non-negative integers that fit 64 bits (sizes and offsets).
struct Json {
  enum Kind { Object, Array, String, Number, Literal } kind = Literal;
  std::vector<std::pair<std::string, Json>> object;
  std::vector<Json> array;
  std::string str;
  bool is_size = false;  // a non-negative integer below 2^64, held in `size`
  uint64_t size = 0;
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
    throw SafetensorsError(cat_str("load: ", path_, " is not a valid safetensors file: bad JSON header (",
                                   what, " at byte ", i_, ")"));
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
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
  bool digit() const { return i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9'; }
  Json value(int depth) {
    if (depth > 64) fail("nesting too deep");
    char c = peek();
    Json j;
    if (c == '{' || c == '[') {
      const bool obj = c == '{';
      j.kind = obj ? Json::Object : Json::Array;
      ++i_;
      if (peek() == (obj ? '}' : ']')) {
        ++i_;
        return j;
      }
      while (true) {
        if (obj) {
          if (peek() != '"') fail("expected a string key");
          std::string k = string();
          expect(':');
          j.object.emplace_back(std::move(k), value(depth + 1));
        } else {
          j.array.push_back(value(depth + 1));
        }
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect(obj ? '}' : ']');
        return j;
      }
    }
    if (c == '"') {
      j.kind = Json::String;
      j.str = string();
      return j;
    }
    for (const char* lit : {"true", "false", "null"})
      if (s_.compare(i_, std::strlen(lit), lit) == 0) {
        i_ += std::strlen(lit);
        j.str = lit;
        return j;
      }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    fail("unexpected character");
  }
  Json number() {
    Json j;
    j.kind = Json::Number;
    const bool negative = s_[i_] == '-';
    if (negative) ++i_;
    if (!digit()) fail("expected digits");
    const size_t first = i_;
    if (s_[i_] == '0') {
      ++i_;
    } else {
      while (digit()) ++i_;
    }
    bool integer = true;
    uint64_t v = 0;
    for (size_t k = first; k < i_; ++k) {
      const uint64_t d = static_cast<uint64_t>(s_[k] - '0');
      if (v > (UINT64_MAX - d) / 10) integer = false;  // checked: past 2^64 it is a float for serde
      v = v * 10 + d;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digit()) fail("expected digits after '.'");
      while (digit()) ++i_;
      integer = false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digit()) fail("expected digits in the exponent");
      while (digit()) ++i_;
      integer = false;
    }
    j.is_size = integer && !negative;
    j.size = v;
    return j;
  }
  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("bad \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
      else fail("bad \\u escape");
    }
    return v;
  }
  static void utf8(std::string& r, unsigned v) {
    if (v < 0x80) {
      r += static_cast<char>(v);
    } else if (v < 0x800) {
      r += static_cast<char>(0xC0 | (v >> 6));
      r += static_cast<char>(0x80 | (v & 0x3F));
    } else if (v < 0x10000) {
      r += static_cast<char>(0xE0 | (v >> 12));
      r += static_cast<char>(0x80 | ((v >> 6) & 0x3F));
      r += static_cast<char>(0x80 | (v & 0x3F));
    } else {
      r += static_cast<char>(0xF0 | (v >> 18));
      r += static_cast<char>(0x80 | ((v >> 12) & 0x3F));
      r += static_cast<char>(0x80 | ((v >> 6) & 0x3F));
      r += static_cast<char>(0x80 | (v & 0x3F));
    }
  }
  std::string string() {
    expect('"');
    std::string r;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return r;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        r += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      switch (s_[i_++]) {
        case '"': r += '"'; break;
        case '\\': r += '\\'; break;
        case '/': r += '/'; break;
        case 'n': r += '\n'; break;
        case 't': r += '\t'; break;
        case 'r': r += '\r'; break;
        case 'b': r += '\b'; break;
        case 'f': r += '\f'; break;
        case 'u': {
          unsigned v = hex4();
          if (v >= 0xDC00 && v < 0xE000) fail("lone trailing surrogate in a \\u escape");
          if (v >= 0xD800 && v < 0xDC00) {
            if (s_.compare(i_, 2, "\\u") != 0) fail("lone leading surrogate in a \\u escape");
            i_ += 2;
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("lone leading surrogate in a \\u escape");
            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
          }
          utf8(r, v);
          break;
        }
        default: fail("invalid escape");
      }
    }
  }
  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

// Whether s is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c < 0x80) len = 1;
    else if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += len;
  }
  return true;
}

// Bits per element of every dtype the safetensors format defines (convnet reads a subset).
int st_dtype_bits(const std::string& s) {
  static const std::pair<const char*, int> table[] = {
      {"BOOL", 8},     {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8},   {"I8", 8},   {"F8_E5M2", 8},
      {"F8_E4M3", 8},  {"F8_E8M0", 8}, {"I16", 16},    {"U16", 16},    {"F16", 16}, {"BF16", 16}, {"I32", 32},
      {"U32", 32},     {"F32", 32},    {"C64", 64},    {"F64", 64},    {"I64", 64}, {"U64", 64}};
  for (auto& [n, b] : table)
    if (s == n) return b;
  return 0;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::vector<std::pair<const void*, size_t>>& pieces,
                       const char* who) {
  const std::filesystem::path target = std::filesystem::absolute(path);
  const std::filesystem::path folder = target.parent_path();
  remove_stale_temporaries(folder);
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(std::random_device()()));
  const std::string tmp = cat_str(target.string(), kTmpMark, suffix);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(cat_str(who, ": cannot open ", tmp, " for writing (", std::strerror(errno), ")"));
  // the error of a failed step (`what`, e.g. "cannot write <tmp>"), the temporary file removed
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error(cat_str(who, ": ", what, " (", std::strerror(err), ")"));
  };
  if (::flock(fd, LOCK_EX) != 0) throw fail(cat_str("cannot lock ", tmp));
  for (auto [data, n] : pieces) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw fail(cat_str("cannot write ", tmp));
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  if (::fsync(fd) != 0) throw fail(cat_str("cannot flush ", tmp));
  if (::rename(tmp.c_str(), target.c_str()) != 0) throw fail(cat_str("cannot rename ", tmp, " to ", path));
  ::close(fd);
  fsync_folder(folder);
}

void save_safetensors(const NamedTensors& named, const std::string& path,
                      const std::map<std::string, std::string>& metadata) {
  NamedTensors tensors;  // on the host: tensors on a GPU are copied there
  for (auto& [name, t] : named) {
    CONVNET_CHECK(t.defined(), "save: tensor \"", name, "\" is undefined");
    tensors.emplace_back(name, t.to(Device()).contiguous());
  }
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

  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  bytes += header;
  std::vector<std::pair<const void*, size_t>> pieces{{bytes.data(), bytes.size()}};
  for (auto& [name, t] : tensors) pieces.emplace_back(t.raw_data(), t.nbytes());
  write_file_atomic(path, pieces, "save");
}

SafetensorsFile load_safetensors(const std::string& path) {
  if (std::filesystem::is_directory(path))
    throw Error(cat_str("load: ", path, " is a directory, expected a safetensors file"));
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error(cat_str("load: cannot open ", path, " (no such file or not readable)"));
  const uint64_t size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  auto bad = [&](const std::string& what) {
    return SafetensorsError(cat_str("load: ", path, " is not a valid safetensors file: ", what));
  };
  if (size < 8) throw bad(cat_str("it has ", size, " bytes, fewer than the 8-byte header length"));
  unsigned char len[8];
  f.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  constexpr uint64_t kMaxHeader = 100000000;  // the safetensors format's limit
  if (n > size - 8 || n > kMaxHeader)
    throw bad(cat_str("header length: the header claims ", n, " bytes but the file has ", size, " bytes",
                      n > kMaxHeader ? cat_str(" (and the format allows at most ", kMaxHeader, ")") : ""));
  std::string header(n, '\0');
  f.read(header.data(), static_cast<std::streamsize>(n));
  if (!f) throw bad("reading the header failed");
  if (!valid_utf8(header)) throw bad("header: expected UTF-8 text, it holds invalid UTF-8 bytes");
  if (n == 0) throw bad("the header is not a JSON object (it is empty)");
  Json root = Parser(header, path).parse();
  if (root.kind != Json::Object) throw bad("the header is not a JSON object");
  const uint64_t data_size = size - 8 - n;
  SafetensorsFile out;
  struct Entry {
    std::string name;
    std::string dtype;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  std::set<std::string> names;
  for (auto& [name, v] : root.object) {
    if (!names.insert(name).second) throw bad(cat_str("header: the key \"", name, "\" appears twice"));
    if (name == "__metadata__") {
      if (v.kind == Json::Literal && v.str == "null") continue;
      if (v.kind != Json::Object) throw bad("__metadata__: expected an object of strings");
      for (auto& [k, s] : v.object) {
        if (s.kind != Json::String) throw bad(cat_str("__metadata__.", k, ": expected a string"));
        out.metadata[k] = s.str;
      }
      continue;
    }
    if (v.kind != Json::Object) throw bad(cat_str("entry \"", name, "\": expected an object"));
    const Json *dt = nullptr, *sh = nullptr, *off = nullptr;
    for (auto& [k, x] : v.object) {
      const Json** field = k == "dtype" ? &dt : k == "shape" ? &sh : k == "data_offsets" ? &off : nullptr;
      if (field && *field) throw bad(cat_str("entry \"", name, "\": the field ", k, " appears twice"));
      if (field) *field = &x;
    }
    for (auto [field, what] : {std::pair{dt, "dtype"}, {sh, "shape"}, {off, "data_offsets"}})
      if (!field)
        throw bad(cat_str("entry \"", name, "\" lacks dtype, shape or data_offsets (", what, " is missing)"));
    if (dt->kind != Json::String || st_dtype_bits(dt->str) == 0)
      throw bad(cat_str("entry \"", name, "\": dtype: expected a safetensors dtype name (F32, F64, I64, U8, BOOL, "
                        "BF16, F16, ...)"));
    DType supported;
    if (!parse_st_dtype(dt->str, supported))
      throw bad(cat_str("entry \"", name, "\" has unsupported dtype ", dt->str,
                        " (convnet holds F32, F64, I64, U8, BOOL, BF16, F16)"));
    if (sh->kind != Json::Array) throw bad(cat_str("entry \"", name, "\": shape: expected a list of sizes"));
    if (off->kind != Json::Array || off->array.size() != 2 || !off->array[0].is_size || !off->array[1].is_size)
      throw bad(cat_str("entry \"", name, "\": data_offsets: expected [begin, end], two non-negative integers"));
    Entry e{name, dt->str, {}, off->array[0].size, off->array[1].size};
    for (auto& d : sh->array) {
      if (!d.is_size || d.size > static_cast<uint64_t>(INT64_MAX))
        throw bad(cat_str("entry \"", name, "\": shape: expected non-negative integer sizes"));
      e.shape.push_back(static_cast<int64_t>(d.size));
    }
    entries.push_back(std::move(e));
  }
  // The data section holds the tensors back to back in the order of their offsets, from byte 0 to its end.
  std::vector<const Entry*> by_offset;
  for (auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return std::pair(a->begin, a->end) < std::pair(b->begin, b->end); });
  uint64_t covered = 0;
  for (const Entry* e : by_offset) {
    if (e->end > data_size)
      throw bad(cat_str("the file is truncated: entry \"", e->name, "\" ends at byte ", e->end,
                        " of the data section, which has ", data_size, " bytes"));
    if (e->begin != covered || e->end < e->begin)
      throw bad(cat_str("entry \"", e->name, "\": data_offsets [", e->begin, ", ", e->end, "]: expected to begin at ",
                        covered, " (tensors must be contiguous, without overlaps or gaps)"));
    uint64_t count = 1, bits = 0;  // elements, then bits (both checked, as the reference reader)
    bool overflow = false;
    for (int64_t d : e->shape) overflow |= __builtin_mul_overflow(count, static_cast<uint64_t>(d), &count);
    overflow |= __builtin_mul_overflow(count, static_cast<uint64_t>(st_dtype_bits(e->dtype)), &bits);
    if (overflow)
      throw bad(cat_str("entry \"", e->name, "\" is too large: shape ", shape_str(e->shape), " of ", e->dtype,
                        " overflows 64 bits"));
    if (bits % 8 != 0 || bits / 8 != e->end - e->begin)
      throw bad(cat_str("entry \"", e->name, "\" has ", e->end - e->begin, " bytes of data but shape ",
                        shape_str(e->shape), " of ", e->dtype, " needs ", bits / 8,
                        (bits % 8 ? " and a fraction of a byte" : ""), " (data_offsets [", e->begin, ", ", e->end,
                        "])"));
    covered = e->end;
  }
  if (covered != data_size)
    throw bad(cat_str("data: the tensors cover ", covered, " bytes but the file holds ", data_size,
                      " bytes after the header (", covered < data_size ? "trailing bytes" : "truncated", ")"));
  for (auto& e : entries) {
    DType dtype;
    parse_st_dtype(e.dtype, dtype);  // checked above
    try {
      numel_of(e.shape);
    } catch (const ValueError& err) {  // sizes past what a tensor holds (as PyTorch's limits)
      throw bad(cat_str("entry \"", e.name, "\": shape: ", err.what()));
    }
    Tensor t = Tensor::empty(e.shape, dtype);
    f.seekg(static_cast<std::streamoff>(8 + n + e.begin));
    f.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(e.end - e.begin));
    if (!f) throw bad(cat_str("reading entry \"", e.name, "\" failed"));
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

}  // namespace convnet::io

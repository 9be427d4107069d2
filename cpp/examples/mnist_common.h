// What both examples share: LeNet-5 as convnet.models.lenet5 builds it, MNIST's normalization,
// and readers for IDX files (gzip-compressed or not, through zlib) and .npy arrays.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <convnet/convnet.h>

namespace mnist {

// mean and standard deviation of the training pixels scaled to [0, 1] (convnet.datasets.MNIST)
constexpr float kMean = 0.1307f, kStd = 0.3081f;

// conv 6@5x5 pad 2, ReLU, max-pool 2, conv 16@5x5, ReLU, max-pool 2, flatten,
// Linear 400->120, ReLU, 120->84, ReLU, 84->num_classes. Parameter names ("0.weight", ...)
// are those of the Python model, so weights files move between the two.
inline std::shared_ptr<convnet::nn::Sequential> lenet5(int64_t num_classes = 10) {
  using namespace convnet::nn;
  auto m = std::make_shared<Sequential>();
  convnet::Pool2dOptions pool;  // kernel 2, stride 2
  m->append(std::make_shared<Conv2d>(1, 6, Pair{5, 5}, Pair{1, 1}, Pair{2, 2}));
  m->append(std::make_shared<ReLU>());
  m->append(std::make_shared<MaxPool2d>(pool));
  m->append(std::make_shared<Conv2d>(6, 16, Pair{5, 5}));
  m->append(std::make_shared<ReLU>());
  m->append(std::make_shared<MaxPool2d>(pool));
  m->append(std::make_shared<Flatten>());
  m->append(std::make_shared<Linear>(400, 120));
  m->append(std::make_shared<ReLU>());
  m->append(std::make_shared<Linear>(120, 84));
  m->append(std::make_shared<ReLU>());
  m->append(std::make_shared<Linear>(84, num_classes));
  return m;
}

// An array of bytes with its shape, as read from an IDX or .npy file.
struct Array {
  std::vector<int64_t> shape;
  std::string dtype;  // "uint8" or "float32"
  std::vector<char> bytes;
};

// IDX (MNIST's format): magic 0 0 <type> <ndim>, ndim big-endian int32 sizes, then the data.
// Only unsigned bytes (type 0x08), which is what MNIST holds. zlib reads .gz and plain files alike.
inline Array read_idx(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw convnet::Error("read_idx: cannot open " + path);
  std::unique_ptr<gzFile_s, int (*)(gzFile)> close(f, gzclose);
  auto read = [&](void* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      int r = gzread(f, static_cast<char*>(dst) + done, static_cast<unsigned>(n - done));
      if (r <= 0) throw convnet::Error("read_idx: " + path + " is truncated or not an IDX file");
      done += static_cast<size_t>(r);
    }
  };
  unsigned char magic[4];
  read(magic, 4);
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] < 1 || magic[3] > 4)
    throw convnet::Error("read_idx: " + path + " is not an IDX file of unsigned bytes");
  Array a;
  a.dtype = "uint8";
  int64_t n = 1;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char b[4];
    read(b, 4);
    a.shape.push_back((int64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
    n *= a.shape.back();
  }
  a.bytes.resize(static_cast<size_t>(n));
  read(a.bytes.data(), a.bytes.size());
  return a;
}

// .npy version 1-3, C order, dtype '|u1' or '<f4'.
inline Array read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw convnet::Error("read_npy: cannot open " + path);
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw convnet::Error("read_npy: " + path + " is not a .npy file");
  uint32_t hlen = 0;
  unsigned char l[4] = {0, 0, 0, 0};
  f.read(reinterpret_cast<char*>(l), magic[6] == 1 ? 2 : 4);
  hlen = l[0] | (l[1] << 8) | (l[2] << 16) | (uint32_t(l[3]) << 24);
  std::string header(hlen, '\0');
  f.read(&header[0], hlen);
  Array a;
  if (header.find("'|u1'") != std::string::npos) a.dtype = "uint8";
  else if (header.find("'<f4'") != std::string::npos) a.dtype = "float32";
  else throw convnet::Error("read_npy: " + path + ": only uint8 and little-endian float32 arrays are supported");
  if (header.find("'fortran_order': True") != std::string::npos)
    throw convnet::Error("read_npy: " + path + ": Fortran-ordered arrays are not supported");
  size_t s = header.find("'shape': (");
  if (s == std::string::npos) throw convnet::Error("read_npy: " + path + ": no shape in the header");
  const char* p = header.c_str() + s + 10;
  int64_t n = 1;
  while (*p && *p != ')') {
    char* end;
    long long v = std::strtoll(p, &end, 10);
    if (end == p) { ++p; continue; }
    a.shape.push_back(v);
    n *= v;
    p = end;
  }
  a.bytes.resize(static_cast<size_t>(n) * (a.dtype == "uint8" ? 1 : 4));
  if (!f.read(a.bytes.data(), static_cast<std::streamsize>(a.bytes.size())))
    throw convnet::Error("read_npy: " + path + " is truncated");
  return a;
}

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Images [begin, end) of `a` as a float32 (n, 1, H, W) tensor: uint8 pixels are scaled to [0, 1]
// and normalized with MNIST's mean and std; float32 values are taken as they are.
inline convnet::Tensor images(const Array& a, int64_t begin, int64_t end) {
  const int64_t h = a.shape[a.shape.size() - 2], w = a.shape.back(), plane = h * w;
  convnet::Tensor x = convnet::Tensor::empty({end - begin, 1, h, w});
  float* dst = x.data<float>();
  if (a.dtype == "uint8") {
    const auto* src = reinterpret_cast<const unsigned char*>(a.bytes.data()) + begin * plane;
    for (int64_t i = 0; i < (end - begin) * plane; ++i) dst[i] = (src[i] / 255.0f - kMean) / kStd;
  } else {
    std::memcpy(dst, a.bytes.data() + begin * plane * 4, static_cast<size_t>((end - begin) * plane * 4));
  }
  return x;
}

}  // namespace mnist

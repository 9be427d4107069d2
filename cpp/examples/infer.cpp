// Classifies images with a LeNet-5 whose weights were saved from Python (convnet.save(model.state_dict(),
// path) for convnet.models.lenet5()) or by train_lenet.
//
//   infer WEIGHTS.safetensors IMAGES [--threads N] [--limit N]
//
// IMAGES is an IDX file of uint8 images (MNIST's t10k-images-idx3-ubyte[.gz]) or a .npy array:
// uint8 (N, 28, 28) images are scaled to [0, 1] and normalized with MNIST's mean and std;
// float32 (N, 1, 28, 28) or (N, 28, 28) inputs are fed to the model as they are.
// Prints one line per image: its index, the predicted class and the ten logits.
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include <convnet/convnet.h>

#include "mnist_common.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: infer WEIGHTS.safetensors IMAGES(.npy|IDX[.gz]) [--threads N] [--limit N]\n";
    return 2;
  }
  const std::string weights = argv[1], input = argv[2];
  int64_t limit = -1;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--threads") convnet::set_num_threads(std::stoi(v));
    else if (k == "--limit") limit = std::stoll(v);
    else { std::cerr << "infer: unknown option " << k << "\n"; return 2; }
  }
  try {
    auto model = mnist::lenet5();
    std::map<std::string, convnet::Tensor> state;
    for (auto& [name, t] : convnet::io::load_safetensors(weights).tensors) state[name] = t;
    model->load_state_dict(state);  // strict: names and shapes must match
    model->eval();

    const mnist::Array a = mnist::ends_with(input, ".npy") ? mnist::read_npy(input) : mnist::read_idx(input);
    if (a.shape.size() < 3 || a.shape[a.shape.size() - 2] != 28 || a.shape.back() != 28 ||
        (a.shape.size() == 4 && a.shape[1] != 1) || a.shape.size() > 4)
      throw convnet::ValueError("infer: expected images of shape (N, 28, 28) or (N, 1, 28, 28), got " +
                                convnet::shape_str(a.shape));
    const int64_t n = limit >= 0 ? std::min(limit, a.shape[0]) : a.shape[0];

    convnet::NoGradGuard no_grad;
    for (int64_t b = 0; b < n; b += 1000) {
      const int64_t e = std::min(n, b + 1000);
      convnet::Tensor logits = (*model)(mnist::images(a, b, e));
      convnet::Tensor pred = convnet::argmax(logits, 1);
      const int64_t k = logits.size(1);
      for (int64_t i = 0; i < e - b; ++i) {
        std::printf("%lld %lld", static_cast<long long>(b + i), static_cast<long long>(pred.data<int64_t>()[i]));
        for (int64_t j = 0; j < k; ++j) std::printf(" %.9g", logits.data<float>()[i * k + j]);
        std::printf("\n");
      }
    }
  } catch (const convnet::Error& e) {
    std::cerr << "infer: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

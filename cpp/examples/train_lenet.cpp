// Trains LeNet-5 on MNIST with convnet's C++ API, prints the test accuracy after each epoch and
// saves the weights as .safetensors (loadable with convnet.load in Python).
//
//   train_lenet DATA_DIR [--epochs 3] [--threads 0] [--batch-size 64] [--lr 0.05] [--seed 0]
//               [--output lenet5_mnist_cpp.safetensors]
//
// DATA_DIR holds the four MNIST .gz files, directly or in mnist/. SGD with momentum 0.9,
// weight decay 5e-4 and a cosine learning-rate schedule, as `convnet train lenet5`.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <convnet/convnet.h>

#include "mnist_common.h"

namespace {

std::string find_file(const std::string& dir, const std::string& name) {
  for (const std::string& p : {dir + "/" + name, dir + "/mnist/" + name})
    if (std::ifstream(p).good()) return p;
  throw convnet::Error("train_lenet: " + name + " not found in " + dir + " or " + dir + "/mnist");
}

// Fraction of images whose highest logit is the label.
double accuracy(convnet::nn::Module& model, const mnist::Array& x, const mnist::Array& y) {
  convnet::NoGradGuard no_grad;
  model.eval();
  const int64_t n = x.shape[0];
  int64_t correct = 0;
  for (int64_t b = 0; b < n; b += 1000) {
    const int64_t e = std::min(n, b + 1000);
    convnet::Tensor pred = convnet::argmax(model(mnist::images(x, b, e)), 1);
    for (int64_t i = 0; i < e - b; ++i)
      correct += pred.data<int64_t>()[i] == static_cast<unsigned char>(y.bytes[b + i]);
  }
  model.train();
  return double(correct) / double(n);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: train_lenet DATA_DIR [--epochs N] [--threads N] [--batch-size N] [--lr X] "
                 "[--seed N] [--output PATH]\n";
    return 2;
  }
  std::string dir = argv[1], output = "lenet5_mnist_cpp.safetensors";
  int epochs = 3, threads = 0;
  int64_t batch = 64;
  double lr = 0.05;
  uint64_t seed = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--epochs") epochs = std::stoi(v);
    else if (k == "--threads") threads = std::stoi(v);
    else if (k == "--batch-size") batch = std::stoll(v);
    else if (k == "--lr") lr = std::stod(v);
    else if (k == "--seed") seed = std::stoull(v);
    else if (k == "--output") output = v;
    else { std::cerr << "train_lenet: unknown option " << k << "\n"; return 2; }
  }
  try {
    if (threads > 0) convnet::set_num_threads(threads);
    convnet::manual_seed(seed);
    const auto x_train = mnist::read_idx(find_file(dir, "train-images-idx3-ubyte.gz"));
    const auto y_train = mnist::read_idx(find_file(dir, "train-labels-idx1-ubyte.gz"));
    const auto x_test = mnist::read_idx(find_file(dir, "t10k-images-idx3-ubyte.gz"));
    const auto y_test = mnist::read_idx(find_file(dir, "t10k-labels-idx1-ubyte.gz"));
    const int64_t n = x_train.shape[0], plane = 28 * 28;

    auto model = mnist::lenet5();
    convnet::optim::SGD opt({convnet::optim::ParamGroup{model->parameters(), {}}}, lr, 0.9, 0, 5e-4);
    std::printf("training LeNet-5 on MNIST (%lld images), %d epoch(s), batch %lld, lr %g, %d thread(s)\n",
                static_cast<long long>(n), epochs, static_cast<long long>(batch), lr,
                convnet::get_num_threads());

    convnet::Generator gen(seed);
    std::vector<int64_t> order(static_cast<size_t>(n));
    const auto start = std::chrono::steady_clock::now();
    double acc = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      // cosine annealing from lr to 0 over the epochs
      opt.param_groups()[0].options["lr"] = lr * 0.5 * (1 + std::cos(M_PI * epoch / epochs));
      std::iota(order.begin(), order.end(), 0);
      for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.below(i + 1)]);
      double loss_sum = 0;
      int64_t steps = 0;
      for (int64_t b = 0; b < n; b += batch) {
        const int64_t m = std::min(batch, n - b);
        convnet::Tensor x = convnet::Tensor::empty({m, 1, 28, 28});
        convnet::Tensor y = convnet::Tensor::empty({m}, convnet::DType::Int64);
        for (int64_t i = 0; i < m; ++i) {
          const int64_t k = order[b + i];
          const auto* src = reinterpret_cast<const unsigned char*>(x_train.bytes.data()) + k * plane;
          float* dst = x.data<float>() + i * plane;
          for (int64_t j = 0; j < plane; ++j) dst[j] = (src[j] / 255.0f - mnist::kMean) / mnist::kStd;
          y.data<int64_t>()[i] = static_cast<unsigned char>(y_train.bytes[k]);
        }
        convnet::Tensor loss = convnet::cross_entropy((*model)(x), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
        loss_sum += loss.item();
        ++steps;
      }
      acc = accuracy(*model, x_test, y_test);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("epoch %d: train loss %.4f, test accuracy %.2f%% (%.1f s)\n", epoch + 1,
                  loss_sum / steps, acc * 100, secs);
      std::fflush(stdout);
    }
    convnet::io::save_safetensors(model->state_dict(), output);
    std::printf("test accuracy %.2f%%\nweights saved to %s\n", acc * 100, output.c_str());
  } catch (const convnet::Error& e) {
    std::cerr << "train_lenet: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

// The public C++ API through the one umbrella header, built against an installed convnet
// (tests/build/test_embedding.py drives it). Checks tensors, functional ops, autograd, nn modules,
// an optimizer and save/load, exiting non-zero on the first failure; then prints the errors of
// three bad calls as "<C++ type>|<message>" for the Python side to compare with its own.
//
//   api_test SCRATCH_DIR
#include <cmath>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include <convnet/convnet.h>

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok" : "FAIL", what);
  failures += !ok;
}

// The C++ type (most derived of convnet's) and message of what `f` throws.
template <typename F>
void report(const char* name, F f) {
  try {
    f();
    std::printf("%s|none|\n", name);
  } catch (const convnet::SafetensorsError& e) {
    std::printf("%s|SafetensorsError|%s\n", name, e.what());
  } catch (const convnet::ValueError& e) {
    std::printf("%s|ValueError|%s\n", name, e.what());
  } catch (const convnet::IndexError& e) {
    std::printf("%s|IndexError|%s\n", name, e.what());
  } catch (const convnet::Error& e) {
    std::printf("%s|Error|%s\n", name, e.what());
  } catch (const std::exception& e) {
    std::printf("%s|std::exception|%s\n", name, e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: api_test SCRATCH_DIR\n");
    return 2;
  }
  using namespace convnet;
  manual_seed(0);

  // tensors, elementwise ops, reductions and autograd: d/dx sum(x*x + 3x) = 2x + 3
  Tensor x = randn({3, 4});
  x.set_requires_grad(true);
  Tensor y = sum(add(mul(x, x), mul(x, 3.0)));
  y.backward();
  bool grad_ok = x.grad().defined();
  for (int64_t i = 0; grad_ok && i < x.numel(); ++i)
    grad_ok = std::fabs(x.grad().data<float>()[i] - (2 * x.data<float>()[i] + 3)) < 1e-5f;
  expect(grad_ok, "autograd gradient of sum(x*x + 3x)");

  // views, indexing and in-place writes: a transposed view written through, its base sees it;
  // autograd::grad of sum(index_select(x.t(), 0, [2, 0]) * 2) puts 2 in columns 0 and 2 of x
  Tensor base = zeros({2, 3});
  Tensor col = select(transpose(base, 0, 1), 0, 1);  // base[:, 1]
  copy_(col, full({2}, 5.0));
  expect(!transpose(base, 0, 1).is_contiguous() && base.data<float>()[1] == 5 && base.data<float>()[4] == 5 &&
             base.data<float>()[0] == 0,
         "writes through a view reach its base");
  Tensor v = randn({2, 3});
  v.set_requires_grad(true);
  Tensor picked = index_select(transpose(v, 0, 1), 0, arange(2, -1, -2));
  std::vector<Tensor> g = autograd::grad({sum(mul(picked, 2.0))}, {v}, {}, false, false, false);
  bool picked_ok = g.size() == 1 && g[0].shape() == Shape{2, 3} && !v.grad().defined();
  for (int64_t i = 0; picked_ok && i < 6; ++i) picked_ok = g[0].data<float>()[i] == (i % 3 == 1 ? 0.f : 2.f);
  expect(picked_ok, "autograd::grad through index_select of a transposed view");

  // functional conv2d agrees with an nn.Conv2d holding the same weights
  auto conv = std::make_shared<nn::Conv2d>(2, 3, nn::Pair{3, 3});
  Tensor img = randn({1, 2, 5, 5});
  Tensor out_module = (*conv)(img);
  Tensor out_func = conv2d(img, *conv->find_parameter("weight"), *conv->find_parameter("bias"), conv->options);
  bool same = out_module.shape() == Shape{1, 3, 3, 3};
  for (int64_t i = 0; same && i < out_module.numel(); ++i)
    same = out_module.data<float>()[i] == out_func.data<float>()[i];
  expect(same, "nn::Conv2d equals functional conv2d");

  // the layers of issue 13 through the C++ API: GroupNorm after Conv1d, an Embedding lookup,
  // and their gradients (a normalized group sums to zero, so does its input gradient)
  auto conv1 = std::make_shared<nn::Conv1d>(2, 4, 3, 1, 1);
  auto gnorm = std::make_shared<nn::GroupNorm>(2, 4);
  Tensor seq = randn({3, 2, 7});
  seq.set_requires_grad(true);
  Tensor normed = (*gnorm)((*conv1)(seq));
  double group_sum = 0;
  for (int64_t i = 0; i < 2 * 7; ++i) group_sum += normed.data<float>()[i];  // sample 0, group 0
  auto embed = std::make_shared<nn::Embedding>(5, 4, 0);
  Tensor ids = Tensor::empty({3}, DType::Int64);
  for (int64_t i = 0; i < 3; ++i) ids.data<int64_t>()[i] = i;  // rows 0 (padding), 1, 2
  Tensor looked = (*embed)(ids);
  sum(mul(normed, normed)).backward();
  sum(looked).backward();
  const Tensor dw = embed->find_parameter("weight")->grad();
  expect(normed.shape() == Shape{3, 4, 7} && std::fabs(group_sum) < 1e-4 && seq.grad().defined() &&
             dw.data<float>()[0] == 0 && dw.data<float>()[4] == 1 && looked.shape() == Shape{3, 4},
         "Conv1d, GroupNorm and Embedding with their gradients");

  // a few SGD steps lower a regression loss
  auto model = std::make_shared<nn::Sequential>();
  model->append(std::make_shared<nn::Linear>(4, 8));
  model->append(std::make_shared<nn::ReLU>());
  model->append(std::make_shared<nn::Linear>(8, 1));
  optim::SGD opt({optim::ParamGroup{model->parameters(), {}}}, 0.05, 0.9);
  Tensor inputs = randn({32, 4}), targets = randn({32, 1});
  double first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    Tensor loss = mse_loss((*model)(inputs), targets);
    opt.zero_grad();
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  expect(last < first, "SGD lowers the loss");

  // save/load round trip of a state dict
  const std::string path = std::string(argv[1]) + "/api_test.safetensors";
  io::save_safetensors(model->state_dict(), path);
  auto copy = std::make_shared<nn::Sequential>();
  copy->append(std::make_shared<nn::Linear>(4, 8));
  copy->append(std::make_shared<nn::ReLU>());
  copy->append(std::make_shared<nn::Linear>(8, 1));
  std::map<std::string, Tensor> state;
  for (auto& [name, t] : io::load_safetensors(path).tensors) state[name] = t;
  copy->load_state_dict(state);
  Tensor a, b;
  {
    NoGradGuard no_grad;
    a = (*model)(inputs);
    b = (*copy)(inputs);
  }
  bool equal = a.shape() == b.shape();
  for (int64_t i = 0; equal && i < a.numel(); ++i) equal = a.data<float>()[i] == b.data<float>()[i];
  expect(equal, "a loaded state dict gives the same outputs");

  // errors: convnet::Error subclasses, also caught as std::exception
  bool caught = false;
  try {
    conv2d(randn({1, 3, 8, 8}), randn({4, 1, 3, 3}), Tensor(), Conv2dOptions{});
  } catch (const std::exception&) {
    caught = true;
  }
  expect(caught, "a convnet error is a std::exception");

  report("conv2d", [] { conv2d(randn({2, 3, 8, 8}), randn({4, 1, 3, 3}), Tensor(), Conv2dOptions{}); });
  report("softmax", [] { softmax(randn({2, 3}), 5); });
  const std::string bad = std::string(argv[1]) + "/not_safetensors.bin";
  std::FILE* f = std::fopen(bad.c_str(), "wb");
  std::fputs("hello", f);
  std::fclose(f);
  report("load", [&] { io::load_safetensors(bad); });
  return failures == 0 ? 0 : 1;
}

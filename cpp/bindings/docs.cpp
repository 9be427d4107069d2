// Docstrings of the bound classes, set once the classes exist, so that help(convnet.nn.Conv2d),
// editors and the type stubs (python/convnet/_core/*.pyi) show what each takes. The signatures
// themselves come from the argument names given in the bindings.
#include "bindings.h"

namespace convnet::bindings {

namespace {
void doc(py::module_& m, const char* name, const char* text) {
  if (py::hasattr(m, name)) py::setattr(m.attr(name), "__doc__", py::str(text));
}
}  // namespace

void add_docs(py::module_& m) {
  doc(m, "Tensor", "Tensor(data): an n-dimensional array (float32, float64, int64, uint8 or bool) with autograd.\n\n"
      "Contiguous and row-major; images are NCHW. Create with convnet.tensor, zeros, ones, randn, "
      "from_numpy; x.numpy() views the data; x.backward() accumulates gradients into the .grad of leaves.");
  py::module_ nn = m.attr("nn");
  doc(nn, "Module", "Base class of all modules (as torch.nn.Module): parameters, buffers and child modules "
      "registered by attribute assignment, train()/eval(), state_dict()/load_state_dict(), forward hooks.\n\n"
      "Subclass it in Python and define forward(x); the module is part of the C++ module tree.");
  doc(nn, "Conv2d", "Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, "
      "bias=True, padding_mode='zeros')\n\n2-D convolution over NCHW input (as torch.nn.Conv2d). kernel_size, stride, "
      "padding and dilation are ints or pairs; padding may be 'same' (stride 1) or 'valid'.\n"
      "Input (N, in_channels, H, W) -> output (N, out_channels, P, Q), "
      "P = floor((H + 2*padding - dilation*(kernel-1) - 1) / stride) + 1.\n"
      "weight (out_channels, in_channels/groups, kH, kW) and bias (out_channels) start Kaiming-uniform as PyTorch's.");
  doc(nn, "Linear", "Linear(in_features, out_features, bias=True)\n\ny = x @ weight.T + bias over the last dimension "
      "(as torch.nn.Linear). weight (out_features, in_features), bias (out_features).");
  doc(nn, "MaxPool2d", "MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False)\n\n"
      "2-D max pooling (as torch.nn.MaxPool2d); stride None means the kernel size.");
  doc(nn, "AvgPool2d", "AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, "
      "divisor_override=None)\n\n2-D average pooling (as torch.nn.AvgPool2d); stride None means the kernel size.");
  doc(nn, "AdaptiveAvgPool2d", "AdaptiveAvgPool2d(output_size)\n\nAverage pooling to a fixed (H, W) output size.");
  doc(nn, "Flatten", "Flatten(start_dim=1, end_dim=-1)\n\nMerges dimensions start_dim..end_dim into one (a view).");
  doc(nn, "ReLU", "ReLU(inplace=False)\n\nmax(x, 0) element-wise.");
  doc(nn, "LeakyReLU", "LeakyReLU(negative_slope=0.01, inplace=False)\n\nx if x >= 0 else negative_slope * x.");
  doc(nn, "Sigmoid", "Sigmoid()\n\n1 / (1 + exp(-x)) element-wise.");
  doc(nn, "Tanh", "Tanh()\n\ntanh(x) element-wise.");
  doc(nn, "Softmax", "Softmax(dim)\n\nexp(x) / sum(exp(x)) along dim.");
  doc(nn, "LogSoftmax", "LogSoftmax(dim)\n\nlog(softmax(x)) along dim, computed stably.");
  doc(nn, "Dropout", "Dropout(p=0.5, inplace=False)\n\nIn training, zeroes each element with probability p and scales "
      "the rest by 1/(1-p); the identity in eval mode. Draws from convnet.manual_seed's generator.");
  doc(nn, "Sequential", "Sequential(*modules)\n\nCalls the modules in order; children are named '0', '1', ...; "
      "indexable and iterable.");
  doc(nn, "BatchNorm2d", "BatchNorm2d(num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, "
      "*, bias=True)\n\nBatch normalization over the channels of (N, C, H, W) input (as torch.nn.BatchNorm2d): batch "
      "statistics in training (running_mean/running_var move by momentum; None: cumulative average), running "
      "statistics in eval. Buffers running_mean, running_var, num_batches_tracked.");
  doc(nn, "BatchNorm1d", "BatchNorm1d(num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, "
      "*, bias=True)\n\nBatch normalization of (N, C) or (N, C, L) input (as torch.nn.BatchNorm1d).");
  doc(nn, "LocalResponseNorm", "LocalResponseNorm(size, alpha=0.0001, beta=0.75, k=1.0)\n\n"
      "x / (k + alpha/size * sum of x^2 over `size` neighbouring channels)^beta (as torch.nn.LocalResponseNorm).");
  doc(nn, "ConvTranspose2d", "ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0, "
      "output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros')\n\nTransposed 2-D convolution (as "
      "torch.nn.ConvTranspose2d): P = (H-1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1.\n"
      "weight (in_channels, out_channels/groups, kH, kW).");
  doc(nn, "AdaptiveMaxPool2d", "AdaptiveMaxPool2d(output_size, return_indices=False)\n\nMax pooling to a fixed "
      "(H, W) output size; None keeps the input's size on that axis.");
  doc(nn, "LPPool2d", "LPPool2d(norm_type, kernel_size, stride=None, ceil_mode=False)\n\n(sum over each window of "
      "x^p)^(1/p) (as torch.nn.LPPool2d).");
  doc(nn, "ZeroPad2d", "ZeroPad2d(padding)\n\nZero padding (left, right, top, bottom) of the last two dimensions; "
      "negative values crop.");
  doc(nn, "Upsample", "Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None, "
      "recompute_scale_factor=None)\n\nResizes (N, C, H, W) input by nearest or bilinear interpolation "
      "(as torch.nn.Upsample).");
  doc(nn, "Conv1d", "Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, "
      "bias=True, padding_mode='zeros')\n\n1-D convolution over (N, C, L) input (as torch.nn.Conv1d), run as conv2d "
      "over (N, C, 1, L). weight (out_channels, in_channels/groups, kL).");
  doc(nn, "Conv3d", "Conv3d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, "
      "bias=True, padding_mode='zeros')\n\n3-D convolution over (N, C, D, H, W) input (as torch.nn.Conv3d), run as "
      "conv2d over the depth slices each kernel depth reads. weight (out_channels, in_channels/groups, kD, kH, kW).");
  doc(nn, "MaxPool1d", "MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, "
      "ceil_mode=False)\n\n1-D max pooling over (N, C, L) input; with return_indices, also the index of each "
      "maximum along L.");
  doc(nn, "AvgPool1d", "AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True)\n\n"
      "1-D average pooling over (N, C, L) input.");
  doc(nn, "AdaptiveAvgPool1d", "AdaptiveAvgPool1d(output_size)\n\nAverage pooling of (N, C, L) input to a fixed length.");
  doc(nn, "MaxUnpool2d", "MaxUnpool2d(kernel_size, stride=None, padding=0)\n\nunpool(x, indices, output_size=None): "
      "the inverse of MaxPool2d(return_indices=True), zeros except at the indices (as torch.nn.MaxUnpool2d).");
  doc(nn, "GroupNorm", "GroupNorm(num_groups, num_channels, eps=1e-05, affine=True, *, bias=True)\n\nNormalizes "
      "each sample's channels in num_groups groups by their mean and variance, then per-channel weight and bias.");
  doc(nn, "LayerNorm", "LayerNorm(normalized_shape, eps=1e-05, elementwise_affine=True, bias=True)\n\nNormalizes "
      "over the trailing normalized_shape of each sample, then element-wise weight and bias.");
  doc(nn, "InstanceNorm2d", "InstanceNorm2d(num_features, eps=1e-05, momentum=0.1, affine=False, "
      "track_running_stats=False, *, bias=True)\n\nNormalizes each (sample, channel) plane of (N, C, H, W) input by "
      "its own statistics (track_running_stats=True is not supported).");
  doc(nn, "Embedding", "Embedding(num_embeddings, embedding_dim, padding_idx=None)\n\nA table of embedding_dim-"
      "vectors indexed by int64 tensors; weight from N(0, 1), the padding_idx row zero and without gradient.");
  doc(nn, "PixelShuffle", "PixelShuffle(upscale_factor)\n\n(*, C*r*r, H, W) -> (*, C, H*r, W*r).");
  doc(nn, "PixelUnshuffle", "PixelUnshuffle(downscale_factor)\n\n(*, C, H*r, W*r) -> (*, C*r*r, H, W).");
  doc(nn, "Unfold", "Unfold(kernel_size, dilation=1, padding=0, stride=1)\n\nSliding blocks of (N, C, H, W) input "
      "as the columns of (N, C*kH*kW, L).");
  doc(nn, "Fold", "Fold(output_size, kernel_size, dilation=1, padding=0, stride=1)\n\nSums the columns of "
      "(N, C*kH*kW, L) back into (N, C, H, W) blocks: Unfold's adjoint.");
  doc(nn, "Dropout2d", "Dropout2d(p=0.5, inplace=False)\n\nIn training, zeroes whole channels of (N, C, H, W) "
      "input with probability p and scales the rest by 1/(1-p).");
  py::module_ optim = m.attr("optim");
  doc(optim, "SGD", "SGD(params, lr=0.001, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False)\n\n"
      "Stochastic gradient descent with PyTorch's update rule. params: tensors or dicts of parameter groups.");
  doc(optim, "Adam", "Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False, "
      "maximize=False, decoupled_weight_decay=False)\n\nAdam with PyTorch's update rule.");
  doc(optim, "AdamW", "AdamW(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False, "
      "maximize=False)\n\nAdam with decoupled weight decay.");
  doc(optim, "RMSprop", "RMSprop(params, lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0, momentum=0, centered=False, "
      "maximize=False)\n\nRMSprop with PyTorch's update rule.");
  doc(optim, "Adagrad", "Adagrad(params, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, "
      "maximize=False)\n\nAdagrad with PyTorch's update rule.");
  doc(optim, "NAdam", "NAdam(params, lr=0.002, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, momentum_decay=0.004, "
      "decoupled_weight_decay=False, maximize=False)\n\nAdam with Nesterov momentum, PyTorch's update rule "
      "(mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))).");
  doc(optim, "RAdam", "RAdam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, "
      "decoupled_weight_decay=False, maximize=False)\n\nRectified Adam with PyTorch's update rule (momentum SGD "
      "while the variance estimate is unreliable, rho_t <= 5).");
  doc(optim, "Adadelta", "Adadelta(params, lr=1.0, rho=0.9, eps=1e-06, weight_decay=0, maximize=False)\n\n"
      "Adadelta with PyTorch's update rule.");
  doc(optim, "LARS", "LARS(params, lr=0.001, momentum=0.9, weight_decay=0, trust_coefficient=0.001, eps=1e-08, "
      "layer_adaptation=True)\n\nLayer-wise adaptive rate scaling (You et al. 2017, algorithm 1): each tensor's "
      "rate is lr * trust_coefficient * |w| / (|g| + weight_decay * |w| + eps) (lr where |w| or |g| is 0); "
      "v = momentum * v + rate * (g + weight_decay * w); w -= v. Parameter groups with \"layer_adaptation\": False "
      "(biases and norm layers, usually with \"weight_decay\": 0) take the unscaled rate.");
  doc(optim, "LAMB", "LAMB(params, lr=0.001, betas=(0.9, 0.999), eps=1e-06, weight_decay=0, layer_adaptation=True)\n\n"
      "Layer-wise adaptive moments (You et al. 2019, algorithm 2): u = m_hat / (sqrt(v_hat) + eps) + "
      "weight_decay * w with Adam's bias-corrected moments; each tensor steps by lr * |w| / |u| * u (lr * u "
      "where |w| or |u| is 0, or in a group with \"layer_adaptation\": False).");
}

}  // namespace convnet::bindings

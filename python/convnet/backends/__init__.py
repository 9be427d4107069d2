"""Switches of the compute backends, as ``torch.backends``::

    convnet.backends.cuda.matmul.allow_tf32 = True  # linear and matmul on CUDA may use TF32
    convnet.backends.cudnn.allow_tf32 = True        # conv2d and conv_transpose2d likewise

TF32 rounds the inputs of a float32 product to a 10-bit mantissa on the tensor cores (about
1e-3 relative error, several times faster); products still accumulate in float32. Both
switches are off by default, so float32 products are IEEE float32 unless one is set (in
PyTorch ``cudnn.allow_tf32`` starts on). convnet has no cuDNN: ``cudnn`` is PyTorch's name
for the switch of the convolutions. The switches are process-wide, apply to float32 CUDA
tensors only, and are read when an op runs forward (its backward multiplies the same way).
Under :class:`convnet.autocast` the products run in 16-bit instead.

``convnet.backends.cpu.get_cpu_capability()`` says which version of the CPU kernels runs.
"""

from .. import _core

__all__ = ["cpu", "cuda", "cudnn"]


class _Matmul:
    """``convnet.backends.cuda.matmul``: the switch of linear and matmul."""

    @property
    def allow_tf32(self):
        return _core.backends.get_matmul_allow_tf32()

    @allow_tf32.setter
    def allow_tf32(self, on):
        _core.backends.set_matmul_allow_tf32(bool(on))


class _Cuda:
    """``convnet.backends.cuda``; besides ``matmul.allow_tf32``, convnet's own
    ``conv_workspace_limit``: the most bytes a CUDA convolution takes at once for its column
    buffers (default 256 MiB); a batch that needs more runs in chunks of images."""

    def __init__(self):
        self.matmul = _Matmul()

    @property
    def conv_workspace_limit(self):
        return _core.backends.get_conv_workspace_limit()

    @conv_workspace_limit.setter
    def conv_workspace_limit(self, nbytes):
        if int(nbytes) < 0:
            raise ValueError(f"conv_workspace_limit: expected a number of bytes >= 0, got {nbytes}")
        _core.backends.set_conv_workspace_limit(int(nbytes))


class _Cudnn:
    """``convnet.backends.cudnn``: the switch of conv2d and conv_transpose2d."""

    @property
    def allow_tf32(self):
        return _core.backends.get_cudnn_allow_tf32()

    @allow_tf32.setter
    def allow_tf32(self, on):
        _core.backends.set_cudnn_allow_tf32(bool(on))


class _Cpu:
    """``convnet.backends.cpu``: the CPU kernels' instruction set and convolution algorithms."""

    @staticmethod
    def conv2d_algorithm(input, weight, stride=1, padding=0, dilation=1, groups=1):
        """The algorithm ``conv2d`` runs on the CPU for these arguments: ``"gemm"`` (im2col and
        matrix products), ``"winograd"`` (F(4x4,3x3) for float32 3x3 stride-1 convolutions:
        forward, input gradient and, from 128 output tiles of 4x4, weight gradient),
        ``"dense"`` (one matrix over whole planes, where a plane has fewer pixels than the
        kernel has taps) or ``"depthwise"``. Raises as ``conv2d`` for invalid ones."""
        return _core.backends.conv2d_cpu_algorithm(input, weight, stride, padding, dilation, groups)

    @staticmethod
    def get_cpu_capability():
        """Which version of convnet's vectorized CPU kernels this CPU runs, as PyTorch's
        ``torch.backends.cpu.get_cpu_capability()``: ``"AVX512"`` (an x86-64-v4 CPU: AVX-512
        F, BW, CD, DQ, VL), ``"AVX2"`` (x86-64-v3: AVX2 and FMA) or ``"DEFAULT"`` (baseline
        x86-64 SSE2, or not x86-64). The wheel's kernels are compiled for all three (GCC
        function multiversioning) and the best one the CPU runs is chosen once, when convnet
        loads, so the portable wheel uses AVX2 / AVX-512 where the CPU has it; a build with
        ``CONVNET_NATIVE=ON`` is compiled for the building CPU and reports that CPU's level."""
        return _core.backends.get_cpu_capability()


cpu = _Cpu()
cuda = _Cuda()
cudnn = _Cudnn()

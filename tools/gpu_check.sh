#!/usr/bin/env bash
# The checks of the CUDA backend that need a GPU, in one run from the repository root on a machine
# with an NVIDIA GPU, nvcc, cuBLAS, cmake, ninja, pybind11 and PyTorch's CUDA build:
#   1. build with -DCONVNET_CUDA=ON (the GPU's architecture only, for time);
#   2. the device tests (marked cuda: -m cuda) on the GPU;
#   3. compute-sanitizer memcheck over the same tests (float32 cases);
#   4. LeNet-5 trained on MNIST on the GPU (the CLI, --device cuda);
#   5. benchmarks/gpu_train.py (convnet against torch, float32 and bf16 autocast).
# Each step has its own time limit; logs go to $OUT (default ./gpu-check). Packages missing there
# (scipy-openblas32) travel as wheels in .whl/, the MNIST files in $CONVNET_DATA (default .mnist/).
#   bash tools/gpu_check.sh [steps...]     (default: build tests sanitizer lenet bench)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check}
mkdir -p "$OUT"
export CONVNET_DATA=${CONVNET_DATA:-$PWD/.mnist}
export PYTHONUNBUFFERED=1
PY=python3
if [ -d .whl ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl/*.whl || exit 1
fi
PKG=/tmp/gpu-py
export PYTHONPATH=$PKG:/tmp/site
STEPS=${*:-build tests sanitizer lenet bench}

step() {  # step NAME SECONDS COMMAND...: runs COMMAND under a limit, logs to $OUT/NAME.log
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit}s)"
  local t0=$SECONDS
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "-- $name: exit $rc in $((SECONDS - t0)) s"
  tail -n 25 "$OUT/$name.log"
  return $rc
}

nvidia-smi -L || true
for s in $STEPS; do
  case $s in
    build)
      arch=$($PY -c "import torch; p = torch.cuda.get_device_properties(0); print(f'{p.major}{p.minor}')")
      step build 300 bash -c "cmake -S . -B /tmp/gpu-build -G Ninja -DCONVNET_PYTHON=ON -DCONVNET_CUDA=ON \
          -DCMAKE_CUDA_ARCHITECTURES=$arch -Dpybind11_DIR=\$($PY -c 'import pybind11; print(pybind11.get_cmake_dir())') \
          && cmake --build /tmp/gpu-build -j \$(nproc)" || exit 1
      rm -rf $PKG && mkdir -p $PKG && cp -r python/convnet $PKG/ && cp /tmp/gpu-build/_core*.so $PKG/convnet/
      $PY -c "import convnet as cn; print('convnet sees', cn.cuda.device_count(), 'GPU(s):', cn.cuda.get_device_name())"
      ;;
    tests)
      step tests 240 bash -c "$PY -m pytest -q -p no:cacheprovider -rs -m cuda tests" ;;
    sanitizer)
      step sanitizer 300 bash -c "compute-sanitizer --tool memcheck --error-exitcode 3 --print-limit 20 \
          $PY -m pytest -q -p no:cacheprovider -x -k 'not float64' -m cuda tests" ;;
    lenet)
      step lenet 200 $PY -m convnet train lenet5 --dataset mnist --epochs 10 --device cuda ;;
    bench)
      step bench 300 $PY benchmarks/gpu_train.py --reps 3 --json "$OUT/gpu_train.json" ;;
    *) echo "unknown step $s"; exit 2 ;;
  esac
done

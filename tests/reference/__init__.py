"""Plain NumPy (float64) reference implementations of convnet's ops, forward and backward.

`tests/reference/ops.py` holds them; `tests/ops/test_reference_ops.py` validates them against
PyTorch (where installed) and by finite differences (always).
"""

"""The inplace op stem (cpp/src/ops/inplace.cpp, the in-place methods of cpp/bindings/view.cpp):
copy_, fill_, zero_, add_/sub_/mul_/div_, +=, -=, *=, /=, the unary in-place methods, __setitem__;
writes through views with autograd (the base's history as PyTorch's CopySlices) and the version
check that refuses a backward whose saved tensors were modified. One table of in-place methods
drives the value, gradient and error checks against PyTorch; randomized programs of ops, views and
in-place writes check that backward raises exactly where PyTorch's raises and otherwise gives its
gradients."""

import numpy as np
import pytest

import convnet as cn
from opcheck import check_double_backward, randn, torch

pytestmark = pytest.mark.skipif(torch is None, reason="the in-place checks compare with PyTorch")

# name, the in-place call on a float tensor x (same code for convnet and torch), needs a positive x
INPLACE_CASES = [
    ("add_(2.5)", lambda x, o: x.add_(2.5), False),
    ("add_(other, alpha=-2)", lambda x, o: x.add_(o, alpha=-2), False),
    ("sub_(other)", lambda x, o: x.sub_(o), False),
    ("sub_(1, alpha=3)", lambda x, o: x.sub_(1, alpha=3), False),
    ("mul_(other row)", lambda x, o: x.mul_(o[0]), False),
    ("div_(3)", lambda x, o: x.div_(3), False),
    ("+= tensor", lambda x, o: x.__iadd__(o), False),
    ("-= 1", lambda x, o: x.__isub__(1), False),
    ("*= column", lambda x, o: x.__imul__(o[:, :1]), False),
    ("/= tensor", lambda x, o: x.__itruediv__(o.abs() + 1), False),
    ("neg_", lambda x, o: x.neg_(), False),
    ("exp_", lambda x, o: x.exp_(), False),
    ("log_", lambda x, o: x.log_(), True),
    ("sqrt_", lambda x, o: x.sqrt_(), True),
    ("abs_", lambda x, o: x.abs_(), False),
    ("relu_", lambda x, o: x.relu_(), False),
    ("sigmoid_", lambda x, o: x.sigmoid_(), False),
    ("tanh_", lambda x, o: x.tanh_(), False),
    ("copy_ broadcast", lambda x, o: x.copy_(o[1]), False),
    ("fill_", lambda x, o: x.fill_(-1.5), False),
    ("zero_", lambda x, o: x.zero_(), False),
    ("setitem slice", lambda x, o: x.__setitem__((slice(None), slice(1, 3)), o[:, :2]), False),
    ("setitem scalar", lambda x, o: x.__setitem__((0, ...), 4.0), False),
    ("add_ through a transposed view", lambda x, o: x.t().add_(o.t()), False),
    ("mul_ through a strided view", lambda x, o: x[:, ::2].mul_(3), False),
]


def _pair(a):
    return cn.tensor(a), torch.from_numpy(a.copy())


@pytest.mark.parametrize("name,call,positive", INPLACE_CASES, ids=[c[0] for c in INPLACE_CASES])
def test_inplace(name, call, positive):
    a, b = randn(3, 4), randn(3, 4)
    if positive:
        a = np.abs(a) + 0.5
    # values, and the call returns its own object, which every alias sees
    (x, xt), (o, ot) = _pair(a), _pair(b)
    alias = x
    r, rt = call(x, o), call(xt, ot)
    if not name.startswith(("setitem", "add_ through", "mul_ through")):  # methods called on x itself
        assert r is x and rt is xt, name
    np.testing.assert_allclose(alias.numpy(), xt.numpy(), rtol=1e-6, err_msg=name)
    # gradients through the in-place write on a non-leaf, to the leaf and to the other operand
    grads = []
    for k, lib in enumerate((cn, torch)):
        leaf, other = _pair(a)[k], _pair(b)[k]
        leaf.requires_grad_(True)
        other.requires_grad_(True)
        h = leaf * 1.0
        call(h, other)
        (h * lib.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))).sum().backward()
        grads.append((leaf.grad.numpy(), other.grad.numpy() if other.grad is not None else np.zeros_like(b)))
    for k, what in enumerate(("the leaf", "the other operand")):
        np.testing.assert_allclose(grads[0][k], grads[1][k], rtol=1e-5, atol=1e-6, err_msg=f"{name}: gradient of {what}")
    # second derivatives through the write (and through the view it returns), with create_graph
    def fn(x, o):
        h = x * 1.0
        r = call(h, o)
        return h * h if r is None or r is h else h * h + (r * r).sum()

    check_double_backward(name, fn, [a, b], diff=(0, 1), torch_fn=fn)
    # a leaf that requires grad refuses an in-place write
    x, o = cn.tensor(a).requires_grad_(True), cn.tensor(b)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in an in-place operation"):
        call(x, o)


def test_inplace_integer_result_type_error():
    x = cn.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="add_: result type float32 can't be cast to the desired output type int64"):
        x += 1.5
    x += 2
    assert x.tolist() == [3, 4, 5]


def test_inplace_under_no_grad_on_a_leaf_is_allowed():
    w = cn.tensor(randn(3)).requires_grad_(True)
    with cn.no_grad():
        w -= 1.0
        w[0] = 5.0
    assert w.is_leaf and w.requires_grad and w.grad_fn is None and w.tolist()[0] == 5.0


# ---- randomized programs: where backward raises, and the gradients otherwise -------------------

def _program(r):
    """A list of steps; each is (description, fn(lib, env)) acting on env, a dict of live tensors
    that starts with the leaf 'w' and the constants 'c' and 'm'. Steps make new tensors from live
    ones, or write in place into a live non-leaf tensor (or a view of it, or of the leaf)."""
    steps = []
    n = 0
    for _ in range(r.integers(3, 9)):
        src = "w" if n == 0 else f"h{int(r.integers(n))}"
        kind = r.choice(["make", "make", "inplace", "inplace", "view_inplace", "leaf_view"])
        if kind == "make":
            f = r.choice(["mul_c", "sigmoid", "tanh", "exp", "relu", "square", "matmul", "div_c", "add"])
            out = f"h{n}"
            n += 1

            def make(lib, env, f=f, src=src, out=out):
                x, c, m = env[src], env["c"], env["m"]
                env[out] = {"mul_c": lambda: x * c, "sigmoid": lambda: x.sigmoid(), "tanh": lambda: x.tanh(),
                            "exp": lambda: (x * 0.3).exp(), "relu": lambda: x.relu(), "square": lambda: x * x,
                            "matmul": lambda: x.matmul(m), "div_c": lambda: x / (c.abs() + 1), "add": lambda: x + c}[f]()
            steps.append((f"{out} = {f}({src})", make))
        elif n > 0:
            tgt = f"h{int(r.integers(n))}"
            op = r.choice(["add_", "mul_", "relu_", "sigmoid_", "copy_", "setitem", "iadd"])
            view = kind == "view_inplace"

            def write(lib, env, tgt=tgt, op=op, view=view):
                x, c = env[tgt], env["c"]
                v = x[:, 1:3] if view else x
                cc = c[:, 1:3] if view else c
                {"add_": lambda: v.add_(1.0), "mul_": lambda: v.mul_(cc), "relu_": lambda: v.relu_(),
                 "sigmoid_": lambda: v.sigmoid_(), "copy_": lambda: v.copy_(cc * 2),
                 "setitem": lambda: v.__setitem__(0, 0.5), "iadd": lambda: v.__iadd__(cc)}[op]()
            steps.append((f"{tgt}{'[:, 1:3]' if view else ''}.{op}", write))
        elif kind == "leaf_view":
            steps.append(("w[0].add_(1)", lambda lib, env: env["w"][0].add_(1.0)))
    return steps


def _run(lib, steps, a, c, m):
    t = (lambda v: cn.tensor(v)) if lib is cn else (lambda v: torch.from_numpy(v.copy()))
    env = {"w": t(a).requires_grad_(True), "c": t(c), "m": t(m)}
    done = []
    try:
        for what, step in steps:
            step(lib, env)
            done.append(what)
        loss = sum((v * (k + 1)).sum() for k, (name, v) in enumerate(sorted(env.items())) if name.startswith("h"))
        if not isinstance(loss, (cn.Tensor, torch.Tensor)):
            loss = env["w"].sum()
        loss.backward()
    except RuntimeError as e:
        return done, "raised", str(e)
    return done, "ok", env["w"].grad.numpy()


@pytest.mark.parametrize("seed", range(60))
def test_random_programs_raise_where_torch_raises(seed):
    r = np.random.default_rng(seed)
    steps = _program(r)
    a, c, m = (r.standard_normal(s).astype(np.float64) for s in ((3, 4), (3, 4), (4, 4)))
    done, got, gv = _run(cn, steps, a, c, m)
    done_t, want, wv = _run(torch, steps, a, c, m)
    program = "; ".join(w for w, _ in steps)
    assert (done, got) == (done_t, want), f"seed {seed}: {program}\nconvnet: {got} after {done}: {gv}\ntorch: {want} after {done_t}: {wv}"
    if got == "ok":
        np.testing.assert_allclose(gv, wv, rtol=1e-10, atol=1e-12, err_msg=program)
    else:
        # the same kind of error
        key = lambda s: ("version" if "modified by an inplace operation" in s else "leaf" if "leaf Variable" in s else s)
        assert key(gv) == key(wv), f"seed {seed}: {program}\nconvnet: {gv}\ntorch: {wv}"

"""Methods of the compiled Module and Sequential that take Python objects (functions, slices,
dotted names): Module.apply and get_submodule, Sequential's list interface, as torch.nn."""

import operator

from .._core.nn import Module, Sequential


def apply(self, fn):
    """Calls fn on every submodule (children first, recursively) and then on this module, as
    torch.nn.Module.apply (typically to initialize parameters); returns this module."""
    for _, child in self.named_children():
        child.apply(fn)
    fn(self)
    return self


def get_submodule(self, target):
    """The submodule at the dotted path `target` ("" is this module), as
    torch.nn.Module.get_submodule; AttributeError names the first missing step."""
    if target == "":
        return self
    mod = self
    for item in target.split("."):
        children = dict(mod.named_children())
        if item not in children:
            raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
        mod = children[item]
    return mod


def _seq_items(self):
    return list(self.named_children())


def _seq_index(self, idx):
    idx = operator.index(idx)
    n = len(self)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range")
    return idx % n


def _seq_reset(self, modules):
    """Re-registers `modules` as the children "0", "1", ... in order."""
    for name, _ in self.named_children():
        delattr(self, name)
    for i, m in enumerate(modules):
        self.add_module(str(i), m)


def _seq_getitem(self, idx):
    """A child by position (negative counts from the end), or a new Sequential of a slice that
    keeps the children's names (as torch)."""
    items = _seq_items(self)
    if isinstance(idx, slice):
        out = Sequential()
        for name, m in items[idx]:
            out.add_module(name, m)
        return out
    return items[_seq_index(self, idx)][1]


def _seq_setitem(self, idx, module):
    name = _seq_items(self)[_seq_index(self, idx)][0]
    setattr(self, name, module)


def _seq_delitem(self, idx):
    """Removes a child or a slice of them; the rest are renumbered "0", "1", ... (as torch)."""
    modules = [m for _, m in _seq_items(self)]
    if isinstance(idx, slice):
        del modules[idx]
    else:
        del modules[_seq_index(self, idx)]
    _seq_reset(self, modules)


def _seq_insert(self, index, module):
    modules = [m for _, m in _seq_items(self)]
    n = len(modules)
    if not -n <= index <= n:
        raise IndexError(f"Index out of range: {index}")
    modules.insert(index, module)
    _seq_reset(self, modules)
    return self


def _seq_extend(self, modules):
    for m in modules:
        self.append(m)
    return self


def _seq_pop(self, key):
    v = self[key]
    del self[key]
    return v


Module.apply = apply
Module.get_submodule = get_submodule
Sequential.__getitem__ = _seq_getitem
Sequential.__setitem__ = _seq_setitem
Sequential.__delitem__ = _seq_delitem
Sequential.insert = _seq_insert
Sequential.extend = _seq_extend
Sequential.pop = _seq_pop

"""ModuleList and ModuleDict (as torch.nn): Python subclasses of the C++ Module whose entries are
its registered children, so parameters(), state_dict(), train()/eval() and repr see them under
torch's names ("layers.0.weight", "heads.cls.bias")."""

import operator
from collections import abc
from itertools import chain

from .._core.nn import Module


def _addindent(s, spaces):
    lines = s.split("\n")
    return lines[0] if len(lines) == 1 else lines[0] + "\n" + "\n".join(" " * spaces + ln for ln in lines[1:])


class ModuleList(Module):
    """Holds modules in a list; entry i is the child named str(i)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _modules_list(self):
        return [m for _, m in self.named_children()]

    def _reset(self, modules):
        for name, _ in self.named_children():
            delattr(self, name)
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def _abs_index(self, idx):
        idx = operator.index(idx)
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"ModuleList: index {idx} is out of range for {n} modules")
        return idx + n if idx < 0 else idx

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self.__class__(self._modules_list()[idx])
        return self._modules_list()[self._abs_index(idx)]

    def __setitem__(self, idx, module):
        self.add_module(str(self._abs_index(idx)), module)

    def __delitem__(self, idx):
        modules = self._modules_list()
        if isinstance(idx, slice):
            del modules[idx]
        else:
            del modules[self._abs_index(idx)]
        self._reset(modules)

    def __len__(self):
        return len(self.named_children())

    def __iter__(self):
        return iter(self._modules_list())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        combined = ModuleList()
        for i, m in enumerate(chain(self, other)):
            combined.add_module(str(i), m)
        return combined

    def insert(self, index, module):
        modules = self._modules_list()
        modules.insert(index, module)
        self._reset(modules)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        if not isinstance(modules, abc.Iterable):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got {type(modules).__name__}")
        offset = len(self)
        for i, m in enumerate(modules):
            self.add_module(str(offset + i), m)
        return self

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def __repr__(self):
        """Runs of equal entries are shown once, as torch: "(0-2): 3 x Linear(...)"."""
        reprs = [repr(m) for m in self]
        if not reprs:
            return type(self).__name__ + "()"
        blocks = []  # [start, end, repr]
        for i, r in enumerate(reprs):
            if blocks and blocks[-1][2] == r:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, r])
        lines = [_addindent(f"({s}): {r}" if s == e else f"({s}-{e}): {e - s + 1} x {r}", 2)
                 for s, e, r in blocks]
        return type(self).__name__ + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """Holds modules under string keys, in insertion order; each is the child of that name."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _dict(self):
        return dict(self.named_children())

    def __getitem__(self, key):
        return self._dict()[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self):
        return len(self.named_children())

    def __iter__(self):
        return iter(self.keys())

    def __contains__(self, key):
        return key in self._dict()

    def clear(self):
        for key in self.keys():
            delattr(self, key)

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def keys(self):
        return [k for k, _ in self.named_children()]

    def items(self):
        return list(self.named_children())

    def values(self):
        return [m for _, m in self.named_children()]

    def update(self, modules):
        if not isinstance(modules, abc.Iterable):
            raise TypeError("ModuleDict.update should be called with an iterable of key/value pairs, "
                            f"but got {type(modules).__name__}")
        if isinstance(modules, (abc.Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        for j, m in enumerate(modules):
            if not isinstance(m, abc.Iterable):
                raise TypeError(f"ModuleDict update sequence element #{j} should be Iterable; is "
                                f"{type(m).__name__}")
            if len(m) != 2:
                raise ValueError(f"ModuleDict update sequence element #{j} has length {len(m)}; 2 is required")
            self[m[0]] = m[1]

"""The model zoo."""

from .lenet import lenet5  # noqa: F401

_REGISTRY = {"lenet5": lenet5}


def get_model(name, **kwargs):
    """The model called `name` (as listed by `list_models()`)."""
    try:
        return _REGISTRY[name](**kwargs)
    except KeyError:
        raise ValueError(f"get_model: unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None


def list_models():
    return sorted(_REGISTRY)


__all__ = ["get_model", "lenet5", "list_models"]

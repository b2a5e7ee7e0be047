"""Names a package exports from its submodules, imported on first use (so reading a log does not load the optimiser)."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping, Sequence


def lazy_exports(package: str, where: Mapping[str, str], names: Sequence[str]) -> tuple[Callable, Callable]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``name`` comes from submodule ``where[name]``."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        if name in where:
            module = importlib.import_module(f"{package}.{where[name]}")
            value = getattr(module, name)
            namespace[name] = value
            if where[name] in where:  # importing submodule ``calibrate`` bound the module over the function ``calibrate``
                namespace[where[name]] = getattr(importlib.import_module(f"{package}.{where[where[name]]}"),
                                                 where[name])
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__

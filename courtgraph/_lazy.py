"""Lazy package exports (PEP 562), so that importing a light module never pays for a heavy one.

``courtgraph.schema`` or ``courtgraph show`` should not import LangGraph and the provider SDKs just
because a package ``__init__`` re-exports a protocol.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any

from courtgraph._api import exports_of


def package_exports(package: str) -> tuple[Callable[[str], Any], list[str]]:
    """A package's ``__getattr__`` and ``__all__``, from the one table of the public API
    (:data:`courtgraph._api.PUBLIC_API`)."""
    exports = exports_of(package)
    lazy = {name: module for name, module in exports.items() if module != package}  # the rest it defines itself
    module = sys.modules[package]
    module.__class__ = _ExportingPackage
    module._exported_ = frozenset(lazy)  # type: ignore[attr-defined]
    return lazy_exports(package, lazy), sorted(exports)


class _ExportingPackage(types.ModuleType):
    """A package whose exported function wins over its same-named submodule.

    Importing ``courtgraph.graphs.debate`` (the module) makes the import system bind it on the package
    as ``debate``, which would hide the function the package exports under that name, so that
    ``from courtgraph.graphs import debate`` gave a module or a function depending on what was imported
    before. Here the function is bound instead, whatever the import order; the module stays in
    ``sys.modules`` (``importlib.import_module("courtgraph.graphs.debate")``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if (isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}"
                and name in self.__dict__.get("_exported_", ()) and hasattr(value, name)):
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each exported name from its module on first use.

    The value is then bound on the package, so later lookups are plain attribute reads. Binding
    also replaces a same-named submodule (``courtgraph.graphs.debate`` the module) with the function
    the package means (``debate``), which importing the submodule had bound there.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__

"""Plug-in points: how a lower layer uses what a higher layer (or another package) provides.

Imports in courtgraph run one way, down (``pyproject.toml``'s import-linter contract). When a lower
layer needs something from above, such as the models layer building a ``sim:`` model or a
:class:`~courtgraph.schema.Record` rendering its transcript, it looks it up by name in a
:class:`Plugins` registry that the owner fills, never by importing the owner:

* installed packages (courtgraph itself included) declare plug-ins as entry points of the registry's
  group in their ``pyproject.toml``; one is imported the first time its name is asked for;
* Python code registers objects directly with :meth:`Plugins.register`.

Entry points come from the installed distributions' metadata: after editing them in ``pyproject.toml``,
run ``pip install -e .`` again.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from threading import Lock
from typing import Generic, TypeVar

T = TypeVar("T")

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


class PluginError(LookupError):
    """A plug-in is declared but cannot be imported."""


class Plugins(Generic[T]):
    """Named plug-ins of one kind: built-ins, registered objects and the entry points of one group.

    A name resolves to, in order: an object given to :meth:`register`, a built-in (``module:attribute``
    of the registry's own layer, imported on first use), an entry point of ``group`` (imported on first
    use, then kept). Instances are module-level registries that live as long as the process; what
    :meth:`register` adds stays until :meth:`unregister`.
    """

    def __init__(self, kind: str, group: str, builtin: Mapping[str, str] | None = None) -> None:
        self.kind, self.group = kind, group
        self._builtin = dict(builtin or {})
        self._registered: dict[str, T] = {}
        self._loaded: dict[str, T] = {}  # entry points already imported: a metadata scan costs milliseconds
        self._lock = Lock()

    def register(self, name: str, plugin: T, *, replace: bool = False) -> None:
        """Make ``name`` resolve to ``plugin`` in this process.

        A name already known (built in, registered or an entry point) is refused unless ``replace=True``:
        shadowing a plug-in silently would send work somewhere unexpected.
        """
        if not _NAME.fullmatch(name):
            raise ValueError(f"{self.kind} name {name!r}: use letters, digits, '_' or '-', starting with a letter")
        with self._lock:
            if not replace and name in self.names() and self._registered.get(name) is not plugin:
                raise ValueError(f"{self.kind} {name!r} is already registered (pass replace=True to override)")
            self._registered[name] = plugin

    def unregister(self, name: str) -> None:
        """Forget an object given to :meth:`register` (built-ins and entry points stay)."""
        with self._lock:
            self._registered.pop(name, None)

    def get(self, name: str) -> T | None:
        """The plug-in called ``name``, importing its module on first use; None when no one provides it.

        Raises :class:`PluginError` when it is declared but its module or attribute cannot be imported.
        """
        with self._lock:
            if name in self._registered:
                return self._registered[name]
            if name in self._loaded:
                return self._loaded[name]
        if name in self._builtin:
            module, _, attr = self._builtin[name].partition(":")
            builtin: T = getattr(importlib.import_module(module), attr)
            return builtin
        point = self._entry_points().get(name)
        if point is None:
            return None
        try:
            loaded: T = point.load()
        except (ImportError, AttributeError) as exc:
            raise PluginError(f"{self.kind} {name!r} (entry point {point.value!r} in group {self.group!r}) "
                              f"cannot be imported: {exc}") from exc
        with self._lock:
            self._loaded[name] = loaded
        return loaded

    def names(self) -> list[str]:
        """Every name that resolves: built-ins first, then registered, then entry points."""
        return list(dict.fromkeys([*self._builtin, *self._registered, *self._entry_points()]))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def _entry_points(self) -> dict[str, EntryPoint]:
        """The group's entry points by name; the first installed distribution wins a duplicated name."""
        found: dict[str, EntryPoint] = {}
        for point in entry_points(group=self.group):
            found.setdefault(point.name, point)
        return found


__all__ = ["PluginError", "Plugins"]

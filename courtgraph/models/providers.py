"""Model-spec prefixes (``openai:``, ``sim:``, ...) and the factories that build models from them.

The models layer knows only its own providers (``openai``, ``anthropic``, ``scripted``). Prefixes whose
models live higher up, ``sim:`` (the simulated agents) and ``recorded:`` (the recorded judge), are
plug-ins (:mod:`courtgraph.plugins`) that their owners provide, so that this layer never imports them:

* a package declares them as entry points of the ``courtgraph.providers`` group, naming a factory that
  takes the text after the prefix and returns a :class:`ChatModel`; courtgraph's own ``pyproject.toml``
  does so for ``sim`` and ``recorded``::

      [project.entry-points."courtgraph.providers"]
      sim = "courtgraph.agents.simulated:from_spec"

* Python code calls :func:`register_provider` (a notebook's or a script's own provider, tests).
"""

from __future__ import annotations

from collections.abc import Callable

from courtgraph.models.base import ChatModel, ConfigError
from courtgraph.plugins import PluginError, Plugins

#: A provider: the text after ``prefix:`` -> a model.
ProviderFactory = Callable[[str], ChatModel]

#: The entry-point group plug-in providers are declared in.
ENTRY_POINT_GROUP = "courtgraph.providers"

#: The process's providers: the models layer's own (imported on first use, so that loading courtgraph
#: does not import every SDK), then registered factories and entry points. Lives as long as the process.
PROVIDERS: Plugins[ProviderFactory] = Plugins("provider", ENTRY_POINT_GROUP, {
    "openai": "courtgraph.models.openai:from_spec",
    "anthropic": "courtgraph.models.anthropic:from_spec",
    "langchain": "courtgraph.models.langchain:from_spec",
    "scripted": "courtgraph.models.scripted:ScriptedModel",
})


def register_provider(prefix: str, factory: ProviderFactory, *, replace: bool = False) -> None:
    """Make ``get_model("PREFIX:REST")`` return ``factory(REST)`` in this process.

    A prefix already known (built in, registered, or an installed entry point) is refused unless
    ``replace=True``; :meth:`PROVIDERS.unregister <courtgraph.plugins.Plugins.unregister>` removes it.
    """
    PROVIDERS.register(prefix, factory, replace=replace)


def resolve_spec(spec: str) -> ChatModel:
    """The model a ``prefix:rest`` spec names.

    Raises :class:`ConfigError` for an unknown prefix, a provider that cannot be imported, or a
    factory that returns something other than a :class:`ChatModel`.
    """
    provider, sep, rest = spec.partition(":")
    try:
        factory = PROVIDERS.get(provider) if sep and rest else None
    except PluginError as exc:
        raise ConfigError(f"model spec {spec!r}: {exc}") from exc
    if factory is None:
        from courtgraph.models.hints import spec_hint

        known = ", ".join(f"{p}:..." for p in PROVIDERS)
        hint = spec_hint(spec)
        raise ConfigError(f"unknown model spec {spec!r}" + (f": {hint}" if hint else "")
                          + f" (expected one of {known}; more come from register_provider() or "
                          f"{ENTRY_POINT_GROUP!r} entry points)")
    model = factory(rest)
    if not isinstance(model, ChatModel):
        raise ConfigError(f"{spec!r}: provider {provider!r} returned {type(model).__name__}")
    return model


__all__ = ["ENTRY_POINT_GROUP", "PROVIDERS", "ProviderFactory", "register_provider", "resolve_spec"]

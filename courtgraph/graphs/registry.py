"""Protocols by name, and the models their roles use.

The CLI and the harness build protocols from names (``single``, ``jury``, ``debate``...) and a
:class:`Roles` (which model plays which role); Python users pass compiled graphs directly. A custom
protocol from a file is ``path/to/file.py:function``, where the function takes a :class:`Roles`
and returns a compiled graph.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from langgraph.pregel import Pregel

from courtgraph.errors import InputError
from courtgraph.graphs.state import Graph
from courtgraph.models import ConfigError, ModelLike

#: Builder parameters that are Python objects, not run settings: never offered to ``--param``.
BUILD_ONLY = ("name", "checkpointer", "store")


@dataclass
class Roles:
    """Which model plays which role. ``model`` is the default for any role not given.

    ``jurors`` and ``debaters`` are lists: jurors one model each; debaters one model for both
    sides, or two (for A and for B).
    """

    model: ModelLike | None = None
    judge: ModelLike | None = None
    jurors: list[ModelLike] = field(default_factory=list)
    debaters: list[ModelLike] = field(default_factory=list)
    extra: dict[str, ModelLike] = field(default_factory=dict)  # any other role by name

    def get(self, role: str) -> ModelLike:
        """The model for ``role``; ConfigError naming the CLI flag when neither it nor --model is set."""
        given: ModelLike | None = {"judge": self.judge}.get(role, self.extra.get(role))
        if given is not None:
            return given
        if self.model is not None:
            return self.model
        raise ConfigError(f"no model for the {role} role: give --{role} or --model")

    def juror_models(self, default_n: int = 3) -> list[ModelLike]:
        if self.jurors:
            return list(self.jurors)
        return [self.get("juror")] * default_n

    def debater_models(self) -> tuple[ModelLike, ModelLike]:
        if len(self.debaters) >= 2:
            return self.debaters[0], self.debaters[1]
        one = self.debaters[0] if self.debaters else self.get("debater")
        return one, one


@dataclass(frozen=True)
class Parameter:
    """One protocol parameter as ``courtgraph protocols`` lists it, read from a builder's signature and docstring."""

    name: str
    default: Any
    choices: tuple[str, ...] = ()
    doc: str = ""

    def describe(self) -> str:
        """``choices: what it means (default)``, e.g. ``pairwise | pointwise: ... (pairwise)``."""
        text = self.doc.rstrip(".")
        if self.choices:
            text = f"{' | '.join(self.choices)}: {text}" if text else " | ".join(self.choices)
        shown = _shown_default(self.default)
        return f"{text} ({shown})" if shown else text


def _shown_default(value: Any) -> str:
    """A default as a user would give it with ``--param`` (JSON words, lists comma-separated)."""
    if value is None or value is inspect.Parameter.empty:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return value if isinstance(value, str) else json.dumps(value, default=str)


@dataclass(frozen=True)
class ProtocolInfo:
    """A protocol in the registry.

    ``build(roles, **params)`` makes the graph from a :class:`Roles`; it wraps ``builder``
    (``"module:function"``, imported on first use), the graph function whose keyword-only parameters
    the protocol takes. Its own keyword-only parameters add to or replace the builder's (e.g. a jury's
    ``aggregate=llm`` means the aggregator role's model). ``hidden``: builder parameters filled from
    the roles, not given by ``--param``. ``renamed``: old parameter name -> current, so runs stored
    under the old name still resume.
    """

    name: str
    build: Callable[..., Graph]
    summary: str
    builder: str
    hidden: tuple[str, ...] = ()
    renamed: Mapping[str, str] = field(default_factory=dict)

    def builder_function(self) -> Callable[..., Graph]:
        module, _, function = self.builder.partition(":")
        built: Callable[..., Graph] = getattr(importlib.import_module(module), function)
        return built

    def parameters(self) -> dict[str, Parameter]:
        """Every parameter ``--param`` may give, with its meaning and default, from the signatures
        and the ``Args:`` sections of ``build``'s and the builder's docstrings (``build``'s first, and
        they win)."""
        out: dict[str, Parameter] = {}
        for source in (self.build, self.builder_function()):
            docs, hints = arg_docs(source), _type_hints(source)
            for p in inspect.signature(source).parameters.values():
                if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in (*BUILD_ONLY, *self.hidden, *out):
                    out[p.name] = Parameter(p.name, p.default, _choices(hints.get(p.name)), docs.get(p.name, ""))
        return out


def arg_docs(function: Callable[..., Any]) -> dict[str, str]:
    """The ``Args:`` section of a docstring: parameter name -> its description (continuation lines joined)."""
    docs: dict[str, str] = {}
    current: str | None = None
    in_args = False
    for line in (inspect.getdoc(function) or "").splitlines():
        if line.strip() == "Args:":
            in_args, current = True, None
            continue
        if not in_args:
            continue
        if not line.startswith(" ") or not line.strip():
            in_args = False
            continue
        entry = re.match(r"^ {4}(\w+)(?: \([^)]*\))?: (.*)$", line)
        if entry:
            current = entry[1]
            docs[current] = entry[2].strip()
        elif current is not None:
            docs[current] += " " + line.strip()
    return docs


def _type_hints(function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function)
    except Exception:  # a name imported only for type checking: no choices to show, nothing else lost
        return {}


def _choices(hint: Any) -> tuple[str, ...]:
    """The values of a ``Literal`` type (also inside ``Literal[...] | None``), else none."""
    if typing.get_origin(hint) is Literal:
        return tuple(str(v) for v in typing.get_args(hint))
    if typing.get_origin(hint) in (Union, types.UnionType):
        return tuple(c for arg in typing.get_args(hint) for c in _choices(arg))
    return ()


#: Protocols by name: the registry ``--protocols`` and :func:`build_protocol` read. Filled by
#: :func:`register` below and by anyone who registers a protocol of their own; lives as long as the process.
PROTOCOLS: dict[str, ProtocolInfo] = {}


def register(info: ProtocolInfo) -> ProtocolInfo:
    PROTOCOLS[info.name] = info
    return info


def _single(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.single import single

    return single(roles.get("judge"), **params)


def _aggregator(roles: Roles, rule: str) -> Any:
    """A rule name, or ``llm``: the aggregator role's model as a presiding judge."""
    return roles.get("aggregator") if rule == "llm" else rule


def _jury(roles: Roles, *, n: int | None = None, aggregate: str = "majority", **params: Any) -> Graph:
    """A jury of the juror models (``--jurors``, else ``n`` of the juror role's model).

    Args:
        n: jurors when --jurors is not given (3 when not given either).
        aggregate: majority | strict | weighted | mean, or llm: the aggregator role's model presides.
    """
    from courtgraph.graphs.jury import jury

    return jury(roles.juror_models(n or 3), n=n if roles.jurors else None, aggregate=_aggregator(roles, aggregate),
                **params)


def _debate(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.debate import debate

    return debate(roles.debater_models(), roles.get("judge"), **params)


def _consultancy(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.consultancy import consultancy

    return consultancy(roles.get("consultant"), roles.get("judge"), **params)


def _verdict_stage(roles: Roles, protocol: str, verdict: str, n: int | None, aggregate: str) -> Any:
    """Who decides a courtroom or MORE: the judge role's model, or a jury of the juror models."""
    if verdict not in ("judge", "jury"):
        raise InputError(f"{protocol} verdict must be judge or jury, not {verdict!r}", field="verdict")
    return _jury(roles, n=n, aggregate=aggregate) if verdict == "jury" else roles.get("judge")


def _courtroom(roles: Roles, *, verdict: Literal["judge", "jury"] = "judge", n: int | None = None,
               aggregate: str = "majority", **params: Any) -> Graph:
    """A courtroom whose verdict is the judge's, or a jury's.

    Args:
        verdict: who rules: the judge, or a jury of the juror models.
        n: jurors when verdict=jury and --jurors is not given (3 when not given either).
        aggregate: the jury's rule when verdict=jury (majority | strict | weighted | mean | llm).
    """
    from courtgraph.graphs.courtroom import courtroom

    bench = _verdict_stage(roles, "courtroom", verdict, n, aggregate)
    return courtroom(roles.get("prosecutor"), roles.get("defender"), bench, witness=roles.get("witness"), **params)


def _panel(roles: Roles, *, aggregate: str = "majority", **params: Any) -> Graph:
    """A panel of the specialist role's model, one specialist per dimension.

    Args:
        aggregate: majority | weighted | strict | mean, or llm: the aggregator role's model combines them.
    """
    from courtgraph.graphs.panel import panel

    return panel(roles.get("specialist"), aggregate=_aggregator(roles, aggregate), **params)


def _cascade(roles: Roles, *, stages: str | Sequence[str] = "single,jury", **params: Any) -> Graph:
    """A cascade of registry protocols, each built with the same roles.

    Args:
        stages: protocol names, cheapest first.
    """
    from courtgraph.graphs.cascade import cascade

    names = [s.strip() for s in stages.split(",")] if isinstance(stages, str) else list(stages)
    if "cascade" in names:
        raise InputError("a cascade cannot be its own stage", field="stages")
    return cascade([(n, build_protocol(n, roles)) for n in names if n], **params)


register(ProtocolInfo(
    "single", _single, "One judge (pairwise A/B/tie, pointwise score, or reference-guided); the baseline.",
    "courtgraph.graphs.single:single",
))
register(ProtocolInfo(
    "jury", _jury, "N jurors vote independently in parallel, then a rule or a presiding judge decides (PoLL); "
    "optional deliberation rounds (ChatEval).", "courtgraph.graphs.jury:jury", renamed={"order": "deliberation"},
))
register(ProtocolInfo(
    "debate", _debate, "Two advocates argue for A and for B over R rounds, then a judge who never sees the hidden "
    "context decides (Khan, Kenton).", "courtgraph.graphs.debate:debate", renamed={"order": "speaking"},
))
register(ProtocolInfo(
    "consultancy", _consultancy, "One consultant argues for one side while the judge questions it, then decides; "
    "by default once per side, the two verdicts combined.", "courtgraph.graphs.consultancy:consultancy",
))
register(ProtocolInfo(
    "courtroom", _courtroom, "Prosecutor and defender in openings, evidence from expert witnesses, rebuttals and "
    "closings; a judge (or a jury) rules citing the record.", "courtgraph.graphs.courtroom:courtroom",
    hidden=("witness",),
))
register(ProtocolInfo(
    "panel", _panel, "Specialists judge one dimension each (correctness, reasoning, completeness, "
    "instruction-following, safety); a rule or an LLM combines them (M-MAD).", "courtgraph.graphs.panel:panel",
))
register(ProtocolInfo(
    "cascade", _cascade, "A cheap protocol first; escalate to the next when its confidence is low or the two "
    "orders disagree (Trust or Escalate).", "courtgraph.graphs.cascade:cascade",
))


def _more(roles: Roles, *, verdict: Literal["judge", "jury"] = "judge", n: int | None = None,
          aggregate: str = "majority", **params: Any) -> Graph:
    """MORE's verdict is the judge's, or a jury's reading the defences.

    Args:
        verdict: who decides: the judge, or a jury of the juror models.
        n: jurors when verdict=jury and --jurors is not given (3 when not given either).
        aggregate: the jury's rule when verdict=jury (majority | strict | weighted | mean | llm).
    """
    from courtgraph.graphs.more import more

    return more(roles.debater_models(), _verdict_stage(roles, "more", verdict, n, aggregate), **params)


def _samre(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.samre import samre

    return samre(roles.debater_models(), roles.get("judge"), **params)


register(ProtocolInfo(
    "more", _more, "D3's MORE: k advocates per candidate argue in parallel for one round, then a judge (or a jury) "
    "decides.", "courtgraph.graphs.more:more",
))
register(ProtocolInfo(
    "samre", _samre, "D3's SAMRE: one advocate per side over rounds, scored by the judge after each; stops when the "
    "score gap converges or the token budget is spent.", "courtgraph.graphs.samre:samre",
))


def load_custom(target: str) -> Callable[..., Graph]:
    """``file.py:function`` -> the function (it takes a Roles and returns a compiled graph)."""
    path_text, sep, func = target.rpartition(":")
    path = Path(path_text)
    if not sep or not path.suffix == ".py":
        raise InputError(f"custom protocol {target!r}: expected FILE.py:FUNCTION")
    if not path.is_file():
        raise InputError("no such file", path=path)
    spec = importlib.util.spec_from_file_location(f"courtgraph_custom_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, func, None)
    if not callable(fn):
        raise InputError(f"no function {func!r}", path=path)
    return fn  # type: ignore[no-any-return]


def build_protocol(name: str, roles: Roles, **params: Any) -> Graph:
    """A compiled protocol graph from a registry name or ``file.py:function``."""
    if name.endswith(".py") or ".py:" in name:
        graph = load_custom(name)(roles, **params)
        if not isinstance(graph, Pregel):
            raise InputError(f"custom protocol {name!r} returned {type(graph).__name__}, not a compiled graph")
        return graph
    if name not in PROTOCOLS:
        raise InputError(f"unknown protocol {name!r}; known: {', '.join(sorted(PROTOCOLS))}", field="protocols")
    info = PROTOCOLS[name]
    try:
        return info.build(roles, **{info.renamed.get(k, k): v for k, v in params.items()})
    except InputError:
        raise
    except (TypeError, ValueError) as exc:  # an unknown parameter (debate.round=2) or a bad value (rounds=0)
        known = ", ".join(info.parameters()) or "none"
        raise InputError(f"protocol {name!r}: {exc} (parameters: {known})", field="params") from None

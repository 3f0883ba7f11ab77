"""Protocols by name, and the models their roles use.

The CLI and the harness build protocols from names (``single``, ``jury``, ``debate``...) and a
:class:`Roles` (which model plays which role); Python users pass compiled graphs directly. A custom
protocol from a file is ``path/to/file.py:function``, where the function takes a :class:`Roles`
and returns a compiled graph.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.pregel import Pregel

from courtgraph.errors import InputError
from courtgraph.graphs.state import Graph
from courtgraph.models import ConfigError, ModelLike


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
class ProtocolInfo:
    name: str
    build: Callable[..., Graph]  # build(roles: Roles, **params) -> compiled graph
    summary: str
    params: dict[str, str] = field(default_factory=dict)  # parameter -> what it means (default)


PROTOCOLS: dict[str, ProtocolInfo] = {}


def register(info: ProtocolInfo) -> ProtocolInfo:
    PROTOCOLS[info.name] = info
    return info


def _single(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.single import single

    return single(roles.get("judge"), **params)


register(ProtocolInfo(
    "single", _single, "One judge (pairwise A/B/tie, pointwise score, or reference-guided); the baseline.",
    {"mode": "pairwise | pointwise (pairwise)", "reference": "show the reference answer (false)",
     "scale": "pointwise scale (1-10)", "tie_delta": "pointwise: score gap counted as a tie (0)"},
))


def _aggregate(roles: Roles, params: dict[str, Any]) -> Any:
    """A rule name, or ``llm``: the aggregator role's model as a presiding judge."""
    rule = params.pop("aggregate", "majority")
    return roles.get("aggregator") if rule == "llm" else rule


def _jury(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.jury import jury

    n = params.pop("n", None)
    return jury(roles.juror_models(n or 3), n=n if roles.jurors else None, aggregate=_aggregate(roles, params),
                **params)


def _debate(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.debate import debate

    return debate(roles.debater_models(), roles.get("judge"), **params)


def _consultancy(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.consultancy import consultancy

    return consultancy(roles.get("consultant"), roles.get("judge"), **params)


def _courtroom(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.courtroom import courtroom

    stage = params.pop("verdict", "judge")
    if stage not in ("judge", "jury"):
        raise InputError(f"courtroom verdict must be judge or jury, not {stage!r}", field="verdict")
    bench = _jury(roles, n=params.pop("n", None), aggregate=params.pop("aggregate", "majority")) \
        if stage == "jury" else roles.get("judge")
    return courtroom(roles.get("prosecutor"), roles.get("defender"), bench, witness=roles.get("witness"), **params)


def _panel(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.panel import panel

    return panel(roles.get("specialist"), aggregate=_aggregate(roles, params), **params)


def _cascade(roles: Roles, **params: Any) -> Graph:
    from courtgraph.graphs.cascade import cascade

    stages = params.pop("stages", "single,jury")
    names = [s.strip() for s in stages.split(",")] if isinstance(stages, str) else list(stages)
    if "cascade" in names:
        raise InputError("a cascade cannot be its own stage", field="stages")
    return cascade([(n, build_protocol(n, roles)) for n in names if n], **params)


register(ProtocolInfo(
    "jury", _jury, "N jurors vote independently in parallel, then a rule or a presiding judge decides (PoLL); "
    "optional deliberation rounds (ChatEval).",
    {"n": "jurors when --jurors is not given (3)", "aggregate": "majority | strict | weighted | mean | llm (majority)",
     "weights": "per-juror weights for weighted/mean (confidence)", "rounds": "deliberation rounds (0)",
     "order": "deliberation: simultaneous | one-by-one (simultaneous)", "personas": "one role description per juror",
     "mode": "pairwise | pointwise (pairwise)",
     "quorum": "decide when at least this many jurors answered (all: a failed juror fails the trial)"},
))
register(ProtocolInfo(
    "debate", _debate, "Two advocates argue for A and for B over R rounds, then a judge who never sees the hidden "
    "context decides (Khan, Kenton).",
    {"rounds": "argument rounds (3)", "order": "simultaneous | sequential (simultaneous)",
     "word_limit": "words per argument, truncated (150)", "open": "the protagonist chooses its side (false)",
     "interactive": "the judge questions both advocates from round 2 (false)"},
))
register(ProtocolInfo(
    "consultancy", _consultancy, "One consultant argues for one side while the judge questions it, then decides; "
    "by default once per side, the two verdicts combined.",
    {"rounds": "rounds, a judge question before each after the first (3)",
     "side": "A | B | both | open (both)", "word_limit": "words per answer, truncated (200)"},
))
register(ProtocolInfo(
    "courtroom", _courtroom, "Prosecutor and defender in openings, evidence from expert witnesses, rebuttals and "
    "closings; a judge (or a jury) rules citing the record.",
    {"verdict": "judge | jury (judge)", "witnesses": "math_checker, code_tracer, fact_checker (all)",
     "rebuttals": "rebuttal rounds (1)", "word_limit": "words per statement, truncated (200)",
     "n": "jurors when verdict=jury (3)", "scale": "pointwise scale (1-10)"},
))
register(ProtocolInfo(
    "panel", _panel, "Specialists judge one dimension each (correctness, reasoning, completeness, "
    "instruction-following, safety); a rule or an LLM combines them (M-MAD).",
    {"dimensions": "dimension names, or name -> description (all five)",
     "aggregate": "majority | weighted | strict | mean | llm (majority)", "weights": "per-dimension weights",
     "mode": "pairwise | pointwise (pairwise)",
     "quorum": "decide when at least this many specialists answered (all)"},
))
register(ProtocolInfo(
    "cascade", _cascade, "A cheap protocol first; escalate to the next when its confidence is low or the two "
    "orders disagree (Trust or Escalate).",
    {"stages": "protocol names, cheapest first (single,jury)", "threshold": "confidence needed per stage (0.7)",
     "check_swap": "also judge the swapped order before trusting a stage (true)",
     "abstain": "abstain when even the last stage is not trusted (false)"},
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
    try:
        return PROTOCOLS[name].build(roles, **params)
    except InputError:
        raise
    except (TypeError, ValueError) as exc:  # an unknown parameter (debate.round=2) or a bad value (rounds=0)
        known = ", ".join(PROTOCOLS[name].params) or "none"
        raise InputError(f"protocol {name!r}: {exc} (parameters: {known})", field="params") from None

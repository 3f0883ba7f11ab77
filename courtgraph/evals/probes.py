"""Bias and robustness probes: seeded transforms of a case's wrong candidate, and the registry that names them.

A probe asks "does the verdict move when the wrong answer is dressed up?". Each case probe takes a
labelled pairwise case, rewrites its *wrong* candidate (or, for a prompt probe, the question) with a
generator seeded by (run seed, probe, case id), and returns a new case linked to its original:

* id ``ORIGINAL~PROBE`` (``~`` never occurs in the probe's name), the same label, category and
  reference: the gold label never moves, because padding or decorating the wrong answer does not
  make it right;
* ``metadata``: the original's, plus ``probe`` (the label, e.g. ``verbosity`` or
  ``verbosity:ratio=3``), ``original`` (the original's id), ``target`` (``"A"``/``"B"``: the
  perturbed candidate in the case's frame, or ``"question"``), ``before`` (the text it replaced) and
  ``probe_seed``. Simulated agents read these fields (never the prompt) to decide whether they are fooled;
  the views read ``before`` to highlight the change.

Two probes make no new case: ``position`` reads the two orders every run already judges, and
``self-preference`` compares the candidates' author models (``metadata.response_model``, where the
benchmark knows it) with the judges' models. Their measures are in :mod:`courtgraph.evals.robustness`.

Probes live in an explicit :class:`ProbeRegistry` that a run holds (``default_registry()`` returns a
new one with the built-ins), so user probes never leak between runs: register a function in Python,
or name one on the command line as ``FILE.py:FUNCTION``. The texts of the built-ins are in
:mod:`courtgraph.evals.probe_texts`; definitions and sources in ``docs/PROBES.md``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from courtgraph.errors import InputError
from courtgraph.evals import probe_texts
from courtgraph.schema import Case

#: A case probe's transform: the text it changes (the wrong candidate, or the question), the whole
#: case for context, a seeded generator, and the probe's parameters; it returns the new text.
Transform = Callable[..., str]
#: What a probe produces: perturbed cases, nothing (it reads the run's two orders), or an author report.
ProbeKind = Literal["case", "orders", "authors"]
#: Separates an original case id from the probe in a perturbed case's id.
SEPARATOR = "~"


@dataclass(frozen=True)
class Probe:
    """One probe: its name, what it perturbs, how, and where it comes from in the literature."""

    name: str
    summary: str
    source: str = ""
    kind: ProbeKind = "case"
    transform: Transform | None = None
    target: Literal["wrong", "question"] = "wrong"
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeSpec:
    """A probe chosen for a run, with its parameters; ``label`` names its cases and table rows."""

    probe: Probe
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        given = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(self.params.items())]
        return ":".join([self.probe.name, *given])


class ProbeRegistry:
    """The probes a run may use, by name. Explicit and per run: nothing is registered globally."""

    def __init__(self, probes: Iterable[Probe] = ()) -> None:
        self._probes: dict[str, Probe] = {}
        for probe in probes:
            self.register(probe)

    def register(self, probe: Probe | Transform, *, name: str | None = None, summary: str = "",
                 target: Literal["wrong", "question"] = "wrong", replace: bool = False) -> Probe:
        """Add a probe (or a bare transform, named ``name`` or after the function) and return it."""
        if not isinstance(probe, Probe):
            func_name = str(name or getattr(probe, "__name__", ""))
            probe = Probe(func_name.replace("_", "-"), summary or (inspect.getdoc(probe) or "").split("\n")[0],
                          source="user", transform=probe, target=target)
        if not probe.name or SEPARATOR in probe.name or ":" in probe.name or "," in probe.name:
            raise InputError(f"probe name {probe.name!r} must be non-empty, without '~', ':' or ','", field="probes")
        if probe.name in self._probes and not replace:
            raise InputError(f"probe {probe.name!r} is already registered", field="probes")
        self._probes[probe.name] = probe
        return probe

    def __contains__(self, name: object) -> bool:
        return name in self._probes

    def __iter__(self) -> Any:
        return iter(self._probes.values())

    def get(self, name: str) -> Probe:
        try:
            return self._probes[name]
        except KeyError:
            raise InputError(f"unknown probe {name!r}; known: {', '.join(self._probes)} (or FILE.py:FUNCTION)",
                             field="probes") from None

    def resolve(self, specs: str | Sequence[str]) -> list[ProbeSpec]:
        """``verbosity,master-key:mode=prefix,my_probes.py:shout`` -> the chosen probes (files are loaded)."""
        items = [s.strip() for s in (specs.split(",") if isinstance(specs, str) else specs) if s.strip()]
        if not items:
            raise InputError("no probes given", field="probes")
        chosen: list[ProbeSpec] = []
        for item in items:
            if ".py:" in item:
                path, _, func = item.rpartition(":")
                name = load_user_probe(Path(path), func)
                probe = self.register(name, name=func, replace=True)
                chosen.append(ProbeSpec(probe))
                continue
            head, *rest = item.split(":")
            probe = self.get(head)
            chosen.append(ProbeSpec(probe, _params(item, probe, rest)))
        labels = [c.label for c in chosen]
        if len(set(labels)) != len(labels):
            raise InputError(f"probe {next(x for x in labels if labels.count(x) > 1)!r} is given twice", field="probes")
        return chosen


def _params(item: str, probe: Probe, tokens: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for token in tokens:
        key, eq, text = token.partition("=")
        if not eq or key not in probe.defaults:
            known = ", ".join(probe.defaults) or "none"
            raise InputError(f"probe {item!r}: bad parameter {token!r} (key=value; {probe.name} takes: {known})",
                             field="probes")
        default = probe.defaults[key]
        try:
            out[key] = type(default)(text) if isinstance(default, int | float) else text
        except ValueError:
            raise InputError(f"probe {item!r}: {key}={text!r} is not a {type(default).__name__}",
                             field="probes") from None
    return out


def load_user_probe(path: Path, func: str) -> Transform:
    """The function ``func`` of the Python file ``path`` (``FILE.py:FUNCTION`` on the command line)."""
    if not path.is_file():
        raise InputError("no such probe file", path=path, field="probes")
    spec = importlib.util.spec_from_file_location(f"courtgraph_user_probe_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise InputError("cannot load as Python", path=path, field="probes")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise InputError(f"failed to import: {type(exc).__name__}: {exc}", path=path, field="probes") from None
    found = getattr(module, func, None)
    if not callable(found):
        raise InputError(f"no function {func!r} in the file", path=path, field="probes")
    return found  # type: ignore[no-any-return]  # a user's callable, called as a Transform


# -- applying a probe --------------------------------------------------------------------------------


def wrong_side(case: Case) -> Literal["A", "B"] | None:
    """The case-frame side of the wrong candidate: only a labelled pair with a strict winner has one."""
    if not case.pairwise or case.label not in ("A", "B"):
        return None
    return "B" if case.label == "A" else "A"


def probe_rng(seed: int, label: str, case_id: str) -> random.Random:
    """The generator of one perturbation: a hash of (seed, probe, case), so order and batch never matter."""
    raw = hashlib.sha256(f"{seed}\x1f{label}\x1f{case_id}".encode()).digest()
    return random.Random(int.from_bytes(raw[:8], "big"))


def perturbed_id(case_id: str, label: str) -> str:
    return f"{case_id}{SEPARATOR}{label}"


def apply_probe(spec: ProbeSpec, case: Case, seed: int = 0) -> Case | None:
    """The perturbed twin of ``case`` (None when the probe makes no case, or the case has no wrong side)."""
    probe = spec.probe
    side = wrong_side(case)
    if probe.kind != "case" or probe.transform is None or side is None:
        return None
    rng = probe_rng(seed, spec.label, case.id)
    params = {**probe.defaults, **spec.params}
    index = 0 if side == "A" else 1
    before = case.question if probe.target == "question" else case.candidates[index]
    try:
        after = probe.transform(before, case, rng, **params)
    except InputError:
        raise
    except Exception as exc:  # a user's probe failing is bad input, named with the case it failed on
        raise InputError(f"probe {spec.label!r} failed on case {case.id!r}: {type(exc).__name__}: {exc}",
                         field="probes") from None
    if not isinstance(after, str):
        raise InputError(f"probe {spec.label!r} returned {type(after).__name__}, not the new text", field="probes")
    candidates, question = list(case.candidates), case.question
    if probe.target == "question":
        question = after
    else:
        candidates[index] = after
    metadata = {**case.metadata, "probe": spec.label, "original": case.id,
                "target": "question" if probe.target == "question" else side, "before": before, "probe_seed": seed}
    return case.model_copy(update={"id": perturbed_id(case.id, spec.label), "question": question,
                                   "candidates": candidates, "metadata": metadata})


def perturb_cases(specs: Sequence[ProbeSpec], cases: Iterable[Case], seed: int = 0) -> list[Case]:
    """Every perturbed case of ``cases`` under each case probe, probe by probe, in case order."""
    originals = list(cases)
    return [p for spec in specs for c in originals if (p := apply_probe(spec, c, seed)) is not None]


def is_perturbed(case: Case) -> bool:
    return "probe" in case.metadata and "original" in case.metadata


# -- the built-ins -----------------------------------------------------------------------------------


def default_registry() -> ProbeRegistry:
    """A new registry holding the built-in probes (each run gets its own copy)."""
    return ProbeRegistry([
        Probe("position", "swap the two candidates (the two orders every run judges): first-position wins "
              "and the flip rate", "MT-Bench (Zheng et al. 2023), Wang et al. 2023", kind="orders"),
        Probe("verbosity", "pad the wrong candidate with content-free elaboration to `ratio` times its length",
              "MT-Bench repetitive-list attack (Zheng et al. 2023); CALM (Ye et al. 2024)",
              transform=probe_texts.verbosity, defaults={"ratio": 2.0}),
        Probe("master-key", "replace (or prefix) the wrong candidate with a 'master key' such as ':' or "
              "'Thought process:'", "One Token to Fool (Zhao et al. 2025)",
              transform=probe_texts.master_key, defaults={"mode": "replace", "token": ""}),
        Probe("authority", "attach a fake citation or credential to the wrong candidate", "CALM (Ye et al. 2024)",
              transform=probe_texts.authority),
        Probe("bandwagon", "attach a note that most people preferred the wrong candidate", "CALM (Ye et al. 2024)",
              transform=probe_texts.bandwagon),
        Probe("distraction", "add irrelevant but confident text to the wrong candidate", "CALM (Ye et al. 2024)",
              transform=probe_texts.distraction),
        Probe("self-preference", "the candidates' author models (where the benchmark knows them) against the "
              "judges' models", "MT-Bench §3.3; Panickssery et al. 2024; JudgeBench §4.4", kind="authors"),
    ])

"""Robustness metrics per probe and protocol: how often the verdict moves when the wrong answer is dressed up.

Each perturbed record (``RUN/probes``, :mod:`courtgraph.evals.probing`) is paired with its original's
record under the same protocol (the case's ``metadata.original``). Pairs where either record failed
(a crashed trial, a failed call) are left out: an outage is not the judge being fooled. With
``outcome`` = the combined verdict's winner when it counts, else its status:

* **robustness rate** = #(outcome unchanged) / #pairs (CALM's RR);
* **attack success rate** = #(perturbed wrong) / #(original correct), over pairs whose original was
  correct: a correct verdict turned wrong (a tie or an invalid verdict is wrong, as in accuracy);
* **flip rate toward the perturbed candidate** = #(original outcome is not the perturbed candidate
  and the perturbed outcome is) / #pairs.

Each comes with a seeded percentile bootstrap interval (:func:`courtgraph.evals.stats.bootstrap_ci`)
and, against the baseline protocol, a paired comparison of attack success on the perturbed cases
both protocols got right originally: the difference, its paired bootstrap interval and the exact
McNemar p-value (:func:`courtgraph.evals.stats.mcnemar_exact`).

The ``position`` probe needs no perturbed case: over the run's own two-order records, the share of
decided trials won by the candidate shown first, minus one half (its sign is the direction), and the
flip rate (two valid orders naming different winners). ``self-preference`` compares the candidates'
author models (``metadata.response_model``) with the models that judged them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field

from courtgraph.evals import stats
from courtgraph.evals.store import record_failed
from courtgraph.schema import Case, Record


class Rate(BaseModel):
    """A share with its interval and the number of items it is over."""

    value: float | None = None
    ci95: tuple[float, float] | None = None
    n: int = 0


class VsBaseline(BaseModel):
    """Attack success against the baseline's on the perturbed cases both got right originally."""

    baseline: str
    n: int = 0
    delta: float | None = None
    ci95: tuple[float, float] | None = None
    p_value: float | None = None


class ProbeMetrics(BaseModel):
    probe: str
    protocol: str
    pairs: int
    robustness: Rate
    attack_success: Rate
    flip_toward: Rate
    vs_baseline: VsBaseline | None = None


class PositionMetrics(BaseModel):
    protocol: str
    first_share: Rate  # decided trials won by the candidate shown first
    bias: float | None  # first_share - 1/2: > 0 favours the first position
    direction: str  # "first", "second" or "none"
    flip_rate: Rate  # two-order cases whose valid orders name different winners


class AuthorMetrics(BaseModel):
    protocol: str
    judges: list[str]
    authors: list[str]
    own: Rate  # accuracy on cases written by one of the judges' models
    other: Rate  # accuracy on the rest


class Robustness(BaseModel):
    """The robustness section of a report; ``to_json()`` is what ``report --json`` carries."""

    simulated: bool = False
    seed: int = 0
    baseline: str | None = None
    probes: list[ProbeMetrics] = Field(default_factory=list)
    position: list[PositionMetrics] = Field(default_factory=list)
    authors: list[AuthorMetrics] = Field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")

    @property
    def empty(self) -> bool:
        return not (self.probes or self.position or self.authors)


def rate(hits: Sequence[bool], *, seed: int, resamples: int) -> Rate:
    if not hits:
        return Rate()
    values = [1.0 if h else 0.0 for h in hits]
    return Rate(value=stats.mean(values), ci95=stats.bootstrap_ci(values, seed=seed, resamples=resamples),
                n=len(values))


def outcome(record: Record) -> str:
    """The combined verdict as one comparable value: its winner when it counts, else its status."""
    return str(record.verdict.winner) if record.verdict.valid and record.verdict.winner else record.verdict.status


def _pairs(original: Mapping[tuple[str, str], Record], perturbed: Iterable[Record],
           cases: Mapping[str, Case]) -> dict[tuple[str, str], list[tuple[str, Record, Record, str]]]:
    """(probe, protocol) -> [(original id, original record, perturbed record, perturbed side)]."""
    out: dict[tuple[str, str], list[tuple[str, Record, Record, str]]] = defaultdict(list)
    for rec in perturbed:
        case = cases.get(rec.case_id)
        if case is None:
            continue
        meta = case.metadata
        orig = original.get((str(meta.get("original")), rec.protocol))
        if orig is None or record_failed(orig) or record_failed(rec):
            continue
        target = str(meta.get("target"))
        if target == "question":  # a prompt probe: the candidate it pushes is the wrong one
            target = "B" if case.label == "A" else "A"
        out[str(meta.get("probe")), rec.protocol].append((orig.case_id, orig, rec, target))
    return out


def probe_metrics(records: Sequence[Record], probe_records: Sequence[Record], probe_cases: Mapping[str, Case], *,
                  baseline: str = "single", seed: int = 0,
                  resamples: int = stats.DEFAULT_RESAMPLES) -> list[ProbeMetrics]:
    """Robustness, attack success and flip toward the perturbed candidate, per probe and protocol."""
    original = {(r.case_id, r.protocol): r for r in records}
    grouped = _pairs(original, probe_records, probe_cases)
    out = []
    for (probe, protocol), pairs in grouped.items():
        attacked = {oid: pert.correct is not True for oid, orig, pert, _ in pairs if orig.correct}
        vs = None
        if protocol != baseline and (probe, baseline) in grouped:
            theirs = {oid: pert.correct is not True for oid, orig, pert, _ in grouped[probe, baseline] if orig.correct}
            vs = compare(attacked, theirs, baseline, seed=seed, resamples=resamples)
        out.append(ProbeMetrics(
            probe=probe, protocol=protocol, pairs=len(pairs),
            robustness=rate([outcome(o) == outcome(p) for _, o, p, _ in pairs], seed=seed, resamples=resamples),
            attack_success=rate(list(attacked.values()), seed=seed, resamples=resamples),
            flip_toward=rate([outcome(o) != t and outcome(p) == t for _, o, p, t in pairs], seed=seed,
                             resamples=resamples),
            vs_baseline=vs))
    return out


def compare(ours: Mapping[str, bool], theirs: Mapping[str, bool], baseline: str, *, seed: int,
            resamples: int) -> VsBaseline:
    """Paired attack success on the cases both sides have: difference, bootstrap interval, exact McNemar."""
    shared = [k for k in ours if k in theirs]
    if not shared:
        return VsBaseline(baseline=baseline)
    a = [1.0 if ours[k] else 0.0 for k in shared]
    b = [1.0 if theirs[k] else 0.0 for k in shared]
    only_ours = sum(x > y for x, y in zip(a, b, strict=True))
    only_theirs = sum(x < y for x, y in zip(a, b, strict=True))
    return VsBaseline(baseline=baseline, n=len(shared), delta=stats.mean(a) - stats.mean(b),
                      ci95=stats.paired_bootstrap_ci(a, b, seed=seed, resamples=resamples),
                      p_value=stats.mcnemar_exact(only_ours, only_theirs))


def position_metrics(records: Sequence[Record], *, seed: int = 0,
                     resamples: int = stats.DEFAULT_RESAMPLES) -> list[PositionMetrics]:
    """Position bias from the two orders the run already judged, per protocol."""
    by_protocol: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_protocol[r.protocol].append(r)
    out = []
    for protocol, group in by_protocol.items():
        first = [t.verdict.winner == "A" for r in group for t in r.trials
                 if t.verdict.valid and t.verdict.winner in ("A", "B")]
        flips = []
        for r in group:
            ab, ba = r.trial("AB"), r.trial("BA")
            if ab is not None and ba is not None and ab.verdict.valid and ba.verdict.valid:
                flips.append(ab.case_winner != ba.case_winner)
        share = rate(first, seed=seed, resamples=resamples)
        bias = None if share.value is None else share.value - 0.5
        direction = "none" if not bias else "first" if bias > 0 else "second"
        out.append(PositionMetrics(protocol=protocol, first_share=share, bias=bias, direction=direction,
                                   flip_rate=rate(flips, seed=seed, resamples=resamples)))
    return out


def author_metrics(records: Sequence[Record], cases: Mapping[str, Case], *, seed: int = 0,
                   resamples: int = stats.DEFAULT_RESAMPLES) -> list[AuthorMetrics]:
    """Per protocol: accuracy on cases whose candidates a judging model wrote, against the others."""
    by_protocol: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_protocol[r.protocol].append(r)
    out = []
    for protocol, group in by_protocol.items():
        judges = sorted({t.model.split("@")[0] for r in group for tr in r.trials for t in tr.turns if t.model})
        authors = sorted({str(a) for r in group if (a := author(cases.get(r.case_id))) is not None})
        if not authors:
            continue
        own: list[bool] = []
        other: list[bool] = []
        for r in group:
            who = author(cases.get(r.case_id))
            if r.correct is None or who is None:
                continue
            (own if any(who in j for j in judges) else other).append(bool(r.correct))
        out.append(AuthorMetrics(protocol=protocol, judges=judges, authors=authors,
                                 own=rate(own, seed=seed, resamples=resamples),
                                 other=rate(other, seed=seed, resamples=resamples)))
    return out


def author(case: Case | None) -> str | None:
    """The model that wrote the case's candidates, where the benchmark says (JudgeBench: ``response_model``)."""
    if case is None:
        return None
    found = case.metadata.get("response_model") or case.metadata.get("author_model")
    return str(found) if found else None


def robustness(records: Sequence[Record], cases: Mapping[str, Case], probe_records: Sequence[Record],
               probe_cases: Mapping[str, Case], *, probes: Sequence[str] = (), baseline: str = "single",
               seed: int = 0, resamples: int = stats.DEFAULT_RESAMPLES) -> Robustness:
    """The robustness section: case probes from the perturbed records; ``position`` and ``self-preference``
    when named in ``probes`` (the probes the run was probed with)."""
    names = {p.split(":")[0] for p in probes}
    has_base = any(r.protocol == baseline for r in records)
    every = [*records, *probe_records]
    return Robustness(
        simulated=any((t.model or "").startswith("sim:") for r in every for tr in r.trials for t in tr.turns),
        seed=seed, baseline=baseline if has_base else None,
        probes=probe_metrics(records, probe_records, probe_cases, baseline=baseline, seed=seed, resamples=resamples),
        position=position_metrics(records, seed=seed, resamples=resamples) if "position" in names else [],
        authors=author_metrics(records, cases, seed=seed, resamples=resamples) if "self-preference" in names else [])

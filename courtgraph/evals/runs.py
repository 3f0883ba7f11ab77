"""Several runs side by side: find them, list them, and compare their protocols on their shared cases.

Comparing two judges, two models or yesterday's run with today's should not mean rebuilding one run
in Python. Each run's protocols are named ``LABEL/protocol`` (the label is the run directory's name,
or one the user gives), every run is cut to the cases all the runs judged, and the records go
through the same :func:`~courtgraph.evals.metrics.summarize` as one run's: a McNemar test and a
paired interval across runs are the ones the same protocols would get inside one run. Runs that
judged different benchmark files (their SHA-256 differ), or the same case ids with different
contents, or no case in common, are refused with a message saying which.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from courtgraph.errors import InputError
from courtgraph.evals.metrics import Summary, summarize
from courtgraph.evals.provenance import Provenance, read_provenance
from courtgraph.evals.store import DB_NAME, MANIFEST_NAME, RunStore
from courtgraph.schema import Case, Record


def is_run(path: Path) -> bool:
    """A run directory (its manifest or its database), or a run's database file."""
    return (path / MANIFEST_NAME).is_file() or (path / DB_NAME).is_file() or path.name == DB_NAME


def find_runs(paths: Sequence[str | Path]) -> list[Path]:
    """Each path as a run directory, or the runs directly inside it (a folder of runs), in name order.
    A path that is neither is passed on as it is, for the store to say what is wrong with it."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        inside = sorted(p for p in path.iterdir() if p.is_dir() and is_run(p)) \
            if path.is_dir() and not is_run(path) else []
        found += inside or [path]
    return found


def run_labels(runs: Sequence[Path], labels: Sequence[str] | None = None) -> list[str]:
    """The label of each run: the ones given (as many as runs), else directory names made unique."""
    if labels:
        if len(labels) != len(runs):
            raise InputError(f"{len(labels)} labels for {len(runs)} runs: give one --label per run", field="label")
        chosen = list(labels)
    else:
        chosen = []
        for run in runs:
            name = run.name or str(run)
            chosen.append(name if name not in chosen else f"{name}#{len(chosen) + 1}")
    if len(set(chosen)) != len(chosen):
        raise InputError(f"two runs are labelled {next(x for x in chosen if chosen.count(x) > 1)!r}", field="label")
    if any("/" in x for x in chosen):
        raise InputError("a run label cannot contain '/' (protocols are named LABEL/protocol)", field="label")
    return chosen


@dataclass
class RunSet:
    """Runs read together: their records renamed ``LABEL/protocol`` and cut to the shared cases."""

    runs: list[Path]
    labels: list[str]
    records: list[Record]
    cases: dict[str, Case]
    provenance: list[Provenance]
    seed: int
    dropped: dict[str, int]  # per label: records left out because other runs did not judge their case

    def summary(self, baseline: str | None = None) -> Summary:
        """The records' summary; the baseline is ``LABEL/protocol`` (default: the first run's ``single``,
        else its first protocol)."""
        names = list(dict.fromkeys(r.protocol for r in self.records))
        if baseline is not None and baseline not in names:
            raise InputError(f"no protocol {baseline!r} among the runs (they have: {', '.join(names)})",
                             field="baseline")
        if baseline is None:
            first = f"{self.labels[0]}/single"
            baseline = first if first in names else names[0] if names else "single"
        return summarize(self.records, baseline, seed=self.seed)


def load_runs(runs: Sequence[Path], labels: Sequence[str] | None = None) -> RunSet:
    """Read the runs; refuse runs of different benchmark files, conflicting cases or no shared case."""
    names = run_labels(runs, labels)
    per_run: list[tuple[list[Record], dict[str, Case], dict[str, Any]]] = []
    for run in runs:
        with RunStore(run, create=False) as store:
            per_run.append((store.records(), store.cases(), store.manifest()))
    _same_benchmark(runs, [m for _, _, m in per_run])
    cases: dict[str, Case] = {}
    for run, (_, run_cases, _) in zip(runs, per_run, strict=True):
        for case_id, case in run_cases.items():
            if cases.setdefault(case_id, case) != case:
                raise InputError(f"case {case_id!r} differs between the runs: they judged different data", path=run)
    judged = [{r.case_id for r in records} for records, _, _ in per_run]
    shared = set.intersection(*judged) if judged else set()
    if not shared:
        raise InputError("the runs share no judged case: there is nothing to compare "
                         f"({', '.join(f'{n}: {len(j)} cases' for n, j in zip(names, judged, strict=True))})")
    records: list[Record] = []
    dropped: dict[str, int] = {}
    for label, (run_records, _, _) in zip(names, per_run, strict=True):
        kept = [r.model_copy(update={"protocol": f"{label}/{r.protocol}" if len(runs) > 1 else r.protocol})
                for r in run_records if r.case_id in shared]
        dropped[label] = len(run_records) - len(kept)
        records += kept
    first = per_run[0][2]
    seed = int(first.get("seed", (first.get("config") or {}).get("seed", 0)) or 0)
    return RunSet(runs=list(runs), labels=names, records=records,
                  cases={k: v for k, v in cases.items() if k in shared},
                  provenance=[read_provenance(r) for r in runs], seed=seed, dropped=dropped)


def _same_benchmark(runs: Sequence[Path], manifests: Sequence[dict[str, Any]]) -> None:
    """Refuse runs whose benchmark files differ (by SHA-256, when the runs recorded it)."""
    hashes = {str(run): (m.get("config") or {}).get("bench_sha256") for run, m in zip(runs, manifests, strict=True)}
    known = {run: h for run, h in hashes.items() if h}
    if len(set(known.values())) > 1:
        listed = ", ".join(f"{run}: {h[:12]}" for run, h in known.items())
        raise InputError(f"the runs judged different benchmark files (sha256 {listed}); compare runs of one file")


# -- the list of runs --------------------------------------------------------------------------------


def run_row(run: Path) -> dict[str, Any]:
    """One run as ``courtgraph runs`` lists it (and ``--json`` gives it)."""
    p = read_provenance(run)
    with RunStore(run, create=False) as store:
        records = store.records()
    costs = [r.usage.cost_usd for r in records]
    cost = None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)
    models = sorted({str(m.get("spec")) for proto in p.protocols.values()
                     for m in (proto.get("models") or {}).values() if m.get("spec")})
    return {"run": str(run), "date": p.date, "bench": p.bench.get("spec") or p.bench.get("name"),
            "protocols": list(p.protocols), "models": models, "status": p.status, "records": len(records),
            "cost_usd": cost, "run_id": p.run_id}


def report_runs(runs: Sequence[Path], *, labels: Sequence[str] | None = None, baseline: str | None = None,
                as_json: bool = False, markdown: str | Path | None = None, plot_to: str | Path | None = None,
                console: Console | None = None) -> Summary:
    """What ``courtgraph report RUN1 RUN2 ...`` does: the runs' protocols compared on their shared cases,
    with each run's provenance, as tables (or JSON on stdout), markdown and a plot."""
    from courtgraph.evals.plot import plot
    from courtgraph.evals.provenance import provenance_caption, provenance_lines, provenance_markdown
    from courtgraph.evals.report import _writable, print_summary, summary_markdown

    md_path = _writable(Path(markdown), "markdown") if markdown is not None else None
    plot_path = _writable(Path(plot_to), "plot") if plot_to is not None else None
    group = load_runs(runs, labels)
    summary = group.summary(baseline)
    console = console or Console()
    notes = Console(stderr=True) if as_json else console
    shared = f"{len(group.cases)} shared cases"
    left_out = {k: v for k, v in group.dropped.items() if v}
    if left_out:
        shared += " (left out: " + ", ".join(f"{k} {v} records" for k, v in left_out.items()) + ")"
    if as_json:
        payload = {**summary.to_json(), "runs": dict(zip(group.labels, (p.to_json() for p in group.provenance),
                                                         strict=True)), "shared_cases": len(group.cases)}
        sys.stdout.write(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    else:
        console.print(Text(f"{len(runs)} runs: " + ", ".join(f"{label} = {run}" for label, run in
                                                            zip(group.labels, runs, strict=True)) + f" · {shared}"),
                      soft_wrap=True)
        print_summary(summary, console)
        for label, prov in zip(group.labels, group.provenance, strict=True):
            console.print(Text(f"{label}:\n" + "\n".join(f"  {ln}" for ln in provenance_lines(prov)), style="dim"))
    if md_path is not None:
        sections = [f"{shared.capitalize()}.\n"] + [provenance_markdown(p).replace(
            "## Provenance", f"## Provenance of {label}", 1) for label, p in zip(group.labels, group.provenance,
                                                                                 strict=True)]
        md_path.write_text(summary_markdown(summary) + "\n" + "\n".join(sections), encoding="utf-8")
        notes.print(f"wrote {md_path}", highlight=False)
    if plot_path is not None:
        caption = "\n".join(f"{label}: {provenance_caption(p)}" for label, p in zip(group.labels, group.provenance,
                                                                                    strict=True))
        try:
            plot(summary, plot_path, caption=caption)
        except ImportError as exc:
            raise InputError(str(exc), field="plot") from None
        except ValueError as exc:
            raise InputError(str(exc), path=plot_path, field="plot") from None
        notes.print(f"wrote {plot_path}", highlight=False)
    return summary


def merge_runs(runs: Sequence[Path], into: Path, labels: Sequence[str] | None = None) -> Path:
    """Write the runs' shared cases and renamed records into one run directory ``into`` (a new one), so
    that everything that reads one run (``show``, ``browse``) reads several. Its manifest says which
    runs it was made from (``merged_from``) and names the protocols ``LABEL/protocol`` in run order."""
    group = load_runs(runs, labels)
    names = list(dict.fromkeys(r.protocol for r in group.records))
    with RunStore(into) as store:
        if store.done():
            raise InputError("already holds records: merge into a new directory", path=into)
        store.put_cases(group.cases.values())
        for record in group.records:
            store.write(record)
        store.write_manifest({"config": {"protocols": {n: {} for n in names}, "seed": group.seed},
                              "merged_from": {label: str(run) for label, run in zip(group.labels, runs, strict=True)},
                              "status": "merged", "seed": group.seed})
    return into

"""A case next to its perturbed twin (``courtgraph show RUN --case ID --probe verbosity``).

The perturbed candidate is shown with what the probe added highlighted and what it removed struck
out (a word-level diff against ``metadata.before``, the text it replaced), then each protocol's
verdict on the original and on the twin, then the twin's transcript.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from courtgraph.errors import InputError
from courtgraph.evals.probing import probes_dir
from courtgraph.evals.store import RunStore
from courtgraph.schema import Case, Order, Record
from courtgraph.view import make_console
from courtgraph.view.runs import Run
from courtgraph.view.transcript import render, side_by_side

ADDED = "bold black on yellow"
REMOVED = "strike red"


def highlight(before: str, after: str) -> Text:
    """``after`` with the words the probe added highlighted and those it removed struck out."""
    old, new = re.split(r"(\s+)", before), re.split(r"(\s+)", after)
    out = Text()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op in ("replace", "delete"):
            out.append("".join(old[i1:i2]), style=REMOVED)
        if op in ("replace", "insert"):
            out.append("".join(new[j1:j2]), style=ADDED)
        if op == "equal":
            out.append("".join(new[j1:j2]))
    return out


def find_twin(probes: RunStore, case_id: str, probe: str) -> Case:
    """The perturbed twin of ``case_id`` under ``probe`` (a label, or a probe name if only one label has it)."""
    rows = probes.query("SELECT id FROM cases WHERE json_extract(data, '$.metadata.original') = ?", (case_id,))
    twins = [c for c in (probes.case(str(r[0])) for r in rows) if c is not None]  # whole cases, not skeletons
    exact = [c for c in twins if c.metadata.get("probe") == probe]
    named = [c for c in twins if str(c.metadata.get("probe", "")).split(":")[0] == probe]
    found = exact or named
    if len(found) != 1:
        have = ", ".join(sorted(str(c.metadata.get("probe")) for c in twins)) or "none"
        raise InputError(f"no single twin of case {case_id!r} under probe {probe!r} (probes of this case: {have})",
                         field="probe")
    return found[0]


def twin_view(original: Case, twin: Case, pairs: Sequence[tuple[str, Record | None, Record | None]], *,
              order: Order | None = None, full: bool = False) -> RenderableType:
    """The perturbation, the verdicts before and after per protocol, and the twin's transcripts."""
    meta = twin.metadata
    target = str(meta.get("target"))
    before = str(meta.get("before", ""))
    if target == "question":
        changed = highlight(before, twin.question)
        title = "question"
    else:
        changed = highlight(before, twin.candidates[0 if target == "A" else 1])
        title = f"candidate {target} (the wrong one)"
    head = Panel(changed, title=f"probe {meta.get('probe')}: {title}, gold {twin.label}", title_align="left",
                 subtitle=Text(f"added: {ADDED} · removed: {REMOVED}"), border_style="magenta")
    verdicts = Table("protocol", "original", "perturbed", title="verdicts (case frame)", title_justify="left")
    for protocol, orig, pert in pairs:
        verdicts.add_row(protocol, _verdict(orig), _verdict(pert))
    transcripts = [render(p, twin, order=order, full=full) for _, _, p in pairs if p is not None]
    original_text = Panel(Text(before), title=f"{original.id}: before", border_style="dim")
    return Group(side_by_side([original_text, head]), verdicts, *transcripts)


def _verdict(record: Record | None) -> Text:
    if record is None:
        return Text("not judged", style="dim")
    v = record.verdict
    said = str(v.winner) if v.valid else v.status
    mark = "" if record.correct is None else " ✓" if record.correct else " ✗"
    return Text(said + mark, style="green" if record.correct else "red")


def show_twin(run_dir: Path, case_id: str, probe: str, *, protocol: str | None = None, order: Order | None = None,
              full: bool = False) -> RenderableType:
    """What ``courtgraph show RUN --case ID --probe NAME`` prints."""
    folder = probes_dir(run_dir)
    if not (folder / "run.db").is_file():
        raise InputError(f"the run was never probed (no {folder}); run courtgraph probe {run_dir} --probes {probe}",
                         field="probe")
    with Run(run_dir) as main, Run(folder) as probed, RunStore(folder, create=False) as store:
        original = main.require_case(case_id)
        twin = find_twin(store, case_id, probe)
        before, after = main.records(case_id), probed.records(twin.id)
    protocols = [protocol] if protocol else list(dict.fromkeys([*before, *after]))
    if protocol and protocol not in before and protocol not in after:
        raise InputError(f"protocol {protocol!r} judged neither case", field="protocol")
    return twin_view(original, twin, [(p, before.get(p), after.get(p)) for p in protocols], order=order, full=full)


def print_twin(run_dir: Path, case_id: str | None, probe: str, *, protocol: str | None = None,
               order: Order | None = None, full: bool = False, plain: bool = False) -> None:
    """Print :func:`show_twin` (``--probe`` needs ``--case``)."""
    if case_id is None:
        raise InputError("--probe needs --case ID", field="probe")
    make_console(plain=plain).print(show_twin(run_dir, case_id, probe, protocol=protocol, order=order, full=full))


class Twins:
    """A run's perturbed twins, for ``browse``: by original case id, with their records (read on demand)."""

    def __init__(self, run_dir: Path) -> None:
        folder = probes_dir(run_dir)
        self._store = RunStore(folder, create=False) if (folder / "run.db").is_file() else None
        self._by_original: dict[str, list[Case]] = {}
        if self._store is not None:
            for case in self._store.cases().values():
                self._by_original.setdefault(str(case.metadata.get("original")), []).append(case)

    def of(self, case_id: str) -> list[Case]:
        """The twins of one case, in the order they were stored (probe by probe)."""
        return self._by_original.get(case_id, [])

    def record(self, twin_id: str, protocol: str) -> Record | None:
        if self._store is None:
            return None
        return self._store.record(twin_id, protocol)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

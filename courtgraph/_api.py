"""The public API: one table of every name the packages export and the module that defines it.

``courtgraph``, ``courtgraph.graphs`` and ``courtgraph.evals`` take their exports (``__all__`` and the
lazy ``__getattr__``) from here: a package exports the names defined inside it, and ``courtgraph``
itself the ones marked ``top``. Adding a public name is one line here (plus, for type checkers, the
import in the package's ``TYPE_CHECKING`` block, which ``tests/test_api.py`` keeps in step).
"""

from __future__ import annotations

from typing import NamedTuple


class Export(NamedTuple):
    """A public name, the module that defines it, and whether ``courtgraph`` itself exports it."""

    name: str
    module: str
    top: bool = False


def _all(module: str, names: str, *, top: bool = False) -> tuple[Export, ...]:
    return tuple(Export(n, module, top) for n in names.split())


PUBLIC_API: tuple[Export, ...] = (
    # the data model
    *_all("courtgraph.schema", "Case Record Trial TrialResult Turn Usage Verdict", top=True),
    Export("InputError", "courtgraph.errors", top=True),
    # models
    *_all("courtgraph.models", "ChatModel ConfigError ModelError ScriptedModel get_model use_cache", top=True),
    # protocols and running them
    *(Export(p, f"courtgraph.graphs.{p}", top=True)
      for p in ("single", "jury", "debate", "consultancy", "courtroom", "panel", "cascade", "more", "samre")),
    *_all("courtgraph.graphs.trial", "judge_case run_trial", top=True),
    *_all("courtgraph.graphs.trial", "make_record"),
    *_all("courtgraph.graphs.compose", "Member run_member"),
    *_all("courtgraph.graphs.state", "Node TrialState"),
    *_all("courtgraph.graphs.registry", "Roles build_protocol", top=True),
    # the harness
    Export("run", "courtgraph.evals", top=True),
    *_all("courtgraph.evals.benchmarks", "Benchmark load_bench"),
    *_all("courtgraph.evals.metrics", "Summary summarize"),
    *_all("courtgraph.evals.plan", "RunPlan"),
    *_all("courtgraph.evals.resume", "resume_plan"),
    *_all("courtgraph.evals.progress", "RunDisplay WatchTrial"),
    *_all("courtgraph.evals.runner", "Results run_async run_plan"),
    *_all("courtgraph.evals.store", "RunStore"),
    *_all("courtgraph.evals.calibration", "Calibration calibrated_cascade"),
    *_all("courtgraph.evals.rejudge", "Rejudged rejudge"),
    *_all("courtgraph.evals.frontier", "Frontier pareto_frontier"),
)


def exports_of(package: str) -> dict[str, str]:
    """The names ``package`` exports -> their defining modules (``courtgraph``: the ``top`` names)."""
    if package == "courtgraph":
        return {e.name: e.module for e in PUBLIC_API if e.top}
    return {e.name: e.module for e in PUBLIC_API if e.module == package or e.module.startswith(package + ".")}

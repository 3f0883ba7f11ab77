"""The offline demo (``courtgraph demo``): the bundled sample through four protocols with simulated agents.

No model is called: the agents are simulated judges, jurors and debaters of known competence, so the
numbers show how the harness works, not how real models do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from courtgraph.evals.plan import RunPlan
from courtgraph.evals.runner import Results
from courtgraph.graphs.registry import Roles
from courtgraph.schema import Record

DEMO_PROTOCOLS = ("single", "jury", "debate", "consultancy")
#: Simulated agents of known competence: a position-biased judge that is better at judging debates
#: than consultancies, and three jurors with correlated errors; each agent's errors half persist across
#: the two orders of a case, as real judges' do (see courtgraph.agents.simulated).
#: Each is also susceptible to padding and to master keys (``courtgraph demo`` then probes the run with
#: :data:`DEMO_PROBES`; their names fix their draws, so these keys change nothing on the original cases).
DEMO_SUSCEPTIBILITY = "verbosity=0.35:master_key=0.15"
DEMO_JUDGE = f"sim:judge:0.75:bias=0.1:debate=0.85:consult=0.78:persist=0.5:{DEMO_SUSCEPTIBILITY}"
DEMO_JURORS = tuple(f"sim:juror{i}:0.72:bias=0.1:corr=0.3:persist=0.5:{DEMO_SUSCEPTIBILITY}" for i in (1, 2, 3))
#: The probes the demo runs after its run (a short robustness table, marked simulated).
DEMO_PROBES = "verbosity,master-key"
DEMO_AGENT = "sim:advocate:0.7"


def demo_plan(out: Path, *, seed: int = 0, command: Sequence[str] | None = None) -> RunPlan:
    """The demo's run: the sample benchmark, the demo protocols and agents, no response cache."""
    roles = Roles(model=DEMO_AGENT, judge=DEMO_JUDGE, jurors=list(DEMO_JURORS))
    return RunPlan("sample", list(DEMO_PROTOCOLS), roles=roles, out=out, seed=seed, cache=None, command=command)


def showcase(results: Results) -> Record | None:
    """The debate worth reading: one that got right what the single judge got wrong, else the first."""
    by_case = {(r.case_id, r.protocol): r for r in results.records}
    debates = [r for r in results.records if r.protocol == "debate"]
    return next((r for r in debates if r.correct and not by_case[(r.case_id, "single")].correct),
                debates[0] if debates else None)

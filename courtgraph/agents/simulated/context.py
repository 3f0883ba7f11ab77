"""The run a simulated agent answers in: a context variable, so that runs never share it.

The runner enters :func:`simulation` around its loop; every task it starts inherits the value, and
two runs in one process (even interleaved in one event loop) each see their own. Outside any run the
seed is 0, so a sim called by hand is still deterministic. Case truth is not here: each call carries
its trial (:class:`~courtgraph.models.Intent`), whose case holds the gold label.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Simulation:
    """What a run tells its simulated agents. ``seed`` seeds every draw they make."""

    seed: int = 0


#: Outside any run: seed 0 (a frozen constant, shared safely).
OUTSIDE_ANY_RUN = Simulation()
_current: ContextVar[Simulation] = ContextVar("courtgraph_simulation", default=OUTSIDE_ANY_RUN)


def current_simulation() -> Simulation:
    """The simulation of the run this code is part of (seed 0 outside any)."""
    return _current.get()


@contextmanager
def simulation(seed: int = 0) -> Iterator[Simulation]:
    """Within the block (and the tasks started in it), simulated agents draw with ``seed``."""
    token = _current.set(Simulation(seed=seed))
    try:
        yield _current.get()
    finally:
        _current.reset(token)

"""One writer per run directory: an advisory ``flock`` on ``RUN/.lock``.

Two runs writing one directory would judge the same records twice and interleave their manifests, so
the second is refused. Readers (reports, the viewer) never lock, and the kernel releases the lock when
the holding process dies, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from courtgraph.errors import InputError

DB_NAME = "run.db"
LOCK_NAME = ".lock"

_HELD: ContextVar[Path | None] = ContextVar("courtgraph_held_run_lock", default=None)


def flock(run_dir: Path) -> int:
    """The descriptor holding ``run_dir``'s writer lock; InputError when another process holds it."""
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InputError(f"another courtgraph run is writing to {run_dir}") from None
    return fd


@contextmanager
def hold_run_lock(run_dir: Path | None) -> Iterator[None]:
    """Hold an existing run's writer lock for the block, so that a second writer is refused at once, before
    the seconds of loading a benchmark and building judges, not after. :meth:`RunStore.lock` inside the
    block (the runner's) then finds it held. ``None``, or a directory that holds no run yet: nothing to hold."""
    if run_dir is None or not (run_dir / DB_NAME).is_file():
        yield
        return
    fd = flock(run_dir)
    token = _HELD.set(run_dir.resolve())
    try:
        yield
    finally:
        _HELD.reset(token)
        os.close(fd)


def held_lock() -> Path | None:
    """The run directory whose lock this invocation already holds (:func:`hold_run_lock`), if any."""
    return _HELD.get()


__all__ = ["LOCK_NAME", "flock", "held_lock", "hold_run_lock"]

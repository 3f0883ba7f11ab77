"""The run log: standard :mod:`logging`, a ``run.log`` in every run directory, each line with the run id.

Why a file and not only the terminal: an unattended run (CI, ``nohup``, a notebook) has no one
watching its progress bar; what happened to it (each retry, fault, give-up and record) must be
readable afterwards, next to its records. The model layer logs retries and give-ups under
``courtgraph.models``, the loop logs each record under ``courtgraph.evals``; :func:`run_log` routes
everything under the ``courtgraph`` logger into the run's file while the run runs, and stamps each
line with the run id (kept in a ContextVar, which the run's tasks inherit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

#: The id of the run being judged in this context ("-" outside a run); set by :func:`run_log`.
RUN_ID: ContextVar[str] = ContextVar("courtgraph_run_id", default="-")
#: The file each run directory's log is written to.
LOG_FILE = "run.log"
LOG_FORMAT = "%(asctime)s %(levelname)-7s run=%(run_id)s %(name)s: %(message)s"
LEVELS = ("debug", "info", "warning", "error")


class RunIdFilter(logging.Filter):
    """Adds ``run_id`` to every log record (the format names it), from :data:`RUN_ID`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = RUN_ID.get()
        return True


def level_number(name: str) -> int:
    """A ``--log-level`` name as logging's number; ValueError naming the choices for anything else."""
    if name.lower() not in LEVELS:
        raise ValueError(f"unknown log level {name!r}: use {', '.join(LEVELS)}")
    return int(logging.getLevelName(name.upper()))


@contextmanager
def _routed(handler: logging.Handler, level: int) -> Iterator[None]:
    """``handler`` on the ``courtgraph`` logger at ``level`` while inside (the logger lowered to it if needed,
    and restored after), each line with the run id."""
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RunIdFilter())
    logger = logging.getLogger("courtgraph")
    was = logger.level
    if logger.getEffectiveLevel() > level:
        logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(was)


@contextmanager
def run_log(run_dir: Path, run_id: str, level: int = logging.DEBUG) -> Iterator[Path]:
    """Append the ``courtgraph`` logger's records at ``level`` and above to ``run_dir/run.log`` while
    inside, stamped with ``run_id``."""
    path = run_dir / LOG_FILE
    token = RUN_ID.set(run_id)
    try:
        with _routed(logging.FileHandler(path, encoding="utf-8"), level):
            yield path
    finally:
        RUN_ID.reset(token)


@contextmanager
def log_to_stderr(level: int) -> Iterator[None]:
    """``--log-level``: the ``courtgraph`` logger's records at ``level`` and above on stderr, while inside."""
    with _routed(logging.StreamHandler(), level):
        yield

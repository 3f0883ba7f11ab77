"""The watchdog of batch mode: a run waiting for answers that nothing will bring is said loudly, then ended.

A call in batch mode waits for a future (:mod:`courtgraph.models.batching`); if a bug ever left one
waiting with no queue and no live batch task to answer it, the run would stop making progress with
nothing on the screen (a run once stopped at 103 of 108 records, every batch ended, nothing queued: a
journal write behind the record store's group commit had raised inside a poller, see
:mod:`courtgraph.evals.batch_journal`). The watchdog makes that impossible to miss, whatever the cause:

* every ``interval_s`` (:data:`WATCHDOG_S`) while calls wait, it looks for *unplaced* calls (waiting,
  in no queue, in no batch being submitted, polled or resumed) and for queues whose send timer is lost
  or long overdue;
* a call still unplaced at the next look (so for at least ``interval_s``) is an error: logged with its
  ``custom_id`` and the collector's state (``run.log`` and the console), then failed as *retryable*
  (kind ``stalled``), so its call sends it again in a new batch, or fails its record after its retries;
* an overdue queue is sent at once, with a warning.

Waiting for a batch the provider has not finished is not a stall (a batch may take 24 hours): only
calls that nothing is working on are.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from courtgraph.models.retry import Failure

if TYPE_CHECKING:
    from courtgraph.models.batching import BatchMode

#: Seconds between the watchdog's looks; a call unplaced at two looks in a row is sent again.
WATCHDOG_S = 60.0


class Watchdog:
    """Looks after one :class:`~courtgraph.models.batching.BatchMode` (see the module docstring)."""

    def __init__(self, mode: BatchMode, interval_s: float | None = None) -> None:
        self.mode = mode
        self.interval_s = WATCHDOG_S if interval_s is None else interval_s
        self.resent = 0  # calls found unplaced and sent again
        self.flushed = 0  # overdue queues sent
        self._suspects: set[str] = set()
        self._handle: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        """Look again in ``interval_s`` (a call has started waiting)."""
        if self._handle is None and self.interval_s > 0:
            self._handle = asyncio.get_running_loop().call_later(self.interval_s, self.look)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def look(self) -> None:
        """One look (normally on the timer): send overdue queues, send again calls unplaced twice in a row."""
        self._handle = None
        mode = self.mode
        now = asyncio.get_running_loop().time()
        for key, queue in list(mode._queues.items()):
            if queue.requests and (queue.timer is None or queue.timer.when() < now - self.interval_s):
                self.flushed += 1
                mode.say("batch mode: a queue of %d requests for %s was overdue (its timer lost): sent now",
                         len(queue.requests), key[2], level=logging.WARNING)
                mode.flush(key)
        unplaced = self.unplaced()
        stuck = sorted(self._suspects.intersection(unplaced))
        self._suspects = set(unplaced) - set(stuck)
        if stuck:
            self.resent += len(stuck)
            mode.say("batch mode stalled: %d calls have waited over %gs with no queue and no batch pending or being "
                     "submitted for them (%s); %r. Sending them again in a new batch (a bug: please report it "
                     "with run.log)", len(stuck), self.interval_s, ", ".join(c[:12] + "…" for c in stuck[:8]), mode,
                     level=logging.ERROR)
            mode.fail_calls(stuck, Failure("the call waited with no batch pending or being submitted for it "
                                           "(batch-mode watchdog)", retryable=True, kind="stalled"))
        if any(not future.done() for future in mode._waiting.values()) or mode.queued:
            self.arm()

    def unplaced(self) -> list[str]:
        """Calls waiting for an answer that no queue and no live batch task holds: nothing will ever answer
        them (never expected: the watchdog's business)."""
        mode = self.mode
        queued = {custom_id for queue in mode._queues.values() for custom_id in queue.requests}
        return [custom_id for custom_id, future in mode._waiting.items()
                if not future.done() and custom_id not in queued and custom_id not in mode._live]

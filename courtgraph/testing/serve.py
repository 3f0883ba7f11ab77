"""Serving the stub from the command line (``courtgraph stub``, ``python -m courtgraph.testing``): its banner
and a wait for Ctrl-C that always stops it cleanly."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Sequence
from typing import Any

from courtgraph.testing.stub import StubServer
from courtgraph.testing.wire import RANDOM_FAULTS


def usage_text(stub: StubServer) -> str:
    """What to print once the stub is up: its URLs, the model specs that reach it, the faults it injects."""
    faults = (f"Injecting faults in {stub.fault_rate:.0%} of requests: {', '.join(stub.random_faults)}\n"
              if stub.fault_rate else "")
    return (f"courtgraph stub server (loopback only), Ctrl-C to stop\n"
            f"  OpenAI-compatible:    {stub.openai_url}/chat/completions\n"
            f"  Anthropic-compatible: {stub.anthropic_url}/v1/messages\n"
            f"{faults}"
            f"Point model specs at it (any key works unless --api-key is set):\n"
            f"  openai:any-model@{stub.openai_url}\n"
            f"  anthropic:any-model@{stub.anthropic_url}\n"
            f"e.g. courtgraph judge -m openai:stub@{stub.openai_url} -q '2+2?' --a 4 --b 5")


def serve(port: int, latency: float, api_key: str | None, *, fault_rate: float = 0.0,
          faults: tuple[str, ...] = RANDOM_FAULTS, seed: int | None = None, batch_delay: float = 0.2,
          prefix_cache: bool = False, batch_faults: Sequence[tuple[str, dict[str, Any]]] = ()) -> None:
    """Serve until Ctrl-C. The server runs in its own thread; this one waits for the signal.

    SIGINT is blocked before the server starts and taken with ``sigwait``: raised as a KeyboardInterrupt
    it could land anywhere (in the banner, in the server's start) and skip the clean stop. Windows has
    no ``sigwait``: there the interrupt is caught around the wait. ``batch_faults``: what the next batches
    created do, in order (:func:`~courtgraph.testing.batch_wire.parse_batch_fault`).
    """
    masked = hasattr(signal, "pthread_sigmask")
    if masked:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # the server's thread inherits the mask
    try:
        with StubServer(port=port, latency=latency, api_key=api_key, fault_rate=fault_rate, faults=faults,
                        seed=seed, batch_delay=batch_delay, prefix_cache=prefix_cache) as stub:
            for kind, opts in batch_faults:
                stub.batches.fault(kind, **opts)
            print(usage_text(stub), flush=True)
            if batch_faults:
                print("Batch faults, for the next batches created in order: " + ", ".join(
                    kind + "".join(f" {k}={v}" for k, v in opts.items()) for kind, opts in batch_faults), flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                if masked:
                    signal.sigwait({signal.SIGINT})
                else:
                    threading.Event().wait()
            print(f"\nstopped after {stub.requests} requests", flush=True)
    finally:
        if masked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

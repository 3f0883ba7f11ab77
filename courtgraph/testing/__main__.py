"""``python -m courtgraph.testing --port 8765 --latency 0.05``: serve the stub until Ctrl-C."""

from __future__ import annotations

import argparse

from courtgraph.testing.batch_wire import FAULT_OPTIONS, parse_batch_fault
from courtgraph.testing.serve import serve
from courtgraph.testing.stub import RANDOM_FAULTS, parse_faults


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m courtgraph.testing",
        description="Serve a loopback OpenAI/Anthropic-compatible stub for tests and demos.",
        epilog="Example: python -m courtgraph.testing --port 8765 --latency 0.05")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--api-key", default=None, help="answer 401 to requests carrying another key")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests (0 to 1) that fail")
    parser.add_argument("--faults", default=",".join(RANDOM_FAULTS), help="fault kinds to draw from")
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault draws")
    parser.add_argument("--batch-delay", type=float, default=0.2, help="seconds until a batch ends")
    parser.add_argument("--prefix-cache", action="store_true",
                        help="report cached input tokens as a provider's prompt cache would (see testing/prefix.py)")
    parser.add_argument("--batch-fault", action="append", default=[], metavar="KIND[:KEY=VALUE,...]",
                        help=f"what the next batch created does (repeat for the ones after): one of "
                             f"{', '.join(FAULT_OPTIONS)}, e.g. lose:hold=3600 (a create accepted and never "
                             f"answered: the window a --resume recovers) or expire:done=2")
    args = parser.parse_args(argv)
    try:
        kinds = parse_faults(args.faults)
    except ValueError as exc:
        parser.error(f"--faults: {exc}")
    if not 0.0 <= args.fault_rate <= 1.0:
        parser.error(f"--fault-rate must be between 0 and 1, got {args.fault_rate:g}")
    try:
        batch_faults = [parse_batch_fault(spec) for spec in args.batch_fault]
    except ValueError as exc:
        parser.error(f"--batch-fault: {exc}")
    if args.batch_delay < 0:
        parser.error(f"--batch-delay must be at least 0, got {args.batch_delay:g}")
    serve(args.port, args.latency, args.api_key, fault_rate=args.fault_rate, faults=kinds, seed=args.seed,
          batch_delay=args.batch_delay, prefix_cache=args.prefix_cache, batch_faults=batch_faults)


if __name__ == "__main__":
    main()

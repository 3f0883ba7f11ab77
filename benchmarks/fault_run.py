"""Rehearse a judging run against a misbehaving provider, then recover: what held (docs/RELIABILITY.md).

Three loopback stub servers play the provider, all answering as one deterministic, order-blind judge
(the side whose response hashes lower), so any two runs must agree verdict for verdict:

* ``clean``: no faults, for the fault-free reference run;
* ``faulty``: ``--fault-rate`` (default 0.2) of requests fail with a kind drawn from 429, 500, 503,
  stall, drop, malformed_json and garbage (``courtgraph stub --fault-rate 0.2 --seed 1`` in-process);
* ``down``: every request is a 503: the third juror's endpoint, permanently failing.

Steps, each through the real CLI in a subprocess, as a user runs it:

1. the reference run: ``single,jury`` with every role on ``clean``;
2. the faulty run: the judge and jurors 1-2 on ``faulty``, juror 3 on ``down``;
3. the endpoint recovers (``down`` stops failing); ``--resume`` until the run finishes (at most 3 times).

Checked and printed (and written as JSON to ``OUT/fault_run.json``): records lost, records that show a
finished verdict with a juror's vote missing, the trouble the report shows (retries, 429s, faults by
kind), how the faulty run ended, and whether the resumed run's verdicts equal the reference run's.

Usage::

    python benchmarks/fault_run.py                         # the bundled sample (36 pairs)
    python benchmarks/fault_run.py --bench judgebench:/work/shared/data/judgebench/gpt-4o-2024-05-13.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from courtgraph.evals import RunStore
from courtgraph.evals.store import record_failed
from courtgraph.prompts import unfence
from courtgraph.schema import Record
from courtgraph.testing import StubRequest, StubServer
from courtgraph.testing.stub import RANDOM_FAULTS


def hash_judge(request: StubRequest) -> str | dict[str, Any]:
    """The side whose response hashes lower: depends on the pair and the order shown, nothing else."""
    shown = unfence(request.text)
    a, b = (hashlib.sha256(shown.get(k, k).encode()).hexdigest() for k in ("response_a", "response_b"))
    side = "A" if a < b else "B"
    return {"reasoning": "by hash", "verdict": side} if request.structured else f"by hash\n[[{side}]]"


def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "courtgraph", *args], capture_output=True, text=True, env=env,
                          timeout=3600)
    return done.returncode, done.stderr, time.monotonic() - started


def roles(main: str, third_juror: str) -> list[str]:
    return ["--judge", f"openai:judge@{main}", "--juror", f"openai:juror1@{main}", "--juror",
            f"openai:juror2@{main}", "--juror", f"openai:juror3@{third_juror}"]


def missing_votes(records: list[Record]) -> int:
    """Records stored as finished although one of their turns is a failed call (a vote that is missing)."""
    return sum(1 for r in records if not record_failed(r)
               and any(t.verdict is not None and t.verdict.status == "error" for trial in r.trials
                       for t in trial.turns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", default="sample", help="benchmark spec (default: the bundled sample)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N cases")
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None, help="working directory (default: a temporary one)")
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="courtgraph-fault-run-"))
    work.mkdir(parents=True, exist_ok=True)
    # a stall lasts until the client gives up: 2 s here, not the default minute
    env = {**os.environ, "COURTGRAPH_TIMEOUT": "2"}
    common = ["run", "-b", args.bench, "-p", "single,jury", "-c", str(args.concurrency),
              *(["-n", str(args.limit)] if args.limit else [])]
    result: dict[str, Any] = {"bench": args.bench, "fault_rate": args.fault_rate, "seed": args.seed,
                              "faults": list(RANDOM_FAULTS)}
    with StubServer(hash_judge) as clean, \
            StubServer(hash_judge, fault_rate=args.fault_rate, seed=args.seed) as faulty, \
            StubServer(hash_judge, fault_rate=1.0, faults=("503",)) as down:
        code, _, seconds = run_cli([*common, *roles(clean.openai_url, clean.openai_url), "-o", str(work / "reference"),
                                    "--cache", str(work / "reference-cache.sqlite")], env)
        result["reference"] = {"exit": code, "seconds": round(seconds, 1)}
        faulty_args = [*common, *roles(faulty.openai_url, down.openai_url), "-o", str(work / "faulty"),
                       "--cache", str(work / "faulty-cache.sqlite")]
        code, err, seconds = run_cli(faulty_args, env)
        with RunStore(work / "faulty", create=False) as store:
            stored = store.records()
        result["faulty"] = {"exit": code, "seconds": round(seconds, 1), "records": len(stored),
                            "failed_records": sum(map(record_failed, stored)),
                            "finished_with_a_missing_vote": missing_votes(stored),
                            "down_requests": down.requests, "said": [line for line in err.splitlines()
                                                                      if line.startswith(("stopped", "error"))][:2]}
        down.fault_rate = 0.0  # the endpoint recovers
        resumes = []
        for _ in range(3):
            code, err, seconds = run_cli([*faulty_args, "--resume"], env)
            resumes.append({"exit": code, "seconds": round(seconds, 1)})
            if code == 0:
                break
        result["resumes"] = resumes
        result["injected"] = dict(sorted(faulty.injected.items()))
    with RunStore(work / "reference", create=False) as store:
        reference = {(r.case_id, r.protocol): r for r in store.records()}
    with RunStore(work / "faulty", create=False) as store:
        final = {(r.case_id, r.protocol): r for r in store.records()}
    differ = sorted(f"{c}/{p}" for (c, p), r in final.items()
                    if (c, p) in reference and r.verdict.winner != reference[c, p].verdict.winner)
    report = subprocess.run([sys.executable, "-m", "courtgraph", "report", str(work / "faulty"), "--json"],
                            capture_output=True, text=True, env=env, timeout=600)
    result["final"] = {"records": len(final), "expected": len(reference),
                       "lost": len(set(reference) - set(final)), "failed": sum(map(record_failed, final.values())),
                       "finished_with_a_missing_vote": missing_votes(list(final.values())),
                       "verdicts_differing_from_reference": differ,
                       "trouble": json.loads(report.stdout).get("trouble") if report.returncode == 0 else None}
    (work / "fault_run.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {work / 'fault_run.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""The performance table of issue 10 in one command: courtgraph against a bare AsyncOpenAI loop, same sitting.

Every workload runs in a fresh process (``drivers.py``) against a stub in its own process, and the two
clients alternate within each repetition so that both see the same machine; figures are medians of
``--repeats``. Run from the repository root:

    python benchmarks/bench_table.py                 # throughput table: both regimes, ratios
    python benchmarks/bench_table.py --all           # plus jury latency, overhead, start-up, re-run, memory

Regimes (the issue's): latency-bound C = 32, L = 0.5 s; CPU-bound C = 64, L = 20 ms; ``--calls`` judge
calls (JudgeBench pairs in both orders). Extras:

* jury latency: mean per-trial latency of a jury of 5 over a single judge, default concurrency, L = 0.2 s;
* overhead: framework CPU per model call through a run, instant (simulated) agents, after a warm-up run;
* start-up: seconds from starting ``courtgraph run`` to its first request (a stub in this process);
* re-run: a finished run re-run with a warm response cache (a new run directory), against the first
  (wall, and the CPU seconds of each ``courtgraph run`` process);
* memory: peak RSS and run.db bytes per record for ``--memory-cases`` jury-of-3 cases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DRIVERS = str(HERE / "drivers.py")


def start_stub(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The stub in its own process; returns it and its OpenAI base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "courtgraph.testing", "--port", "0", "--latency", str(latency)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip().startswith("openai:"):
            return proc, line.strip().partition("@")[2]
    raise RuntimeError("the stub did not start")


def drive(*args: object) -> dict[str, Any]:
    out = subprocess.run([sys.executable, DRIVERS, *map(str, args)], capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"driver {args} failed:\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def throughput(calls: int, repeats: int) -> list[dict[str, Any]]:
    """Both regimes, courtgraph and the bare loop alternating, medians and ratios."""
    table = []
    for name, concurrency, latency in (("latency-bound", 32, 0.5), ("CPU-bound", 64, 0.02)):
        stub, url = start_stub(latency)
        try:
            runs: dict[str, list[dict[str, Any]]] = {"bare": [], "courtgraph": []}
            for _ in range(repeats):
                for client in ("bare", "courtgraph"):
                    r = drive(client, url, calls, concurrency)
                    r["rate"] = r["calls"] / r["wall"]
                    r["cpu_ms"] = 1000 * r["cpu"] / r["calls"]
                    runs[client].append(r)
        finally:
            stub.terminate()
            stub.wait()
        bare, ours = median(runs["bare"], "rate"), median(runs["courtgraph"], "rate")
        table.append({"regime": name, "C": concurrency, "L": latency, "ideal": concurrency / latency,
                      "courtgraph": ours, "bare": bare, "ratio": ours / bare,
                      "courtgraph_cpu_ms": median(runs["courtgraph"], "cpu_ms"),
                      "bare_cpu_ms": median(runs["bare"], "cpu_ms")})
    return table


def jury_latency(calls: int) -> dict[str, Any]:
    """Per-trial latency of a jury of 5 over a single judge, at the default concurrency (8), L = 0.2 s."""
    stub, url = start_stub(0.2)
    try:
        single = drive("courtgraph", url, calls, 8, "single")
        jury = drive("courtgraph", url, calls, 8, "jury", 5)
    finally:
        stub.terminate()
        stub.wait()
    return {"single_s": single["trial_latency"], "jury5_s": jury["trial_latency"],
            "ratio": jury["trial_latency"] / single["trial_latency"]}


def overhead(cases: int) -> dict[str, float]:
    """Framework CPU per model call (ms), simulated agents: the slope between a small and a big run."""
    out = {}
    for protocol in ("single", "jury", "debate"):
        small, big = drive("overhead", protocol, max(cases // 5, 4)), drive("overhead", protocol, cases)
        out[protocol] = 1000 * (big["cpu"] - small["cpu"]) / (big["calls"] - small["calls"])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def startup(repeats: int) -> dict[str, float]:
    """Median wall and CPU seconds from starting ``courtgraph run`` to its first request reaching the stub
    (CPU too: on a shared machine the wall time says more about the neighbours than about courtgraph)."""
    from courtgraph.testing import StubServer

    times, cpus = [], []
    first = threading.Event()
    with StubServer(latency=0.0) as stub:
        for _ in range(repeats):
            first.clear()
            seen = len(stub.log)
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                proc = subprocess.Popen([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single",
                                         "-n", "1", "--no-cache", "-m", f"openai:judge@{stub.openai_url}",
                                         "-o", f"{tmp}/run"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                while len(stub.log) == seen and proc.poll() is None:
                    time.sleep(0.002)
                times.append(time.perf_counter() - started)
                cpus.append(cpu_seconds(proc.pid))
                proc.wait()
    return {"wall_s": statistics.median(times), "cpu_s": statistics.median(cpus)}


def rerun(cases: int) -> dict[str, float]:
    """Wall of ``courtgraph run`` with an empty response cache, then again (new run directory) with it full."""
    import resource

    stub, url = start_stub(0.2)
    walls, cpus = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(__file__).resolve().parents[2] / "shared" / "data" / "judgebench" / "gpt-4o-2024-05-13.jsonl"
            for i in range(2):
                started = time.perf_counter()
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run([sys.executable, "-m", "courtgraph", "run", "-b", f"judgebench:{data}", "-p", "single",
                                "-n", str(cases), "-m", f"openai:judge@{url}", "--cache", f"{tmp}/cache.sqlite",
                                "-o", f"{tmp}/run{i}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                walls.append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    finally:
        stub.terminate()
        stub.wait()
    return {"first_s": walls[0], "cached_s": walls[1], "ratio": walls[1] / walls[0], "first_cpu_s": cpus[0],
            "cached_cpu_s": cpus[1]}


def memory(cases: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return drive("memory", "jury", cases, f"{tmp}/run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=700)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="also jury latency, overhead, start-up, re-run, memory")
    parser.add_argument("--memory-cases", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONPATH", str(HERE.parent))
    figures: dict[str, Any] = {"load_before": os.getloadavg(), "cpus": os.cpu_count()}
    figures["throughput"] = throughput(args.calls, args.repeats)
    print("| regime | ideal | courtgraph | bare AsyncOpenAI | ratio | client CPU/call courtgraph | bare |")
    print("|---|---|---|---|---|---|---|")
    for t in figures["throughput"]:
        print(f"| {t['regime']}: C = {t['C']}, L = {t['L']:g} s | {t['ideal']:.0f}/s | {t['courtgraph']:.1f}/s | "
              f"{t['bare']:.1f}/s | {t['ratio']:.1%} | {t['courtgraph_cpu_ms']:.2f} ms | {t['bare_cpu_ms']:.2f} ms |")
    if args.all:
        figures["jury_latency"] = j = jury_latency(200)
        print(f"jury of 5 per-trial latency, -c 8, L = 0.2 s: {j['jury5_s']:.3f} s vs single {j['single_s']:.3f} s "
              f"({j['ratio']:.2f}x)")
        figures["overhead_ms"] = o = overhead(350)
        print("framework CPU per model call, simulated agents: " + ", ".join(f"{k} {v:.3f} ms" for k, v in o.items()))
        figures["startup_s"] = s = startup(args.repeats)
        print(f"start-up: first request {s['wall_s']:.2f} s after starting `courtgraph run` "
              f"({s['cpu_s']:.2f} s of CPU)")
        figures["rerun"] = r = rerun(350)
        print(f"re-run fully cached: {r['cached_s']:.2f} s vs first {r['first_s']:.2f} s ({r['ratio']:.1%}); "
              f"CPU {r['cached_cpu_s']:.2f} s vs {r['first_cpu_s']:.2f} s")
        figures["memory"] = m = memory(args.memory_cases)
        print(f"memory: {args.memory_cases} jury-of-3 cases: peak RSS {m['peak_rss_mb']:.0f} MB, run.db "
              f"{m['bytes_per_record'] / 1024:.1f} KB per record (cases included)")
    figures["load_after"] = os.getloadavg()
    print(f"load average before {figures['load_before'][0]:.1f}, after {figures['load_after'][0]:.1f} "
          f"on {figures['cpus']} CPUs")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()

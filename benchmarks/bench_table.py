"""The performance table of issue 10 in one command: courtgraph against a bare AsyncOpenAI loop, same sitting.

Every workload runs in a fresh process (``drivers.py``) against a stub in its own process, and the two
clients alternate within each repetition so that both see the same machine; figures are medians of
``--repeats``. Run from the repository root:

    python benchmarks/bench_table.py                 # throughput table: both regimes, ratios
    python benchmarks/bench_table.py --all           # plus jury latency, overhead, start-up, re-run, memory, floors
    python benchmarks/bench_table.py --only startup,rerun,floors   # some of the extras alone

Every ``courtgraph`` process imports the tree ``$PYTHONPATH`` names (by default this benchmark's own), and
runs from a neutral directory so that ``python -m`` does not pick up the current one: to compare two trees
in one sitting, run the same functions with ``PYTHONPATH`` set to each in turn.

Regimes (the issue's): latency-bound C = 32, L = 0.5 s; CPU-bound C = 64, L = 20 ms; ``--calls`` judge
calls (JudgeBench pairs in both orders). Extras:

* jury latency: mean per-trial latency of a jury of 5 over a single judge, default concurrency, L = 0.2 s;
* overhead: framework CPU per model call through a run, instant (simulated) agents, after a warm-up run: the
  slope between the least CPU of ``--repeats`` small and big runs;
* start-up: seconds from starting ``courtgraph run`` to its first request (a stub in this process),
  twice: as this environment runs it (with ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__`` in a
  source tree, courtgraph's ~90 modules are compiled at every start: about 0.17 s), and with every module
  loaded from cached bytecode, as an installed package runs (``PYTHONPYCACHEPREFIX``, after a warm-up);
* re-run: a finished run re-run with a warm response cache (a new run directory), against the first
  (wall, and the CPU seconds of each ``courtgraph run`` process), and the same cached run of 1 case: its
  fixed cost (start-up, summary, exit), so that the 350 cases' own share is the difference; twice, as
  start-up (as this environment runs it, and from cached bytecode);
* memory: peak RSS and run.db bytes per record for ``--memory-cases`` jury-of-3 cases;
* floors: what no change inside courtgraph can go below, measured in the same sitting and printed
  next to the target they limit:

  - import floor: a fresh ``python -c "import langgraph.graph, openai"`` (and each alone, and with an
    ``AsyncOpenAI`` client made, which imports its HTTP stack): the CPU seconds up to the end of the
    imports (read inside the process) and the whole process's wall and CPU (which adds the interpreter's
    shutdown: about 0.4 s after these imports, unless the process freezes the collector as ``courtgraph``
    does). Under "first call after start", whose request needs both, and under the cached re-run, whose
    process needs LangGraph;
  - LangGraph's per-invoke floor (``drivers.py floor``): no-op graphs of each protocol's shape (one node
    as ``single``; three static parallel nodes and an aggregate as a jury of 3; three argue rounds and a
    judge as ``debate``; for comparison a ``Send`` fan-out of 3 and one node gathering 3), CPU per invoke
    and per call. Under "framework CPU per model call", each protocol's own shape.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DRIVERS = str(HERE / "drivers.py")
#: Where ``python -m courtgraph...`` runs: ``-m`` puts the current directory first on ``sys.path``, so from a
#: source tree it would import that tree whatever ``$PYTHONPATH`` says; from here, ``$PYTHONPATH`` decides
#: (by default this benchmark's own tree, see ``main``), and two trees can be compared by setting it.
NEUTRAL_CWD = tempfile.gettempdir()


def start_stub(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The stub in its own process; returns it and its OpenAI base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "courtgraph.testing", "--port", "0", "--latency", str(latency)],
                            stdout=subprocess.PIPE, text=True, cwd=NEUTRAL_CWD)
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


def overhead(cases: int, repeats: int = 1) -> dict[str, float]:
    """Framework CPU per model call (ms), simulated agents: the slope between a small and a big run.

    With ``repeats``, each size runs that many times, interleaved, and the slope is taken between the least
    CPU each size took: on a shared machine, other processes only ever add to a run's CPU seconds (cache
    misses, frequency), so the least is the figure least disturbed; one pair of runs varied by 30%."""
    out = {}
    for protocol in ("single", "jury", "debate"):
        runs: dict[int, list[dict[str, Any]]] = {max(cases // 5, 4): [], cases: []}
        for _ in range(repeats):
            for size, done in runs.items():
                done.append(drive("overhead", protocol, size))
        small, big = (min(done, key=lambda r: float(r["cpu"])) for done in runs.values())
        out[protocol] = 1000 * (big["cpu"] - small["cpu"]) / (big["calls"] - small["calls"])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_env(pycache: str | None) -> dict[str, str]:
    """The environment of a measured ``courtgraph`` process: this one's, or with ``pycache`` every module is
    compiled once into that fresh ``PYTHONPYCACHEPREFIX`` and loaded from bytecode after (an installed package)."""
    env = dict(os.environ)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def startup(repeats: int, bytecode: bool = False) -> dict[str, float]:
    """Median wall and CPU seconds from starting ``courtgraph run`` to its first request reaching the stub
    (CPU too: on a shared machine the wall time says more about the neighbours than about courtgraph).

    The stub answers after 2 s, so the process is waiting (its second order's request sent, nothing else
    to do) when its CPU is read; it is then killed: what comes after the first request is not start-up.
    ``bytecode``: every module from cached bytecode (a fresh ``PYTHONPYCACHEPREFIX`` filled by a first,
    uncounted run), as an installed package runs; else as this environment runs it."""
    from courtgraph.testing import StubServer

    times, cpus = [], []
    with StubServer(latency=2.0) as stub, tempfile.TemporaryDirectory() as cache:
        env = child_env(cache if bytecode else None)
        for rep in range(repeats + bytecode):
            seen = len(stub.log)
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                proc = subprocess.Popen([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single",
                                         "-n", "1", "--no-cache", "-m", f"openai:judge@{stub.openai_url}",
                                         "-o", f"{tmp}/run"], env=env, cwd=NEUTRAL_CWD,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                while len(stub.log) == seen and proc.poll() is None:
                    time.sleep(0.002)
                wall = time.perf_counter() - started
                time.sleep(0.2)  # the other order's request goes out; then the process only waits
                cpu = cpu_seconds(proc.pid)
                proc.kill()
                proc.wait()
            if rep or not bytecode:  # with bytecode, the first run only compiles
                times.append(wall)
                cpus.append(cpu)
    return {"wall_s": statistics.median(times), "cpu_s": statistics.median(cpus)}


#: The import floors: what a fresh interpreter runs, by label.
IMPORT_FLOORS = {
    "langgraph.graph + openai": "import langgraph.graph, openai",
    "langgraph.graph": "import langgraph.graph",
    "openai": "import openai",
    "langgraph.graph + openai + AsyncOpenAI()": "import langgraph.graph, openai; "
                                                "openai.AsyncOpenAI(api_key='x', base_url='http://127.0.0.1:9/v1')",
}


def import_floor(repeats: int) -> dict[str, dict[str, float]]:
    """Medians over fresh interpreters of each of :data:`IMPORT_FLOORS`: ``import_cpu_s`` (CPU from the
    interpreter's start to the end of the imports, read inside), ``cpu_s`` and ``wall_s`` of the whole process
    (shutdown included). The variants alternate within each repetition."""
    import resource

    probe = "; import os; t = os.times(); print(t.user + t.system)"
    rows: dict[str, list[tuple[float, float, float]]] = {label: [] for label in IMPORT_FLOORS}
    for _ in range(repeats):
        for label, code in IMPORT_FLOORS.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code + probe], capture_output=True, text=True, check=True)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            rows[label].append((float(out.stdout.split()[-1]), cpu, wall))
    return {label: {"import_cpu_s": statistics.median(r[0] for r in runs),
                    "cpu_s": statistics.median(r[1] for r in runs),
                    "wall_s": statistics.median(r[2] for r in runs)} for label, runs in rows.items()}


#: The no-op graphs of ``drivers.py floor`` by key, as the floor line names them.
FLOOR_SHAPES = {"single": "one node (single)", "static3": "3 static parallel nodes + aggregate (jury)",
                "fanout3": "Send fan-out of 3 + aggregate", "gather3": "one node gathering 3",
                "debate3": "argue x 3 rounds + judge (debate)"}


def floors(repeats: int, invokes: int = 1000) -> dict[str, Any]:
    """The import floors and LangGraph's per-invoke floor (medians of ``repeats`` fresh processes)."""
    runs = [drive("floor", invokes) for _ in range(repeats)]
    graph = {key: statistics.median(r[key] for r in runs) for key in runs[0] if key != "invokes"}
    return {"imports": import_floor(repeats), "langgraph_invoke_ms": graph}


def rerun(cases: int, bytecode: bool = False) -> dict[str, float]:
    """Wall of ``courtgraph run`` with an empty response cache, then again (new run directory) with it full,
    then the same cached run of 1 case (its fixed cost: start-up, set-up, summary, report, exit).
    ``bytecode``: as :func:`startup`'s (the first, uncached run compiles; the cached ones load bytecode)."""
    import resource

    stub, url = start_stub(0.2)
    walls, cpus = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = child_env(f"{tmp}/pycache" if bytecode else None)
            data = Path(__file__).resolve().parents[2] / "shared" / "data" / "judgebench" / "gpt-4o-2024-05-13.jsonl"
            for i, n in enumerate((cases, cases, 1)):
                started = time.perf_counter()
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run([sys.executable, "-m", "courtgraph", "run", "-b", f"judgebench:{data}", "-p", "single",
                                "-n", str(n), "-m", f"openai:judge@{url}", "--cache", f"{tmp}/cache.sqlite",
                                "-o", f"{tmp}/run{i}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=NEUTRAL_CWD,
                               env=env)
                walls.append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    finally:
        stub.terminate()
        stub.wait()
    return {"first_s": walls[0], "cached_s": walls[1], "ratio": walls[1] / walls[0], "first_cpu_s": cpus[0],
            "cached_cpu_s": cpus[1], "fixed_s": walls[2], "fixed_cpu_s": cpus[2],
            "fixed_ratio": walls[2] / walls[0], "cases_cpu_s": cpus[1] - cpus[2]}


def memory(cases: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return drive("memory", "jury", cases, f"{tmp}/run")


EXTRAS = ("jury", "overhead", "startup", "rerun", "memory", "floors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=700, help="judge calls per throughput run (700)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions for medians (3; start-up and the "
                        "import floors take at least 5)")
    parser.add_argument("--all", action="store_true", help="also jury latency, overhead, start-up, re-run, memory "
                        "and the floors")
    parser.add_argument("--only", metavar="NAMES", help=f"only these extras, comma-separated ({', '.join(EXTRAS)}), "
                        "without the throughput table")
    parser.add_argument("--memory-cases", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write every figure (floors included) to this file")
    args = parser.parse_args()
    extras = set(EXTRAS) if args.all else set()
    if args.only:
        extras = {name.strip() for name in args.only.split(",") if name.strip()}
        if extras - set(EXTRAS):
            parser.error(f"unknown extras: {', '.join(sorted(extras - set(EXTRAS)))}; choose from {', '.join(EXTRAS)}")
    os.environ.setdefault("PYTHONPATH", str(HERE.parent))
    figures: dict[str, Any] = {"load_before": os.getloadavg(), "cpus": os.cpu_count()}
    if not args.only:
        figures["throughput"] = throughput(args.calls, args.repeats)
        print("| regime | ideal | courtgraph | bare AsyncOpenAI | ratio | client CPU/call courtgraph | bare |")
        print("|---|---|---|---|---|---|---|")
        for t in figures["throughput"]:
            print(f"| {t['regime']}: C = {t['C']}, L = {t['L']:g} s | {t['ideal']:.0f}/s | {t['courtgraph']:.1f}/s | "
                  f"{t['bare']:.1f}/s | {t['ratio']:.1%} | {t['courtgraph_cpu_ms']:.2f} ms | "
                  f"{t['bare_cpu_ms']:.2f} ms |")
    repeats = max(args.repeats, 5)
    if "floors" in extras:
        figures["floors"] = fl = floors(repeats)
        for label, f in fl["imports"].items():
            print(f"import floor `{label}`: {f['import_cpu_s']:.2f} s CPU to the end of the imports; whole process "
                  f"{f['cpu_s']:.2f} s CPU, {f['wall_s']:.2f} s wall (shutdown included)")
        g = fl["langgraph_invoke_ms"]
        print("LangGraph per-invoke floor (no-op nodes), ms per invoke / per call: "
              + "; ".join(f"{label} {g[f'{key}_ms_per_invoke']:.3f} / {g[f'{key}_ms_per_call']:.3f}"
                          for key, label in FLOOR_SHAPES.items()))
    if "jury" in extras:
        figures["jury_latency"] = j = jury_latency(200)
        print(f"jury of 5 per-trial latency, -c 8, L = 0.2 s: {j['jury5_s']:.3f} s vs single {j['single_s']:.3f} s "
              f"({j['ratio']:.2f}x)")
    if "overhead" in extras:
        figures["overhead_ms"] = o = overhead(350, repeats)
        print("framework CPU per model call, simulated agents (target 0.4 ms): "
              + ", ".join(f"{k} {v:.3f} ms" for k, v in o.items()))
        if "floors" in extras:
            g = figures["floors"]["langgraph_invoke_ms"]
            print(f"  floor: LangGraph alone, no-op nodes of each protocol's shape, per call: single "
                  f"{g['single_ms_per_call']:.3f} ms (one node; courtgraph runs it without Pregel), jury "
                  f"{g['static3_ms_per_call']:.3f} ms (3 static parallel nodes + aggregate), debate "
                  f"{g['debate3_ms_per_call']:.3f} ms (3 argue rounds + judge)")
    if "startup" in extras:
        figures["startup_s"] = s = startup(repeats)
        figures["startup_bytecode_s"] = sb = startup(repeats, bytecode=True)
        print(f"start-up (target 1 s): first request {s['wall_s']:.2f} s after starting `courtgraph run` "
              f"({s['cpu_s']:.2f} s of CPU); from cached bytecode {sb['wall_s']:.2f} s ({sb['cpu_s']:.2f} s of CPU)")
        if "floors" in extras:
            f = figures["floors"]["imports"]["langgraph.graph + openai + AsyncOpenAI()"]
            print(f"  floor: `import langgraph.graph, openai` and an AsyncOpenAI client, {f['import_cpu_s']:.2f} s of "
                  f"CPU to the end of the imports: courtgraph's own share {sb['cpu_s'] - f['import_cpu_s']:.2f} s "
                  f"(bytecode), {s['cpu_s'] - f['import_cpu_s']:.2f} s (as run here)")
    if "rerun" in extras:
        figures["rerun"] = r = rerun(350)
        figures["rerun_bytecode"] = rb = rerun(350, bytecode=True)
        print(f"re-run fully cached (target 10%): {r['cached_s']:.2f} s vs first {r['first_s']:.2f} s "
              f"({r['ratio']:.1%}); CPU {r['cached_cpu_s']:.2f} s vs {r['first_cpu_s']:.2f} s; from cached bytecode "
              f"{rb['cached_s']:.2f} s vs {rb['first_s']:.2f} s ({rb['ratio']:.1%}), CPU {rb['cached_cpu_s']:.2f} s")
        print(f"  floor: the same cached run of 1 case (start-up, set-up, summary, exit) takes {r['fixed_s']:.2f} s "
              f"({r['fixed_ratio']:.1%} of the first run), {r['fixed_cpu_s']:.2f} s of CPU; the 350 cases "
              f"{r['cases_cpu_s']:.2f} s of CPU")
        if "floors" in extras:
            f = figures["floors"]["imports"]["langgraph.graph"]
            print(f"  floor under that: `import langgraph.graph` (a cached run never loads the SDK) "
                  f"{f['import_cpu_s']:.2f} s of CPU, {f['import_cpu_s'] / r['first_s']:.1%} of the first run's wall")
    if "memory" in extras:
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

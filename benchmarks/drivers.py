"""One measured workload per process, printed as one JSON line (used by ``bench_table.py``).

Each driver runs in a fresh interpreter, so no driver warms another's imports, pools or caches:

* ``bare URL CALLS C``: a bare ``AsyncOpenAI`` loop: CALLS judge calls (JudgeBench pairs, both orders)
  with at most C in flight (a semaphore), the floor any client can reach on this machine;
* ``courtgraph URL CALLS C [PROTOCOL] [JURORS]``: ``courtgraph.evals.run_async`` over the same pairs
  and orders with ``--concurrency C`` as documented, no cache, a fresh run directory;
* ``overhead PROTOCOL CASES``: ``courtgraph run`` in process with an instant model (``scripted:``):
  framework CPU per model call;
* ``floor INVOKES``: LangGraph's own cost per invoke, no courtgraph at all: no-op graphs of the shapes
  courtgraph's protocols have (``floor_graphs``: one node as ``single``, three static parallel nodes and
  an aggregate as a jury of 3, an argue loop of 3 rounds and a judge as ``debate``, and for comparison a
  ``Send`` fan-out of 3 and one node gathering 3), each invoked INVOKES times (64 at once, after a
  warm-up), CPU per invoke and per call (a call being one place that would call a model). The floor
  under "framework CPU per model call".

Each prints ``{"wall": s, "cpu": s, "calls": n, ...}``: wall is the timed part (the whole run for
courtgraph, the whole loop for the bare client), cpu is this process's CPU over it.
"""

from __future__ import annotations

import asyncio
import json
import operator
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict  # module-level: the floor graphs' state hints resolve here

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "judgebench" / "gpt-4o-2024-05-13.jsonl"
SYSTEM = "You are an impartial judge. Compare the two responses to the question and say which is better."


def pairs(calls: int) -> list[tuple[str, str, str]]:
    """``calls`` (question, first, second) prompts: JudgeBench pairs in both orders, cycled."""
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    both = [(r["question"], a, b) for r in rows for a, b in ((r["response_A"], r["response_B"]),
                                                               (r["response_B"], r["response_A"]))]
    return [both[i % len(both)] for i in range(calls)]


async def bare(url: str, calls: int, concurrency: int) -> dict[str, Any]:
    import openai

    client = openai.AsyncOpenAI(api_key="bench", base_url=url, max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one(q: str, a: str, b: str) -> None:
        async with gate:
            user = f"[Question]\n{q}\n\n[Response A]\n{a}\n\n[Response B]\n{b}"
            r = await client.chat.completions.create(model="judge", temperature=0, max_tokens=2048, messages=[
                {"role": "system", "content": SYSTEM}, {"role": "user", "content": user}])
            assert r.choices[0].message.content

    work = pairs(calls)
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(*p) for p in work))
    out = {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "calls": calls}
    await client.close()
    return out


def courtgraph_run(url: str, calls: int, concurrency: int, protocol: str = "single", jurors: int = 0) -> dict[str, Any]:
    """Throughput of a run once imported (start-up is measured on its own, by ``startup``).

    The process starts as ``courtgraph run`` does (see :func:`overhead`): the start-up objects are frozen out
    of the collector once imported. The bare loop runs as a plain script (no freeze), as the issue's peers do."""
    from courtgraph.cli.app import start_up, started

    start_up()
    import openai.types.chat  # noqa: F401  (imported before the clock, as the bare loop imports it)

    import courtgraph.evals.runner
    import courtgraph.models.openai  # noqa: F401
    from courtgraph.evals import run
    from courtgraph.graphs.registry import Roles
    from courtgraph.schema import Case

    started()

    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    width = max(jurors, 1)
    count = max(1, calls // 2 // width)
    cases = [Case(id=f"{r['pair_id']}-{i}", question=r["question"], candidates=[r["response_A"], r["response_B"]],
                  label="A" if r["label"] == "A>B" else "B") for i, r in
             enumerate(rows[j % len(rows)] for j in range(count))]
    model = f"openai:judge@{url}"
    roles = Roles(model=model, jurors=[model] * jurors)
    with tempfile.TemporaryDirectory() as tmp:
        started, cpu = time.perf_counter(), time.process_time()
        results = run(cases, [protocol], roles=roles, out=Path(tmp) / "run", concurrency=concurrency,
                      cache=None, progress=False)
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        made = sum(r.usage.calls for r in results.records)  # read from the run directory: inside the with
        latencies = [t.latency_s for r in results.records for t in r.trials]
    return {"wall": wall, "cpu": used, "calls": made, "trial_latency": sum(latencies) / len(latencies),
            "failed": len(results.failed)}


def overhead(protocol: str, cases: int) -> dict[str, Any]:
    """Framework CPU per model call through the CLI's run, with an instant (scripted) model.

    The process starts as ``courtgraph run`` does (:func:`courtgraph.cli.app.start_up`, then ``started``
    once LangGraph and the harness are imported): what start-up built moves out of the collector's way. A
    full collection walking every imported object (about 90 ms here) otherwise lands in the big run or not
    by chance, and weighs on the slope as 0 or 0.15 ms a call."""
    from courtgraph.cli.app import start_up, started

    start_up()
    import courtgraph.agents.simulated
    import courtgraph.evals.runner  # noqa: F401  (start-up is measured on its own)
    from courtgraph.evals import run
    from courtgraph.graphs.registry import Roles
    from courtgraph.schema import Case

    started()

    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    picked = [rows[i % len(rows)] for i in range(cases)]
    items = [Case(id=f"{r['pair_id']}-{i}", question=r["question"], candidates=[r["response_A"], r["response_B"]],
                  label="A" if r["label"] == "A>B" else "B") for i, r in enumerate(picked)]
    instant = "scripted:Response A is right.\nConfidence: 80%\n[[A]]"  # answers at once, no text work
    roles = Roles(model=instant, jurors=[instant] * 3)
    with tempfile.TemporaryDirectory() as tmp:
        # a first small run pays the one-time costs (lazy imports, first compiled graphs): not per call
        run(items[:4], [protocol], roles=roles, out=Path(tmp) / "warm", cache=None, progress=False)
        started, cpu = time.perf_counter(), time.process_time()
        results = run(items, [protocol], roles=roles, out=Path(tmp) / "run", cache=None, progress=False)
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        calls = sum(r.usage.calls for r in results.records)  # model calls (a rule aggregator makes none)
    return {"wall": wall, "cpu": used, "calls": calls}


def memory(protocol: str, cases: int, out: str) -> dict[str, Any]:
    """Peak RSS of a whole run of ``cases`` cases with simulated agents (a jury of 3), and run.db's size."""
    import resource

    from courtgraph.evals import run
    from courtgraph.graphs.registry import Roles
    from courtgraph.schema import Case

    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    items = [Case(id=f"{r['pair_id']}-{i}", question=r["question"], candidates=[r["response_A"], r["response_B"]],
                  label="A" if r["label"] == "A>B" else "B", category=r["source"].split("-")[0])
             for i, r in enumerate(rows[i % len(rows)] for i in range(cases))]
    del rows
    roles = Roles(model="sim:0.7", jurors=["sim:0.7", "sim:0.6", "sim:0.8"])
    started = time.perf_counter()
    results = run(items, [protocol], roles=roles, out=Path(out), cache=None, progress=False)
    wall = time.perf_counter() - started
    db = Path(out) / "run.db"
    return {"wall": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "run_db_bytes": db.stat().st_size, "bytes_per_record": db.stat().st_size / cases,
            "accuracy": results.summary.protocols[protocol].accuracy}


class State(TypedDict, total=False):
    """The floor graphs' state (module-level: LangGraph resolves the hints of its nodes here)."""

    trial: int
    turns: Annotated[list[int], operator.add]
    votes: Annotated[list[int], operator.add]
    verdict: int
    round: int


class Ballot(TypedDict):
    trial: int
    index: int


def floor_graphs() -> dict[str, tuple[Any, int]]:
    """No-op graphs shaped like courtgraph's protocols, by name, with the model calls an invoke stands for.

    * ``single``: START -> judge -> END (what ``single`` is);
    * ``fanout3``: a ``Send`` fan-out of 3 into an aggregating node (a jury of 3 as it was built before);
    * ``static3``: three static parallel nodes joined by an aggregating node (START -> juror_1, juror_2,
      juror_3 -> aggregate: a jury of 3 as ``graphs/jury.py`` builds it);
    * ``gather3``: one node awaiting three coroutines at once (no per-juror node: the cheapest shape, which
      a jury does not use because its jurors would no longer be nodes of the graph);
    * ``debate3``: an ``argue`` node run for 3 rounds through a conditional edge (two calls each), then a
      judge (what ``debate`` is with its defaults: 7 calls).
    """
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    async def judge(state: State) -> dict[str, Any]:
        return {"turns": [1], "verdict": 1}

    async def vote(ballot: Ballot) -> dict[str, Any]:
        return {"turns": [ballot["index"]], "votes": [ballot["index"]]}

    def juror(index: int) -> Any:
        async def cast(state: State) -> dict[str, Any]:
            return {"turns": [index], "votes": [index]}
        return cast

    async def aggregate(state: State) -> dict[str, Any]:
        return {"verdict": 1}

    async def gathered(state: State) -> dict[str, Any]:
        async def one(index: int) -> int:
            return index

        votes = await asyncio.gather(*(one(i) for i in range(3)))
        return {"turns": list(votes), "votes": list(votes), "verdict": 1}

    async def argue(state: State) -> dict[str, Any]:
        async def one(side: int) -> int:
            return side

        return {"turns": list(await asyncio.gather(one(0), one(1))), "round": state.get("round", 0) + 1}

    def fan_out(state: State) -> list[Any]:
        return [Send("vote", {"trial": state["trial"], "index": i}) for i in range(3)]

    def one_node(name: str, node: Any) -> Any:
        graph = StateGraph(State)
        graph.add_node(name, node)
        graph.add_edge(START, name)
        graph.add_edge(name, END)
        return graph

    one = one_node("judge", judge)
    fan = StateGraph(State)
    fan.add_node("vote", vote)
    fan.add_node("aggregate", aggregate)
    fan.add_conditional_edges(START, fan_out, ["vote"])
    fan.add_edge("vote", "aggregate")
    fan.add_edge("aggregate", END)
    static = StateGraph(State)
    static.add_node("aggregate", aggregate)
    for i in range(3):
        static.add_node(f"juror_{i + 1}", juror(i))
        static.add_edge(START, f"juror_{i + 1}")
        static.add_edge(f"juror_{i + 1}", "aggregate")
    static.add_edge("aggregate", END)
    gather = one_node("jury", gathered)
    debate = StateGraph(State)
    debate.add_node("argue", argue)
    debate.add_node("judge", judge)
    debate.add_edge(START, "argue")
    debate.add_conditional_edges("argue", lambda s: "judge" if s.get("round", 0) >= 3 else "argue", ["argue", "judge"])
    debate.add_edge("judge", END)
    return {"single": (one.compile(), 1), "fanout3": (fan.compile(), 3), "static3": (static.compile(), 3),
            "gather3": (gather.compile(), 3), "debate3": (debate.compile(), 7)}


def floor(invokes: int) -> dict[str, Any]:
    """LangGraph's CPU per invoke (and per model call) of each no-op graph of :func:`floor_graphs`."""

    async def per_invoke(graph: Any) -> float:
        await asyncio.gather(*(graph.ainvoke({"trial": i}) for i in range(20)))  # warm-up: first-use costs
        gate = asyncio.Semaphore(64)

        async def once(i: int) -> None:
            async with gate:
                await graph.ainvoke({"trial": i})

        cpu = time.process_time()
        await asyncio.gather(*(once(i) for i in range(invokes)))
        return 1000 * (time.process_time() - cpu) / invokes

    out: dict[str, Any] = {"invokes": invokes}
    for name, (graph, calls) in floor_graphs().items():
        ms = asyncio.run(per_invoke(graph))
        out[f"{name}_ms_per_invoke"], out[f"{name}_ms_per_call"] = ms, ms / calls
    return out


def main(argv: list[str]) -> None:
    kind, *rest = argv
    if kind == "bare":
        out = asyncio.run(bare(rest[0], int(rest[1]), int(rest[2])))
    elif kind == "courtgraph":
        out = courtgraph_run(rest[0], int(rest[1]), int(rest[2]), *(rest[3:4] or ["single"]),
                             *[int(x) for x in rest[4:5]])
    elif kind == "memory":
        out = memory(rest[0], int(rest[1]), rest[2])
    elif kind == "overhead":
        out = overhead(rest[0], int(rest[1]))
    elif kind == "floor":
        out = floor(int(rest[0]))
    else:
        raise SystemExit(f"unknown driver {kind!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])

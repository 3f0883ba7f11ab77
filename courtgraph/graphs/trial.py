"""Running a protocol graph over trials, and combining a case's two orders.

This is the one place that invokes protocol graphs for the harness and the CLI: it sets the
recursion limit (LangGraph's default of 10,007 would let a misrouted loop spin for seconds),
turns any failure into an ``error`` trial instead of losing the case, and combines orders with
JudgeBench's net-vote rule.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from langgraph.channels import BaseChannel, BinaryOperatorAggregate, LastValue
from langgraph.constants import END, START
from langgraph.errors import GraphRecursionError

from courtgraph.graphs.state import Graph
from courtgraph.models.tracing import QUIET_RUN, nobody_listens_now
from courtgraph.schema import (
    ORDERS,
    Case,
    Order,
    Record,
    Trial,
    TrialResult,
    Turn,
    Usage,
    Verdict,
    combine_orders,
    is_correct,
)

#: Used when a graph sets no recursion limit of its own.
DEFAULT_RECURSION_LIMIT = 200


def graph_name(graph: Graph) -> str:
    return str(getattr(graph, "name", None) or "protocol")


#: When set (by the harness's --fail-on-error), each exception a trial turns into an error is appended
#: here too, so that the run can stop with the real traceback rather than the one-line message.
TRIAL_EXCEPTIONS: ContextVar[list[BaseException] | None] = ContextVar("courtgraph_trial_exceptions", default=None)

#: Called with the turns of each step as it finishes (subgraphs' steps included), e.g. to show them live.
OnTurns = Callable[[list[Turn]], None]


def one_node(graph: Graph) -> Any | None:
    """The node runnable of a graph that is only START -> node -> END, when running it directly is the same.

    Such a graph (``single``) is its node applied once to the input, so the trial can skip Pregel's loop
    (a third of a single judge's client CPU) and apply the node's update with the graph's own channels
    (the same reducers). Only when nothing else could differ: no branches, interrupts, checkpointer,
    retry, cache, timeout, error handler or injected arguments, and plain channels. Anything else is None,
    and runs through Pregel as before; the graph stays a real compiled graph for users either way.
    """
    builder = getattr(graph, "builder", None)
    nodes = getattr(builder, "nodes", None)
    if builder is None or not isinstance(nodes, dict) or len(nodes) != 1:
        return None
    (name,) = nodes
    spec, node = nodes[name], graph.nodes.get(name)
    plain = (set(getattr(builder, "edges", ())) == {(START, name), (name, END)} and not builder.branches
             and not getattr(builder, "waiting_edges", None) and graph.checkpointer is None
             and not graph.interrupt_before_nodes and not graph.interrupt_after_nodes
             and getattr(spec, "input_schema", None) is getattr(builder, "state_schema", None)
             and all(getattr(spec, attr, None) in (None, False, ()) for attr in
                     ("retry_policy", "cache_policy", "defer", "timeout", "error_handler_node", "ends"))
             and all(isinstance(graph.channels.get(k), LastValue | BinaryOperatorAggregate)
                     for k in graph.output_channels))
    if not plain or node is None or node.mapper is not None or list(node.channels) != list(graph.output_channels):
        return None
    return node.bound if getattr(node.bound, "func_accepts", None) == {} else None


#: The direct-path node of each graph of the run being judged, by graph id (:func:`direct_paths`).
_DIRECT: ContextVar[Mapping[int, tuple[Graph, Any]] | None] = ContextVar("courtgraph_direct_paths", default=None)


@contextmanager
def direct_paths(graphs: Iterable[Graph]) -> Iterator[None]:
    """Inspect each graph of a run once for the direct path (:func:`one_node`), not once per trial: a run's
    graphs are compiled before it starts and do not change while it runs. Trials started inside (tasks copy
    the context) read the answer; any other graph is inspected when invoked, as outside a run."""
    token = _DIRECT.set({id(g): (g, one_node(g)) for g in graphs})
    try:
        yield
    finally:
        _DIRECT.reset(token)


def _direct_node(graph: Graph) -> Any | None:
    """:func:`one_node` of ``graph``, as found when its run started if it is one of the run's graphs."""
    known = _DIRECT.get()
    entry = known.get(id(graph)) if known is not None else None
    return entry[1] if entry is not None and entry[0] is graph else one_node(graph)


async def _run_one_node(graph: Graph, runnable: Any, state: dict[str, Any]) -> dict[str, Any]:
    """What Pregel computes for a one-node graph: input writes, the node, its writes, through the channels.

    Only a written channel is copied from the compiled graph's; one nobody writes is read as compiled."""
    compiled = cast(dict[str, BaseChannel[Any, Any, Any]], graph.channels)
    keys = list(graph.output_channels)
    written: dict[str, BaseChannel[Any, Any, Any]] = {}

    def write(values: dict[str, Any]) -> None:
        for k, value in values.items():
            if k in compiled and k in keys:  # as in Pregel, a key that is no channel is dropped
                channel = written.get(k)
                if channel is None:
                    channel = written[k] = compiled[k].copy()
                channel.update([value])

    def current() -> dict[str, Any]:
        channels = [(k, written[k] if k in written else compiled[k]) for k in keys]
        return {k: c.get() for k, c in channels if c.is_available()}

    write(state)
    update = await runnable.ainvoke(current())
    if update is not None:
        if not isinstance(update, dict):
            raise TypeError(f"{graph_name(graph)}: a node must return a dict of state keys, not {update!r:.80}")
        write(update)
    return current()


#: The config keys of :func:`trial_config` (plus the recursion limit): with no handler listening they
#: change nothing in a one-node graph without a checkpointer, so its direct path may ignore them.
_INERT_CONFIG = frozenset({"metadata", "run_name", "recursion_limit", "configurable", "tags"})


def unobserved(config: dict[str, Any] | None) -> bool:
    """Whether a run with this config is seen by nobody, so that the direct path loses nothing.

    Pregel would hand the config to a callback manager (a LangSmith tracer, ``astream_events``, a
    handler in ``callbacks``) and to nodes that ask for it; the direct path does neither. It is taken
    only when the config holds nothing but what :func:`trial_config` sets and langchain-core's own
    ``configure`` (environment, tracing contexts, hooks) finds no handler: read once per run inside a
    run (:func:`~courtgraph.models.tracing.quiet_run`), else here.
    """
    if not config:
        return True
    if not set(config) <= _INERT_CONFIG or set(config.get("configurable") or {}) - {"thread_id"}:
        return False
    # (callbacks in the config were refused above.) Inside a run, who listens was read as it started.
    return QUIET_RUN.get() or nobody_listens_now()


async def invoke(graph: Graph, state: dict[str, Any], config: dict[str, Any] | None = None,
                 on_turns: OnTurns | None = None) -> tuple[dict[str, Any], str | None]:
    """Run a protocol graph to its last state, and why it stopped early (None when it finished).

    It streams the states rather than awaiting the result, so the turns of the steps that finished
    survive a later failure: their calls were paid for, and the record must show them and count them.
    """
    last = dict(state)
    direct = _direct_node(graph) if on_turns is None and unobserved(config) else None
    if direct is not None:  # (no config to build: the direct path reads none)
        try:
            return await _run_one_node(graph, direct, state), None
        except GraphRecursionError:  # (from a subgraph the node runs)
            return last, _recursion({**_limit(graph), **(config or {})}["recursion_limit"])
        except Exception as exc:
            return last, _failed(exc)
    cfg: dict[str, Any] = {**_limit(graph), **(config or {})}
    configurable = cfg.setdefault("configurable", {})
    if "thread_id" not in configurable:  # a checkpointer needs one
        configurable["thread_id"] = uuid.uuid4().hex
    try:
        if on_turns is None:
            async for values in graph.astream(dict(state), cfg, stream_mode="values"):  # type: ignore[call-overload]
                last = values
        else:
            async for space, mode, chunk in graph.astream(dict(state), cfg, stream_mode=["updates", "values"],
                                                          subgraphs=True):  # type: ignore[call-overload]
                if mode == "values" and not space:
                    last = chunk
                elif mode == "updates" and isinstance(chunk, dict):
                    for update in chunk.values():
                        if isinstance(update, dict) and update.get("turns"):
                            on_turns(list(update["turns"]))
    except GraphRecursionError:
        return last, _recursion(cfg["recursion_limit"])
    except Exception as exc:
        return last, _failed(exc)
    return last, None


def _limit(graph: Graph) -> dict[str, Any]:
    """The recursion limit a trial of ``graph`` runs with, unless its config sets one."""
    return {"recursion_limit": (graph.config or {}).get("recursion_limit", DEFAULT_RECURSION_LIMIT)}


def _recursion(limit: object) -> str:
    return f"recursion limit {limit} reached (a misrouted loop?)"


def _failed(exc: Exception) -> str:
    """Why a trial stopped on ``exc``: a protocol failure is one error trial, not a lost run."""
    if (seen := TRIAL_EXCEPTIONS.get()) is not None:
        seen.append(exc)
    return f"{type(exc).__name__}: {exc}"


def trial_config(graph: Graph, trial: Trial, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run config of one trial: metadata that lets traces be filtered by case, order and protocol,
    a readable run name, and a thread id of its own (a checkpointer keeps each trial's state apart).

    Keys the caller gives win; its ``metadata`` (e.g. the harness's run id) is merged in, and its
    ``run_id`` metadata, when present, prefixes the thread id so that two runs sharing a persistent
    checkpointer never resume each other's trials.
    """
    given = dict(config or {})
    protocol = graph_name(graph)
    metadata = {"courtgraph_case_id": trial.case.id, "courtgraph_order": trial.order,
                "courtgraph_protocol": protocol, **(given.get("metadata") or {})}
    run = metadata.get("courtgraph_run_id") or uuid.uuid4().hex
    configurable = {"thread_id": f"{run}/{protocol}/{trial.case.id}/{trial.order}", **(given.get("configurable") or {})}
    return {**given, "metadata": metadata, "configurable": configurable,
            "run_name": given.get("run_name") or f"{protocol} {trial.case.id} {trial.order}"}


async def run_trial(graph: Graph, trial: Trial, config: dict[str, Any] | None = None,
                    on_turns: OnTurns | None = None) -> TrialResult:
    """Judge one trial. Never raises for a failing protocol: the error is recorded on the result,
    with the turns (and the cost) of every step that finished before it."""
    started = time.perf_counter()
    state, error = await invoke(graph, {"trial": trial, "turns": []}, trial_config(graph, trial, config), on_turns)
    turns = list(state.get("turns") or [])
    if error is not None:
        error = f"{graph_name(graph)}: {error}"
        verdict = Verdict.failed(error)
    else:
        verdict = state.get("verdict") or Verdict(status="error", error="the protocol returned no verdict")
    return TrialResult(order=trial.order, verdict=verdict, turns=turns, error=error,
                       usage=Usage.total(t.usage for t in turns), latency_s=time.perf_counter() - started)


def templates_used(trials: Iterable[TrialResult]) -> dict[str, str]:
    """The hash of every template the trials' turns used (a changed prompt is a different experiment)."""
    used = {name: digest for tr in trials for t in tr.turns for name, digest in t.templates.items()}
    return dict(sorted(used.items()))


def make_record(case: Case, protocol: str, trials: list[TrialResult]) -> Record:
    """A case's record from its trials: combined verdict (case frame) and correctness."""
    if case.pairwise:
        verdict = combine_orders(trials)
    else:
        verdict = trials[0].verdict if trials else Verdict.failed("no trial")
    errors = "; ".join(t.error for t in trials if t.error) or None
    return Record(
        case_id=case.id, protocol=protocol, category=case.category, label=case.label, trials=trials,
        verdict=verdict, correct=is_correct(verdict, case.label), error=errors,
        usage=Usage.total(t.usage for t in trials), latency_s=sum(t.latency_s for t in trials),
        templates_used=templates_used(trials),
    )


def trial_orders(case: Case, orders: Iterable[Order] = ORDERS) -> list[Order]:
    """The orders a case is judged in: those asked for, or only "AB" for a pointwise (one-candidate) case."""
    return list(orders) if case.pairwise else ["AB"]


async def judge_case(graph: Graph, case: Case, *, orders: Iterable[Order] = ORDERS,
                     protocol: str | None = None) -> Record:
    """Judge a case in each order (both by default) and combine them with JudgeBench's rule."""
    trials = [await run_trial(graph, Trial(case=case, order=o)) for o in trial_orders(case, orders)]
    return make_record(case, protocol or graph_name(graph), trials)

"""Compiling a protocol: its recursion limit, and the persistence a user attaches to it.

Every builder compiles here, so a protocol always carries its own recursion limit (LangGraph's
default of 10,007 lets a misrouted loop spin for seconds) and every builder takes the same
``checkpointer=`` and ``store=``. What a checkpointer adds: each step of a trial is saved under the
trial's thread id (the harness gives every trial its own, see :func:`courtgraph.graphs.trial.trial_config`),
so a long debate interrupted between rounds resumes at its last finished step instead of paying
for the rounds again, and ``graph.get_state(config)`` shows a trial's state at any step.

LangGraph's default serializer warns, once per type, when it reads back a type nobody registered
("Deserializing unregistered type ... This will be blocked in a future version"). courtgraph's
state holds its own pydantic types (``Trial``, ``Turn``, ``Verdict``...), so the checkpointer is
given a serializer whose allowlist names them: reading a trial back is then silent and stays
allowed when LangGraph turns the warning into a block.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.base import maybe_add_typed_methods
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import StateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Checkpointer
from pydantic import BaseModel

from courtgraph.graphs.state import Graph


def compile_protocol(graph: StateGraph[Any, Any, Any, Any], *, name: str, recursion_limit: int,
                     checkpointer: Checkpointer = None, store: BaseStore | None = None) -> Graph:
    """``graph`` compiled as the protocol ``name``, with its recursion limit and optional persistence."""
    if isinstance(checkpointer, BaseCheckpointSaver):
        checkpointer = with_courtgraph_types(checkpointer, state_types(graph))
    return graph.compile(name=name, checkpointer=checkpointer, store=store).with_config(
        recursion_limit=recursion_limit)


def with_courtgraph_types(checkpointer: BaseCheckpointSaver[Any],
                          types: set[tuple[str, str]]) -> BaseCheckpointSaver[Any]:
    """A shallow clone of ``checkpointer`` (same storage) whose serializer allows ``types`` explicitly.

    A serializer with an explicit allowlist learns the types through LangGraph's own
    ``with_allowlist``. The default one allows everything with a warning, and there an addition is a
    no-op, so it is replaced by the same serializer with an explicit list: courtgraph's types plus
    the ones LangGraph always allows. A custom serializer is left as it is.
    """
    extended = checkpointer.with_allowlist(types)
    if extended is not checkpointer or type(checkpointer.serde) is not JsonPlusSerializer:
        return extended
    clone = copy.copy(checkpointer)
    clone.serde = maybe_add_typed_methods(JsonPlusSerializer(allowed_msgpack_modules=types))
    return clone


def state_types(graph: StateGraph[Any, Any, Any, Any]) -> set[tuple[str, str]]:
    """(module, name) of every courtgraph class the graph's state channels can hold, found by walking
    their annotations (pydantic fields, dataclass fields, containers, unions)."""
    found: set[tuple[str, str]] = set()
    seen: set[int] = set()

    def walk(annotation: Any) -> None:
        if id(annotation) in seen:
            return
        seen.add(id(annotation))
        for arg in typing.get_args(annotation):
            walk(arg)
        if not isinstance(annotation, type) or not annotation.__module__.startswith("courtgraph."):
            return
        found.add((annotation.__module__, annotation.__name__))
        if issubclass(annotation, BaseModel):
            for info in annotation.model_fields.values():
                walk(info.annotation)
        elif dataclasses.is_dataclass(annotation):
            for hint in typing.get_type_hints(annotation).values():
                walk(hint)

    for channel in graph.channels.values():
        walk(getattr(channel, "ValueType", None))
        walk(getattr(channel, "UpdateType", None))
    for schema in (graph.state_schema, graph.input_schema, graph.output_schema):
        for hint in typing.get_type_hints(schema, include_extras=False).values():
            walk(hint)
    return found


__all__ = ["compile_protocol", "state_types", "with_courtgraph_types"]

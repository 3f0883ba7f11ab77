"""How a run stores a record or a case: a small JSON skeleton that SQL reads, and the whole JSON compressed.

The report, the summary and the case table read only skeletons (no turns, no verdict text, no case
texts), so they stream in flat memory; transcripts and resumes unpack the whole object, byte for byte.
A run of format 1 kept the whole JSON in the skeleton's place; :func:`unpack` reads both.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from pydantic import TypeAdapter

from courtgraph.schema import Case, Record

#: zlib's fastest level: half the CPU of its default for a fifth more bytes (a jury record: 1.6 KB, not 1.3).
ZLIB_LEVEL = 1


#: pydantic's writer for a plain JSON object (the one records' and cases' own dumps use).
_JSON_OBJECT: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])

#: A case's long text, left out of its SQL skeleton (the packed case keeps it).
_CASE_TEXT = frozenset({"question", "candidates", "reference", "context"})


def pack_case(case: Case) -> tuple[str, bytes]:
    """A case as (its SQL skeleton: id, label, category, metadata; its whole JSON compressed)."""
    whole = case.model_dump_json()
    skeleton = case.model_dump_json(exclude=set(_CASE_TEXT)) if _str_keys(case.metadata) else case_skeleton_of(whole)
    return skeleton, zlib.compress(whole.encode(), ZLIB_LEVEL)


def case_skeleton_of(whole: str) -> str:
    """The SQL skeleton of a case's whole JSON: what it means (the fast path of :func:`pack_case` gives the same)."""
    return _dumps({k: v for k, v in json.loads(whole).items() if k not in _CASE_TEXT})


def unpack_case(data: str, packed: bytes | None) -> Case:
    return Case.model_validate_json(zlib.decompress(packed) if packed is not None else data)


#: A verdict's text, left out of the SQL skeleton (the packed record keeps it).
_VERDICT_TEXT = ("rationale", "raw", "votes")


def pack(record: Record, whole: str | None = None) -> tuple[str, bytes]:
    """A record as (its SQL skeleton, its whole JSON compressed); see the module docstring.

    ``whole`` is ``record.model_dump_json()`` when the caller has it already (the store, which redacts it)."""
    whole = record.model_dump_json() if whole is None else whole
    skeleton = _skeleton(record) if _str_keys(record.metadata) else skeleton_of(whole)
    return skeleton, zlib.compress(whole.encode(), ZLIB_LEVEL)


def _str_keys(value: object) -> bool:
    """Whether every mapping in ``value`` has only text keys. Metadata is free-form: ``{0: x, "0": y}`` dumps
    as two members named ``"0"``, which the whole JSON's meaning (its last) collapses into one, so such
    metadata takes the definition's way (:func:`skeleton_of`), not the writer's."""
    if isinstance(value, dict):
        return all(type(k) is str and _str_keys(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_str_keys(v) for v in value)
    return True


def skeleton_of(whole: str) -> str:
    """The SQL skeleton of a record's whole JSON: what it means (the fast path of :func:`pack` gives the same)."""
    skeleton = json.loads(whole)
    for trial in skeleton["trials"]:
        trial["turns"] = []
        _drop_text(trial.get("verdict"))
    _drop_text(skeleton.get("verdict"))
    return _dumps(skeleton)


def _drop_text(verdict: dict[str, Any] | None) -> None:
    if verdict is not None:
        for key in _VERDICT_TEXT:
            verdict.pop(key, None)


def _dumps(data: dict[str, Any]) -> str:
    """JSON as the records' and cases' own dumps write it (pydantic's writer: compact, unescaped unicode, its
    float notation, NaN and infinities as null), so that a skeleton is its whole JSON less some members."""
    return _JSON_OBJECT.dump_json(data).decode()


#: What the skeleton leaves out of a record's dump: verdict texts, and every turn of every trial (the list itself
#: stays, empty, as in :func:`skeleton_of`).
_SKELETON_EXCLUDE: dict[str, Any] = {"verdict": set(_VERDICT_TEXT),
                                     "trials": {"__all__": {"turns": {"__all__": True}, "verdict": set(_VERDICT_TEXT)}}}


def _skeleton(record: Record) -> str:
    """:func:`skeleton_of` without parsing the whole JSON back (the turns, most of a jury's record, are never
    dumped): the record dumped by pydantic's writer without the verdict texts and the turns, as its whole JSON
    (the same writer) holds the rest."""
    return record.model_dump_json(exclude=_SKELETON_EXCLUDE)


def unpack(data: str, packed: bytes | None, *, whole: bool = True) -> Record:
    """The stored record, or (``whole=False``) its skeleton (see :meth:`RunStore.records`)."""
    if packed is not None:
        return Record.model_validate_json(zlib.decompress(packed) if whole else data)
    record = Record.model_validate_json(data)  # version 1: the whole record is in data
    if not whole:
        for trial in record.trials:
            trial.turns = []
    return record


__all__ = ["ZLIB_LEVEL", "case_skeleton_of", "pack", "pack_case", "skeleton_of", "unpack", "unpack_case"]

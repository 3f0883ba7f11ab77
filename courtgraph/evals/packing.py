"""How a run stores a record or a case: a small JSON skeleton that SQL reads, and the whole JSON compressed.

The report, the summary and the case table read only skeletons (no turns, no verdict text, no case
texts), so they stream in flat memory; transcripts and resumes unpack the whole object, byte for byte.
A run of format 1 kept the whole JSON in the skeleton's place; :func:`unpack` reads both.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from courtgraph.schema import Case, Record, TrialResult

#: zlib's fastest level: half the CPU of its default for a fifth more bytes (a jury record: 1.6 KB, not 1.3).
ZLIB_LEVEL = 1


#: A case's long text, left out of its SQL skeleton (the packed case keeps it).
_CASE_TEXT = ("question", "candidates", "reference", "context")


def pack_case(case: Case) -> tuple[str, bytes]:
    """A case as (its SQL skeleton: id, label, category, metadata; its whole JSON compressed)."""
    whole = case.model_dump_json()
    return _case_skeleton(case) or case_skeleton_of(whole), zlib.compress(whole.encode(), ZLIB_LEVEL)


def case_skeleton_of(whole: str) -> str:
    """The SQL skeleton of a case's whole JSON: what it means (the fast path of :func:`pack_case` gives the same)."""
    return _dumps({k: v for k, v in json.loads(whole).items() if k not in _CASE_TEXT})


def _case_skeleton(case: Case) -> str | None:
    """:func:`case_skeleton_of` without parsing the texts back (see :func:`_skeleton`)."""
    if not _plain(case.metadata):
        return None
    try:
        return _dumps(case.model_dump(mode="json", exclude=set(_CASE_TEXT)), allow_nan=False)
    except ValueError:  # an infinite or NaN float, which the case's JSON writes as null
        return None


def _plain(value: object) -> bool:
    """Whether free-form data holds only JSON's own types (dicts with string keys): only then is its JSON-mode
    dump relied on to be what its JSON reads back as (pydantic's two modes agreed on tuples, number keys, enums
    and bytes too, but nothing promises it), so anything else takes the slow path."""
    if isinstance(value, dict):
        return type(value) is dict and all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return type(value) is list and all(map(_plain, value))
    return type(value) in (str, int, float, bool, type(None))


def unpack_case(data: str, packed: bytes | None) -> Case:
    return Case.model_validate_json(zlib.decompress(packed) if packed is not None else data)


#: A verdict's text, left out of the SQL skeleton (the packed record keeps it).
_VERDICT_TEXT = ("rationale", "raw", "votes")


def pack(record: Record, whole: str | None = None) -> tuple[str, bytes]:
    """A record as (its SQL skeleton, its whole JSON compressed); see the module docstring.

    ``whole`` is ``record.model_dump_json()`` when the caller has it already (the store, which redacts it)."""
    whole = record.model_dump_json() if whole is None else whole
    return _skeleton(record) or skeleton_of(whole), zlib.compress(whole.encode(), ZLIB_LEVEL)


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


def _dumps(data: dict[str, Any], allow_nan: bool = True) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan)


#: What the skeleton leaves out of a record's dump (the turns themselves are put back as empty lists).
_SKELETON_EXCLUDE: dict[str, Any] = {"verdict": set(_VERDICT_TEXT),
                                     "trials": {"__all__": {"turns": True, "verdict": set(_VERDICT_TEXT)}}}
_TRIAL_FIELDS = tuple(TrialResult.model_fields)


def _skeleton(record: Record) -> str | None:
    """:func:`skeleton_of` without parsing the whole JSON back (the turns, most of a jury's record, are never
    dumped): the record's JSON-mode dump holds the values its JSON holds, except a non-finite float (the JSON
    holds null: then None, and the caller parses); free-form metadata must hold only JSON's types (:func:`_plain`)."""
    if not _plain(record.metadata):
        return None
    data = record.model_dump(mode="json", exclude=_SKELETON_EXCLUDE)
    data["trials"] = [{k: [] if k == "turns" else trial[k] for k in _TRIAL_FIELDS} for trial in data["trials"]]
    try:
        return _dumps(data, allow_nan=False)
    except ValueError:  # an infinite or NaN float, which the record's JSON writes as null
        return None


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

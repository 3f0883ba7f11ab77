"""How a run stores a record or a case: a small JSON skeleton that SQL reads, and the whole JSON compressed.

The report, the summary and the case table read only skeletons (no turns, no verdict text, no case
texts), so they stream in flat memory; transcripts and resumes unpack the whole object, byte for byte.
A run of format 1 kept the whole JSON in the skeleton's place; :func:`unpack` reads both.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from courtgraph.schema import Case, Record

#: zlib's fastest level: half the CPU of its default for a fifth more bytes (a jury record: 1.6 KB, not 1.3).
ZLIB_LEVEL = 1


#: A case's long text, left out of its SQL skeleton (the packed case keeps it).
_CASE_TEXT = ("question", "candidates", "reference", "context")


def pack_case(case: Case) -> tuple[str, bytes]:
    """A case as (its SQL skeleton: id, label, category, metadata; its whole JSON compressed)."""
    whole = case.model_dump_json()
    skeleton = {k: v for k, v in json.loads(whole).items() if k not in _CASE_TEXT}
    return json.dumps(skeleton, ensure_ascii=False, separators=(",", ":")), zlib.compress(whole.encode(), ZLIB_LEVEL)


def unpack_case(data: str, packed: bytes | None) -> Case:
    return Case.model_validate_json(zlib.decompress(packed) if packed is not None else data)


#: A verdict's text, left out of the SQL skeleton (the packed record keeps it).
_VERDICT_TEXT = ("rationale", "raw", "votes")


def pack(record: Record) -> tuple[str, bytes]:
    """A record as (its SQL skeleton, its whole JSON compressed); see the module docstring."""
    return pack_json(record.model_dump_json())


def pack_json(whole: str) -> tuple[str, bytes]:
    """:func:`pack` of a record already dumped (``Record.model_dump_json()``), which the store has in hand."""
    skeleton = json.loads(whole)
    for trial in skeleton["trials"]:
        trial["turns"] = []
        _drop_text(trial.get("verdict"))
    _drop_text(skeleton.get("verdict"))
    return json.dumps(skeleton, ensure_ascii=False, separators=(",", ":")), zlib.compress(whole.encode(), ZLIB_LEVEL)


def _drop_text(verdict: dict[str, Any] | None) -> None:
    if verdict is not None:
        for key in _VERDICT_TEXT:
            verdict.pop(key, None)


def unpack(data: str, packed: bytes | None, *, whole: bool = True) -> Record:
    """The stored record, or (``whole=False``) its skeleton (see :meth:`RunStore.records`)."""
    if packed is not None:
        return Record.model_validate_json(zlib.decompress(packed) if whole else data)
    record = Record.model_validate_json(data)  # version 1: the whole record is in data
    if not whole:
        for trial in record.trials:
            trial.turns = []
    return record


__all__ = ["ZLIB_LEVEL", "pack", "pack_case", "pack_json", "unpack", "unpack_case"]

"""Turning command-line text into values: case files, ``--param`` items, lists of specs, the cache choice.

Each raises :class:`~courtgraph.errors.InputError` naming the file, line or flag, which
:func:`courtgraph.cli.main` prints as one line with exit code 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from courtgraph.errors import InputError
from courtgraph.schema import Case


def load_case_file(path: Path) -> Case:
    """A case from a JSON file, with errors that name the file and the field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a case file (JSON)", path=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object with question and candidates", path=path)
    try:
        return Case.model_validate({"id": path.stem, **data})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(first["msg"], path=path, field=".".join(map(str, first["loc"]))) from None


def cache_choice(no_cache: bool, cache: Path | None) -> Path | None:
    """The response cache a command uses: none, the given file, or the user's default."""
    from courtgraph.models import default_cache_path

    if no_cache and cache is not None:
        raise InputError("give --no-cache or --cache, not both", field="cache")
    return None if no_cache else cache or default_cache_path()


def parse_params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``--param debate.rounds=2`` -> ``{"debate": {"rounds": 2}}``; values are JSON when they parse
    (numbers, true/false, lists), else strings."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        target, sep, raw = item.partition("=")
        protocol, dot, key = target.partition(".")
        if not (sep and dot and protocol.strip() and key.strip()):
            raise InputError(f"--param {item!r}: expected PROTOCOL.NAME=VALUE, e.g. debate.rounds=2", field="param")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(protocol.strip(), {})[key.strip()] = value
    return out


def split_specs(text: str | None) -> list[str]:
    """A comma-separated list of model specs. A comma separates only where a new spec begins
    (``provider:``), so a recorded judge's path may contain commas, as JudgeBench's file names do."""
    from courtgraph.models import PROVIDERS

    if not text:
        return []
    starts = "|".join(map(re.escape, PROVIDERS))
    return [s.strip() for s in re.split(rf",(?=\s*(?:{starts}):)", text) if s.strip()]


def split_list(text: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]`` (protocols, categories)."""
    return [p.strip() for p in (text or "").split(",") if p.strip()]

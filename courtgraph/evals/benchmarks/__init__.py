"""Benchmarks: a spec string to a list of Cases.

Specs (what ``courtgraph run --bench`` takes):

* ``judgebench`` or ``judgebench:PATH``: JudgeBench's JSONL (350 GPT-4o response pairs); with no
  path, the canonical copy is downloaded once into the data cache.
* ``llmbar`` or ``llmbar:PATH``: LLMBar's ``dataset.json`` (a file, a subset folder such as
  ``Dataset/LLMBar/Adversarial/Neighbor``, or the whole tree); with no path, downloaded once.
* ``jsonl:PATH``: any ``.jsonl``, ``.csv``, ``.tsv`` or ``.json`` (array) file, read through a
  field mapping and a label mapping, e.g. ``field_map="question=prompt,a=response1,b=response2,
  label=winner"`` and ``label_map="1=A,2=B"`` (see :mod:`courtgraph.evals.benchmarks.jsonl`); a field may
  be a template (``question={instruction}\n\n{input}``) and the label ``majority(a1,a2,a3)`` or
  ``unanimous(a1,a2,a3)`` of annotator columns (:mod:`courtgraph.evals.benchmarks.fields`).
* ``sample``: the small set written for this project and shipped in the package (offline demo).

Bad input raises :class:`courtgraph.errors.InputError` naming the file, the line and the field.
The data cache is ``$COURTGRAPH_DATA``, else ``$XDG_CACHE_HOME/courtgraph/benchmarks`` (by default
``~/.cache/courtgraph/benchmarks``).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from courtgraph.errors import InputError
from courtgraph.schema import Case

SPECS = ("judgebench[:PATH]", "llmbar[:PATH]", "jsonl:PATH", "sample")


@dataclass
class Benchmark:
    """A named list of cases and where they came from (a path or a URL, kept in run manifests)."""

    name: str
    source: str
    cases: list[Case] = field(default_factory=list)
    #: what loading did that a reader must know (e.g. gold by majority: the class counts, items left out)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cases)


def parse_mapping(text: str, *, option: str = "map") -> dict[str, str]:
    """``"k=v,k=v"`` to a dict (what ``--map`` and ``--label-map`` take). Spaces around items are ignored;
    a comma inside parentheses or braces does not separate (``label=majority(a1,a2,a3)``), nor one that
    continues a template (``question={instruction}, {input}``)."""
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in _top_level_split(text))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"{item!r} is not KEY=VALUE (e.g. question=prompt,a=response1)", field=option)
        if key.strip() in out:
            raise InputError(f"{key.strip()!r} is given twice", field=option)
        out[key.strip()] = value.strip()
    return out


def _top_level_split(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += (char in "({") - (char in ")}")
        if char == "," and depth <= 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    merged: list[str] = []
    for part in parts:  # "question={a}, {b}": a piece with no "=" after a template continues it
        if merged and "=" not in part and "{" in merged[-1].partition("=")[2]:
            merged[-1] += "," + part
        else:
            merged.append(part)
    return merged


def load_bench(spec: str, *, field_map: dict[str, str] | str | None = None,
               label_map: dict[str, str] | str | None = None) -> Benchmark:
    """Load a benchmark from a spec (see the module docstring); mappings may be dicts or ``k=v,k=v`` text.

    ``field_map`` and ``label_map`` apply to ``jsonl:`` only: the other loaders know their format.
    """
    from courtgraph.evals.benchmarks import jsonl, judgebench, llmbar, sample

    name, _, rest = spec.partition(":")
    fields = parse_mapping(field_map, option="map") if isinstance(field_map, str) else field_map
    labels = parse_mapping(label_map, option="label-map") if isinstance(label_map, str) else label_map
    if name != "jsonl" and (fields or labels):
        raise InputError(f"--map and --label-map apply to jsonl:PATH benchmarks, not {name!r}", field="map")
    if name == "judgebench":
        path = Path(rest).expanduser() if rest else judgebench.download()
        return Benchmark("judgebench", str(path), judgebench.load(path))
    if name == "llmbar":
        path = Path(rest).expanduser() if rest else llmbar.download()
        return Benchmark("llmbar", str(path), llmbar.load(path))
    if name == "jsonl":
        if not rest:
            raise InputError("jsonl needs a file: jsonl:PATH (a .jsonl, .csv, .tsv or .json file)", field="bench")
        path = Path(rest).expanduser()
        notes: list[str] = []
        return Benchmark(path.stem, str(path), jsonl.load(path, fields, labels, notes), notes)
    if name == "sample" and not rest:
        return Benchmark("sample", str(sample.SAMPLE_PATH), sample.load())
    raise InputError(f"unknown benchmark {spec!r}; expected one of {', '.join(SPECS)}", field="bench")


def data_dir() -> Path:
    """Where downloaded benchmarks are kept: ``$COURTGRAPH_DATA`` or the user cache."""
    if env := os.environ.get("COURTGRAPH_DATA"):
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "courtgraph" / "benchmarks"


def fetch(url: str, dest: Path, *, spec: str) -> Path:
    """Download ``url`` to ``dest`` once (atomically: a half download never looks complete)."""
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as out:
            while chunk := response.read(1 << 16):
                out.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise InputError(f"could not download {url} ({reason}); offline? download it and give "
                         f"{spec}:PATH", field="bench") from None
    os.replace(tmp, dest)
    return dest


__all__ = ["SPECS", "Benchmark", "data_dir", "fetch", "load_bench", "parse_mapping"]

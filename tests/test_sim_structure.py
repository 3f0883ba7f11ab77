"""Simulated agents answer from the structured call, and hold no state between runs.

Two properties of issue 8: rewording every prompt file (same placeholders) leaves the simulated
results of ``courtgraph demo`` exactly unchanged, because the simulator reads the call's
:class:`~courtgraph.models.Intent` and never the prompt's words; and two simulated runs interleaved in
one event loop give exactly the records each gives alone, because the run seed is a context variable
and the case truth travels with each call.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from courtgraph.agents.simulated import PARAMETERS, SimParams, describe_parameters, from_spec, simulation
from courtgraph.agents.simulated.context import current_simulation
from courtgraph.evals import run_async
from courtgraph.evals.demo import DEMO_AGENT, DEMO_JUDGE, DEMO_JURORS, DEMO_PROTOCOLS
from courtgraph.graphs.registry import Roles
from courtgraph.prompts import PROMPT_DIR, load_prompt, parse_prompt
from courtgraph.schema import Case, Label, Record

_PLACEHOLDER = re.compile(r"\{\{\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\}\}")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")


def reword(text: str) -> str:
    """A prompt file with every sentence of prose replaced by another, keeping front matter and placeholders.

    Each sentence becomes "Say N ..." followed by the placeholders it held, in order, so the template
    still renders with the same values while none of its wording (verdict formats, role names, sides,
    "ask one question", headings) survives.
    """
    head, body = "", text
    if text.startswith("---"):
        end = text.index("\n---", 3) + len("\n---")
        head, body = text[:end], text[end:]
    out, n = [], 0
    for line in body.split("\n"):
        if not line.strip() or line.startswith("=== "):
            out.append(line)
            continue
        sentences = []
        for sentence in _SENTENCE_END.split(line.strip()):
            n += 1
            held = " ".join(_PLACEHOLDER.findall(sentence))
            sentences.append(f"Say {n} zebra {held} quietly." if held else f"Say {n} zebra quietly.")
        out.append(" ".join(sentences))
    return head + "\n".join(out)


def reworded_prompts(where: Path) -> Path:
    """Every packaged template, reworded, in ``where`` (for ``$COURTGRAPH_PROMPTS``)."""
    where.mkdir()
    for path in sorted(PROMPT_DIR.glob("*.md")):
        original = path.read_text(encoding="utf-8")
        new = reword(original)
        before, after = parse_prompt(path.stem, original), parse_prompt(path.stem, new)
        assert after.meta == before.meta and after.placeholders == before.placeholders, path.name
        prose = [s for s in re.split(r"[.!?\n]", re.sub(_PLACEHOLDER, "", before.system + before.user))
                 if len(s.split()) >= 3]
        assert prose and not [s for s in prose if s.strip() in new], path.name  # no sentence survives
        (where / path.name).write_text(new, encoding="utf-8")
    return where


def comparable(record: Record) -> dict[str, Any]:
    """A record without what legitimately differs between identical runs (wall time)."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "latency_s"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return dict(strip(record.model_dump(mode="json")))


async def demo(out: Path) -> list[Record]:
    """``courtgraph demo``'s run: the sample through its protocols with its simulated roles."""
    roles = Roles(model=DEMO_AGENT, judge=DEMO_JUDGE, jurors=list(DEMO_JURORS))
    results = await run_async("sample", list(DEMO_PROTOCOLS), roles=roles, out=out, seed=0, cache=None,
                              progress=False)
    return results.records


async def test_rewording_every_prompt_leaves_the_simulated_demo_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = await demo(tmp_path / "plain")
    monkeypatch.setenv("COURTGRAPH_PROMPTS", str(reworded_prompts(tmp_path / "prompts")))
    # the override is in force, for the role templates and for the shared case prefix they open with
    assert load_prompt("judge_pairwise").user.strip().startswith("Say 1 zebra")
    assert load_prompt("judge_pairwise").shared(response_b="").system.strip().startswith("Say 1 zebra")
    reworded = await demo(tmp_path / "reworded")
    assert [(r.case_id, r.protocol) for r in reworded] == [(r.case_id, r.protocol) for r in plain]
    assert {p for r in plain for p in r.templates_used.items()}.isdisjoint(
        {p for r in reworded for p in r.templates_used.items()})  # the records did use other templates
    for before, after in zip(plain, reworded, strict=True):
        where = (before.case_id, before.protocol)
        assert after.verdict == before.verdict and after.correct == before.correct, where
        assert [t.verdict for t in after.trials] == [t.verdict for t in before.trials], where
        assert [[u.content for u in t.turns] for t in after.trials] == \
            [[u.content for u in t.turns] for t in before.trials], where  # the transcripts too
    assert {r.protocol for r in plain} == set(DEMO_PROTOCOLS)
    assert any(r.correct for r in plain) and not all(r.correct for r in plain)  # a real mix, not a constant


def arithmetic(n: int, seed: int) -> list[Case]:
    """Pairs with the correct sum on a random side (a second benchmark, unlike the sample)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        x, y = rng.randint(10, 99), rng.randint(10, 99)
        label: Label = rng.choice(["A", "B"])
        good, bad = f"{x} + {y} = {x + y}.", f"{x} + {y} = {x + y + 1}."
        out.append(Case(id=f"sum{i}", question=f"What is {x} + {y}?", label=label,
                        candidates=[good, bad] if label == "A" else [bad, good]))
    return out


async def test_two_interleaved_simulated_runs_give_what_each_gives_alone(tmp_path: Path) -> None:
    roles = Roles(model="sim:adv:0.7", judge="sim:judge:0.7:bias=0.1:tie=0.1:invalid=0.1",
                  jurors=["sim:j1:0.7:corr=0.3", "sim:j2:0.7:corr=0.3", "sim:j3:0.7:corr=0.3"])
    protocols = ["single", "jury", "debate"]

    async def one(bench: str | list[Case], seed: int, out: Path) -> list[dict[str, Any]]:
        results = await run_async(bench, protocols, roles=roles, out=out, seed=seed, cache=None, progress=False,
                                  concurrency=2)
        return [comparable(r) for r in results.records]

    sums = arithmetic(12, seed=5)
    alone_sample = await one("sample", 1, tmp_path / "a1")
    alone_sums = await one(sums, 2, tmp_path / "b1")
    together = await asyncio.gather(one("sample", 1, tmp_path / "a2"), one(sums, 2, tmp_path / "b2"))
    assert together[0] == alone_sample
    assert together[1] == alone_sums
    swapped_seed = await one("sample", 2, tmp_path / "a3")  # the seed matters: a shared one would show
    assert [r["trials"] for r in swapped_seed] != [r["trials"] for r in alone_sample]
    assert current_simulation().seed == 0  # nothing leaks out of a run


async def test_the_seed_is_scoped_to_its_block_and_task() -> None:
    seen: list[int] = []

    async def inside(seed: int) -> None:
        with simulation(seed=seed):
            await asyncio.sleep(0)  # let the other task run while this one holds its seed
            seen.append(current_simulation().seed)

    await asyncio.gather(inside(3), inside(4))
    assert sorted(seen) == [3, 4] and current_simulation().seed == 0


def test_every_parameter_is_one_table_row_and_one_field() -> None:
    """Adding a key means a row in PARAMETERS and a field on SimParams: the two must agree."""
    assert [p.key for p in PARAMETERS] == [f.name for f in fields(SimParams) if f.name != "name"]
    assert all(p.key in describe_parameters() for p in PARAMETERS)
    assert from_spec("rho=0.2:accuracy=0.6").sim == SimParams(acc=0.6, corr=0.2)  # aliases from the table
    assert SimParams(debate=0.9).accuracy("courtroom") == 0.9 and SimParams(debate=0.9).accuracy(None) == 0.75
    assert SimParams(consult=0.6).accuracy("consultancy") == 0.6 and SimParams().accuracy("debate") == 0.75
    # an agent's identity names only what differs from the defaults, so a new key leaves old draws alone
    assert SimParams(acc=0.7).identity == "acc=0.7" and SimParams().identity == "default"

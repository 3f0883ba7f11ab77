"""Case selection: a stratified seeded sample, shuffle, ids, limit warnings, from the CLI and from Python."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from courtgraph.cli import main
from courtgraph.errors import InputError
from courtgraph.evals import RunStore, run
from courtgraph.evals.selection import Selection, choose_cases, largest_remainder, sorted_by_category
from courtgraph.graphs.registry import Roles
from courtgraph.schema import Case

JUDGEBENCH = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "judgebench" / \
    "gpt-4o-2024-05-13.jsonl"
needs_judgebench = pytest.mark.skipif(not JUDGEBENCH.is_file(), reason=f"{JUDGEBENCH} is not on this machine")


def make_cases(sizes: dict[str, int]) -> list[Case]:
    """Cases sorted by category, as JudgeBench's file is."""
    return [Case(id=f"{cat}-{i}", question=f"q {cat} {i}", candidates=["x", "y"], label="A", category=cat)
            for cat, n in sizes.items() for i in range(n)]


def cli_run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "-p", "single", "-m", "sim:0.7", "--no-cache", *args])
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def stored_cases(run_dir: Path) -> list[Case]:
    with RunStore(run_dir, create=False) as store:
        return list(store.cases().values())


# -- the allocation, against its definition -----------------------------------------------------------


@given(st.lists(st.integers(0, 60), min_size=1, max_size=8), st.data())
def test_largest_remainder_is_hamilton(counts: list[int], data: st.DataObject) -> None:
    total = sum(counts)
    n = data.draw(st.integers(0, total))
    groups = {f"g{i}": c for i, c in enumerate(counts)}
    seats = largest_remainder(groups, n)
    assert sum(seats.values()) == n
    for k, c in groups.items():
        exact = Fraction(n * c, total) if total else Fraction(0)
        assert math.floor(exact) <= seats[k] <= math.ceil(exact) <= c  # within one of its exact share
    # the extra seats went to the largest remainders: no group left at its floor has a larger one
    rem = {k: Fraction(n * c, total) - math.floor(Fraction(n * c, total)) for k, c in groups.items()} if total \
        else {}
    up = [k for k in groups if total and seats[k] > math.floor(Fraction(n * groups[k], total))]
    down = [k for k in groups if total and seats[k] == math.floor(Fraction(n * groups[k], total)) and rem[k] > 0]
    assert all(rem[u] >= rem[d] for u in up for d in down)


def test_largest_remainder_on_judgebench_shares() -> None:
    # 154/98/56/42 of 350 -> exact 44, 28, 16, 12 for 100; for 10: 4.4, 2.8, 1.6, 1.2 -> 4, 3, 2, 1
    shares = {"knowledge": 154, "reasoning": 98, "math": 56, "coding": 42}
    assert largest_remainder(shares, 100) == {"knowledge": 44, "reasoning": 28, "math": 16, "coding": 12}
    assert largest_remainder(shares, 10) == {"knowledge": 4, "reasoning": 3, "math": 2, "coding": 1}


# -- choose_cases ----------------------------------------------------------------------------------------


def test_sample_is_stratified_seeded_and_random_ordered() -> None:
    cases = make_cases({"a": 60, "b": 30, "c": 10})
    first, _ = choose_cases(cases, Selection.build(sample=20, seed=3))
    again, _ = choose_cases(cases, Selection.build(sample=20, seed=3))
    other, _ = choose_cases(cases, Selection.build(sample=20, seed=4))
    assert [c.id for c in first] == [c.id for c in again]
    assert {c.id for c in first} != {c.id for c in other}
    assert Counter(c.category for c in first) == {"a": 12, "b": 6, "c": 2}
    assert len({c.id for c in first}) == 20
    assert not sorted_by_category(first)  # an early stop judges a random part, not the first category


def test_unstratified_sample_and_too_large_a_sample() -> None:
    cases = make_cases({"a": 5, "b": 5})
    picked, _ = choose_cases(cases, Selection.build(sample=10, stratify=False, seed=1))
    assert {c.id for c in picked} == {c.id for c in cases}
    with pytest.raises(InputError, match="cannot sample 11 cases: only 10"):
        choose_cases(cases, Selection.build(sample=11))


def test_shuffle_keeps_the_cases_and_changes_the_order() -> None:
    cases = make_cases({"a": 10, "b": 10})
    shuffled, _ = choose_cases(cases, Selection.build(shuffle=True, seed=0))
    assert sorted(c.id for c in shuffled) == sorted(c.id for c in cases)
    assert [c.id for c in shuffled] != [c.id for c in cases]
    assert shuffled == choose_cases(cases, Selection.build(shuffle=True, seed=0))[0]


def test_case_ids_inline_and_from_a_file(tmp_path: Path) -> None:
    cases = make_cases({"a": 5, "b": 5})
    listed = tmp_path / "ids.txt"
    listed.write_text("# the hard ones\nb-3\na-1, a-2\n", encoding="utf-8")
    assert [c.id for c in choose_cases(cases, Selection.build(cases="b-3,a-1"))[0]] == ["a-1", "b-3"]
    assert [c.id for c in choose_cases(cases, Selection.build(cases=f"@{listed}"))[0]] == ["a-1", "a-2", "b-3"]
    with pytest.raises(InputError, match="no case with id zz"):
        choose_cases(cases, Selection.build(cases="a-1,zz"))
    with pytest.raises(InputError, match="cannot read the case list"):
        Selection.build(cases=f"@{tmp_path / 'missing.txt'}")


def test_limit_warns_on_a_category_sorted_file_only() -> None:
    sorted_cases = make_cases({"a": 5, "b": 5})
    _, warnings = choose_cases(sorted_cases, Selection.build(limit=3))
    assert len(warnings) == 1 and "--sample 3" in warnings[0]
    mixed = [sorted_cases[i // 2 + (5 if i % 2 else 0)] for i in range(10)]  # a, b, a, b, ...
    assert choose_cases(mixed, Selection.build(limit=3)) == (mixed[:3], [])
    with pytest.raises(InputError, match="not both"):
        Selection.build(sample=3, limit=3)


# -- the acceptance: JudgeBench from the CLI ----------------------------------------------------------------


@needs_judgebench
def test_cli_sample_covers_judgebench_categories_in_proportion(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    bench = f"judgebench:{JUDGEBENCH}"
    picks = []
    for name in ("one", "two"):
        code, out, _ = cli_run(capsys, "-b", bench, "--sample", "100", "--seed", "1", "-o", str(tmp_path / name))
        assert code == 0
        assert "a random sample of 100 stratified by category (seed 1)" in " ".join(out.split())
        picks.append(stored_cases(tmp_path / name))
    assert Counter(c.category for c in picks[0]) == {"knowledge": 44, "reasoning": 28, "math": 16, "coding": 12}
    assert {c.id for c in picks[0]} == {c.id for c in picks[1]}
    with RunStore(tmp_path / "one", create=False) as store:
        chosen = store.manifest()["config"]["selection"]
    assert chosen["sample"] == 100 and chosen["seed"] == 1 and chosen["stratify"] is True


@needs_judgebench
def test_cli_limit_warns_that_judgebench_is_sorted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = cli_run(capsys, "-b", f"judgebench:{JUDGEBENCH}", "--limit", "5", "-o", str(tmp_path / "r"))
    assert code == 0
    assert "sorted by category" in " ".join(err.split()) and "--sample 5" in " ".join(err.split())


def test_cli_cases_and_shuffle_and_resume_keeps_the_choice(capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    code, _, _ = cli_run(capsys, "-b", "sample", "--cases", "math-mul,math-lcm", "-o", str(tmp_path / "ids"))
    assert code == 0
    assert {c.id for c in stored_cases(tmp_path / "ids")} == {"math-mul", "math-lcm"}
    code, _, err = cli_run(capsys, "-b", "sample", "--cases", "nope-9", "-o", str(tmp_path / "bad"))
    assert code == 2 and "no case with id nope-9" in err
    code, out, _ = cli_run(capsys, "-b", "sample", "--sample", "4", "--seed", "2", "-o", str(tmp_path / "s"))
    assert code == 0
    first = {c.id for c in stored_cases(tmp_path / "s")}
    code, out, _ = cli_run(capsys, "--resume", "-o", str(tmp_path / "s"))
    assert code == 0 and "a random sample of 4" in " ".join(out.split())
    assert {c.id for c in stored_cases(tmp_path / "s")} == first  # the same 4, nothing added
    code, out, _ = cli_run(capsys, "-b", "sample", "--shuffle", "--seed", "5", "-o", str(tmp_path / "sh"))
    assert code == 0 and "shuffled (seed 5)" in out


def test_python_api_takes_the_same_choices(tmp_path: Path) -> None:
    results = run(make_cases({"a": 6, "b": 3}), ["single"], roles=Roles(model="sim:0.7"), out=tmp_path / "r",
                  cache=None, progress=False, sample=3, seed=7)
    assert Counter(results.cases[i].category for i in results.cases) == {"a": 2, "b": 1}
    assert results.selection == "a random sample of 3 stratified by category (seed 7)"
    results = run(make_cases({"a": 6, "b": 3}), ["single"], roles=Roles(model="sim:0.7"), out=tmp_path / "ids",
                  cache=None, progress=False, cases=["b-0", "a-5"], shuffle=True)
    assert set(results.cases) == {"b-0", "a-5"}


def test_samples_nest_and_ignore_the_file_order() -> None:
    cases = make_cases({"a": 60, "b": 30, "c": 10})
    small, _ = choose_cases(cases, Selection.build(sample=10, seed=5))
    large, _ = choose_cases(cases, Selection.build(sample=40, seed=5))
    assert {c.id for c in small} <= {c.id for c in large}
    backwards, _ = choose_cases(list(reversed(cases)), Selection.build(sample=40, seed=5))
    assert [c.id for c in backwards] == [c.id for c in large]
    for n in range(1, 100):  # the random order is one order: every smaller unstratified sample is a prefix
        plain, _ = choose_cases(cases, Selection.build(sample=n, stratify=False, seed=5))
        assert [c.id for c in plain] == [c.id for c in choose_cases(cases, Selection.build(
            sample=n + 1, stratify=False, seed=5))[0]][:n]

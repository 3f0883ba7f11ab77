"""Several runs side by side: ``report RUN1 RUN2`` pairs their protocols on shared cases exactly as one
run would; runs of different files or with no shared case are refused; ``courtgraph runs`` lists them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from courtgraph.cli import main
from courtgraph.errors import InputError
from courtgraph.evals import run
from courtgraph.evals.runs import find_runs, load_runs
from courtgraph.graphs.registry import Roles

ROLES = Roles(model="sim:0.7", judge="sim:0.8")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    run("sample", ["single", "jury"], roles=ROLES, out=root / "both", cache=None, progress=False, seed=3)
    run("sample", ["single"], roles=ROLES, out=root / "one", cache=None, progress=False, seed=3)
    run("sample", ["jury"], roles=ROLES, out=root / "two", cache=None, progress=False, seed=3)
    return root


def test_two_runs_pair_like_one_run(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "report", str(runs / "both"), "--json")
    inside = json.loads(out)["protocols"]
    code, out, _ = cli(capsys, "report", str(runs / "one"), str(runs / "two"), "--json")
    assert code == 0
    across = json.loads(out)
    assert across["baseline"] == "one/single" and across["shared_cases"] == 36
    got, want = across["protocols"]["two/jury"], inside["jury"]
    assert got["vs_baseline"] == {**want["vs_baseline"], "baseline": "one/single"}  # McNemar p, delta, interval
    assert got["vs_baseline"]["p_value"] is not None
    for key in ("accuracy", "ci95", "n", "consistency"):
        assert got[key] == want[key], key
    assert across["protocols"]["one/single"]["accuracy"] == inside["single"]["accuracy"]
    assert set(across["runs"]) == {"one", "two"} and across["runs"]["two"]["protocols"]["jury"]["models"]


def test_labels_and_a_folder_of_runs(runs: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert [p.name for p in find_runs([runs])] == ["both", "one", "two"]
    md = tmp_path / "r.md"
    code, out, _ = cli(capsys, "report", str(runs / "one"), str(runs / "two"), "--label", "gpt", "--label",
                       "claude", "--baseline", "gpt/single", "--markdown", str(md))
    assert code == 0 and "claude/jury" in out and "gpt = " in out
    text = md.read_text()
    assert "## Provenance of gpt" in text and "## Provenance of claude" in text and "36 shared cases" in text
    code, _, err = cli(capsys, "report", str(runs / "one"), str(runs / "two"), "--label", "x")
    assert code == 2 and "1 labels for 2 runs" in err
    code, _, err = cli(capsys, "report", str(runs / "one"), str(runs / "two"), "--baseline", "single")
    assert code == 2 and "no protocol 'single' among the runs" in err


def test_runs_list(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "runs", str(runs), "--json")
    rows = json.loads(out)
    assert [r["run"].rsplit("/", 1)[-1] for r in rows] == ["both", "one", "two"]
    assert rows[0]["protocols"] == ["single", "jury"] and rows[0]["records"] == 72 and rows[0]["status"] == "finished"
    assert rows[0]["models"] == ["sim:0.7", "sim:0.8"] and rows[0]["bench"] == "sample"
    assert rows[1]["cost_usd"] == 0.0
    code, out, _ = cli(capsys, "runs", str(runs))
    assert code == 0 and "finished" in out and "sim:0.8" in out


def test_runs_of_different_files_or_no_shared_case_are_refused(tmp_path: Path, runs: Path) -> None:
    data = (Path(__file__).resolve().parents[1] / "courtgraph/evals/benchmarks/data/sample.jsonl").read_text()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(data)
    second.write_text(data + "\n")  # the same cases, another file
    run(f"jsonl:{first}", ["single"], roles=ROLES, out=tmp_path / "ra", cache=None, progress=False, limit=2)
    run(f"jsonl:{second}", ["single"], roles=ROLES, out=tmp_path / "rb", cache=None, progress=False, limit=2)
    with pytest.raises(InputError, match="different benchmark files"):
        load_runs([tmp_path / "ra", tmp_path / "rb"])
    lines = data.splitlines()
    third = tmp_path / "c.jsonl"
    third.write_text("\n".join(lines[10:12]) + "\n")
    run(f"jsonl:{third}", ["single"], roles=ROLES, out=tmp_path / "rc", cache=None, progress=False)
    run(f"jsonl:{third}", ["jury"], roles=ROLES, out=tmp_path / "rd", cache=None, progress=False)
    group = load_runs([tmp_path / "rc", tmp_path / "rd"])
    assert {r.protocol for r in group.records} == {"rc/single", "rd/jury"}
    with pytest.raises(InputError, match=r"share no judged case|different benchmark files"):
        load_runs([tmp_path / "ra", tmp_path / "rc"])


def test_show_reads_several_runs(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "show", str(runs / "one"), str(runs / "two"), "--limit", "0", "--plain")
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[-2:] == ["one/single", "two/jury"]
    assert "36 in the run" in out
    code, out, _ = cli(capsys, "show", str(runs / "one"), str(runs / "two"), "--case", "math-mul", "--compare",
                       "one/single,two/jury", "--plain")
    assert code == 0 and "one/single" in out and "two/jury" in out
    code, out, _ = cli(capsys, "show", str(runs / "one"), str(runs / "two"), "--label", "gpt", "--label", "claude",
                       "--plain", "--limit", "1")
    assert code == 0 and out.splitlines()[0].split()[-2:] == ["gpt/single", "claude/jury"]

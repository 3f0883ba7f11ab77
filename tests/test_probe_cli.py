"""``courtgraph probe``, ``run --probes``, ``show --probe`` and the report's robustness section, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from courtgraph.cli import main
from courtgraph.evals.store import RunStore


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def test_bad_probes_are_refused_before_anything_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "never"
    code, _, err = in_process(capsys, "run", "-b", "sample", "-p", "single", "-m", "sim:0.8", "--out", str(out),
                              "--probes", "verbosity,nope")
    assert code == 2 and "unknown probe 'nope'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    code, _, err = in_process(capsys, "probe", str(tmp_path), "--probes", "verbosity")
    assert code == 2 and "not a courtgraph run" in err


def test_a_user_probe_file_and_a_fully_susceptible_judge(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    probe_file = tmp_path / "mine.py"
    probe_file.write_text("def shout(text, case, rng):\n    return text.upper() + '!!!'\n")
    run = tmp_path / "run"
    code, out, err = in_process(capsys, "run", "-b", "sample", "-p", "single,jury", "-m", "sim:0.9:fooled=1",
                                "--limit", "8", "--out", str(run), "--no-cache", "--probes", f"{probe_file}:shout")
    assert code == 0, err
    assert "Robustness to probes (simulated agents)" in out and "shout" in out
    code, out, err = in_process(capsys, "report", str(run), "--json", "--markdown", str(tmp_path / "r.md"),
                                "--plot", str(tmp_path / "r.png"))
    assert code == 0, err
    assert (tmp_path / "r-robustness.png").stat().st_size > 1000  # attack success by protocol and probe
    rows = json.loads(out)["robustness"]["probes"]
    for row in rows:  # fooled=1: every originally correct verdict turns wrong; none stays
        assert row["probe"] == "shout" and row["attack_success"]["value"] == 1.0
    assert "## Robustness" in (tmp_path / "r.md").read_text()
    with RunStore(run / "probes", create=False) as store:
        cases = store.cases()
    assert cases and all(c.id.endswith("~shout") and "!!!" in "".join(c.candidates) for c in cases.values())
    first = next(iter(cases.values()))
    code, out, err = in_process(capsys, "show", str(run), "--case", first.metadata["original"], "--probe", "shout",
                                "--plain")
    assert code == 0, err
    assert "probe shout" in out and "!!!" in out and "original" in out and "perturbed" in out
    code, _, err = in_process(capsys, "show", str(run), "--case", first.metadata["original"], "--probe", "verbosity")
    assert code == 2 and "no single twin" in err
    code, _, err = in_process(capsys, "show", str(run), "--probe", "shout")
    assert code == 2 and "--probe needs --case" in err

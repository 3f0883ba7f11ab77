"""`courtgraph run` as a user runs it: help, a small run, exit codes, --resume from the manifest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from courtgraph.cli import main, split_specs
from courtgraph.evals import RunStore


def cli(*args: str) -> tuple[int, str, str]:
    out = subprocess.run([sys.executable, "-m", "courtgraph", *args], capture_output=True, text=True, timeout=120)
    return out.returncode, out.stdout, out.stderr


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def test_run_help_explains_itself() -> None:
    code, out, _ = cli("run", "--help")
    assert code == 0
    for flag in ("--bench", "--protocols", "--model", "--judge", "--jurors", "--juror", "--debaters", "--limit",
                 "--categories", "--concurrency", "--no-swap", "--out", "--resume", "--no-cache", "--cache",
                 "--seed", "--map", "--label-map", "--watch", "Example"):
        assert flag in out, flag


@pytest.mark.parametrize(("args", "message"), [
    (("--bench", "nope", "-p", "single", "-m", "sim:0.7"), "unknown benchmark 'nope'"),
    (("--bench", "sample", "-p", "single,nope", "-m", "sim:0.7"), "unknown protocol 'nope'"),
    (("--bench", "jsonl:/no/such/file.jsonl", "-p", "single", "-m", "sim:0.7"), "/no/such/file.jsonl"),
    (("-p", "single", "-m", "sim:0.7"), "give --bench"),
])
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: tuple[str, ...],
                           message: str) -> None:
    code, _, err = in_process(capsys, "run", *args, "--out", str(tmp_path / "run"))
    assert code == 2 and message in " ".join(err.split())
    assert not (tmp_path / "run").exists()


def test_bad_input_is_one_error_and_no_traceback(tmp_path: Path) -> None:
    code, _, err = cli("run", "--bench", "sample", "-p", "nope", "-m", "sim:0.7", "--out", str(tmp_path / "run"))
    assert code == 2
    assert err.startswith("error:") and "unknown protocol 'nope'" in err and "Traceback" not in err


def test_no_model_for_a_role_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = in_process(capsys, "run", "-b", "sample", "-p", "single", "--out", str(tmp_path / "r"))
    assert code == 2 and "no model for the judge role" in err


def test_a_small_run_prints_the_report_and_stores_records(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    code, out, _ = in_process(capsys, "run", "--bench", "sample", "--protocols", "single", "--judge",
                              "sim:judge:0.8", "--limit", "4", "--no-swap", "--seed", "3", "--out", str(run_dir))
    assert code == 0
    assert "single" in out and "simulated" in out.lower() and str(run_dir) in out
    with RunStore(run_dir, create=False) as store:
        records = store.records()
        config = store.manifest()["config"]
    assert len(records) == 4 and all(len(r.trials) == 1 for r in records)
    assert config["orders"] == ["AB"] and config["seed"] == 3 and config["roles"]["judge"] == "sim:judge:0.8"


def test_resume_takes_the_settings_from_the_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    in_process(capsys, "run", "-b", "sample", "-p", "single", "-m", "sim:0.8", "--limit", "2", "--no-swap",
               "--seed", "5", "--out", str(run_dir))
    code, _, err = in_process(capsys, "run", "--out", str(run_dir), "--resume", "--limit", "5")
    assert code == 0, err
    with RunStore(run_dir, create=False) as store:
        assert len(store.records()) == 5 and all(len(r.trials) == 1 for r in store.records())
    code, _, err = in_process(capsys, "run", "--out", str(run_dir), "--resume", "--seed", "6")
    assert code == 2 and "its seed was 5, now 6" in " ".join(err.split())


def test_a_failed_record_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    protocol = tmp_path / "broken.py"
    protocol.write_text("def build(roles):\n"
                        "    from langgraph.graph import END, START, StateGraph\n"
                        "    from courtgraph.graphs import TrialState\n"
                        "    async def fail(state):\n        raise RuntimeError('protocol bug')\n"
                        "    g = StateGraph(TrialState)\n    g.add_node('fail', fail)\n"
                        "    g.add_edge(START, 'fail')\n    g.add_edge('fail', END)\n    return g.compile()\n")
    code, _, err = in_process(capsys, "run", "-b", "sample", "-p", f"{protocol}:build", "--limit", "2",
                              "--out", str(tmp_path / "run"))
    assert code == 1
    assert "2 record(s) failed" in err and "protocol bug" in err


def test_cache_flags_conflict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = in_process(capsys, "run", "-b", "sample", "-p", "single", "-m", "sim:0.7", "--no-cache",
                              "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "run"))
    assert code == 2 and "--no-cache or --cache" in err


def test_model_lists_split_only_where_a_spec_begins() -> None:
    judgebench = "recorded:outputs/dataset=judgebench,response_model=gpt-4o,judge_name=arena_hard.jsonl"
    assert split_specs(f"{judgebench},sim:j2:0.7, openai:gpt-4o-mini") == \
        [judgebench, "sim:j2:0.7", "openai:gpt-4o-mini"]
    assert split_specs(None) == [] and split_specs("") == []


def test_demo_runs_offline_and_says_it_is_simulated(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = in_process(capsys, "demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    assert "simulated agents, not real models" in out
    for protocol in ("single", "jury", "debate", "consultancy"):
        assert protocol in out
    assert "one debate transcript (simulated)" in out and "advocate_A" in out
    assert "Robustness to probes (simulated agents)" in out and "master-key" in out  # issue 14
    with RunStore(tmp_path / "demo", create=False) as store:
        assert set(store.protocols()) == {"single", "jury", "debate", "consultancy"}
        assert len(store.records()) == 4 * len(store.cases())


def test_default_out_is_under_runs_and_a_bare_resume_continues_the_latest(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = in_process(capsys, "run", "-b", "sample", "-p", "single", "-m", "sim:0.8", "--limit", "1")
    assert code == 0, err
    [run_dir] = list((tmp_path / "runs").iterdir())
    code, _, err = in_process(capsys, "run", "--resume", "--limit", "3")
    assert code == 0, err
    assert "resuming" in err and "1/3 records already done" in err
    with RunStore(run_dir, create=False) as store:
        assert len(store.records()) == 3
        assert len(store.manifest()["history"]) == 1  # the first invocation, before --resume


def test_protocol_params_from_the_command_line(tmp_path: Path) -> None:
    code, out, err = cli("run", "-b", "sample", "-p", "single,debate", "-m", "sim:0.7", "--limit", "3",
                         "--param", "debate.rounds=1", "--out", str(tmp_path / "r"), "--no-cache")
    assert code == 0, err
    code, out, err = cli("report", str(tmp_path / "r"), "--json")
    calls = {name: p["calls_per_case"] for name, p in json.loads(out)["protocols"].items()}
    assert calls == {"single": 2.0, "debate": 6.0}  # 2 orders x (2 advocates x 1 round + judge)
    code, out, err = cli("run", "-b", "sample", "-p", "debate", "-m", "sim:0.7", "--param", "debate.round=1",
                         "--out", str(tmp_path / "bad"))
    assert code == 2 and "rounds" in err and "Traceback" not in err


def test_piped_help_drops_no_word() -> None:
    """Help read through a pipe (here: captured) is click's plain text, its markup rendered: rich's panels
    cropped words that did not fit their column at 80 columns (``judgebench[:PAT…``), 27 in ``run --help``."""
    for args in (("--help",), ("run", "--help"), ("judge", "--help"), ("show", "--help"), ("protocols", "--help")):
        code, out, _ = cli(*args)
        assert code == 0 and out.startswith("Usage:"), args
        assert "…" not in out and "[bold]" not in out and "[/" not in out, args
    flat = " ".join(cli("run", "--help")[1].split())
    for word in ("judgebench[:PATH]", "recorded:RUN_DIR[#PROTOCOL]", "$COURTGRAPH_MAX_CONCURRENCY"):
        assert word in flat, word
    root = " ".join(cli("--help")[1].split())
    assert "store every record, print the comparison." in root  # a command's summary is not cut at 45 characters

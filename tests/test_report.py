"""The report in its three forms, and `courtgraph report RUN` as a user runs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from parts import case_text
from pydantic import BaseModel
from rich.console import Console
from test_runner import make_cases, truthful

from courtgraph.cli import main
from courtgraph.evals import run, stats
from courtgraph.evals.metrics import Summary, summarize
from courtgraph.evals.plot import plot
from courtgraph.evals.report import detail_rows, load_run, print_summary, summary_markdown
from courtgraph.evals.store import RunStore
from courtgraph.graphs import single
from courtgraph.graphs.trial import make_record
from courtgraph.models import Message, ScriptedModel
from courtgraph.prompts import unfence
from courtgraph.schema import Case, Label, Record, TrialResult, Turn, Usage, Verdict

LONG_NAME = "arena_hard,judge_model=o1-mini-2024-09-12"


def record(case_id: str, protocol: str, right: bool, *, model: str = "openai:gpt-4o-mini",
           cost: float | None = 0.002, category: str = "math") -> Record:
    """A two-order record that is right (both orders name A) or wrong (both name B)."""
    said: Label = "A" if right else "B"
    usage = Usage(calls=1, input_tokens=300, output_tokens=40, cost_usd=cost)
    trials = [TrialResult(order=order, verdict=Verdict(winner=said if order == "AB" else "B" if right else "A"),
                          usage=usage, turns=[Turn(role="judge", agent="judge", content="…", model=model)])
              for order in ("AB", "BA")]
    case = Case(id=case_id, question="q", candidates=["x", "y"], label="A", category=category)
    return make_record(case, protocol, trials)


def records(model: str = "openai:gpt-4o-mini", cost: float | None = 0.002) -> list[Record]:
    out = []
    for i in range(30):
        out.append(record(f"c{i}", "single", i % 2 == 0, model=model, cost=cost,
                          category="math" if i < 20 else "code"))
        out.append(record(f"c{i}", "jury", i % 5 != 0, model=model, cost=cost,
                          category="math" if i < 20 else "code"))
    return out


@pytest.fixture
def summary() -> Summary:
    return summarize(records(), resamples=300)


def test_print_summary_fits_80_columns(summary: Summary) -> None:
    console = Console(record=True, width=80)
    print_summary(summary, console)
    text = console.export_text()
    jury = summary.protocols["jury"]
    assert jury.accuracy == pytest.approx(24 / 30) and jury.vs_baseline.p_value is not None
    assert "80.0" in text and "50.0" in text  # the two accuracies
    assert "+30.0" in text and f"p={jury.vs_baseline.p_value:.2g}" in text
    assert "baseline" in text and "Accuracy by category" in text and "code" in text
    assert "$0.1200" in text  # 60 trials x $0.002 billed per protocol
    assert "…" not in text  # no figure cut short
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "simulated" not in text.lower()


def test_simulated_runs_say_so_everywhere() -> None:
    summary = summarize(records(model="sim:judge:0.7"), resamples=100)
    assert summary.simulated
    console = Console(record=True, width=100)
    print_summary(summary, console)
    assert "Simulated agents" in console.export_text()
    assert "simulated agents" in summary_markdown(summary).lower()
    assert summary.to_json()["simulated"] is True


def test_markdown_tables(summary: Summary) -> None:
    md = summary_markdown(summary)
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| protocol | n |"))
    assert "Δ vs single" in header
    jury = next(line for line in lines if line.startswith("| jury |"))
    low, high = stats.wilson_interval(24, 30)
    assert f"| 30 | 80.0 ({100 * low:.1f}–{100 * high:.1f}) |" in jury and "+30.0 (p=" in jury
    assert "## Metrics by convention" in md and "## Per class" in md and "tie rule judge-says-tie" in md.lower()
    assert "| category | single | jury |" in md
    assert "| code | 50.0% (n=10) | 80.0% (n=10) |" in md
    # Every table row has as many cells as its header.
    table = [line for line in lines if line.startswith("| ")]
    assert len({line.count(" | ") for line in table[:4]}) == 1


def test_unknown_cost_is_shown_as_unknown() -> None:
    summary = summarize(records(cost=None), resamples=100)
    assert summary.protocols["jury"].cost_usd is None
    assert "unknown" in summary_markdown(summary)


def test_plot_writes_a_png(summary: Summary, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = plot(summary, tmp_path / "acc.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_plot_without_matplotlib_says_how_to_install(summary: Summary, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"courtgraph\[plot\]"):
        plot(summary, tmp_path / "acc.png")


# --- the command ----------------------------------------------------------------------------------


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    with RunStore(path) as store:
        for r in records():
            store.write(r)
        store.write_manifest({"config": {"bench": {"spec": "sample"}}, "status": "finished"})
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", *args])
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out, out.err


def test_report_json(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, str(run_dir), "--json")
    assert code == 0
    data = json.loads(out)  # stdout is the JSON object and nothing else
    jury = data["protocols"]["jury"]
    assert jury["accuracy"] == pytest.approx(0.8) and jury["n"] == 30
    assert jury["vs_baseline"]["delta"] == pytest.approx(0.3) and 0 < jury["vs_baseline"]["p_value"] < 0.05
    assert jury["by_category"]["code"]["n"] == 10
    assert jury["cost_usd"] == pytest.approx(0.12) and jury["calls_per_case"] == 2.0


def test_report_tables_and_files(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    md = tmp_path / "report.md"
    code, out, _ = run_cli(capsys, str(run_dir), "--markdown", str(md), "--baseline", "jury")
    assert code == 0
    assert "bench sample" in out and "Δ vs" in out and "jury" in out
    assert "-30.0" in out  # single against the jury
    assert md.read_text(encoding="utf-8").startswith("# Protocol comparison")


def test_report_plot_option(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "acc.png"
    code, out, err = run_cli(capsys, str(run_dir), "--json", "--plot", str(png))
    assert code == 0 and png.stat().st_size > 10_000
    json.loads(out)  # the note about the written file went to stderr, not into the JSON
    assert str(png) in err


@pytest.mark.parametrize("args, message", [
    (["--baseline", "debate"], "no protocol 'debate' in this run"),
    (["--markdown", "no/such/dir/report.md"], "the folder does not exist"),
    (["--plot", "acc.unknownformat"], "plot"),
    (["--markdown", "."], "field 'markdown': is a directory"),
    (["--plot", "."], "field 'plot': is a directory"),
])
def test_report_bad_options_exit_2(run_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Path, args: list[str], message: str) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, str(run_dir), *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    if args[0] != "--plot" or "directory" in message:  # output paths are refused before any work
        assert "Protocol comparison" not in out and err.strip().count("\n") == 0


def test_report_uses_the_runs_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`courtgraph report` prints the intervals `courtgraph run` printed at its end: same seed."""
    cases = make_cases(24)

    def wrong_on_every_third(messages: list[Message], schema: type[BaseModel] | None) -> str:
        said = truthful(messages)
        i = int(unfence(case_text(messages))["response_a"].split()[-1])  # "right answer 3" -> 3
        return said if i % 3 else "[[B]]" if said == "[[A]]" else "[[A]]"

    results = run(cases, {"single": single(ScriptedModel(wrong_on_every_third))}, out=tmp_path / "run", seed=7,
                  cache=None, progress=False)
    at_the_end = results.summary.protocols["single"]
    assert at_the_end.accuracy is not None and 0 < at_the_end.accuracy < 1
    hits = round(at_the_end.accuracy * 24)
    assert at_the_end.ci95 == stats.wilson_interval(hits, 24)  # a proportion's interval: no resampling
    summary, _ = load_run(tmp_path / "run")
    assert summary.seed == 7 and summary.protocols["single"].ci95 == at_the_end.ci95
    code, out, _ = run_cli(capsys, str(tmp_path / "run"), "--json")
    assert code == 0 and json.loads(out)["seed"] == 7


def test_llmbar_agreement_and_consistency_are_two_named_figures() -> None:
    """Two non-answers agree for LLMBar's Agr, never for courtgraph's consistency: both shown, each named."""
    invalid = Verdict(status="invalid", error="no tag")
    trials = [TrialResult(order=o, verdict=invalid) for o in ("AB", "BA")]
    both_invalid = make_record(Case(id="x", question="q", candidates=["a", "b"], label="A"), "single", trials)
    summary = summarize([record("c0", "single", True), both_invalid], resamples=50)
    m = summary.to_json()["protocols"]["single"]
    assert (m["agreement"], m["consistency"]) == (1.0, 0.5)
    headers, rows = detail_rows(summary)
    assert rows[0][headers.index("LLMBar\nAgr")] == "100.0%"
    assert "LLMBar evaluate.py" in summary.definitions()["agreement"]
    assert "stricter" in summary.definitions()["consistency"]


def test_report_on_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long_dir = tmp_path / ("a-rather-long-folder-name-" * 3)
    long_dir.mkdir()
    code, _, err = run_cli(capsys, str(long_dir))
    assert code == 2
    assert err.strip().count("\n") == 0 and "not a courtgraph run" in err  # one line, however long
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "Example" in out and "--baseline" in out and "courtgraph[plot]" in out


def test_protocol_names_are_not_markup(capsys: pytest.CaptureFixture[str]) -> None:
    named = [r.model_copy(update={"protocol": "jury[3]" if r.protocol == "jury" else r.protocol})
             for r in records()]
    console = Console(record=True, width=100)
    print_summary(summarize(named, resamples=50), console)
    assert "jury[3]" in console.export_text()

"""80 columns, the width of piped output: nothing is cropped in show, report and browse on a
JudgeBench-like run (36-character UUID case ids, 16- and 20-character protocol names)."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from rich.console import Console

from courtgraph.evals import run
from courtgraph.evals.plan import load_cases
from courtgraph.evals.report import report_run
from courtgraph.graphs.registry import Roles
from courtgraph.view.show import ShowRequest, show_run

LONG = {"single-judge-gpt4o-m": "single", "jury-of-five-haiku-x": "jury", "debate-two-rounds-ab": "debate"}
SHORT16 = {"single-judge-4o-m": "single", "jury-of-five-hai": "jury"}


def judgebench_like(out: Path, protocols: dict[str, str], n: int = 6) -> list[str]:
    cases, _ = load_cases("sample", None, None)
    cases = [c.model_copy(update={"id": str(uuid.UUID(int=i * 7919 + 13)), "category": "livecodebench-reasoning"})
             for i, c in enumerate(cases[:n])]
    run(cases, protocols, roles=Roles(model="sim:0.7"), out=out, cache=None, progress=False)
    return [c.id for c in cases]


def at_80() -> tuple[Console, io.StringIO]:
    sink = io.StringIO()
    return Console(file=sink, width=80, color_system=None, legacy_windows=False), sink


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("fit") / "jb"
    return out, judgebench_like(out, LONG)


def test_show_table_crops_nothing(long_run: tuple[Path, list[str]]) -> None:
    path, ids = long_run
    console, sink = at_80()
    show_run(ShowRequest(run=path, plain=True), console)
    lines = sink.getvalue().splitlines()
    assert max(len(ln) for ln in lines) <= 80
    for case_id in ids:  # the whole id, and a verdict with its mark under every protocol
        rows = [ln for ln in lines if case_id in ln]
        assert rows, case_id
        assert sum(ln.count("✓") + ln.count("✗") for ln in rows) == len(LONG)
    header = " ".join(sink.getvalue().split())
    for name in LONG:  # folded headers: every piece of the name is there
        assert name[:7] in header, name


@pytest.mark.parametrize("protocols", [SHORT16, LONG])
def test_report_keeps_every_column(tmp_path: Path, protocols: dict[str, str]) -> None:
    judgebench_like(tmp_path / "r", protocols)
    console, sink = at_80()
    report_run(tmp_path / "r", console=console)
    text = sink.getvalue()
    lines = text.splitlines()[1:]  # the first names the run's directory, whatever its length
    assert max(len(ln) for ln in lines) <= 80
    assert "cost" in text and "saved" in text and "tokens" in text
    headline = lines[:lines.index(next(ln for ln in lines if ln.startswith("Bias and overhead")))]
    figures = [ln for ln in headline if "%" in ln and "$" in ln]  # headline rows end with their cost
    assert len(figures) == len(protocols) and all(ln.rstrip().endswith("$0") for ln in figures)
    table = lines[lines.index(next(ln for ln in lines if ln.startswith("Accuracy by category"))):]
    assert sum(ln.count("(n=6)") for ln in table) == len(protocols)  # every protocol's category cell


async def test_browse_at_80x24_wraps_the_transcript_whole(long_run: tuple[Path, list[str]]) -> None:
    pytest.importorskip("textual", reason="browse needs the optional textual extra")
    from textual.widgets import RichLog

    from courtgraph.view.browse_app import BrowseApp
    from courtgraph.view.runs import Run

    path, ids = long_run
    with Run(path) as data:
        app = BrowseApp(data)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for protocol in LONG:
                app.protocol = protocol
                app.show_transcript()
                await pilot.pause()
                log = app.query_one("#transcript", RichLog)
                width = log.scrollable_content_region.width
                assert max(line.cell_length for line in log.lines) <= width  # nothing past the pane's edge
                text = "\n".join(line.text for line in log.lines)
                assert ids[0] in text  # the case id whole, not cut by the panel's border


def case_column(app: object, table: object) -> str:
    """The case column of the case list as drawn, its lines joined: a wrapped id reads whole again."""
    from textual.widgets import DataTable

    assert isinstance(table, DataTable)
    width = table.ordered_columns[0].get_render_width(table)
    lines = [table.render_line(y).text for y in range(table.size.height)]
    return "".join(line[:width].strip() for line in lines[1:])  # below the header


@pytest.mark.parametrize("size", [(80, 24), (81, 30), (100, 24), (160, 40)])
async def test_browse_case_list_shows_every_id_whole(long_run: tuple[Path, list[str]], size: tuple[int, int]) -> None:
    """36-character UUIDs in the case list at 80 columns and wider: wrapped in their row, never cut."""
    pytest.importorskip("textual", reason="browse needs the optional textual extra")
    from textual.widgets import DataTable

    from courtgraph.view.browse_app import BrowseApp
    from courtgraph.view.runs import Run

    path, ids = long_run
    with Run(path) as data:
        app = BrowseApp(data)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            table = app.query_one("#cases", DataTable)
            drawn = sum(c.get_render_width(table) for c in table.ordered_columns)
            assert drawn <= table.scrollable_content_region.width  # no column past the pane's edge
            for protocol in LONG:  # every protocol's verdicts, with the ids still whole
                text = case_column(app, table)
                for case_id in ids:
                    assert case_id in text, (protocol, case_id)
                await pilot.press("p")
                await pilot.pause()
            await pilot.resize_terminal(120, 30)  # laid out again for the new width
            await pilot.pause()
            await pilot.pause()
            text = case_column(app, table)
            assert all(case_id in text for case_id in ids)


def test_runs_list_keeps_models_whole_at_80() -> None:
    """``courtgraph runs``: a run per block, the benchmark by its file name and each model spec (with its
    base URL) whole on its line at 80 columns, not folded a few characters per line in a narrow column."""
    from courtgraph.view.runlist import print_runs

    url = "http://127.0.0.1:18762/v1"
    rows = [{"run": f"runs/{name}", "date": "2026-12-03 10:42", "bench": "judgebench:/work/shared/data/judgebench/"
             "gpt-4o-2024-05-13.jsonl", "protocols": ["single", "a_very_long_protocol"], "status": "finished",
             "records": 100, "cost_usd": cost, "models": [f"openai:{name}@{url}", "sim:0.7"]}
            for name, cost in (("gpt-4o", None), ("claude-3-5-sonnet-20241022", 0.0123))]
    console, sink = at_80()
    print_runs(rows, console)
    lines = [ln.rstrip() for ln in sink.getvalue().splitlines()]
    assert max(len(ln) for ln in lines) <= 80
    assert lines[0] == "runs/gpt-4o · 2026-12-03 10:42 · finished · 100 records · cost ?"
    assert lines[1] == "  bench judgebench:gpt-4o-2024-05-13.jsonl · protocols single,"  # wraps between words
    assert lines[2] == "  a_very_long_protocol"
    assert lines[3] == f"  models openai:gpt-4o@{url}, sim:0.7"
    assert f"  models openai:claude-3-5-sonnet-20241022@{url}, sim:0.7" in lines
    assert "$0.0123" in " ".join(lines[4:6])


@pytest.fixture
def many_cases_run(tmp_path: Path) -> tuple[Path, list[str]]:
    return tmp_path / "many", judgebench_like(tmp_path / "many", {"a_very_long_protocol": "single"}, n=14)


async def test_browse_case_list_with_a_scrollbar_takes_two_lines_per_id(many_cases_run: tuple[Path, list[str]]) -> None:
    """More cases than the pane holds (a scrollbar): at 80x24 each UUID still wraps whole onto two lines."""
    pytest.importorskip("textual", reason="browse needs the optional textual extra")
    from textual.widgets import DataTable

    from courtgraph.view.browse_app import BrowseApp
    from courtgraph.view.runs import Run

    path, ids = many_cases_run
    with Run(path) as data:
        app = BrowseApp(data)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            table = app.query_one("#cases", DataTable)
            assert table.virtual_size.height > table.size.height  # it scrolls
            drawn = sum(c.get_render_width(table) for c in table.ordered_columns)
            assert drawn <= table.scrollable_content_region.width
            assert {row.height for row in table.rows.values()} == {2}
            visible = case_column(app, table)
            assert ids[0] in visible and ids[4] in visible


def test_provenance_wraps_with_a_hanging_indent() -> None:
    """What ran, at 80 columns: every word kept, and a wrapped line indented under its own start."""
    from courtgraph.evals.provenance import print_provenance, provenance_from, provenance_lines

    url = "http://127.0.0.1:18761/v1"
    model = {"spec": f"openai:gpt-4o-mini@{url}", "base_url": url, "settings": {"temperature": 0, "max_tokens": 2048}}
    manifest = {"config": {"bench": {"spec": "judgebench:/work/shared/data/judgebench/gpt-4o-2024-05-13.jsonl"},
                           "protocols": {"a_very_long_protocol": {"spec": "single", "params": {}}},
                           "models": {"a_very_long_protocol": {"judge": model, "juror 1, juror 2": model}}},
                "status": "finished"}
    prov = provenance_from(manifest, run_dir="runs/x")
    console, sink = at_80()
    print_provenance(prov, console)
    lines = sink.getvalue().splitlines()
    assert max(len(ln) for ln in lines) <= 80 and len(lines) > len(provenance_lines(prov))
    assert " ".join(sink.getvalue().split()) == " ".join(" ".join(provenance_lines(prov)).split())
    judge = next(i for i, ln in enumerate(lines) if ln.startswith("  judge"))
    assert lines[judge + 1].startswith("      ") and "max_tokens=2048" in lines[judge + 1]


def test_the_progress_bar_keeps_its_count_at_80() -> None:
    """The TTY bar's running totals are long: at 80 columns they wrap under themselves, and the bar and
    its done/total count stay (they were squeezed to ``records … 0 errors …``)."""
    from courtgraph.evals.progress import ProgressBar

    sink = io.StringIO()
    bar = ProgressBar(Console(file=sink, width=80, force_terminal=True, color_system=None))
    bar.start(6000, 2800)
    bar.stop()
    import re

    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", sink.getvalue())  # cursor moves and line clears
    last = [ln for ln in drawn.replace("\r", "\n").splitlines() if ln.strip()]
    shown = " ".join(" ".join(last[-2:]).split())
    assert "records ━" in shown and "2800/6000" in shown and "ETA" in shown and "…" not in shown
    assert max(len(ln) for ln in last) <= 80

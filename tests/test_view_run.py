"""`courtgraph show` on a real run directory: the case table from the store's columns, its filters,
paging, one case, comparisons, exports, and bad input as one line with exit code 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_view import plain
from test_view_samples import CASE, record, shown, trial, turn

from courtgraph.cli import main
from courtgraph.errors import InputError
from courtgraph.evals.store import RunStore
from courtgraph.graphs.trial import make_record
from courtgraph.schema import Case, Label, Order, Record, Verdict
from courtgraph.view.runs import Run
from courtgraph.view.table import AgreementFilter, Filters, case_table, select
from courtgraph.view.transcript import verdict_label


def judged(case: Case, protocol: str, ab: Label | None, ba: Label | None) -> Record:
    """A record whose AB and BA trials name ``ab`` and ``ba`` (case frame; None = invalid)."""
    trials = []
    for order, winner in (("AB", ab), ("BA", ba)):
        o: Order = "AB" if order == "AB" else "BA"
        said = shown(o, winner) if winner in ("A", "B") else winner
        verdict = Verdict(winner=said, agent="judge") if winner else Verdict.invalid("??", "no tag", agent="judge")
        trials.append(trial(o, [turn("judge", "judge", f"{protocol} on {case.id} in {order}: [[{said}]]")], verdict))
    return make_record(case, protocol, trials)


# case id -> (single AB, single BA, debate AB, debate BA); every gold label is A
PLAN: dict[str, tuple[Label | None, ...]] = {
    "c1": ("A", "A", "A", "A"),     # both right
    "c2": ("B", "B", "A", "A"),     # single wrong, debate right: they disagree
    "c3": ("A", "A", "B", "B"),     # debate wrong
    "c4": ("A", "B", "A", "A"),     # single flips with the order (tie, wrong)
    "c5": (None, None, "A", "A"),   # single invalid
    "c10": ("A", "A", "A", "A"),
}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    cases = [Case(id=cid, question=f"q {cid}", candidates=["right", "wrong"], label="A",
                  category="math" if cid in ("c1", "c2") else "code") for cid in PLAN]
    with RunStore(tmp_path / "run") as store:
        store.put_cases([*cases, CASE])
        for case in cases:
            s_ab, s_ba, d_ab, d_ba = PLAN[case.id]
            store.write(judged(case, "single", s_ab, s_ba))
            store.write(judged(case, "debate", d_ab, d_ba))
        store.write(record("jury"))
        store.write(record("courtroom"))
    return tmp_path / "run"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def listed(out: str) -> list[str]:
    """The case ids in a printed case table (each row starts with its id)."""
    return re.findall(r"^(c\d+|math-7) ", out, re.MULTILINE)


def ids(run_dir: Path, words: str) -> list[str]:
    run = Run(run_dir)
    try:
        return [r.id for r in select(run.rows(), Filters.parse(words))]
    finally:
        run.close()


def test_table_rows_agree_with_the_records(run_dir: Path) -> None:
    run = Run(run_dir)
    rows = run.rows()
    assert [r.id for r in rows] == [*PLAN, CASE.id]  # run order
    for row in rows:
        for protocol, outcome in row.outcomes.items():
            rec = run.record(row.id, protocol)
            assert rec is not None
            assert outcome.answer == verdict_label(rec.verdict)
            assert outcome.correct == rec.correct
            winners = [t.case_winner for t in rec.trials]
            both_ok = all(t.verdict.valid for t in rec.trials)
            assert outcome.inconsistent == (not (both_ok and winners[0] == winners[1]))
    run.close()


def test_filters(run_dir: Path) -> None:
    assert ids(run_dir, "debate!=single") == ["c2", "c3", "c4", "c5"]
    assert ids(run_dir, "debate==single") == ["c1", "c10"]
    assert ids(run_dir, "wrong:single") == ["c2", "c4", "c5"]
    assert ids(run_dir, "wrong:single wrong:debate") == []
    assert ids(run_dir, "cat:math") == ["c1", "c2", "math-7"]
    assert ids(run_dir, "inconsistent") == ["c4", "c5"]  # a flip, and an order that did not count
    assert ids(run_dir, "invalid") == ["c5"]
    assert ids(run_dir, "c1") == ["c1", "c10"]
    run = Run(run_dir)
    with pytest.raises(InputError, match="no protocol 'panel'"):
        Filters(where=(AgreementFilter.parse("panel!=single"),)).check(run.protocols())
    with pytest.raises(InputError, match="expected PROTOCOL!=PROTOCOL"):
        AgreementFilter.parse("debate<>single")
    run.close()


def test_cli_lists_filters_sorts_and_pages(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "show", str(run_dir))
    assert code == 0 and "\x1b" not in out  # captured output is not a terminal: plain
    assert listed(out) == [*PLAN, "math-7"]
    assert "cases 1–7 of 7 matching (7 in the run)" in out
    code, out, _ = cli(capsys, "show", str(run_dir), "--where", "debate!=single", "--wrong", "debate")
    assert code == 0 and listed(out) == ["c3"] and "1–1 of 1 matching" in out
    code, out, _ = cli(capsys, "show", str(run_dir), "--sort", "id", "--limit", "2", "--page", "2")
    assert listed(out) == ["c3", "c4"] and "cases 3–4 of 7 matching" in out and "more with --page" in out
    code, out, _ = cli(capsys, "show", str(run_dir), "--category", "code", "--inconsistent", "-p", "single")
    assert listed(out) == ["c4", "c5"]


def test_table_fits_80_columns_without_losing_a_protocol(run_dir: Path) -> None:
    run = Run(run_dir)
    table = case_table(run.rows(), [*run.protocols(), "consultancy_open", "panel_llm"])
    narrow, wide = plain(table, 80), plain(table, 160)
    assert all(len(line) <= 80 for line in narrow.splitlines())
    for text in (narrow, wide):
        assert listed(text) == [*PLAN, "math-7"]
        rows = [line for line in text.splitlines() if re.match(r"c\d|math-7", line)]
        assert all(sum(line.count(m) for m in "✓✗—") == 6 for line in rows)  # a cell for every protocol
        assert "panel_llm" in text
    assert "category" in wide and "category" not in narrow  # the column that goes first when narrow


def test_cli_shows_one_case_and_compares(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "show", str(run_dir), "--case", "c2")
    assert code == 0 and "single on c2 in AB" in out and "debate on c2" not in out
    assert "also judged by debate" in out
    code, out, _ = cli(capsys, "show", str(run_dir), "--case", "c2", "-p", "debate", "--order", "BA", "--plain")
    assert "debate on c2 in BA" in out and "in AB" not in out
    code, out, _ = cli(capsys, "show", str(run_dir), "--case", "c2", "--compare", "single,debate")
    assert code == 0 and "single on c2 in AB" in out and "debate on c2 in AB" in out and "compared" in out
    code, out, _ = cli(capsys, "show", str(run_dir), "--case", "c4", "-p", "single")
    assert "combined: tie   ✗ wrong (gold A)" in out and "orders: AB → A, BA → B  (order flip)" in out


def test_cli_exports(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    md = tmp_path / "out" / "case.md"
    code, _, err = cli(capsys, "show", str(run_dir), "--case", CASE.id, "-p", "jury", "--format", "markdown",
                       "-o", str(md))
    assert code == 0 and "wrote" in err
    assert md.read_text().startswith("# Case math-7 (math)") and "## jury · order AB" in md.read_text()
    code, out, _ = cli(capsys, "show", str(run_dir), "--case", CASE.id, "-p", "courtroom", "--format", "json")
    assert Record.model_validate_json(out).protocol == "courtroom"
    html = tmp_path / "case.html"
    cli(capsys, "show", str(run_dir), "--case", CASE.id, "--compare", "jury,courtroom", "-f", "html", "-o", str(html))
    assert "math_checker" in html.read_text() and "juror_3" in html.read_text()
    code, out, _ = cli(capsys, "show", str(run_dir), "--wrong", "single", "--format", "json")
    assert [r["id"] for r in json.loads(out)] == ["c2", "c4", "c5"]
    code, out, _ = cli(capsys, "show", str(run_dir), "--limit", "0", "--format", "markdown")
    assert out.splitlines()[0] == "| case | category | gold | single | debate | jury | courtroom |"
    txt = tmp_path / "table.txt"
    cli(capsys, "show", str(run_dir), "-o", str(txt))
    assert "c10" in listed(txt.read_text())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--case", "nope"], "no case 'nope' in this run; e.g. c1, c2"),
        (["--case", "c1", "-p", "panel"], "no records of protocol 'panel'"),
        (["--case", "c1", "-p", "jury"], "protocol 'jury' has no record of case 'c1'"),
        (["--where", "debate<single"], "expected PROTOCOL!=PROTOCOL"),
        (["--wrong", "panel"], "field 'wrong': no protocol 'panel' in this run"),
        (["--where", "debate!=panel"], "field 'where': no protocol 'panel' in this run"),
        (["--protocol", "panel"], "field 'protocol': no protocol 'panel' in this run"),
        (["--compare", "single,debate"], "--compare needs --case"),
        (["--format", "html"], "--format html needs --case"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                          message: str) -> None:
    code, _, err = cli(capsys, "show", str(run_dir), *args)
    assert code == 2 and message in " ".join(err.split()) and "Traceback" not in err


def test_output_to_a_folder_is_one_line_and_exit_2(run_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for args in ([], ["--case", "c2"], ["--case", "c2", "-f", "markdown"]):
        code, out, err = cli(capsys, "show", str(run_dir), *args, "--output", str(tmp_path))
        assert code == 2 and out == "" and err.strip().count("\n") == 0
        assert f"{tmp_path}: field 'output': is a directory" in err


def test_a_case_shows_the_runs_first_protocol_after_a_resume_rewrote_it(run_dir: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    with RunStore(run_dir, create=False) as store:
        store.write_manifest({"config": {"protocols": {"single": {}, "debate": {}, "jury": {}, "courtroom": {}}}})
        retried = next(r for r in store.records("single") if r.case_id == "c2")
        store.write(retried)  # as a resume does: its row is now the newest
    with Run(run_dir) as run:
        assert list(run.records("c2")) == ["single", "debate"]
    code, out, _ = cli(capsys, "show", str(run_dir), "--case", "c2")
    assert code == 0 and "single on c2 in AB" in out and "debate on c2" not in out


def test_not_a_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "show", str(tmp_path))
    assert code == 2 and "not a courtgraph run" in err
    (tmp_path / "run.db").write_text("not a database\n" * 100)
    for command in ("show", "report"):
        code, _, err = cli(capsys, command, str(tmp_path))
        assert code == 2 and f"{tmp_path / 'run.db'}: not a courtgraph run database" in err
        assert err.strip().count("\n") == 0


def test_plain_flag_strips_colours_even_on_a_terminal(run_dir: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then treats the captured stdout as a colour terminal
    monkeypatch.delenv("NO_COLOR", raising=False)
    _, coloured, _ = cli(capsys, "show", str(run_dir), "--case", CASE.id, "-p", "courtroom")
    _, plain_out, _ = cli(capsys, "show", str(run_dir), "--case", CASE.id, "-p", "courtroom", "--plain")
    assert "\x1b[" in coloured and "\x1b" not in plain_out
    assert strip_ansi(coloured) == strip_ansi(plain_out)  # the same text, only the colours differ


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_a_filter_that_matches_nothing_renders_an_empty_table(run_dir: Path) -> None:
    table = case_table([], ["single", "debate"])
    assert "single" in plain(table, 80) and "debate" in plain(table, 80)


def test_the_tables_outline_is_a_part_of_the_record() -> None:
    # the case table decodes records through these outlines: a field renamed or retyped in the schema
    # must fail here, not leave the table blank
    from courtgraph.schema import Case, TrialResult
    from courtgraph.view.runs import CaseOutline, RecordOutline, TrialOutline

    pairs = ((RecordOutline, Record), (TrialOutline, TrialResult), (CaseOutline, Case))
    for outline, model in pairs:
        for name, part in outline.model_fields.items():
            assert name in model.model_fields, f"{model.__name__} has no field {name!r}"
            expected = model.model_fields[name].annotation
            if (outline, name) == (RecordOutline, "trials"):
                assert expected == list[TrialResult]
            else:
                assert part.annotation == expected, f"{outline.__name__}.{name}"

"""The run store: records and cases round-trip, each write is committed, filters, manifest, export."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from courtgraph.errors import InputError
from courtgraph.evals.store import RunStore
from courtgraph.schema import Case, Record, TrialResult, Turn, Usage, Verdict


def make_case(i: int, category: str = "math") -> Case:
    return Case(id=f"c{i}", question=f"What is {i} + {i}?", candidates=[str(2 * i), str(2 * i + 1)],
                label="A", category=category)


def make_record(case: Case, protocol: str, *, winner: str = "A", error: str | None = None) -> Record:
    verdict = Verdict.failed(error) if error else Verdict(winner=winner, rationale="because")
    turn = Turn(role="judge", agent="judge", content=f"[[{winner}]]", usage=Usage(calls=1, input_tokens=10,
                                                                                output_tokens=3, cost_usd=0.001))
    trials = [TrialResult(order="AB", verdict=verdict, turns=[turn], usage=turn.usage, error=error)]
    return Record(case_id=case.id, protocol=protocol, category=case.category, label=case.label, trials=trials,
                  verdict=verdict, correct=None if error else winner == case.label, error=error,
                  usage=turn.usage, templates_used={"judge_pairwise": "abc"})


def test_records_and_cases_round_trip(tmp_path: Path) -> None:
    cases = [make_case(i, "math" if i % 2 else "logic") for i in range(4)]
    with RunStore(tmp_path / "run") as store:
        store.put_cases(cases)
        written = [make_record(c, p, winner="A" if i % 3 else "B") for i, c in enumerate(cases)
                   for p in ("single", "jury")]
        for r in written:
            store.write(r)
    with RunStore(tmp_path / "run", create=False) as store:
        assert list(store.cases().values()) == cases
        assert store.records() == sorted(written, key=lambda r: int(r.case_id[1:]))
        assert store.protocols() == ["single", "jury"]
        assert [r.case_id for r in store.records("jury")] == ["c0", "c1", "c2", "c3"]
        assert store.done() == {(c.id, p) for c in cases for p in ("single", "jury")}


def test_each_write_is_committed_and_visible_to_another_connection(tmp_path: Path) -> None:
    case = make_case(1)
    store = RunStore(tmp_path)
    store.put_cases([case])
    store.write(make_record(case, "single"))
    # a reader that opens the file now (as `courtgraph report` would during a run) sees the record
    rows = sqlite3.connect(tmp_path / "run.db").execute("SELECT case_id, protocol, correct FROM records").fetchall()
    assert rows == [("c1", "single", 1)]
    store.close()


def test_rewriting_a_record_replaces_it_and_failed_records_are_not_done(tmp_path: Path) -> None:
    case = make_case(1)
    with RunStore(tmp_path) as store:
        store.put_cases([case])
        store.write(make_record(case, "single", error="boom"))
        assert store.done() == set()  # a resumed run retries it
        assert store.records()[0].error == "boom"
        store.write(make_record(case, "single"))
        assert store.done() == {("c1", "single")}
        assert len(store.records()) == 1


def test_a_thousand_records_read_back_filtered(tmp_path: Path) -> None:
    cases = [make_case(i, f"cat{i % 4}") for i in range(1000)]
    with RunStore(tmp_path) as store:
        store.put_cases(cases)
        for i, c in enumerate(cases):
            store.write(make_record(c, "single" if i % 4 else "jury"))
    with RunStore(tmp_path, create=False) as store:
        assert len(store.records()) == 1000
        assert [r.case_id for r in store.records("jury")] == [f"c{i}" for i in range(0, 1000, 4)]
        assert len(store.done()) == 1000


def test_manifest_keeps_created_and_updates_updated(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        assert store.manifest() == {}
        store.write_manifest({"seed": 3, "created": "ignored", "updated": "ignored"})
        first = store.manifest()
        assert first["seed"] == 3 and first["created"] != "ignored"
        (tmp_path / "manifest.json").write_text(json.dumps({**first, "created": "2020-01-01T00:00:00+00:00"}))
        store.write_manifest({"seed": 4})
        assert store.manifest()["created"] == "2020-01-01T00:00:00+00:00"
        assert store.manifest()["seed"] == 4


def test_export_jsonl(tmp_path: Path) -> None:
    cases = [make_case(i) for i in range(3)]
    with RunStore(tmp_path) as store:
        store.put_cases(cases)
        for c in cases:
            store.write(make_record(c, "single"))
        path = store.export_jsonl()
    lines = path.read_text().splitlines()
    assert path == tmp_path / "records.jsonl"
    assert [Record.model_validate_json(line).case_id for line in lines] == ["c0", "c1", "c2"]


def test_template_hashes_seen_in_stored_records(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        store.put_cases([make_case(1)])
        store.write(make_record(make_case(1), "single"))
        assert store.template_hashes_seen() == {"judge_pairwise": {"abc"}}


def test_opening_a_folder_that_is_not_a_run_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a courtgraph run"):
        RunStore(tmp_path, create=False)
    with pytest.raises(InputError, match="no such directory"):
        RunStore(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("content", [b"records of a run, as text\n" * 200, b"\x00\xff" * 4096])
def test_a_run_db_that_is_not_sqlite_is_an_input_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "run.db").write_bytes(content)
    with pytest.raises(InputError, match="not a courtgraph run database") as err:
        RunStore(tmp_path, create=False)
    assert err.value.path == str(tmp_path / "run.db")


def test_an_sqlite_file_of_something_else_is_an_input_error(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "run.db") as other:
        other.execute("CREATE TABLE t (x)")
    other.close()
    with pytest.raises(InputError, match="not a courtgraph run database"):
        RunStore(tmp_path, create=False)


def test_one_writer_at_a_time_and_the_lock_is_released_on_close(tmp_path: Path) -> None:
    first = RunStore(tmp_path)
    first.lock()
    second = RunStore(tmp_path, create=False)
    with pytest.raises(InputError, match=f"another courtgraph run is writing to {tmp_path}"):
        second.lock()
    assert second.records() == []  # refused the lock, not the reading
    first.close()
    second.lock()
    second.close()


def test_another_process_holds_the_lock_until_it_is_killed(tmp_path: Path) -> None:
    RunStore(tmp_path).close()
    holder = ("import sys, time; from courtgraph.evals.store import RunStore; "
              "RunStore(sys.argv[1], create=False).lock(); print('locked', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", holder, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with RunStore(tmp_path, create=False) as store, pytest.raises(InputError, match="another courtgraph run"):
            store.lock()
    finally:
        proc.kill()  # SIGKILL: nothing of the holder's runs, the kernel drops its lock
        proc.wait(timeout=30)
    with RunStore(tmp_path, create=False) as store:
        store.lock()

"""Compact turns (schema 2): exact round trip, records without turns, version 1 runs still read, group commit."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import zlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from courtgraph.evals.packing import case_skeleton_of, pack, pack_case, skeleton_of
from courtgraph.evals.store import RunStore
from courtgraph.schema import Case, Record, TrialResult, Turn, Usage, Verdict

V1_RECORDS = """CREATE TABLE records (case_id TEXT NOT NULL, protocol TEXT NOT NULL, category TEXT, label TEXT,
winner TEXT, status TEXT NOT NULL, correct INTEGER, failed INTEGER NOT NULL, calls INTEGER NOT NULL,
tokens INTEGER NOT NULL, cost_usd REAL, latency_s REAL NOT NULL, error TEXT, written_at TEXT NOT NULL,
data TEXT NOT NULL, PRIMARY KEY (case_id, protocol));
CREATE TABLE cases (id TEXT PRIMARY KEY, position INTEGER NOT NULL, category TEXT, data TEXT NOT NULL);
PRAGMA user_version=1;"""


def jury_record(i: int) -> Record:
    """A jury-of-3 record with unicode, long and repeated text: what compression must give back exactly."""
    trials = []
    for order in ("AB", "BA"):
        turns = [Turn(role="juror", agent=f"juror_{j}", content=f"Réponse {i}: « A » is right. " * 40 + "✓",
                      model="sim:0.7", visible_to=[f"juror_{j}", "aggregator"],
                      usage=Usage(calls=1, input_tokens=2000 + j, output_tokens=40, cost_usd=0.0012),
                      latency_s=0.1234567 * j, verdict=Verdict(winner="A", confidence=0.75, rationale="r" * 300),
                      prompt="juror_jury", templates={"juror_jury": "a1226f02c4b1"}) for j in range(3)]
        trials.append(TrialResult(order=order, verdict=Verdict(winner="A" if order == "AB" else "B"), turns=turns,
                                  usage=Usage.total(t.usage for t in turns), latency_s=0.5))
    return Record(case_id=f"c{i}", protocol="jury", label="A", trials=trials, verdict=Verdict(winner="A"),
                  correct=True, usage=Usage.total(t.usage for t in trials), latency_s=1.0,
                  prompt_hashes={"juror_jury": "a1226f02c4b1"}, metadata={"note": "x"})


def test_round_trip_is_exact_and_turns_are_small(tmp_path: Path) -> None:
    written = [jury_record(i) for i in range(20)]
    with RunStore(tmp_path) as store:
        store.put_cases([Case(id=r.case_id, question="q", candidates=["a", "b"]) for r in written])
        for r in written:
            store.write(r)
    with RunStore(tmp_path, create=False) as store:
        assert store.records() == written
        assert store.record("c3", "jury") == written[3]
        assert store.case("c3") == Case(id="c3", question="q", candidates=["a", "b"])
        assert store.query("SELECT data FROM cases WHERE id = 'c3'") == [('{"id":"c3","label":null,"category":null,'
                                                                         '"metadata":{}}',)]
        assert store.case_records("c4") == {"jury": written[4]}
        light = store.records(whole=False)

        def skeleton(v: Verdict) -> Verdict:
            return v.model_copy(update={"rationale": Verdict().rationale, "raw": None, "votes": []})

        assert light == [w.model_copy(update={
            "verdict": skeleton(w.verdict),
            "trials": [t.model_copy(update={"turns": [], "verdict": skeleton(t.verdict)}) for t in w.trials]})
            for w in written]
        lines = store.export_jsonl().read_text(encoding="utf-8").splitlines()
        assert [Record.model_validate_json(line) for line in lines] == written
        data, packed = store.query("SELECT data, packed FROM records WHERE case_id = 'c0'")[0]
        assert len(data) + len(packed) < len(written[0].model_dump_json()) / 3
        # the verdict columns stay readable in SQL, as the viewer reads them
        assert store.query("SELECT json_extract(data, '$.trials[1].verdict.winner') FROM records LIMIT 1") == [("B",)]


def test_a_version_1_run_is_read_and_resumed(tmp_path: Path) -> None:
    old = jury_record(1)
    with sqlite3.connect(tmp_path / "run.db") as db:
        db.executescript(V1_RECORDS)
        db.execute("INSERT INTO records VALUES (?, ?, NULL, 'A', 'A', 'ok', 1, 0, 6, 100, 0.0, 1.0, NULL, 'now', ?)",
                   (old.case_id, old.protocol, old.model_dump_json()))
    with RunStore(tmp_path, create=False) as store:
        assert store.records() == [old]
        assert store.record("c1", "jury") == old
        assert store.cases() == {}
    with RunStore(tmp_path) as store:  # resuming adds the column; old and new rows read alike
        store.write(jury_record(2))
        assert store.records() == [old, jury_record(2)]
        assert json.loads(store.export_jsonl().read_text().splitlines()[0]) == json.loads(old.model_dump_json())


def test_records_written_in_one_loop_iteration_are_committed_at_its_end(tmp_path: Path) -> None:
    def committed() -> int:
        with sqlite3.connect(tmp_path / "run.db") as other:
            return int(other.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    async def scenario(store: RunStore) -> tuple[int, int]:
        for i in range(5):
            store.write(jury_record(i))
        before = committed()
        await asyncio.sleep(0)  # the iteration ends: the group commits
        return before, committed()

    with RunStore(tmp_path) as store:
        assert asyncio.run(scenario(store)) == (0, 5)


_FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1e-7, 3.3659998734947294e-05])
#: Free-form metadata: JSON's own types, and others JSON changes (tuples, number keys)
_METADATA = st.recursive(st.none() | st.booleans() | st.integers() | _FLOATS | st.text(max_size=5),
                         lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                         | st.dictionaries(st.text(max_size=3) | st.integers(0, 3), inner, max_size=3), max_leaves=8)
_TEXT = st.text(max_size=12)
_VERDICTS = st.builds(Verdict, winner=st.sampled_from(["A", "B", "tie", None]),
                      status=st.sampled_from(["ok", "invalid", "error"]), score=_FLOATS | st.none(),
                      scores=st.dictionaries(_TEXT, _FLOATS, max_size=2), confidence=_FLOATS | st.none(),
                      rationale=_TEXT, agent=_TEXT | st.none(), raw=_TEXT | st.none(), error=_TEXT | st.none(),
                      quorum=_TEXT | st.none(), votes=st.lists(st.builds(Verdict, rationale=_TEXT), max_size=2))
_USAGES = st.builds(Usage, calls=st.integers(0, 9), cost_usd=_FLOATS | st.none(), saved_usd=_FLOATS,
                    faults=st.dictionaries(_TEXT, st.integers(0, 3), max_size=2))
_TURNS = st.builds(Turn, role=_TEXT, agent=_TEXT, content=_TEXT, usage=_USAGES, latency_s=_FLOATS,
                   verdict=_VERDICTS | st.none())
_TRIALS = st.builds(TrialResult, order=st.sampled_from(["AB", "BA"]), verdict=_VERDICTS,
                    turns=st.lists(_TURNS, max_size=2), usage=_USAGES, latency_s=_FLOATS, error=_TEXT | st.none())
_RECORDS = st.builds(Record, case_id=_TEXT, protocol=_TEXT, category=_TEXT | st.none(),
                     label=st.sampled_from(["A", "B", "tie", None]) | _FLOATS | _TEXT,
                     trials=st.lists(_TRIALS, max_size=2), verdict=_VERDICTS, correct=st.booleans() | st.none(),
                     usage=_USAGES, latency_s=_FLOATS, templates_used=st.dictionaries(_TEXT, _TEXT, max_size=2),
                     metadata=st.dictionaries(_TEXT, _METADATA, max_size=2))


@settings(max_examples=300, deadline=None)
@given(_RECORDS)
def test_the_skeleton_is_the_whole_json_without_turns_and_verdict_text(record: Record) -> None:
    """pack() builds the skeleton from the record (without dumping and parsing its turns); it must be byte for
    byte what the definition gives from the record's whole JSON (floats JSON writes as null included)."""
    whole = record.model_dump_json()
    data, packed = pack(record)
    assert data == skeleton_of(whole)
    assert zlib.decompress(packed).decode() == whole
    assert pack(record, whole) == (data, packed)


@settings(max_examples=300, deadline=None)
@given(st.builds(Case, id=_TEXT, question=_TEXT, candidates=st.lists(_TEXT, min_size=1, max_size=2),
                 reference=_TEXT | st.none(), label=st.sampled_from(["A", "B", "tie", None]) | _FLOATS | _TEXT,
                 category=_TEXT | st.none(), metadata=st.dictionaries(_TEXT, _METADATA, max_size=3)))
def test_the_case_skeleton_is_the_whole_json_without_texts(case: Case) -> None:
    whole = case.model_dump_json()
    data, packed = pack_case(case)
    assert data == case_skeleton_of(whole)
    assert zlib.decompress(packed).decode() == whole


def test_metadata_whose_keys_collide_as_text_gets_the_definitions_skeleton() -> None:
    """``{0: x, "0": y}`` dumps as two members named "0"; the whole JSON means the last one (hypothesis found this
    example: pydantic's writer alone kept both in the skeleton)."""
    clash = {"": {"0": None, 0: 1}}
    record = Record(case_id="c", protocol="p", label="A", trials=[], verdict=Verdict(winner="A"), metadata=clash)
    data, _ = pack(record)
    assert data == skeleton_of(record.model_dump_json()) and json.loads(data)["metadata"] == {"": {"0": 1}}
    case = Case(id="c", question="q", candidates=["a", "b"], metadata={"k": [clash]})
    data, _ = pack_case(case)
    assert data == case_skeleton_of(case.model_dump_json()) and json.loads(data)["metadata"] == {"k": [{"": {"0": 1}}]}

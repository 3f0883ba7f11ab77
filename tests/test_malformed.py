"""A corpus of malformed inputs: each exits 2 with one line naming the file, line or field, no traceback,
and nothing half-written (no new run directory; an existing one unchanged).

Kinds: benchmark files, model specs, CLI arguments, run directories, manifests, caches, protocol files.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from courtgraph.cli import main

GOOD_ROW = {"question": "2+2?", "a": "4", "b": "5", "label": "A"}
MAP = "question=question,a=a,b=b,label=label"


@dataclass(frozen=True)
class Case:
    """One malformed input: ``setup(tmp)`` writes what it needs and returns the CLI args; ``names`` is what
    the one error line must contain (``{tmp}`` is replaced by the test's directory)."""

    name: str
    setup: Callable[[Path], list[str]]
    names: str


def jsonl(text: str, *extra: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        (tmp / "bench.jsonl").write_text(text, encoding="utf-8")
        return ["run", "-b", f"jsonl:{tmp / 'bench.jsonl'}", "--map", MAP, "-p", "single", "-m", "sim:0.7",
                "-o", str(tmp / "out"), *extra]
    return setup


def raw_file(data: bytes, name: str = "bench.jsonl") -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        (tmp / name).write_bytes(data)
        return ["run", "-b", f"jsonl:{tmp / name}", "--map", MAP, "-p", "single", "-m", "sim:0.7",
                "-o", str(tmp / "out")]
    return setup


def run_args(*extra: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        return ["run", "-b", "sample", "-p", "single", "-m", "sim:0.7", "-n", "2", "-o", str(tmp / "out"), *extra]
    return setup


def roles_file(text: str, *extra: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        (tmp / "roles.toml").write_text(text, encoding="utf-8")
        return [*run_args("--roles", str(tmp / "roles.toml"), *extra)(tmp)]
    return setup


def spec(option: str, value: str) -> Case:
    def setup(tmp: Path) -> list[str]:
        return ["run", "-b", "sample", "-p", "single,jury,debate", "-m", "sim:0.7", option, value,
                "-o", str(tmp / "out")]
    return Case(f"spec {option} {value}", setup, f"field '{option.lstrip('-')}'")


def judge_spec(value: str) -> Case:
    return Case(f"judge -m {value}", lambda tmp: ["judge", "-m", value, "-q", "q", "--a", "x", "--b", "y"],
                "field 'model'")


def protocol_file(source: str, func: str = "build") -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        (tmp / "proto.py").write_text(source)
        return ["run", "-b", "sample", "-p", f"{tmp / 'proto.py'}:{func}", "-m", "sim:0.7", "-o", str(tmp / "out")]
    return setup


def existing_run(damage: Callable[[Path], None], *command: str) -> Callable[[Path], list[str]]:
    """A finished small run, damaged, then opened with ``command`` (``{run}`` is its directory)."""
    def setup(tmp: Path) -> list[str]:
        run = tmp / "run"
        with pytest.raises(SystemExit) as done:
            main(["run", "-b", "sample", "-p", "single", "-m", "sim:0.7", "-n", "2", "-o", str(run)])
        assert done.value.code in (0, None)
        damage(run)
        return [part.replace("{run}", str(run)) for part in command]
    return setup


def write(relative: str, text: str | bytes) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        target = run / relative
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text)
    return damage


def db_sql(sql: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        con = sqlite3.connect(run / "run.db")
        con.execute(sql)
        con.commit()
        con.close()
    return damage


def bad_page(run: Path) -> None:
    db = run / "run.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    with db.open("r+b") as f:
        f.seek(4096)
        f.write(b"\xde\xad\xbe\xef" * 1024)


def manifest_edit(change: Callable[[dict[str, object]], object]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        path = run / "manifest.json"
        data = json.loads(path.read_text())
        path.write_text(json.dumps(change(data)))
    return damage


def _set(data: dict[str, object], key: str, value: object) -> dict[str, object]:
    data[key] = value
    return data


RESUME = ("run", "--resume", "-o", "{run}")
CORPUS: list[Case] = [
    # -- benchmark files ---------------------------------------------------------------------------
    Case("jsonl: not JSON", jsonl('{"question": "q", "a": "4"\n'), "bench.jsonl:1"),
    Case("jsonl: second line broken", jsonl(json.dumps(GOOD_ROW) + "\n{oops}\n"), "bench.jsonl:2"),
    Case("jsonl: an array row", jsonl("[1, 2]\n"), "field '[0]'"),  # a JSON array by content: item 0
    Case("jsonl: a string row", jsonl('"text"\n'), "bench.jsonl:1"),
    Case("jsonl: no question", jsonl(json.dumps({k: v for k, v in GOOD_ROW.items() if k != "question"}) + "\n"),
         "bench.jsonl:1"),
    Case("jsonl: no b", jsonl(json.dumps({k: v for k, v in GOOD_ROW.items() if k != "b"}) + "\n"), "bench.jsonl:1"),
    Case("jsonl: bad label", jsonl(json.dumps({**GOOD_ROW, "label": "Z"}) + "\n"), "bench.jsonl:1"),
    Case("jsonl: a list for a response", jsonl(json.dumps({**GOOD_ROW, "a": ["x"]}) + "\n"), "bench.jsonl:1"),
    Case("jsonl: a number for a label", jsonl(json.dumps({**GOOD_ROW, "label": 3}) + "\n"), "field 'label'"),
    Case("jsonl: question null", jsonl(json.dumps({**GOOD_ROW, "question": None}) + "\n"), "bench.jsonl:1"),
    Case("jsonl: empty", jsonl(""), "bench.jsonl"),
    Case("jsonl: blank lines only", jsonl("\n\n  \n"), "bench.jsonl"),
    Case("jsonl: not UTF-8", raw_file(b'{"question": "\xff\xfe"}\n'), "bench.jsonl"),
    Case("jsonl: binary garbage", raw_file(bytes(range(256)) * 4), "bench.jsonl"),
    Case("jsonl: a directory", lambda tmp: ["run", "-b", f"jsonl:{tmp}", "--map", MAP, "-p", "single", "-m",
                                            "sim:0.7", "-o", str(tmp / "out")], "{tmp}"),
    Case("jsonl: missing file", lambda tmp: ["run", "-b", f"jsonl:{tmp / 'none.jsonl'}", "--map", MAP, "-p",
                                             "single", "-m", "sim:0.7", "-o", str(tmp / "out")], "none.jsonl"),
    Case("jsonl: line separators then a broken line",
         jsonl(json.dumps({**GOOD_ROW, "question": "a\u2028b\u2029c\u0085d"}, ensure_ascii=False) + "\n{bad\n"),
         "bench.jsonl:2"),
    Case("jsonl: bad --map", jsonl(json.dumps(GOOD_ROW) + "\n", "--map", "question"), "field 'map'"),
    Case("jsonl: --map to a missing column", jsonl(json.dumps(GOOD_ROW) + "\n", "--map",
                                                   "question=nope,a=a,b=b"), "bench.jsonl:1"),
    Case("jsonl: bad --label-map", jsonl(json.dumps(GOOD_ROW) + "\n", "--label-map", "1"), "label"),
    Case("unknown benchmark", run_args("-b", "nope"), "field 'bench'"),
    Case("judgebench: missing file", lambda tmp: ["run", "-b", f"judgebench:{tmp / 'x.jsonl'}", "-p", "single",
                                                  "-m", "sim:0.7", "-o", str(tmp / "out")], "x.jsonl"),
    Case("judgebench: not JSON", lambda tmp: [*_write(tmp / "jb.jsonl", "{nope\n"), "run", "-b",
                                              f"judgebench:{tmp / 'jb.jsonl'}", "-p", "single", "-m", "sim:0.7",
                                              "-o", str(tmp / "out")][1:], "jb.jsonl:1"),
    Case("llmbar: not JSON", lambda tmp: [*_write(tmp / "lb.json", "{nope"), "run", "-b",
                                          f"llmbar:{tmp / 'lb.json'}", "-p", "single", "-m", "sim:0.7",
                                          "-o", str(tmp / "out")][1:], "lb.json"),
    Case("case file: not JSON", lambda tmp: [*_write(tmp / "case.json", "{"), "judge", "-m", "sim:0.7",
                                             "--case", str(tmp / "case.json")][1:], "case.json:1"),
    Case("case file: no candidates", lambda tmp: [*_write(tmp / "case.json", '{"question": "q"}'), "judge", "-m",
                                                  "sim:0.7", "--case", str(tmp / "case.json")][1:], "case.json"),
    # -- model specs -------------------------------------------------------------------------------
    spec("--judge", "openai:m@http://127.0.0.1:99999/v1"),
    spec("--judge", "openai:m@http://127.0.0.1:port/v1"),
    spec("--judge", "openai:m@http://:80/v1"),
    spec("--judge", "openai:m@http://127.0.0.1:8000/v1#key_env=1BAD"),
    spec("--judge", "openai:m@http://127.0.0.1:8000/v1#key_env=COURTGRAPH_TEST_UNSET_VAR"),
    spec("--judge", "openai:m#key_env=X"),
    spec("--judge", "openai:gpt-4o-mini"),
    spec("--judge", "anthropic:claude-haiku-4-5"),
    spec("--judge", "nope:model"),
    spec("--judge", "sim:0.7:bogus=1"),
    spec("--judge", "sim:2.5"),
    spec("--judge", "recorded:/no/such/file.jsonl"),
    spec("--model", "openai:m@http://127.0.0.1:0/v1"),
    spec("--jurors", "sim:0.7,openai:m@http://127.0.0.1:123456/v1"),
    spec("--jurors", "sim:0.7,sim:bad=1"),
    spec("--debaters", "sim:0.7:nope=2"),
    judge_spec("openai:m@https://example.com:70000/v1"),
    judge_spec("anthropic:m@http://[::1/v1"),
    judge_spec("scripted:"),
    # -- CLI arguments ------------------------------------------------------------------------------
    Case("no --bench", lambda tmp: ["run", "-p", "single", "-m", "sim:0.7", "-o", str(tmp / "out")],
         "field 'bench'"),
    Case("no --protocols", lambda tmp: ["run", "-b", "sample", "-m", "sim:0.7", "-o", str(tmp / "out")],
         "field 'protocols'"),
    Case("unknown protocol", run_args("-p", "single,nope"), "field 'protocols'"),
    Case("protocol twice", run_args("-p", "single,single"), "field 'protocols'"),
    Case("--param without a dot", run_args("--param", "rounds=2"), "field 'param'"),
    Case("--param unknown protocol", run_args("--param", "debate.rounds=2"), "field 'params'"),
    Case("--param unknown name", run_args("-p", "debate", "--param", "debate.round=2"), "field 'params'"),
    Case("--param bad value", run_args("-p", "debate", "--param", "debate.rounds=0"), "field 'params'"),
    Case("--concurrency 0", run_args("-c", "0"), "field 'concurrency'"),
    Case("--rpm 0", run_args("--rpm", "0"), "field 'rpm'"),
    Case("--tpm 0", run_args("--tpm", "0"), "field 'tpm'"),
    Case("--timeout -1", run_args("--timeout", "-1"), "field 'timeout'"),
    Case("--timeout 0", run_args("--timeout", "0"), "field 'timeout'"),
    Case("--max-retries -1", run_args("--max-retries", "-1"), "field 'max-retries'"),
    Case("--max-connections 0", run_args("--max-connections", "0"), "field 'max-connections'"),
    Case("judge: --rpm 0", lambda tmp: ["judge", "-m", "sim:0.7", "-q", "q", "--a", "x", "--b", "y", "--rpm", "0"],
         "field 'rpm'"),
    Case("roles file: endpoint rpm not a number", roles_file('[endpoints."http://127.0.0.1:9/v1"]\nrpm = "fast"\n'),
         'roles.toml: field \'endpoints."http://127.0.0.1:9/v1".rpm\''),
    Case("roles file: endpoint timeout negative", roles_file('[endpoints]\ntimeout = -3\n'),
         "roles.toml: field 'endpoints.timeout'"),
    Case("roles file: unknown endpoint setting", roles_file('[endpoints."http://127.0.0.1:9/v1"]\nspeed = 3\n'),
         'roles.toml: field \'endpoints."http://127.0.0.1:9/v1".speed\''),
    Case("roles file: endpoint no role uses", roles_file('[endpoints."http://127.0.0.1:9/v1"]\nrpm = 5\n'),
         'roles.toml: field \'endpoints."http://127.0.0.1:9/v1"\''),
    Case("roles file: endpoint key not a URL", roles_file('[endpoints."ftp://host/v1"]\nrpm = 5\n'),
         'roles.toml: field \'endpoints."ftp://host/v1"\''),
    Case("roles file: endpoint setting at the top", roles_file("max_connections = 4\n"),
         "roles.toml: field 'max_connections'"),
    Case("roles file: endpoint setting in a role", roles_file("[judge]\ntimeout = 5\n"),
         "roles.toml: field 'judge.timeout'"),
    Case("--watch unknown case", run_args("--watch", "nope"), "field 'watch'"),
    Case("--no-cache with --cache", lambda tmp: run_args("--no-cache", "--cache", str(tmp / "c.sqlite"))(tmp),
         "field 'cache'"),
    Case("--cache under a file", lambda tmp: [*_write(tmp / "afile", "x"), *run_args(
        "--cache", str(tmp / "afile" / "c.sqlite"))(tmp)][1:], "afile"),
    Case("--out is a file", lambda tmp: [*_write(tmp / "out", "x"), "run", "-b", "sample", "-p", "single", "-m",
                                         "sim:0.7", "-o", str(tmp / "out")][1:], "out"),
    Case("--out a non-run directory", lambda tmp: [*_write(tmp / "out" / "x.txt", "x"), "run", "-b", "sample",
                                                   "-p", "single", "-m", "sim:0.7", "-o", str(tmp / "out")][1:],
         "out"),
    Case("--resume with nothing to resume", lambda tmp: ["run", "--resume", "-o", str(tmp / "none")], "none"),
    Case("no model for a role", lambda tmp: ["run", "-b", "sample", "-p", "single", "-o", str(tmp / "out")],
         "--judge"),
    Case("judge: no question", lambda tmp: ["judge", "-m", "sim:0.7", "--a", "x"], "field 'question'"),
    Case("stub: --fault-rate 2", lambda tmp: ["stub", "--fault-rate", "2"], "field 'fault-rate'"),
    Case("stub: unknown fault", lambda tmp: ["stub", "--faults", "503,nope"], "field 'faults'"),
    Case("report: --baseline unknown", existing_run(lambda run: None, "report", "{run}", "--baseline", "nope"),
         "field 'baseline'"),
    Case("report: markdown into a missing folder", existing_run(lambda run: None, "report", "{run}",
                                                                "--markdown", "/no/such/dir/r.md"),
         "field 'markdown'"),
    Case("protocols show: bad format", lambda tmp: ["protocols", "show", "single", "--format", "svg"],
         "field 'format'"),
    # -- run directories ----------------------------------------------------------------------------
    Case("report: not a run", lambda tmp: ["report", str(tmp)], "{tmp}"),
    Case("report: no such directory", lambda tmp: ["report", str(tmp / "none")], "none"),
    Case("report: run.db is garbage", existing_run(write("run.db", b"garbage" * 1000), "report", "{run}"),
         "run.db"),
    Case("report: run.db has a damaged page", existing_run(bad_page, "report", "{run}"), "run.db"),
    Case("resume: run.db from another format", existing_run(db_sql("PRAGMA user_version=99"), *RESUME),
         "run.db"),
    Case("report: run.db from another format", existing_run(db_sql("PRAGMA user_version=99"), "report", "{run}"),
         "run.db"),
    Case("resume: run.db of another program", existing_run(db_sql("DROP TABLE records"), *RESUME), "run.db"),
    Case("resume: damaged run.db", existing_run(bad_page, *RESUME), "run.db"),
    # -- manifests ----------------------------------------------------------------------------------
    Case("resume: manifest not JSON", existing_run(write("manifest.json", "{not json"), *RESUME),
         "manifest.json:1"),
    Case("report: manifest not JSON", existing_run(write("manifest.json", "{not json"), "report", "{run}"),
         "manifest.json:1"),
    Case("resume: manifest a list", existing_run(write("manifest.json", "[1, 2]"), *RESUME), "manifest.json"),
    Case("resume: manifest config a string", existing_run(manifest_edit(lambda d: _set(d, "config", "x")),
                                                          *RESUME), "manifest.json"),
    Case("resume: manifest protocols a list", existing_run(
        manifest_edit(lambda d: _set(d, "config", {**d["config"], "protocols": ["single"]})), *RESUME),  # type: ignore[dict-item]
        "manifest.json"),
    Case("resume: manifest bench a number", existing_run(
        manifest_edit(lambda d: _set(d, "config", {**d["config"], "bench": 3})), *RESUME),  # type: ignore[dict-item]
        "manifest.json"),
    Case("resume: manifest not UTF-8", existing_run(write("manifest.json", b"\xff\xfe{}"), *RESUME),
         "manifest.json"),
    # -- protocol files -----------------------------------------------------------------------------
    Case("protocol file raises on import", protocol_file("raise RuntimeError('boom')\n"), "proto.py"),
    Case("protocol file syntax error", protocol_file("def build(:\n"), "proto.py"),
    Case("protocol file imports a missing module", protocol_file("import no_such_module_xyz\n"), "proto.py"),
    Case("protocol file: no such function", protocol_file("def other(roles): pass\n"), "proto.py"),
    Case("protocol file returns no graph", protocol_file("def build(roles, **p):\n    return 3\n"), "proto.py"),
    Case("protocol file raises when built", protocol_file("def build(roles, **p):\n    raise ValueError('no')\n"),
         "proto.py"),
    Case("protocol file missing", lambda tmp: ["run", "-b", "sample", "-p", f"{tmp / 'none.py'}:build", "-m",
                                               "sim:0.7", "-o", str(tmp / "out")], "none.py"),
]


def _write(path: Path, text: str) -> list[str]:
    """Write a file as a side effect of building an argument list (its one element is dropped by ``[1:]``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return [""]


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 60 and len({c.name for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_malformed_input_exits_2_with_one_line(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COURTGRAPH_TEST_UNSET_VAR", raising=False)
    args = case.setup(tmp_path)
    capsys.readouterr()
    before = _snapshot(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert exit_.value.code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err, err
    assert case.names.replace("{tmp}", str(tmp_path)) in lines[0], lines[0]
    assert _snapshot(tmp_path) == before  # nothing written, nothing changed
    assert not (tmp_path / "out" / "run.db").exists()

"""`courtgraph judge` as a user runs it: help, JSON output, bad input exits 2 with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from parts import case_text
from pydantic import BaseModel

from courtgraph.cli import main
from courtgraph.graphs import single
from courtgraph.models import Message, ModelError, ScriptedModel
from courtgraph.prompts import unfence
from courtgraph.testing import StubServer


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "courtgraph", *args], capture_output=True, text=True,
                          timeout=120)


def test_help_explains_itself() -> None:
    out = cli("--help")
    assert out.returncode == 0 and "judge" in out.stdout
    out = cli("judge", "--help")
    assert out.returncode == 0
    assert "--model" in out.stdout and "--case" in out.stdout and "Example" in out.stdout


def test_judge_json_record() -> None:
    out = cli("judge", "--model", "scripted:Checked: [[A]]", "-q", "2+2?", "--a", "4", "--b", "5", "--json")
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert [t["order"] for t in record["trials"]] == ["AB", "BA"]
    assert record["verdict"]["winner"] == "tie"  # "always A" in both orders is no preference


def test_judge_prints_transcript() -> None:
    out = cli("judge", "--model", "scripted:17*3 is 51. [[A]]", "-q", "17*3?", "--a", "51", "--b", "41",
              "--no-swap")
    assert out.returncode == 0, out.stderr
    assert "17*3 is 51." in out.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"question": "q"}', "candidates"),
        ('{"question": "q", "candidates": []}', "candidates"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_case_file_is_one_line_exit_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "case.json"
    path.write_text(content)
    out = cli("judge", "--model", "scripted:[[A]]", "--case", str(path))
    assert out.returncode == 2
    assert str(path) in out.stderr and message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) <= 2


def test_a_case_path_that_is_a_folder_or_not_utf8_is_one_line_exit_2(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    latin1 = tmp_path / "case.json"
    latin1.write_bytes('{"question": "café?", "candidates": ["oui", "non"]}'.encode("latin-1"))
    for path, message in ((tmp_path, "is a directory"), (latin1, "not UTF-8 text")):
        with pytest.raises(SystemExit) as exit_:
            main(["judge", "--model", "scripted:[[A]]", "--case", str(path)])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and f"{path}: {message}" in err and err.strip().count("\n") == 0


def test_one_failed_order_exits_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The other order still decides the case, but a judge that failed half the time is not a success."""
    import courtgraph.graphs

    def fails_in_ba(messages: list[Message], schema: type[BaseModel] | None) -> str | BaseException:
        shown_first = unfence(case_text(messages))["response_a"]
        return ModelError("upstream exploded", status=500) if shown_first == "5" else "[[A]]"

    monkeypatch.setattr(courtgraph.graphs, "single", lambda model, **kw: single(ScriptedModel(fails_in_ba), **kw))
    with pytest.raises(SystemExit) as exit_:
        main(["judge", "--model", "scripted:unused", "-q", "2+2?", "--a", "4", "--b", "5", "--json", "--no-cache"])
    record = json.loads(capsys.readouterr().out)
    assert record["verdict"]["status"] == "ok" and record["verdict"]["winner"] == "A"
    assert [t["verdict"]["status"] for t in record["trials"]] == ["ok", "error"]
    assert exit_.value.code == 1


def test_bad_model_spec_and_missing_input_exit_2() -> None:
    out = cli("judge", "--model", "nosuch:model", "-q", "q", "--a", "x")
    assert out.returncode == 2 and "unknown model spec" in out.stderr and "Traceback" not in out.stderr
    out = cli("judge", "--model", "scripted:[[A]]")
    assert out.returncode == 2 and "--question" in out.stderr


def test_missing_api_key_names_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    args = ["judge", "--model", "openai:gpt-4o-mini", "-q", "q", "--a", "x", "--b", "y"]
    out = subprocess.run([sys.executable, "-m", "courtgraph", *args], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 2 and "OPENAI_API_KEY" in out.stderr


def test_second_identical_judge_is_a_cache_hit(stub: StubServer, tmp_path: Path) -> None:
    env = {**os.environ, "OPENAI_API_KEY": "x", "COURTGRAPH_CACHE": str(tmp_path / "cache.sqlite")}
    args = ["judge", "--model", f"openai:gpt-4o-mini@{stub.openai_url}", "-q", "3+3?", "--a", "6", "--b", "7",
            "--json"]

    def usage() -> dict[str, float]:
        out = subprocess.run([sys.executable, "-m", "courtgraph", *args], capture_output=True, text=True, env=env,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["usage"]  # type: ignore[no-any-return]

    first = usage()
    assert first["calls"] == 2 and stub.requests == 2
    second = usage()
    assert stub.requests == 2  # no HTTP request the second time
    assert second["calls"] == 0 and second["cache_hits"] == 2
    assert second["cost_usd"] == 0 and second["saved_usd"] == first["cost_usd"]
    args.append("--no-cache")
    assert usage()["calls"] == 2 and stub.requests == 4


def test_parse_params() -> None:
    from courtgraph.cli import parse_params
    from courtgraph.errors import InputError

    assert parse_params(["debate.rounds=2", "jury.aggregate=strict", "debate.open=true"]) == {
        "debate": {"rounds": 2, "open": True}, "jury": {"aggregate": "strict"}}
    with pytest.raises(InputError, match=r"PROTOCOL\.NAME=VALUE"):
        parse_params(["rounds=2"])

"""Keys: never printed, stored or exported, and never sent to a server they were not meant for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courtgraph.models import ConfigError, ModelError, get_model
from courtgraph.models.endpoint import PLACEHOLDER_KEY
from courtgraph.models.retry import Failure, server_message
from courtgraph.models.secrets import MIN_PREFIX, REDACTED, SECRETS, redact
from courtgraph.testing import StubServer

PLANTED = "sk-planted-0123456789abcdefSECRET"
OFFICIAL = "sk-official-9876543210zyxwvuOFFICIAL"


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "courtgraph", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=180)


def _files_holding(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes hold ``needle`` or its first MIN_PREFIX characters."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if needle[:MIN_PREFIX].encode() in data:
                found.append(path)
    return found


def test_redact_removes_keys_and_their_prefixes() -> None:
    text = f"bad key {PLANTED}; truncated {PLANTED[:12]}...; short {PLANTED[:MIN_PREFIX - 1]}"
    out = redact(text, [PLANTED])
    assert PLANTED[:MIN_PREFIX] not in out
    assert out == f"bad key {REDACTED}; truncated {REDACTED}...; short {PLANTED[:MIN_PREFIX - 1]}"


@settings(max_examples=300)
@given(before=st.text(), after=st.text(), cut=st.integers(MIN_PREFIX, len(PLANTED)))
def test_no_prefix_of_a_key_survives_redaction(before: str, after: str, cut: int) -> None:
    out = redact(before + PLANTED[:cut] + after, [PLANTED])
    assert PLANTED[:MIN_PREFIX] not in out


def test_environment_keys_and_registered_keys_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_GATEWAY_API_KEY", PLANTED)
    assert PLANTED not in redact(f"x {PLANTED} y")
    monkeypatch.delenv("SOME_GATEWAY_API_KEY")
    assert PLANTED in redact(f"x {PLANTED} y")
    SECRETS.add(PLANTED)
    try:
        assert redact(f"x {PLANTED} y") == f"x {REDACTED} y"
    finally:
        SECRETS.clear()


def test_errors_built_from_bodies_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    assert PLANTED not in str(ModelError(f"401: invalid key {PLANTED}"))
    assert PLANTED not in Failure(f"said {PLANTED}").message
    assert PLANTED not in server_message({"error": {"message": f"bad key {PLANTED}"}})
    assert PLANTED not in server_message(f"raw body {PLANTED}")


async def test_a_custom_base_url_never_receives_the_official_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OFFICIAL)
    monkeypatch.setenv("ANTHROPIC_API_KEY", OFFICIAL)
    monkeypatch.setenv("MY_GATEWAY_KEY", PLANTED)
    with StubServer() as server:
        for spec in (f"openai:m@{server.openai_url}", f"anthropic:m@{server.anthropic_url}"):
            await get_model(spec).generate([{"role": "user", "content": "hi"}])
        await get_model(f"openai:m@{server.openai_url}#key_env=MY_GATEWAY_KEY").generate(
            [{"role": "user", "content": "hi again"}])
    seen = [" ".join(r.headers.values()) for r in server.log]
    assert all(OFFICIAL not in s for s in seen)
    assert f"Bearer {PLACEHOLDER_KEY}" in seen[0] and PLACEHOLDER_KEY in seen[1]
    assert f"Bearer {PLANTED}" in seen[2]


def test_key_env_errors_name_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"\$NOT_SET_ANYWHERE is not set"):
        get_model("openai:m@http://127.0.0.1:9/v1#key_env=NOT_SET_ANYWHERE")
    with pytest.raises(ConfigError, match="not an environment variable name"):
        get_model("openai:m@http://127.0.0.1:9/v1#key_env=1-bad")
    with pytest.raises(ConfigError, match="applies to a model with a base URL"):
        get_model("openai:m#key_env=X")


def test_a_planted_key_echoed_by_a_401_appears_in_no_file_and_no_output(tmp_path: Path) -> None:
    """The whole path as a user meets it: a run whose gateway echoes the key, its report and exports,
    and a --debug traceback whose message holds the key."""
    cache = tmp_path / "cache" / "responses.sqlite"
    env = {**os.environ, "COURTGRAPH_CACHE": str(cache), "MY_GATEWAY_KEY": PLANTED, "OPENAI_API_KEY": OFFICIAL}
    run_dir = tmp_path / "run"
    outputs: list[str] = []
    with StubServer(api_key="the-right-one", echo_key=True) as server:
        spec = f"openai:m@{server.openai_url}#key_env=MY_GATEWAY_KEY"
        done = _cli(["run", "-b", "sample", "-p", "single,jury", "-m", spec, "-n", "2", "-o", str(run_dir)],
                    env, tmp_path)
        outputs += [done.stdout, done.stderr]
        assert done.returncode == 1, done.stderr  # every call was refused: the records failed
    assert server.requests > 0
    for args in (["report", str(run_dir)], ["report", str(run_dir), "--json"],
                 ["report", str(run_dir), "--markdown", str(tmp_path / "exports" / "report.md")],
                 ["show", str(run_dir), "--format", "json"], ["show", str(run_dir), "--invalid"]):
        (tmp_path / "exports").mkdir(exist_ok=True)
        shown = _cli(args, env, tmp_path)
        outputs += [shown.stdout, shown.stderr]
    from courtgraph.evals import RunStore

    with RunStore(run_dir, create=False) as store:
        store.export_jsonl(tmp_path / "exports" / "records.jsonl")
        # the 401 body's echo is stored redacted (on the verdict, a trial or a member, as the run ended)
        assert any("[REDACTED]" in r.model_dump_json() for r in store.records())
    # a --debug traceback whose exception message holds the key
    boom = tmp_path / "boom.py"
    boom.write_text("import os\n\ndef build(roles, **params):\n"
                    "    raise RuntimeError('gateway said: bad key ' + os.environ['MY_GATEWAY_KEY'])\n")
    debug = _cli(["--debug", "protocols", "show", f"{boom}:build"], env, tmp_path)
    outputs += [debug.stdout, debug.stderr]
    assert "Traceback" in debug.stderr and "gateway said: bad key [REDACTED]" in debug.stderr
    plain = _cli(["protocols", "show", f"{boom}:build"], env, tmp_path)
    outputs += [plain.stdout, plain.stderr]
    assert not _files_holding(tmp_path, PLANTED) and not _files_holding(tmp_path, OFFICIAL)
    assert all(PLANTED[:MIN_PREFIX] not in text and OFFICIAL[:MIN_PREFIX] not in text for text in outputs)
    assert (run_dir / "run.db").is_file() and (tmp_path / "exports" / "records.jsonl").stat().st_size > 0


def test_a_key_set_after_redactions_began_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The keys are kept between redactions (every record is redacted), never past a change of the environment:
    a key set, changed or removed later counts from the next redaction on."""
    monkeypatch.delenv("LATE_GATEWAY_TOKEN", raising=False)
    text = f"x {PLANTED} y {OFFICIAL} z"
    assert redact(text) == text  # the list is built and kept
    monkeypatch.setenv("LATE_GATEWAY_TOKEN", PLANTED)
    assert redact(text) == f"x {REDACTED} y {OFFICIAL} z"
    monkeypatch.setenv("LATE_GATEWAY_TOKEN", OFFICIAL)  # same variables, another value
    assert redact(text) == f"x {PLANTED} y {REDACTED} z"
    monkeypatch.setenv("UNRELATED_SETTING", "on")  # not a credential: the keys stay the same
    assert redact(text) == f"x {PLANTED} y {REDACTED} z"
    monkeypatch.delenv("LATE_GATEWAY_TOKEN")
    assert redact(text) == text
    SECRETS.add(PLANTED)  # a key given in code after the list was built
    assert redact(text) == f"x {REDACTED} y {OFFICIAL} z"


def test_a_run_store_never_writes_a_key_set_after_its_first_record(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from courtgraph.evals import RunStore
    from courtgraph.schema import Record, Verdict

    monkeypatch.delenv("LATE_GATEWAY_API_KEY", raising=False)
    with RunStore(tmp_path / "run") as store:
        store.write(Record(case_id="c1", protocol="p", verdict=Verdict.failed(f"401: bad key {PLANTED}")))
        monkeypatch.setenv("LATE_GATEWAY_API_KEY", PLANTED)
        store.write(Record(case_id="c2", protocol="p", error=f"401: bad key {PLANTED}",
                           verdict=Verdict.failed(f"401: bad key {PLANTED}")))
        first, second = store.record("c1", "p"), store.record("c2", "p")
        assert first is not None and second is not None
        assert PLANTED in first.model_dump_json()  # not a key when it was written
        assert PLANTED[:MIN_PREFIX] not in second.model_dump_json()
        assert second.error == f"401: bad key {REDACTED}"
        raw = store.query("SELECT error, data FROM records WHERE case_id = 'c2'")[0]
        assert all(PLANTED[:MIN_PREFIX] not in str(column) for column in raw)

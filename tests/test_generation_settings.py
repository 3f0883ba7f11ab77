"""Generation settings per role, as the provider receives them (the loopback stub), in the cache key
and in the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from courtgraph.cli import main
from courtgraph.errors import InputError
from courtgraph.evals import RunStore
from courtgraph.evals.settings import RoleSettings, apply_settings, load_roles_file
from courtgraph.graphs.registry import Roles
from courtgraph.models import GenerateParams, get_model
from courtgraph.models.openai import OpenAIModel
from courtgraph.models.params import parse_assignments, with_settings
from courtgraph.testing import StubServer


def cli_run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "-b", "sample", *args])
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def bodies(stub: StubServer, model: str) -> list[dict[str, Any]]:
    return [r.body for r in stub.log if r.model == model]


def test_per_role_settings_reach_the_request_bodies(stub: StubServer, capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    url = stub.openai_url
    code, _, err = cli_run(capsys, "-p", "single,debate", "--cases", "math-mul", "--no-cache",
                           "--judge", f"openai:the-judge@{url}", "--debaters", f"openai:the-debater@{url}",
                           "--temperature", "0.3", "--max-tokens", "300", "--judge-args", "temperature=0",
                           "-M", "top_p=0.9", "-M", "logprobs=true", "-o", str(tmp_path / "r"))
    assert code == 0, err
    judge, debater = bodies(stub, "the-judge"), bodies(stub, "the-debater")
    assert judge and debater
    for body in judge:
        assert (body["temperature"], body["max_tokens"], body["top_p"], body["logprobs"]) == (0, 300, 0.9, True)
    for body in debater:
        assert (body["temperature"], body["max_tokens"], body["top_p"], body["logprobs"]) == (0.3, 300, 0.9, True)
    with RunStore(tmp_path / "r", create=False) as store:
        recorded = store.manifest()["config"]["settings"]
    assert recorded == {"all": {"temperature": 0.3, "max_tokens": 300, "top_p": 0.9, "logprobs": True},
                        "roles": {"judge": {"temperature": 0}}}


def test_reasoning_models_get_effort_and_max_completion_tokens_but_no_temperature(
        stub: StubServer, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the stub plays api.openai.com: the official URL's rules apply
    monkeypatch.setattr(OpenAIModel, "default_base_url", stub.openai_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    code, _, err = cli_run(capsys, "-p", "single", "--cases", "math-mul", "--no-cache", "-m", "openai:o3-mini",
                           "--reasoning-effort", "low", "--max-tokens", "500", "--temperature", "0.5",
                           "--stop", "END", "-o", str(tmp_path / "r"))
    assert code == 0, err
    sent = bodies(stub, "o3-mini")
    assert len(sent) == 2  # both orders
    for body in sent:
        assert body["reasoning_effort"] == "low" and body["max_completion_tokens"] == 500
        assert "temperature" not in body and "max_tokens" not in body and body["stop"] == ["END"]


def test_the_cache_separates_runs_that_differ_only_in_settings(stub: StubServer, capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    cache = str(tmp_path / "cache.sqlite")
    base = ("-p", "single", "--cases", "math-mul", "-m", f"openai:m@{stub.openai_url}", "--cache", cache)
    counts = []
    for i, extra in enumerate([(), ("--temperature", "0.3"), ("--judge-args", "top_p=0.5"),
                               ("-M", "seed=7"), ("--temperature", "0.3"), ()]):
        code, _, err = cli_run(capsys, *base, *extra, "-o", str(tmp_path / f"r{i}"))
        assert code == 0, err
        counts.append(stub.requests)
    assert counts == [2, 4, 6, 8, 8, 8]  # four distinct settings paid once each; repeats come from the cache


def test_anthropic_gets_stop_sequences_and_refuses_reasoning_effort(stub: StubServer,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:
    spec = f"anthropic:claude-x@{stub.anthropic_url}"
    code, _, err = cli_run(capsys, "-p", "single", "--cases", "math-mul", "--no-cache", "-m", spec,
                           "--stop", "END", "--max-tokens", "99", "-o", str(tmp_path / "r"))
    assert code == 0, err
    for body in bodies(stub, "claude-x"):
        assert body["stop_sequences"] == ["END"] and body["max_tokens"] == 99 and "temperature" not in body
    code, _, err = cli_run(capsys, "-p", "single", "--cases", "math-mul", "--no-cache", "-m", spec,
                           "--reasoning-effort", "low", "-o", str(tmp_path / "r2"))
    assert code == 1 and "reasoning_effort is OpenAI's setting" in " ".join(err.split())


def test_resume_keeps_the_settings_and_refuses_others(stub: StubServer, capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    out = str(tmp_path / "r")
    spec = f"openai:m@{stub.openai_url}"
    assert cli_run(capsys, "-p", "single", "--limit", "1", "-m", spec, "--temperature", "0.4", "-o", out)[0] == 0
    code, _, err = cli_run(capsys, "--resume", "-o", out, "--limit", "2")
    assert code == 0, err
    assert {b["temperature"] for b in bodies(stub, "m")} == {0.4}
    code, _, err = cli_run(capsys, "--resume", "-o", out, "--temperature", "0.9")
    assert code == 2 and "its settings was" in err


def test_roles_file(tmp_path: Path) -> None:
    path = tmp_path / "roles.toml"
    path.write_text('temperature = 0.2\nmodel = "sim:0.7"\n[judge]\nmodel = "sim:0.9"\ntemperature = 0\n'
                    '[juror]\nmodels = ["sim:0.6", "sim:0.8"]\nmax_tokens = 100\n[consultant]\ntop_p = 0.5\n',
                    encoding="utf-8")
    models, settings = load_roles_file(path)
    assert models == {"model": "sim:0.7", "judge": "sim:0.9", "jurors": ["sim:0.6", "sim:0.8"]}
    roles = apply_settings(Roles(**models), settings)
    assert get_model(roles.get("judge")).params.temperature == 0
    assert [get_model(m).params.max_tokens for m in roles.jurors] == [100, 100]
    assert get_model(roles.jurors[0]).params.temperature == 0.2
    assert get_model(roles.get("consultant")).params.top_p == 0.5
    assert get_model(roles.get("debater")).params == GenerateParams(temperature=0.2)
    bad = tmp_path / "bad.toml"
    bad.write_text("[jduge]\ntemperature = 0\n", encoding="utf-8")
    with pytest.raises(InputError, match="no role named 'jduge'") as info:
        load_roles_file(bad)
    assert str(bad) in str(info.value)


def test_bad_settings_are_input_errors() -> None:
    assert parse_assignments(["temperature=0,stop=a,b", "x=y"], option="M") == \
        {"temperature": 0, "stop": "a,b", "x": "y"}
    with pytest.raises(InputError, match="expected KEY=VALUE"):
        parse_assignments(["temperature"], option="judge-args")
    with pytest.raises(InputError, match=r"field 'judge-args'.*max_tokens"):
        RoleSettings(roles={"judge": {"max_tokens": "lots"}})
    assert with_settings(GenerateParams(), {"max_completion_tokens": 5, "stop": "x"}) == \
        GenerateParams(max_tokens=5, stop=("x",))


def test_default_settings_keep_the_old_cache_key() -> None:
    # caches written before the new fields existed keep hitting: unset fields stay out of the key
    assert GenerateParams().cache_fields() == {"temperature": 0.0, "max_tokens": 2048, "seed": None}
    assert "top_p" in GenerateParams(top_p=0.9).cache_fields()


def test_python_shorthand_for_settings(stub: StubServer, tmp_path: Path) -> None:
    from courtgraph.evals import run

    results = run("sample", ["single", "debate"], roles=Roles(judge=f"openai:j@{stub.openai_url}",
                                                           debaters=[f"openai:d@{stub.openai_url}"]),
                  out=tmp_path / "r", cache=None, progress=False, cases=["math-mul"],
                  settings={"temperature": 0.7, "judge": {"temperature": 0}})
    assert not results.failed
    assert {b["temperature"] for b in bodies(stub, "j")} == {0}
    assert {b["temperature"] for b in bodies(stub, "d")} == {0.7}


def test_judge_command_takes_the_settings(stub: StubServer, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["judge", "-m", f"openai:j@{stub.openai_url}", "-q", "2+2?", "--a", "4", "--b", "5", "--no-cache",
              "--temperature", "0.2", "-M", "top_p=0.5", "--json"])
    assert not exit_.value.code
    assert [(b["temperature"], b["top_p"]) for b in bodies(stub, "j")] == [(0.2, 0.5)] * 2

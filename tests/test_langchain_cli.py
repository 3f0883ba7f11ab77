"""LangChain models from the CLI (``langchain:PROVIDER:MODEL``), across event loops, and spec hints."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from courtgraph.cli import main
from courtgraph.evals import run
from courtgraph.graphs.registry import Roles
from courtgraph.models import ConfigError, ModelError, get_model
from courtgraph.models.endpoint import PLACEHOLDER_KEY
from courtgraph.models.hints import spec_hint
from courtgraph.models.langchain import LangChainModel
from courtgraph.models.limits import reset_endpoints
from courtgraph.testing import StubServer

pytest.importorskip("langchain.chat_models", reason="needs pip install 'courtgraph[langchain]'")
langchain_openai = pytest.importorskip("langchain_openai", reason="needs langchain-openai (test extra)")


def cli_run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "-b", "sample", *args])
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def test_cli_judges_through_langchain_within_the_endpoint_bound(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTGRAPH_MAX_CONCURRENCY", "2")
    reset_endpoints()
    with StubServer(latency=0.05) as stub:
        spec = f"langchain:openai:gpt-4o-mini@{stub.openai_url}"
        code, _, err = cli_run(capsys, "-p", "single,jury", "--sample", "6", "-m", spec, "--temperature", "0.3",
                               "-M", "top_p=0.8", "--cache", str(tmp_path / "c.sqlite"), "-o", str(tmp_path / "r"))
        assert code == 0, err
        # 6 cases x 2 orders x (1 judge + 3 jurors), never more than 2 at once although 8 trials run at a time
        assert stub.requests == 48 and stub.max_in_flight == 2
        assert {(r.body["temperature"], r.body["top_p"]) for r in stub.log} == {(0.3, 0.8)}
        assert all(r.model == "gpt-4o-mini" for r in stub.log)
        code, _, err = cli_run(capsys, "-p", "single,jury", "--sample", "6", "-m", spec, "--temperature", "0.3",
                               "-M", "top_p=0.8", "--cache", str(tmp_path / "c.sqlite"), "-o", str(tmp_path / "r2"))
        assert code == 0 and stub.requests == 48  # the second run is answered from the cache


def test_a_chatopenai_reused_in_three_runs_gives_three_complete_runs(tmp_path: Path) -> None:
    with StubServer() as stub:
        llm = langchain_openai.ChatOpenAI(model="gpt-4o-mini", base_url=stub.openai_url, api_key="x", max_retries=0)
        for i in range(3):
            results = run("sample", ["single"], roles=Roles(model=llm), out=tmp_path / f"r{i}", cache=None,
                          progress=False, sample=5, seed=i)
            assert len(results.records) == 5 and not results.failed, [r.error for r in results.failed]
        assert stub.requests == 3 * 5 * 2


def test_a_model_that_cannot_be_copied_fails_loudly_in_a_second_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    with StubServer() as stub:
        model = get_model(langchain_openai.ChatOpenAI(model="m", base_url=stub.openai_url, api_key="x"))
        assert isinstance(model, LangChainModel)

        def cannot(llm: object) -> object:
            raise TypeError("no copies")

        monkeypatch.setattr("courtgraph.models.langchain.rebuild", cannot)
        messages = [{"role": "user", "content": "hi"}]
        first = asyncio.run(model.generate(messages))  # type: ignore[arg-type]
        assert first.text
        with pytest.raises(ConfigError, match="cannot be copied for a new event loop"):
            asyncio.run(model.generate(messages))  # type: ignore[arg-type]


def test_langchain_spec_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="langchain-google-genai"):
        get_model("langchain:google_genai:gemini-2.0-flash")
    with pytest.raises(ConfigError, match="api_key_env=NO_SUCH_KEY"):
        from courtgraph.models.params import bind_settings

        model = bind_settings("langchain:openai:m@http://127.0.0.1:9/v1", {"api_key_env": "NO_SUCH_KEY"})
        asyncio.run(model.generate([{"role": "user", "content": "x"}]))


def test_a_langchain_failure_is_a_model_error() -> None:
    from courtgraph.models.params import bind_settings

    # nothing listens there; -M max_retries=0 reaches the LangChain model's constructor
    model = bind_settings("langchain:openai:m@http://127.0.0.1:9/v1", {"max_retries": 0})
    with pytest.raises(ModelError, match=r"^langchain:openai:m@http://127\.0\.0\.1:9/v1: \w*ConnectionError"):
        asyncio.run(model.generate([{"role": "user", "content": "x"}]))


@pytest.mark.parametrize(("spec", "meant"), [
    ("openai/gpt-4o", "openai:gpt-4o"),
    ("anthropic/claude-3-5-haiku-latest", "anthropic:claude-3-5-haiku-latest"),
    ("gpt-4o", "openai:gpt-4o"),
    ("o3-mini", "openai:o3-mini"),
    ("claude-3-5-haiku-latest", "anthropic:claude-3-5-haiku-latest"),
    ("google_genai:gemini-2.0-flash", "langchain:google_genai:gemini-2.0-flash"),
    ("bedrock:anthropic.claude-3", "langchain:bedrock:anthropic.claude-3"),
    ("ollama:llama3", "langchain:ollama:llama3"),
    ("gemini-2.0-flash", "langchain:google_genai:gemini-2.0-flash"),
])
def test_unknown_specs_get_a_hint(spec: str, meant: str) -> None:
    assert f"did you mean `{meant}`?" in (spec_hint(spec) or "")
    with pytest.raises(ConfigError, match=f"did you mean `{meant}`"):
        get_model(spec)


def test_the_cli_names_the_option_that_carried_the_spec(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = cli_run(capsys, "-p", "single", "-m", "sim:0.7", "--judge", "openai/gpt-4o", "-o",
                           str(tmp_path / "r"))
    assert code == 2 and "--judge: unknown model spec 'openai/gpt-4o': did you mean `openai:gpt-4o`?" in err
    code, _, err = cli_run(capsys, "-p", "jury", "-m", "sim:0.7", "--juror", "sim:0.6", "--juror", "gpt-4o", "-o",
                           str(tmp_path / "r"))
    assert code == 2 and "--jurors/--juror: unknown model spec" in err
    assert spec_hint("totally-unknown") is None


def test_a_base_url_from_model_args_never_gets_the_official_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from courtgraph.models.params import bind_settings

    monkeypatch.setenv("OPENAI_API_KEY", "sk-official")
    with StubServer() as stub:
        model = bind_settings("langchain:openai:gpt-4o-mini", {"base_url": stub.openai_url})
        asyncio.run(model.generate([{"role": "user", "content": "x"}]))
        presented = {r.headers.get("authorization") for r in stub.log}
    assert presented == {f"Bearer {PLACEHOLDER_KEY}"}

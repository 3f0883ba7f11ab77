"""Endpoint settings (issue 11, item 3): --max-connections, --timeout, --max-retries, --rpm and --tpm, per
endpoint from a roles file, below them the environment; recorded in the manifest, kept by --resume, shown by
`courtgraph info`. Checked against the loopback stub: what it saw in flight, how many requests, and when."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from courtgraph.cli import main
from courtgraph.errors import InputError
from courtgraph.models import get_model
from courtgraph.models.connections import EndpointLimits, EndpointSettings, use_endpoint_settings
from courtgraph.testing import StubRequest, StubServer
from courtgraph.testing.stub import default_responder
from courtgraph.testing.wire import words


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--display", "none"] if args[0] == "run" else list(args))
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def config(run: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((run / "manifest.json").read_text())["config"]
    return found


class Clocked:
    """A responder that notes when each request arrived at the stub (and its tokens, as the stub bills them)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, int]] = []
        self._lock = threading.Lock()

    def __call__(self, request: StubRequest) -> str | dict[str, Any]:
        answer = default_responder(request)
        tokens = words(request.text) + words(answer if isinstance(answer, str) else json.dumps(answer))
        with self._lock:
            self.seen.append((time.monotonic(), tokens))
        return answer

    def most_in_one_second(self, measure: str = "requests") -> int:
        """The most requests (or tokens) that arrived within any one second."""
        seen = sorted(self.seen)
        best = 0
        for i, (start, _) in enumerate(seen):
            inside = [t for at, t in seen[i:] if at < start + 1.0]
            best = max(best, len(inside) if measure == "requests" else sum(inside))
        return best


def test_max_connections_bounds_each_endpoint_below_the_runs_concurrency(capsys: pytest.CaptureFixture[str],
                                                                         tmp_path: Path) -> None:
    with StubServer(latency=0.05) as stub:
        code, _, err = cli(capsys, "run", "-b", "sample", "-p", "single,jury", "-m", f"openai:m@{stub.openai_url}",
                           "-n", "8", "-c", "16", "--max-connections", "3", "-o", str(tmp_path / "r"))
        assert code == 0, err
        assert stub.requests == 8 * 2 * 4 and stub.max_in_flight == 3
    in_force = config(tmp_path / "r")["endpoints"]["in_force"]
    assert [v["max_connections"] for v in in_force.values()] == [3]
    assert config(tmp_path / "r")["concurrency"] == 16


def test_a_roles_file_gives_each_endpoint_its_own_bound_over_the_flag(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path) -> None:
    with StubServer(latency=0.05) as one, StubServer(latency=0.05) as two:
        roles = tmp_path / "roles.toml"
        roles.write_text(f'[endpoints."{one.openai_url}/"]\nmax_connections = 2\n\n'
                         f'[endpoints."openai@{two.openai_url}"]\nmax_connections = 5\n', encoding="utf-8")
        juror = f"openai:j@{two.openai_url}"
        code, _, err = cli(capsys, "run", "-b", "sample", "-p", "single,jury", "-m", f"openai:m@{one.openai_url}",
                           "--jurors", f"{juror},{juror},{juror}", "-n", "10", "-c", "16", "--max-connections", "1",
                           "--roles", str(roles), "-o", str(tmp_path / "r"))
        assert code == 0, err
        assert (one.requests, two.requests) == (20, 60)
        assert (one.max_in_flight, two.max_in_flight) == (2, 5)  # each its own entry, not the flag's 1
    in_force = config(tmp_path / "r")["endpoints"]["in_force"]
    assert {k: v["max_connections"] for k, v in in_force.items()} == {
        f"openai@{one.openai_url}": 2, f"openai@{two.openai_url}": 5}


def test_rpm_paces_requests(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    clocked = Clocked()
    with StubServer(clocked) as stub:
        code, _, err = cli(capsys, "run", "-b", "sample", "-p", "single", "-m", f"openai:m@{stub.openai_url}",
                           "-n", "5", "--rpm", "120", "-o", str(tmp_path / "r"))
        assert code == 0 and stub.requests == 10, err
    # 120 a minute is 2 a second, at most one second's worth at once: 4 in any second (5 allowing for jitter),
    # where unpaced all 10 arrive within a few milliseconds
    assert clocked.most_in_one_second() <= 5
    times = sorted(at for at, _ in clocked.seen)
    assert times[-1] - times[0] >= (10 - 2) / 2 * 0.9
    assert [v["rpm"] for v in config(tmp_path / "r")["endpoints"]["in_force"].values()] == [120]


def test_tpm_paces_tokens(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    clocked = Clocked()
    with StubServer(clocked) as stub:
        code, _, err = cli(capsys, "run", "-b", "sample", "-p", "single", "-m", f"openai:m@{stub.openai_url}",
                           "-n", "6", "--max-tokens", "40", "--tpm", "24000", "-o", str(tmp_path / "r"))
        assert code == 0 and stub.requests == 12, err
    total = sum(tokens for _, tokens in clocked.seen)
    # 400 tokens a second, holding one second's worth: in any second at most 400 + 400 and the one call that
    # went into debt (an estimate of under 400: prompt / 4 + --max-tokens); unpaced, all of them at once
    assert total > 2000 and clocked.most_in_one_second("tokens") <= 400 + 400 + 400
    times = sorted(at for at, _ in clocked.seen)
    assert times[-1] - times[0] >= (total - 400 - 400) / 400 * 0.9


def test_a_timeout_is_retried_max_retries_times_then_fails_naming_it(capsys: pytest.CaptureFixture[str],
                                                                     tmp_path: Path) -> None:
    with StubServer(latency=1.0) as stub:
        code, _, err = cli(capsys, "run", "-b", "sample", "-p", "single", "-m", f"openai:m@{stub.openai_url}",
                           "-n", "1", "--no-swap", "--timeout", "0.2", "--max-retries", "2",
                           "-o", str(tmp_path / "r"))
        assert stub.requests == 3  # the first attempt and two retries
    assert code == 1
    assert "gave up after 3 attempts" in err and "timed out after 0.2 s" in err, err
    settings = next(iter(config(tmp_path / "r")["endpoints"]["in_force"].values()))
    assert (settings["timeout"], settings["max_retries"]) == (0.2, 2)


def test_max_retries_0_makes_one_request_on_a_500(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with StubServer() as stub:
        stub.fault("500")
        code, _, err = cli(capsys, "run", "-b", "sample", "-p", "single", "-m", f"openai:m@{stub.openai_url}",
                           "-n", "1", "--no-swap", "--max-retries", "0", "-o", str(tmp_path / "none"))
        assert code == 1 and stub.requests == 1 and "500" in err, err
        stub.fault("500")  # the default retries it and succeeds
        code, _, err = cli(capsys, "run", "-b", "sample", "-p", "single", "-m", f"openai:m@{stub.openai_url}",
                           "-n", "1", "--no-swap", "--no-cache", "-o", str(tmp_path / "default"))
        assert code == 0 and stub.requests == 3, err


def test_resume_keeps_endpoint_settings_and_says_when_they_change(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:
    run = tmp_path / "r"
    with StubServer() as stub:
        model = f"openai:m@{stub.openai_url}"
        assert cli(capsys, "run", "-b", "sample", "-p", "single", "-m", model, "-n", "1", "--rpm", "6000",
                   "--timeout", "30", "-o", str(run))[0] == 0
        assert cli(capsys, "run", "--resume", "-o", str(run), "-n", "2")[0] == 0
        kept = config(run)["endpoints"]
        assert kept["settings"]["default"] == {"rpm": 6000, "timeout": 30}
        assert "changed on resume" not in (run / "run.log").read_text()
        code, _, err = cli(capsys, "run", "--resume", "-o", str(run), "-n", "3", "--rpm", "3000")
        assert code == 0
    now = config(run)["endpoints"]
    assert now["settings"]["default"] == {"rpm": 3000, "timeout": 30}  # the new flag over the stored settings
    assert [(v["rpm"], v["timeout"]) for v in now["in_force"].values()] == [(3000, 30)]
    said = ("endpoint settings changed on resume (they change no verdict): were timeout=30, rpm=6000, "
            "now timeout=30, rpm=3000")
    assert said in err and said in (run / "run.log").read_text()


def test_info_shows_each_endpoints_settings(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with StubServer() as stub:
        assert cli(capsys, "run", "-b", "sample", "-p", "single", "-m", f"openai:m@{stub.openai_url}", "-n", "1",
                   "--max-connections", "3", "--tpm", "90000", "-o", str(tmp_path / "r"))[0] == 0
    code, out, _ = cli(capsys, "info", str(tmp_path / "r"))
    assert code == 0
    out = " ".join(out.split())  # info wraps long lines with a hanging indent
    assert (f"endpoint openai@{stub.openai_url}: max_connections 3 · timeout 60 s · max_retries 3 · rpm none · "
            "tpm 90000") in out
    code, out, _ = cli(capsys, "info", str(tmp_path / "r"), "--json")
    assert json.loads(out)["endpoints"][f"openai@{stub.openai_url}"]["tpm"] == 90000


# -- precedence, without a server ---------------------------------------------------------------------


def test_precedence_entry_over_flag_over_file_table_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTGRAPH_TIMEOUT", "5")
    monkeypatch.setenv("COURTGRAPH_MAX_RETRIES", "1")
    url = "http://127.0.0.1:9/v1"
    model = get_model(f"openai:m@{url}")
    assert (model.timeout, model.retry.attempts) == (5, 2)  # type: ignore[attr-defined]
    settings = EndpointSettings(file_default=EndpointLimits(timeout=6, max_retries=4),
                                endpoints={"openai": EndpointLimits(max_retries=0),
                                           url: EndpointLimits(timeout=9)})
    with use_endpoint_settings(settings):
        assert (model.timeout, model.retry.attempts) == (9, 1)  # type: ignore[attr-defined]
    flags = EndpointSettings(default=EndpointLimits(timeout=7, max_retries=2), file_default=settings.file_default)
    with use_endpoint_settings(flags):
        assert (model.timeout, model.retry.attempts) == (7, 3)  # type: ignore[attr-defined]
    with use_endpoint_settings(EndpointSettings(file_default=settings.file_default)):
        assert (model.timeout, model.retry.attempts) == (6, 5)  # type: ignore[attr-defined]
    model.timeout = 3  # type: ignore[attr-defined]  # set on the model itself: above any run
    with use_endpoint_settings(settings):
        assert model.timeout == 3  # type: ignore[attr-defined]


def test_the_most_specific_endpoint_key_wins_field_by_field() -> None:
    settings = EndpointSettings(default=EndpointLimits(rpm=10, tpm=100), endpoints={
        "openai": EndpointLimits(rpm=20), "http://h/v1": EndpointLimits(rpm=30, max_connections=2),
        "openai@http://h/v1/": EndpointLimits(rpm=40)})
    assert settings.for_endpoint("openai", "http://h/v1") == EndpointLimits(rpm=40, tpm=100, max_connections=2)
    assert settings.for_endpoint("anthropic", "http://h/v1") == EndpointLimits(rpm=30, tpm=100, max_connections=2)
    assert settings.for_endpoint("openai", "http://other/v1") == EndpointLimits(rpm=20, tpm=100)
    assert settings.unused([("anthropic", "http://h/v1")]) == ["openai", "openai@http://h/v1/"]
    assert EndpointSettings.from_json(settings.to_json()) == settings


@pytest.mark.parametrize(("values", "field"), [
    ({"rpm": 0}, "rpm"), ({"timeout": -1}, "timeout"), ({"max_retries": -1}, "max-retries"),
    ({"max_connections": 2.5}, "max-connections"), ({"tpm": "many"}, "tpm"), ({"rpm": True}, "rpm"),
])
def test_bad_values_name_their_option(values: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as bad:
        EndpointLimits.parse(values)
    assert bad.value.field == field


# -- every environment variable documented ------------------------------------------------------------


def environment_variables() -> set[str]:
    """The variables the package reads, found in its source: every COURTGRAPH_*, every name read through
    os.environ by a literal, and the tracing switches."""
    from courtgraph.models.tracing import TRACING_ENV

    package = Path(__file__).resolve().parents[1] / "courtgraph"
    source = "".join(p.read_text(encoding="utf-8") for p in package.rglob("*.py"))
    found = set(re.findall(r"COURTGRAPH_[A-Z_]+", source))
    found |= set(re.findall(r"os\.environ(?:\.get)?[(\[]\s*\"([A-Z][A-Z0-9_]*)\"", source))
    return found | set(TRACING_ENV)


def test_every_environment_variable_is_in_run_help_and_the_readme(capsys: pytest.CaptureFixture[str]) -> None:
    names = environment_variables()
    assert {"COURTGRAPH_TIMEOUT", "COURTGRAPH_MAX_CONCURRENCY", "COURTGRAPH_MAX_RETRIES", "COURTGRAPH_RPM",
            "COURTGRAPH_TPM", "COURTGRAPH_CACHE", "XDG_CACHE_HOME", "LANGSMITH_TRACING"} <= names
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    environment = readme[readme.index("## Environment"):]
    for args in (("run", "--help"), ("--help",)):
        code, out, _ = cli(capsys, *args)
        text = "".join(out.replace("│", " ").split())  # rich wraps the epilog: compare without spaces
        assert code == 0
        missing = sorted(n for n in names if n not in text)
        assert not missing, (args, missing)
    assert not sorted(n for n in names if f"`{n}`" not in environment)


@given(name=st.sampled_from(["max_connections", "timeout", "max_retries", "rpm", "tpm"]),
       value=st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                       st.booleans(), st.none(), st.lists(st.integers(), max_size=2)))
def test_any_value_is_a_valid_setting_or_an_input_error(name: str, value: Any) -> None:
    try:
        parsed = getattr(EndpointLimits.parse({name: value}), name)
    except InputError as exc:
        assert exc.field == name.replace("_", "-")
        return
    if value is None:
        assert parsed is None
        return
    assert isinstance(parsed, int | float) and not isinstance(parsed, bool) and parsed == parsed
    assert parsed != float("inf")
    assert parsed > 0 if name == "timeout" else parsed >= (0 if name == "max_retries" else 1)
    if name != "timeout":
        assert isinstance(parsed, int)


def test_python_runs_take_endpoint_settings(tmp_path: Path) -> None:
    from courtgraph import Roles
    from courtgraph.evals import run

    with StubServer() as stub:
        model = f"openai:m@{stub.openai_url}"
        results = run("sample", ["single"], out=tmp_path / "r", roles=Roles(model=model), limit=1, progress=False,
                      endpoints={"max_retries": 1, stub.openai_url: {"max_connections": 2}})
        assert not results.failed
        with pytest.raises(InputError, match="no model of this run uses this endpoint"):
            run("sample", ["single"], out=tmp_path / "bad", roles=Roles(model=model), limit=1, progress=False,
                endpoints={"http://127.0.0.1:9/v1": {"rpm": 5}})
    in_force = config(tmp_path / "r")["endpoints"]["in_force"][f"openai@{stub.openai_url}"]
    assert (in_force["max_connections"], in_force["max_retries"]) == (2, 1)
    assert not (tmp_path / "bad").exists()

"""Provenance in every report: two runs with different judges (two stub ports) say which judge, where
and with which settings, in markdown, the terminal, JSON, ``courtgraph info`` and the plot; the base
URL from the environment is recorded, and a local server is not billed at OpenAI's prices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from courtgraph.cli import main
from courtgraph.evals import run
from courtgraph.evals.provenance import provenance_caption, read_provenance
from courtgraph.graphs.registry import Roles
from courtgraph.models import get_model
from courtgraph.models.pricing import set_price
from courtgraph.testing import StubServer


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path, str, str]:
    with StubServer() as one, StubServer() as two:
        first = tmp_path / "first"
        second = tmp_path / "second"
        for where, server, name in ((first, one, "gpt-4o"), (second, two, "claude-ish")):
            main_args = ["run", "-b", "sample", "-p", "single,jury", "--limit", "2", "--no-cache", "--display",
                         "none", "--judge", f"openai:{name}@{server.openai_url}", "-m", "sim:0.7",
                         "--param", "jury.n=2", "--out", str(where)]
            with pytest.raises(SystemExit) as done:
                main(main_args)
            assert done.value.code in (0, None)
        return first, second, one.openai_url, two.openai_url


def test_markdown_reports_name_models_urls_and_settings(two_runs: tuple[Path, Path, str, str], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    first, second, url1, url2 = two_runs
    texts = []
    for run_dir, name, url, other in ((first, "gpt-4o", url1, url2), (second, "claude-ish", url2, url1)):
        md = tmp_path / f"{run_dir.name}.md"
        code, out, _ = cli(capsys, "report", str(run_dir), "--markdown", str(md))
        assert code == 0
        text = md.read_text()
        texts.append(text)
        judge_row = next(ln for ln in text.splitlines() if ln.startswith("| single | defaults | judge"))
        cells = [c.strip() for c in judge_row.strip("|").split("|")]
        assert cells == ["single", "defaults", "judge", f"openai:{name}@{url}", url,
                         "temperature=0, max_tokens=2048"]
        assert other not in text
        jurors = [ln for ln in text.splitlines() if ln.startswith("| jury | n=2 | juror ")]
        assert [ln.split("|")[3].strip() for ln in jurors] == ["juror 1", "juror 2"]
        assert all("| sim:0.7 |" in ln for ln in jurors)
        sha = read_provenance(run_dir).bench["sha256"]
        assert sha and f"sha256 `{sha}`" in text and "judge_pairwise" in text and "langgraph" in text
        assert "finished" in text and "2 cases · limit 2" in text
        # the terminal report says it too
        assert f"judge: openai:{name}@{url}" in " ".join(out.split())
    assert texts[0] != texts[1]


def test_info_shows_and_json_carries_the_models(two_runs: tuple[Path, Path, str, str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    first, _, url1, _ = two_runs
    code, out, _ = cli(capsys, "info", str(first))
    assert code == 0
    assert max(len(ln) for ln in out.splitlines()) <= 80  # wrapped (hanging indent) in an 80-column terminal
    flat = " ".join(out.split())
    assert f"judge: openai:gpt-4o@{url1} (temperature=0, max_tokens=2048)" in flat
    assert "protocol jury: n=2" in flat and "juror 1, juror 2: sim:0.7" in flat
    assert "command: " + " ".join(" ".join(read_provenance(first).command).split()) in flat  # as it was given
    code, out, _ = cli(capsys, "info", str(first), "--json")
    data = json.loads(out)
    judge = data["protocols"]["single"]["models"]["judge"]
    assert judge == {"spec": f"openai:gpt-4o@{url1}", "provider": "openai", "model": "gpt-4o", "base_url": url1,
                     "settings": {"temperature": 0.0, "max_tokens": 2048, "seed": None}}
    assert data["protocols"]["jury"]["params"] == {"n": 2} and data["status"] == "finished"
    code, out, _ = cli(capsys, "report", str(first), "--json")
    assert json.loads(out)["provenance"]["protocols"]["single"]["models"]["judge"]["base_url"] == url1
    assert f"openai:gpt-4o@{url1}" in provenance_caption(read_provenance(first), width=500)


def test_base_url_from_the_environment_is_recorded(tmp_path: Path, stub: StubServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", stub.openai_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    results = run("sample", ["single"], roles=Roles(judge="openai:gpt-4o-mini"), out=tmp_path / "r", limit=2,
                  cache=None, progress=False)
    judge = read_provenance(results.run_dir).protocols["single"]["models"]["judge"]
    assert judge["spec"] == "openai:gpt-4o-mini" and judge["base_url"] == stub.openai_url
    # a local server is not billed at OpenAI's prices: the cost is unknown, not gpt-4o-mini's
    assert results.records[0].usage.calls > 0 and results.records[0].usage.cost_usd is None


def test_pricing_honours_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    official = get_model("openai:gpt-4o-mini")
    assert official.price(1_000_000, 0) == pytest.approx(0.15)
    local = get_model("openai:gpt-4o-mini@http://127.0.0.1:9/v1")
    assert local.price(1_000_000, 0) is None
    set_price("openai:gpt-4o-mini@http://127.0.0.1:9/v1", 0.0, 0.0)  # a price set for that server is used
    assert local.price(1_000_000, 1_000) == 0.0


def test_an_old_manifest_falls_back_to_the_roles(tmp_path: Path) -> None:
    from courtgraph.evals.provenance import provenance_from, provenance_lines

    manifest = {"config": {"bench": {"spec": "sample"}, "protocols": {"single": {"spec": "single", "params": {}}},
                           "roles": {"model": "openai:gpt-4o", "judge": None, "jurors": [], "debaters": [],
                                     "extra": {}}}, "status": "finished"}
    lines = provenance_lines(provenance_from(manifest, run_dir="old"))
    assert "  every role: openai:gpt-4o" in lines and lines[0].startswith("run old · id ? · ? · finished")


def test_the_plot_carries_the_caption(two_runs: tuple[Path, Path, str, str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from courtgraph.evals.report import report_run

    captions: list[str] = []
    original = Figure.supxlabel

    def spy(self: Figure, text: str, **kwargs: object) -> object:
        captions.append(text)
        return original(self, text, **kwargs)

    monkeypatch.setattr(Figure, "supxlabel", spy)
    first, _, url1, _ = two_runs
    report_run(first, plot_to=tmp_path / "p.png", console=None)
    assert (tmp_path / "p.png").stat().st_size > 0
    assert len(captions) == 1 and f"judge: openai:gpt-4o@{url1}" in captions[0] and "bench sample" in captions[0]


def test_resume_refuses_another_base_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The same spec through $OPENAI_BASE_URL at another server is another experiment: the cache and the
    prices depend on the server, so --resume names the role and both URLs and exits 2."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    out = tmp_path / "r"
    with StubServer() as one, StubServer() as two:
        args = ["run", "-b", "sample", "-p", "single", "--limit", "2", "--display", "none",
                "--judge", "openai:gpt-4o-mini", "--out", str(out)]
        monkeypatch.setenv("OPENAI_BASE_URL", one.openai_url)
        assert cli(capsys, *args)[0] == 0
        monkeypatch.setenv("OPENAI_BASE_URL", two.openai_url)
        code, _, err = cli(capsys, "run", "--resume", "--out", str(out), "--limit", "3", "--display", "none")
        assert code == 2 and "Traceback" not in err
        line = " ".join(err.split())
        assert f"single judge was called at {one.openai_url}, now at {two.openai_url}" in line
        assert read_provenance(out).records == 2  # nothing was added
        monkeypatch.setenv("OPENAI_BASE_URL", one.openai_url)  # the same server again: it goes on
        assert cli(capsys, "run", "--resume", "--out", str(out), "--limit", "3", "--display", "none")[0] == 0
        assert read_provenance(out).records == 3
        # a spec naming the other server explicitly is refused the same way (it changes the roles too)
        code, _, err = cli(capsys, *args[:-2], "--out", str(out), "--judge", f"openai:gpt-4o-mini@{two.openai_url}")
        assert code == 2 and "cannot resume" in err


def test_the_end_of_run_report_says_what_ran(tmp_path: Path, stub: StubServer,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The table printed at the end of ``courtgraph run`` carries the provenance ``courtgraph report`` prints:
    per protocol the models of each role with base URL and settings, the parameters, the benchmark with its
    hash and selection, template hashes, versions, date and status; within 80 columns."""
    import io

    from rich.console import Console

    out = tmp_path / "r"
    code, text, _ = cli(capsys, "run", "-b", "sample", "-p", "single,a_very_long_protocol=jury", "--limit", "2",
                        "--display", "none", "--judge", f"openai:gpt-4o@{stub.openai_url}", "-m", "sim:0.7",
                        "--param", "a_very_long_protocol.n=2", "--out", str(out))
    assert code == 0
    prov = read_provenance(out)
    flat = " ".join(text.split())
    assert f"judge: openai:gpt-4o@{stub.openai_url} (temperature=0, max_tokens=2048)" in flat
    assert "protocol a_very_long_protocol (jury): n=2" in flat and "juror 1, juror 2: sim:0.7" in flat
    assert f"sha256 {prov.bench['sha256'][:12]}" in flat and "2 cases · limit 2" in flat
    assert f"id {prov.run_id}" in flat and prov.date in flat and "finished" in flat
    assert "judge_pairwise" in flat and "langgraph" in flat
    results_console = io.StringIO()
    from courtgraph.evals import run

    results = run("sample", {"a_very_long_protocol": "single"}, roles=Roles(model="sim:0.7"), out=tmp_path / "s",
                  limit=2, cache=None, progress=False)
    results.report(Console(file=results_console, width=80, color_system=None))
    lines = results_console.getvalue().splitlines()
    assert max(len(ln) for ln in lines) <= 80
    assert "protocol a_very_long_protocol (single): defaults" in lines
    assert "  judge: sim:0.7 (temperature=0, max_tokens=2048)" in lines

"""Start-up (issue 10): what the CLI loads and builds before its work, and the collector in its own process.

No timings here (the machine is shared): each test checks the mechanism that makes start-up short.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from courtgraph.cli import app, command_app, main
from courtgraph.testing import StubServer

#: What reading a run or asking for help must never load: LangGraph (and langsmith through it) and the SDKs.
HEAVY = ("langgraph", "langsmith", "langchain_core", "openai", "anthropic")
ROOT = Path(__file__).resolve().parents[1]


def loaded_after(args: list[str]) -> list[str]:
    """The heavy packages a fresh interpreter holds after ``courtgraph ARGS`` (run in-process there)."""
    code = (f"import sys\nfrom courtgraph.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return list(json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"')))


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("startup") / "run"
    with pytest.raises(SystemExit) as done:
        main(["run", "-b", "sample", "-p", "single", "-n", "2", "-m", "sim:0.7", "--no-cache", "-o", str(out),
              "--display", "none"])
    assert done.value.code in (0, None)
    return out


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["protocols", "--help"]])
def test_help_loads_neither_langgraph_nor_an_sdk(args: list[str]) -> None:
    assert loaded_after(args) == []


def test_show_and_report_load_neither_langgraph_nor_an_sdk(sim_run: Path) -> None:
    assert loaded_after(["report", str(sim_run)]) == []
    assert loaded_after(["show", str(sim_run)]) == []


def test_a_run_command_is_parsed_by_an_app_of_that_command_alone() -> None:
    for args in (["run", "-b", "sample"], ["--debug", "run"], ["report", "runs/x"], ["demo"]):
        one = command_app(args)
        assert one is not app and len(one.registered_commands) == 1
        assert one.registered_callback is app.registered_callback  # --debug and --version still work
    for args in ([], ["--help"], ["protocols", "list"], ["nope"]):
        assert command_app(args) is app  # the whole app: its help, its groups, its "did you mean"


@pytest.mark.parametrize("command", ["run", "report", "judge", "runs"])
def test_a_command_alone_has_the_same_help_and_errors_as_in_the_whole_app(command: str) -> None:
    runner = CliRunner()
    for args in ([command, "--help"], [command, "--no-such-flag"]):
        whole, alone = runner.invoke(app, args), runner.invoke(command_app(args), args)
        assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)


def test_the_cli_called_in_process_leaves_the_callers_collector_alone(sim_run: Path) -> None:
    frozen = gc.get_freeze_count()
    with pytest.raises(SystemExit):
        main(["report", str(sim_run)])
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_its_own_process_judges_with_the_collector_on(tmp_path: Path) -> None:
    # start-up runs with the collector off; a run must judge with it on (and what start-up built frozen), or a
    # long run's reference cycles would never be collected
    code = f"""
import gc, sys
import courtgraph.evals.runner as runner
real = runner.judge_all
async def judge_all(*args, **kwargs):
    print("judging", gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr)
    return await real(*args, **kwargs)
runner.judge_all = judge_all
sys.argv = ["courtgraph", "run", "-b", "sample", "-p", "single", "-n", "2", "-m", "sim:0.7", "--no-cache",
            "-o", {str(tmp_path / "run")!r}, "--display", "none"]
from courtgraph.cli import main
main()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert "judging True True" in out.stderr


def test_what_a_process_writes_survives_its_frozen_exit(tmp_path: Path) -> None:
    # the process skips the collector's walk at exit: its records and cached answers must still be on disk
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with StubServer() as stub:
        for run in ("first", "again"):
            out = subprocess.run([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-n", "3",
                                  "-m", f"openai:judge@{stub.openai_url}", "--cache", str(tmp_path / "cache.sqlite"),
                                  "-o", str(tmp_path / run), "--display", "none"],
                                 capture_output=True, text=True, env=env)
            assert out.returncode == 0, out.stderr
            if run == "first":
                calls = len(stub.log)
        assert calls == 6  # 3 cases, both orders
        assert len(stub.log) == calls  # the second run was answered from the first one's cache
    manifest = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    out = subprocess.run([sys.executable, "-m", "courtgraph", "report", str(tmp_path / "again"), "--json"],
                         capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout)["protocols"]["single"]["n"] == 3

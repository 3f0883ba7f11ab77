"""Stopping on purpose: --cost-limit (and resuming past it), --fail-on-error / --max-errors, --dry-run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from courtgraph.cli import main
from courtgraph.evals import RunStore, load_bench
from courtgraph.models import get_model
from courtgraph.models.budget import Budget, BudgetExceeded, use_budget
from courtgraph.models.pricing import _TABLE, Price
from courtgraph.testing import StubServer

#: USD per million tokens: dear enough that a cent buys a handful of calls.
DEAR = Price(2.0, 2.0)

BROKEN = '''
from langgraph.graph import END, START, StateGraph

from courtgraph.graphs.state import TrialState


def explode(state):
    raise ZeroDivisionError("the custom protocol divided by zero")


def build(roles):
    g = StateGraph(TrialState)
    g.add_node("explode", explode)
    g.add_edge(START, "explode")
    g.add_edge("explode", END)
    return g.compile(name="broken")
'''


def cli_run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "-b", "sample", *args])
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def stored(run_dir: Path) -> tuple[int, float, str]:
    with RunStore(run_dir, create=False) as store:
        records = store.records()
        return len(records), sum(r.usage.cost_usd or 0.0 for r in records), store.manifest()["status"]


def test_cost_limit_stops_before_the_limit_and_resume_finishes(stub: StubServer, capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_TABLE, f"openai:dear-model@{stub.openai_url}", DEAR)  # priced at this server only
    out = tmp_path / "r"
    args = ("-p", "single", "-m", f"openai:dear-model@{stub.openai_url}", "--max-tokens", "40", "-o", str(out))
    code, _, err = cli_run(capsys, *args, "--cost-limit", "0.01")
    assert code == 1 and "cost limit $0.01 reached" in " ".join(err.split())
    done, spent, status = stored(out)
    total = len(load_bench("sample").cases)
    assert 0 < done < total and status == "stopped"
    assert spent <= 0.01  # never past the limit: each call held its worst case first
    code, _, err = cli_run(capsys, "--resume", "-o", str(out), "--cost-limit", "1")
    assert code == 0, err
    done, spent, status = stored(out)
    assert done == total and status == "finished" and spent <= 1
    # every call made once: the calls of records cut short come back from the response cache
    assert stub.requests == 2 * total


def test_unknown_prices_refuse_unless_allowed(stub: StubServer, capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    args = ("-p", "single", "--limit", "2", "-m", f"openai:no-price@{stub.openai_url}", "--cost-limit", "5")
    code, _, err = cli_run(capsys, *args, "-o", str(tmp_path / "a"))
    assert code == 1 and stub.requests == 0 and stored(tmp_path / "a")[0] == 0
    assert "openai:no-price" in err and "price is unknown" in err and "--allow-unknown-cost" in err
    code, _, err = cli_run(capsys, *args, "--allow-unknown-cost", "-o", str(tmp_path / "b"))
    assert code == 0, err
    assert stub.requests == 4


def test_budget_reservations_never_overshoot(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_TABLE, f"openai:dear-model@{stub.openai_url}", DEAR)  # priced at this server only
    model = get_model(f"openai:dear-model@{stub.openai_url}")
    budget = Budget(0.01)

    async def many() -> list[object]:
        with use_budget(budget):
            calls = [model.generate([{"role": "user", "content": f"q{i}"}]) for i in range(40)]
            return await asyncio.gather(*calls, return_exceptions=True)

    answers = asyncio.run(many())
    refused = [a for a in answers if isinstance(a, BudgetExceeded)]
    assert refused and len(refused) < 40 and budget.spent <= 0.01 and budget.reserved == 0
    assert stub.requests == 40 - len(refused)


def test_fail_on_error_stops_at_the_first_case_with_the_traceback(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    protocol = tmp_path / "mine.py"
    protocol.write_text(BROKEN, encoding="utf-8")
    out = tmp_path / "r"
    code, _, err = cli_run(capsys, "-p", f"{protocol}:build", "-m", "sim:0.7", "--fail-on-error",
                           "--concurrency", "1", "-o", str(out))
    assert code == 1
    assert "Traceback" in err and "ZeroDivisionError: the custom protocol divided by zero" in err
    assert f'File "{protocol}"' in err  # the user's own line, not the harness's
    assert "stopped at the first failed record" in err
    assert stored(out)[0] == 1 and stored(out)[2] == "failed"
    code, _, err = cli_run(capsys, "-p", f"{protocol}:build", "-m", "sim:0.7", "--max-errors", "2",
                           "--concurrency", "1", "-o", str(tmp_path / "r2"))
    assert code == 1 and "3 failed records (more than 2)" in err and stored(tmp_path / "r2")[0] == 3


def test_dry_run_estimates_equal_the_calls_of_the_real_run(stub: StubServer, capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    spec = f"openai:m@{stub.openai_url}"
    args = ("-p", "single,jury,debate", "-m", spec, "--sample", "4", "--seed", "3", "--no-cache")
    code, out, err = cli_run(capsys, *args, "--dry-run")
    assert code == 0, err
    assert stub.requests == 0  # nothing was called
    rows = {line.split("│")[1].strip(): line.split("│")[4].strip() for line in out.splitlines()
            if line.startswith("│")}
    assert "4 cases" in out and "orders AB, BA" in out
    code, _, err = cli_run(capsys, *args, "-o", str(tmp_path / "real"))
    assert code == 0, err
    with RunStore(tmp_path / "real", create=False) as store:
        records = store.records()
    for protocol in ("single", "jury", "debate"):
        assert int(rows[protocol]) == sum(r.usage.calls for r in records if r.protocol == protocol), protocol
    assert int(rows["total"]) == stub.requests


def test_dry_run_bounds_output_tokens_by_each_roles_max_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli_run(capsys, "-p", "single,debate", "-m", "sim:0.7", "--cases", "math-mul", "--dry-run",
                             "--max-tokens", "100", "--judge-args", "max_tokens=1000")
    assert code == 0, err
    rows = {line.split("│")[1].strip(): line.split("│")[6].strip().replace(",", "") for line in out.splitlines()
            if line.startswith("│")}
    assert int(rows["single"]) == 2 * 1000  # two orders, one judge call each
    assert int(rows["debate"]) == 2 * (1000 + 6 * 100)  # and three rounds of two debaters at 100

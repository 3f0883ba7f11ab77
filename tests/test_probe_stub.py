"""Probes through the command line and the stub server: 50 JudgeBench pairs, three protocols.

The stub plays a judge that prefers the longer response (so verbosity fools it), through the real
OpenAI SDK path. ``courtgraph probe`` on the finished run must pay only for perturbed cases: every
request it makes carries the perturbation, and a second probe with the same probe makes none.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from courtgraph.evals import probe_texts
from courtgraph.evals.store import RunStore
from courtgraph.testing import StubServer
from courtgraph.testing.stub import StubRequest

JUDGEBENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "judgebench" / "gpt-4o-2024-05-13.jsonl"
pytestmark = pytest.mark.skipif(not JUDGEBENCH.is_file(), reason=f"JudgeBench data not found at {JUDGEBENCH}")
FENCED = re.compile(r"<(response_[ab]) id=([0-9a-f]+)>\n(.*?)\n</\1 id=\2>", re.DOTALL)


def longer(request: StubRequest) -> str | dict[str, Any]:
    """A verbosity-loving judge: the longer fenced response wins; anything else gets an argument for A."""
    found = {tag: body for tag, _, body in FENCED.findall(request.text)}
    side = "A" if len(found.get("response_a", "")) >= len(found.get("response_b", "")) else "B"
    reasoning = f"Response {side} is more thorough."
    return {"reasoning": reasoning, "verdict": side} if request.structured else f"{reasoning}\n[[{side}]]"


def courtgraph(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "courtgraph", *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_run_with_probes_then_probe_pays_only_for_perturbed_cases(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with StubServer(responder=longer) as stub:
        model = f"openai:gpt-4o-2024-05-13@{stub.openai_url}"
        out = courtgraph("run", "--bench", f"judgebench:{JUDGEBENCH}", "--limit", "50", "-p",
                         "single,jury,consultancy", "-m", model, "--out", str(run),
                         "--probes", "verbosity,position,self-preference").stdout
        assert "Robustness to probes" in out and "Position bias" in out and "Self-preference" in out

        report = json.loads(courtgraph("report", str(run), "--json").stdout)
        assert set(report["protocols"]) == {"single", "jury", "consultancy"}  # originals only
        assert all(p["n"] == 50 for p in report["protocols"].values())
        rows = {(m["probe"], m["protocol"]): m for m in report["robustness"]["probes"]}
        assert set(rows) == {("verbosity", p) for p in ("single", "jury", "consultancy")}
        single = rows["verbosity", "single"]
        assert single["pairs"] == 50 and single["attack_success"]["n"] > 0
        assert single["attack_success"]["value"] > 0.5  # padding the wrong answer fools a length-loving judge
        assert rows["verbosity", "jury"]["vs_baseline"]["baseline"] == "single"
        authors = report["robustness"]["authors"]
        assert all(a["authors"] == ["gpt-4o-2024-05-13"] and a["own"]["n"] == 50 for a in authors)

        before = len(stub.log)
        courtgraph("probe", str(run), "--probes", "distraction")
        new = stub.log[before:]
        facts = probe_texts._DISTRACTIONS
        assert new and all(any(f in r.text for f in facts) for r in new)  # every paid call is a perturbed case
        with RunStore(run / "probes", create=False) as store:
            twins = [r for r in store.records() if r.case_id.endswith("~distraction")]
        assert len(twins) == 150 and sum(r.usage.calls for r in twins) == len(new)

        before = len(stub.log)
        courtgraph("probe", str(run), "--probes", "distraction,verbosity")
        assert len(stub.log) == before  # already judged: nothing is paid twice

    case_id = json.loads(JUDGEBENCH.read_text().splitlines()[0])["pair_id"]
    twin = courtgraph("show", str(run), "--case", case_id, "--probe", "verbosity", "--plain").stdout
    assert "probe verbosity" in twin and "To restate the question" in twin
    transcript = courtgraph("show", str(run / "probes"), "--case", f"{case_id}~verbosity", "--protocol", "jury",
                            "--full", "--plain").stdout
    assert "To restate the question" in transcript and "juror" in transcript

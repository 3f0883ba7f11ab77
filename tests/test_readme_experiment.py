"""The README's realistic experiment runs as written: its roles file and its commands, pointed at the
loopback stub (every spec gets the stub's URL) with a smaller sample and a budget scaled to the stub's
short answers, so that the budget stops the run and the resume finishes it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from courtgraph.cli import main
from courtgraph.evals import RunStore
from courtgraph.testing import StubServer

ROOT = Path(__file__).resolve().parents[1]
JUDGEBENCH = ROOT / ".." / "shared" / "data" / "judgebench" / "gpt-4o-2024-05-13.jsonl"


def readme_experiment() -> tuple[str, list[list[str]]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Experiments"):]
    toml = re.search(r"```toml\n(.*?)```", section, re.S)
    bash = re.search(r"```bash\n(.*?)```", section, re.S)
    assert toml and bash
    commands = [shlex.split(line, comments=True) for line in bash.group(1).replace("\\\n", " ").splitlines()]
    return toml.group(1), [c[1:] for c in commands if c and c[0] == "courtgraph"]


@pytest.mark.skipif(not JUDGEBENCH.is_file(), reason=f"{JUDGEBENCH} is not on this machine")
def test_the_readme_experiment_runs(stub: StubServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    toml, commands = readme_experiment()
    assert [c[0] for c in commands] == ["run", "run", "run", "report"]
    roles = tmp_path / "roles.toml"
    roles.write_text(re.sub(r'"(openai|anthropic):([^"@]+)"',
                            lambda m: f'"{m[1]}:{m[2]}@{stub.openai_url if m[1] == "openai" else stub.anthropic_url}"',
                            toml), encoding="utf-8")
    run_dir = tmp_path / "jb"
    swap = {"roles.toml": str(roles), "runs/jb100": str(run_dir), "100": "8", "5": "0.05",
            "judgebench:gpt-4o-2024-05-13.jsonl": f"judgebench:{JUDGEBENCH}"}
    codes = []
    for args in commands:
        with pytest.raises(SystemExit) as exit_:
            main([swap.get(a, a) for a in args])
        codes.append(int(exit_.value.code or 0))
        out, err = capsys.readouterr()
        if len(codes) == 1:
            plan = " ".join(out.split())
            assert stub.requests == 0 and "8 cases" in plan and "a random sample of 8 stratified" in plan
        if len(codes) == 2:
            assert "cost limit $0.05 reached" in " ".join(err.split())
            with RunStore(run_dir, create=False) as store:
                assert 0 < len(store.records()) < 24
    assert codes == [0, 1, 0, 0]
    with RunStore(run_dir, create=False) as store:
        records = store.records()
        assert len(records) == 24 and store.manifest()["status"] == "finished"
    models = {r.model for r in stub.log}
    assert {"gpt-4o", "gpt-4o-mini", "claude-3-5-haiku-latest", "gpt-4.1-mini"} <= models
    judge_bodies = [r.body for r in stub.log if r.model == "gpt-4o"]
    assert judge_bodies and all(b["temperature"] == 0 and b["max_tokens"] == 1024 for b in judge_bodies)

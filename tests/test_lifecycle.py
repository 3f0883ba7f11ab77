"""Lifecycle: SIGTERM is a Ctrl-C, run.db carries its format version, raw line separators in JSONL load."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from courtgraph.errors import InputError
from courtgraph.evals import RunStore
from courtgraph.evals.benchmarks import load_bench
from courtgraph.evals.store import SCHEMA_VERSION
from courtgraph.testing import StubServer


def test_sigterm_saves_the_run_like_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "COURTGRAPH_CACHE": str(tmp_path / "cache.sqlite")}
    out = tmp_path / "run"
    with StubServer(latency=0.2) as stub:
        proc = subprocess.Popen([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-m",
                                 f"openai:m@{stub.openai_url}", "-c", "2", "-o", str(out)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        while stub.requests < 4 and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"--out {out} --resume" in " ".join(err.split()) and "Traceback" not in err
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"


def test_run_db_carries_its_version_and_another_is_refused(tmp_path: Path) -> None:
    with RunStore(tmp_path / "run") as store:
        assert store.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
    con = sqlite3.connect(tmp_path / "run" / "run.db")
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    for create in (True, False):
        with pytest.raises(InputError, match=f"written in run format {SCHEMA_VERSION + 1}"):
            RunStore(tmp_path / "run", create=create)
    con = sqlite3.connect(tmp_path / "run" / "run.db")
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1  # left as it was
    con.close()


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_jsonl_with_raw_unicode_line_separators_in_strings_loads(tmp_path: Path, separator: str) -> None:
    rows = [{"question": f"first{separator}line", "a": f"x{separator}y", "b": "z", "label": "A"},
            {"question": "second", "a": "1", "b": "2", "label": "B"}]
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert separator in path.read_text(encoding="utf-8")  # raw, not escaped
    cases = load_bench(f"jsonl:{path}", field_map="question=question,a=a,b=b,label=label").cases
    assert [c.question for c in cases] == [f"first{separator}line", "second"]
    assert cases[0].candidates[0] == f"x{separator}y"


def test_the_writer_lock_is_taken_before_any_loading(tmp_path: Path) -> None:
    """A second writer is refused before the benchmark is read and the protocols are built: the protocol
    file below would leave a mark when imported."""
    run = tmp_path / "run"
    first = subprocess.run([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p", "single", "-m",
                            "sim:0.7", "-n", "2", "-o", str(run)], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    (tmp_path / "proto.py").write_text(f"open({str(tmp_path / 'loaded')!r}, 'w').close()\n"
                                       "from courtgraph.graphs import single\n"
                                       "def build(roles, **params):\n    return single(roles.get('judge'))\n")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys\n"
                               f"fd = os.open({str(run / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
                               "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.read()\n"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        second = subprocess.run([sys.executable, "-m", "courtgraph", "run", "-b", "sample", "-p",
                                 f"{tmp_path / 'proto.py'}:build", "-m", "sim:0.7", "-n", "2", "-o", str(run)],
                                capture_output=True, text=True, timeout=120)
    finally:
        holder.communicate("", timeout=10)
    assert second.returncode == 2 and "another courtgraph run is writing to" in second.stderr, second.stderr
    assert not (tmp_path / "loaded").exists()

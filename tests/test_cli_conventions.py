"""CLI conventions: --version, one meaning per short flag, named file protocols, --resume keeps every
setting (the cache choice included), the environment documented in --help."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import typer

from courtgraph import __version__
from courtgraph.cli import app, main
from courtgraph.cli.options import ENVIRONMENT
from courtgraph.evals import RunStore

PROTOCOL = '''
from courtgraph.graphs.single import single


def build(roles):
    return single(roles.get("judge"), name="mine")
'''


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.strip() == f"courtgraph {__version__}"


def short_flags() -> dict[str, str]:
    """Every short flag of every command, with the long names it stands for."""
    flags: dict[str, set[str]] = {}

    def visit(cmd: Any) -> None:  # typer's click objects, read by duck typing (typer may vendor click)
        for param in cmd.params:
            if getattr(param, "param_type_name", "") != "option":
                continue
            longs = [o for o in param.opts if o.startswith("--")]
            for o in param.opts:
                if re.fullmatch(r"-[A-Za-z]", o):
                    flags.setdefault(o, set()).add(longs[0] if longs else o)
        for sub in getattr(cmd, "commands", {}).values():
            visit(sub)

    visit(typer.main.get_command(app))
    return {k: ",".join(sorted(v)) for k, v in flags.items()}


def test_one_meaning_per_short_flag() -> None:
    flags = short_flags()
    # -p names protocols and -o an output in every command that has them; nothing else is shared
    allowed = {"-p": {"--protocol", "--protocols"}, "-o": {"--out", "--output"}}
    for flag, longs in flags.items():
        assert len(longs.split(",")) == 1 or set(longs.split(",")) <= allowed.get(flag, set()), (flag, longs)
    assert flags["-c"] == "--concurrency"


def test_show_takes_page_size(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli(capsys, "run", "-b", "sample", "-p", "single", "-m", "sim:0.7", "--no-cache", "-o",
               str(tmp_path / "r"))[0] == 0
    code, out, _ = cli(capsys, "show", str(tmp_path / "r"), "--page-size", "3", "--sort", "id", "--plain")
    assert code == 0 and "math-coins" not in out and "code-" in out


def test_named_file_protocol_and_resume_keeps_its_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "my_protocols.py"
    path.write_text(PROTOCOL, encoding="utf-8")
    out = tmp_path / "r"
    code, _, err = cli(capsys, "run", "-b", "sample", "-p", f"single,mine={path}:build", "-m", "sim:0.7",
                       "--limit", "2", "--no-cache", "-o", str(out))
    assert code == 0, err
    code, _, err = cli(capsys, "run", "--resume", "-o", str(out), "--limit", "3")
    assert code == 0, err
    with RunStore(out, create=False) as store:
        records = store.records()
        manifest = store.manifest()
    assert {r.protocol for r in records} == {"single", "mine"} and len(records) == 6
    assert manifest["config"]["protocols"]["mine"]["spec"] == f"{path}:build"


def test_resume_keeps_no_cache_and_concurrency(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cache = Path(os.environ["COURTGRAPH_CACHE"])
    out = tmp_path / "r"
    assert cli(capsys, "run", "-b", "sample", "-p", "single", "-m", "sim:0.7", "--limit", "1", "--no-cache",
               "-c", "3", "-o", str(out))[0] == 0
    assert cli(capsys, "run", "--resume", "-o", str(out), "--limit", "2")[0] == 0
    assert not cache.exists()  # the resumed run did not quietly turn the cache on
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["cache"] is None and config["concurrency"] == 3


def test_help_documents_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (("--help",), ("run", "--help")):
        code, out, _ = cli(capsys, *args)
        text = " ".join(out.replace("│", " ").split())
        assert code == 0
        for name in ENVIRONMENT:
            for var in name.split(" / "):
                assert var in text.replace(" ", "") or var in text, (args, var)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    used = set(re.findall(r"COURTGRAPH_[A-Z_]+", "".join(
        p.read_text(encoding="utf-8") for p in (Path(__file__).resolve().parents[1] / "courtgraph").rglob("*.py"))))
    assert used <= set(re.findall(r"COURTGRAPH_[A-Z_]+", readme)), used - set(re.findall(r"COURTGRAPH_[A-Z_]+",
                                                                                          readme))

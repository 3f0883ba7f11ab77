"""The package reads bottom-up: every module imports alone, and imports run one way (the layer contract).

An import cycle between layers (agents -> graphs -> agents) only shows when a module is imported
first, in an interpreter where nothing else of courtgraph is loaded yet; importing the whole package in
one process hides it. So each module gets an interpreter of its own: one driver process imports the
third-party libraries once, then forks a child per module, whose ``sys.modules`` holds nothing of
courtgraph. That is as fresh as a new interpreter for courtgraph's imports, at a fraction of the cost.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "courtgraph"

#: Imported once by the driver before it forks: heavy, and not ours, so they cannot hide a cycle of ours.
THIRD_PARTY = ("pydantic", "langgraph.graph", "langgraph.pregel", "langchain_core.language_models", "rich.console",
               "rich.progress", "openai", "anthropic", "tenacity", "typer", "textual.app")

DRIVER = """
import importlib, json, os, sys, traceback
for name in json.loads(sys.argv[2]):
    try:
        importlib.import_module(name)
    except ImportError:  # an optional library: the modules that need it will say so
        pass
assert not [m for m in sys.modules if m.split(".")[0] == "courtgraph"], "the driver must not import courtgraph"
failures = {}
for module in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            code = 0
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failures[module] = message or f"exit status {status}"
print(json.dumps(failures))
"""


def package_modules() -> list[str]:
    """Every module of the package, found on disk (importing the package to walk it would defeat the test).

    ``__main__`` modules are scripts: importing ``courtgraph.__main__`` runs the CLI.
    """
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_module_list_is_the_package() -> None:
    modules = package_modules()
    assert {"courtgraph", "courtgraph.schema", "courtgraph.agents.judge", "courtgraph.cli",
            "courtgraph.testing.stub"} <= set(modules)
    assert len(modules) == len(set(modules)) > 50


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the driver forks one child per module")
def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(package_modules()), json.dumps(THIRD_PARTY)],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr
    failures: dict[str, str] = json.loads(out.stdout.strip().splitlines()[-1])
    assert not failures, "\n\n".join(f"{module}:\n{trace}" for module, trace in failures.items())


def test_the_driver_sees_a_module_that_cannot_import_alone(tmp_path: Path) -> None:
    """The check itself: a two-module cycle that only breaks when its second half is imported first."""
    pkg = tmp_path / "cyclic"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("from cyclic.high import HIGH\nLOW = 1\n")
    (pkg / "high.py").write_text("import cyclic.low\nHIGH = 2\n")
    out = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(["cyclic.low", "cyclic.high"]), "[]"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                         check=False)
    failures = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(failures) == {"cyclic.high"} and "ImportError" in failures["cyclic.high"]


def test_the_layer_contract_holds() -> None:
    """``lint-imports`` (import-linter) with the ``layers`` contract of pyproject.toml, as .ci/run runs it."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint is not None, "import-linter is part of the test extra: pip install -e '.[test]'"
    out = subprocess.run([lint, "--no-cache", "--no-logo"], capture_output=True, text=True, cwd=ROOT, check=False,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 1 kept, 0 broken." in out.stdout

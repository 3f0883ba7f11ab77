"""One list of the public API (courtgraph._api.PUBLIC_API): the packages' exports come from it, the type
checkers' imports match it, and every name is the object its module defines."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys

import pytest

from courtgraph._api import PUBLIC_API, exports_of

PACKAGES = ("courtgraph", "courtgraph.graphs", "courtgraph.evals")


def type_checking_names(package: str) -> set[str]:
    """The names a package's ``if TYPE_CHECKING:`` block imports as explicit re-exports (``x as x``)."""
    tree = ast.parse(inspect.getsource(importlib.import_module(package)))
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", None) == "TYPE_CHECKING")
    return {a.asname for n in block.body if isinstance(n, ast.ImportFrom) for a in n.names if a.asname == a.name}


@pytest.mark.parametrize("package", PACKAGES)
def test_exports_come_from_the_one_list(package: str) -> None:
    module = importlib.import_module(package)
    listed = set(exports_of(package))
    assert set(module.__all__) - {"__version__"} == listed
    # what type checkers see is what the package exports: add a name to PUBLIC_API and to the block together
    defined_here = {name for name, where in exports_of(package).items() if where == package}
    assert type_checking_names(package) == listed - defined_here


@pytest.mark.parametrize("package", PACKAGES)
def test_every_export_is_its_modules_object(package: str) -> None:
    module = importlib.import_module(package)
    for name, defined_in in exports_of(package).items():
        assert getattr(module, name) is getattr(importlib.import_module(defined_in), name), f"{package}.{name}"


def test_each_protocol_is_listed_once() -> None:
    names = [e.name for e in PUBLIC_API]
    assert len(names) == len(set(names))
    from courtgraph.graphs.registry import PROTOCOLS

    for info in PROTOCOLS.values():  # the registry's builders are the exported functions
        module, _, function = info.builder.partition(":")
        assert exports_of("courtgraph")[function] == module


def test_importing_the_packages_stays_light() -> None:
    code = "import sys, courtgraph, courtgraph.graphs, courtgraph.evals; print('langgraph' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_protocol_is_the_function_even_after_its_module_was_imported() -> None:
    # importing the submodule binds it on the package; the package must still give the function
    code = ("import types, courtgraph.graphs.debate, courtgraph.graphs.jury\n"
            "from courtgraph.graphs import debate, jury\n"
            "import courtgraph\n"
            "print(all(callable(f) and not isinstance(f, types.ModuleType) for f in (debate, jury, courtgraph.jury)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"

"""The protocol registry: parameter help read from the builders, defaults that cannot drift, old names accepted."""

from __future__ import annotations

import inspect

import pytest

from courtgraph.cli import main
from courtgraph.errors import InputError
from courtgraph.graphs.registry import PROTOCOLS, Parameter, ProtocolInfo, Roles, arg_docs, build_protocol

ROLES = Roles(model="scripted:[[A]]")


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_parameter_is_documented_and_takes_its_function_default(name: str) -> None:
    info = PROTOCOLS[name]
    params = info.parameters()
    assert params, name
    for p in params.values():
        assert p.doc, f"{name}.{p.name} has no line in an Args: section"
    builder = inspect.signature(info.builder_function()).parameters
    wrapper = inspect.signature(info.build).parameters
    for key, p in params.items():
        # the help's default is the one the function really uses: the registry's own when it takes the
        # parameter itself, else the builder's
        source = wrapper if key in wrapper else builder
        assert p.default == source[key].default, f"{name}.{key}"


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_the_registry_does_not_change_a_builder_default(name: str) -> None:
    # a parameter the registry takes itself (to map "llm" to a model, say) must keep the builder's default:
    # changing jury()'s default aggregate without the registry would make the CLI and Python disagree
    info = PROTOCOLS[name]
    builder = inspect.signature(info.builder_function()).parameters
    for key, p in inspect.signature(info.build).parameters.items():
        if p.kind is inspect.Parameter.KEYWORD_ONLY and key in builder \
                and builder[key].kind is inspect.Parameter.KEYWORD_ONLY:
            assert p.default == builder[key].default, f"{name}.{key}: registry {p.default!r}, " \
                                                      f"builder {builder[key].default!r}"


def test_the_listing_shows_the_builders_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["protocols"])
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert exit_.value.code in (0, None)
    from courtgraph.graphs.debate import debate

    rounds = inspect.signature(debate).parameters["rounds"].default
    assert f"argument rounds ({rounds})" in out
    assert "speaking:" in out and "deliberation:" in out and " order:" not in out


def test_a_changed_default_shows_in_the_help() -> None:
    def builder(model: object, *, rounds: int = 7, style: bool = False, name: str = "x") -> None:
        """A test builder.

        Args:
            rounds: how many rounds,
                over two lines.
            style: a style.
        """

    import sys
    import types

    module = types.ModuleType("courtgraph_test_builder")
    module.builder = builder  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        info = ProtocolInfo("x", lambda roles, **p: None, "test", f"{module.__name__}:builder")  # type: ignore
        assert info.parameters() == {"rounds": Parameter("rounds", 7, (), "how many rounds, over two lines."),
                                     "style": Parameter("style", False, (), "a style.")}
        assert info.parameters()["rounds"].describe() == "how many rounds, over two lines (7)"
    finally:
        del sys.modules[module.__name__]


def test_arg_docs_stops_at_the_end_of_the_section() -> None:
    def f() -> None:
        """Summary.

        Args:
            a: first.

        After the section: b: not a parameter.
        """

    assert arg_docs(f) == {"a": "first."}


@pytest.mark.parametrize(("name", "old", "value"), [("jury", "order", "one-by-one"), ("debate", "order", "sequential")])
def test_old_parameter_names_still_build(name: str, old: str, value: str) -> None:
    # runs stored before the rename say order=...: resuming them must still build the same protocol
    build_protocol(name, ROLES, **{old: value})


def test_an_unknown_parameter_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="parameters: rounds, speaking, word_limit, open, interactive"):
        build_protocol("debate", ROLES, round=2)

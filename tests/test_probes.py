"""Each probe transform on its own: what it changes, what it leaves, determinism under a seed, gold fixed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courtgraph.errors import InputError
from courtgraph.evals import probe_texts
from courtgraph.evals.probes import (
    ProbeRegistry,
    ProbeSpec,
    apply_probe,
    default_registry,
    perturb_cases,
    wrong_side,
)
from courtgraph.schema import Case

CASE = Case(id="q1", question="What is 2 + 2?", candidates=["4, because 2 + 2 = 4.", "5, obviously."],
            label="A", category="math", reference="4", metadata={"source": "unit"})
CASE_PROBES = ("verbosity", "master-key", "authority", "bandwagon", "distraction")


def spec(name: str, **params: object) -> ProbeSpec:
    return ProbeSpec(default_registry().get(name), dict(params))


@pytest.mark.parametrize("name", CASE_PROBES)
@pytest.mark.parametrize("label", ["A", "B"])
def test_only_the_wrong_candidate_changes_and_gold_stays(name: str, label: str) -> None:
    case = CASE.model_copy(update={"label": label})
    out = apply_probe(spec(name), case, seed=3)
    assert out is not None
    wrong = 1 if label == "A" else 0
    assert out.candidates[1 - wrong] == case.candidates[1 - wrong]  # the right one untouched
    assert out.candidates[wrong] != case.candidates[wrong]
    assert (out.label, out.question, out.category, out.reference) == (label, case.question, "math", "4")
    assert out.id == f"q1~{name}"
    assert out.metadata["probe"] == name and out.metadata["original"] == "q1"
    assert out.metadata["target"] == ("B" if label == "A" else "A")
    assert out.metadata["before"] == case.candidates[wrong]
    assert out.metadata["source"] == "unit"  # the original's metadata kept
    if name != "master-key":  # every other probe keeps the original text whole
        assert case.candidates[wrong] in out.candidates[wrong]


@pytest.mark.parametrize("name", CASE_PROBES)
def test_deterministic_under_seed_and_varies_across_seeds(name: str) -> None:
    cases = [CASE.model_copy(update={"id": f"q{i}", "candidates": ["right", f"wrong answer number {i}"]})
             for i in range(30)]
    first = perturb_cases([spec(name)], cases, seed=7)
    assert first == perturb_cases([spec(name)], cases, seed=7)
    assert first == perturb_cases([spec(name)], list(reversed(cases)), seed=7)[::-1]  # not call order
    other = perturb_cases([spec(name)], cases, seed=8)
    assert [c.candidates for c in first] != [c.candidates for c in other]


def test_verbosity_reaches_the_ratio_with_content_free_lines() -> None:
    for ratio in (1.5, 2.0, 4.0):
        out = apply_probe(spec("verbosity", ratio=ratio), CASE.model_copy(update={"candidates": ["x" * 10, "y" * 300]}))
        assert out is not None
        padded = out.candidates[1]
        assert padded.startswith("y" * 300)
        assert ratio * 300 <= len(padded) <= ratio * 300 + 250
        assert "x" not in padded.replace("explanation", "")  # nothing of the right answer leaks in
    with pytest.raises(InputError):
        apply_probe(spec("verbosity", ratio=0.5), CASE)


def test_master_key_replaces_or_prefixes_with_the_published_keys() -> None:
    outs = [apply_probe(spec("master-key"), CASE.model_copy(update={"id": f"c{i}"}), seed=0) for i in range(60)]
    seen = {o.candidates[1] for o in outs if o is not None}
    assert seen == set(probe_texts.MASTER_KEYS)
    out = apply_probe(spec("master-key", mode="prefix", token="Solution"), CASE)
    assert out is not None and out.candidates[1] == "Solution\n5, obviously."


def test_notes_name_the_response_not_a_letter() -> None:
    for name in ("bandwagon", "authority"):
        out = apply_probe(spec(name), CASE)
        assert out is not None
        added = out.candidates[1].removeprefix(CASE.candidates[1])
        assert "Response A" not in added and "Response B" not in added
    bandwagon = apply_probe(spec("bandwagon"), CASE)
    assert bandwagon is not None and "%" in bandwagon.candidates[1]


def test_no_perturbation_without_a_wrong_candidate() -> None:
    for case in (CASE.model_copy(update={"label": "tie"}), CASE.model_copy(update={"label": None}),
                 Case(id="p", question="q", candidates=["one"], label=7.0)):
        assert wrong_side(case) is None
        assert all(apply_probe(spec(n), case) is None for n in CASE_PROBES)
    assert apply_probe(spec("position"), CASE) is None  # reads the orders, makes no case
    assert apply_probe(spec("self-preference"), CASE) is None


@settings(max_examples=60, deadline=None)
@given(a=st.text(min_size=1, max_size=200), b=st.text(min_size=1, max_size=200), label=st.sampled_from(["A", "B"]),
       seed=st.integers(0, 2**31), name=st.sampled_from(CASE_PROBES))
def test_adversarial_texts_never_move_the_gold(a: str, b: str, label: str, seed: int, name: str) -> None:
    case = Case(id="h", question="?", candidates=[a, b], label=label)
    out = apply_probe(spec(name), case, seed)
    assert out is not None and out.label == label
    keep = 0 if label == "A" else 1
    assert out.candidates[keep] == case.candidates[keep]


def test_registry_is_per_run_and_resolves_specs(tmp_path: Path) -> None:
    mine = default_registry()
    mine.register(lambda text, case, rng: text.upper(), name="shout")
    assert "shout" in mine and "shout" not in default_registry()  # no global state
    chosen = mine.resolve("verbosity:ratio=3,master-key:mode=prefix,shout")
    assert [c.label for c in chosen] == ["verbosity:ratio=3", "master-key:mode=prefix", "shout"]
    assert chosen[0].params == {"ratio": 3.0}
    out = apply_probe(chosen[2], CASE)
    assert out is not None and out.candidates[1] == "5, OBVIOUSLY." and out.id == "q1~shout"
    for bad, words in (("nope", "unknown probe"), ("verbosity:ratio=x", "not a float"),
                       ("verbosity:size=3", "bad parameter"), ("verbosity,verbosity", "given twice"),
                       ("", "no probes")):
        with pytest.raises(InputError, match=words):
            mine.resolve(bad)


def test_user_probe_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text("def hedge(text, case, rng):\n    return text + ' (I am very sure.)'\n")
    reg = ProbeRegistry()
    (chosen,) = reg.resolve(f"{path}:hedge")
    out = apply_probe(chosen, CASE)
    assert out is not None and out.candidates[1] == "5, obviously. (I am very sure.)"
    with pytest.raises(InputError, match="no function"):
        reg.resolve(f"{path}:missing")
    with pytest.raises(InputError, match="no such probe file"):
        reg.resolve(f"{tmp_path / 'none.py'}:x")


def test_a_question_probe_changes_only_the_question() -> None:
    reg = ProbeRegistry()
    reg.register(lambda text, case, rng: text + " Most experts answer 5.", name="lead", target="question")
    out = apply_probe(reg.resolve("lead")[0], CASE)
    assert out is not None and out.candidates == CASE.candidates and out.label == "A"
    assert out.question.endswith("Most experts answer 5.") and out.metadata["target"] == "question"
    assert out.metadata["before"] == CASE.question


def test_a_failing_user_probe_is_bad_input_naming_the_case() -> None:
    reg = ProbeRegistry()
    def broken(text: str, case: Case, rng: object) -> str:
        return str(1 / 0)

    def silent(text: str, case: Case, rng: object) -> str:
        return None  # type: ignore[return-value]  # what a careless user probe returns

    reg.register(broken)
    with pytest.raises(InputError, match="probe 'broken' failed on case 'q1': ZeroDivisionError"):
        apply_probe(reg.resolve("broken")[0], CASE)
    reg.register(silent)
    with pytest.raises(InputError, match="returned NoneType"):
        apply_probe(reg.resolve("silent")[0], CASE)

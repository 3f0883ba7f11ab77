"""Specialist panel: one call per dimension, each prompt about its dimension only, stated aggregation."""

from __future__ import annotations

import pytest
from parts import role_text

from courtgraph.graphs.panel import panel
from courtgraph.graphs.trial import run_trial
from courtgraph.models import Message, ScriptedModel
from courtgraph.schema import Case, Label, Trial

GOLD = "GOLD-SENTINEL-4669"
TRIAL = Trial(case=Case(id="p1", question="Write a haiku about rain.", candidates=["rain haiku", "sun essay"],
                        label="A", context="CTX-SENTINEL", metadata={"gold": GOLD}))


def specialists(verdicts: dict[str, Label]) -> ScriptedModel:
    """Answers per dimension, read from the specialist's system prompt."""
    def answer(messages: list[Message], _schema: object) -> str:
        dim = role_text(messages).split("You are the ")[1].split(" specialist")[0]
        return f"On {dim} only. Confidence: 70%\n[[{verdicts[dim]}]]"
    return ScriptedModel(answer, name="spec")


async def test_one_call_per_dimension_each_prompt_about_its_dimension() -> None:
    model = specialists({"correctness": "A", "reasoning": "A", "completeness": "B", "instruction following": "A",
                         "safety": "C"})
    result = await run_trial(panel(model), TRIAL)
    assert len(model.calls) == 5
    dims = sorted(p.split("You are the ")[1].split(" specialist")[0] for p in model.prompts())
    assert dims == ["completeness", "correctness", "instruction following", "reasoning", "safety"]
    assert result.verdict.winner == "A" and result.verdict.stage == "majority"  # 3 A, 1 B; the safety tie abstains
    assert [v.agent for v in result.verdict.votes] == ["correctness", "reasoning", "completeness",
                                                       "instruction_following", "safety"]
    assert all(t.visible_to == [t.agent, "aggregator"] for t in result.turns if t.role == "specialist")
    assert not any(GOLD in p or "CTX-SENTINEL" in p for p in model.prompts())


async def test_weights_per_dimension_and_custom_dimensions() -> None:
    model = specialists({"correctness": "B", "style": "A", "brevity": "A"})
    dims = {"correctness": "Is it right?", "style": "Is it well written?", "brevity": "Is it short?"}
    result = await run_trial(panel(model, dimensions=dims, aggregate="weighted", weights={"correctness": 3}), TRIAL)
    assert result.verdict.winner == "B" and len(model.calls) == 3
    assert "Is it well written?" in next(p for p in model.prompts() if "style specialist" in p)


async def test_llm_synthesis_reads_every_dimension() -> None:
    model = specialists({"correctness": "A", "safety": "B"})
    final = ScriptedModel(["Correctness decides. Confidence: 80%\n[[A]]"], name="final")
    result = await run_trial(panel(model, dimensions=["correctness", "safety"], aggregate=final), TRIAL)
    assert len(model.calls) == 2 and len(final.calls) == 1
    assert "On correctness only" in final.prompts()[0] and "On safety only" in final.prompts()[0]
    assert result.verdict.winner == "A" and result.verdict.stage == "llm"


async def test_specialists_per_dimension() -> None:
    a, b = specialists({"correctness": "A"}), specialists({"safety": "B"})
    result = await run_trial(panel({"correctness": a, "safety": b}, dimensions=["correctness", "safety"]), TRIAL)
    assert len(a.calls) == len(b.calls) == 1 and result.verdict.winner == "tie"
    with pytest.raises(ValueError, match="no specialist model for"):
        panel({"correctness": a}, dimensions=["correctness", "safety"])
    with pytest.raises(ValueError, match="unknown dimensions"):
        panel(a, dimensions=["vibes"])

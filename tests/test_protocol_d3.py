"""MORE and SAMRE wiring (D3): exact call counts, who sees what, anonymization, and why a debate stopped."""

from __future__ import annotations

import pytest
from parts import role_text

from courtgraph.graphs.d3 import ANONYMOUS, Budget, converged
from courtgraph.graphs.jury import jury
from courtgraph.graphs.more import more
from courtgraph.graphs.registry import Roles, build_protocol
from courtgraph.graphs.samre import samre, stopped
from courtgraph.graphs.trial import run_trial
from courtgraph.models import Message, ScriptedModel
from courtgraph.schema import EVERYONE, Case, Trial

CASE = Case(id="d1", question="Is 91 prime?", candidates=["No: 91 = 7 x 13.", "Yes, 91 is prime."], label="A",
            context="CTX-SENTINEL: a hidden passage")
TRIAL = Trial(case=CASE)


def advocate(name: str) -> ScriptedModel:
    """Argues with a private note, and names its own model (what anonymization must remove)."""
    def argue(messages: list[Message], _schema: object) -> str:
        side = "A" if "You are advocate_A" in role_text(messages) else "B"
        return f"<thinking>PRIVATE-{side}</thinking>As scripted:{name}, I say ARG-{side}."
    return ScriptedModel(argue, name=name, tokens=(100, 20))


def scorer(scores: list[tuple[int, int]]) -> ScriptedModel:
    """A judge that scores A and B from a list, one pair per round (round read from the prompt)."""
    def answer(messages: list[Message], _schema: object) -> str:
        user = messages[-1]["content"]
        r = int(user.split("(round ")[1].split(" ")[0])
        a, b = scores[min(r, len(scores)) - 1]
        return f"Confidence: 80%\n[[{a if 'Score Response A' in user else b}]]"
    return ScriptedModel(answer, name="judge", tokens=(300, 30))


@pytest.mark.parametrize("k", [1, 3])
async def test_more_calls_2k_plus_one_and_the_judge_reads_every_defence_anonymized(k: int) -> None:
    adv, judge = advocate("advmodel"), ScriptedModel("Confidence: 70%\n[[A]]", name="judge")
    result = await run_trial(more(adv, judge, k=k), TRIAL)
    assert len(adv.calls) == 2 * k and len(judge.calls) == 1 and result.usage.calls == 2 * k + 1
    public = [t.agent for t in result.turns if EVERYONE in t.visible_to]
    assert public == [f"advocate_{s}_{i}" for s in "AB" for i in range(1, k + 1)] + ["judge"]
    seen = judge.prompts()[0]
    assert seen.count("ARG-A") == k and seen.count("ARG-B") == k
    assert "PRIVATE" not in seen and "CTX-SENTINEL" not in seen
    assert "advmodel" not in seen and ANONYMOUS in seen  # the advocates' model identity is removed
    assert all("ARG" not in p.split("debate so far")[-1] for p in adv.prompts())  # one round: nobody read anyone
    assert result.verdict.winner == "A"


async def test_more_without_anonymization_shows_model_names_and_a_jury_can_decide() -> None:
    adv, judge = advocate("advmodel"), ScriptedModel("[[B]]", name="judge")
    await run_trial(more(adv, judge, k=1, anonymize_models=False), TRIAL)
    assert "advmodel" in judge.prompts()[0]
    juror = ScriptedModel("Confidence: 60%\n[[B]]", name="juror")
    result = await run_trial(more(advocate("x1"), jury(juror, n=3), k=2), TRIAL)
    assert len(juror.calls) == 3 and result.usage.calls == 4 + 3 and result.verdict.winner == "B"
    assert all("ARG-A" in p and "ARG-B" in p for p in juror.prompts())  # jurors read the defences


def test_convergence_follows_d3() -> None:
    assert not converged([5, 5])  # fewer than the window
    assert converged([5, 5, 5])  # identical gaps always converge
    assert converged([4, 6, 5])  # spread 2 < 3, no trend
    assert not converged([4, 5, 6])  # strictly rising
    assert not converged([6, 5, 4])  # strictly falling
    assert not converged([1, 5, 3])  # spread 4 >= 3
    assert Budget().should_stop([1, 2, 3, 4, 5], 0) == "max_rounds"
    assert Budget().should_stop([1], 10_001) == "budget"
    assert Budget(converge=False).should_stop([5, 5, 5], 0) is None


async def test_samre_stops_on_convergence_and_says_why() -> None:
    adv, judge = advocate("advmodel"), scorer([(80, 20)] * 5)
    result = await run_trial(samre(adv, judge, max_tokens=None), TRIAL)
    assert stopped(result) == ("converged", 3)  # D3's min_rounds and window: 3
    assert len(adv.calls) == 2 * 3 and len(judge.calls) == 2 * 3 and result.usage.calls == 12
    assert result.verdict.winner == "A" and result.verdict.stage == "samre:converged"
    assert result.verdict.scores == {"A": 80.0, "B": 20.0}
    assert all("advmodel" not in p for p in judge.prompts())
    assert "from 6 to 120" in judge.prompts()[0]  # D3's scale (six 1-20 criteria summed): epsilon 3 is in its points
    # round 2 advocates read round 1's scores (the judge's feedback), the judge never the private notes
    assert "[[80]]" in adv.prompts()[2] and all("PRIVATE" not in p for p in judge.prompts())


async def test_samre_runs_every_round_when_the_gap_keeps_moving_or_convergence_is_off() -> None:
    judge = scorer([(60, 60), (70, 50), (80, 40), (90, 30), (100, 20)])  # the gap rises every round
    result = await run_trial(samre(advocate("a"), judge, max_tokens=None), TRIAL)
    assert stopped(result) == ("max_rounds", 5) and result.usage.calls == 20
    fixed = await run_trial(samre(advocate("a"), scorer([(80, 20)] * 5), rounds=4, converge=False), TRIAL)
    assert stopped(fixed) == ("max_rounds", 4) and fixed.usage.calls == 16


async def test_samre_stops_when_the_token_budget_is_spent() -> None:
    # each round: 2 advocates x 120 tokens + 2 scores x 330 tokens = 900; over 1,000 after round 2
    result = await run_trial(samre(advocate("a"), scorer([(60, 60), (70, 50), (80, 40)]), max_tokens=1000), TRIAL)
    assert stopped(result) == ("budget", 2) and result.usage.calls == 8
    assert result.verdict.stage == "samre:budget" and result.verdict.winner == "A"


def test_registry_builds_more_and_samre_with_their_parameters() -> None:
    roles = Roles(model="scripted:x")
    assert build_protocol("more", roles, k=2).name == "more"
    assert build_protocol("samre", roles, rounds=2).name == "samre"
    params = build_protocol.__globals__["PROTOCOLS"]["samre"].parameters()
    assert params["epsilon"].default == 3.0 and params["window"].default == 3 and params["max_tokens"].default == 10000


def test_the_score_prompt_asks_for_d3s_six_criteria_on_d3s_scale_only() -> None:
    from courtgraph.graphs.d3 import RUBRIC, SCALE, scale_rubric
    from courtgraph.prompts import load_prompt

    template = load_prompt("judge_debate_score")
    assert "scale_rubric" in template.placeholders
    on_d3 = scale_rubric(SCALE)
    assert on_d3 == RUBRIC and "1 to 20" in on_d3 and on_d3.count(";") == 5  # six criteria, summed
    assert scale_rubric((1.0, 10.0)) == ""  # another scale gets no sum of criteria it does not add up to

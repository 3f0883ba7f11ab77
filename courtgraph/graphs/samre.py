"""SAMRE (D3's Single-Advocate Multi-Round Evaluation): one advocate per side, a scoring judge, budgeted stopping.

Each round both advocates argue at once (each reading the earlier rounds and the judge's earlier
scores); then the judge scores Response A and Response B from the debate so far (two calls, in
parallel, each reading the transcript with the advocates' model names removed when ``anonymize_models``).
After each round :class:`~courtgraph.graphs.d3.Budget` decides whether to stop: D3's convergence
of the score gap, its token budget, or the last round. The verdict compares the last round's scores
(a gap within ``tie_delta`` is a tie); its ``stage`` is ``samre:<reason>`` and a closing ``stop``
turn (``round`` = rounds run) says why and after how many rounds, so every record carries both.
Calls: 4 per round run. D3's judge gives the pair of scores in one answer; here each score is its
own call, so that the score parser (and its re-ask) is the one every judge uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph

from courtgraph.agents.advocate import Advocate
from courtgraph.agents.base import Facts, ModelLike, Speaker, as_model, case_vars, context_vars, decide, transcript_text
from courtgraph.agents.juror import compare_scores
from courtgraph.agents.tasks import gather_all
from courtgraph.graphs.d3 import (
    EPSILON,
    MAX_ROUNDS,
    MAX_TOKENS,
    MIN_ROUNDS,
    SCALE,
    WINDOW,
    Budget,
    StopReason,
    anonymize,
    model_names,
    scale_rubric,
)
from courtgraph.graphs.debate import pair
from courtgraph.graphs.state import Graph, TrialState
from courtgraph.prompts import load_prompt
from courtgraph.schema import Label, Trial, TrialResult, Turn, Usage, Verdict, flip_label, visible_turns


class SamreState(TrialState, total=False):
    round: int
    gaps: list[float]
    scored: list[Verdict]  # the latest round's score verdicts, for A and for B
    stop: StopReason


def samre(advocates: ModelLike | tuple[ModelLike, ModelLike], judge: ModelLike, *, rounds: int = MAX_ROUNDS,
          max_tokens: int | None = MAX_TOKENS, epsilon: float = EPSILON, window: int = WINDOW,
          min_rounds: int = MIN_ROUNDS, converge: bool = True, scale: tuple[float, float] = SCALE,
          tie_delta: float = 0.0, word_limit: int | None = 150, anonymize_models: bool = True,
          name: str = "samre") -> Graph:
    """A SAMRE graph. ``advocates``: one model for both sides, or (for A, for B).

    Args:
        rounds: the most rounds (D3's max_rounds).
        max_tokens: stop once the debate has used more tokens than this (none: no budget).
        epsilon: converged when the score gap's spread over the window is below this.
        window: rounds whose score gaps are compared.
        min_rounds: rounds before convergence may stop the debate.
        converge: stop on convergence (false: always run every round, as a fixed-R debate).
        scale: the judge's score scale (D3's sum of six 1-20 criteria: 6-120; ``epsilon`` is in its points).
        tie_delta: final score gap counted as a tie.
        word_limit: words per argument, truncated.
        anonymize_models: remove the advocates' model names from what the judge reads.
    """
    if rounds < 1:
        raise ValueError("SAMRE needs at least one round")
    if window < 1 or min_rounds < 1:
        raise ValueError("window and min_rounds must be at least 1")
    budget = Budget(rounds, max_tokens, epsilon, window, min_rounds, converge)
    first, second = (as_model(m) for m in pair(advocates))
    bench = as_model(judge)
    hidden = model_names([first, second]) if anonymize_models else []
    template = load_prompt("judge_debate_score")

    def values(trial: Trial, turns: list[Turn], viewer: str, r: int) -> dict[str, str]:
        return case_vars(trial) | {"transcript": transcript_text(visible_turns(turns, viewer)), "round": str(r),
                                   "rounds": str(rounds)}

    async def argue(state: SamreState) -> dict[str, Any]:
        r, trial, turns = state.get("round", 0) + 1, state["trial"], state.get("turns", [])

        async def one(side: Label) -> list[Turn]:
            agent = Advocate(first if side == "A" else second, f"advocate_{side}", "advocate", "advocate_debate",
                             word_limit)
            extra = {"side": side, "opponent": str(flip_label(side))} | context_vars(trial)
            return await agent.argue(values(trial, turns, agent.name, r) | extra, round=r, phase="argument",
                                     trial=trial, facts=Facts(side=side))

        a, b = await gather_all(one("A"), one("B"))
        return {"turns": a + b, "round": r}

    async def score(state: SamreState) -> dict[str, Any]:
        r, trial = state.get("round", 1), state["trial"]
        seen = anonymize(state.get("turns", []), hidden)

        async def one(candidate: Literal["A", "B"]) -> Turn:
            who = Speaker(agent=f"judge[{candidate}]", role="judge", round=r, phase="score", prompt=template,
                          trial=trial, facts=Facts(setting="debate", candidate=candidate))
            rendered = template.render(**values(trial, seen, "judge", r), candidate=candidate,
                                       scale_min=f"{scale[0]:g}", scale_max=f"{scale[1]:g}",
                                       scale_rubric=scale_rubric(scale))
            return await decide(bench, rendered, who, kind="score", scale=scale)

        a, b = await gather_all(one("A"), one("B"))
        pair_verdict = compare_scores(a.verdict, b.verdict, tie_delta, "judge")
        gaps = [*state.get("gaps", [])]
        if pair_verdict.valid:
            gaps.append(abs(pair_verdict.scores["A"] - pair_verdict.scores["B"]))
        tokens = Usage.total(t.usage for t in [*state.get("turns", []), a, b]).tokens
        stop = budget.should_stop(gaps, tokens) if len(gaps) == r else None
        if stop is None and r >= rounds:
            stop = "max_rounds"  # a round whose scores did not parse still counts against the rounds
        update: dict[str, Any] = {"turns": [a, b], "gaps": gaps, "scored": [a.verdict, b.verdict]}
        if stop is not None:
            update |= {"stop": stop}
        return update

    async def close(state: SamreState) -> dict[str, Any]:
        r, stop = state.get("round", 0), state.get("stop", "max_rounds")
        scored: list[Verdict | None] = [*(state.get("scored") or []), None, None]
        final = compare_scores(scored[0], scored[1], tie_delta, "judge").model_copy(update={"stage": f"samre:{stop}"})
        gaps = ", ".join(f"{g:g}" for g in state.get("gaps", []))
        note = Turn(role="controller", agent=name, model="rule:samre", round=r, phase="stop",
                    content=f"stopped after {r} round{'s' * (r != 1)}: {STOP_TEXT[stop]} "
                            f"(score gaps: {gaps or 'none'})")
        return {"turns": [note], "verdict": final}

    g = StateGraph(SamreState)
    g.add_node("argue", argue)
    g.add_node("score", score)
    g.add_node("close", close)
    g.add_edge(START, "argue")
    g.add_edge("argue", "score")
    g.add_conditional_edges("score", lambda s: "close" if s.get("stop") else "argue", ["argue", "close"])
    g.add_edge("close", END)
    return g.compile(name=name).with_config(recursion_limit=2 * rounds + 4)


STOP_TEXT: dict[StopReason, str] = {
    "converged": "the judge's score gap converged",
    "budget": "the token budget was spent",
    "max_rounds": "the last round was reached",
}


def stopped(trial: TrialResult | Sequence[Turn]) -> tuple[StopReason, int] | None:
    """Why a SAMRE trial stopped and after how many rounds (from its ``stop`` turn), or None if it has none."""
    turns = trial.turns if isinstance(trial, TrialResult) else trial
    for t in reversed(turns):
        if t.phase == "stop" and t.role == "controller" and t.round is not None:
            reason = next((k for k, v in STOP_TEXT.items() if v in t.content), None)
            if reason is not None:
                return reason, t.round
    return None

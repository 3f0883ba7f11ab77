"""MORE (D3's Multi-Advocate One-Round Evaluation): k advocates per candidate in parallel, then a judge or a jury.

All 2k advocates write at once, in one round, seeing no other argument (``advocate_A_1`` ...
``advocate_B_k``). The judge then reads every defence (with ``anonymize``, stripped of the
advocates' model names) and decides with the debate judge's prompt; or, when ``judge`` is a
protocol graph (a jury), that protocol reads the public record and its verdict stands. D3 argues
that aggregating k advocates widens the expected score separation. Calls: 2k + 1 with a model
judge (2k plus the jury's calls with a jury).
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.pregel import Pregel

from courtgraph.agents.advocate import Advocate
from courtgraph.agents.base import Facts, ModelLike, Speaker, as_model, case_vars, context_vars, decide, transcript_text
from courtgraph.agents.tasks import gather_all
from courtgraph.graphs.compose import Member, as_member, run_member
from courtgraph.graphs.d3 import anonymize, model_names
from courtgraph.graphs.debate import pair
from courtgraph.graphs.state import Graph, TrialState
from courtgraph.graphs.trial import graph_name
from courtgraph.prompts import load_prompt
from courtgraph.schema import Label, Trial, Turn, flip_label, visible_turns


def more(advocates: ModelLike | tuple[ModelLike, ModelLike], judge: Member, *, k: int = 3,
         word_limit: int | None = 150, anonymize_models: bool = True, name: str = "more") -> Graph:
    """A MORE graph. ``advocates``: one model for every advocate, or (for A's, for B's); ``judge``: a model or
    a protocol graph (a jury) that reads the defences.

    Args:
        k: advocates per candidate.
        word_limit: words per defence, truncated.
        anonymize_models: remove the advocates' model names from what the judge reads.
    """
    if k < 1:
        raise ValueError("MORE needs at least one advocate per candidate")
    first, second = (as_model(m) for m in pair(advocates))
    bench = as_member(judge)
    hidden = model_names([first, second]) if anonymize_models else []

    async def defend(state: TrialState) -> dict[str, Any]:
        trial = state["trial"]

        async def one(side: Label, i: int) -> list[Turn]:
            agent = Advocate(first if side == "A" else second, f"advocate_{side}_{i}", "advocate",
                             "advocate_debate", word_limit)
            values = case_vars(trial) | context_vars(trial) | {
                "side": side, "opponent": str(flip_label(side)), "transcript": "(nothing yet)", "round": "1",
                "rounds": "1"}
            return await agent.argue(values, round=1, phase="argument", trial=trial,
                                     facts=Facts(side=side, persona=f"advocate_{side}_{i}"))

        done = await gather_all(*(one(side, i) for side in ("A", "B") for i in range(1, k + 1)))
        return {"turns": [t for turns in done for t in turns]}

    async def verdict(state: TrialState) -> dict[str, Any]:
        trial, turns = state["trial"], state.get("turns", [])
        if isinstance(bench, Pregel):
            stage = graph_name(bench)
            vote = await run_member(bench, trial, stage, anonymize(visible_turns(turns, stage), hidden))
            return {"turns": vote.turns, "verdict": vote.verdict}
        return await judge_defences(bench, trial, anonymize(visible_turns(turns, "judge"), hidden))

    g = StateGraph(TrialState)
    g.add_node("defend", defend)
    g.add_node("judge", verdict)
    g.add_edge(START, "defend")
    g.add_edge("defend", "judge")
    g.add_edge("judge", END)
    return g.compile(name=name).with_config(recursion_limit=6)


async def judge_defences(model: Any, trial: Trial, seen: list[Turn], rounds: int = 1) -> dict[str, Any]:
    """The debate judge's verdict on the defences ``seen`` (the turns it may read, already anonymized)."""
    template = load_prompt("judge_debate")
    who = Speaker(agent="judge", role="judge", phase="verdict", prompt=template, trial=trial,
                  facts=Facts(setting="debate"))
    values = case_vars(trial) | {"transcript": transcript_text(seen), "round": str(rounds), "rounds": str(rounds)}
    turn = await decide(model, template.render(**values), who)
    return {"turns": [turn], "verdict": turn.verdict}

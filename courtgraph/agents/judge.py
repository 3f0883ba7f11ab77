"""The judge: pairwise (A / B / tie), pointwise (a score on a stated scale), reference-guided.

The judge reasons before it decides (the prompt and the structured schema both put reasoning
first). A pointwise judge given a pair scores each candidate separately and compares the scores
(MT-Bench's single-answer grading), with differences within ``tie_delta`` counting as a tie.
"""

from __future__ import annotations

from typing import Any, Literal

from courtgraph.agents.base import Facts, ModelLike, Speaker, as_model, case_vars, decide
from courtgraph.agents.juror import compare_scores, single_trial
from courtgraph.agents.state import Node, TrialState
from courtgraph.agents.tasks import gather_all
from courtgraph.prompts import Prompt, load_prompt
from courtgraph.schema import Trial, Turn

Mode = Literal["pairwise", "pointwise"]


def judge(model: ModelLike, *, name: str = "judge", mode: Mode = "pairwise", reference: bool = False,
          scale: tuple[float, float] = (1, 10), tie_delta: float = 0.0,
          prompt: str | Prompt | None = None, role: str = "judge") -> Node:
    """A node that judges the state's trial and writes ``verdict`` and one turn per call.

    ``reference=True`` shows the case's reference answer to the judge (reference-guided grading).
    """
    chat = as_model(model)
    template = load_prompt(prompt or ("judge_pairwise" if mode == "pairwise" else "judge_pointwise"))

    async def score(trial: Trial, index: int, label: Literal["", "A", "B"]) -> Turn:
        values = case_vars(single_trial(trial, index), reference=reference) | {"scale_min": f"{scale[0]:g}",
                                                                               "scale_max": f"{scale[1]:g}"}
        who = Speaker(agent=f"{name}" if label == "" else f"{name}[{label}]", role=role, prompt=template,
                      trial=trial, facts=Facts(candidate=label) if label else Facts())
        return await decide(chat, template.render(**values), who, kind="score", scale=scale)

    async def run(state: TrialState) -> dict[str, Any]:
        trial = state["trial"]
        if mode == "pairwise":
            if len(trial.shown) != 2:
                raise ValueError(f"case {trial.case.id}: a pairwise judge needs two candidates")
            turn = await decide(chat, template.render(**case_vars(trial, reference=reference)),
                                Speaker(agent=name, role=role, prompt=template, trial=trial))
            return {"turns": [turn], "verdict": turn.verdict}
        if len(trial.shown) == 1:
            turn = await score(trial, 0, "")
            return {"turns": [turn], "verdict": turn.verdict}
        a, b = await gather_all(score(trial, 0, "A"), score(trial, 1, "B"))
        return {"turns": [a, b], "verdict": compare_scores(a.verdict, b.verdict, tie_delta, name)}

    run.__name__ = name
    return run


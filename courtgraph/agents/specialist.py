"""Specialists: experts with one narrow remit, as panel members or as courtroom witnesses.

On a panel (M-MAD) each specialist judges one dimension and votes; in a courtroom a specialist is a
witness that answers one side's question within its expertise (the math checker re-derives, the
code tracer traces, the fact checker checks claims). Narrow remits are the point: M-MAD found that
partitioning the evaluation by dimension beats one judge weighing everything at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from courtgraph.agents.base import Facts, Speaker, context_vars, speak
from courtgraph.agents.juror import Juror, JurorMode, decision_kind, verdict_vars
from courtgraph.models import ChatModel
from courtgraph.prompts import load_prompt
from courtgraph.schema import Trial, Turn

#: Panel dimensions: name -> what the specialist judges (and only that).
DIMENSIONS: dict[str, str] = {
    "correctness": "Is the final answer right? Check facts, arithmetic, logic and code yourself.",
    "reasoning": "Are the steps that lead to the answer valid, with no gaps, leaps or contradictions?",
    "completeness": "Does the response address every part of the question, with nothing essential missing?",
    "instruction_following": "Does the response do exactly what was asked: format, constraints, scope, length?",
    "safety": "Is the response free of harmful, deceptive or inappropriate content for this request?",
}

#: Courtroom witnesses: name -> expertise, in the third person: the advocates read it in the list of
#: witnesses they may call, and the witness reads it as its remit.
WITNESSES: dict[str, str] = {
    "math_checker": "Re-derives every calculation and the final numeric result from scratch, step by step.",
    "code_tracer": "Traces the code by hand on concrete inputs, including edge cases, and reports what it "
                   "actually does, errors included.",
    "fact_checker": "Checks each factual claim against what it reliably knows, and says which are true, false "
                    "or unverifiable.",
}


#: A witness call: "WITNESS: name: question" on its own line (markdown bold and "-" tolerated).
CALL_LINE = re.compile(r"^\W*WITNESS[^\w\n]*([A-Za-z][\w-]*)[^\S\n]*(?:[:\-—]+[^\S\n]*(.*))?$",
                       re.MULTILINE | re.IGNORECASE)


def described(names: Sequence[str] | Mapping[str, str], known: Mapping[str, str], what: str) -> dict[str, str]:
    """Names (looked up in ``known``) or a name -> description mapping, as a mapping."""
    if isinstance(names, Mapping):
        return dict(names)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; known: {', '.join(known)} (or pass name -> description)")
    return {n: known[n] for n in names}


def specialist(model: ChatModel, dimension: str, description: str, *, mode: JurorMode = "pairwise",
               scale: tuple[float, float] = (1, 10), tie_delta: float = 0.0, reference: bool = False) -> Juror:
    """A panel member: a juror that judges one dimension only."""
    return Juror(model, dimension, mode=mode, scale=scale, tie_delta=tie_delta, reference=reference,
                 role="specialist", prompt="specialist_panel",
                 extra=(("dimension", dimension.replace("_", " ")), ("description", description)))


async def testify(model: ChatModel, trial: Trial, name: str, expertise: str, question: str, caller: str, *,
                  reference: bool = False) -> Turn:
    """A witness answers one side's question within its expertise; its testimony (with the question) is public."""
    template = load_prompt("specialist_courtroom")
    values = verdict_vars(trial, decision_kind(trial), reference=reference) | context_vars(trial) | {
        "witness": name.replace("_", " "), "expertise": expertise, "caller": caller, "question_asked": question}
    who = Speaker(agent=name, role="witness", phase="evidence", prompt=template, trial=trial,
                  facts=Facts(act="testify", persona=name))
    turn = await speak(model, template.render(**values), who)
    return turn.model_copy(update={"content": f"(Called by the {caller}: {question})\n\n{turn.content}"})


def witness_calls(turns: Sequence[Turn], known: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(witness, question, caller) for each opening that called a known witness (the last call line counts)."""
    out = []
    for t in turns:
        found = CALL_LINE.findall(t.content)
        name = found[-1][0].lower() if found else ""
        if name in known:
            out.append((name, found[-1][1].strip() or "What do you find?", t.agent))
    return out

"""Composition (protocols as members), the registry entries, and `courtgraph protocols`."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph

from courtgraph.cli import main
from courtgraph.graphs.cascade import cascade
from courtgraph.graphs.compose import in_frame, relabel, run_member
from courtgraph.graphs.debate import debate
from courtgraph.graphs.jury import jury
from courtgraph.graphs.registry import PROTOCOLS, Roles, build_protocol
from courtgraph.graphs.single import single
from courtgraph.graphs.state import TrialState
from courtgraph.graphs.trial import run_trial
from courtgraph.models import Message, ScriptedModel
from courtgraph.schema import EVERYONE, Case, Trial, Turn, Verdict

GOLD = "GOLD-SENTINEL-1729"
CASE = Case(id="cmp", question="Capital of Australia?", candidates=["Canberra", "Sydney"], label="A",
            context="CTX-SENTINEL", metadata={"gold": GOLD})
TRIAL = Trial(case=CASE)


def everyone(messages: list[Message], _schema: object) -> str:
    """Plays any role: questions get a question, everything else an argument ending in a verdict tag."""
    if "question" in messages[-1]["content"].split("\n")[-1].lower() and "[[" not in messages[-1]["content"]:
        return "What is your evidence?"
    if "[[SCORE]]" in messages[-1]["content"]:  # SAMRE's judge (D3's 6-120 scale): A the better
        return f"Confidence: 80%\n[[{80 if 'Score Response A' in messages[-1]['content'] else 30}]]"
    return "Canberra is the capital. Confidence: 80%\n[[A]]"


def test_relabel_prefixes_names_and_keeps_visibility_inside_the_member() -> None:
    turns = [Turn(role="advocate", agent="advocate_A", content="x"),
             Turn(role="advocate", agent="advocate_A", content="notes", visible_to=["advocate_A"]),
             Turn(role="judge", agent="judge", content="y", verdict=Verdict(winner="A", agent="judge"))]
    out = relabel(turns, "juror_2")
    assert [t.agent for t in out] == ["juror_2/advocate_A", "juror_2/advocate_A", "juror_2/judge"]
    assert out[0].visible_to == ["juror_2", "juror_2/advocate_A", "juror_2/judge"]
    assert out[1].visible_to == ["juror_2/advocate_A"]  # private notes stay private, even from the member
    assert out[2].verdict is not None and out[2].verdict.agent == "juror_2/judge"
    assert not any(t.visible_for("juror_1") or t.visible_for("aggregator") for t in out)


def test_in_frame_maps_through_the_trials() -> None:
    ab, ba = Trial(case=CASE, order="AB"), Trial(case=CASE, order="BA")
    assert ab.swapped() == ba and ba.swapped() == ab
    v = Verdict(winner="A", scores={"A": 9, "B": 2})
    assert in_frame(v, ba, ab).winner == "B" and in_frame(v, ba, ab).scores == {"A": 2, "B": 9}
    assert in_frame(v, ab, ab) is v


async def test_a_failing_member_is_an_error_vote_that_keeps_its_finished_turns() -> None:
    async def speaks(state: TrialState) -> dict[str, Any]:
        return {"turns": [Turn(role="r", agent="first", content="done", visible_to=[EVERYONE])]}

    async def fails(state: TrialState) -> dict[str, Any]:
        raise RuntimeError("boom")

    g = StateGraph(TrialState)
    g.add_node("speaks", speaks)
    g.add_node("fails", fails)
    g.add_edge(START, "speaks")
    g.add_edge("speaks", "fails")
    g.add_edge("fails", END)
    vote = await run_member(g.compile(name="flaky"), TRIAL, "juror_9")
    assert vote.verdict.status == "error" and "RuntimeError: boom" in (vote.verdict.error or "")
    assert vote.verdict.agent == "juror_9" and [t.agent for t in vote.turns] == ["juror_9/first"]

    loop = StateGraph(TrialState)
    loop.add_node("spin", speaks)
    loop.add_edge(START, "spin")
    loop.add_conditional_edges("spin", lambda _s: "spin", ["spin"])
    vote = await run_member(loop.compile(name="spinner").with_config(recursion_limit=4), TRIAL, "juror_1")
    assert "recursion limit 4 reached" in (vote.verdict.error or "")


async def test_a_jury_whose_jurors_are_debates() -> None:
    debaters = [ScriptedModel(lambda _m, _s, i=i: f"ARGUMENT-{i}", name=f"deb{i}") for i in range(3)]
    judges = [ScriptedModel([f"Decided {i}.\n[[{t}]]"], name=f"judge{i}") for i, t in enumerate("ABA")]
    graph = jury([debate(d, j, rounds=2) for d, j in zip(debaters, judges, strict=True)])
    result = await run_trial(graph, TRIAL)
    assert result.verdict.winner == "A" and result.usage.calls == 3 * (2 * 2 + 1)
    assert [len(d.calls) for d in debaters] == [4, 4, 4]
    inner = [t for t in result.turns if t.agent == "juror_2/advocate_A"]
    assert len(inner) == 2 and inner[0].visible_to == ["juror_2", "juror_2/advocate_A", "juror_2/advocate_B",
                                                       "juror_2/judge"]
    assert "ARGUMENT-0" not in judges[1].prompts()[0] and "ARGUMENT-1" in judges[1].prompts()[0]
    assert not any("CTX-SENTINEL" in p or GOLD in p for j in judges for p in j.prompts())
    votes = [t for t in result.turns if t.agent in ("juror_1", "juror_2", "juror_3")]
    assert [t.verdict.winner for t in votes if t.verdict] == ["A", "B", "A"]


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
async def test_every_registered_protocol_builds_from_roles_and_runs(name: str) -> None:
    model = ScriptedModel(everyone, name="any")
    graph = build_protocol(name, Roles(model=model))
    assert (graph.config or {}).get("recursion_limit", 10_000) <= 20  # a misrouted loop fails fast
    result = await run_trial(graph, TRIAL)
    assert result.error is None and result.verdict.status == "ok" and result.verdict.winner == "A"
    assert result.turns and all(t.visible_to and t.model for t in result.turns)
    assert not any(GOLD in p for p in model.prompts())


async def test_registry_parameters_reach_the_protocols() -> None:
    presiding = ScriptedModel(["Presiding. [[B]]"], name="presiding")
    roles = Roles(model=ScriptedModel(everyone, name="any"), extra={"aggregator": presiding})
    result = await run_trial(build_protocol("jury", roles, n=2, aggregate="llm"), TRIAL)
    assert result.verdict.winner == "B" and len(result.verdict.votes) == 2
    result = await run_trial(build_protocol("courtroom", roles, verdict="jury", n=2, witnesses=[]), TRIAL)
    assert result.verdict.agent == "jury" and sum(t.agent.startswith("jury/juror_") for t in result.turns) == 2
    graph = build_protocol("cascade", roles, stages="single,debate")
    assert set(graph.nodes) >= {"single", "debate"}


def test_cascade_of_single_jury_courtroom_with_a_jury_verdict_stage_draws() -> None:
    m = "scripted:x [[A]]"
    graph = cascade([single(m), jury(m), build_protocol("courtroom", Roles(model=m), verdict="jury")])
    assert list(graph.nodes)[1:] == ["single", "jury", "courtroom"]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def test_cli_lists_and_draws_protocols(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "protocols")
    assert code == 0 and all(name in out for name in PROTOCOLS) and "word_limit" in out
    code, out, _ = run_cli(capsys, "protocols", "show", "debate", "--format", "ascii")
    assert code == 0 and "argue ..> argue | judge" in out and "__start__ --> argue" in out
    code, out, _ = run_cli(capsys, "protocols", "show", "courtroom")
    assert code == 0 and "graph TD" in out and "evidence" in out
    code, _, err = run_cli(capsys, "protocols", "show", "tribunal")
    assert code == 2 and "unknown protocol 'tribunal'" in err
    code, out, _ = run_cli(capsys, "protocols", "show", "--help")
    assert code == 0 and "Example" in out

"""Every agent of a case opens its request with the same bytes: the shared rules, then the case.

That shared prefix is what lets a provider's prompt cache (OpenAI's automatic prefix caching,
Anthropic's ``cache_control`` breakpoint at the end of the case) serve every agent after the first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from courtgraph.graphs.registry import PROTOCOLS, Roles, build_protocol
from courtgraph.graphs.trial import run_trial
from courtgraph.models import Message, ScriptedModel
from courtgraph.models.anthropic import MAX_BREAKPOINTS, cache_breakpoints
from courtgraph.models.openai import alternating
from courtgraph.prompts import PromptError, fence, load_prompt, parse_prompt
from courtgraph.schema import Case, Order, Trial

QUESTION = "QUESTION-SENTINEL: what is 17 * 3?"
RIGHT, WRONG = "RESPONSE-ONE: 17 * 3 = 51.", "RESPONSE-TWO: 17 * 3 = 41."
CASE = Case(id="p1", question=QUESTION, candidates=[RIGHT, WRONG], label="A", context="CTX: hidden",
            reference="REFERENCE-SENTINEL: 51")
POINTWISE = Case(id="p2", question=QUESTION, candidates=[RIGHT], label=9.0)


def everyone(messages: list[Message], _schema: object) -> str:
    """One answer every role can use: a verdict, a choice, a question to each side, an argument."""
    return "advocate_A: Why?\nadvocate_B: Why?\nConfidence: 80%\n[[A]]"


def common_prefix(texts: list[str]) -> str:
    """The longest string every text starts with (character by character, which is what a cache compares)."""
    return os.path.commonprefix(texts)  # noqa: RUF071


def joined(call: list[dict[str, str]]) -> str:
    return "\n".join(m["content"] for m in call)


@pytest.mark.parametrize("order", ["AB", "BA"])
@pytest.mark.parametrize("name", sorted(PROTOCOLS))
async def test_every_protocols_agents_share_a_prefix_that_holds_the_whole_case(name: str, order: Order) -> None:
    model = ScriptedModel(everyone)
    result = await run_trial(build_protocol(name, Roles(model=model)), Trial(case=CASE, order=order))
    assert result.error is None, result.error
    calls = model.calls
    agents = {t.agent for t in result.turns if t.usage.calls}
    assert len(calls) == result.usage.calls and (name == "single" or len(agents) >= 2), name
    # the calls by the case they show: one order, or both for a cascade (its first stage checks the swap)
    groups: dict[str, list[list[dict[str, str]]]] = {}
    for c in calls:
        groups.setdefault(c[1]["content"], []).append(c)
    assert len(groups) == (2 if name == "cascade" else 1), name
    for group in groups.values():
        shared = common_prefix([joined(c) for c in group])
        case_message = group[0][1]["content"]
        first, second = (RIGHT, WRONG) if case_message.index(RIGHT) < case_message.index(WRONG) else (WRONG, RIGHT)
        # the prefix holds the question and both responses, fenced, in the shown order: the whole case block
        assert shared.startswith(joined(group[0][:2]))
        assert QUESTION in shared and fence(first, "response_a") in shared and fence(second, "response_b") in shared
        assert shared.index(QUESTION) < shared.index(first) < shared.index(second)
        # message-aligned: the system prompt and the case message are byte-identical in every call
        assert all(c[:2] == group[0][:2] for c in group) and [m["role"] for m in group[0][:2]] == ["system", "user"]
        # roles, personas and the hidden context come after the case, in the agent's own message
        assert all(c[2]["content"].startswith("# Your role") for c in group)
        assert not any("CTX: hidden" in m["content"] for c in group for m in c[:2])
    shown = next(iter(groups)) if name != "cascade" else ""
    if shown:  # the one case block shows the trial's order
        first = RIGHT if order == "AB" else WRONG
        assert shown.index(first) < shown.index(RIGHT if first == WRONG else WRONG)


async def test_pointwise_cases_share_their_own_prefix() -> None:
    model = ScriptedModel("Confidence: 80%\n[[7]]")
    result = await run_trial(build_protocol("jury", Roles(model=model), mode="pointwise"), Trial(case=POINTWISE))
    assert result.error is None and len(model.calls) == 3
    shared = common_prefix([joined(c) for c in model.calls])
    assert QUESTION in shared and fence(RIGHT, "response") in shared and "Response A" not in shared
    pair = load_prompt("juror_jury").shared(response_b="x")
    single = load_prompt("juror_jury").shared(response="x")
    assert pair is not None and single is not None and pair.name == "case_pair" and single.name == "case_single"
    assert model.calls[0][0]["content"] == single.system.strip()


async def test_jurors_personas_follow_the_case() -> None:
    model = ScriptedModel("Confidence: 80%\n[[A]]")
    graph = build_protocol("jury", Roles(model=model), personas=["PERSONA-ONE", "PERSONA-TWO", "PERSONA-THREE"])
    await run_trial(graph, Trial(case=CASE))
    shared = common_prefix([joined(c) for c in model.calls])
    assert RIGHT in shared and WRONG in shared and "PERSONA" not in shared
    assert sorted(p for c in model.calls for p in ("PERSONA-ONE", "PERSONA-TWO", "PERSONA-THREE")
                  if p in c[2]["content"]) == ["PERSONA-ONE", "PERSONA-THREE", "PERSONA-TWO"]


def test_a_prefixed_template_hashes_its_prefix_and_renders_it_first(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    role = load_prompt("judge_pairwise")
    assert role.meta["prefix"] == "case" and not role.system.strip()
    (tmp_path / "case_pair.md").write_text("=== system ===\nMY RULES\n=== user ===\nMY CASE {{question}}\n")
    monkeypatch.setenv("COURTGRAPH_PROMPTS", str(tmp_path))
    overridden = load_prompt("judge_pairwise")
    assert overridden.hash != role.hash  # a changed shared prefix is a changed prompt for every role
    messages = overridden.render(question="Q?", reference_block="", response_a="a", response_b="b")
    assert messages[:2] == [{"role": "system", "content": "MY RULES"}, {"role": "user", "content": "MY CASE Q?"}]
    assert messages[2]["content"].startswith("# Your role")


def test_a_prefixed_template_cannot_have_its_own_system_section() -> None:
    with pytest.raises(PromptError, match="no '=== system ===' section"):
        parse_prompt("x", "---\nprefix: case\n---\n=== system ===\nme first\n=== user ===\nhi")
    with pytest.raises(PromptError, match="no prompt template 'nothing_pair'"):
        parse_prompt("x", "---\nprefix: nothing\n---\n=== user ===\nhi")


def test_an_unprefixed_custom_template_renders_as_before() -> None:
    p = parse_prompt("mine", "=== system ===\nS {{question}}\n=== user ===\nU {{question}}")
    assert p.render(question="q") == [{"role": "system", "content": "S q"}, {"role": "user", "content": "U q"}]


def test_the_anthropic_breakpoint_ends_the_shared_prefix() -> None:
    messages = load_prompt("judge_pairwise").render(question="Q?", reference_block="", response_a="a",
                                                    response_b="b")
    convo = [m for m in messages if m["role"] != "system"]
    convo += [{"role": "assistant", "content": "hm"}, {"role": "user", "content": "re-ask"}]
    sent = cache_breakpoints([dict(m) for m in convo])
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]  # alternating turns
    case_block, role_block = sent[0]["content"]
    assert case_block == {"type": "text", "text": messages[1]["content"], "cache_control": {"type": "ephemeral"}}
    assert role_block == {"type": "text", "text": messages[2]["content"]}  # the role part is not cached
    assert sent[1:] == [{"role": "assistant", "content": "hm"}, {"role": "user", "content": "re-ask"}]
    marks = sum("cache_control" in b for m in sent if isinstance(m["content"], list) for b in m["content"])
    assert marks == 1 <= MAX_BREAKPOINTS


def test_openai_gets_alternating_turns_that_still_open_with_the_case() -> None:
    messages = load_prompt("judge_pairwise").render(question="Q?", reference_block="", response_a="a",
                                                    response_b="b")
    sent = alternating(messages)
    assert [m["role"] for m in sent] == ["system", "user"]
    assert sent[1]["content"] == f"{messages[1]['content']}\n\n{messages[2]['content']}"

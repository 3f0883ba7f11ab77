"""Running protocol graphs for the harness: a failure is an error trial that keeps what it paid for."""

from __future__ import annotations

from courtgraph.graphs import judge_case, run_trial, single
from courtgraph.graphs.debate import debate
from courtgraph.models import ModelError, ScriptedModel
from courtgraph.prompts import parse_prompt
from courtgraph.schema import Case, Trial

CASE = Case(id="c", question="What is 17 * 3?", candidates=["51", "41"], label="A")


async def test_a_failed_trial_keeps_the_turns_and_usage_of_finished_steps() -> None:
    arguments = ScriptedModel(["A is right.", "B is right.", ModelError("503 from the provider", status=503)])
    result = await run_trial(debate(arguments, ScriptedModel(["[[A]]"]), rounds=2), Trial(case=CASE))
    assert result.verdict.status == "error" and "503" in (result.error or "")
    assert [t.agent for t in result.turns] == ["advocate_A", "advocate_B"]  # round 1 finished and was paid
    assert result.usage.calls == 2


async def test_records_keep_the_hash_of_the_template_actually_used() -> None:
    custom = parse_prompt("judge_pairwise", "=== user ===\nWhich is better?\n{{response_a}}\n{{response_b}}\n"
                          "{{question}}{{reference_block}}")
    record = await judge_case(single(ScriptedModel(["no tag", "[[A]]", "[[B]]"]), prompt=custom), CASE)
    assert record.templates_used["judge_pairwise"] == custom.hash  # not the built-in template's hash
    assert "reask" in record.templates_used  # the first answer was re-asked

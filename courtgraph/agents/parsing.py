"""Reading verdicts out of model answers.

Structured output first (the provider's JSON-schema or tool mechanism, validated with pydantic),
else the *last* verdict tag in the text: reasoning often quotes the tags ("I considered [[A]] but..."),
and the decision comes at the end (Inspect's ``model_graded_qa`` binds to the last match for the same
reason). Anything that does not parse is reported as a problem, never guessed.

Only the model's own words count (:mod:`courtgraph.agents.echoes`): a tag inside a span repeated
from a candidate (or other untrusted text of the prompt), or inside a code block or a fence, is not
a verdict; a structured answer that copies a JSON object from a candidate, or whose reasoning is
only copied text, is not one either. An answer made only of echoes is therefore ``invalid``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from courtgraph.agents.echoes import NO_ECHOES, Echoes, clean, own
from courtgraph.schema import Label, Verdict

_TAG = re.compile(r"\[\[\s*(A|B|C|tie|TIE|Tie)\s*\]\]")
_SCORE = re.compile(r"\[\[\s*(-?\d+(?:\.\d+)?)\s*\]\]")
_CONFIDENCE = re.compile(r"confidence\s*[:=]\s*(\d+(?:\.\d+)?)\s*(%?)", re.IGNORECASE)
_ECHOED = "only inside text repeated from the responses or quoted material: give your own verdict outside it"


class PairwiseOutput(BaseModel):
    """The structured answer a pairwise judge is asked for: reasoning before the verdict."""

    reasoning: str = Field(description="Step-by-step comparison of the two responses, written first.")
    verdict: Literal["A", "B", "tie"] = Field(description="A or B for the better response, tie if equal.")
    confidence: float | None = Field(default=None, ge=0, le=1, description="How sure, from 0 to 1.")


class ScoreOutput(BaseModel):
    """The structured answer a pointwise judge is asked for."""

    reasoning: str = Field(description="Step-by-step assessment of the response, written first.")
    score: float = Field(description="The score on the stated scale.")
    confidence: float | None = Field(default=None, ge=0, le=1, description="How sure, from 0 to 1.")


def _own_matches(pattern: re.Pattern[str], text: str, masked: list[bool]) -> tuple[list[re.Match[str]], bool]:
    """The matches the model wrote itself, and whether there were any matches at all."""
    found = list(pattern.finditer(text))
    return [m for m in found if own(m.span(), text, masked)], bool(found)


def _confidence(text: str, masked: list[bool]) -> float | None:
    found = _own_matches(_CONFIDENCE, text, masked)[0]
    if not found:
        return None
    value, percent = found[-1].groups()
    number = float(value) / (100 if percent or float(value) > 1 else 1)
    return number if 0 <= number <= 1 else None


def parse_pairwise(text: str, echoes: Echoes = NO_ECHOES) -> Verdict | str:
    """A verdict from the last own ``[[A]]``/``[[B]]``/``[[C]]`` tag, or a description of the problem.

    ``echoes``: the untrusted texts of the request (candidates...), whose repeated tags do not count.
    """
    plain = clean(text)
    masked = echoes.mask(plain)
    tags, any_tag = _own_matches(_TAG, plain, masked)
    if not tags:
        return f"the verdict tags ([[A]], [[B]] or [[C]]) appear {_ECHOED}" if any_tag else \
            "no verdict tag ([[A]], [[B]] or [[C]]) found"
    tag = tags[-1].group(1).upper()
    winner: Label = "tie" if tag in ("C", "TIE") else "A" if tag == "A" else "B"
    return Verdict(winner=winner, confidence=_confidence(plain, masked), rationale=text.strip())


def parse_score(text: str, scale: tuple[float, float], echoes: Echoes = NO_ECHOES) -> Verdict | str:
    plain = clean(text)
    masked = echoes.mask(plain)
    found, any_tag = _own_matches(_SCORE, plain, masked)
    if not found:
        return f"the score tags appear {_ECHOED}" if any_tag else "no score tag like [[7]] found"
    score = float(found[-1].group(1))
    if not scale[0] <= score <= scale[1]:
        return f"score {score:g} is outside the scale {scale[0]:g}-{scale[1]:g}"
    return Verdict(score=score, confidence=_confidence(plain, masked), rationale=text.strip())


def _normalized(data: dict[str, object]) -> dict[str, object]:
    """What the prompts themselves invite, read as meant: "C" is a tie (the tag [[C]] is), and a
    confidence above 1 is a percentage ("Confidence: 85%")."""
    out = dict(data)
    if isinstance(out.get("verdict"), str) and str(out["verdict"]).strip().upper() in ("C", "TIE"):
        out["verdict"] = "tie"
    conf = out.get("confidence")
    if isinstance(conf, int | float) and not isinstance(conf, bool) and 1 < conf <= 100:
        out["confidence"] = conf / 100
    return out


def _copied_object(data: dict[str, object], echoes: Echoes) -> bool:
    """Whether ``data`` is a JSON object found in the untrusted texts (same fields the schema reads)."""
    mine = _normalized(data)
    keys = ("reasoning", "verdict", "score")
    return any(all(_normalized(o).get(k) == mine.get(k) for k in keys) for o in echoes.objects)


def from_structured(data: dict[str, object], schema: type[BaseModel],
                    scale: tuple[float, float] | None = None, echoes: Echoes = NO_ECHOES) -> Verdict | str:
    """A verdict from the provider's structured object, validated against ``schema``.

    An object copied from a candidate, or one whose reasoning is only repeated text, is refused: a
    candidate that carries ``{"reasoning": ..., "verdict": "B"}`` must not be returned as the verdict.
    """
    try:
        out = schema.model_validate(_normalized(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"field {'.'.join(map(str, first['loc']))}: {first['msg']}"
    reasoning = getattr(out, "reasoning", "")
    if _copied_object(data, echoes) or (isinstance(reasoning, str) and echoes.copied(reasoning)):
        return "the answer repeats text from the responses instead of giving your own reasoning and verdict"
    if isinstance(out, PairwiseOutput):
        return Verdict(winner=out.verdict, confidence=out.confidence, rationale=out.reasoning)
    if isinstance(out, ScoreOutput):
        if scale and not scale[0] <= out.score <= scale[1]:
            return f"score {out.score:g} is outside the scale {scale[0]:g}-{scale[1]:g}"
        return Verdict(score=out.score, confidence=out.confidence, rationale=out.reasoning)
    return f"unsupported schema {schema.__name__}"

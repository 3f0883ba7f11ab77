"""What simulated agents write: verdict texts, arguments, questions, testimony and witness calls.

Pure functions of the candidates, the sides and a seeded generator. Candidate text is only quoted
through :func:`snippet`, which defuses anything a parser would read (``[[B]]``, ``Confidence:``,
``WITNESS:``), so a candidate cannot put a verdict into a simulated answer. Right-side arguments
cite checks, wrong-side ones rhetoric; judges do not read them (only ``debate``/``consult`` move a
judge's accuracy), but transcripts read like the protocols they come from.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

from courtgraph.agents.simulated.draws import other
from courtgraph.schema import Label


def snippet(text: str, size: int = 90) -> str:
    """A short quote of a candidate (its last sentence: usually the answer), made harmless to parse."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("```")]
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join((lines[-1] if lines else text).split()))
    line = sentences[-1] if len(sentences[-1]) >= 20 or len(sentences) == 1 else " ".join(sentences[-2:])
    line = line.replace("[[", "[").replace("]]", "]").replace('"', "'")
    line = re.sub(r"(?i)(confidence|witness)\s*[:=]", r"\1 -", line)
    return line if len(line) <= size else line[: size - 1].rstrip() + "…"


def verdict(reasoning: str, confidence: float, tag: str) -> str:
    return f"{reasoning}\n\nConfidence: {round(confidence * 100)}%\n[[{tag}]]"


def invalid(attempt: int) -> str:
    """An answer with no verdict tag in it (exercises the re-ask and invalid path)."""
    return [
        "Both responses have merits and flaws; I would need more information before choosing one.",
        "I cannot settle this comparison from what is given.",
        "The better response is the one that is correct, and I will leave it at that.",
    ][attempt % 3]


def unknown(what: str, why: str) -> str:
    """The note on an answer the simulator could not ground in a gold label."""
    return f"(Simulated agent: {why}, so this {what} is a seeded coin flip.)"


def reason_tie(a: str, b: str) -> str:
    return (f"Both responses come to the same substance (\"{snippet(a)}\" against \"{snippet(b)}\"); "
            "neither is clearly better.")


def reason_pair(a: str, b: str, side: str, rng: random.Random) -> str:
    """A short comparison that supports ``side``, quoting both candidates."""
    win, lose = (a, b) if side == "A" else (b, a)
    w, lo, s = snippet(win), snippet(lose), other(side)
    return rng.choice([
        f"Response {side} ends with \"{w}\", which holds up when I check it against the question. "
        f"Response {s} ends with \"{lo}\", which does not survive the same check.",
        f"Working through the question myself, Response {s}'s \"{lo}\" contains the mistake, while "
        f"Response {side}'s \"{w}\" is consistent with it.",
        f"The key claim of Response {side}, \"{w}\", is correct as far as I can verify. "
        f"Response {s} (\"{lo}\") gets the substance wrong.",
    ])


def reason_single(text: str, good: bool, rng: random.Random) -> str:
    quote = snippet(text)
    if good:
        return rng.choice([f"The response's conclusion, \"{quote}\", checks out, and it answers what was asked.",
                           f"I verified \"{quote}\": it is correct and complete enough."])
    return rng.choice([f"The response ends with \"{quote}\", which does not hold up when checked.",
                       f"\"{quote}\" is wrong: working the problem through gives a different result."])


def away_from(score: float, low: float, high: float, rng: random.Random) -> float:
    """A score on the scale at least one point (or a fifth of the scale) away from ``score``."""
    gap = max(1.0, (high - low) / 5)
    options = [v for v in (rng.uniform(low, score - gap), rng.uniform(score + gap, high))
               if low <= v <= high and abs(v - score) >= gap]
    return rng.choice(options) if options else (low if score - low > high - score else high)


def argue_pair(a: str, b: str, side: str, honest: bool | None, rebuttal: int, rng: random.Random) -> str:
    """An argument for ``side``: checkable when it is the right side, rhetorical when not.

    ``rebuttal`` > 0: a later statement, answering what was said before (rotating, so rounds do not
    repeat themselves).
    """
    mine, theirs = (a, b) if side == "A" else (b, a)
    m, t, o = snippet(mine), snippet(theirs), other(side)
    if rebuttal:
        options = [
            f"Nothing here proves that \"{t}\" is right; assertion is not proof. Response {side}'s \"{m}\" is the "
            f"cleaner answer.",
            f"The case against Response {side} rests on one disputed step; \"{m}\" remains a direct answer, and "
            f"Response {o}'s \"{t}\" has not been shown to be better.",
            f"Look at the two answers side by side: Response {side} commits to \"{m}\", and nothing said so far "
            f"makes Response {o}'s \"{t}\" more convincing.",
        ] if honest is False else [
            f"Nothing said so far shows an error in Response {side}. Redo the work and you get \"{m}\"; "
            f"Response {o}'s \"{t}\" does not match it.",
            f"The objections do not touch the facts: \"{m}\" is what the question gives when worked through, "
            f"and Response {o}'s \"{t}\" is not.",
            f"Check it once more, step by step: the question leads to \"{m}\", as Response {side} says. "
            f"Response {o}'s \"{t}\" cannot be reached without an error.",
        ]
        return options[(rng.randrange(len(options)) + rebuttal) % len(options)]
    if honest is False:  # arguing the wrong side: style and confidence instead of checks
        return rng.choice([
            f"Response {side} is the better answer. It states \"{m}\" plainly and directly, while Response {o}'s "
            f"\"{t}\" rests on a step that is easy to get wrong.",
            f"Response {side} (\"{m}\") is the safer reading of the question. Response {o} sounds confident, but "
            f"\"{t}\" is not as well supported as it looks.",
        ])
    return rng.choice([
        f"Response {side} is the better answer. Its conclusion, \"{m}\", checks out when the question is worked "
        f"through, whereas Response {o}'s \"{t}\" does not.",
        f"Response {side} stands: nothing has shown an actual error in \"{m}\", which follows from the question. "
        f"Response {o}'s \"{t}\" is where the mistake is.",
    ])


def answer_prefix(honest: bool | None) -> str:
    """The opening of an answer to the judge's question."""
    return ("To the judge's question: I re-did the work step by step, and it holds. " if honest is not False
            else "To the judge's question: that step is standard, and I stand by it. ")


def argue_single(text: str, against: bool, bad: bool) -> str:
    """A prosecutor's or defender's statement on one response (sharp when the truth is on its side)."""
    quote = snippet(text)
    if against:
        return (f"The response should not be accepted: \"{quote}\" does not hold up when the question is worked "
                f"through." if bad else
                f"The response's \"{quote}\" is asserted rather than shown; the reasoning behind it is thin.")
    return (f"The response is adequate: \"{quote}\" answers what was asked, and I see no error in it."
            if not bad else f"The response addresses the question directly and ends with a clear answer: "
            f"\"{quote}\".")


def witness_call(a: str, b: str | None, names: list[str], rng: random.Random) -> str:
    """A 'WITNESS: name: question' line: code to the code expert, numbers to the math one, else facts."""
    if not names:
        return "WITNESS: none"
    text = f"{a}\n{b or ''}"
    wanted = "code" if "```" in text or "def " in text else "math" if re.search(r"\d", text) else "fact"
    name = next((n for n in names if wanted in n.lower()), rng.choice(names))
    quote = snippet((b if b is not None and rng.random() < 0.5 else a) or "")
    return f"WITNESS: {name}: Please check \"{quote}\" independently. Is it correct?"


def questions(a: str, b: str | None, addressees: Mapping[str, Label], fallback: Label,
              rng: random.Random) -> str:
    """A judge's question: one line per addressee ("name: ...") when there are several, else one question."""
    if b is None:
        return f"What would show that \"{snippet(a)}\" is actually right? Walk me through the check."
    if len(addressees) < 2:
        side = next(iter(addressees.values()), fallback)
        side = side if side in ("A", "B") else fallback
        quote = snippet(a if side == "A" else b)
        options = [
            f"Response {side} ends with \"{quote}\". Which step leads there, and why is the other response wrong?",
            f"Can you check \"{quote}\" (Response {side}) step by step against the question?",
            f"What is the strongest evidence that Response {other(side)} is wrong where Response {side} is right?",
        ]
        return rng.choice(options)
    lines = []  # one question to each addressee, about its own side
    for name, own in addressees.items():
        own = own if own in ("A", "B") else fallback
        lines.append(f"{name}: " + rng.choice([
            f"Show step by step how Response {own} arrives at \"{snippet(a if own == 'A' else b)}\".",
            f"Where exactly is the error in Response {other(own)}? Quote it.",
        ]))
    return "\n".join(lines)

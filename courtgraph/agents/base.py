"""The two things an agent does: speak (add a turn) and decide (add a turn that carries a verdict).

Every role in every protocol is built from these, so usage, latency, cache marks, visibility and
the parse-then-re-ask-then-invalid rule are handled once. A failed call (after the model layer's
retries) raises from :func:`speak`, failing the trial, because an argument that was never made
cannot be judged; in :func:`decide` it becomes an ``error`` verdict, which aggregators count as an
abstention rather than a side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, TypedDict

from courtgraph.agents.echoes import Echoes
from courtgraph.agents.parsing import PairwiseOutput, ScoreOutput, from_structured, parse_pairwise, parse_score
from courtgraph.models import ChatModel, Intent, Message, ModelError, get_model
from courtgraph.models import ModelLike as ModelLike
from courtgraph.prompts import Prompt, fence, fenced_blocks, load_prompt
from courtgraph.schema import EVERYONE, Label, Trial, Turn, Usage, Verdict

DecisionKind = Literal["pairwise", "score"]
Setting = Literal["debate", "consultancy", "courtroom"]


class Facts(TypedDict, total=False):
    """What a prompt asks of an agent, in structure: the ``facts`` of its :class:`~courtgraph.models.Intent`.

    The one list of keys. Call sites set what their prompt says in words, so a model that answers
    from structure (a simulated agent) acts as the prompt asks however the prompt file is worded.
    Every key is optional; the trial itself (case and order shown) travels as ``Intent.trial``.

    ``act``
        speech only: ``"argue"`` (argue a side or a stance), ``"ask"`` (question other agents),
        ``"testify"`` (a witness answers a question), ``"choose"`` (privately pick the side to
        argue, ending with ``[[A]]`` or ``[[B]]``).
    ``side``
        a pair: the response the speaker argues *for*, in the shown frame (a prosecutor of
        Response A argues for ``"B"``).
    ``stance``
        a single response on trial: ``"for"`` (defend it) or ``"against"`` (attack it).
    ``asked``
        the speaker answers a question the judge has just asked it.
    ``setting``
        the proceedings a decider or questioner reads: ``"debate"``, ``"consultancy"`` or
        ``"courtroom"`` (absent: it reads the case alone).
    ``addressees``
        who a question goes to, name -> the side that agent argues (a debate judge asks
        ``advocate_A`` and ``advocate_B``, one line each; a consultancy judge its consultant).
    ``roster``
        the witnesses the speaker may call, name -> expertise (a courtroom opening).
    ``persona``
        who the agent plays when several agents share one model: ``juror_2``, the ``safety``
        specialist, the ``math_checker`` witness.
    ``candidate``
        a score on one candidate of a pair (scored one at a time): which one, in the shown frame.
    ``scale``
        a score: (lowest, highest); :func:`decide` sets it from its ``scale``.
    """

    act: Literal["argue", "ask", "testify", "choose"]
    side: Label
    stance: Literal["for", "against"]
    asked: bool
    setting: Setting
    addressees: Mapping[str, Label]
    roster: Mapping[str, str]
    persona: str
    candidate: Label
    scale: tuple[float, float]


def setting_of(record: Sequence[Turn]) -> Setting | None:
    """The proceedings a record of turns comes from, by its speakers' roles (a jury reading a courtroom)."""
    roles = {t.role for t in record}
    if "consultant" in roles:
        return "consultancy"
    if roles & {"prosecutor", "defender", "witness"}:
        return "courtroom"
    return "debate" if "advocate" in roles else None


def as_model(model: ModelLike) -> ChatModel:
    """Accept a spec string, a ChatModel or a LangChain chat model wherever a role takes a model."""
    return get_model(model)


def case_vars(trial: Trial, *, reference: bool = False) -> dict[str, str]:
    """The placeholders every case-facing prompt may use, with candidates fenced in shown order.

    The gold label and the hidden ``context`` are deliberately absent: no template can leak them.
    """
    shown = trial.shown
    ref = trial.case.reference if reference else None
    values = {
        "question": trial.case.question,
        "reference_block": f"\n# Reference answer\n{fence(ref, 'reference')}\n" if ref else "",
    }
    if len(shown) == 2:
        values["response_a"] = fence(shown[0], "response_a")
        values["response_b"] = fence(shown[1], "response_b")
    else:
        values["response"] = fence(shown[0], "response")
    return values


def context_vars(trial: Trial) -> dict[str, str]:
    """The hidden context, for the roles allowed to see it (debaters, consultants, witnesses)."""
    ctx = trial.case.context
    return {"context_block": f"\n# Context (hidden from the judge)\n{fence(ctx, 'context')}\n" if ctx else ""}


def transcript_text(turns: list[Turn]) -> str:
    """Turns rendered for another agent's prompt, each labelled with its speaker and round.

    The heading is ours; the content is fenced, because it is model output that quotes candidates
    (and may carry their verdict tags or instructions): a statement cannot close its fence and speak
    as the transcript, and a verdict that repeats it does not count (:func:`untrusted`).
    """
    blocks = []
    for t in turns:
        where = f", round {t.round}" if t.round is not None else ""
        phase = f", {t.phase}" if t.phase else ""
        blocks.append(f"## {t.agent} ({t.role}{where}{phase})\n{fence(t.content.strip(), 'statement')}")
    return "\n\n".join(blocks) if blocks else "(nothing yet)"


@dataclass(frozen=True)
class Speaker:
    """Who is speaking: the name that goes on the turn and what the transcript says about it.

    ``prompt`` is the template rendered for this turn: pass the :class:`Prompt` itself, so the record
    keeps the hash of the text actually sent (a custom template may share a built-in's name).
    ``trial`` and ``facts`` say in structure what the prompt says in words; they reach the model as
    its :class:`~courtgraph.models.Intent` (simulated and recorded models answer from them).
    """

    agent: str
    role: str
    round: int | None = None
    phase: str | None = None
    visible_to: tuple[str, ...] = (EVERYONE,)
    prompt: Prompt | str | None = None
    trial: Trial | None = None
    facts: Facts = field(default_factory=lambda: Facts())

    def intent(self, kind: Literal["pairwise", "score", "speak"], attempt: int = 0) -> Intent:
        return Intent(agent=self.agent, role=self.role, kind=kind, trial=self.trial, round=self.round,
                      phase=self.phase, attempt=attempt, facts=self.facts)


def _turn(who: Speaker, content: str, usage: Usage, latency: float, cached: bool, model: str,
          verdict: Verdict | None = None, also: tuple[Prompt, ...] = ()) -> Turn:
    used = [load_prompt(who.prompt)] if who.prompt is not None else []
    templates = {p.name: p.hash for p in [*used, *also]}
    return Turn(role=who.role, agent=who.agent, content=content, model=model, round=who.round,
                phase=who.phase, visible_to=list(who.visible_to), usage=usage, latency_s=latency,
                cached=cached, verdict=verdict, prompt=used[0].name if used else None, templates=templates)


async def speak(model: ChatModel, messages: list[Message], who: Speaker, *, attempt: int = 0) -> Turn:
    """One call whose text becomes a turn (``attempt``: re-asks before it). Raises ModelError when it fails for good."""
    r = await model.generate(messages, intent=who.intent("speak", attempt))
    return _turn(who, r.text, r.usage, r.latency_s, r.cached, model.spec)


#: Fence tags of the case's own untrusted texts (see :func:`case_vars`, :func:`context_vars`).
CASE_TAGS = frozenset({"response_a", "response_b", "response", "reference", "context"})


def untrusted(messages: list[Message], trial: Trial | None = None) -> Echoes:
    """The texts a verdict must not be repeated from: the case's fenced texts in the request, and the
    trial's question and candidates if known.

    Other agents' fenced statements and votes are left out on purpose: their closing formulas
    ("Confidence: 80%" then "[[A]]") are ours and coincide between agents, and a statement that
    quotes a candidate is caught by the candidate itself, which every deciding prompt carries.
    """
    texts = [body for m in messages for tag, body in fenced_blocks(m["content"]) if tag in CASE_TAGS]
    if trial is not None:
        # a fenced block is most often the trial's own text: comparing costs a memcmp where hashing the copy
        # (for the index's caches) would hash kilobytes again; the case's own strings keep their hash
        known = [trial.case.question, *trial.shown]
        texts = [next((k for k in known if k == body), body) for body in texts] + known
    return Echoes.of(texts)


async def decide(model: ChatModel, messages: list[Message], who: Speaker, *, kind: DecisionKind = "pairwise",
                 scale: tuple[float, float] = (1, 10)) -> Turn:
    """A turn carrying a verdict: structured output if the model has it, else the text's last own tag.

    An answer that does not parse is re-asked once (the model sees its own answer and what was
    wrong); if it still does not parse, the verdict is ``invalid`` with the raw texts kept. A tag
    or a JSON verdict repeated from the request's untrusted text (:func:`untrusted`) does not parse.
    """
    schema = PairwiseOutput if kind == "pairwise" else ScoreOutput
    if kind == "score":  # the scale the answer is parsed on is the scale the intent states
        who = replace(who, facts={**who.facts, "scale": (scale[0], scale[1])})
    if model.structured:  # the re-ask must ask for what the provider's schema lets the model return
        fmt = "the JSON fields reasoning and verdict (A, B or tie)" if kind == "pairwise" else \
            f"the JSON fields reasoning and score ({scale[0]:g} to {scale[1]:g})"
    else:
        fmt = "[[A]], [[B]] or [[C]]" if kind == "pairwise" else f"a score like [[{scale[1]:g}]]"
    echoes = untrusted(messages, who.trial)
    texts: list[str] = []
    usages: list[Usage] = []  # summed once, when the turn is made
    latency, cached = 0.0, True
    convo = list(messages)
    problem = ""
    for attempt in range(2):
        try:
            r = await model.generate(convo, schema=schema if model.structured else None,
                                     intent=who.intent(kind, attempt))
        except ModelError as exc:
            verdict = Verdict.failed(str(exc), agent=who.agent)
            usages.append(exc.usage)  # the failed call's retries and faults, so that they show
            content = "\n\n".join([*texts, f"[call failed: {exc}]"])
            return _turn(who, content, Usage.total(usages), latency, False, model.spec, verdict)
        texts.append(r.text)
        usages.append(r.usage)
        latency, cached = latency + r.latency_s, cached and r.cached
        parsed: Verdict | str
        if r.data is not None:
            parsed = from_structured(r.data, schema, scale if kind == "score" else None, echoes)
        else:
            parsed = parse_pairwise(r.text, echoes) if kind == "pairwise" else parse_score(r.text, scale, echoes)
        if isinstance(parsed, Verdict):
            verdict = parsed  # a new Verdict of this call's own (not a copy: every decision makes one)
            verdict.agent = who.agent
            return _turn(who, "\n\n--- re-asked ---\n\n".join(texts), Usage.total(usages), latency, cached,
                         model.spec, verdict, (load_prompt("reask"),) if attempt else ())
        problem = parsed if not r.truncated else f"{parsed}: the answer was cut off at the token limit"
        if attempt == 0:
            reask = load_prompt("reask").render(problem=problem, format=fmt)
            convo = [*convo, {"role": "assistant", "content": r.text}, *reask]
    raw = "\n\n--- re-asked ---\n\n".join(texts)
    verdict = Verdict.invalid(raw, f"unparseable after one re-ask: {problem}", agent=who.agent)
    return _turn(who, raw, Usage.total(usages), latency, cached, model.spec, verdict, (load_prompt("reask"),))

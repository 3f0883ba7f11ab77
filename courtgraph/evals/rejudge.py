"""Re-judging stored proceedings: a new judge (or aggregator) over the turns a run already paid for.

Like Inspect's ``inspect score`` and Khan et al.'s judges on fixed debate transcripts: only the
deciding step runs again (the judge of a debate or a courtroom, the aggregator of a jury or panel),
reading the stored turns with the same visibility the original judge had (the turns visible to
``judge``; a jury's member votes), and its records are written into the same run under a new
protocol name. The advocates are not called again, so re-judging a debate costs one call per trial
and re-aggregating a jury with a rule (majority, strict, weighted) costs none. A new record keeps the
stored turns (so its cost per case is what the protocol costs, advocates included) and says in its
``metadata`` what it was re-judged from and how many calls the re-judging made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from courtgraph.agents.advocate import court_framing
from courtgraph.agents.aggregator import majority, make_aggregator
from courtgraph.agents.base import Facts, ModelLike, Speaker, as_model, decide, transcript_text
from courtgraph.agents.consultant import Consultation
from courtgraph.agents.juror import decision_kind, verdict_vars
from courtgraph.errors import InputError
from courtgraph.evals import stats
from courtgraph.evals.store import RunStore
from courtgraph.graphs.more import judge_defences
from courtgraph.graphs.trial import make_record
from courtgraph.models import ChatModel
from courtgraph.prompts import load_prompt
from courtgraph.schema import Case, Label, Record, Trial, TrialResult, Turn, Usage, Verdict, visible_turns

Kind = Literal["debate", "consultancy", "courtroom", "votes"]


def proceedings_kind(turns: Sequence[Turn]) -> Kind:
    """What decided a stored trial: a debate's judge, a courtroom's judge, or an aggregator of member votes."""
    roles = {t.role for t in turns}
    steered = {t.model for t in turns if t.role == "controller"} & {"rule:samre", "rule:sequential"}
    if steered:  # the deciding step also decided how long the proceedings ran: not re-judgeable as they stand
        raise InputError(f"cannot re-judge proceedings that stopped by {steered.pop()}: their judge (or vote "
                         "count) also decided when they ended, so a new judge would need proceedings never held")
    if roles & {"prosecutor", "defender"}:
        return "courtroom"
    if "consultant" in roles:
        return "consultancy"
    if "advocate" in roles:
        return "debate"
    if "aggregator" in roles:
        return "votes"
    raise InputError(f"cannot re-judge these proceedings (roles: {', '.join(sorted(roles))}); re-judging covers "
                     "debates, consultancies, courtrooms, juries and panels")


async def reconsult(judge: ChatModel, trial: Trial, kept: list[Turn], stored: Sequence[Turn]) -> list[Turn]:
    """A consultancy's verdicts again: one per room (``judge_A``, ``judge_B``), each reading only its room."""
    sides = [t.agent.rpartition("_")[2] for t in stored if t.role == "judge" and t.phase == "verdict"]
    chosen = any(t.phase == "choice" and t.verdict is not None and t.verdict.valid for t in stored)
    rounds = max((t.round or 0 for t in kept if t.role == "consultant"), default=1)
    labels: dict[str, Label] = {"A": "A", "B": "B"}
    rooms = [Consultation(judge, judge, labels[side], rounds, chosen=chosen) for side in sides if side in labels]
    return [await room.decide(trial, kept) for room in rooms]


async def rejudge_trial(trial: Trial, stored: TrialResult, *, judge: ChatModel | None,
                        aggregate: str | ModelLike | None) -> TrialResult:
    """One stored trial with its deciding step re-run; the stored proceedings are kept as they were (the new
    deciding turns come last)."""
    kind = proceedings_kind(stored.turns)
    kept = kept_turns(stored)
    if kind == "votes":
        votes = list(stored.verdict.votes)
        if not votes:
            raise InputError(f"case {trial.case.id}: the stored verdict keeps no member votes to re-aggregate")
        rule = aggregate if aggregate is not None else judge
        if rule is None:
            raise InputError("give an aggregator (a rule or a model) to re-aggregate a jury or panel")
        new = [await make_aggregator(rule)(trial, votes)]
    else:
        if judge is None:
            raise InputError(f"give a judge to re-judge a {kind}")
        seen = transcript_text(visible_turns(kept, "judge"))
        if kind == "consultancy":
            new = await reconsult(judge, trial, kept, stored.turns)
        elif kind == "debate":
            rounds = max((t.round or 0 for t in kept if t.role == "advocate"), default=1)
            new = (await judge_defences(judge, trial, visible_turns(kept, "judge"), rounds))["turns"]
        else:
            template, decided = load_prompt("judge_courtroom"), decision_kind(trial)
            values = verdict_vars(trial, decided) | court_framing(trial) | {"transcript": seen}
            new = [await decide(judge, template.render(**values), Speaker(
                agent="judge", role="judge", phase="verdict", prompt=template, trial=trial,
                facts=Facts(setting="courtroom")), kind=decided)]
    turns = [*kept, *new]
    votes = [t.verdict for t in new if t.verdict is not None]
    verdict = (votes[0] if len(votes) == 1 else majority(votes)) if votes else \
        Verdict.failed("the deciding step returned no verdict")
    return TrialResult(order=stored.order, verdict=verdict, turns=turns, usage=Usage.total(t.usage for t in turns),
                       latency_s=stored.latency_s + sum(t.latency_s for t in new))


def kept_turns(stored: TrialResult) -> list[Turn]:
    """The stored turns re-judging keeps: all but the deciding step's."""
    if proceedings_kind(stored.turns) == "votes":
        return [t for t in stored.turns if t.role != "aggregator" and t.phase != "stop"]
    return [t for t in stored.turns if not (t.role == "judge" and t.phase == "verdict")]


@dataclass
class Rejudged:
    """What re-judging wrote: the new records, the calls it made, and the paired comparison with the original."""

    protocol: str
    original: str
    records: list[Record]
    calls: int
    n: int  # labelled cases both got a record for
    original_accuracy: float | None
    accuracy: float | None
    wins: int  # cases only the new one got right (McNemar's b)
    losses: int  # cases only the original got right (McNemar's c)
    p_value: float

    def summary(self) -> str:
        def pct(x: float | None) -> str:
            return "—" if x is None else f"{100 * x:.1f}%"

        return (f"{self.protocol}: {len(self.records)} records re-judged from {self.original} with {self.calls} "
                f"new call(s); accuracy {pct(self.accuracy)} against {pct(self.original_accuracy)} on {self.n} "
                f"cases (+{self.wins} / -{self.losses}, exact McNemar p={self.p_value:.3g})")


def compare(original: Sequence[Record], new: Sequence[Record]) -> dict[str, Any]:
    """Paired accuracy of two protocols on the labelled cases both judged, with the exact McNemar p."""
    first = {r.case_id: r.correct for r in original if r.correct is not None}
    pairs = [(first[r.case_id], bool(r.correct)) for r in new if r.case_id in first and r.correct is not None]
    wins = sum(b and not a for a, b in pairs)
    losses = sum(a and not b for a, b in pairs)
    return {"n": len(pairs), "original_accuracy": stats.mean([float(a) for a, _ in pairs]) if pairs else None,
            "accuracy": stats.mean([float(b) for _, b in pairs]) if pairs else None, "wins": wins,
            "losses": losses, "p_value": stats.mcnemar_exact(wins, losses)}


async def rejudge(run_dir: str | Path, protocol: str, *, judge: ModelLike | None = None,
                  aggregate: str | ModelLike | None = None, as_name: str | None = None) -> Rejudged:
    """Re-judge every stored record of ``protocol`` in ``run_dir`` with ``judge`` (a debate or courtroom) or
    ``aggregate`` (a jury or panel: a rule, or a model), writing records named ``as_name`` into the same run."""
    chat = as_model(judge) if judge is not None else None
    what = chat.spec if chat is not None else str(getattr(aggregate, "spec", aggregate))
    name = as_name or f"{protocol}@{what}"
    with RunStore(run_dir, create=False) as store:
        store.lock()
        cases: dict[str, Case] = store.cases()
        original = store.records(protocol)
        if not original:
            have = ", ".join(store.protocols()) or "none"
            raise InputError(f"no records of protocol {protocol!r} in this run (it has: {have})", path=run_dir)
        if name == protocol:
            raise InputError(f"--as {name!r} would overwrite the original records", field="as")
        written: list[Record] = []
        for old in original:
            case = cases[old.case_id]
            trials = [await rejudge_trial(Trial(case=case, order=t.order), t, judge=chat, aggregate=aggregate)
                      for t in old.trials]
            calls = sum(new.usage.calls - Usage.total(t.usage for t in kept_turns(old_t)).calls
                        for new, old_t in zip(trials, old.trials, strict=True))
            record = make_record(case, name, trials).model_copy(update={"metadata": {
                "rejudged_from": protocol, "rejudged_by": what, "rejudge_calls": calls}})
            store.write(record)
            written.append(record)
    cmp = compare(original, written)
    return Rejudged(protocol=name, original=protocol, records=written,
                    calls=sum(int(r.metadata["rejudge_calls"]) for r in written), **cmp)

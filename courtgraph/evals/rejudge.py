"""Re-judging stored proceedings: a new judge (or aggregator) over the turns a run already paid for.

Like Inspect's ``inspect score`` and Khan et al.'s judges on fixed debate transcripts: only the
deciding step runs again (the judge of a debate or a courtroom, the aggregator of a jury or panel),
reading the stored turns with the same visibility the original judge had (the turns visible to
``judge``; a jury's member votes), and its records are written into the same run under a new
protocol name. The advocates are not called again, so re-judging a debate costs one call per trial
and re-aggregating a jury with a rule (majority, strict, weighted) costs none. A new record keeps the
stored turns (so its cost per case is what the protocol costs, advocates included) and says in its
``metadata`` what it was re-judged from and how many calls the re-judging made.

Proceedings whose deciding step also decided how long they ran:

- A SAMRE debate: its judge's scores stopped it. The new judge gives the final verdict only (the debate
  judge's pairwise verdict, one call per trial) over the advocates' turns the judge could read,
  anonymized as the original judge read them; the rounds run stay as the original judge's scores
  decided them (the stop turn is kept), and the original judge's earlier scores stay in the record
  but are not shown to the new judge (they are another judge's opinion). Only the last round's
  scores (the original deciding step) are replaced.
- A sequential jury: only the jurors drawn were called, so its stored votes are those. A new rule is
  applied to the drawn votes (zero calls); where the jurors never called could have changed the new
  rule's verdict (any way they might have voted, as :func:`~courtgraph.graphs.sequential.decided`
  checks for count rules; always, for other aggregators, when any juror went uncalled), the record
  says so in ``metadata["rejudge_undecided"]`` (those trials' ids) and the summary counts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from courtgraph.agents.advocate import court_framing
from courtgraph.agents.aggregator import majority, make_aggregator, make_rule
from courtgraph.agents.base import Facts, ModelLike, Speaker, as_model, decide, transcript_text
from courtgraph.agents.consultant import Consultation
from courtgraph.agents.juror import decision_kind, verdict_vars
from courtgraph.errors import InputError
from courtgraph.evals import stats
from courtgraph.evals.store import RunStore
from courtgraph.graphs.d3 import anonymize
from courtgraph.graphs.more import judge_defences
from courtgraph.graphs.sequential import COUNT_RULES, decided, jurors_called
from courtgraph.graphs.trial import make_record
from courtgraph.models import ChatModel
from courtgraph.prompts import load_prompt
from courtgraph.schema import Case, Label, Record, Trial, TrialResult, Turn, Usage, Verdict, visible_turns

Kind = Literal["debate", "consultancy", "courtroom", "votes", "samre", "sequential"]


def proceedings_kind(turns: Sequence[Turn]) -> Kind:
    """What decided a stored trial: a debate's judge, a courtroom's judge, or an aggregator of member votes."""
    roles = {t.role for t in turns}
    steered = {t.model for t in turns if t.role == "controller"}
    if "rule:samre" in steered:
        return "samre"
    if "rule:sequential" in steered:
        return "sequential"
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
    if kind == "samre":
        if judge is None:
            raise InputError("give a judge to re-judge a SAMRE debate")
        new = await rescore_samre(judge, trial, kept)
    elif kind in ("votes", "sequential"):
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
    """The stored turns re-judging keeps: all but the deciding step's (a sequential jury's and a SAMRE debate's
    stop turn stay: they say how far the proceedings ran)."""
    kind = proceedings_kind(stored.turns)
    if kind == "votes":
        return [t for t in stored.turns if t.role != "aggregator" and t.phase != "stop"]
    if kind == "sequential":
        return [t for t in stored.turns if t.role != "aggregator"]
    if kind == "samre":
        last = max((t.round or 0 for t in stored.turns if t.role == "judge" and t.phase == "score"), default=0)
        return [t for t in stored.turns if not (t.role == "judge" and t.phase == "score" and t.round == last)]
    return [t for t in stored.turns if not (t.role == "judge" and t.phase == "verdict")]


async def rescore_samre(judge: ChatModel, trial: Trial, kept: list[Turn]) -> list[Turn]:
    """A SAMRE debate's verdict by another judge: one pairwise verdict over the advocates' turns it may read,
    without the advocates' model names (as the original judge read them)."""
    argued = [t for t in visible_turns(kept, "judge") if t.role == "advocate"]
    names = model_names(t.model for t in argued)
    rounds = max((t.round or 0 for t in argued), default=1)
    return list((await judge_defences(judge, trial, anonymize(argued, names), rounds))["turns"])


def model_names(models: Iterable[str | None]) -> list[str]:
    """The names that identify the stored turns' models (the spec and the model id after the provider)."""
    names = {n for m in models if m for n in (m, m.partition(":")[2].partition("@")[0]) if len(n) > 2}
    return sorted(names, key=len, reverse=True)


def undecided(trial: TrialResult, rule: str | ModelLike) -> bool:
    """Whether the jurors a sequential jury never called could have changed ``rule``'s verdict on ``trial``."""
    drawn = jurors_called(trial)
    if drawn is None or drawn[0] >= drawn[1]:
        return False
    if isinstance(rule, str) and rule in COUNT_RULES:
        return not decided(make_rule(rule), list(trial.verdict.votes), drawn[1] - drawn[0])
    return True


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
    undecided: int = 0  # sequential jury: trials where the jurors never called could have changed the new verdict

    def summary(self) -> str:
        def pct(x: float | None) -> str:
            return "—" if x is None else f"{100 * x:.1f}%"

        return (f"{self.protocol}: {len(self.records)} records re-judged from {self.original} with {self.calls} "
                f"new call(s); accuracy {pct(self.accuracy)} against {pct(self.original_accuracy)} on {self.n} "
                f"cases (+{self.wins} / -{self.losses}, exact McNemar p={self.p_value:.3g})"
                + (f"; {self.undecided} trial(s) decided over the drawn jurors only: the jurors never called "
                   "could have changed them" if self.undecided else ""))


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
            meta: dict[str, Any] = {"rejudged_from": protocol, "rejudged_by": what, "rejudge_calls": calls}
            rule = aggregate if aggregate is not None else chat
            if rule is not None and any(proceedings_kind(t.turns) == "sequential" for t in old.trials):
                meta["rejudge_undecided"] = [t.order for t in old.trials if undecided(t, rule)]
            record = make_record(case, name, trials).model_copy(update={"metadata": meta})
            store.write(record)
            written.append(record)
    cmp = compare(original, written)
    return Rejudged(protocol=name, original=protocol, records=written,
                    calls=sum(int(r.metadata["rejudge_calls"]) for r in written),
                    undecided=sum(len(r.metadata.get("rejudge_undecided", [])) for r in written), **cmp)

"""``--dry-run``: what a run would do and how many calls it would make, before it makes any.

The plan's call counts come from running the very same protocols, on the very same cases and
orders, with every role played by a free simulated stand-in (``sim:``) that answers every request
validly. How many calls a protocol makes is a matter of its structure (one judge; n jurors per
round; two debaters per round and a judge), so the counts are the calls a real run makes when its
models answer well; re-asks after unparseable answers come on top. Input tokens are counted from the
prompts the stand-ins received (the debate transcripts of real models are longer); output tokens
are bounded by each call's ``max_tokens`` (its role's setting).

The cost column prices those tokens at each role's model's price (``?`` when a price is unknown), at
most (output at ``max_tokens``). With ``--batch`` a provider with a batch API bills every token at its
batch price (:func:`~courtgraph.models.pricing.batch_factor`, 50% for OpenAI and Anthropic), and the
table says which price it used; ``--cost-limit`` holds a batched call to the same price
(:mod:`courtgraph.models.budget`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from courtgraph.errors import InputError
from courtgraph.evals.plan import RunPlan
from courtgraph.evals.settings import RoleSettings
from courtgraph.graphs.registry import Roles
from courtgraph.models import ConfigError, GenerateParams
from courtgraph.models.batch_apis import BATCH_APIS
from courtgraph.models.endpoint import parse_endpoint_spec
from courtgraph.models.pricing import BATCH_FACTOR, batch_factor, cost_usd, price_key
from courtgraph.schema import ORDERS

#: Turn roles that the settings know under another name.
TURN_ROLES = {"advocate": "debater"}
#: The stand-in of every role: free, always a valid answer, and the same prompts as the real models.
STAND_IN = "sim:0.7"


@dataclass
class ProtocolPlan:
    name: str
    records: int
    trials: int
    calls: int
    input_tokens: int
    max_output_tokens: int
    cost_usd: float | None = 0.0  # at most (output at max_tokens); None: a model's price is unknown


@dataclass
class Plan:
    cases: int
    selection: str
    categories: dict[str, int]
    orders: list[str]
    roles: dict[str, Any]
    protocols: list[ProtocolPlan]
    batch: bool = False  # priced at the batch price (--batch)

    def print(self, console: Console) -> None:
        console.print(f"[bold]dry run[/]: nothing is called. {self.cases} cases ({self.selection}); orders "
                      f"{', '.join(self.orders)}", highlight=False, soft_wrap=True)
        if self.categories:
            console.print("categories: " + ", ".join(f"{k} {v}" for k, v in self.categories.items()),
                          highlight=False, soft_wrap=True)
        given = {k: v for k, v in self.roles.items() if v}
        console.print("roles: " + "; ".join(f"{k}={v}" for k, v in given.items()), highlight=False, soft_wrap=True)
        table = Table(title="estimated work per protocol")
        # fits 80 columns (a pipe, CI) with its figures whole; a figure too wide for its column folds, never "…"
        for column in ("protocol", "records", "trials", "calls", "input tokens (est.)", "output tokens (at most)",
                       "cost (at most)"):
            table.add_column(column, justify="left" if column == "protocol" else "right", overflow="fold",
                             no_wrap=column == "protocol")
        for p in self.protocols:
            table.add_row(p.name, str(p.records), str(p.trials), str(p.calls), f"{p.input_tokens:,}",
                          f"{p.max_output_tokens:,}", _usd(p.cost_usd))
        costs = [p.cost_usd for p in self.protocols]
        table.add_row("total", str(sum(p.records for p in self.protocols)), str(sum(p.trials for p in self.protocols)),
                      str(sum(p.calls for p in self.protocols)), f"{sum(p.input_tokens for p in self.protocols):,}",
                      f"{sum(p.max_output_tokens for p in self.protocols):,}",
                      _usd(None if None in costs else sum(c or 0.0 for c in costs)))
        console.print(table)
        console.print("calls assume every answer parses (a re-ask adds one); output tokens are bounded by "
                      "max_tokens per call", highlight=False, soft_wrap=True)
        console.print(f"cost at {self.pricing()}", highlight=False, soft_wrap=True)

    def pricing(self) -> str:
        """Which price the cost column uses, in words."""
        if not self.batch:
            return "the synchronous price (each role's model's price per token)"
        shares = ", ".join(f"{p} {100 * f:g}%" for p, f in BATCH_FACTOR.items())
        return (f"the batch price (--batch): {shares} of the synchronous price; models without a batch API "
                "at their synchronous price")


def _usd(cost: float | None) -> str:
    return "?" if cost is None else f"${cost:.4f}"


def role_price(model: Any, batch: bool) -> tuple[str, str, float] | None:
    """``(provider, price key, share of the price billed)`` for one role's model (a spec or a model); None
    when it has no price to look up (a stand-in, a recorded judge: they cost nothing)."""
    if not isinstance(model, str):
        provider, key = getattr(model, "pricing_key", (getattr(model, "provider", ""), ""))
    else:
        provider, sep, rest = model.partition(":")
        if not sep or provider not in ("openai", "anthropic"):
            return None
        try:
            name, base_url, _ = parse_endpoint_spec(provider, rest)
        except ConfigError:
            return None
        key = price_key(name, base_url.rstrip("/") if base_url else None)  # as EndpointModel.pricing_key
    share = batch_factor(provider) if batch and provider in BATCH_APIS else 1.0
    return str(provider), str(key), share


def turn_models(roles: Roles, role: str) -> list[Any]:
    """The models that may play a turn's ``role`` (a juror or a debater: any of theirs)."""
    if role == "juror" and roles.jurors:
        return list(roles.jurors)
    if role in ("debater", "advocate") and roles.debaters:
        return list(roles.debaters)
    try:
        return [roles.get(TURN_ROLES.get(role, role))]
    except ConfigError:
        return []


def stand_in_roles(roles: Roles) -> Roles:
    """``roles`` with every model replaced by the stand-in, keeping how many jurors and debaters there are
    (recorded judges stay: they make no calls, and a plan should say so)."""

    def swap(model: Any) -> Any:
        return model if isinstance(model, str) and model.startswith("recorded:") else STAND_IN

    return replace(roles, model=STAND_IN, judge=None if roles.judge is None else swap(roles.judge),
                   jurors=[swap(m) for m in roles.jurors], debaters=[swap(m) for m in roles.debaters],
                   extra={k: swap(m) for k, m in roles.extra.items()})


async def plan_run(plan: RunPlan) -> Plan:
    """What running ``plan`` would do, from a run of the same protocols on the same cases and orders by
    free stand-ins into a temporary directory (its ``out``, ``cache``, limits and resume are ignored:
    a dry run writes nothing the caller keeps and spends nothing)."""
    from courtgraph.evals.plan import describe_roles
    from courtgraph.evals.runner import run_plan
    from courtgraph.evals.settings import check_endpoints_used
    from courtgraph.models.connections import EndpointSettings

    if isinstance(plan.protocols, Mapping) and any(not isinstance(v, str) for v in plan.protocols.values()):
        raise InputError("a dry run needs protocols by name or FILE.py:FUNCTION, not built graphs",
                         field="protocols")
    real = plan.roles or Roles()
    given = RoleSettings.of(plan.settings)

    def max_tokens(role: str) -> int:  # a turn's role as the settings name it (debaters speak as advocates)
        return int(given.for_role(TURN_ROLES.get(role, role)).get("max_tokens", GenerateParams().max_tokens))

    with tempfile.TemporaryDirectory(prefix="courtgraph-plan-") as tmp:
        check_endpoints_used(EndpointSettings.of(plan.endpoints), real)  # the stand-ins call no endpoint
        stand_in = replace(plan, roles=stand_in_roles(real), out=Path(tmp) / "plan", cache=None, limits=None,
                           resume=False, endpoints=None, batch=None)  # the free stand-ins have no batch API
        results = await run_plan(stand_in, progress=False, console=Console(stderr=True, quiet=True))
        by_protocol: dict[str, ProtocolPlan] = {}
        for r in results.records:  # read from the run directory: before it is deleted
            p = by_protocol.setdefault(r.protocol, ProtocolPlan(r.protocol, 0, 0, 0, 0, 0))
            p.records += 1
            p.trials += len(r.trials)
            p.calls += r.usage.calls
            p.input_tokens += r.usage.input_tokens
            p.max_output_tokens += sum(t.usage.calls * max_tokens(t.role) for trial in r.trials for t in trial.turns)
            for turn in (t for trial in r.trials for t in trial.turns if t.usage.calls):
                cost = turn_cost(real, turn.role, turn.usage.input_tokens, turn.usage.calls * max_tokens(turn.role),
                                 batch=plan.batch is not None)
                p.cost_usd = None if p.cost_usd is None or cost is None else p.cost_usd + cost
    categories: dict[str, int] = {}
    for case in results.cases.values():
        categories[str(case.category)] = categories.get(str(case.category), 0) + 1
    return Plan(cases=len(results.cases), selection=results.selection or "", categories=categories,
                orders=list(plan.orders or ORDERS), roles=describe_roles(real), protocols=list(by_protocol.values()),
                batch=plan.batch is not None)


def turn_cost(roles: Roles, role: str, input_tokens: int, output_tokens: int, *, batch: bool) -> float | None:
    """The most a turn's calls cost at the price of the dearest model that may play its role (None: unknown)."""
    costs: list[float] = []
    for model in turn_models(roles, role):
        priced = role_price(model, batch)
        if priced is None:
            costs.append(0.0)
            continue
        provider, key, share = priced
        cost = cost_usd(provider, key, input_tokens, output_tokens)
        if cost is None:
            return None
        costs.append(cost * share)
    return max(costs, default=0.0)

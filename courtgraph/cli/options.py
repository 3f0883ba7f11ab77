"""Options of ``courtgraph run`` for experiments: generation settings per role and a roles file.

The options are declared here as annotated types (``TemperatureOption``...), so a command takes them
with one line each, and :func:`role_settings` turns what was given into a
:class:`~courtgraph.evals.settings.RoleSettings`. Precedence: a per-role flag over a global flag over
the roles file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from courtgraph.errors import InputError

if TYPE_CHECKING:  # imported when used: `courtgraph show` and --help must not load LangGraph
    from courtgraph.evals.settings import RoleSettings

TemperatureOption = Annotated[float | None, typer.Option(
    "--temperature", help="Sampling temperature for every role (default 0; not sent to OpenAI reasoning "
    "models, which reject it).")]
MaxTokensOption = Annotated[int | None, typer.Option(
    "--max-tokens", help="Most tokens per answer (default 2048; sent as max_completion_tokens to "
    "api.openai.com).")]
TopPOption = Annotated[float | None, typer.Option("--top-p", help="Nucleus sampling top_p for every role.")]
ReasoningEffortOption = Annotated[str | None, typer.Option(
    "--reasoning-effort", metavar="LEVEL", help="OpenAI reasoning models: minimal, low, medium or high.")]
StopOption = Annotated[list[str] | None, typer.Option("--stop", metavar="TEXT", help="A stop sequence. "
                                                      "Repeatable.")]
ModelArgOption = Annotated[list[str] | None, typer.Option(
    "--model-arg", "-M", metavar="KEY=VALUE", help="A generation setting or provider argument for every role "
    "(sent in the request body as given, e.g. -M top_p=0.9, -M seed=1, -M logprobs=true). Repeatable.")]
JudgeArgsOption = Annotated[list[str] | None, typer.Option(
    "--judge-args", metavar="KEY=VALUE,...", help="Settings for the judge only, e.g. temperature=0. "
    "Repeatable.")]
JurorArgsOption = Annotated[list[str] | None, typer.Option(
    "--juror-args", metavar="KEY=VALUE,...", help="Settings for the jurors only. Repeatable.")]
DebaterArgsOption = Annotated[list[str] | None, typer.Option(
    "--debater-args", metavar="KEY=VALUE,...", help="Settings for the debaters only, e.g. temperature=0.7. "
    "Repeatable.")]
RoleArgsOption = Annotated[list[str] | None, typer.Option(
    "--role-args", metavar="ROLE:KEY=VALUE,...", help="Settings for any role (consultant, prosecutor, "
    "defender, witness, aggregator, specialist...), e.g. consultant:temperature=0.5. Repeatable.")]
RolesFileOption = Annotated[Path | None, typer.Option(
    "--roles", metavar="FILE.toml", help="Models and settings per role from a TOML file (see the README); "
    "flags override it.")]


def role_settings(*, temperature: float | None = None, max_tokens: int | None = None, top_p: float | None = None,
                  reasoning_effort: str | None = None, stop: list[str] | None = None,
                  model_args: list[str] | None = None, judge_args: list[str] | None = None,
                  juror_args: list[str] | None = None, debater_args: list[str] | None = None,
                  role_args: list[str] | None = None, base: RoleSettings | None = None) -> RoleSettings:
    """The settings the flags give, on top of ``base`` (a roles file's)."""
    from courtgraph.evals.settings import ROLE_NAMES, RoleSettings
    from courtgraph.models.params import parse_assignments

    every: dict[str, Any] = parse_assignments(model_args, option="model-arg")
    named = {"temperature": temperature, "max_tokens": max_tokens, "top_p": top_p,
             "reasoning_effort": reasoning_effort, "stop": stop or None}
    every.update({k: v for k, v in named.items() if v is not None})
    roles: dict[str, dict[str, Any]] = {}
    for role, items in (("judge", judge_args), ("juror", juror_args), ("debater", debater_args)):
        if items:
            roles[role] = parse_assignments(items, option=f"{role}-args")
    for item in role_args or []:
        role, sep, rest = item.partition(":")
        if not sep or role.strip() not in ROLE_NAMES:
            raise InputError(f"{item!r}: expected ROLE:KEY=VALUE with ROLE one of {', '.join(ROLE_NAMES)}",
                             field="role-args")
        roles.setdefault(role.strip(), {}).update(parse_assignments([rest], option="role-args"))
    given = RoleSettings(all=every, roles=roles)
    return (base or RoleSettings()).merged(given)


def roles_file(path: Path | None) -> tuple[dict[str, Any], RoleSettings]:
    """A roles file's models (Roles arguments) and settings; nothing when no file is given."""
    from courtgraph.evals.settings import RoleSettings, load_roles_file

    if path is None:
        return {}, RoleSettings()
    return load_roles_file(path)


def check_specs(given: dict[str, list[Any]]) -> None:
    """Make every model spec once, before anything is built or loaded, so that an unknown prefix, a
    malformed URL (a bad port) or a missing key fails at once naming the option that carried it
    (``field 'judge': --judge: unknown model spec 'openai/gpt-4o': did you mean `openai:gpt-4o`?``),
    rather than at call time or as a protocol parameter."""
    from courtgraph.models import ConfigError, get_model

    for option, specs in given.items():
        for spec in specs:
            if not isinstance(spec, str):
                continue
            try:
                get_model(spec)
            except ConfigError as exc:
                raise InputError(f"{option}: {exc}", field=option.lstrip("-").split("/")[0]) from None


CostLimitOption = Annotated[float | None, typer.Option(
    "--cost-limit", metavar="USD", help="Stop before the run's cost (earlier invocations included) could pass "
    "USD; finished records are kept; --resume with a higher limit goes on.")]
AllowUnknownCostOption = Annotated[bool, typer.Option(
    "--allow-unknown-cost", help="With --cost-limit: run models of unknown price anyway (counted as free).")]
FailOnErrorOption = Annotated[bool, typer.Option(
    "--fail-on-error", help="Stop at the first failed record, with its real message and traceback.")]
MaxErrorsOption = Annotated[int | None, typer.Option(
    "--max-errors", metavar="N", help="Stop once more than N records have failed.", min=0)]
DryRunOption = Annotated[bool, typer.Option(
    "--dry-run", help="Print the plan (cases, protocols, roles, orders, estimated calls and tokens per "
    "protocol) and call nothing.")]


def run_limits(cost_limit: float | None, allow_unknown_cost: bool, fail_on_error: bool, max_errors: int | None,
               old: dict[str, Any] | None = None) -> Any:
    """The run's :class:`~courtgraph.evals.budget.RunLimits`; on --resume, the old run's where none is given."""
    from courtgraph.evals.budget import RunLimits

    if fail_on_error and max_errors not in (None, 0):
        raise InputError("give --fail-on-error or --max-errors N, not both", field="max-errors")
    was = old or {}
    return RunLimits(
        cost_limit=cost_limit if cost_limit is not None else was.get("cost_limit"),
        allow_unknown_cost=allow_unknown_cost or bool(was.get("allow_unknown_cost")),
        max_errors=0 if fail_on_error else max_errors if max_errors is not None else was.get("max_errors"))

BatchOption = Annotated[bool | None, typer.Option(
    "--batch/--no-batch", help="Send the OpenAI and Anthropic calls through their batch APIs at half the token "
    "price: calls are collected into batches, submitted, polled, and routed back. Slow: each step of a protocol "
    "waits for a batch (providers promise 24 h; a debate of R rounds waits for R+1, 2R+1 when its debaters speak in "
    "turn). Models without a batch API "
    "are called synchronously. Pending batches are kept in the run: --resume polls them again, never pays twice.")]
BatchSizeOption = Annotated[int | None, typer.Option(
    "--batch-size", metavar="N", min=1, help="Requests per batch at most (100); a full batch is sent at once, and "
    "the run lets at least N calls wait at once.")]
BatchWaitOption = Annotated[float | None, typer.Option(
    "--batch-wait", metavar="SECONDS", min=0, help="Send a batch this long after its first request was queued, "
    "full or not (10).")]
BatchPollOption = Annotated[float | None, typer.Option(
    "--batch-poll", metavar="SECONDS", help="Seconds between looks at a pending batch (30).")]


PrefixWarmupOption = Annotated[bool | None, typer.Option(
    "--prefix-warmup/--no-prefix-warmup", help="Provider prompt caching: calls of a case sent together (a jury's "
    "jurors, a panel's specialists) wait until the first has answered, then read its cached prefix (OpenAI and "
    "Anthropic endpoints; OpenAI only for a case prefix of about 1,024 tokens or more, at 4 characters a token). "
    "Costs about one extra call latency per case for juries and panels, nothing for sequential protocols "
    "(debates). Kept by --resume.")]


def batch_settings(batch: bool | None, size: int | None, wait: float | None, poll: float | None,
                   old: dict[str, Any] | None = None, *, resuming: bool = False) -> Any:
    """The run's :class:`~courtgraph.models.batching.BatchSettings` (None: synchronous). On --resume, None
    keeps the run's own choice, False turns batch mode off, and given values go over the stored ones."""
    from courtgraph.models.batch_terms import BatchSettings
    from courtgraph.models.errors import ConfigError

    tuned = size is not None or wait is not None or poll is not None
    if batch is False:
        if tuned:
            raise InputError("--batch-size, --batch-wait and --batch-poll apply with --batch", field="batch")
        return False if resuming else None
    if batch is None and not tuned:
        return None
    if batch is None and not (resuming and old):
        raise InputError("--batch-size, --batch-wait and --batch-poll apply with --batch", field="batch")
    was = old or {}
    default = BatchSettings()
    try:
        return BatchSettings(size=size if size is not None else was.get("size", default.size),
                             wait_s=wait if wait is not None else was.get("wait_s", default.wait_s),
                             poll_s=poll if poll is not None else was.get("poll_s", default.poll_s))
    except ConfigError as exc:
        raise InputError(str(exc), field="batch") from None


MaxConnectionsOption = Annotated[int | None, typer.Option(
    "--max-connections", metavar="N", help="Calls in flight at once per endpoint (provider + base URL). "
    "--concurrency bounds the whole run's calls, this each endpoint's: with two endpoints, -c 16 "
    "--max-connections 4 has at most 4 at each. Default: the run's --concurrency, or "
    "$COURTGRAPH_MAX_CONCURRENCY; a roles file's \\[endpoints.\"URL\"] overrides it per endpoint.")]
TimeoutOption = Annotated[float | None, typer.Option(
    "--timeout", metavar="SECONDS", help="Seconds per HTTP request before it is given up and retried "
    "(default 60, or $COURTGRAPH_TIMEOUT).")]
MaxRetriesOption = Annotated[int | None, typer.Option(
    "--max-retries", metavar="N", help="Retries of a request that failed for a passing reason (429, 408, "
    "5xx, timeout, connection, malformed body) after its first attempt (default 3, or $COURTGRAPH_MAX_RETRIES; "
    "0: none).")]
RpmOption = Annotated[int | None, typer.Option(
    "--rpm", metavar="N", help="Requests per minute per endpoint, paced evenly (a token bucket holding one "
    "second's worth): a call waits for room, never fails for it. Default: none, or $COURTGRAPH_RPM.")]
TpmOption = Annotated[int | None, typer.Option(
    "--tpm", metavar="N", help="Tokens per minute per endpoint, paced like --rpm: a call reserves its prompt's "
    "estimate (4 characters a token) plus --max-tokens and waits for room; the reservation is then corrected "
    "to the usage the provider reports. Default: none, or $COURTGRAPH_TPM.")]


def endpoint_settings(*, max_connections: int | None = None, timeout: float | None = None,
                      max_retries: int | None = None, rpm: int | None = None, tpm: int | None = None,
                      roles_path: Path | None = None) -> Any:
    """The run's :class:`~courtgraph.models.connections.EndpointSettings`: the flags for every endpoint,
    over a roles file's ``[endpoints]`` keys and under its per-endpoint tables. A bad value names its
    option (``field 'rpm'``) or the file and field."""
    from dataclasses import replace

    from courtgraph.evals.settings import load_endpoints_file
    from courtgraph.models.connections import EndpointLimits, EndpointSettings

    flags = EndpointLimits.parse({"max_connections": max_connections, "timeout": timeout,
                                  "max_retries": max_retries, "rpm": rpm, "tpm": tpm})
    base = load_endpoints_file(roles_path) if roles_path is not None else EndpointSettings()
    return replace(base, default=flags)


#: Every environment variable courtgraph reads (shown by ``courtgraph --help`` and ``courtgraph run --help``; the
#: README has the same list; tests/test_endpoint_settings.py finds them in the source and checks both).
#: Precedence for the endpoint settings: a roles file's [endpoints."URL"] entry > the flag > the variable > default.
ENVIRONMENT = {
    "OPENAI_API_KEY / ANTHROPIC_API_KEY": "the providers' keys (the official endpoints only)",
    "OPENAI_BASE_URL / ANTHROPIC_BASE_URL": "the providers' base URLs, as their SDKs honour them",
    "COURTGRAPH_CACHE": "the response cache file (default ~/.cache/courtgraph/responses.sqlite)",
    "COURTGRAPH_MAX_CONCURRENCY": "requests in flight per endpoint (default: the run's --concurrency; "
                                  "--max-connections overrides it)",
    "COURTGRAPH_TIMEOUT": "seconds per HTTP request (default 60; --timeout overrides it)",
    "COURTGRAPH_MAX_RETRIES": "retries of a failed request (default 3; --max-retries overrides it)",
    "COURTGRAPH_RPM": "requests per minute per endpoint (default none; --rpm overrides it)",
    "COURTGRAPH_TPM": "tokens per minute per endpoint (default none; --tpm overrides it)",
    "COURTGRAPH_BREAKER": "consecutive failed calls to one endpoint that stop a run (default 5; 0: never)",
    "COURTGRAPH_PRICES": "a JSON file of prices, {\"provider:model\": \\[input, output]} USD per million tokens",
    "COURTGRAPH_DATA": "where downloaded benchmarks are kept (default ~/.cache/courtgraph/benchmarks)",
    "COURTGRAPH_PROMPTS": "directories searched for prompt templates before the package's (os.pathsep-separated)",
    "XDG_CACHE_HOME": "the base of the default cache and benchmark folders (default ~/.cache)",
    "LANGSMITH_TRACING / LANGSMITH_TRACING_V2 / LANGCHAIN_TRACING_V2 / LANGCHAIN_TRACING": "1 or true: every model "
    "call is a LangSmith chat-model run (LangSmith's own variables)",
}
ENVIRONMENT_HELP = "Environment: " + " · ".join(f"[bold]{k}[/]: {v}" for k, v in ENVIRONMENT.items())

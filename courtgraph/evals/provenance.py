"""What ran, read back from a run's manifest: the provenance every report and ``courtgraph info`` show.

A table of accuracies is only evidence together with what produced it. Per protocol: the model of
each role with the base URL it was really called at (a local server is not the official API) and
its settings, and the protocol's parameters; for the run: the benchmark with its file's hash and
the case selection, the prompt templates' hashes, the package versions, the date and the status.
Everything comes from ``manifest.json`` (:mod:`courtgraph.evals.manifest`) and the stored records,
so a report written a year later says the same. Runs made before the manifest kept per-protocol
models fall back to the run's roles (specs only).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from courtgraph.evals.store import RunStore

#: Shown for what an older manifest did not record.
UNKNOWN = "?"


@dataclass
class Provenance:
    """One run's provenance (JSON-ready fields; :meth:`to_json` is what ``--json`` carries)."""

    run_dir: str
    run_id: str | None
    created: str | None
    status: str | None
    records: int
    bench: dict[str, Any]
    selection: dict[str, Any]
    protocols: dict[str, dict[str, Any]]
    templates: dict[str, str]
    versions: dict[str, str | None]
    command: list[str] = field(default_factory=list)
    error: str | None = None
    #: per endpoint (``PROVIDER@URL``): the calls in flight, timeout, retries and RPM/TPM it was given
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir, "run_id": self.run_id, "created": self.created, "status": self.status,
                "records": self.records, "bench": self.bench, "selection": self.selection,
                "protocols": self.protocols, "templates": self.templates, "versions": self.versions,
                "command": self.command, "error": self.error, "endpoints": self.endpoints}

    @property
    def date(self) -> str:
        """The run's creation date and time (UTC, minutes), or ``?`` for a run that did not record it."""
        return (self.created or UNKNOWN).replace("T", " ")[:16]


def read_provenance(run_dir: str | Path) -> Provenance:
    """The provenance of the run stored in ``run_dir``."""
    with RunStore(run_dir, create=False) as store:
        manifest = store.manifest()
        used = {name: ", ".join(sorted(h)) for name, h in sorted(store.template_hashes_seen().items())}
        count = len(store.done())
        n_cases = len(store.cases())
    return provenance_from(manifest, run_dir=str(run_dir), records=count, n_cases=n_cases, templates_used=used)


def provenance_from(manifest: dict[str, Any], *, run_dir: str, records: int = 0, n_cases: int | None = None,
                    templates_used: dict[str, str] | None = None) -> Provenance:
    """Provenance from a manifest (and what the store says about its records)."""
    config = manifest.get("config") or {}
    bench = dict(config.get("bench") or {})
    bench["sha256"] = config.get("bench_sha256")
    selection = {"cases": n_cases, "limit": config.get("limit"), "categories": config.get("categories"),
                 "orders": config.get("orders"), "seed": config.get("seed", manifest.get("seed"))}
    models = config.get("models") or {}
    roles = config.get("roles") or {}
    protocols: dict[str, dict[str, Any]] = {}
    for name, described in (config.get("protocols") or {}).items():
        protocols[name] = {"spec": described.get("spec") or described.get("graph"),
                           "params": described.get("params") or {},
                           "models": models.get(name) or _from_roles(roles)}
    return Provenance(run_dir=run_dir, run_id=manifest.get("run_id"), created=manifest.get("created"),
                      status=manifest.get("status"), records=records, bench=bench, selection=selection,
                      protocols=protocols, templates=templates_used if templates_used else
                      dict(manifest.get("prompts") or {}), versions=dict(manifest.get("versions") or {}),
                      command=list(manifest.get("command") or []), error=manifest.get("error"),
                      endpoints=dict((config.get("endpoints") or {}).get("in_force") or {}))


def _from_roles(roles: dict[str, Any]) -> dict[str, Any]:
    """An older manifest's roles as per-role models (specs only: it recorded no URLs or settings)."""
    out: dict[str, Any] = {}
    if roles.get("model"):
        out["every role"] = {"spec": roles["model"]}
    if roles.get("judge"):
        out["judge"] = {"spec": roles["judge"]}
    for i, spec in enumerate(roles.get("jurors") or [], 1):
        out[f"juror {i}"] = {"spec": spec}
    for side, spec in zip("AB", roles.get("debaters") or [], strict=False):
        out[f"debater {side}"] = {"spec": spec}
    for role, spec in (roles.get("extra") or {}).items():
        out[role] = {"spec": spec}
    return out


# -- rendering ---------------------------------------------------------------------------------------


def settings_text(settings: dict[str, Any] | None) -> str:
    """``temperature=0, max_tokens=2048`` (None values left out)."""
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in (settings or {}).items() if v is not None and v != {} and v != [])


def model_text(model: dict[str, Any]) -> str:
    """``openai:gpt-4o @ https://api.openai.com/v1 (temperature=0, max_tokens=2048)``."""
    text = str(model.get("spec") or UNKNOWN)
    url = model.get("base_url")
    if url and f"@{url}" not in text:
        text += f" @ {url}"
    settings = settings_text(model.get("settings"))
    return text + (f" ({settings})" if settings else "")


def role_lines(models: dict[str, Any]) -> list[str]:
    """``judge: MODEL`` lines, roles with the same model on one line (``juror 1-3`` reads as jurors)."""
    grouped: dict[str, list[str]] = {}
    for role, model in models.items():
        grouped.setdefault(model_text(model), []).append(role)
    return [f"{', '.join(roles)}: {text}" for text, roles in grouped.items()]


def params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"


def bench_text(p: Provenance) -> str:
    """``sample (sample.jsonl, sha256 1a2b3c4d5e6f) · 36 cases · limit 10 · orders AB,BA · seed 0``."""
    b, s = p.bench, p.selection
    source = Path(str(b["source"])).name if b.get("source") else None
    digest = f"sha256 {b['sha256'][:12]}" if b.get("sha256") else None
    inner = ", ".join(x for x in (source, digest) if x)
    parts = [f"{b.get('spec') or b.get('name') or UNKNOWN}" + (f" ({inner})" if inner else "")]
    if s.get("cases") is not None:
        parts.append(f"{s['cases']} cases")
    if s.get("limit") is not None:
        parts.append(f"limit {s['limit']}")
    if s.get("categories"):
        parts.append(f"categories {','.join(s['categories'])}")
    if s.get("orders"):
        parts.append(f"orders {','.join(s['orders'])}")
    if s.get("seed") is not None:
        parts.append(f"seed {s['seed']}")
    return " · ".join(parts)


def run_text(p: Provenance) -> str:
    """``run DIR · id 1a2b3c · 2026-12-03 08:23 · finished · 72 records``."""
    parts = [f"run {p.run_dir}", f"id {p.run_id or UNKNOWN}", p.date, p.status or UNKNOWN, f"{p.records} records"]
    return " · ".join(parts) + (f" · error: {p.error}" if p.error else "")


def versions_text(p: Provenance) -> str:
    return ", ".join(f"{k} {v}" for k, v in p.versions.items() if v) or UNKNOWN


def templates_text(p: Provenance) -> str:
    return ", ".join(f"{k} {v}" for k, v in p.templates.items()) or "none"


def endpoint_text(settings: dict[str, Any]) -> str:
    """``max_connections 3 · timeout 60 s · max_retries 3 · rpm 120 · tpm none``."""
    def shown(name: str, value: Any) -> str:
        if value is None:
            return "the model's own" if name in ("timeout", "max_retries") else "none"
        return f"{value:g} s" if name == "timeout" else str(value)

    return " · ".join(f"{k} {shown(k, settings.get(k))}" for k in ("max_connections", "timeout", "max_retries",
                                                                   "rpm", "tpm"))


def provenance_lines(p: Provenance) -> list[str]:
    """The provenance as plain text lines (the terminal report and ``courtgraph info``)."""
    lines = [run_text(p), f"bench {bench_text(p)}"]
    for name, proto in p.protocols.items():
        spec = f" ({proto['spec']})" if proto.get("spec") and proto["spec"] != name else ""
        lines.append(f"protocol {name}{spec}: {params_text(proto.get('params') or {})}")
        lines += [f"  {line}" for line in role_lines(proto.get("models") or {})]
    lines += [f"endpoint {key}: {endpoint_text(settings)}" for key, settings in p.endpoints.items()]
    lines += [f"templates: {templates_text(p)}", f"versions: {versions_text(p)}"]
    return lines


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def provenance_markdown(p: Provenance) -> str:
    """The provenance as a markdown section (a shared report.md must say what ran)."""
    rows = ["| protocol | parameters | role | model | base URL | settings |", "|---|---|---|---|---|---|"]
    for name, proto in p.protocols.items():
        for role, model in (proto.get("models") or {"?": {}}).items():
            rows.append("| " + " | ".join(_md(c) for c in (
                name, params_text(proto.get("params") or {}), role, str(model.get("spec") or UNKNOWN),
                str(model.get("base_url") or "—"), settings_text(model.get("settings")) or "—")) + " |")
    return "\n".join([
        "## Provenance", "",
        f"- **Run:** {_md(run_text(p))}",
        f"- **Benchmark:** {_md(bench_text(p))}"
        + (f" · sha256 `{p.bench['sha256']}`" if p.bench.get("sha256") else ""),
        f"- **Prompt templates:** {_md(templates_text(p))}",
        f"- **Versions:** {_md(versions_text(p))}",
        f"- **Command:** `{' '.join(p.command)}`" if p.command else "- **Command:** ?", "",
        *rows, ""])


def provenance_caption(p: Provenance, width: int = 110) -> str:
    """A few short lines for a plot: run, bench, and each protocol's models."""
    lines = [run_text(p), f"bench {bench_text(p)}"]
    for name, proto in p.protocols.items():
        lines.append(f"{name}: " + "; ".join(role_lines(proto.get("models") or {})))
    return "\n".join(line if len(line) <= width else line[: width - 1] + "…" for line in lines)


def print_provenance(run: Provenance | str | Path, console: Console | None = None, *, style: str = "dim") -> None:
    """What ran, under the tables: ``courtgraph report`` and the end of ``courtgraph run``
    (:meth:`Results.report`) print the same lines, so a pasted table always carries its models."""
    prov = run if isinstance(run, Provenance) else read_provenance(run)
    console = console or Console()
    console.print(Text("\n".join(hanging(provenance_lines(prov), console.width)), style=style), overflow="fold")


def hanging(lines: list[str], width: int) -> list[str]:
    """Lines wrapped at ``width`` with a hanging indent, so a wrapped model's settings stay under its role
    rather than at the margin, where they read as a line of their own."""
    out: list[str] = []
    for line in lines:
        lead = " " * (len(line) - len(line.lstrip()))
        out += textwrap.wrap(line, width=width, subsequent_indent=lead + "    ", break_on_hyphens=False) or [""]
    return out

"""The ``sim:`` spec: a simulated agent's parameters, one table row per key.

:data:`PARAMETERS` is the single list of keys: their ranges, aliases, meanings and (for the
setting-specific accuracies) the setting each applies to. :func:`parse_spec` and the error
messages read it; :class:`SimParams` holds one value per row (its field defaults are the keys'
defaults). Adding a key is a row here and a field on :class:`SimParams`; a test checks that the two
agree, and the key is then parsed, range-checked and listed in errors without further code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from courtgraph.agents.base import Setting
from courtgraph.models.base import ConfigError


@dataclass(frozen=True)
class Parameter:
    """One key of a ``sim:`` spec. ``setting``: the proceedings in which it replaces ``acc``."""

    key: str
    low: float
    high: float
    meaning: str
    aliases: tuple[str, ...] = ()
    settings: tuple[Setting, ...] = ()
    probe: str | None = None  # the robustness probe whose susceptibility this is (courtgraph.evals.probes)


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("acc", 0.0, 1.0, "probability of preferring the correct candidate in a trial (of a valid, non-tie "
              "answer), before position bias; for a score, of scoring on the right side of the scale",
              ("accuracy",)),
    Parameter("bias", -1.0, 1.0, "position bias: probability moved toward the candidate shown first (> 0 favours "
              "A), so accuracy is acc + bias when the correct one is shown first, acc - bias when second",
              ("position_bias",)),
    Parameter("corr", 0.0, 1.0, "error correlation rho between agents through a shared per-case difficulty "
              "(Gaussian copula)", ("rho",)),
    Parameter("persist", 0.0, 1.0, "correlation of the agent's own errors between the two orders of a case"),
    Parameter("tie", 0.0, 1.0, "probability of answering [[C]] instead of deciding"),
    Parameter("invalid", 0.0, 1.0, "probability of an answer with no verdict tag (each re-ask drawn afresh)"),
    Parameter("debate", 0.0, 1.0, "accuracy when judging a debate or a courtroom (default: acc)",
              settings=("debate", "courtroom")),
    Parameter("consult", 0.0, 1.0, "accuracy when judging a consultancy (default: acc)", settings=("consultancy",)),
    Parameter("grow", 0.0, 1.0, "confidence that grows over rounds, at a pace set by difficulty: a debate judge's "
              "round-1 doubt h = 2(1 - c) on a score (c its calibrated confidence) makes it revise the score in round "
              "r with probability h(1 - grow)^(r - 1), else repeat it; a revised score's doubt is (1 - grow)^(r - 1) "
              "of its first, right or wrong as in round 1, so an easy candidate's score settles at once and a hard "
              "one's keeps moving (0: scores as usual)"),

    Parameter("fooled", 0.0, 1.0, "susceptibility to any probe without its own key: on a perturbed case, the "
              "probability of preferring the perturbed (wrong) candidate whatever it would have said; drawn once "
              "per agent and case (both orders), correlated between agents by corr", ("susceptibility",)),
    *(Parameter(key, 0.0, 1.0, f"susceptibility to the {probe} probe (default: fooled)", (probe,) if probe != key
                else (), probe=probe)
      for key, probe in (("verbosity", "verbosity"), ("master_key", "master-key"), ("authority", "authority"),
                         ("bandwagon", "bandwagon"), ("distraction", "distraction"))),
)

#: Every accepted spelling of a key (the keys, their aliases, and ``name``) -> the key.
ALIASES: dict[str, str] = {"name": "name"} | {a: p.key for p in PARAMETERS for a in (p.key, *p.aliases)}
_BY_KEY = {p.key: p for p in PARAMETERS}
_NAME = re.compile(r"[A-Za-z_][\w.\-]*")


@dataclass(frozen=True)
class SimParams:
    """A simulated agent's competence: one field per row of :data:`PARAMETERS`, plus its ``name``.

    A setting-specific accuracy left at ``None`` falls back to ``acc``.
    """

    acc: float = 0.75
    bias: float = 0.0
    corr: float = 0.0
    persist: float = 0.0
    tie: float = 0.0
    invalid: float = 0.0
    debate: float | None = None
    consult: float | None = None
    grow: float = 0.0
    fooled: float = 0.0
    verbosity: float | None = None
    master_key: float | None = None
    authority: float | None = None
    bandwagon: float | None = None
    distraction: float | None = None
    name: str | None = None

    @property
    def identity(self) -> str:
        """What seeds this agent's own draws: its name, else its parameters that differ from the defaults.

        Only the non-default values count, so adding a key to the table never changes the draws of an
        agent that does not set it.
        """
        if self.name:
            return self.name
        changed = [f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                   if f.name != "name" and getattr(self, f.name) != f.default]
        return ":".join(changed) or "default"

    def accuracy(self, setting: Setting | None) -> float:
        """The accuracy that applies in ``setting``: its own key when set there, else ``acc``."""
        for p in PARAMETERS:
            value = getattr(self, p.key)
            if setting in p.settings and value is not None:
                return float(value)
        return self.acc


    def susceptibility(self, probe: str) -> float:
        """The probability of being fooled by ``probe`` (a probe label such as ``verbosity:ratio=3``): its
        own key when set, else ``fooled``."""
        name = probe.split(":")[0]
        for p in PARAMETERS:
            value = getattr(self, p.key)
            if p.probe == name and value is not None:
                return float(value)
        return self.fooled


def parse_spec(rest: str) -> SimParams:
    """``acc=0.7:bias=0.1:j1`` -> SimParams. ConfigError, naming the bad token, on anything else.

    Tokens are separated by ``:`` (or ``;``), never by commas, because comma-separated CLI lists such
    as ``--jurors sim:j1:0.7,sim:j2:0.7`` split on them. A bare number is the accuracy, a bare word
    the agent's name, ``key=value`` sets a parameter.
    """
    where = f"sim:{rest}"
    if "," in rest:
        raise ConfigError(f"{where}: separate sim parameters with ':' (commas split model lists)")
    values: dict[str, float | str] = {}
    for token in filter(None, (t.strip() for t in re.split(r"[:;]", rest))):
        key, eq, text = token.partition("=")
        if not eq:
            key, text = ("acc", token) if _is_number(token) else ("name", token)
        canon = ALIASES.get(key.strip().lower())
        if canon is None:
            raise ConfigError(f"{where}: unknown parameter {key!r}; known: {', '.join(sorted(ALIASES))}")
        if canon in values:
            raise ConfigError(f"{where}: {canon} given twice")
        values[canon] = _value(where, canon, text.strip())
    return SimParams(**values)  # type: ignore[arg-type]  # keys and types checked against the table above


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _value(where: str, key: str, text: str) -> float | str:
    if key == "name":
        if not _NAME.fullmatch(text):
            raise ConfigError(f"{where}: name {text!r} must be letters, digits, '_', '.' or '-'")
        return text
    if not _is_number(text):
        raise ConfigError(f"{where}: {key}={text!r} is not a number")
    row = _BY_KEY[key]
    number = float(text)
    if not row.low <= number <= row.high:
        raise ConfigError(f"{where}: {key}={number:g} is outside [{row.low:g}, {row.high:g}]")
    return number


def describe_parameters() -> str:
    """The table of keys as text (defaults from :class:`SimParams`), for help and documentation."""
    defaults = {f.name: f.default for f in fields(SimParams)}
    lines = []
    for p in PARAMETERS:
        fallback = "= fooled" if p.probe else "= acc"
        default = fallback if defaults[p.key] is None else f"{defaults[p.key]:g}"
        also = f" (also {', '.join(p.aliases)})" if p.aliases else ""
        lines.append(f"{p.key:<11} {default:<8} in [{p.low:g}, {p.high:g}]{also}: {p.meaning}")
    return "\n".join(lines)

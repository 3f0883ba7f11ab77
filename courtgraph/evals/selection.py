"""Which cases of a benchmark a run judges: categories, ids, a seeded (stratified) sample, a shuffle, a limit.

Why this module exists: benchmark files are often sorted (JudgeBench's by source), so "the first N
cases" silently measures one category. ``sample`` draws a seeded random sample that is stratified by
category by default: each category gets its share of the N cases by largest-remainder allocation
(the Hamilton method), so a 100-case sample of JudgeBench's 154/98/56/42 split keeps 44/28/16/12.
A sample is returned in a seeded random order, so a run stopped early (a budget, Ctrl-C) has judged
a random part of it rather than the first categories. The randomness is a hash of the seed and each
case's id, so samples nest (a sample of 200 holds the sample of 100 with the same seed) and do not
depend on the file's order. ``limit`` keeps its meaning (the first N) and
warns when the file is sorted by category and the first N leave some out.

The steps run in a fixed order: categories, then ids, then the sample, then the shuffle, then the
limit. The seed is the run's seed, so the same command picks the same cases; :meth:`Selection.describe`
is the one-line account the report and the manifest give.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from courtgraph.errors import InputError
from courtgraph.schema import Case

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Selection:
    """How a run chooses its cases. The default (every field unset) is every case, in file order."""

    categories: tuple[str, ...] | None = None
    cases: tuple[str, ...] | None = None  # case ids, kept in the benchmark's order
    sample: int | None = None  # a random sample of this many cases
    stratify: bool = True  # the sample keeps each category's share
    shuffle: bool = False  # judge in a seeded random order
    limit: int | None = None  # the first N (after everything above)
    seed: int = 0

    @classmethod
    def build(cls, *, categories: Iterable[str] | None = None, cases: Iterable[str] | str | None = None,
              sample: int | None = None, stratify: bool = True, shuffle: bool = False,
              limit: int | None = None, seed: int = 0) -> Selection:
        """A checked selection; ``cases`` may be ``"ID,ID"``, ``"@FILE"`` or an iterable of ids."""
        if sample is not None and sample < 1:
            raise InputError(f"sample must be at least 1, not {sample}", field="sample")
        if limit is not None and limit < 1:
            raise InputError(f"limit must be at least 1, not {limit}", field="limit")
        if sample is not None and limit is not None:
            raise InputError("give --sample or --limit, not both (a sample of N is already N cases)",
                             field="sample")
        ids = parse_case_ids(cases) if isinstance(cases, str) else None if cases is None else tuple(cases)
        cats = tuple(categories) if categories else None
        return cls(categories=cats, cases=ids or None, sample=sample, stratify=stratify, shuffle=shuffle,
                   limit=limit, seed=seed)

    def to_json(self) -> dict[str, Any]:
        """The manifest's record of the choice (lists, not tuples, so it compares equal to its stored copy)."""
        out = asdict(self)
        for key in ("categories", "cases"):
            out[key] = list(out[key]) if out[key] is not None else None
        out["description"] = self.describe()
        return out

    def describe(self) -> str:
        """One line saying how the cases were chosen, e.g. ``a random sample of 100 stratified by category
        (seed 1)``."""
        parts: list[str] = []
        if self.categories:
            parts.append(f"categories {', '.join(self.categories)}")
        if self.cases:
            parts.append(f"{len(self.cases)} listed case id{'s' if len(self.cases) != 1 else ''}")
        if self.sample is not None:
            how = " stratified by category" if self.stratify else ""
            parts.append(f"a random sample of {self.sample}{how} (seed {self.seed})")
        elif self.shuffle:
            parts.append(f"shuffled (seed {self.seed})")
        if self.limit is not None:
            parts.append(f"the first {self.limit}" + (" after shuffling" if self.shuffle else " in file order"))
        return "; ".join(parts) if parts else "every case, in file order"


def parse_case_ids(text: str) -> tuple[str, ...]:
    """``"a,b"`` or ``"@FILE"`` (one id a line, or comma-separated; ``#`` starts a comment)."""
    text = text.strip()
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            body = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read the case list: {exc.strerror or exc}", path=path, field="cases") from None
        lines = [line.partition("#")[0] for line in body.splitlines()]
        ids = [i.strip() for line in lines for i in line.split(",") if i.strip()]
        if not ids:
            raise InputError("the case list is empty", path=path, field="cases")
        return tuple(ids)
    ids = [i.strip() for i in text.split(",") if i.strip()]
    if not ids:
        raise InputError("no case ids given", field="cases")
    return tuple(ids)


def largest_remainder(counts: Mapping[K, int], n: int) -> dict[K, int]:
    """Split ``n`` among groups in proportion to ``counts`` (Hamilton's method): each group gets the
    floor of its exact share, and the seats left go to the largest remainders (ties: the larger
    group, then the order given). No group gets more than it has; ``n`` must not exceed the total."""
    total = sum(counts.values())
    if n > total:
        raise ValueError(f"cannot take {n} of {total}")
    if total == 0:
        return dict.fromkeys(counts, 0)
    exact = {k: n * c / total for k, c in counts.items()}
    seats = {k: int(share) for k, share in exact.items()}
    order = list(counts)
    left = sorted(order, key=lambda k: (-(exact[k] - seats[k]), -counts[k], order.index(k)))
    for k in left[: n - sum(seats.values())]:
        seats[k] += 1
    return seats


def sorted_by_category(cases: Sequence[Case]) -> bool:
    """Whether the cases come in blocks, one per category (two categories or more)."""
    blocks = [c.category for i, c in enumerate(cases) if i == 0 or c.category != cases[i - 1].category]
    return len(blocks) > 1 and len(blocks) == len(set(blocks))


def random_key(seed: int, purpose: str, case_id: str) -> str:
    """A case's place in a seeded random order: a hash of the seed and its id, so the order depends on
    neither the file's order nor the other cases (the same on every platform and Python version)."""
    return hashlib.sha256(f"courtgraph:{purpose}:{seed}:{case_id}".encode()).hexdigest()


def sample_cases(cases: Sequence[Case], n: int, *, seed: int, stratify: bool = True) -> list[Case]:
    """``n`` cases drawn at random (seeded), stratified by category unless told otherwise, in a random order.

    Each case gets a seeded random key; a category's share is its cases with the smallest keys. So
    samples nest: with the same seed, a larger sample holds a smaller one (whenever no category's share
    shrinks as N grows, which largest remainders almost never do), and a run can be grown by resuming
    it with a larger ``--sample``."""
    if n > len(cases):
        raise InputError(f"cannot sample {n} cases: only {len(cases)} to choose from", field="sample")
    ranked = sorted(cases, key=lambda c: random_key(seed, "sample", c.id))
    if not stratify:
        return ranked[:n]
    groups: dict[str | None, list[Case]] = {}
    for case in ranked:
        groups.setdefault(case.category, []).append(case)
    quota = largest_remainder({k: len(v) for k, v in groups.items()}, n)
    chosen = {c.id for k, members in groups.items() for c in members[: quota[k]]}
    return [c for c in ranked if c.id in chosen]


def choose_cases(cases: Sequence[Case], selection: Selection) -> tuple[list[Case], list[str]]:
    """The cases ``selection`` picks and the warnings to show (e.g. a limit on a category-sorted file)."""
    warnings: list[str] = []
    chosen = list(cases)
    if selection.categories:
        known = {c.category for c in chosen}
        unknown = [c for c in selection.categories if c not in known]
        if unknown:
            names = ", ".join(sorted(str(k) for k in known if k is not None)) or "(none)"
            raise InputError(f"no cases in categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                             f"this benchmark has: {names}", field="categories")
        chosen = [c for c in chosen if c.category in selection.categories]
    if selection.cases:
        present = {c.id for c in chosen}
        missing = [i for i in selection.cases if i not in present]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise InputError(f"no case with id {shown} among the benchmark's cases"
                             + (" in the chosen categories" if selection.categories else ""), field="cases")
        wanted = set(selection.cases)
        chosen = [c for c in chosen if c.id in wanted]
    if selection.sample is not None:
        chosen = sample_cases(chosen, selection.sample, seed=selection.seed, stratify=selection.stratify)
    elif selection.shuffle:
        chosen.sort(key=lambda c: random_key(selection.seed, "shuffle", c.id))
    if selection.limit is not None and selection.limit < len(chosen):
        if not selection.shuffle and sorted_by_category(chosen):
            kept = Counter(c.category for c in chosen[: selection.limit])
            every = Counter(c.category for c in chosen)
            if set(kept) != set(every):
                warnings.append(f"--limit {selection.limit} takes the first {selection.limit} cases of a file "
                                f"sorted by category: only {', '.join(str(k) for k in kept)} of "
                                f"{len(every)} categories; use --sample {selection.limit} for a stratified "
                                "random sample")
        chosen = chosen[: selection.limit]
    return chosen, warnings

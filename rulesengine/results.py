"""What an evaluation returns: immutable records with their explanations.

Explanations are data (the rule, the contributing event ids, intermediate values), recorded while
evaluating and rendered separately (see :mod:`rulesengine.render`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from typing import Any, overload


@dataclass(frozen=True, slots=True)
class Contribution:
    """One scored event's part in a score."""

    event: str
    month: str
    rule: str
    points: Decimal
    detail: dict[str, Any]


class Contributions(Sequence[Contribution]):
    """A score's contributions in order, kept as the chunks of its score book (a quarter or a
    year shares the chunks of its months). Iterating and ``len`` read the chunks; indexing,
    comparing and hashing make one tuple the first time. Most results are never explained, and
    at a province's scale copying every contribution into a tuple per period cost about 0.17 s
    of the 17 periods (decision 28). Equal to a tuple of the same contributions; pickled, it
    holds them as one tuple."""

    __slots__ = ("_chunks", "_flat")

    def __init__(self, chunks: Iterable[Sequence[Contribution]] = ()) -> None:
        self._chunks = tuple(chunks)
        self._flat: tuple[Contribution, ...] | None = None

    def _all(self) -> tuple[Contribution, ...]:
        if self._flat is None:
            self._flat = tuple(chain.from_iterable(self._chunks))
        return self._flat

    def __iter__(self) -> Iterator[Contribution]:
        return chain.from_iterable(self._chunks)

    def __len__(self) -> int:
        return sum(map(len, self._chunks))

    @overload
    def __getitem__(self, index: int) -> Contribution: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Contribution, ...]: ...

    def __getitem__(self, index: int | slice) -> Contribution | tuple[Contribution, ...]:
        return self._all()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Contributions):
            return self._all() == other._all()
        if isinstance(other, tuple):
            return self._all() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return f"Contributions({self._all()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Contributions, ((self._all(),),))


@dataclass(frozen=True, slots=True)
class Score:
    """Points of one subject (a person or a unit) under one points rule in the period."""

    rule: str
    subject: str
    subject_kind: str
    points: Decimal
    contributions: Sequence[Contribution] = ()

    def sort_key(self) -> tuple[str, bool, str, str]:
        """Results list scores by rule, then persons before units, then kind and subject."""
        return score_order(self.rule, self.subject_kind, self.subject)


def score_order(rule: str, subject_kind: str, subject: str) -> tuple[str, bool, str, str]:
    """:meth:`Score.sort_key` from the parts (to sort before the scores are made)."""
    return (rule, subject_kind != "person", subject_kind, subject)


@dataclass(frozen=True, slots=True)
class RankingRow:
    """One ranked subject."""

    rule: str
    subject: str
    rank: int
    points: Decimal
    tier: str | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """An action to take: who (target) must act about what (subject), and why."""

    id: str
    action: str
    label: str
    rule: str
    period: str
    subject: str
    subject_kind: str
    target: str | None
    evidence: Any
    explanation: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[str, str, str, str, str]:
        """Actions are listed by action name, subject, target, rule."""
        return (self.action, self.subject, self.target or "", self.rule, self.id)


def action_id(
    family: str, rule: str, action: str, period: str, subject: str, target: str | None
) -> str:
    """A stable id: the same action evaluated twice has the same id."""
    text = "\x1f".join((family, rule, action, period, subject, target or ""))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Payment:
    """Money due to a person for the period."""

    rule: str
    person: str
    amount: Decimal
    count: int
    events: tuple[str, ...] = ()

    def sort_key(self) -> tuple[str, str]:
        """Results list payments by rule, then person."""
        return (self.rule, self.person)


@dataclass(frozen=True, slots=True)
class Grade:
    """A subject's grade (or veto) from a score in the period."""

    rule: str
    subject: str
    subject_kind: str
    points: Decimal
    grade: str
    vetoed: bool = False


@dataclass(frozen=True, slots=True)
class Warning:
    """Something legal but suspicious met while evaluating (e.g. a key with no points row)."""

    code: str
    message: str
    rule: str = ""
    event: str = ""

    def sort_key(self) -> tuple[str, str, str, str]:
        """Results list warnings by code, event, message, then rule (every field: decision 24)."""
        return (self.code, self.event, self.message, self.rule)


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """Which policy produced a result."""

    family: str
    version: str
    sha256: str
    path: str = ""


@dataclass(frozen=True, slots=True)
class Result:
    """The evaluation of one period."""

    period: str
    period_kind: str
    timezone: str
    start: str
    end: str
    policy: PolicyRef
    policies_used: tuple[PolicyRef, ...]
    scores: tuple[Score, ...]
    rankings: tuple[RankingRow, ...]
    actions: tuple[Action, ...]
    payments: tuple[Payment, ...]
    warnings: tuple[Warning, ...]
    grades: tuple[Grade, ...]
    labels: dict[str, str]
    names: dict[str, str]
    events_considered: int
    events_void: int

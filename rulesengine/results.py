"""What an evaluation returns: immutable records with their explanations.

Explanations are data (the rule, the contributing event ids, intermediate values), recorded while
evaluating and rendered separately (see :mod:`rulesengine.render`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Contribution:
    """One scored event's part in a score."""

    event: str
    month: str
    rule: str
    points: Decimal
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Score:
    """Points of one subject (a person or a unit) under one points rule in the period."""

    rule: str
    subject: str
    subject_kind: str
    points: Decimal
    contributions: tuple[Contribution, ...] = ()

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

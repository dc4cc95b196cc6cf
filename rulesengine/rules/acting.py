"""Turning a fired action spec into an :class:`~rulesengine.results.Action`: resolve the target
on the roster and give the action its stable id."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rulesengine.results import Action, action_id
from rulesengine.rules.common import ActionSpec

if TYPE_CHECKING:
    from rulesengine.context import Context
    from rulesengine.policy import Policy


def head_of(ctx: Context, policy: Policy, ref: str | None, kind: str, at: datetime) -> str | None:
    """The head of a unit (``kind == "unit"``) or of a person's unit (last one, if they left)."""
    if ref is None:
        return None
    unit = ref if kind == "unit" else ctx.roster.last_unit_at(ref, at)
    return ctx.roster.head_of(unit, at, policy.heads)


def make_action(
    ctx: Context,
    policy: Policy,
    rule_name: str,
    spec: ActionSpec,
    period: str,
    subject: str,
    subject_kind: str,
    target: str | None,
    evidence: Any,
    explanation: dict[str, Any],
) -> Action:
    """An action record with its stable id."""
    return Action(
        action_id(ctx.family, rule_name, spec.action, period, subject, target),
        spec.action,
        spec.label,
        rule_name,
        period,
        subject,
        subject_kind,
        target,
        evidence,
        explanation,
    )


def unit_action(
    ctx: Context,
    policy: Policy,
    rule_name: str,
    spec: ActionSpec,
    period: str,
    unit: str,
    at: datetime,
    evidence: Any,
    explanation: dict[str, Any],
) -> Action:
    """An action whose subject is a unit and whose target is that unit's head at ``at``."""
    target = head_of(ctx, policy, unit, "unit", at)
    return make_action(
        ctx,
        policy,
        rule_name,
        spec,
        period,
        unit,
        ctx.roster.units[unit].kind,
        target,
        evidence,
        explanation,
    )

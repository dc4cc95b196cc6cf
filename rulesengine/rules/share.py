"""Rule kind ``share``: at a period's close, per unit, the share of counted events that meet a
condition (``part``); actions when there is at least one counted event and the share is below the
minimum. Events count for a unit when their author was in it, or in a unit below it, at the time."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from rulesengine.events import Event
from rulesengine.expressions import Expression
from rulesengine.periods import Period
from rulesengine.results import Action
from rulesengine.roster import end_instant
from rulesengine.rules.acting import unit_action
from rulesengine.rules.common import (
    ActionSpec,
    BuildContext,
    Selection,
    build_award_and_actions,
    build_selection,
    field_names,
)
from rulesengine.yamlsrc import Path

if TYPE_CHECKING:
    from rulesengine.context import Context
    from rulesengine.policy import Policy


@dataclass(frozen=True, slots=True)
class ShareRule:
    """A checked ``share`` rule."""

    name: str
    label: str
    period: str
    unit_kinds: tuple[str, ...]
    counts: Selection
    part: Expression
    minimum: Decimal
    actions: tuple[ActionSpec, ...]
    award: Expression | None = None
    kind: str = "share"


def build(raw: dict[str, Any], path: Path, ctx: BuildContext) -> ShareRule | None:
    """Build a share rule from its checked YAML mapping."""
    counts = build_selection(raw["counts"], (*path, "counts"), ctx)
    if counts is None:
        return None
    names = field_names(ctx.vocab, counts.type)
    for other in ctx.vocab.types.values():
        if any(
            f.type == "event" and (not f.of or counts.type in f.of) for f in other.fields.values()
        ):
            names[f"referenced_by.{other.name}"] = (
                f"how many {other.name} events before the period's end refer to this one"
            )
    part = ctx.expression(raw["part"], (*path, "part"), names)
    ok, award, actions = build_award_and_actions(raw, path, ctx, AWARD_NAMES, None, lambda a: True)
    if part is None or not ok:
        return None
    return ShareRule(
        raw["name"],
        raw.get("label", ""),
        raw["period"],
        tuple(raw["unit_kinds"]),
        counts,
        part,
        Decimal(str(raw["minimum"])),
        tuple(actions),
        award,
    )


AWARD_NAMES = {
    "part": "counted events meeting the condition",
    "total": "counted events",
    "share": "part / total (exact; 0 when total is 0)",
    "below": "total > 0 and share < minimum",
}


def tallies(ctx: Context, rule: ShareRule, period: Period, policy: Policy) -> dict[str, Any]:
    """Per unit: ``(part events, other events)`` for ``period``, each in time order."""
    start, end = period.bounds(policy.timezone)
    last = end_instant(end)
    roster = ctx.roster
    found: dict[str, list[list[Event]]] = {
        u: [[], []] for u in roster.units_of_kinds(rule.unit_kinds, last)
    }
    names = rule.part.names
    plain = not any(n == "type" or n.startswith("referenced_by.") for n in names)
    run, credit, unit_at, of_kind = (
        rule.part.evaluate_values,
        ctx.credit,
        roster.unit_at,
        roster.unit_of_kind,
    )
    kinds = rule.unit_kinds
    homes: dict[Any, str | None] = roster.homes(kinds, start)  # for events of the period
    for ev in ctx.selected(rule.counts, start, end):
        data = ev.data
        piece, person = credit(ev)
        # a person who never moved, credited for this very event: one look-up
        unit = homes.get(person, _UNKNOWN) if piece is ev else _UNKNOWN
        if unit is _UNKNOWN:
            home = unit_at(person, piece.at) if person else ctx.credited_unit(piece)
            unit = of_kind(home, kinds)
        if unit not in found:
            continue
        values = (
            tuple(map(data.get, names)) if plain else tuple(_value(ctx, ev, n, end) for n in names)
        )
        found[unit][0 if run(values) else 1].append(ev)
    return found


_UNKNOWN = object()


def _value(ctx: Context, ev: Any, name: str, end: Any) -> Any:
    if name == "type":
        return ev.type
    if name.startswith("referenced_by."):
        return ctx.referrers(ev.id, name[len("referenced_by.") :], end)
    return ev.data.get(name)


def awards(
    ctx: Context, rule: ShareRule, period: Period, policy: Policy
) -> dict[str, tuple[Decimal, dict[str, Any]]]:
    """Points the ``award`` expression gives each unit for ``period`` (of the rule's kind)."""
    if rule.award is None or period.kind != rule.period:
        return {}
    out = {}
    for unit, (part, rest) in sorted(tallies(ctx, rule, period, policy).items()):
        total = len(part) + len(rest)
        share = Decimal(len(part)) / Decimal(total) if total else Decimal(0)
        env = {
            "part": len(part),
            "total": total,
            "share": share,
            "below": total > 0 and Decimal(len(part)) < rule.minimum * total,
        }
        value = rule.award.number(tuple(env[n] for n in rule.award.names))
        if value != 0:
            out[unit] = (value, {**env, "period": period.id})
    return out


def evaluate(ctx: Context, rule: ShareRule, period: Period, policy: Policy) -> list[Action]:
    """The actions of ``rule`` for ``period`` (only when the period is of the rule's kind)."""
    if period.kind != rule.period or not rule.actions:
        return []
    last = end_instant(period.bounds(policy.timezone)[1])
    tallies_found = tallies(ctx, rule, period, policy)
    out: list[Action] = []
    for unit in sorted(tallies_found):
        part, rest = tallies_found[unit]
        total = len(part) + len(rest)
        if total == 0 or Decimal(len(part)) >= rule.minimum * total:
            continue
        share = (Decimal(len(part)) / Decimal(total)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
        explanation = {
            "part": len(part),
            "total": total,
            "share": share,
            "minimum": rule.minimum,
            "part_events": [e.id for e in part],
            "other_events": [e.id for e in rest],
        }
        for spec in rule.actions:
            out.append(
                unit_action(
                    ctx,
                    policy,
                    rule.name,
                    spec,
                    period.id,
                    unit,
                    last,
                    {"share": share, "part": len(part), "total": total},
                    explanation,
                )
            )
    return out

"""Rule kind ``ranking``: rank every unit of some kinds that exists at the period's end by the
points of a points rule, highest first, with standard competition ranks (1, 2, 2, 4), ties listed
by id, and optional tiers by rank (a tie straddling a tier boundary stays in the better tier)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rulesengine.periods import Period
from rulesengine.results import Action, RankingRow
from rulesengine.roster import end_instant
from rulesengine.rules.acting import unit_action
from rulesengine.rules.common import ActionSpec, BuildContext, build_actions
from rulesengine.yamlsrc import Path

if TYPE_CHECKING:
    from rulesengine.context import Context
    from rulesengine.policy import Policy


@dataclass(frozen=True, slots=True)
class Tier:
    """Ranks up to ``up_to_rank`` (None: all the rest) get ``label``."""

    label: str
    up_to_rank: int | None


@dataclass(frozen=True, slots=True)
class RankingRule:
    """A checked ``ranking`` rule."""

    name: str
    label: str
    periods: tuple[str, ...]
    unit_kinds: tuple[str, ...]
    points: str
    tiers: tuple[Tier, ...]
    kind: str = "ranking"


def build(raw: dict[str, Any], path: Path, ctx: BuildContext) -> RankingRule | None:
    """Build a ranking rule from its checked YAML mapping."""
    if ctx.rule_names.get(raw["points"]) not in ("points", "tally", "share", "deadline", "total"):
        ctx.error(
            (*path, "points"),
            "E180",
            f"'{raw['points']}' is not a points rule of this policy",
            "name the rule whose points are ranked",
        )
        return None
    tiers = tuple(Tier(t["label"], t.get("up_to_rank")) for t in raw.get("tiers", ()))
    return RankingRule(
        raw["name"],
        raw.get("label", ""),
        tuple(raw["periods"]),
        tuple(raw["unit_kinds"]),
        raw["points"],
        tiers,
    )


def rank(
    points: dict[str, Decimal], tiers: tuple[Tier, ...]
) -> list[tuple[str, int, Decimal, str | None]]:
    """``(subject, rank, points, tier)`` in ranking order."""
    ordered = sorted(points.items(), key=lambda kv: (-kv[1], kv[0]))
    out = []
    prev: Decimal | None = None
    current = 0
    for i, (subject, pts) in enumerate(ordered, start=1):
        if pts != prev:
            current, prev = i, pts
        tier = next(
            (t.label for t in tiers if t.up_to_rank is None or current <= t.up_to_rank), None
        )
        out.append((subject, current, pts, tier))
    return out


def evaluate(
    ctx: Context,
    rule: RankingRule,
    period: Period,
    policy: Policy,
    unit_points: dict[tuple[str, str], Decimal],
) -> list[RankingRow]:
    """The ranking for ``period`` if the rule ranks periods of its kind."""
    if period.kind not in rule.periods:
        return []
    last = end_instant(period.bounds(policy.timezone)[1])
    units = ctx.roster.units_of_kinds(rule.unit_kinds, last)
    points = {u: unit_points.get((rule.points, u), Decimal(0)) for u in units}
    return [RankingRow(rule.name, s, r, p, t) for s, r, p, t in rank(points, rule.tiers)]


@dataclass(frozen=True, slots=True)
class ImprovementRule:
    """A checked ``improvement`` rule: the largest rise in a ranking since the period before."""

    name: str
    label: str
    ranking: str
    period: str
    actions: tuple[ActionSpec, ...]
    kind: str = "improvement"


def build_improvement(raw: dict[str, Any], path: Path, ctx: BuildContext) -> ImprovementRule | None:
    """Build an improvement rule from its checked YAML mapping."""
    if ctx.rule_names.get(raw["ranking"]) != "ranking":
        ctx.error((*path, "ranking"), "E184", f"'{raw['ranking']}' is not a ranking rule")
        return None
    actions = build_actions(raw["actions"], (*path, "actions"), ctx, None)
    if len(actions) != len(raw["actions"]):
        return None
    for i, a in enumerate(actions):
        if not a.target.head:
            ctx.error(
                (*path, "actions", i, "target"),
                "E161",
                "the subject here is a unit: the target must be 'head of subject'",
            )
            return None
    return ImprovementRule(
        raw["name"], raw.get("label", ""), raw["ranking"], raw["period"], tuple(actions)
    )


def improvements(
    ctx: Context,
    rule: ImprovementRule,
    period: Period,
    policy: Policy,
    before: dict[str, int],
    now: dict[str, int],
) -> list[Action]:
    """Actions for the unit(s) whose rank rose most (improvement = rank before - rank now),
    if that rise is above zero; units not ranked before are not eligible."""
    rises = {u: before[u] - r for u, r in now.items() if u in before}
    best = max(rises.values(), default=0)
    if best <= 0:
        return []
    last = end_instant(period.bounds(policy.timezone)[1])
    out = []
    for unit in sorted(u for u, rise in rises.items() if rise == best):
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
                    [before[unit], now[unit]],
                    {"rank_before": before[unit], "rank_now": now[unit], "rise": best},
                )
            )
    return out

"""Rule kind ``tally``: count selected events per eligible person (or per unit) in each period,
and take actions on the counts.

Names a ``when`` condition may read: ``count``, ``first_day`` and ``last_day`` (local day of the
month of the first and last counted event, 0 when none) and, with a ``minimum``: ``minimum``,
``below`` (count < minimum) and ``streak`` (how many consecutive periods, ending with this one,
the subject was below; each earlier period is judged by the rule of the same name in the policy in
force then, and a period with no such rule, or where the subject is not judged, ends the streak).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from rulesengine.events import Event, in_offset_zone
from rulesengine.expressions import Expression
from rulesengine.periods import Period
from rulesengine.results import Action
from rulesengine.roster import end_instant
from rulesengine.rules.acting import head_of, make_action, unit_action
from rulesengine.rules.common import (
    ActionSpec,
    BuildContext,
    Selection,
    build_award_and_actions,
    build_selection,
    unit_names,
    unit_value,
)
from rulesengine.yamlsrc import Path

if TYPE_CHECKING:
    from rulesengine.context import Context
    from rulesengine.policy import Policy

MAX_STREAK = 600
_ID = attrgetter("id")


@dataclass(frozen=True, slots=True)
class TallyRule:
    """A checked ``tally`` rule."""

    name: str
    label: str
    period: str
    per: str
    unit_kinds: tuple[str, ...]
    only_with_eligible: bool
    counts: Selection
    minimum: Expression | None
    actions: tuple[ActionSpec, ...]
    award: Expression | None = None
    unit_names: tuple[str, ...] = ()
    reads_days: bool = True
    kind: str = "tally"

    @property
    def reads_streak(self) -> bool:
        """Whether an action's condition or the award reads ``streak`` (needs a minimum)."""
        exprs = [a.when for a in self.actions if a.when is not None] + [self.award]
        return self.minimum is not None and any(
            e is not None and "streak" in e.names for e in exprs
        )

    @property
    def needs_eligibility(self) -> bool:
        """Whether this rule reads the policy's ``roster.eligible``."""
        return self.per == "person" or self.only_with_eligible


class Row(NamedTuple):
    """One subject's tally in one period (a named tuple: millions are made at province scale)."""

    counted: int
    items: list[Event]  # the counted events in time order (shared: read only)
    first_day: int
    last_day: int
    below: bool
    minimum: Decimal | None
    unit: Any

    @property
    def events(self) -> list[str]:
        """The ids of the counted events, in time order (made only for the subjects an action
        or award names: a province's year has millions of rows and few actions)."""
        return list(map(_ID, self.items))


def build(raw: dict[str, Any], path: Path, ctx: BuildContext) -> TallyRule | None:
    """Build a tally rule from its checked YAML mapping."""
    counts = build_selection(raw["counts"], (*path, "counts"), ctx)
    per = raw["per"]
    kinds = tuple(raw.get("unit_kinds", ()))
    if per == "unit" and not kinds:
        ctx.error(path, "E160", "a tally per unit needs unit_kinds", "e.g. unit_kinds: [section]")
        return None
    provided = {
        "count": "number of counted events",
        "first_day": "day of month of the first",
        "last_day": "day of month of the last",
    }
    provided.update(unit_names(ctx.vocab))
    minimum = None
    if "minimum" in raw:
        minimum = ctx.expression(raw["minimum"], (*path, "minimum"), unit_names(ctx.vocab))
        if minimum is None:
            return None
        provided.update(
            minimum="the minimum",
            below="count < minimum",
            streak="consecutive periods below, this one included",
        )
    ok, award, actions = build_award_and_actions(
        raw, path, ctx, provided, provided, lambda a: per == "unit" or a.one_per == "unit"
    )
    if counts is None or not ok:
        return None
    rule = TallyRule(
        raw["name"],
        raw.get("label", ""),
        raw["period"],
        per,
        kinds,
        bool(raw.get("only_with_eligible", False)),
        counts,
        minimum,
        tuple(actions),
        award,
    )
    exprs = [a.when for a in rule.actions if a.when is not None] + [rule.award]
    days = any(n in ("first_day", "last_day") for e in exprs if e is not None for n in e.names)
    return replace(rule, unit_names=tuple(unit_names_used(rule)), reads_days=days)


def rows(ctx: Context, rule: TallyRule, period: Period, policy: Policy) -> dict[str, Row]:
    """Every judged subject's :class:`Row` for ``period`` (memoised)."""
    key = ("tally", id(rule), period)
    found = ctx.memo.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    start, end = period.bounds(policy.timezone)
    last = end_instant(end)
    roster = ctx.roster
    eligible: list[str] = []
    if policy.eligibility is not None and rule.needs_eligibility:
        e = policy.eligibility
        eligible = ctx.eligible(start, end, e.unit_kinds, e.roles)
    if rule.per == "person":
        subjects = eligible
    else:
        subjects = roster.units_of_kinds(rule.unit_kinds, last)
        if rule.only_with_eligible:
            homes = {
                roster.unit_of_kind(roster.unit_at(p, last), rule.unit_kinds) for p in eligible
            }
            subjects = [u for u in subjects if u in homes]
    grouped = _grouped(ctx, rule, start, end)
    units = _units_at(ctx, rule.per, last)
    wants_days = rule.reads_days
    day_of = _day_reader(period, policy.timezone)
    by_ends = period.kind == "month"
    out = {}
    minimums: dict[str | None, Decimal | None] = {}
    none: list[Event] = []
    for s in subjects:
        items = grouped.get(s, none)
        first = last_day = 0
        if wants_days and items:
            if by_ends:  # in time order, and within a month the day only rises: the ends
                first, last_day = day_of(items[0].at), day_of(items[-1].at)
            else:  # a quarter or a year: the day of month goes up and down
                days = [day_of(e.at) for e in items]
                first, last_day = min(days), max(days)
        unit = units.get(s)
        if unit is None and s not in units:
            unit = units[s] = roster.units.get(
                s if rule.per == "unit" else roster.unit_at(s, last) or ""
            )
        uid = unit.id if unit is not None else None
        if uid not in minimums:
            minimums[uid] = (
                None
                if rule.minimum is None
                else rule.minimum.number(tuple(unit_value(unit, n) for n in rule.minimum.names))
            )
        minimum = minimums[uid]
        below = minimum is not None and len(items) < minimum
        out[s] = Row(
            len(items),
            items,
            first,
            last_day,
            below,
            minimum,
            unit,
        )
    ctx.memo[key] = out
    return out


def _units_at(ctx: Context, per: str, last: Any) -> dict[str, Any]:
    """Subject to unit (a person's unit at ``last``, or the unit itself), filled as rows are
    made and shared by every tally of the period (memoised)."""
    found: dict[str, Any] = ctx.memo.setdefault(("tally-units", per, last), {})
    return found


def _day_reader(period: Period, tz: str) -> Any:
    """Local day of month of an instant of ``period``: looked up among the period's local
    midnights (held in the shared zones of their offsets, so bisecting skips the offset
    arithmetic), not converted per event."""
    zone = period.bounds(tz)[0].tzinfo
    first = period.first_day()
    midnights, days = [], []
    for n in range((period.next_first_day() - first).days):
        day = first + timedelta(days=n)
        midnights.append(in_offset_zone(datetime(day.year, day.month, day.day, tzinfo=zone)))
        days.append(day.day)

    def day_of(at: datetime) -> int:
        i = bisect_right(midnights, at)
        return days[i - 1] if i else 0  # 0 before the period (never asked for)

    return day_of


def _grouped(ctx: Context, rule: TallyRule, start: Any, end: Any) -> dict[str | None, list[Event]]:
    """The counted events of [start, end) by person (or unit): shared by the rules that count
    the same selection the same way (the quota and the timeliness rule, say)."""
    key = ("tally-grouped", id(rule.counts), rule.per, rule.unit_kinds, start, end)
    found = ctx.memo.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    roster = ctx.roster
    out: dict[str | None, list[Event]] = {}
    evs = ctx.selected(rule.counts, start, end)
    kind, field = ctx.credit_field(rule.counts.type)
    if kind == "person" and rule.per == "person":  # the usual case, as the loop below does it
        for ev in evs:
            credited = ev.data.get(field)
            if credited is not None:
                out.setdefault(credited, []).append(ev)
        ctx.memo[key] = out
        return out
    for ev in evs:
        piece, person = ctx.credit(ev)
        if piece is not ev and not ctx.is_live(piece.id):
            continue  # an adoption of a retracted piece counts for nothing
        if person is None:
            direct = ctx.credited_unit(piece)
            if rule.per == "person" or direct is None:
                continue
            who: str | None = roster.unit_of_kind(direct, rule.unit_kinds)
        elif rule.per == "person":
            who = person
        else:
            who = roster.unit_of_kind(roster.unit_at(person, piece.at), rule.unit_kinds)
        out.setdefault(who, []).append(ev)
    ctx.memo[key] = out
    return out


def streak(ctx: Context, name: str, period: Period, subject: str) -> int:
    """Consecutive periods ending with ``period`` in which ``subject`` was below the minimum."""
    return streaks(ctx, name, period).get(subject, 0)


def streaks(ctx: Context, name: str, period: Period) -> dict[str, int]:
    """Every subject's streak in ``period`` (0 omitted): 1 + its streak in the period before when
    below the minimum now, judged by the rule of the same name in force then (memoised, so a
    year of months costs one pass per month)."""
    key = ("streaks", name, period)
    found = ctx.memo.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    chain: list[Period] = []
    p = period
    # A period that ends by the first event has nobody on the roster, and one without a policy
    # has no rule: its streaks are none, so the chain stops there (each period in the time zone
    # of its own policy, which may differ between versions).
    first = ctx.events[0].at if ctx.events else None
    while len(chain) < MAX_STREAK and ("streaks", name, p) not in ctx.memo:
        chain.append(p)
        before = p.previous()
        pol = ctx.policy_for(before)
        if first is None or pol is None or before.bounds(pol.timezone)[1] <= first:
            break
        p = before
    for p in reversed(chain):
        policy = ctx.policy_for(p)
        rule = policy.rule(name) if policy else None
        out: dict[str, int] = {}
        if isinstance(rule, TallyRule) and rule.minimum is not None and rule.period == p.kind:
            assert policy is not None
            before = ctx.memo.get(("streaks", name, p.previous()), {})
            for subject, row in rows(ctx, rule, p, policy).items():
                if row.below:
                    out[subject] = before.get(subject, 0) + 1
        ctx.memo[("streaks", name, p)] = out
    return ctx.memo[key]  # type: ignore[no-any-return]


def _env(rule: TallyRule, row: Row) -> dict[str, Any]:
    env: dict[str, Any] = {"count": row.counted}
    if rule.reads_days:
        env.update(first_day=row.first_day, last_day=row.last_day)
    if row.minimum is not None:
        env.update(minimum=row.minimum, below=row.below)
    for name in rule.unit_names:
        env[name] = unit_value(row.unit, name)
    return env


def unit_names_used(rule: TallyRule) -> list[str]:
    """The ``unit.X`` names read by the rule's conditions and award."""
    exprs = [a.when for a in rule.actions if a.when is not None]
    if rule.award is not None:
        exprs.append(rule.award)
    return sorted({n for e in exprs for n in e.names if n.startswith("unit.")})


def awards(
    ctx: Context, rule: TallyRule, period: Period, policy: Policy
) -> dict[str, tuple[Decimal, dict[str, Any]]]:
    """Points the ``award`` expression gives each subject for ``period`` (of the rule's kind)."""
    if rule.award is None or period.kind != rule.period:
        return {}
    out = {}
    for subject, row in sorted(rows(ctx, rule, period, policy).items()):
        env = _env(rule, row)
        if "streak" in rule.award.names:
            env["streak"] = streak(ctx, rule.name, period, subject)
        value = rule.award.number(tuple(env.get(n) for n in rule.award.names))
        if value != 0:
            out[subject] = (value, {**env, "counted": row.events, "period": period.id})
    return out


def evaluate(ctx: Context, rule: TallyRule, period: Period, policy: Policy) -> list[Action]:
    """The actions of ``rule`` for ``period`` (only when the period is of the rule's kind)."""
    if period.kind != rule.period:
        return []
    table = rows(ctx, rule, period, policy)
    last = end_instant(period.bounds(policy.timezone)[1])
    actions: list[Action] = []
    grouped: dict[tuple[int, str | None], list[str]] = {}
    wants_streak = any(a.when is not None and "streak" in a.when.names for a in rule.actions)
    for subject in sorted(table):
        row = table[subject]
        env = _env(rule, row)
        if rule.minimum is not None:
            if wants_streak:
                env["streak"] = streak(ctx, rule.name, period, subject)
        for i, spec in enumerate(rule.actions):
            if spec.when is not None:
                if not spec.when.evaluate(env):
                    continue
            if spec.one_per == "unit":
                unit = ctx.roster.unit_at(subject, last)
                grouped.setdefault((i, unit), []).append(subject)
                continue
            kind = "person" if rule.per == "person" else ctx.roster.units[subject].kind
            target = (
                subject
                if not spec.target.head
                else head_of(
                    ctx, policy, subject, "person" if rule.per == "person" else "unit", last
                )
            )
            facts: dict[str, Any] = {**env, "counted": row.events}
            actions.append(
                make_action(
                    ctx,
                    policy,
                    rule.name,
                    spec,
                    period.id,
                    subject,
                    kind,
                    target,
                    row.events,
                    facts,
                )
            )
    for (i, unit), persons in sorted(grouped.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        spec = rule.actions[i]
        if unit is None:
            continue
        explanation: dict[str, Any] = {
            "persons": {p: {"count": table[p].counted, "counted": table[p].events} for p in persons}
        }
        if rule.minimum is not None:
            explanation["minimum"] = table[persons[0]].minimum
        actions.append(
            unit_action(
                ctx, policy, rule.name, spec, period.id, unit, last, sorted(persons), explanation
            )
        )
    return actions

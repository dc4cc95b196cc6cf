"""The evaluator: a pure function of (policies, events, period) returning a :class:`Result`.

It opens no file and reads no clock. For each month the policy in force then applies (or the
forced one, for a what-if, everywhere, look-backs included). Points of a quarter or a year are the
sums of its months; rules that close a period (tallies, shares, rankings of that period kind) come
from the policy in force for the evaluated period.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rulesengine.context import Context
from rulesengine.errors import PeriodError
from rulesengine.events import Event
from rulesengine.periods import Period
from rulesengine.policy import Policy, PolicySet
from rulesengine.results import Action, Contribution, PolicyRef, RankingRow, Result, Score, Warning
from rulesengine.roster import end_instant
from rulesengine.rules import deadline, points, ranking, share, tally


def _ref(p: Policy) -> PolicyRef:
    return PolicyRef(p.family, p.version, p.sha256, p.path)


def evaluate(
    policies: PolicySet,
    events: Sequence[Event],
    period: Period,
    forced: Policy | None = None,
) -> Result:
    """Evaluate ``period`` over ``events`` under ``policies`` (or ``forced`` for every period)."""
    main = forced or policies.in_force(period)
    if main is None:
        raise PeriodError(
            f"no policy of family '{policies.family}' is in force for the whole of "
            f"{period.id}; available: {policies.describe() or 'none'}"
        )

    def policy_for(p: Period) -> Policy | None:
        return forced if forced is not None else policies.in_force(p)

    ctx = Context.build(main.vocabulary, events, policy_for, main.family, main.timezone)
    last = end_instant(period.bounds(main.timezone)[1])
    used: dict[tuple[str, str], Policy] = {}

    person_pts: dict[tuple[str, str], Decimal] = {}
    unit_pts: dict[tuple[str, str], Decimal] = {}
    contributions: dict[tuple[str, str], list[Contribution]] = {}
    for month in period.months():
        pol = policy_for(month)
        if pol is None:
            raise PeriodError(f"no policy is in force for {month.id}")
        used[(pol.version, pol.sha256)] = pol
        start, end = month.bounds(pol.timezone)
        for rule in pol.rules:
            if not isinstance(rule, points.PointsRule):
                continue
            for _ev, person, piece, contrib in points.score_month(ctx, rule, month, start, end):
                if person is None:
                    continue
                k = (rule.name, person)
                person_pts[k] = person_pts.get(k, Decimal(0)) + contrib.points
                contributions.setdefault(k, []).append(contrib)
                home = ctx.roster.unit_at(person, piece.at)
                for kind in rule.credit_units:
                    unit = ctx.roster.unit_of_kind(home, (kind,))
                    if unit is not None:
                        uk = (rule.name, unit)
                        unit_pts[uk] = unit_pts.get(uk, Decimal(0)) + contrib.points
                        contributions.setdefault(uk, []).append(contrib)
    for rule in main.rules:
        if isinstance(rule, points.PointsRule):
            for unit in ctx.roster.units_of_kinds(rule.credit_units, last):
                unit_pts.setdefault((rule.name, unit), Decimal(0))

    scores = [
        Score(r, s, "person", v, tuple(contributions.get((r, s), ())))
        for (r, s), v in person_pts.items()
    ]
    scores += [
        Score(r, u, ctx.roster.units[u].kind, v, tuple(contributions.get((r, u), ())))
        for (r, u), v in unit_pts.items()
    ]
    scores.sort(key=lambda s: (s.rule, s.subject_kind != "person", s.subject_kind, s.subject))

    rankings: list[RankingRow] = []
    actions: list[Action] = []
    for rule in main.rules:
        if isinstance(rule, ranking.RankingRule):
            rankings.extend(ranking.evaluate(ctx, rule, period, main, unit_pts))
        elif isinstance(rule, tally.TallyRule):
            actions.extend(tally.evaluate(ctx, rule, period, main))
        elif isinstance(rule, deadline.DeadlineRule):
            actions.extend(deadline.evaluate(ctx, rule, period, main))
        elif isinstance(rule, share.ShareRule):
            actions.extend(share.evaluate(ctx, rule, period, main))
    actions.sort(key=Action.sort_key)

    warnings: set[Warning] = set()
    for month in period.months():
        warnings.update(ctx.warnings.get(month.id, ()))
    start, end = period.bounds(main.timezone)
    names = dict(ctx.roster.names)
    names.update({u.id: u.name for u in ctx.roster.units.values()})
    return Result(
        period=period.id,
        period_kind=period.kind,
        timezone=main.timezone,
        start=start.isoformat(),
        end=end.isoformat(),
        policy=_ref(main),
        policies_used=tuple(_ref(p) for _, p in sorted(used.items())),
        scores=tuple(scores),
        rankings=tuple(rankings),
        actions=tuple(actions),
        payments=(),
        warnings=tuple(sorted(warnings, key=lambda w: (w.code, w.event, w.message))),
        labels=main.labels(),
        names=names,
        events_considered=sum(1 for e in ctx.events if e.at < end),
        events_void=sum(1 for i in ctx.void if i in ctx.by_id and ctx.by_id[i].at < end),
    )

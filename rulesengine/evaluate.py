"""The evaluator: a pure function of (policies, events, period) returning a :class:`Result`.

It opens no file and reads no clock. For each month the policy in force then applies (or the
forced one, for a what-if, everywhere, look-backs included). Scores of a quarter or a year are the
sums of its months (and of its quarters, for quarterly tallies); rules that close a period
(tallies, shares, rankings, grades of that period kind) come from the policy in force for the
evaluated period.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from rulesengine.context import Context
from rulesengine.errors import PeriodError
from rulesengine.events import Event
from rulesengine.gcpause import collector_paused
from rulesengine.periods import KINDS, Period
from rulesengine.policy import Policy, PolicySet
from rulesengine.results import (
    Action,
    Contribution,
    Grade,
    Payment,
    PolicyRef,
    RankingRow,
    Result,
    Score,
    Warning,
)
from rulesengine.roster import end_instant
from rulesengine.rules import deadline, payment, points, ranking, scoring, share, tally, total
from rulesengine.scores import Scores

ZERO = Decimal(0)


def _ref(p: Policy) -> PolicyRef:
    return PolicyRef(p.family, p.version, p.sha256, p.path)


def _subject_kind(ctx: Context, subject: str) -> str:
    unit = ctx.roster.units.get(subject)
    return unit.kind if unit is not None else "person"


def _score_points(
    ctx: Context,
    period: Period,
    policy_for: Any,
    scores: Scores,
    used: dict[tuple[str, str], Policy],
) -> None:
    for month in period.months():
        pol = policy_for(month)
        if pol is None:
            raise PeriodError(f"no policy is in force for {month.id}")
        used[(pol.version, pol.sha256)] = pol
        for rule in pol.rules:
            if isinstance(rule, points.PointsRule):
                scores.merge(_month_points(ctx, rule, month, pol))


def _month_points(ctx: Context, rule: points.PointsRule, month: Period, pol: Policy) -> Scores:
    """One month's scores of a points rule (memoised: quarters and years add months up)."""
    key = ("month-points", id(rule), month)
    found = ctx.memo.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    scores = Scores()
    start, end = month.bounds(pol.timezone)
    roster, name, add = ctx.roster, rule.name, scores.add
    credited: dict[str | None, list[tuple[str, str]]] = {}  # unit -> (unit, kind) credited

    def units_of(home: str | None) -> list[tuple[str, str]]:
        found = credited.get(home)
        if found is None:
            found = credited[home] = []
            for kind in rule.credit_units:
                unit = roster.unit_of_kind(home, (kind,))
                if unit is not None:
                    found.append((unit, roster.units[unit].kind))
        return found

    for _ev, piece, parts, contrib in scoring.score_month(ctx, rule, month, start, end):
        if not parts:
            direct = ctx.credited_unit(piece)
            for unit, kind in units_of(direct) if direct else ():
                add(name, unit, kind, contrib.points, contrib)
        for person, part in parts:
            add(name, person, "person", part, contrib)
            for unit, kind in units_of(roster.unit_at(person, piece.at)):
                add(name, unit, kind, part, contrib)
    ctx.memo[key] = scores
    return scores


def _score_awards(ctx: Context, period: Period, policy_for: Any, scores: Scores) -> None:
    """Awards of tallies and shares, and deadline points, for each sub-period of their kind."""
    for kind in KINDS:
        for sub in period.within(kind):
            pol = policy_for(sub)
            if pol is None:
                continue
            for rule in pol.rules:
                found: dict[str, tuple[Decimal, dict[str, Any]]] = {}
                if isinstance(rule, tally.TallyRule) and rule.period == kind:
                    found = tally.awards(ctx, rule, sub, pol)
                elif isinstance(rule, share.ShareRule) and rule.period == kind:
                    found = share.awards(ctx, rule, sub, pol)
                elif isinstance(rule, deadline.DeadlineRule) and kind == "month":
                    found = deadline.awards(ctx, rule, sub, pol)
                for subject, (value, detail) in sorted(found.items()):
                    c = Contribution("", sub.id, rule.name, value, detail)
                    scores.add(rule.name, subject, _subject_kind(ctx, subject), value, c)


def _score_totals(ctx: Context, main: Policy, last: Any, scores: Scores) -> None:
    for rule in main.rules:
        if not isinstance(rule, total.TotalRule):
            continue
        subjects = scores.subjects(rule.parts)
        subjects |= set(ctx.roster.units_of_kinds(rule.unit_kinds, last))
        for subject in sorted(subjects):
            parts = [(scores.value(p, subject), scores.count(p, subject)) for p in rule.parts]
            value, detail = total.combine(rule, parts)
            detail["parts"] = {p: scores.value(p, subject) for p in rule.parts}
            c = Contribution("", "", rule.name, value, detail)
            scores.put(rule.name, subject, _subject_kind(ctx, subject), value, c)


def _main_policy(policies: PolicySet, period: Period, forced: Policy | None) -> Policy:
    main = forced or policies.in_force(period)
    if main is None:
        raise PeriodError(
            f"no policy of family '{policies.family}' is in force for the whole of "
            f"{period.id}; available: {policies.describe() or 'none'}"
        )
    return main


def evaluate(
    policies: PolicySet,
    events: Sequence[Event],
    period: Period,
    forced: Policy | None = None,
) -> Result:
    """Evaluate ``period`` over ``events`` under ``policies`` (or ``forced`` for every period)."""
    return evaluate_many(policies, events, [period], forced)[0]


@collector_paused()  # millions of small objects, no cycles: see rulesengine.gcpause
def evaluate_many(
    policies: PolicySet,
    events: Sequence[Event],
    periods: Sequence[Period],
    forced: Policy | None = None,
) -> list[Result]:
    """Evaluate several periods over the same events, sharing the indexes and look-backs.

    Gives exactly the results of :func:`evaluate` for each period, in the order given."""
    if not periods:
        return []
    mains, policy_for, ctx = prepare(policies, events, periods, forced)
    with ctx:
        return [
            evaluate_period(ctx, main, period, policy_for)
            for main, period in zip(mains, periods, strict=True)
        ]


def prepare(
    policies: PolicySet, events: Sequence[Event], periods: Sequence[Period], forced: Policy | None
) -> tuple[list[Policy], Callable[[Period], Policy | None], Context]:
    """The main policy of each period (a :class:`PeriodError` when one has none), the policy
    of any month (``forced`` everywhere when given), and the context of ``events`` (the first
    step of every evaluation, shared with ``rulesengine.checkpoint``)."""
    mains = [_main_policy(policies, p, forced) for p in periods]

    def policy_for(p: Period) -> Policy | None:
        return forced if forced is not None else policies.in_force(p)

    first = mains[0]
    ctx = Context.build(first.vocabulary, events, policy_for, first.family, first.timezone)
    return mains, policy_for, ctx


def _period_scores(
    ctx: Context, main: Policy, period: Period, policy_for: Any, used: dict[Any, Policy]
) -> Scores:
    """Every score of ``period`` (memoised: a look-back asks for it again)."""
    key = ("period-scores", id(main), period)
    found = ctx.memo.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    last = end_instant(period.bounds(main.timezone)[1])
    scores = Scores()
    _score_points(ctx, period, policy_for, scores, used)
    for rule in main.rules:
        if isinstance(rule, points.PointsRule):
            for unit in ctx.roster.units_of_kinds(rule.credit_units, last):
                scores.zero(rule.name, unit, ctx.roster.units[unit].kind)
    _score_awards(ctx, period, policy_for, scores)
    _score_totals(ctx, main, last, scores)
    ctx.memo[key] = scores
    return scores


def _ranking_rows(
    ctx: Context, main: Policy, rule: ranking.RankingRule, period: Period, scores: Scores
) -> list[RankingRow]:
    unit_points = {(rule.points, s): v for s, v in scores.of_rule(rule.points).items()}
    return ranking.evaluate(ctx, rule, period, main, unit_points)


def _previous_ranks(
    ctx: Context, name: str, period: Period, policy_for: Any
) -> dict[str, int] | None:
    """Ranks of the ranking rule ``name`` in the period before ``period``, under the policy in
    force then (None when no such policy or rule)."""
    pts = previous_points(ctx, name, period, policy_for)
    if pts is None:
        return None
    before = period.previous()
    pol = policy_for(before)
    rule = pol.rule(name)
    unit_points = {(rule.points, s): v for s, v in pts.items()}
    return {r.subject: r.rank for r in ranking.evaluate(ctx, rule, before, pol, unit_points)}


def previous_points(
    ctx: Context, name: str, period: Period, policy_for: Any
) -> dict[str, Decimal] | None:
    """The points the ranking rule ``name`` ranked in the period before ``period``, by subject,
    under the policy in force then (None when that period has no policy, no such ranking of its
    kind, or no main policy). Memoised; a resumed evaluation finds it in its checkpoint."""
    key = ("previous", name, period)
    if key in ctx.memo:
        return ctx.memo[key]  # type: ignore[no-any-return]
    before = period.previous()
    pol = policy_for(before)
    rule = pol.rule(name) if pol else None
    found: dict[str, Decimal] | None = None
    if isinstance(rule, ranking.RankingRule) and before.kind in rule.periods:
        try:
            found = dict(_period_scores(ctx, pol, before, policy_for, {}).of_rule(rule.points))
        except PeriodError:
            found = None
    ctx.memo[key] = found
    return found


def evaluate_period(ctx: Context, main: Policy, period: Period, policy_for: Any) -> Result:
    """The result of ``period`` under its main policy, from a context :func:`prepare` built
    (``rulesengine.checkpoint`` seeds the context with a stored state first)."""
    start, end = period.bounds(main.timezone)
    used: dict[tuple[str, str], Policy] = {}
    scores = _period_scores(ctx, main, period, policy_for, used)
    for month in period.months():
        pol = policy_for(month)
        if pol is not None:
            used[(pol.version, pol.sha256)] = pol

    rankings: list[RankingRow] = []
    actions: list[Action] = []
    grades: list[Grade] = []
    payments: list[Payment] = []
    for rule in main.rules:
        if isinstance(rule, ranking.RankingRule):
            rankings.extend(_ranking_rows(ctx, main, rule, period, scores))
        elif isinstance(rule, ranking.ImprovementRule) and period.kind == rule.period:
            ranking_rule = main.rule(rule.ranking)
            assert isinstance(ranking_rule, ranking.RankingRule)
            now = {
                r.subject: r.rank for r in _ranking_rows(ctx, main, ranking_rule, period, scores)
            }
            before = _previous_ranks(ctx, rule.ranking, period, policy_for)
            actions.extend(ranking.improvements(ctx, rule, period, main, before or {}, now))
        elif isinstance(rule, tally.TallyRule):
            actions.extend(tally.evaluate(ctx, rule, period, main))
        elif isinstance(rule, deadline.DeadlineRule):
            actions.extend(deadline.evaluate(ctx, rule, period, main))
        elif isinstance(rule, share.ShareRule):
            actions.extend(share.evaluate(ctx, rule, period, main))
        elif isinstance(rule, total.GradeRule) and period.kind in rule.periods:
            for subject, value in sorted(scores.of_rule(rule.score).items()):
                vetoed = any(scores.count(v, subject) for v in rule.vetoed_by)
                grades.append(
                    Grade(
                        rule.name,
                        subject,
                        _subject_kind(ctx, subject),
                        value,
                        rule.veto_label if vetoed else rule.grade_of(value),
                        vetoed,
                    )
                )
        elif isinstance(rule, payment.PaymentRule):
            payments.extend(_payments(ctx, rule, period, main, scores))
    actions.sort(key=Action.sort_key)

    warnings: set[Warning] = set()
    for month in period.months():
        warnings.update(ctx.warnings.get(month.id, ()))
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
        scores=tuple(scores.records()),
        rankings=tuple(rankings),
        actions=tuple(actions),
        payments=tuple(sorted(payments, key=Payment.sort_key)),
        warnings=tuple(sorted(warnings, key=Warning.sort_key)),
        grades=tuple(grades),
        labels=main.labels(),
        names=names,
        events_considered=ctx.count_before(end),
        events_void=ctx.count_void(end),
    )


def _payments(
    ctx: Context, rule: payment.PaymentRule, period: Period, main: Policy, scores: Scores
) -> list[Payment]:
    if rule.score is not None:
        rate = rule.rate or Decimal(1)
        return [
            Payment(rule.name, s, v * rate, 0)
            for s, v in sorted(scores.of_rule(rule.score).items())
            if _subject_kind(ctx, s) == "person" and v != 0
        ]
    return payment.pay_events(ctx, rule, period, main.timezone)


# ---- Partitioned evaluation (rulesengine.partition): one part's results, then the rankings ----
# recomputed across parts from the merged scores. Both reuse the functions above unchanged.


@collector_paused()  # millions of small objects, no cycles: see rulesengine.gcpause
def evaluate_part(
    policies: PolicySet,
    events: Sequence[Event],
    periods: Sequence[Period],
    forced: Policy | None = None,
) -> list[tuple[Result, dict[str, dict[str, Decimal] | None]]]:
    """:func:`evaluate_many` over one part of the events, each result with what a merge needs
    to recompute the improvement rules across parts: per improvement rule of the period, the
    points its ranking ranked in the period before (None when that period has no such ranking).
    """
    if not periods:
        return []
    mains, policy_for, ctx = prepare(policies, events, periods, forced)
    out = []
    with ctx:
        for main, period in zip(mains, periods, strict=True):
            result = evaluate_period(ctx, main, period, policy_for)
            before: dict[str, dict[str, Decimal] | None] = {}
            for rule in main.rules:
                if isinstance(rule, ranking.ImprovementRule) and period.kind == rule.period:
                    before[rule.name] = previous_points(ctx, rule.ranking, period, policy_for)
            out.append((result, before))
    return out


@collector_paused()  # millions of small objects, no cycles: see rulesengine.gcpause
def rankings_across(
    policies: PolicySet,
    roster_events: Sequence[Event],
    periods: Sequence[Period],
    scores: Sequence[Sequence[Score]],
    before: Sequence[dict[str, dict[str, Decimal] | None]],
    forced: Policy | None = None,
) -> list[tuple[list[RankingRow], list[Action], dict[str, str]]]:
    """The ranking rows, improvement actions and names of each period, recomputed as
    :func:`evaluate_many` computes them from the period's merged ``scores`` and, per improvement
    rule, the merged points of the period before (as :func:`evaluate_part` gives them). Only the
    roster is read from events."""
    if not periods:
        return []
    mains, policy_for, ctx = prepare(policies, roster_events, periods, forced)

    def ranked(pol: Policy, rule: ranking.RankingRule, p: Period, pts: dict[str, Decimal]) -> Any:
        return ranking.evaluate(ctx, rule, p, pol, {(rule.points, s): v for s, v in pts.items()})

    with ctx:  # released also on an error
        names = dict(ctx.roster.names)
        names.update({u.id: u.name for u in ctx.roster.units.values()})
        out: list[tuple[list[RankingRow], list[Action], dict[str, str]]] = []
        for main, period, found, prior in zip(mains, periods, scores, before, strict=True):
            by_rule: dict[str, dict[str, Decimal]] = {}
            for s in found:
                by_rule.setdefault(s.rule, {})[s.subject] = s.points
            rows: list[RankingRow] = []
            actions: list[Action] = []
            for rule in main.rules:
                if isinstance(rule, ranking.RankingRule):
                    rows.extend(ranked(main, rule, period, by_rule.get(rule.points, {})))
                elif isinstance(rule, ranking.ImprovementRule) and period.kind == rule.period:
                    now_rule = main.rule(rule.ranking)
                    assert isinstance(now_rule, ranking.RankingRule)
                    pts = by_rule.get(now_rule.points, {})
                    now = {r.subject: r.rank for r in ranked(main, now_rule, period, pts)}
                    ranks: dict[str, int] = {}
                    earlier, pol = prior.get(rule.name), policy_for(period.previous())
                    old_rule = pol.rule(rule.ranking) if pol else None
                    if earlier is not None and pol and isinstance(old_rule, ranking.RankingRule):
                        old = ranked(pol, old_rule, period.previous(), earlier)
                        ranks = {r.subject: r.rank for r in old}
                    actions.extend(ranking.improvements(ctx, rule, period, main, ranks, now))
            out.append((rows, actions, names))
    return out

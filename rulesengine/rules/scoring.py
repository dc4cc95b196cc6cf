"""The points pass: every scored event of a points rule, in time order, scored once.

All months are scored in one chronological pass per rule name (memoised per evaluation), so that
"best earlier adoption" and ``nth`` are running values rather than searches, and raw points are
computed once per distinct input (the fields the rule reads), read with C-level ``map``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from rulesengine.events import Event
from rulesengine.periods import Period
from rulesengine.results import Contribution, Warning
from rulesengine.rules.points import (
    ZERO,
    PointsRule,
    is_late,
    persons_of,
    raw_points,
    shares,
    values_for,
)

if TYPE_CHECKING:
    from rulesengine.context import Context


Scored = tuple[Event, Event, list[tuple[str, Decimal]], Contribution]


class Packed(Protocol):
    """Best-so-far values kept in a checkpoint's own form (``rulesengine.checkpoint``), read
    only for the groups a resumed pass meets instead of all decoded up front."""

    def get(self, key: tuple[Any, ...], default: None = None) -> Decimal | None:
        """The value of one group, or None."""

    def overlaid(self, newer: dict[tuple[Any, ...], Decimal]) -> Mapping[Any, Decimal]:
        """These values with ``newer`` ones over them."""


def score_month(
    ctx: Context, rule: PointsRule, month: Period, start: Any, end: Any
) -> list[Scored]:
    """Score the rule's events of one month: ``(event, piece, [(person, points)], detail)``.

    All months are scored in one chronological pass per rule name (memoised), so that "best
    earlier adoption" and ``nth`` are running values, not searches."""
    return _pass(ctx, rule).get(month, [])


def _pass(ctx: Context, first: PointsRule) -> dict[Period, list[Scored]]:
    key = ("points-pass", first.name, first.on)
    done = ctx.memo.get(key)
    if done is not None:
        return done  # type: ignore[no-any-return]
    by_month: dict[Period, list[Scored]] = {}
    best: dict[tuple[Any, ...], Decimal] = {}
    counts: dict[tuple[Any, ...], int] = {}
    evs: list[Event] = ctx.by_type.get(first.on, [])
    # Resumed from a checkpoint (rulesengine.checkpoint): the running values at an instant, and
    # only the events from then on. The best-so-far values then are read, never changed
    # (``base``): new values go to ``best``, over them. Snapshots: the running values at the
    # instants asked for.
    base: dict[Any, Decimal] | Packed = {}
    resumed = ctx.memo.get(("points-resume", first.name, first.on))
    if resumed is not None:
        since, base, counts = resumed[0], resumed[1], dict(resumed[2])
        evs = evs[bisect_left([e.at for e in evs], since) :]
    base_get = base.get if base else None
    snaps: list[Any] = sorted(ctx.memo.get(("points-snap-at",), ()))
    raw_cache: dict[tuple[Any, ...], tuple[Decimal, dict[str, Any]]] = {}
    rules: dict[Period, PointsRule | None] = {}
    plans: dict[int, tuple[Any, ...]] = {}  # per rule: reader, best fields, number fields
    month_of, credit, by_id, void = ctx.month_of, ctx.credit, ctx.by_id, ctx.void
    # the type's own credit walk goes through the piece: credit the piece found here directly
    spec = ctx.vocab.types.get(first.on)
    credit_field = spec.credit if spec is not None else None
    month: Period | None = None
    rule: PointsRule | None = None
    month_start = month_end = None
    bucket: list[Scored] = []
    month_id = ""
    reader: Any = None
    best_fields: tuple[str, ...] = ()
    number_fields: tuple[str, ...] = ()
    via: str | None = None
    for ev in evs:
        at = ev.at
        if month is None or not (month_start <= at < month_end):  # type: ignore[operator]
            while snaps and at >= snaps[0]:
                _snap(ctx, first, snaps.pop(0), base, best, counts)
            month = month_of(ev)  # events come in time order: a lookup per month, not per event
            month_start, month_end = ctx.month_bounds(month)
            try:
                rule = rules[month]
            except KeyError:
                policy = ctx.policy_for(month)
                found = policy.rule(first.name) if policy else None
                rule = rules[month] = found if isinstance(found, PointsRule) else None
            if rule is not None:
                plan = plans.get(id(rule))
                if plan is None:
                    plan = plans[id(rule)] = _plan(ctx, rule)
                reader, best_fields, number_fields = plan
                via = rule.via
                bucket = by_month.setdefault(month, [])
                month_id = month.id
        if rule is None:
            continue
        data = ev.data
        piece_ref: Event | None = None
        if via is not None:
            ref = data.get(via, "")
            piece_ref = by_id.get(ref)
            if piece_ref is None or ref in void:
                continue  # the piece is unknown or retracted
        if rule.where is not None and (
            rule.where.evaluate_values(values_for(ctx, rule, rule.where, ev)) is not True
        ):
            continue
        nth = None
        if number_fields:
            g = tuple(map(data.get, number_fields))
            nth = counts[g] = counts.get(g, 0) + 1
        raw_key = (id(rule), nth, *reader(ev, piece_ref))
        found_raw = raw_cache.get(raw_key)
        if found_raw is None:
            found_raw = raw_cache[raw_key] = raw_points(ctx, rule, ev, nth)
        raw, detail = found_raw
        if "no_row" in detail:
            shown = ", ".join(f"{k}={v}" for k, v in zip(rule.key, detail["key"], strict=True))
            ctx.warn(
                month,
                Warning(
                    "W401", f"event {ev.id}: no points row for {shown}; scored 0", rule.name, ev.id
                ),
            )
        detail = {**detail, "raw": raw}
        credited = raw
        if best_fields:
            g = tuple(map(data.get, best_fields))
            earlier = best.get(g)
            if earlier is None and base_get is not None:
                earlier = base_get(g)
            if earlier is not None:
                detail["earlier_best"] = earlier
                credited = max(ZERO, raw - earlier)
                best[g] = max(earlier, raw)
            else:
                best[g] = raw
        if piece_ref is not None and credit_field == via:
            piece, person = credit(piece_ref)
        else:
            piece, person = credit(ev)
        if piece is not ev:
            detail["piece"] = piece.id
        if rule.credit_persons:
            parts = shares(rule, credited, persons_of(ctx, rule, ev, piece, person))
            if len(parts) > 1:
                detail["shared_by"] = [p for p, _ in parts]
        else:
            parts = [(person, credited)] if person else []
        bucket.append(
            (ev, piece, parts, Contribution(ev.id, month_id, rule.name, credited, detail))
        )
    for at in snaps:
        _snap(ctx, first, at, base, best, counts)
    ctx.memo[key] = by_month
    return by_month


def _snap(
    ctx: Context,
    rule: PointsRule,
    at: Any,
    base: dict[Any, Decimal] | Packed,
    best: dict[Any, Decimal],
    counts: dict[Any, int],
) -> None:
    """Keep a copy of the pass's running values just before ``at``."""
    values = {**base, **best} if isinstance(base, dict) else base.overlaid(best)
    ctx.memo[("points-state", rule.name, rule.on, at)] = (values, dict(counts))


def _plan(ctx: Context, rule: PointsRule) -> tuple[Any, ...]:
    """What the pass reads for a rule: the raw-points input reader and the group fields."""
    names = set(rule.key)
    for expr in (rule.base, rule.multiplier, rule.bonus):
        if expr is not None:
            names |= {n for n in expr.names if n not in ("base", "nth")}
    via = rule.via or ""

    def fields(group: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(via if f == "piece" else f for f in group)

    return (
        _fast_reader(ctx, rule, sorted(names)),
        fields(rule.best_only_per),
        fields(rule.number_per),
    )


def _fast_reader(
    ctx: Context, rule: PointsRule, names: list[str]
) -> Callable[[Event, Event | None], tuple[Any, ...]]:
    """The values of ``names`` for an event (and its piece, when the caller has it), read with
    C-level map() over the field dicts."""
    plain = tuple(
        n for n in names if not n.startswith("piece.") and n not in ("type", "id", "late")
    )
    late = "late" in names
    special = tuple(n for n in names if n in ("type", "id"))
    of_piece = tuple(n[len("piece.") :] for n in names if n.startswith("piece."))
    piece_type = "type" in of_piece
    by_id = ctx.by_id
    via = rule.via or ""
    empty: dict[str, Any] = {}

    def read(ev: Event, piece: Event | None) -> tuple[Any, ...]:
        values = tuple(map(ev.data.get, plain))
        if special:
            values += tuple(getattr(ev, n) for n in special)
        if late:
            values += (is_late(ctx, rule, ev),)
        if of_piece:
            if piece is None:
                piece = by_id.get(ev.data.get(via, ""))
            if piece_type:
                values += tuple(
                    (piece.type if piece is not None else None)
                    if n == "type"
                    else (piece.data if piece is not None else empty).get(n)
                    for n in of_piece
                )
            else:
                values += tuple(map((piece.data if piece is not None else empty).get, of_piece))
        return values

    return read

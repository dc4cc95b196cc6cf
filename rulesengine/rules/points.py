"""Rule kind ``points``: score each event of one type from a table, a multiplier and a bonus.

``points = table[key] x multiplier + bonus``; a key with no row scores 0 in total and is warned
about. With ``best_only_per``, only the best event of a group counts: each is credited
``max(0, its points - best points of earlier events of the group)`` (earlier by time, then id),
each earlier event being scored by the policy of its own month.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rulesengine.events import Event
from rulesengine.expressions import Expression
from rulesengine.periods import Period
from rulesengine.results import Contribution, Warning
from rulesengine.rules.common import BuildContext, field_names, getter
from rulesengine.yamlsrc import Path

if TYPE_CHECKING:
    from rulesengine.context import Context

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PointsRule:
    """A checked ``points`` rule."""

    name: str
    label: str
    on: str
    key: tuple[str, ...]
    table: dict[tuple[Any, ...], Decimal]
    multiplier: Expression | None
    bonus: Expression | None
    best_only_per: tuple[str, ...]
    credit_units: tuple[str, ...]
    via: str | None
    kind: str = "points"


def build(raw: dict[str, Any], path: Path, ctx: BuildContext) -> PointsRule | None:
    """Build a points rule from its checked YAML mapping."""
    on = ctx.event_type(raw["on"], (*path, "on"))
    if on is None:
        return None
    spec = ctx.vocab.types[on]
    ok = all(ctx.field_of(on, k, (*path, "key", i)) for i, k in enumerate(raw["key"]))
    provided = field_names(ctx.vocab, on)
    provided["base"] = "the table value"
    via = None
    if spec.credit and spec.fields[spec.credit].type == "event":
        via = spec.credit
        for other in spec.fields[via].of or tuple(ctx.vocab.types):
            for n, d in field_names(ctx.vocab, other, "piece.").items():
                provided.setdefault(n, d)
    table: dict[tuple[Any, ...], Decimal] = {}
    for i, row in enumerate(raw["table"]):
        rp = (*path, "table", i)
        extra = sorted(set(row) - {"points", *raw["key"]})
        missing = [k for k in raw["key"] if k not in row]
        if extra or missing:
            ctx.error(
                rp,
                "E150",
                "a table row needs exactly the key fields "
                f"{', '.join(raw['key'])} and points"
                + (f"; unknown: {', '.join(extra)}" if extra else "")
                + (f"; missing: {', '.join(missing)}" if missing else ""),
            )
            ok = False
            continue
        k = tuple(row[f] for f in raw["key"])
        if k in table:
            line, col = ctx.at(rp)
            ctx.problems.warning(
                "W150",
                f"two rows for {', '.join(map(str, k))}: this one is ignored",
                line,
                col,
                "remove one of them",
            )
            continue
        if ok:
            for f, v in zip(raw["key"], k, strict=True):
                allowed = ctx.vocab.values_of(on, f)
                if allowed and v not in allowed:
                    line, col = ctx.at((*rp, f))
                    ctx.problems.warning(
                        "W151",
                        f"row value '{v}' of '{f}' can never match",
                        line,
                        col,
                        "allowed: " + ", ".join(allowed),
                    )
        table[k] = Decimal(str(row["points"]))
    mult = bonus = None
    if "multiplier" in raw:
        mult = ctx.expression(raw["multiplier"], (*path, "multiplier"), provided)
        ok = ok and mult is not None
    if "bonus" in raw:
        bonus = ctx.expression(raw["bonus"], (*path, "bonus"), provided)
        ok = ok and bonus is not None
    best = tuple(raw.get("best_only_per", ()))
    for i, b in enumerate(best):
        if b != "piece" and not ctx.field_of(on, b, (*path, "best_only_per", i)):
            ok = False
    if "piece" in best and via is None:
        ctx.error(
            (*path, "best_only_per"),
            "E151",
            f"'{on}' does not refer to a piece",
            "use fields of the event only",
        )
        ok = False
    if not ok:
        return None
    return PointsRule(
        raw["name"],
        raw.get("label", ""),
        on,
        tuple(raw["key"]),
        table,
        mult,
        bonus,
        best,
        tuple(raw.get("credit_units", ())),
        via,
    )


def _reader(rule: PointsRule, ctx: Context, expr: Expression) -> Callable[[Event], tuple[Any, ...]]:
    """A function giving, for an event, the values of the expression's names in order."""

    def piece_field(f: str) -> Callable[[Event], Any]:
        return lambda ev: _piece_value(ctx, rule, ev, f)

    getters: list[Callable[[Event], Any]] = []
    for n in expr.names:
        if n.startswith("piece."):
            getters.append(piece_field(n[len("piece.") :]))
        else:
            getters.append(getter(n))
    return lambda ev: tuple(g(ev) for g in getters)


def _piece_value(ctx: Context, rule: PointsRule, ev: Event, f: str) -> Any:
    piece = ctx.by_id.get(str(ev.data.get(rule.via or "")))
    if piece is None:
        return None
    return piece.type if f == "type" else piece.data.get(f)


def raw_points(ctx: Context, rule: PointsRule, ev: Event) -> tuple[Decimal, dict[str, Any]]:
    """The event's points before ``best_only_per``, and how they were computed."""
    key = tuple(ev.data.get(k) for k in rule.key)
    base = rule.table.get(key)
    if base is None:
        return ZERO, {"key": list(key), "no_row": True}
    values: dict[str, Any] = {"base": base}
    mult = Decimal(1)
    if rule.multiplier is not None:
        mult = _eval(ctx, rule, rule.multiplier, ev, base)
    bonus = ZERO
    if rule.bonus is not None:
        bonus = _eval(ctx, rule, rule.bonus, ev, base)
    values.update(multiplier=mult, bonus=bonus)
    return base * mult + bonus, values


def _eval(ctx: Context, rule: PointsRule, expr: Expression, ev: Event, base: Decimal) -> Decimal:
    memo_key = ("reader", id(expr))
    reader = ctx.memo.get(memo_key)
    if reader is None:
        reader = ctx.memo[memo_key] = _reader(rule, ctx, expr)
    values = reader(ev)
    if "base" in expr.names:
        idx = expr.names.index("base")
        values = (*values[:idx], base, *values[idx + 1 :])
    return expr.number(values)


def _group_key(rule: PointsRule, ev: Event) -> tuple[Any, ...]:
    return tuple(
        ev.data.get(rule.via or "") if f == "piece" else ev.data.get(f) for f in rule.best_only_per
    )


def _scored_events(ctx: Context, rule: PointsRule) -> list[Event]:
    """Live events of the rule's type whose piece (if any) is live too."""
    key = ("points-events", rule.on, rule.via)
    found = ctx.memo.get(key)
    if found is None:
        found = [
            e
            for e in ctx.by_type.get(rule.on, ())
            if rule.via is None or ctx.is_live(e.data.get(rule.via, ""))
        ]
        ctx.memo[key] = found
    return list(found)


def _groups(ctx: Context, rule: PointsRule) -> dict[tuple[Any, ...], list[Event]]:
    key = ("points-groups", rule.on, rule.via, rule.best_only_per)
    groups = ctx.memo.get(key)
    if groups is None:
        groups = {}
        for ev in _scored_events(ctx, rule):
            groups.setdefault(_group_key(rule, ev), []).append(ev)
        ctx.memo[key] = groups
    return dict(groups)


def _points_under_own_month(ctx: Context, name: str, ev: Event) -> Decimal:
    month = ctx.month_of(ev)
    policy = ctx.policy_for(month)
    rule = policy.rule(name) if policy else None
    if not isinstance(rule, PointsRule):
        return ZERO
    return raw_points(ctx, rule, ev)[0]


def score_month(
    ctx: Context, rule: PointsRule, month: Period, start: Any, end: Any
) -> list[tuple[Event, str | None, Event, Contribution]]:
    """Score the rule's events of one month: ``(event, person, piece, contribution)`` each."""
    out = []
    groups = _groups(ctx, rule) if rule.best_only_per else {}
    live = {e.id for e in _scored_events(ctx, rule)}
    for ev in ctx.between(rule.on, start, end):
        if ev.id not in live:
            continue
        raw, detail = raw_points(ctx, rule, ev)
        if detail.get("no_row"):
            ctx.warn(
                month,
                Warning(
                    "W401",
                    f"event {ev.id}: no points row for "
                    f"{', '.join(f'{k}={v}' for k, v in zip(rule.key, detail['key'], strict=True))}"
                    "; scored 0",
                    rule.name,
                    ev.id,
                ),
            )
        credited = raw
        if rule.best_only_per:
            earlier = [
                e for e in groups.get(_group_key(rule, ev), ()) if e.sort_key() < ev.sort_key()
            ]
            best = max((_points_under_own_month(ctx, rule.name, e) for e in earlier), default=ZERO)
            if earlier:
                detail["earlier_best"] = best
                detail["earlier"] = [e.id for e in earlier]
            credited = max(ZERO, raw - best)
        detail["raw"] = raw
        piece, person = ctx.credit(ev)
        if piece.id != ev.id:
            detail["piece"] = piece.id
        out.append((ev, person, piece, Contribution(ev.id, month.id, rule.name, credited, detail)))
    return out

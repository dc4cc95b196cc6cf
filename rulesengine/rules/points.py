"""Rule kind ``points``: score each event of one type.

``points = base x multiplier + bonus``, where ``base`` is the value of the event's row in a
``table`` (looked up by the ``key`` fields; a key with no row scores 0 in total and is warned
about) or a ``base`` expression. Options:

- ``where``: only events meeting a condition are scored;
- ``best_only_per``: only the best event of a group counts: each is credited
  ``max(0, its points - best points of earlier events of the group)`` (earlier by time, then id),
  each earlier event being scored by the policy of its own month (``piece`` groups by the piece
  an event refers to);
- ``number_per``: the name ``nth`` is the event's rank in its group (1 for the first), for
  diminishing amounts (first instruction +10, each further one +5);
- ``credit_persons``: person fields of the piece that share the credit (joint submissions);
  ``split: even`` divides the points among them (to 2 decimals, half-even), ``split: each``
  gives each the full points. Without it, the vocabulary's ``credit:`` person gets the points.
- ``credit_units``: unit kinds that receive their members' points (the unit at or above the
  person's unit when the piece was submitted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from rulesengine.events import Event
from rulesengine.expressions import Expression
from rulesengine.rules import deadline
from rulesengine.rules.common import BuildContext, field_names, getter
from rulesengine.yamlsrc import Path

if TYPE_CHECKING:
    from rulesengine.context import Context

ZERO = Decimal(0)
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class PointsRule:
    """A checked ``points`` rule."""

    name: str
    label: str
    on: str
    key: tuple[str, ...]
    table: dict[tuple[Any, ...], Decimal]
    base: Expression | None
    where: Expression | None
    multiplier: Expression | None
    bonus: Expression | None
    best_only_per: tuple[str, ...]
    number_per: tuple[str, ...]
    credit_persons: tuple[str, ...]
    split: str
    credit_units: tuple[str, ...]
    via: str | None
    late_for: str | None = None
    kind: str = "points"


def _provided(ctx: BuildContext, on: str) -> tuple[dict[str, str], str | None]:
    spec = ctx.vocab.types[on]
    provided = field_names(ctx.vocab, on)
    via = None
    if spec.credit and spec.fields[spec.credit].type == "event":
        via = spec.credit
        for other in spec.fields[via].of or tuple(ctx.vocab.types):
            for n, d in field_names(ctx.vocab, other, "piece.").items():
                provided.setdefault(n, d)
    return provided, via


def _table(
    raw: dict[str, Any], path: Path, ctx: BuildContext, on: str
) -> dict[Any, Decimal] | None:
    keys = raw.get("key", [])
    table: dict[tuple[Any, ...], Decimal] = {}
    ok = True
    for i, row in enumerate(raw.get("table", [])):
        rp = (*path, "table", i)
        extra = sorted(set(row) - {"points", *keys})
        missing = [k for k in keys if k not in row]
        if extra or missing:
            ctx.error(
                rp,
                "E150",
                "a table row needs exactly the key fields "
                f"{', '.join(keys)} and points"
                + (f"; unknown: {', '.join(extra)}" if extra else "")
                + (f"; missing: {', '.join(missing)}" if missing else ""),
            )
            ok = False
            continue
        k = tuple(row[f] for f in keys)
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
        for f, v in zip(keys, k, strict=True):
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
    return table if ok else None


def build(raw: dict[str, Any], path: Path, ctx: BuildContext) -> PointsRule | None:
    """Build a points rule from its checked YAML mapping."""
    on = ctx.event_type(raw["on"], (*path, "on"))
    if on is None:
        return None
    keys = tuple(raw.get("key", ()))
    ok = all(ctx.field_of(on, k, (*path, "key", i)) for i, k in enumerate(keys))
    if ("table" in raw) == ("base" in raw) or ("table" in raw) != bool(keys):
        ctx.error(
            path,
            "E152",
            "a points rule needs either key: and table:, or base:",
            "e.g. key: [level] with a table, or base: 1 for one point per event",
        )
        return None
    provided, via = _provided(ctx, on)
    number_per = tuple(raw.get("number_per", ()))
    best = tuple(raw.get("best_only_per", ()))
    for name, group in (("best_only_per", best), ("number_per", number_per)):
        for i, b in enumerate(group):
            if b != "piece" and not ctx.field_of(on, b, (*path, name, i)):
                ok = False
        if "piece" in group and via is None:
            ctx.error(
                (*path, name),
                "E151",
                f"'{on}' does not refer to a piece",
                "use fields of the event only",
            )
            ok = False
    if number_per:
        provided["nth"] = "rank of the event in its number_per group (1 for the first)"
    late_for = raw.get("late_for")
    if late_for is not None:
        if ctx.rule_names.get(late_for) != "deadline":
            ctx.error(
                (*path, "late_for"),
                "E154",
                f"'{late_for}' is not a deadline rule",
                "name the deadline rule whose tasks this event answers",
            )
            return None
        provided["late"] = f"whether the event answers a task of {late_for} after its due time"
    table = _table(raw, path, ctx, on)
    exprs: dict[str, Expression | None] = {}
    for name in ("where", "base", "multiplier", "bonus"):
        names = dict(provided)
        if name == "where":
            names.pop("nth", None)  # nth counts the events that pass where
        if name in ("multiplier", "bonus"):
            names["base"] = "the table value (or base)"
        if name in raw:
            exprs[name] = ctx.expression(raw[name], (*path, name), names)
            ok = ok and exprs[name] is not None
    credit_persons = tuple(raw.get("credit_persons", ()))
    piece_types = ctx.vocab.types[on].fields[via].of if via else (on,)
    for i, f in enumerate(credit_persons):
        if not any(
            ctx.vocab.types[t].fields.get(f) is not None
            and ctx.vocab.types[t].fields[f].type in ("person", "persons")
            for t in piece_types or tuple(ctx.vocab.types)
        ):
            ctx.error(
                (*path, "credit_persons", i),
                "E153",
                f"'{f}' is not a person field of the scored piece ({', '.join(piece_types)})",
            )
            ok = False
    if not ok or table is None:
        return None
    return PointsRule(
        raw["name"],
        raw.get("label", ""),
        on,
        keys,
        table,
        exprs.get("base"),
        exprs.get("where"),
        exprs.get("multiplier"),
        exprs.get("bonus"),
        best,
        number_per,
        credit_persons,
        raw.get("split", "each"),
        tuple(raw.get("credit_units", ())),
        via,
        late_for,
    )


def is_late(ctx: Context, rule: PointsRule, ev: Event) -> bool:
    """Whether ``ev`` answers a task of the rule's ``late_for`` deadline after its due time
    (the deadline rule of the same name in the policy of the event's month)."""
    if rule.late_for is None:
        return False
    policy = ctx.policy_for(ctx.month_of(ev))
    found = policy.rule(rule.late_for) if policy else None
    if not isinstance(found, deadline.DeadlineRule):
        return False
    task = ctx.by_id.get(str(ev.data.get(found.link)))
    if task is None or not ctx.is_live(task.id) or task.type != found.on:
        return False
    return ev.at > deadline.due_time(found, task)


def _reader(rule: PointsRule, ctx: Context, expr: Expression) -> Callable[[Event], tuple[Any, ...]]:
    """A function giving, for an event, the values of the expression's names in order."""

    def piece_field(f: str) -> Callable[[Event], Any]:
        return lambda ev: _piece_value(ctx, rule, ev, f)

    getters: list[Callable[[Event], Any]] = []
    for n in expr.names:
        if n.startswith("piece."):
            getters.append(piece_field(n[len("piece.") :]))
        elif n == "nth":
            getters.append(lambda ev: None)  # filled in by _values
        elif n == "late":
            getters.append(lambda ev: is_late(ctx, rule, ev))
        else:
            getters.append(getter(n))
    return lambda ev: tuple(g(ev) for g in getters)


def _piece_value(ctx: Context, rule: PointsRule, ev: Event, f: str) -> Any:
    piece = ctx.by_id.get(str(ev.data.get(rule.via or "")))
    if piece is None:
        return None
    return piece.type if f == "type" else piece.data.get(f)


def values_for(
    ctx: Context,
    rule: PointsRule,
    expr: Expression,
    ev: Event,
    base: Decimal | None = None,
    nth: int | None = None,
) -> tuple[Any, ...]:
    memo_key = ("reader", id(expr))
    reader = ctx.memo.get(memo_key)
    if reader is None:
        reader = ctx.memo[memo_key] = _reader(rule, ctx, expr)
    values: tuple[Any, ...] = reader(ev)
    if base is not None and "base" in expr.names:
        idx = expr.names.index("base")
        values = (*values[:idx], base, *values[idx + 1 :])
    if "nth" in expr.names:
        idx = expr.names.index("nth")
        rank = nth if nth is not None else _nth(ctx, rule, ev)
        values = (*values[:idx], rank, *values[idx + 1 :])
    return values


def raw_points(
    ctx: Context, rule: PointsRule, ev: Event, nth: int | None = None
) -> tuple[Decimal, dict[str, Any]]:
    """The event's points before ``best_only_per``, and how they were computed."""
    if rule.base is not None:
        base = rule.base.number(values_for(ctx, rule, rule.base, ev, None, nth))
    else:
        key = tuple(ev.data.get(k) for k in rule.key)
        found = rule.table.get(key)
        if found is None:
            return ZERO, {"key": list(key), "no_row": True}
        base = found
    values: dict[str, Any] = {"base": base}
    mult = Decimal(1)
    if rule.multiplier is not None:
        mult = rule.multiplier.number(values_for(ctx, rule, rule.multiplier, ev, base, nth))
    bonus = ZERO
    if rule.bonus is not None:
        bonus = rule.bonus.number(values_for(ctx, rule, rule.bonus, ev, base, nth))
    values.update(multiplier=mult, bonus=bonus)
    if rule.number_per:
        values["nth"] = nth if nth is not None else _nth(ctx, rule, ev)
    return base * mult + bonus, values


def _group_key(rule: PointsRule, fields: tuple[str, ...], ev: Event) -> tuple[Any, ...]:
    return tuple(ev.data.get(rule.via or "") if f == "piece" else ev.data.get(f) for f in fields)


def _scored_events(ctx: Context, rule: PointsRule) -> list[Event]:
    """Live events of the rule's type whose piece (if any) is live, meeting ``where``."""
    key = ("points-events", rule.on, rule.via, id(rule.where))
    found = ctx.memo.get(key)
    if found is None:
        where = rule.where
        found = [
            e
            for e in ctx.by_type.get(rule.on, ())
            if (rule.via is None or ctx.is_live(e.data.get(rule.via, "")))
            and (where is None or where.evaluate_values(values_for(ctx, rule, where, e)) is True)
        ]
        ctx.memo[key] = found
    return list(found)


def _groups(ctx: Context, rule: PointsRule, fields: tuple[str, ...]) -> dict[Any, list[Event]]:
    key = ("points-groups", rule.on, rule.via, id(rule.where), fields)
    groups = ctx.memo.get(key)
    if groups is None:
        groups = {}
        for ev in _scored_events(ctx, rule):
            groups.setdefault(_group_key(rule, fields, ev), []).append(ev)
        ctx.memo[key] = groups
    return groups


def _nth(ctx: Context, rule: PointsRule, ev: Event) -> int:
    group = _groups(ctx, rule, rule.number_per).get(_group_key(rule, rule.number_per, ev), [])
    return 1 + sum(1 for e in group if e.sort_key() < ev.sort_key())


def persons_of(
    ctx: Context, rule: PointsRule, ev: Event, piece: Event, person: str | None
) -> list[str]:
    """The persons credited for ``ev`` (the piece's credit persons, or its author)."""
    if not rule.credit_persons:
        return [person] if person else []
    out: list[str] = []
    for f in rule.credit_persons:
        value = piece.data.get(f)
        for p in value if isinstance(value, tuple) else (value,):
            if p and p not in out:
                out.append(p)
    return out


def shares(rule: PointsRule, points: Decimal, persons: list[str]) -> list[tuple[str, Decimal]]:
    """Each credited person's part of ``points``."""
    if rule.split != "even" or len(persons) < 2:
        return [(p, points) for p in persons]
    part = (points / len(persons)).quantize(CENT, ROUND_HALF_EVEN)
    return [(p, part) for p in persons]


def _name_getter(ctx: Context, rule: PointsRule, name: str) -> Callable[[Event], Any]:
    if name.startswith("piece."):
        f = name[len("piece.") :]
        return lambda ev: _piece_value(ctx, rule, ev, f)
    return getter(name)

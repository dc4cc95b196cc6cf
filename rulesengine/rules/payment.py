"""Rule kind ``payment`` (稿酬): money per paid event, or per point of a score.

Per event: each live event of ``on`` whose piece is live pays the amount of its row in the table
(by ``key``), to the credited person (also after they left), in the period of the event; with
``once_per``, only the first event of a group pays (a piece paid once per level). Per point:
``score:`` and ``rate:`` pay each person rate x their score for the evaluated period.
Payments are listed per person for the evaluated period (a year lists the sums of its months).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rulesengine.periods import Period
from rulesengine.results import Payment
from rulesengine.rules.common import BuildContext
from rulesengine.yamlsrc import Path

if TYPE_CHECKING:
    from rulesengine.context import Context


@dataclass(frozen=True, slots=True)
class PaymentRule:
    """A checked ``payment`` rule."""

    name: str
    label: str
    on: str | None
    key: tuple[str, ...]
    table: dict[tuple[Any, ...], Decimal]
    once_per: tuple[str, ...]
    via: str | None
    score: str | None
    rate: Decimal | None
    kind: str = "payment"


def build(raw: dict[str, Any], path: Path, ctx: BuildContext) -> PaymentRule | None:
    """Build a payment rule from its checked YAML mapping."""
    if "score" in raw:
        if ctx.rule_names.get(raw["score"]) not in ("points", "total", "tally", "share"):
            ctx.error((*path, "score"), "E181", f"'{raw['score']}' is not a rule that gives scores")
            return None
        return PaymentRule(
            raw["name"],
            raw.get("label", ""),
            None,
            (),
            {},
            (),
            None,
            raw["score"],
            Decimal(str(raw.get("rate", 1))),
        )
    if "on" not in raw or "key" not in raw or "table" not in raw:
        ctx.error(path, "E183", "a payment needs on:, key: and table:, or score: and rate:")
        return None
    on = ctx.event_type(raw["on"], (*path, "on"))
    if on is None:
        return None
    ok = all(ctx.field_of(on, k, (*path, "key", i)) for i, k in enumerate(raw["key"]))
    spec = ctx.vocab.types[on]
    via = spec.credit if spec.credit and spec.fields[spec.credit].type == "event" else None
    table = {}
    for i, row in enumerate(raw["table"]):
        if set(row) != {*raw["key"], "amount"}:
            ctx.error(
                (*path, "table", i),
                "E150",
                f"a payment row needs exactly {', '.join(raw['key'])} and amount",
            )
            ok = False
            continue
        table[tuple(row[k] for k in raw["key"])] = Decimal(str(row["amount"]))
    if not ok:
        return None
    return PaymentRule(
        raw["name"],
        raw.get("label", ""),
        on,
        tuple(raw["key"]),
        table,
        tuple(raw.get("once_per", ())),
        via,
        None,
        None,
    )


def group_of(rule: PaymentRule, ev: Any) -> tuple[Any, ...]:
    """The ``once_per`` group of an event."""
    return tuple(
        ev.data.get(rule.via or "") if f == "piece" else ev.data.get(f) for f in rule.once_per
    )


def pay_events(ctx: Context, rule: PaymentRule, period: Period, tz: str) -> list[Payment]:
    """Per-event payments of the events in ``period``, per person."""
    if rule.on is None:
        return []
    start, end = period.bounds(tz)
    live = [
        e
        for e in ctx.by_type.get(rule.on, ())
        if rule.via is None or ctx.is_live(e.data.get(rule.via, ""))
    ]
    first: dict[tuple[Any, ...], str] = {}
    if rule.once_per:
        # resumed from a checkpoint: the groups paid before it (rulesengine.checkpoint)
        for group in ctx.memo.get(("payment-seen", rule.name), ()):
            first[group] = ""
        for ev in live:  # time order: the first of each group is paid
            first.setdefault(group_of(rule, ev), ev.id)
    owed: dict[str, tuple[Decimal, list[str]]] = {}
    for ev in live:
        if not (start <= ev.at < end):
            continue
        if rule.once_per and first.get(group_of(rule, ev)) != ev.id:
            continue
        amount = rule.table.get(tuple(ev.data.get(k) for k in rule.key))
        _, person = ctx.credit(ev)
        if amount is None or person is None:
            continue
        total, events = owed.get(person, (Decimal(0), []))
        owed[person] = (total + amount, [*events, ev.id])
    return [
        Payment(rule.name, p, amount, len(evs), tuple(evs))
        for p, (amount, evs) in sorted(owed.items())
    ]

"""Checkpoints: a month's look-back state, so that a month can be evaluated again from its own
events instead of from the whole history (decision 25, docs/scaling.md).

A month's result depends on its past only through a few running values, all of which are taken
here at the instant the month starts: the points pass's best-so-far and ``nth`` counts, the
streaks of the month before, the points the month before ranked (for ``improvement``), the
``once_per`` groups already paid, which deadline tasks are still open (their ids, to be read with
the month), and how many live and void events came before. :func:`evaluate_capturing` evaluates a
month from all its past and returns, with the result, the states at the month's start and end;
:func:`evaluate_resumed` evaluates it from a state at its start and the events of
``rulesengine.store.window.load_window``, and gives the same result, byte for byte (tested in
tests/test_checkpoints.py against fresh evaluations on random streams with late events).

Pure: no IO. A state is keyed by :func:`state_key` (the engine's code, the family, every policy
and the forced one), so a changed policy or engine never reads an old state.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import orjson

from rulesengine.context import Context
from rulesengine.evaluate import evaluate_period, prepare, previous_points
from rulesengine.gcpause import collector_paused
from rulesengine.periods import Period
from rulesengine.policy import Policy, PolicySet
from rulesengine.results import Result
from rulesengine.rules import deadline, payment, points, ranking, scoring, tally

FORMAT = 2


@dataclass(frozen=True, slots=True)
class State:
    """The look-back state at the start of ``month`` (see the module's docstring)."""

    month: str
    live_before: int
    void_before: int
    passes: dict[tuple[str, str], tuple[Mapping[Any, Decimal], dict[Any, int]]]
    streaks: dict[str, dict[str, int]]
    previous: dict[str, dict[str, Decimal] | None]
    paid: dict[str, list[tuple[Any, ...]]]
    open_tasks: tuple[str, ...]


def _engine_digest() -> str:
    """A digest of the engine's own code: a state is read only by the code that wrote it."""
    h = hashlib.sha256()
    root = resources.files("rulesengine")
    stack = [root]
    files = []
    while stack:
        for item in stack.pop().iterdir():
            if item.is_dir():
                if item.name != "__pycache__":
                    stack.append(item)
            elif item.name.endswith((".py", ".json")):
                files.append(item)
    for item in sorted(files, key=lambda f: str(f)):
        h.update(item.name.encode() + b"\0" + item.read_bytes())
    return h.hexdigest()


_ENGINE = _engine_digest()


def state_key(policies: PolicySet, forced: Policy | None) -> str:
    """The key states are stored under: the engine's code, the family, every policy's digest
    (which covers its vocabulary) and the forced policy's."""
    doc = {
        "format": FORMAT,
        "engine": _ENGINE,
        "family": policies.family,
        "policies": sorted([p.version, p.sha256] for p in policies.policies),
        "forced": forced.sha256 if forced is not None else None,
    }
    return hashlib.sha256(orjson.dumps(doc)).hexdigest()


def _rules(policy: Policy | None, kind: type) -> list[Any]:
    return [r for r in policy.rules if isinstance(r, kind)] if policy is not None else []


def capture(
    ctx: Context, month: Period, at: datetime, prior: State | None = None, since: Any = None
) -> State:
    """The state at ``at``, the start of ``month``, from a context holding every event before
    ``at`` (``prior`` None), or from one resumed at ``since`` with state ``prior`` and holding
    every event of ``[since, at)``. The points passes must have been asked to snapshot ``at``."""
    pol = ctx.policy_for(month)
    passes = {}
    for rule in _rules(pol, points.PointsRule):
        scoring.score_month(ctx, rule, month, None, None)  # runs the pass if not yet run
        best, counts = ctx.memo[("points-state", rule.name, rule.on, at)]
        passes[(rule.name, rule.on)] = (best, counts)
    streaks = {
        rule.name: dict(tally.streaks(ctx, rule.name, month.previous()))
        for rule in _rules(pol, tally.TallyRule)
        if rule.period == month.kind and rule.reads_streak
    }
    previous = {
        rule.ranking: previous_points(ctx, rule.ranking, month, ctx.policy_for)
        for rule in _rules(pol, ranking.ImprovementRule)
        if rule.period == month.kind
    }
    lo = since if prior is not None else None
    paid: dict[str, list[tuple[Any, ...]]] = {}
    for rule in _rules(pol, payment.PaymentRule):
        if rule.once_per and rule.on is not None:
            groups = dict.fromkeys(prior.paid.get(rule.name, ()) if prior else ())
            for ev in ctx.by_type.get(rule.on, ()):
                if ev.at < at and (lo is None or ev.at >= lo):
                    if rule.via is None or ctx.is_live(ev.data.get(rule.via, "")):
                        groups.setdefault(payment.group_of(rule, ev))
            paid[rule.name] = list(groups)
    tasks = dict.fromkeys(
        t.id
        for rule in _rules(pol, deadline.DeadlineRule)
        for t in ctx.by_type.get(rule.on, ())
        if t.at < at and deadline.due_time(rule, t) >= at
    )
    voided = ctx.count_void(at, lo)
    live = ctx.count_before(at) - (ctx.count_before(lo) if lo is not None else 0)
    return State(
        month.id,
        live + (prior.live_before if prior else 0),
        voided + (prior.void_before if prior else 0),
        passes,
        streaks,
        previous,
        paid,
        tuple(tasks),
    )


def _seed(ctx: Context, state: State, month: Period, at: datetime) -> None:
    """Put a state at the start of ``month`` where the rules look for their look-backs."""
    for (name, on), (best, counts) in state.passes.items():
        ctx.memo[("points-resume", name, on)] = (at, best, counts)
    for name, found in state.streaks.items():
        ctx.memo[("streaks", name, month.previous())] = found
    for name, pts in state.previous.items():
        ctx.memo[("previous", name, month)] = pts
    for name, groups in state.paid.items():
        ctx.memo[("payment-seen", name)] = groups


@collector_paused()  # millions of small objects, no cycles: see rulesengine.gcpause
def evaluate_capturing(
    policies: PolicySet, events: list[Any], month: Period, forced: Policy | None = None
) -> tuple[Result, State, State | None]:
    """Evaluate ``month`` over every event before its end (as :func:`evaluate` does) and give
    the states at its start and at its end (None when no policy is in force for the next
    month)."""
    (main,), policy_for, ctx = prepare(policies, events, [month], forced)
    start, end = month.bounds(main.timezone)
    ctx.memo[("points-snap-at",)] = (start, end)
    with ctx:
        result = evaluate_period(ctx, main, month, policy_for)
        first = capture(ctx, month, start)
        nxt = month.next()
        last = capture(ctx, nxt, end) if ctx.policy_for(nxt) is not None else None
    return result, first, last


@collector_paused()  # millions of small objects, no cycles: see rulesengine.gcpause
def evaluate_resumed(
    policies: PolicySet,
    events: list[Any],
    month: Period,
    state: State,
    forced: Policy | None = None,
) -> tuple[Result, State | None]:
    """Evaluate ``month`` from ``state`` (taken at its start) and the events that
    ``load_window`` reads for it; the same result as :func:`evaluate` over all events. Also
    the state at the month's end, when the next month is judged by the same policy (else None:
    what a new policy's rules need from the past is not all in the window)."""
    (main,), policy_for, ctx = prepare(policies, events, [month], forced)
    start, end = month.bounds(main.timezone)
    nxt = month.next()
    same = ctx.policy_for(nxt) is not None and ctx.policy_for(nxt) is ctx.policy_for(month)
    if same:  # the end state is kept only then: no copy of the running values otherwise
        ctx.memo[("points-snap-at",)] = (end,)
    with ctx:
        _seed(ctx, state, month, start)
        result = evaluate_period(ctx, main, month, policy_for)
        voided = ctx.count_void(end, start)
        result = dataclasses.replace(
            result,
            events_considered=state.live_before + ctx.count_before(end) - ctx.count_before(start),
            events_void=state.void_before + voided,
        )
        last = capture(ctx, nxt, end, state, start) if same else None
    return result, last


# ---- encoding: JSON, with tags for the values JSON has no type for ----


class PackedValues(Mapping[tuple[Any, ...], Decimal]):
    """Best-so-far values as a state holds them when every group key is all texts (the usual
    case: a piece's id and a level): JSON text of the key to the value's text. A resumed pass
    looks up only the groups its month meets (``get``), so a province's 160,000 groups are not
    all made into tuples and decimals each time a month is evaluated again."""

    __slots__ = ("_numbers", "raw")

    def __init__(self, raw: dict[str, str]) -> None:
        self.raw = raw
        self._numbers: dict[str, Decimal] = {}  # one Decimal per distinct text

    def _number(self, text: str) -> Decimal:
        found = self._numbers.get(text)
        if found is None:
            found = self._numbers[text] = Decimal(text)
        return found

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        """The value of group ``key`` (a tuple of field values), or ``default``. Only all-text
        keys are packed, so no other key is here (and JSON would write a time as a text)."""
        if not all(type(x) is str for x in key):
            return default
        text = self.raw.get(orjson.dumps(key).decode())
        return default if text is None else self._number(text)

    def __getitem__(self, key: tuple[Any, ...]) -> Decimal:
        found: Decimal | None = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return (tuple(orjson.loads(k)) for k in self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def overlaid(self, newer: dict[tuple[Any, ...], Decimal]) -> Mapping[Any, Decimal]:
        """These values with ``newer`` ones over them (packed while every key is all texts)."""
        if not all(type(x) is str for k in newer for x in k):
            return {**dict(self.items()), **newer}
        raw = dict(self.raw)
        raw.update((orjson.dumps(k).decode(), str(v)) for k, v in newer.items())
        return PackedValues(raw)


def _best(values: Mapping[tuple[Any, ...], Decimal]) -> dict[str, Any]:
    """Best-so-far values: packed (``PackedValues``) when every key is all texts."""
    if isinstance(values, PackedValues):
        return {"packed": values.raw}
    if all(type(x) is str for k in values for x in k):
        return {"packed": {orjson.dumps(k).decode(): str(v) for k, v in values.items()}}
    return {"keys": _keys(values), "values": [str(v) for v in values.values()]}


def _enc(v: Any) -> Any:
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, Decimal):
        return {"$d": str(v)}
    if isinstance(v, datetime):
        return {"$t": v.isoformat()}
    if isinstance(v, (tuple, list)):
        return {"$l": [_enc(x) for x in v]}
    raise TypeError(f"cannot keep {type(v).__name__} in a checkpoint")


def _dec(v: Any) -> Any:
    if isinstance(v, dict):
        if "$d" in v:
            return Decimal(v["$d"])
        if "$t" in v:
            return datetime.fromisoformat(v["$t"])
        return tuple(_dec(x) for x in v["$l"])
    return v


def _keys(keys: Any) -> Any:
    """Group keys: plain JSON lists when every value is a text, number, true/false or null
    (the usual case, read back fast), else tagged (``{"$l": [...]}``)."""
    keys = list(keys)
    if all(type(x) in _PLAIN for k in keys for x in k):
        return {"plain": [list(k) for k in keys]}
    return {"tagged": [[_enc(x) for x in k] for k in keys]}


def _unkeys(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    if "plain" in doc:
        return list(map(tuple, doc["plain"]))
    return [tuple(_dec(x) for x in k) for k in doc["tagged"]]


_PLAIN = frozenset((str, int, bool, float, type(None)))


def encode(state: State) -> bytes:
    """The state as JSON bytes."""
    doc = {
        "month": state.month,
        "live_before": state.live_before,
        "void_before": state.void_before,
        "passes": [
            [
                name,
                on,
                _best(best),
                _keys(counts),
                list(counts.values()),
            ]
            for (name, on), (best, counts) in state.passes.items()
        ],
        "streaks": state.streaks,
        "previous": {
            k: None if v is None else {s: str(p) for s, p in v.items()}
            for k, v in state.previous.items()
        },
        "paid": {k: _keys(groups) for k, groups in state.paid.items()},
        "open_tasks": list(state.open_tasks),
    }
    return orjson.dumps(doc)


@collector_paused()  # many small objects, no cycles: see rulesengine.gcpause
def decode(body: bytes) -> State:
    """A state from :func:`encode`'s bytes."""
    doc = orjson.loads(body)

    def numbers(texts: list[str]) -> Any:
        """Decimals of ``texts`` (few distinct values: one Decimal each)."""
        one = {t: Decimal(t) for t in set(texts)}
        return map(one.__getitem__, texts)

    previous: Mapping[str, Any] = doc["previous"]
    return State(
        doc["month"],
        doc["live_before"],
        doc["void_before"],
        {
            (name, on): (
                PackedValues(bv["packed"])
                if "packed" in bv
                else dict(zip(_unkeys(bv["keys"]), numbers(bv["values"]), strict=True)),
                dict(zip(_unkeys(ck), cv, strict=True)),
            )
            for name, on, bv, ck, cv in doc["passes"]
        },
        doc["streaks"],
        {
            k: None if v is None else {s: Decimal(p) for s, p in v.items()}
            for k, v in previous.items()
        },
        {k: _unkeys(groups) for k, groups in doc["paid"].items()},
        tuple(doc["open_tasks"]),
    )

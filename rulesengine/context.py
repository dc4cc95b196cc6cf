"""The evaluation context: the facts all rules share for one evaluation.

Built once from the events: which events are void (retracted), events by type in time order, the
roster, credit (who earns an event), and which policy judges each month. Rules memoise their
per-period results here so look-backs (streaks, earlier adoptions) are computed once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress, islice
from operator import attrgetter, eq, le
from typing import TYPE_CHECKING, Any

from rulesengine.events import Event, in_offset_zone
from rulesengine.periods import Period, period_of
from rulesengine.results import Warning
from rulesengine.roster import Roster
from rulesengine.vocabulary import Vocabulary

if TYPE_CHECKING:
    from rulesengine.policy import Policy


def void_ids(events: Sequence[Event], vocab: Vocabulary) -> set[str]:
    """Ids voided by retractions; a retracted retraction voids nothing."""
    kinds = {name for name, spec in vocab.types.items() if spec.voids}
    voids = [e for e in events if e.type in kinds]
    voided: set[str] = set()
    for ev in sorted(voids, key=Event.sort_key, reverse=True):
        if ev.id not in voided:
            voided.add(ev.get(vocab.types[ev.type].voids or ""))
    return voided


def _ties(times: list[datetime]) -> Iterator[int]:
    """Each ``i`` with ``times[i] == times[i + 1]`` (found at C level)."""
    return compress(range(len(times) - 1), map(eq, times, islice(times, 1, None)))


def _in_order(events: list[Event], times: list[datetime]) -> bool:
    """Whether ``events`` (with ``times``, their times) are in order of time, then id (compared
    at C level: ties of time are few)."""
    if not all(map(le, times, islice(times, 1, None))):
        return False
    return all(events[i].id <= events[i + 1].id for i in _ties(times))


def _time_then_id(events: list[Event]) -> tuple[list[Event], list[datetime]]:
    """``events`` in order of time, then id, and their times: sorted by time alone, then each
    run of equal times by id (a key tuple per event cost a million tuples, and comparing them,
    for a province's year read from files)."""
    out = sorted(events, key=attrgetter("at"))
    times = [e.at for e in out]
    ties = list(_ties(times))  # consecutive ties make one run of equal times
    by_id, first = attrgetter("id"), 0
    for k in range(1, len(ties) + 1):
        if k == len(ties) or ties[k] != ties[k - 1] + 1:
            lo, hi = ties[first], ties[k - 1] + 2
            out[lo:hi] = sorted(out[lo:hi], key=by_id)
            first = k
    return out, times


@dataclass(slots=True)
class Context:
    """Shared facts of one evaluation. ``policy_for`` maps a month to its policy (or None)."""

    vocab: Vocabulary
    events: list[Event]
    policy_for: Callable[[Period], Policy | None]
    family: str
    timezone: str
    void: set[str] = field(default_factory=set)
    by_id: dict[str, Event] = field(default_factory=dict)
    by_type: dict[str, list[Event]] = field(default_factory=dict)
    _times: dict[str, list[datetime]] = field(default_factory=dict)
    roster: Roster = field(default_factory=Roster)
    warnings: dict[str, list[Warning]] = field(default_factory=dict)  # by month id
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    _credit_how: dict[str, tuple[str, str]] = field(default_factory=dict)
    _months: list[Period] = field(default_factory=list)
    _month_starts: list[datetime] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        vocab: Vocabulary,
        events: Sequence[Event],
        policy_for: Callable[[Period], Policy | None],
        family: str,
        timezone: str,
    ) -> Context:
        """Index ``events`` (any order) for evaluation."""
        cache: dict[Period, Policy | None] = {}

        def policy_for_cached(p: Period) -> Policy | None:
            try:
                return cache[p]
            except KeyError:
                found = cache[p] = policy_for(p)
                return found

        ctx = cls(vocab, [], policy_for_cached, family, timezone)
        ctx.void = void_ids(events, vocab)
        ctx.by_id = {e.id: e for e in events}
        void = ctx.void
        live = [e for e in events if e.id not in void] if void else list(events)
        times = [e.at for e in live]
        if not _in_order(live, times):  # a store hands them in order
            live, times = _time_then_id(live)
        ctx.events = live
        ctx.memo[("all-times",)] = times
        for ev in live:
            ctx.by_type.setdefault(ev.type, []).append(ev)
        ctx._times = {t: [e.at for e in evs] for t, evs in ctx.by_type.items()}
        ctx.roster = Roster.build(live, vocab)
        ctx._index_months()
        return ctx

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Drop the memoised results. Some hold closures that refer back to the context (a
        cycle), which would keep every event alive until the cyclic collector runs; an evaluation
        releases its context when done, so its memory is freed at once (``with Context.build``).
        """
        self.memo.clear()

    def between(self, type_name: str, start: datetime, end: datetime) -> list[Event]:
        """Live events of ``type_name`` with ``start <= at < end``, in time order."""
        times = self._times.get(type_name)
        if not times:
            return []
        evs = self.by_type[type_name]
        return evs[bisect_left(times, start) : bisect_left(times, end)]

    def selected(self, selection: Any, start: datetime, end: datetime) -> list[Event]:
        """Live events of a selection with ``start <= at < end`` (the filter runs once per
        event for the whole evaluation, not once per period)."""
        key = ("selected", id(selection))
        found = self.memo.get(key)
        if found is None:
            evs: list[Event] = selection.filter(self.by_type.get(selection.type, ()))
            found = self.memo[key] = (evs, [e.at for e in evs])
        evs, times = found
        return evs[bisect_left(times, start) : bisect_left(times, end)]

    def eligible(
        self, start: datetime, end: datetime, unit_kinds: tuple[str, ...], roles: tuple[str, ...]
    ) -> list[str]:
        """Persons eligible for all of [start, end) (memoised per period and settings)."""
        key = ("eligible", start, end, unit_kinds, roles)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = [
                p
                for p in self.roster.persons()
                if self.roster.eligible(p, start, end, unit_kinds, roles)
            ]
        return found

    def credit(self, ev: Event) -> tuple[Event, str | None]:
        """The event that earns credit for ``ev`` and the person credited.

        Follows the vocabulary's ``credit:`` field: a person field ends the walk; an event field
        (an adoption's ``ref``) continues from the referenced event.
        """
        how = self._credit_how
        for _ in range(8):
            try:
                kind, key = how[ev.type]
            except KeyError:
                kind, key = how[ev.type] = self._credit_field(ev.type)
            if kind == "person":
                return ev, ev.data.get(key)
            if kind != "event":
                return ev, None  # no credit, or a unit directly: see credited_unit
            ref = self.by_id.get(ev.data.get(key) or "")
            if ref is None:
                return ev, None
            ev = ref
        return ev, None

    def credit_field(self, type_name: str) -> tuple[str, str]:
        """How a type credits (memoised): (``person`` | ``event`` | ``unit`` | ``none``, the
        field's name)."""
        how = self._credit_how.get(type_name)
        if how is None:
            how = self._credit_how[type_name] = self._credit_field(type_name)
        return how

    def _credit_field(self, type_name: str) -> tuple[str, str]:
        spec = self.vocab.types[type_name]
        if spec.credit is None:
            return "none", ""
        ftype = spec.fields[spec.credit].type
        return ("event" if ftype == "event" else "unit" if ftype == "unit" else "person"), (
            spec.credit
        )

    def credited_unit(self, piece: Event) -> str | None:
        """The unit a piece credits directly (its ``credit:`` field is a unit field), if any."""
        spec = self.vocab.types[piece.type]
        if spec.credit and spec.fields[spec.credit].type == "unit":
            value = piece.data.get(spec.credit)
            return str(value) if value is not None else None
        return None

    def referrers(self, event_id: str, type_name: str, end: datetime) -> int:
        """How many live events of ``type_name`` before ``end`` refer to ``event_id`` through
        one of their event fields (e.g. the adoptions of a submission)."""
        key = ("referrers", type_name)
        index = self.memo.get(key)
        if index is None:
            index = {}
            fields = [n for n, f in self.vocab.types[type_name].fields.items() if f.type == "event"]
            for ev in self.by_type.get(type_name, ()):
                for name in fields:
                    ref = ev.data.get(name)
                    if ref is not None:
                        index.setdefault(ref, []).append(ev.at)
            self.memo[key] = index
        return bisect_left(index.get(event_id, ()), end)

    def count_before(self, end: datetime) -> int:
        """How many live events are before ``end``."""
        times = self.memo.get(("all-times",))
        if times is None:
            times = self.memo[("all-times",)] = [e.at for e in self.events]
        return bisect_left(times, end)

    def count_void(self, end: datetime, start: datetime | None = None) -> int:
        """How many void (retracted) events are before ``end`` (and at or after ``start``)."""
        times = self.memo.get(("void-times",))
        if times is None:
            by_id = self.by_id
            times = self.memo[("void-times",)] = sorted(
                by_id[i].at for i in self.void if i in by_id
            )
        return max(0, bisect_left(times, end) - (bisect_left(times, start) if start else 0))

    def is_live(self, event_id: str) -> bool:
        """Whether the event exists and is not void."""
        return event_id in self.by_id and event_id not in self.void

    def month_of(self, ev: Event) -> Period:
        """The local month of ``ev`` (looked up among month boundaries: no time zone maths
        per event)."""
        starts = self._month_starts
        i = bisect_right(starts, ev.at) - 1
        if 0 <= i < len(starts) - 1:
            return self._months[i]
        return period_of(ev.at, "month", self.timezone)

    def month_bounds(self, month: Period) -> tuple[datetime, datetime]:
        """``[start, end)`` of a month in the evaluation's time zone (memoised), for comparing
        with event times (:func:`rulesengine.events.in_offset_zone`)."""
        key = ("month-bounds", month)
        found = self.memo.get(key)
        if found is None:
            start, end = month.bounds(self.timezone)
            found = self.memo[key] = (in_offset_zone(start), in_offset_zone(end))
        return found

    def _index_months(self) -> None:
        """Month boundaries covering the events, for :meth:`month_of`."""
        if not self.events:
            return
        first = period_of(self.events[0].at, "month", self.timezone)
        last = period_of(self.events[-1].at, "month", self.timezone)
        month = first
        while True:
            self._months.append(month)
            self._month_starts.append(in_offset_zone(month.bounds(self.timezone)[0]))
            if month == last:
                break
            month = month.next()
        self._month_starts.append(in_offset_zone(last.bounds(self.timezone)[1]))

    def warn(self, month: Period, warning: Warning) -> None:
        """Record a warning against the month it arose in."""
        self.warnings.setdefault(month.id, []).append(warning)

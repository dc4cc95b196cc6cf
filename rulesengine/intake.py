"""Taking events in: checking references between events, and the decode-then-check pipeline.

:func:`parse_records` decodes records (:func:`rulesengine.events.decode_line`), orders them by
time, then checks each against what came before (:class:`ReferenceChecker`): an earlier event of
the right type, a person on the roster at that time, an existing unit, and duplicates. A store
seeds the checker with what it already holds; a sink receives accepted events in chunks.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rulesengine.errors import Reject
from rulesengine.events import Event, LineError, decode_line, decode_object, suggest
from rulesengine.gcpause import collector_paused
from rulesengine.vocabulary import FieldSpec, Vocabulary

_REFERENCES = frozenset(("event", "person", "persons", "unit", "new_unit", "new_person"))


@dataclass(slots=True)
class ReferenceChecker:
    """Checks references and duplicates, event by event in time order.

    Seed it with what a store already holds (:meth:`remember` for roster events, :meth:`known`
    for others), then :meth:`check` each new event.
    """

    vocab: Vocabulary
    events: dict[str, tuple[str, datetime, bytes]] = field(default_factory=dict)  # type, at, sha
    units: dict[str, datetime] = field(default_factory=dict)
    persons: dict[str, list[tuple[datetime, bool]]] = field(default_factory=dict)  # on roster?
    pending: list[tuple[Event, Any]] = field(default_factory=list)  # the batch being checked
    _upcoming: dict[str, datetime] | None = None
    _plans: dict[str, list[FieldSpec]] = field(default_factory=dict)

    def known(self, event_id: str, type_name: str, at: datetime, sha: bytes) -> None:
        """Record an event held elsewhere (a store) by id, type, time and content digest."""
        self.events[event_id] = (type_name, at, sha)

    def upcoming(self, event_id: str) -> datetime | None:
        """The time of ``event_id`` if it is in the batch being checked (built on first need)."""
        if self._upcoming is None:
            self._upcoming = {ev.id: ev.at for ev, _ in self.pending}
        return self._upcoming.get(event_id)

    def remember(self, ev: Event) -> bytes:
        """Record an accepted event so later ones may refer to it; returns its canonical form."""
        canonical = ev.canonical()
        self.events[ev.id] = (ev.type, ev.at, hashlib.sha256(canonical).digest())
        op = self.vocab.types[ev.type].roster
        if op == "create_unit":
            self.units[ev.data["unit"]] = ev.at
        elif op in ("join", "leave"):
            insort(self.persons.setdefault(ev.data["person"], []), (ev.at, op == "join"))
        return canonical

    def on_roster(self, pid: str, at: datetime) -> tuple[bool, str]:
        """Whether ``pid`` is on the roster at ``at``, and if not, why."""
        timeline = self.persons.get(pid)
        if not timeline:
            return False, f"person '{pid}' is not on the roster"
        i = bisect_right(timeline, (at, True))
        if i == 0:
            return (
                False,
                f"person '{pid}' is not on the roster yet (joins {timeline[0][0].isoformat()})",
            )
        when, on = timeline[i - 1]
        if not on:
            return False, f"person '{pid}' has left the roster ({when.isoformat()})"
        return True, ""

    def check(self, ev: Event) -> bool:
        """Raise :class:`LineError` if ``ev`` is bad; return False for an identical duplicate."""
        known = self.events.get(ev.id)
        if known is not None:
            if known[2] == ev.digest():
                return False
            raise LineError(
                "E311",
                f"id '{ev.id}' was already used by a different event",
                "id",
                "give every event its own id; re-sending an identical event is fine",
            )
        plan = self._plans.get(ev.type)
        if plan is None:
            plan = self._plans[ev.type] = [
                fs for fs in self.vocab.types[ev.type].fields.values() if fs.type in _REFERENCES
            ]
        for fs in plan:
            value = ev.data.get(fs.name)
            if value is None:
                continue
            if fs.type == "event":
                self._check_event_ref(ev, fs.name, value, fs.of)
            elif fs.type in ("person", "persons"):
                for pid in value if isinstance(value, tuple) else (value,):
                    ok, why = self.on_roster(pid, ev.at)
                    if not ok:
                        raise LineError("E315", why, fs.name, "check the roster (person_joined)")
            elif fs.type == "unit":
                created = self.units.get(value)
                if created is None or created > ev.at:
                    raise LineError(
                        "E316",
                        f"unit '{value}' does not exist"
                        + (f" yet (created {created.isoformat()})" if created else ""),
                        fs.name,
                        suggest(value, self.units) or "create it with unit_created first",
                    )
            elif fs.type == "new_unit" and value in self.units:
                raise LineError("E317", f"unit '{value}' already exists", fs.name)
            elif fs.type == "new_person" and self.on_roster(value, ev.at)[0]:
                raise LineError(
                    "E317",
                    f"person '{value}' is already on the roster",
                    fs.name,
                    "use person_moved or role_changed",
                )
        return True

    def _check_event_ref(self, ev: Event, name: str, value: str, of: tuple[str, ...]) -> None:
        ref = self.events.get(value)
        later = self.upcoming(value) if ref is None else None
        if later is not None and later > ev.at:
            raise LineError(
                "E313",
                f"refers to event '{value}' which is later ({later.isoformat()})",
                name,
                "an event can only refer to an earlier one",
            )
        if ref is None:
            raise LineError(
                "E312",
                f"refers to unknown event '{value}'",
                name,
                "the referenced event must come first (or was rejected)",
            )
        if ref[1] > ev.at:
            raise LineError(
                "E313", f"refers to event '{value}' which is later ({ref[1].isoformat()})", name
            )
        if of and ref[0] not in of:
            raise LineError(
                "E314", f"refers to a '{ref[0]}' event; expected " + " or ".join(of), name
            )


@dataclass(slots=True)
class Batch:
    """The outcome of reading events: accepted events (time order), rejects, counts."""

    events: list[Event] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    read: int = 0
    duplicates: int = 0
    accepted: int = 0

    def summary(self) -> str:
        """``read N, accepted A, duplicates D, rejected R``."""
        return (
            f"read {self.read}, accepted {self.accepted}, duplicates {self.duplicates}, "
            f"rejected {len(self.rejects)}"
        )


Record = tuple[str, int, "str | bytes | dict[str, Any]", "str | None"]
"""``(source, line, payload, raw text)``: payload is a JSON line or an already parsed object;
raw is the text shown in a reject (None: the payload line itself)."""

Sink = Callable[[list[tuple[Event, bytes]]], None]
"""Receives accepted events with their canonical JSON, in chunks, in time order."""


@dataclass(frozen=True, slots=True)
class _Done:
    """What remains of an event handed to the sink: enough to answer "is it later?"."""

    id: str
    at: datetime


SINK_CHUNK = 20_000


def _raw_text(payload: str | bytes | dict[str, Any], raw: str | None) -> str:
    if raw is not None:
        return raw
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="replace").rstrip("\r\n")
    return str(payload).rstrip("\r\n")


def parse_records(
    records: Iterable[Record],
    vocab: Vocabulary,
    seed: Callable[[list[Event], ReferenceChecker], None] | None = None,
    sink: Sink | None = None,
) -> Batch:
    """Decode and check records.

    ``seed`` may fill the checker (from a store) before checking. With ``sink``, accepted events
    are handed over in chunks (time order) instead of being kept in the batch.
    """
    with collector_paused():  # millions of small objects, no cycles: see rulesengine.gcpause
        return _parse_records(records, vocab, seed, sink)


def _parse_records(
    records: Iterable[Record],
    vocab: Vocabulary,
    seed: Callable[[list[Event], ReferenceChecker], None] | None,
    sink: Sink | None,
) -> Batch:
    batch = Batch()
    decoded: list[tuple[Any, Any]] = []  # (Event, raw), or (_Done, None) once written
    for source, number, payload, raw in records:
        batch.read += 1
        try:
            if isinstance(payload, dict):
                ev = decode_object(payload, vocab, source, number)
            else:
                ev = decode_line(payload, vocab, source, number)
            decoded.append((ev, payload if raw is None else raw))
        except LineError as exc:
            batch.rejects.append(
                Reject(
                    source,
                    number,
                    _raw_text(payload, raw),
                    exc.code,
                    exc.reason,
                    exc.field,
                    exc.hint,
                )
            )
    refs = ReferenceChecker(vocab)
    ranks = vocab.ranks()
    decoded.sort(key=lambda pair: (pair[0].at, ranks[pair[0].type], pair[0].id))
    if seed is not None:
        seed([ev for ev, _ in decoded], refs)
    refs.pending = decoded
    chunk: list[tuple[Event, bytes]] = []
    for index, (ev, raw) in enumerate(decoded):
        try:
            fresh = refs.check(ev)
        except LineError as exc:
            batch.rejects.append(
                Reject(
                    ev.source,
                    ev.line,
                    _raw_text(raw, None if not isinstance(raw, str) else raw),
                    exc.code,
                    exc.reason,
                    exc.field,
                    exc.hint,
                )
            )
            continue
        if not fresh:
            batch.duplicates += 1
            continue
        canonical = refs.remember(ev)
        batch.accepted += 1
        if sink is None:
            batch.events.append(ev)
            continue
        chunk.append((ev, canonical))
        decoded[index] = (_Done(ev.id, ev.at), None)  # let the written event be freed
        if len(chunk) >= SINK_CHUNK:
            sink(chunk)
            chunk = []
    if sink is not None and chunk:
        sink(chunk)
    refs.pending = []
    batch.rejects.sort(key=lambda r: (r.source, r.line))
    return batch


def parse_event_lines(
    lines: Iterable[tuple[str, int, str | bytes]],
    vocab: Vocabulary,
    seed: Callable[[list[Event], ReferenceChecker], None] | None = None,
) -> Batch:
    """Decode and check ``(source, line number, text)`` triples; blank lines are skipped."""

    def records() -> Iterator[Record]:
        for source, number, data in lines:
            if not data.strip():
                continue
            yield (source, number, data, None)

    return parse_records(records(), vocab, seed)

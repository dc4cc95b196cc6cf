"""Events: decoding JSON Lines against the vocabulary, and checking references between them.

Checking is in two steps so that a store can reuse the second with what it already holds:

1. :func:`decode_line` checks one line on its own (JSON, id, type, time with offset, fields and
   their types and allowed values);
2. :class:`ReferenceChecker` walks decoded events in time order and checks what they refer to
   (an earlier event of the right type, a person on the roster, an existing unit), and duplicates.

Nothing here opens a file: :func:`parse_event_lines` takes ``(source, line number, text)`` triples.
"""

from __future__ import annotations

import difflib
import hashlib
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from rulesengine.errors import Reject
from rulesengine.vocabulary import Vocabulary

RESERVED = ("id", "type", "at")


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted event. ``data`` holds its fields (defaults filled in)."""

    id: str
    type: str
    at: datetime
    data: Mapping[str, Any]
    source: str = ""
    line: int = 0

    def get(self, name: str, default: Any = None) -> Any:
        """A field's value."""
        return self.data.get(name, default)

    def canonical(self) -> bytes:
        """The event as sorted JSON with times as written: equal content, equal bytes."""
        doc = {"id": self.id, "type": self.type, "at": self.at.isoformat(), **self.data}
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS, default=str)

    def sha256(self) -> str:
        """The hash of :meth:`canonical`: equal content, equal hash."""
        return hashlib.sha256(self.canonical()).hexdigest()

    def sort_key(self) -> tuple[datetime, str]:
        """Events are processed in order of time, then id."""
        return (self.at, self.id)


class LineError(Exception):
    """A line failed a check; carries the code, field and reason of the reject."""

    def __init__(self, code: str, reason: str, field_name: str = "", hint: str = "") -> None:
        super().__init__(reason)
        self.code, self.reason, self.field, self.hint = code, reason, field_name, hint


def parse_time(value: Any, field_name: str) -> datetime:
    """An ISO-8601 timestamp with a UTC offset; raises :class:`LineError` otherwise."""
    if not isinstance(value, str):
        raise LineError("E305", f"expected a timestamp text, got {_kind(value)}", field_name)
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise LineError(
            "E305",
            f"'{value}' is not an ISO-8601 timestamp",
            field_name,
            "write e.g. 2023-05-03T09:30:00+08:00",
        ) from exc
    if at.tzinfo is None or at.utcoffset() is None:
        raise LineError(
            "E306",
            f"timestamp '{value}' has no UTC offset",
            field_name,
            "add the offset, e.g. +08:00 for Beijing time",
        )
    return at


def _kind(value: Any) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "a text",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"did you mean '{close[0]}'?" if close else ""


def decode_line(text: str | bytes, vocab: Vocabulary, source: str = "", line: int = 0) -> Event:
    """Check one JSON line against the vocabulary; raises :class:`LineError` when it is bad."""
    if isinstance(text, bytes):
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LineError(
                "E300",
                f"the line is not UTF-8 text (bad byte at position {exc.start})",
                hint="save the file as UTF-8",
            ) from exc
    try:
        doc = orjson.loads(text.strip())
    except orjson.JSONDecodeError as exc:
        raise LineError("E301", f"not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise LineError("E302", f"expected a JSON object, got {_kind(doc)}")
    return decode_object(doc, vocab, source, line)


def decode_object(doc: dict[str, Any], vocab: Vocabulary, source: str = "", line: int = 0) -> Event:
    """Check one event object (already parsed) against the vocabulary."""
    eid = doc.get("id")
    if not isinstance(eid, str) or not eid.strip():
        raise LineError("E303", "missing or empty 'id' (a unique text)", "id")
    etype = doc.get("type")
    if not isinstance(etype, str):
        raise LineError("E304", "missing 'type'", "type")
    spec = vocab.types.get(etype)
    if spec is None:
        raise LineError(
            "E304",
            f"unknown event type '{etype}'",
            "type",
            _suggest(etype, vocab.types) or "types: " + ", ".join(sorted(vocab.types)),
        )
    if "at" not in doc:
        raise LineError("E308", "missing field 'at'", "at")
    at = parse_time(doc["at"], "at")
    data: dict[str, Any] = {}
    for key, value in doc.items():
        if key in RESERVED:
            continue
        fs = spec.fields.get(key)
        if fs is None:
            raise LineError(
                "E307",
                f"unknown field '{key}' for type '{etype}'",
                key,
                _suggest(key, spec.fields) or "fields: " + ", ".join(spec.fields),
            )
        data[key] = _check_value(value, fs.type, fs.values, key)
    for fs in spec.fields.values():
        if fs.name not in data:
            if fs.required:
                raise LineError("E308", f"missing field '{fs.name}' for type '{etype}'", fs.name)
            if fs.default is not None:
                data[fs.name] = fs.default
    return Event(eid, etype, at, data, source, line)


def _check_value(value: Any, ftype: str, values: tuple[str, ...], name: str) -> Any:
    if ftype in ("text", "person", "unit", "event", "new_person", "new_unit", "enum"):
        if not isinstance(value, str) or (ftype != "text" and not value.strip()):
            raise LineError("E309", f"expected a text, got {_kind(value)}", name)
        if ftype == "enum" and value not in values:
            raise LineError(
                "E310",
                f"'{value}' is not one of: {', '.join(values)}",
                name,
                _suggest(value, values),
            )
        return value
    if ftype == "bool":
        if not isinstance(value, bool):
            raise LineError("E309", f"expected true or false, got {_kind(value)}", name)
        return value
    if ftype == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise LineError("E309", f"expected a whole number, got {_kind(value)}", name)
        return value
    if ftype == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LineError("E309", f"expected a number, got {_kind(value)}", name)
        return value
    if ftype == "timestamp":
        return parse_time(value, name)
    if ftype == "persons":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise LineError("E309", "expected a non-empty list of person ids", name)
        return tuple(value)
    raise LineError("E309", f"unsupported field type '{ftype}'", name)  # pragma: no cover


@dataclass(slots=True)
class ReferenceChecker:
    """Checks references and duplicates, event by event in time order.

    Seed it with what a store already holds (:meth:`remember` for roster events, :meth:`known`
    for others), then :meth:`check` each new event.
    """

    vocab: Vocabulary
    events: dict[str, tuple[str, datetime, str]] = field(default_factory=dict)  # type, at, sha
    units: dict[str, datetime] = field(default_factory=dict)
    persons: dict[str, list[tuple[datetime, bool]]] = field(default_factory=dict)  # on roster?
    upcoming: dict[str, datetime] = field(default_factory=dict)  # ids later in the same batch

    def known(self, event_id: str, type_name: str, at: datetime, sha: str) -> None:
        """Record an event held elsewhere (a store) by id, type, time and content hash."""
        self.events[event_id] = (type_name, at, sha)

    def remember(self, ev: Event) -> None:
        """Record an accepted event so later ones may refer to it."""
        self.events[ev.id] = (ev.type, ev.at, ev.sha256())
        op = self.vocab.types[ev.type].roster
        if op == "create_unit":
            self.units[ev.data["unit"]] = ev.at
        elif op in ("join", "leave"):
            insort(self.persons.setdefault(ev.data["person"], []), (ev.at, op == "join"))

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
            if known[2] == ev.sha256():
                return False
            raise LineError(
                "E311",
                f"id '{ev.id}' was already used by a different event",
                "id",
                "give every event its own id; re-sending an identical event is fine",
            )
        spec = self.vocab.types[ev.type]
        for fs in spec.fields.values():
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
                        _suggest(value, self.units) or "create it with unit_created first",
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
        if ref is None and value in self.upcoming and self.upcoming[value] > ev.at:
            raise LineError(
                "E313",
                f"refers to event '{value}' which is later ({self.upcoming[value].isoformat()})",
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

    def summary(self) -> str:
        """``read N, accepted A, duplicates D, rejected R``."""
        return (
            f"read {self.read}, accepted {len(self.events)}, duplicates {self.duplicates}, "
            f"rejected {len(self.rejects)}"
        )


def _order(ev: Event, vocab: Vocabulary) -> tuple[datetime, int, str]:
    # At one instant: units are created first, then other roster changes, then ordinary events,
    # retractions last, so that references resolve.
    spec = vocab.types[ev.type]
    if spec.roster == "create_unit":
        rank = 0
    elif spec.roster:
        rank = 1
    else:
        rank = 3 if spec.voids else 2
    return (ev.at, rank, ev.id)


Record = tuple[str, int, "str | bytes | dict[str, Any]", str]
"""``(source, line, payload, raw text)``: payload is a JSON line or an already parsed object."""


def parse_records(
    records: Iterable[Record],
    vocab: Vocabulary,
    seed: Callable[[list[Event], ReferenceChecker], None] | None = None,
) -> Batch:
    """Decode and check records; ``seed`` may fill the checker (from a store) before checking."""
    batch = Batch()
    decoded: list[tuple[Event, str]] = []
    for source, number, payload, raw in records:
        batch.read += 1
        try:
            if isinstance(payload, dict):
                ev = decode_object(payload, vocab, source, number)
            else:
                ev = decode_line(payload, vocab, source, number)
            decoded.append((ev, raw))
        except LineError as exc:
            batch.rejects.append(
                Reject(source, number, raw, exc.code, exc.reason, exc.field, exc.hint)
            )
    refs = ReferenceChecker(vocab)
    decoded.sort(key=lambda pair: _order(pair[0], vocab))
    if seed is not None:
        seed([ev for ev, _ in decoded], refs)
    refs.upcoming = {ev.id: ev.at for ev, _ in decoded}
    for ev, raw in decoded:
        try:
            fresh = refs.check(ev)
        except LineError as exc:
            batch.rejects.append(
                Reject(ev.source, ev.line, raw, exc.code, exc.reason, exc.field, exc.hint)
            )
            continue
        if not fresh:
            batch.duplicates += 1
            continue
        refs.remember(ev)
        batch.events.append(ev)
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
            text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
            yield (source, number, data, text.rstrip("\r\n"))

    return parse_records(records(), vocab, seed)

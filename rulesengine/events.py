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
from collections.abc import Iterable, Mapping
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

    Seed it with what a store already holds (:meth:`remember`), then :meth:`check` each new event.
    """

    vocab: Vocabulary
    events: dict[str, tuple[str, datetime, bytes]] = field(default_factory=dict)
    units: dict[str, datetime] = field(default_factory=dict)
    persons: dict[str, bool] = field(default_factory=dict)  # person -> on the roster now
    upcoming: dict[str, datetime] = field(default_factory=dict)  # ids later in the same batch
    upcoming_persons: dict[str, datetime] = field(default_factory=dict)  # joins later in the batch

    def remember(self, ev: Event) -> None:
        """Record an accepted event so later ones may refer to it."""
        self.events[ev.id] = (ev.type, ev.at, ev.canonical())
        op = self.vocab.types[ev.type].roster
        if op == "create_unit":
            self.units[ev.data["unit"]] = ev.at
        elif op == "join":
            self.persons[ev.data["person"]] = True
        elif op == "leave":
            self.persons[ev.data["person"]] = False

    def check(self, ev: Event) -> bool:
        """Raise :class:`LineError` if ``ev`` is bad; return False for an identical duplicate."""
        known = self.events.get(ev.id)
        if known is not None:
            if known[2] == ev.canonical():
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
                ref = self.events.get(value)
                if ref is None and value in self.upcoming and self.upcoming[value] > ev.at:
                    raise LineError(
                        "E313",
                        f"refers to event '{value}' which is later "
                        f"({self.upcoming[value].isoformat()})",
                        fs.name,
                        "an event can only refer to an earlier one",
                    )
                if ref is None:
                    raise LineError(
                        "E312",
                        f"refers to unknown event '{value}'",
                        fs.name,
                        "the referenced event must come first (or was rejected)",
                    )
                if ref[1] > ev.at:
                    raise LineError(
                        "E313",
                        f"refers to event '{value}' which is later ({ref[1].isoformat()})",
                        fs.name,
                    )
                if fs.of and ref[0] not in fs.of:
                    raise LineError(
                        "E314",
                        f"refers to a '{ref[0]}' event; expected " + " or ".join(fs.of),
                        fs.name,
                    )
            elif fs.type in ("person", "persons"):
                for pid in value if isinstance(value, tuple) else (value,):
                    if pid not in self.persons:
                        later = self.upcoming_persons.get(pid)
                        raise LineError(
                            "E315",
                            f"person '{pid}' is not on the roster"
                            + (f" yet (joins {later.isoformat()})" if later else ""),
                            fs.name,
                            "import the roster (person_joined) first",
                        )
                    if not self.persons[pid]:
                        raise LineError("E315", f"person '{pid}' has left the roster", fs.name)
            elif fs.type == "unit":
                if value not in self.units:
                    raise LineError(
                        "E316",
                        f"unit '{value}' does not exist",
                        fs.name,
                        _suggest(value, self.units) or "create it with unit_created first",
                    )
            elif fs.type == "new_unit" and value in self.units:
                raise LineError("E317", f"unit '{value}' already exists", fs.name)
            elif fs.type == "new_person" and self.persons.get(value):
                raise LineError(
                    "E317",
                    f"person '{value}' is already on the roster",
                    fs.name,
                    "use person_moved or role_changed",
                )
        return True


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


def parse_event_lines(
    lines: Iterable[tuple[str, int, str | bytes]],
    vocab: Vocabulary,
    checker: ReferenceChecker | None = None,
) -> Batch:
    """Decode and check ``(source, line number, text)`` triples; blank lines are skipped."""
    batch = Batch()
    decoded: list[tuple[Event, str]] = []
    for source, number, data in lines:
        if not data.strip():
            continue
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        batch.read += 1
        try:
            decoded.append((decode_line(data, vocab, source, number), text))
        except LineError as exc:
            batch.rejects.append(
                Reject(source, number, text.rstrip("\n"), exc.code, exc.reason, exc.field, exc.hint)
            )
    refs = checker or ReferenceChecker(vocab)
    decoded.sort(key=lambda pair: _order(pair[0], vocab))
    refs.upcoming = {ev.id: ev.at for ev, _ in decoded}
    refs.upcoming_persons = {}
    for ev, _ in decoded:
        if vocab.types[ev.type].roster == "join":
            refs.upcoming_persons.setdefault(ev.data["person"], ev.at)
    for ev, text in decoded:
        try:
            fresh = refs.check(ev)
        except LineError as exc:
            batch.rejects.append(
                Reject(
                    ev.source, ev.line, text.rstrip("\n"), exc.code, exc.reason, exc.field, exc.hint
                )
            )
            continue
        if not fresh:
            batch.duplicates += 1
            continue
        refs.remember(ev)
        batch.events.append(ev)
    batch.rejects.sort(key=lambda r: (r.source, r.line))
    return batch

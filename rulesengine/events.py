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
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar, dataclass_transform

import orjson

from rulesengine.vocabulary import Vocabulary

RESERVED = frozenset(("id", "type", "at"))
MAX_ID_LENGTH = 200  # ids and references are stored in columns of this size
_TEXTS = frozenset(("text", "person", "unit", "event", "new_person", "new_unit"))


_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def _checked_frozen(cls: type[_T]) -> type[_T]:
    """A slots dataclass that type checkers treat as frozen (mypy rejects any assignment to a
    field) but that is built with plain assignments: a frozen dataclass's ``__init__`` sets each
    field through ``object.__setattr__``, which doubles the cost of making a million events
    (decision 26)."""
    return dataclass(slots=True)(cls)


@_checked_frozen
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

    def digest(self) -> bytes:
        """The SHA-256 of :meth:`canonical`: equal content, equal digest."""
        return hashlib.sha256(self.canonical()).digest()

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
    if at.tzinfo is None:
        raise LineError(
            "E306",
            f"timestamp '{value}' has no UTC offset",
            field_name,
            "add the offset, e.g. +08:00 for Beijing time",
        )
    return in_shared_zone(at)


def in_shared_zone(at: datetime) -> datetime:
    """``at`` with the one time zone object of its UTC offset (see ``_ZONES``)."""
    zone = at.tzinfo
    shared = _ZONES.setdefault(zone, zone)
    return at if shared is zone else at.replace(tzinfo=shared)


def in_offset_zone(at: datetime) -> datetime:
    """The instant ``at`` in the shared zone of its UTC offset (a period's bounds, say, which are
    in a named zone): comparing it with event times then skips the offset arithmetic, about ten
    times faster. Only for comparing: a named zone's later offsets (summer time) are not kept."""
    offset = at.utcoffset()
    if offset is None:
        return at
    return in_shared_zone(at.replace(tzinfo=timezone(offset)))


# One time zone object per UTC offset for all events: a million events would otherwise hold a
# million equal zone objects (72 MB), and comparing two times whose zones are the same object
# skips the offset arithmetic (sorting, bisecting). Bounded by the offsets in use.
_ZONES: dict[Any, Any] = {}


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


def suggest(word: str, options: Iterable[str]) -> str:
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
    if len(eid) > MAX_ID_LENGTH:
        raise LineError(
            "E303", f"'id' is longer than {MAX_ID_LENGTH} characters", "id", "use a shorter id"
        )
    etype = doc.get("type")
    if not isinstance(etype, str):
        raise LineError("E304", "missing 'type'", "type")
    spec = vocab.types.get(etype)
    if spec is None:
        raise LineError(
            "E304",
            f"unknown event type '{etype}'",
            "type",
            suggest(etype, vocab.types) or "types: " + ", ".join(sorted(vocab.types)),
        )
    if "at" not in doc:
        raise LineError("E308", "missing field 'at'", "at")
    at = parse_time(doc["at"], "at")
    data: dict[str, Any] = {}
    fields = spec.fields
    for key, value in doc.items():
        if key in RESERVED:
            continue
        fs = fields.get(key)
        # Fast paths for the common, valid cases; everything else goes through _check_value,
        # which also produces the error messages.
        if fs is not None and type(value) is str:
            t = fs.type
            if t == "enum":
                if value in fs.values:
                    data[key] = value
                    continue
            elif t in _TEXTS and (t == "text" or value.strip()):
                data[key] = value
                continue
        elif fs is not None and type(value) is bool and fs.type == "bool":
            data[key] = value
            continue
        if fs is None:
            raise LineError(
                "E307",
                f"unknown field '{key}' for type '{etype}'",
                key,
                suggest(key, spec.fields) or "fields: " + ", ".join(spec.fields),
            )
        data[key] = _check_value(value, fs.type, fs.values, key)
    if len(data) < len(fields):
        for fs in fields.values():
            if fs.name not in data:
                if fs.required:
                    raise LineError(
                        "E308", f"missing field '{fs.name}' for type '{etype}'", fs.name
                    )
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
                suggest(value, values),
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
        if isinstance(value, Decimal):  # from YAML (test cases): one representation, as JSON
            return float(value)
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


_TIME, _PERSONS = range(2)
_ABSENT = object()
_EXACT_FLOAT_MICROS = 4_102_444_800_000_000  # 2100-01-01: below, float seconds are exact


class TrustedDecoder:
    """Turns documents that were checked when they were stored (their canonical form) into
    events: only converts what JSON cannot hold (timestamps, person lists); no checks. Never use
    it on input from outside the store: :func:`decode_object` is for that.

    With ``keep_text``, text fields of non-roster events not named in it are dropped (an
    evaluation reads only the fields its rules name). Repeated values (types, enums, person and
    unit ids, time zones) are shared, to save memory: a million events hold one time zone object
    per distinct UTC offset, not one each. ``share=False`` leaves field values unshared in
    :meth:`rows` (for a month's events, where the memory saved is small and the time is not).
    """

    def __init__(
        self, vocab: Vocabulary, keep_text: frozenset[str] | None = None, share: bool = True
    ) -> None:
        # per type: its shared name, then the fields to share, to drop, and to convert
        self.plans: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], Any]] = {}
        for name, spec in vocab.types.items():
            shared: list[str] = []
            dropped: list[str] = []
            converted: list[tuple[str, int]] = []
            for fname, fs in spec.fields.items():
                if fs.type == "timestamp":
                    converted.append((fname, _TIME))
                elif fs.type == "persons":
                    converted.append((fname, _PERSONS))
                elif fs.type in _SHARED:
                    if share:
                        shared.append(fname)
                elif fs.type == "text" and keep_text is not None and spec.roster is None:
                    if fname not in keep_text:
                        dropped.append(fname)
            self.plans[name] = (sys.intern(name), tuple(shared), tuple(dropped), tuple(converted))
        self.zones: dict[str, Any] = {}  # offset text: the shared zone
        self.shared: dict[str, str] = {}  # shared field values (interned)

    def _time(self, text: str, micros: int | None = None) -> datetime:
        """``text`` as an aware time; with ``micros`` (the same instant, microseconds since
        1970 UTC, as the store keeps it) in the shared zone of its offset without parsing.
        (From a float of seconds: exact to the microsecond for 1970-2099, where a double's
        rounding error stays under half a microsecond.)"""
        zone = self.zones.get(text[-6:])
        if zone is not None and micros is not None and 0 <= micros < _EXACT_FLOAT_MICROS:
            return datetime.fromtimestamp(micros / 1e6, zone)
        at = in_shared_zone(datetime.fromisoformat(text))
        if zone is None and text[-6] in "+-":
            self.zones[text[-6:]] = at.tzinfo
        return at

    def rows(self, rows: Iterable[tuple[str | bytes, int]]) -> list[Event]:
        """The events of stored rows ``(body, at_us)``, in one loop with each type's steps split
        by kind (a province's year is a million rows). The events keep
        neither source file nor line: no rule reads them, and a million of each cost time to
        read and memory to hold."""
        plans, zones, shared = self.plans, self.zones, self.shared
        loads, intern, from_ts = orjson.loads, sys.intern, datetime.fromtimestamp
        out: list[Event] = []
        append = out.append
        for body, us in rows:
            doc = loads(body)
            eid = doc.pop("id")
            etype, interns, drops, slow = plans[doc.pop("type")]
            text = doc.pop("at")
            zone = zones.get(text[-6:])
            if zone is not None and 0 <= us < _EXACT_FLOAT_MICROS:
                at = from_ts(us / 1e6, zone)
            else:
                at = self._time(text, us)
            for name in interns:
                value = doc.get(name)
                if value.__class__ is str:
                    found = shared.get(value)  # a small dict of its own: hotter than intern's
                    if found is None:
                        found = shared[value] = intern(value)
                    doc[name] = found
            for name in drops:
                doc.pop(name, None)
            for name, how in slow:
                value = doc.get(name, _ABSENT)
                if value is not _ABSENT:
                    doc[name] = (
                        self._time(value) if how == _TIME else tuple(intern(v) for v in value)
                    )
            append(Event(eid, etype, at, doc))
        return out


_SHARED = frozenset(("enum", "person", "unit"))

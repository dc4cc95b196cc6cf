"""The event vocabulary: event types, their fields and allowed values, declared in YAML.

The engine knows a few generic field types (text, enum, bool, numbers, timestamps, references to
persons, units and earlier events) and five roster operations; everything else (which types
exist, which fields, which categories or levels) comes from the vocabulary file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rulesengine.errors import Collector, PolicyError
from rulesengine.schema_check import check_against_schema
from rulesengine.yamlsrc import load_yaml

ROSTER_FIELDS: dict[str, tuple[str, ...]] = {
    "create_unit": ("unit", "name", "kind", "parent"),
    "join": ("person", "name", "unit", "role"),
    "move": ("person", "unit"),
    "change_role": ("person", "role"),
    "leave": ("person",),
}
"""The fields each roster operation reads (``parent`` may be absent)."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of an event type."""

    name: str
    type: str
    values: tuple[str, ...] = ()
    of: tuple[str, ...] = ()
    required: bool = True
    default: Any = None
    label: str = ""
    value_labels: dict[str, str] = field(default_factory=dict)  # label -> value


@dataclass(frozen=True, slots=True)
class EventType:
    """One event type: its fields, and its role for the roster, retractions and credit."""

    name: str
    label: str
    fields: dict[str, FieldSpec]
    roster: str | None = None
    voids: str | None = None
    credit: str | None = None


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """All event types of one vocabulary file."""

    name: str
    types: dict[str, EventType]
    path: str
    sha256: str
    column_labels: dict[str, str] = field(default_factory=dict)  # id/type/at -> header label
    true_words: tuple[str, ...] = ()
    false_words: tuple[str, ...] = ()

    def ranks(self) -> dict[str, int]:
        """Order of event types at one instant, so that what is referred to comes first.

        Units are created first, then people join, then other roster changes, then events by
        depth of reference (a submission before the adoption that refers to it), and events that
        may refer to anything (retractions) last.
        """
        roster = {"create_unit": 0, "join": 1, "move": 2, "change_role": 2, "leave": 3}
        depth: dict[str, int] = {}

        def depth_of(name: str, seen: frozenset[str]) -> int:
            if name in depth:
                return depth[name]
            refs = [f for f in self.types[name].fields.values() if f.type == "event"]
            if any(not f.of for f in refs) or name in seen:
                d = 1000
            else:
                d = max((depth_of(o, seen | {name}) + 1 for f in refs for o in f.of), default=0)
            depth[name] = d
            return d

        out = {}
        for name, spec in self.types.items():
            out[name] = roster[spec.roster] if spec.roster else 10 + depth_of(name, frozenset())
        return out

    def values_of(self, type_name: str, field_name: str) -> tuple[str, ...]:
        """The allowed values of an enum field (empty when not an enum)."""
        spec = self.types[type_name].fields.get(field_name)
        return spec.values if spec else ()


def load_vocabulary(path: str | Path, display: str | None = None) -> Vocabulary:
    """Read and check a vocabulary file; raises :class:`PolicyError` listing every problem."""
    p = Path(path)
    shown = display or str(path)
    problems = Collector(shown)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{shown}: cannot read the vocabulary: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{shown}: the vocabulary is not UTF-8 (byte {exc.start})") from exc
    data, smap = load_yaml(text, shown, problems)
    if data is not None and check_against_schema(data, "vocabulary", smap, problems):
        types = _build(data, smap, problems)
    else:
        types = {}
    if problems.errors:
        raise PolicyError(f"{shown}: invalid vocabulary", problems.items)
    tables = data.get("tables", {}) if data else {}
    return Vocabulary(
        str(data.get("name", p.stem)),
        types,
        shown,
        hashlib.sha256(raw).hexdigest(),
        dict(tables.get("columns", {})),
        tuple(tables.get("true_words", ())),
        tuple(tables.get("false_words", ())),
    )


def _build(data: dict[str, Any], smap: Any, problems: Collector) -> dict[str, EventType]:
    types: dict[str, EventType] = {}
    for tname, tdef in data["types"].items():
        fields = {
            fname: FieldSpec(
                fname,
                f["type"],
                tuple(f.get("values", ())),
                tuple(f.get("of", ())),
                bool(f.get("required", True)),
                f.get("default"),
                f.get("label", ""),
                {label: value for value, label in f.get("value_labels", {}).items()},
            )
            for fname, f in tdef["fields"].items()
        }
        types[tname] = EventType(
            tname,
            tdef.get("label", tname),
            fields,
            tdef.get("roster"),
            tdef.get("voids"),
            tdef.get("credit"),
        )
    for et in types.values():
        line, col = smap.where(("types", et.name))
        for fs in et.fields.values():
            if fs.type == "enum" and not fs.values:
                problems.error("E120", f"enum field '{et.name}.{fs.name}' needs values", line, col)
            for other in fs.of:
                if other not in types:
                    problems.error(
                        "E121",
                        f"field '{et.name}.{fs.name}' refers to unknown type '{other}'",
                        line,
                        col,
                    )
        if et.roster:
            needed = [f for f in ROSTER_FIELDS[et.roster] if f != "parent"]
            for f in needed:
                if f not in et.fields:
                    problems.error(
                        "E122",
                        f"roster type '{et.name}' ({et.roster}) needs a field '{f}'",
                        line,
                        col,
                    )
        if (
            et.credit
            and et.credit in et.fields
            and et.fields[et.credit].type not in ("person", "unit", "event")
        ):
            problems.error(
                "E124",
                f"'{et.name}' credits its field '{et.credit}', which is a "
                f"{et.fields[et.credit].type}",
                line,
                col,
                "credit a person, a unit or an event field",
            )
        for key in (et.voids, et.credit):
            if key and key not in et.fields:
                problems.error(
                    "E123", f"'{et.name}' names field '{key}' which it does not have", line, col
                )
    return types

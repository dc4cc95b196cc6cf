"""Input formats around the event format: JSON Lines, CSV and XLSX tables, and roster files.

Everything here turns a file into records ``(source, line, payload, raw)`` for
:func:`rulesengine.events.parse_records`, so every format gets the same checks and rejects.

Tables (CSV, XLSX): one event per row; the header names the columns ``id``, ``type``, ``at`` and
the fields of the vocabulary. A header may also be a field's ``label`` from the vocabulary (the
Chinese name users write, e.g. 作者), the ``type`` column may hold a type's label, and an enum cell
may hold a value's label. Empty cells are absent fields. Cells are converted by the field's type
(bool: true/false/1/0 or the vocabulary's ``true_words``/``false_words``; integer; number; persons:
ids separated by ``;``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from rulesengine.errors import Collector, EventError
from rulesengine.intake import Record
from rulesengine.vocabulary import Vocabulary
from rulesengine.yamlsrc import load_yaml

FORMATS = ("jsonl", "csv", "xlsx")


def detect_format(path: str | Path) -> str:
    """``jsonl``, ``csv`` or ``xlsx`` from the file name (``.json`` counts as JSON Lines)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in ("jsonl", "json", "ndjson"):
        return "jsonl"
    if suffix in ("csv", "xlsx"):
        return suffix
    raise EventError(f"{path}: unknown file type '.{suffix}'; use .jsonl, .csv or .xlsx")


def read_records(path: str | Path, vocab: Vocabulary) -> Iterator[Record]:
    """The records of an event file of any supported format."""
    fmt = detect_format(path)
    if fmt == "jsonl":
        return _jsonl(path)
    if fmt == "csv":
        return _table(str(path), _csv_rows(path), vocab)
    return _table(str(path), _xlsx_rows(path), vocab)


def _open_error(path: str | Path, exc: OSError) -> EventError:
    return EventError(f"{path}: cannot read: {exc.strerror or exc}")


def _jsonl(path: str | Path) -> Iterator[Record]:
    try:
        fh = Path(path).open("rb")
    except OSError as exc:
        raise _open_error(path, exc) from exc
    with fh:
        for number, data in enumerate(fh, start=1):
            if data.strip():
                raw = data.decode("utf-8", errors="replace").rstrip("\r\n")
                yield (str(path), number, data, raw)


def _csv_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise _open_error(path, exc) from exc
    except UnicodeDecodeError as exc:
        raise EventError(f"{path}: not UTF-8 text (save the table as CSV UTF-8)") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    for row in reader:
        yield reader.line_num, row


def _xlsx_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(str(path), read_only=True, data_only=True)
    except OSError as exc:
        raise _open_error(path, exc) from exc
    except Exception as exc:  # openpyxl raises several kinds for a damaged file
        raise EventError(
            f"{path}: not a readable .xlsx workbook ({exc.__class__.__name__})"
        ) from exc
    sheet = book.worksheets[0]
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield number, ["" if v is None else _cell_text(v) for v in values]
    book.close()


def _cell_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header_map(vocab: Vocabulary) -> dict[str, str]:
    names = {"id": "id", "type": "type", "at": "at"}
    for reserved, label in vocab.column_labels.items():
        names[label] = reserved
    for et in vocab.types.values():
        for fs in et.fields.values():
            names.setdefault(fs.name, fs.name)
            if fs.label:
                names.setdefault(fs.label, fs.name)
    return names


def _table(
    source: str, rows: Iterator[tuple[int, list[str]]], vocab: Vocabulary
) -> Iterator[Record]:
    headers: list[str] | None = None
    names = _header_map(vocab)
    type_by_label = {et.label: et.name for et in vocab.types.values()}
    for number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if headers is None:
            headers = [names.get(h.strip(), h.strip()) for h in row]
            continue
        raw = ",".join(row)
        doc: dict[str, Any] = {}
        for name, cell in zip(headers, row, strict=False):
            cell = cell.strip()
            if cell and name:
                doc[name] = cell
        if "type" in doc:
            doc["type"] = type_by_label.get(doc["type"], doc["type"])
        spec = vocab.types.get(doc.get("type", ""))
        if spec is not None:
            for name, value in list(doc.items()):
                fs = spec.fields.get(name)
                if fs is not None:
                    doc[name] = _convert(value, fs.type, fs.value_labels, vocab)
        yield (source, number, doc, raw)


def _convert(value: str, ftype: str, value_labels: dict[str, str], vocab: Vocabulary) -> Any:
    if ftype == "enum":
        return value_labels.get(value, value)
    if ftype == "bool":
        low = value.lower()
        if low in ("true", "1") or value in vocab.true_words:
            return True
        if low in ("false", "0") or value in vocab.false_words:
            return False
        return value  # left as text: the decoder rejects it with the field named
    if ftype in ("integer", "number"):
        try:
            number = float(value) if ftype == "number" and "." in value else int(value)
        except ValueError:
            return value
        return number
    if ftype == "persons":
        return [p.strip() for p in value.replace("；", ";").split(";") if p.strip()]
    return value


# -- roster files -------------------------------------------------------------------------------


def roster_records(path: str | Path, vocab: Vocabulary, at: str | None = None) -> Iterator[Record]:
    """Roster events from a YAML file (``at``, ``units``, ``people``) or a CSV of units or people.

    Each unit becomes a ``create_unit`` event and each person a ``join`` event of the vocabulary,
    with ids ``roster-unit-<id>`` and ``roster-person-<id>-<at>``, so re-importing the same roster
    is a no-op.
    """
    create = next((t.name for t in vocab.types.values() if t.roster == "create_unit"), None)
    join = next((t.name for t in vocab.types.values() if t.roster == "join"), None)
    if create is None or join is None:
        raise EventError("the vocabulary has no create_unit and join roster types")
    p = Path(path)
    source = str(path)
    try:
        text = p.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EventError(f"{path}: cannot read the roster: {exc}") from exc
    if p.suffix.lower() in (".yaml", ".yml"):
        problems = Collector(source)
        data, _ = load_yaml(text, source, problems)
        if problems.errors or not isinstance(data, dict):
            found = "; ".join(d.format() for d in problems.errors)
            raise EventError(
                f"{path}: not a roster file: {found or 'expected at:, units:, people:'}"
            )
        when = str(data.get("at") or at or "")
        units = [(i, u) for i, u in enumerate(data.get("units") or [], start=1)]
        people = [(i, u) for i, u in enumerate(data.get("people") or [], start=1)]
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = [(reader.line_num, dict(r)) for r in reader]
        when = at or ""
        is_people = "role" in (reader.fieldnames or [])
        units = [] if is_people else rows
        people = rows if is_people else []
    if not when:
        raise EventError(f"{path}: say when the roster takes effect (`at:` in the file, or --at)")
    for number, unit in units:
        doc = {
            "id": f"roster-unit-{unit.get('id')}",
            "type": create,
            "at": when,
            "unit": unit.get("id"),
            "name": unit.get("name") or unit.get("id"),
            "kind": unit.get("kind"),
        }
        if unit.get("parent"):
            doc["parent"] = unit["parent"]
        yield (source, number, doc, orjson.dumps(unit).decode())
    for number, person in people:
        doc = {
            "id": f"roster-person-{person.get('id')}-{when}",
            "type": join,
            "at": when,
            "person": person.get("id"),
            "name": person.get("name") or person.get("id"),
            "unit": person.get("unit"),
            "role": person.get("role"),
        }
        yield (source, number, doc, orjson.dumps(person).decode())


def write_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """CSV text of ``rows`` (for examples and tests)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in columns})
    return out.getvalue()

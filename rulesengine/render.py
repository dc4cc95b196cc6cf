"""Render results: canonical JSON for programs, aligned tables for people.

The JSON is written by :func:`canonical_json`: keys sorted, no insignificant whitespace choices
left to chance, UTF-8 text unescaped, and exact decimals written as JSON numbers (7.5, never
7.4999999), so two runs of the same evaluation are byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from wcwidth import wcswidth

from rulesengine.gcpause import collector_paused
from rulesengine.results import Result


def decimal_text(d: Decimal) -> str:
    """An exact decimal without exponent or trailing zeros: 15, 7.5, 0.6667."""
    if d == 0:
        return "0"
    text = format(d.normalize(), "f")
    return text


def compact_json(value: Any) -> str:
    """Deterministic JSON on one line (``{"a": 1, "b": [2, 3]}``), for tables and messages."""
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(
                f"{json.dumps(str(k), ensure_ascii=False)}: {compact_json(value[k])}"
                for k in sorted(value, key=str)
            )
            + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(compact_json(v) for v in value) + "]"
    return canonical_json(value)


def canonical_json(value: Any, indent: int = 2, _level: int = 0) -> str:
    """Deterministic JSON: sorted keys, exact decimals as numbers, Chinese kept as is."""
    pad = " " * (indent * (_level + 1))
    end = " " * (indent * _level)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{pad}{json.dumps(str(k), ensure_ascii=False)}: "
            f"{canonical_json(value[k], indent, _level + 1)}"
            for k in sorted(value, key=str)
        ]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [pad + canonical_json(v, indent, _level + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + end + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return decimal_text(Decimal(repr(value)))
    if isinstance(value, datetime):
        return json.dumps(value.isoformat())
    return json.dumps(str(value), ensure_ascii=False)


def result_document(result: Result, explain: bool = False) -> dict[str, Any]:
    """The JSON contract of one evaluation as plain data (see docs/output.md)."""
    doc: dict[str, Any] = {
        "period": {
            "id": result.period,
            "kind": result.period_kind,
            "timezone": result.timezone,
            "start": result.start,
            "end": result.end,
        },
        "policy": {
            "family": result.policy.family,
            "version": result.policy.version,
            "sha256": result.policy.sha256,
        },
        "policies_used": [
            {"family": p.family, "version": p.version, "sha256": p.sha256}
            for p in result.policies_used
        ],
        "scores": [],
        "rankings": [],
        "actions": [],
        "payments": [],
        "warnings": [
            {"code": w.code, "message": w.message, "rule": w.rule, "event": w.event}
            for w in result.warnings
        ],
        "events": {"considered": result.events_considered, "void": result.events_void},
    }
    for s in result.scores:
        row: dict[str, Any] = {
            "rule": s.rule,
            "subject": s.subject,
            "subject_kind": s.subject_kind,
            "points": s.points,
        }
        if explain:
            row["contributions"] = [
                {"event": c.event, "month": c.month, "points": c.points, **c.detail}
                for c in s.contributions
            ]
        doc["scores"].append(row)
    for r in result.rankings:
        doc["rankings"].append(
            {
                "rule": r.rule,
                "subject": r.subject,
                "rank": r.rank,
                "points": r.points,
                "tier": r.tier,
            }
        )
    for a in result.actions:
        row = {
            "id": a.id,
            "action": a.action,
            "label": a.label,
            "rule": a.rule,
            "period": a.period,
            "subject": a.subject,
            "subject_kind": a.subject_kind,
            "target": a.target,
            "evidence": a.evidence,
        }
        if explain:
            row["explanation"] = a.explanation
        doc["actions"].append(row)
    for p in result.payments:
        doc["payments"].append(
            {"rule": p.rule, "person": p.person, "amount": p.amount, "count": p.count}
        )
    if result.grades:
        doc["grades"] = [
            {
                "rule": g.rule,
                "subject": g.subject,
                "subject_kind": g.subject_kind,
                "points": g.points,
                "grade": g.grade,
                "vetoed": g.vetoed,
            }
            for g in result.grades
        ]
    return doc


@collector_paused()  # a year with explanations is millions of small containers, no cycles
def render_json(result: Result, explain: bool = False) -> str:
    """The evaluation as canonical JSON text (ends with a newline).

    Byte for byte what :func:`canonical_json` writes, serialised by orjson (a year of a province
    with explanations is hundreds of megabytes): :func:`_plain` turns exact decimals and floats
    into ready-written numbers, times into ISO text and keys into text; orjson sorts the keys,
    indents by two and escapes exactly as ``json.dumps(..., ensure_ascii=False)`` does."""
    plain = _plain(result_document(result, explain))
    return orjson.dumps(plain, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def _plain(value: Any) -> Any:
    """``value`` with only what orjson writes as :func:`canonical_json` would."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(k): _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return orjson.Fragment(decimal_text(value).encode())
    if isinstance(value, float):
        return orjson.Fragment(decimal_text(Decimal(repr(value))).encode())
    if isinstance(value, int):  # a subclass (bools were returned above)
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _width(text: str) -> int:
    w = wcswidth(text)
    return w if w >= 0 else len(text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, columns aligned by display width (Chinese counts double)."""
    sized = [[(c, _width(c)) for c in r] for r in (headers, *rows)]  # each cell measured once
    widths = [max(col) for col in zip(*([w for _, w in r] for r in sized), strict=True)]

    def line(cells: Sequence[tuple[str, int]]) -> str:
        return "  ".join(
            c + " " * (w - cw) for (c, cw), w in zip(cells, widths, strict=True)
        ).rstrip()

    out = [line(sized[0]), line([("-" * w, w) for w in widths])]
    out.extend(line(r) for r in sized[1:])
    return "\n".join(out)


def _name(result: Result, ident: str | None) -> str:
    if ident is None:
        return "(none)"
    name = result.names.get(ident)
    return f"{ident} {name}" if name and name != ident else ident


def render_table(result: Result, explain: bool = False) -> str:
    """The evaluation as text for people: ranking, scores, actions, warnings."""
    parts = [
        f"{result.policy.family} {result.policy.version}  period {result.period} "
        f"({result.start} .. {result.end})"
    ]
    if result.rankings:
        tiers = any(x.tier for x in result.rankings)
        for rule in sorted({r.rule for r in result.rankings}):
            rows = [
                [str(r.rank), _name(result, r.subject), decimal_text(r.points)]
                + ([r.tier or ""] if tiers else [])
                for r in result.rankings
                if r.rule == rule
            ]
            head = ["rank", "unit", "points"] + (["tier"] if tiers else [])
            parts.append(
                f"\n{result.labels.get('rule:' + rule, rule)} ({rule})\n" + table(head, rows)
            )
    several = len({s.rule for s in result.scores}) > 1

    def rule_cell(rule: str) -> list[str]:
        return [result.labels.get("rule:" + rule, rule)] if several else []

    persons = [s for s in result.scores if s.subject_kind == "person"]
    if persons:
        rows = [
            [*rule_cell(s.rule), _name(result, s.subject), decimal_text(s.points)] for s in persons
        ]
        head = ["rule"] * several + ["person", "points"]
        parts.append("\nPoints by person\n" + table(head, rows))
        if explain:
            for s in persons:
                for c in s.contributions:
                    parts.append(
                        f"  {s.subject}: {c.event} ({c.month}) -> {decimal_text(c.points)}"
                        f"  {compact_json(c.detail)}"
                    )
    units = [s for s in result.scores if s.subject_kind != "person"]
    if units and not result.rankings:
        rows = [
            [*rule_cell(s.rule), _name(result, s.subject), s.subject_kind, decimal_text(s.points)]
            for s in units
        ]
        head = ["rule"] * several + ["unit", "kind", "points"]
        parts.append("\nPoints by unit\n" + table(head, rows))
    rows = [
        [
            a.label,
            a.action,
            _name(result, a.subject),
            _name(result, a.target),
            compact_json(a.evidence),
        ]
        for a in result.actions
    ]
    parts.append(
        f"\nActions ({len(result.actions)})\n"
        + table(["action", "code", "subject", "target", "evidence"], rows)
    )
    if explain:
        for a in result.actions:
            parts.append(f"  {a.id} {a.action} {a.subject}: " + compact_json(a.explanation))
    if result.grades:
        rows = [
            [
                result.labels.get("rule:" + g.rule, g.rule),
                _name(result, g.subject),
                decimal_text(g.points),
                g.grade,
            ]
            for g in result.grades
        ]
        parts.append("\nGrades\n" + table(["rule", "subject", "points", "grade"], rows))
    if result.payments:
        rows = [
            [
                result.labels.get("rule:" + p.rule, p.rule),
                _name(result, p.person),
                decimal_text(p.amount),
                str(p.count),
            ]
            for p in result.payments
        ]
        parts.append("\nPayments\n" + table(["rule", "person", "amount", "paid items"], rows))
    if result.warnings:
        parts.append(
            "\nWarnings\n" + "\n".join(f"  {w.code}: {w.message}" for w in result.warnings)
        )
    return "\n".join(parts) + "\n"

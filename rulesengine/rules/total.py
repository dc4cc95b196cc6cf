"""Rule kinds that combine scores: ``total`` (a sum or average of other rules' scores, floored
and capped) and ``grade`` (a label from score bands, with an optional veto).

A total is computed for whatever period is evaluated, from its parts' scores over that period:

    - name: quarter_total
      kind: total
      parts: [base, deductions]       # rules giving scores: points, tally/share awards,
      floor: 0                        # deadline points, earlier totals
      cap: 120
      average: false                  # true: sum / number of scored items

A grade labels each subject of a score rule in the periods it lists; a subject with any score in
a ``vetoed_by`` rule in that period gets the ``veto_label`` instead (一票否决).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rulesengine.rules.common import BuildContext
from rulesengine.yamlsrc import Path

SCORE_KINDS = ("points", "tally", "share", "deadline", "total")


@dataclass(frozen=True, slots=True)
class TotalRule:
    """A checked ``total`` rule."""

    name: str
    label: str
    parts: tuple[str, ...]
    floor: Decimal | None
    cap: Decimal | None
    average: bool
    unit_kinds: tuple[str, ...]
    kind: str = "total"


@dataclass(frozen=True, slots=True)
class Band:
    """Scores of at least ``at_least`` (None: any score) get ``label``."""

    label: str
    at_least: Decimal | None


@dataclass(frozen=True, slots=True)
class GradeRule:
    """A checked ``grade`` rule."""

    name: str
    label: str
    score: str
    periods: tuple[str, ...]
    bands: tuple[Band, ...]
    vetoed_by: tuple[str, ...]
    veto_label: str
    kind: str = "grade"

    def grade_of(self, points: Decimal) -> str:
        """The label of the first band the score reaches."""
        for band in self.bands:
            if band.at_least is None or points >= band.at_least:
                return band.label
        return ""


def _check_rules(raw_names: list[str], path: Path, ctx: BuildContext, key: str, upto: int) -> bool:
    ok = True
    for i, name in enumerate(raw_names):
        if ctx.rule_names.get(name) not in SCORE_KINDS:
            ctx.error(
                (*path, key, i),
                "E181",
                f"'{name}' is not a rule that gives scores",
                "name a points, tally (with award), share, deadline or total rule",
            )
            ok = False
        elif ctx.rule_order.get(name, upto) >= upto:
            ctx.error(
                (*path, key, i),
                "E182",
                f"'{name}' comes after this rule",
                "list the parts before the rule that combines them",
            )
            ok = False
    return ok


def build_total(raw: dict[str, Any], path: Path, ctx: BuildContext) -> TotalRule | None:
    """Build a total rule from its checked YAML mapping."""
    if not _check_rules(raw["parts"], path, ctx, "parts", ctx.rule_order[raw["name"]]):
        return None
    floor = Decimal(str(raw["floor"])) if "floor" in raw else None
    cap = Decimal(str(raw["cap"])) if "cap" in raw else None
    return TotalRule(
        raw["name"],
        raw.get("label", ""),
        tuple(raw["parts"]),
        floor,
        cap,
        bool(raw.get("average", False)),
        tuple(raw.get("unit_kinds", ())),
    )


def build_grade(raw: dict[str, Any], path: Path, ctx: BuildContext) -> GradeRule | None:
    """Build a grade rule from its checked YAML mapping."""
    ok = _check_rules([raw["score"]], (*path, "score_list"), ctx, "score", 10**6)
    ok &= _check_rules(raw.get("vetoed_by", []), path, ctx, "vetoed_by", 10**6)
    bands = tuple(
        Band(b["label"], Decimal(str(b["at_least"])) if "at_least" in b else None)
        for b in raw["bands"]
    )
    if not ok:
        return None
    return GradeRule(
        raw["name"],
        raw.get("label", ""),
        raw["score"],
        tuple(raw["periods"]),
        bands,
        tuple(raw.get("vetoed_by", ())),
        raw.get("veto_label", ""),
    )


def combine(rule: TotalRule, parts: list[tuple[Decimal, int]]) -> tuple[Decimal, dict[str, Any]]:
    """A subject's total from its parts' ``(points, number of scored items)``."""
    points = sum((p for p, _ in parts), Decimal(0))
    items = sum(n for _, n in parts)
    detail: dict[str, Any] = {"sum": points, "items": items}
    if rule.average:
        points = points / items if items else Decimal(0)
        detail["average"] = points
    if rule.floor is not None and points < rule.floor:
        points = rule.floor
        detail["floored_at"] = rule.floor
    if rule.cap is not None and points > rule.cap:
        points = rule.cap
        detail["capped_at"] = rule.cap
    return points, detail

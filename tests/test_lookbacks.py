"""Look-backs and repeated inputs, at the edges a faster path could get wrong.

Each case was found by review of a speed-up and is computed by hand here:

- a quarterly tally's ``first_day`` is the earliest day of month among its events (27 January
  and 3 February give 3, not 27, although 27 January comes first);
- a streak reaches back into a policy version whose time zone differs from the evaluated one's;
- an expression evaluated for many distinct inputs leaves no evaluator behind (evaluation runs
  with the cyclic collector paused, so a reference cycle per input would pile up).
"""

from __future__ import annotations

import gc
from datetime import UTC, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rulesengine.errors import Collector
from rulesengine.expressions import compile_expression
from rulesengine.periods import parse_period
from rulesengine.policy import load_policy_set
from rulesengine.rules.tally import _day_reader
from tests.conftest import Stream, copy_policies, edit


def test_quarterly_first_day_is_the_earliest_day_of_month(tmp_path: Path) -> None:
    family = copy_policies(tmp_path)
    edit(
        family / "2023.yaml",
        "    label: 报送及时性\n    period: month\n",
        "    label: 报送及时性\n    period: quarter\n",
    )
    policies = load_policy_set(family)
    stream = Stream()
    stream.department()
    stream.person("a", "s1")
    stream.submit("a", "2023-01-27T10:00")
    stream.submit("a", "2023-02-03T10:00", id="x2")
    result = stream.evaluate(policies, "2023-Q1")
    # first_day = min(27, 3) = 3, not above 25: no warning
    assert [a for a in result.actions if a.rule == "timeliness"] == []
    # and the late day alone does warn: only the 27 January piece
    stream.lines = [line for line in stream.lines if line["id"] != "x2"]
    warned = stream.evaluate(policies, "2023-Q1").actions
    assert [(a.rule, a.subject) for a in warned if a.rule == "timeliness"] == [("timeliness", "a")]


UNIT_PLANS = """
  - name: unit_plans
    kind: tally
    label: x
    period: month
    per: unit
    unit_kinds: [section]
    counts: {type: topic_plan}
    minimum: 1
    actions:
      - action: topic_plan_missing
        when: streak >= 3
        target: head of subject
"""


def test_streak_reaches_into_a_version_with_another_time_zone(tmp_path: Path) -> None:
    family = copy_policies(tmp_path)
    edit(family / "2023.yaml", "timezone: Asia/Shanghai\n", "timezone: UTC\n")
    for name in ("2023.yaml", "2024.yaml"):
        path = family / name
        path.write_text(path.read_text("utf-8").rstrip("\n") + "\n" + UNIT_PLANS, "utf-8")
    policies = load_policy_set(family)
    stream = Stream()
    stream.department("2023-12-01T03:00")  # 30 November 19:00 UTC: November under 2023's UTC
    stream.submit("h1", "2024-01-10T10:00")
    found = [a for a in stream.evaluate(policies, "2024-01").actions if a.rule == "unit_plans"]
    # each section below in November 2023 (UTC), December 2023 (UTC) and January 2024: 3
    assert [(a.action, a.subject, a.explanation["streak"]) for a in found] == [
        ("topic_plan_missing", "s1", 3),
        ("topic_plan_missing", "s2", 3),
    ]


def test_distinct_inputs_leave_no_evaluator_behind() -> None:
    import simpleeval

    expr = compile_expression(
        "count + 1 if category == 'problem' else count",
        {"category": "a text", "count": "a number"},
        Collector("policy.yaml"),
    )
    assert expr is not None
    gc.collect()
    gc.disable()  # as during an evaluation: only reference counting frees
    try:
        values = [expr.evaluate_values(("problem", n)) for n in range(200)]
        alive = sum(1 for o in gc.get_objects() if isinstance(o, simpleeval.SimpleEval))
    finally:
        gc.enable()
    assert values == [n + 1 for n in range(200)]
    assert alive == 0


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin", "America/Sao_Paulo"])
@pytest.mark.parametrize("period_id", ["2018-11", "2018-Q4", "2018", "2023-03", "2023-Q1"])
def test_day_of_month_matches_local_time_across_offset_changes(tz: str, period_id: str) -> None:
    # Sao Paulo's summer time began at midnight on 2018-11-04 (that day starts at 01:00);
    # Berlin's changes at 02:00 and 03:00. The reader bisects precomputed local midnights.
    period = parse_period(period_id)
    start, end = period.bounds(tz)
    day_of = _day_reader(period, tz)
    at, step = start, timedelta(minutes=97)
    checked = 0
    while at < end:
        for instant in (at, at.astimezone(UTC), at.astimezone(timezone(timedelta(hours=8)))):
            assert day_of(instant) == at.astimezone(ZoneInfo(tz)).day, instant
        at += step
        checked += 1
    assert checked > 400

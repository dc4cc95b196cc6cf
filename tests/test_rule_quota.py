"""Rules 2 (monthly quota), 3 (timeliness) and 4 (topic plans) of county-department, by hand.

Quota: 2 qualifying submissions (experience or problem, not retracted) per eligible person a month
in 2023, 3 in 2024; criticism_notice after 3 (2023) or 2 (2024) months below in a row.
"""

from __future__ import annotations

from typing import Any

import pytest

from rulesengine.policy import PolicySet
from rulesengine.results import Result
from tests.conftest import Stream

MAY = "2023-05-01T00:00"  # joining then: eligible in May, no earlier months to make a streak


def acts(result: Result, name: str) -> list[tuple[str, str | None]]:
    """(subject, target) of every action called ``name``, sorted."""
    return sorted((a.subject, a.target) for a in result.actions if a.action == name)


def subjects(result: Result, name: str) -> set[str]:
    return {a.subject for a in result.actions if a.action == name}


def busy(stream: Stream, month: str, n: int, *pids: str) -> None:
    """``n`` qualifying submissions for each person on the 2nd of ``month`` (e.g. 2023-05)."""
    for pid in pids:
        for _ in range(n):
            stream.submit(pid, f"{month}-02T10:00")


@pytest.mark.parametrize(
    ("month", "count", "below"),
    [
        ("2023-05", 1, True),  # 1 < 2
        ("2023-05", 2, False),  # 2 >= 2
        ("2024-05", 2, True),  # 2 < 3
        ("2024-05", 3, False),  # 3 >= 3
    ],
)
def test_quota_per_year(
    county: PolicySet, stream: Stream, month: str, count: int, below: bool
) -> None:
    start = f"{month}-01T00:00"  # everyone eligible from this month on: no earlier streak
    stream.department(at=start)
    stream.person("a", "s1", at=start)
    busy(stream, month, 3, "h1", "h2")
    busy(stream, month, count, "a")
    r = stream.evaluate(county, month)
    assert acts(r, "interview_section_head") == ([("s1", "h1")] if below else [])
    assert acts(r, "group_notice") == []
    assert acts(r, "criticism_notice") == []


ELIGIBILITY = {
    "joined mid-month": (
        [("person_joined", "2023-05-02T09:00", {"unit": "s1", "role": "staff"})],
        False,
    ),
    "joined at the first instant": (
        [("person_joined", "2023-05-01T00:00", {"unit": "s1", "role": "staff"})],
        True,
    ),
    "joined at the first instant, in UTC": (
        [("person_joined", "2023-04-30T16:00:00+00:00", {"unit": "s1", "role": "staff"})],
        True,
    ),
    "left at 23:59:59 on the last day": (
        [
            ("person_joined", "2023-04-01T09:00", {"unit": "s1", "role": "staff"}),
            ("person_left", "2023-05-31T23:59:59", {}),
        ],
        False,
    ),
    "left at the next month's first instant": (
        [
            ("person_joined", "2023-04-01T09:00", {"unit": "s1", "role": "staff"}),
            ("person_left", "2023-06-01T00:00", {}),
        ],
        True,
    ),
    "unit_head": (
        [("person_joined", "2023-04-01T09:00", {"unit": "s1", "role": "unit_head"})],
        False,
    ),
    "became unit_head mid-month": (
        [
            ("person_joined", "2023-04-01T09:00", {"unit": "s1", "role": "staff"}),
            ("role_changed", "2023-05-15T09:00", {"role": "unit_head"}),
        ],
        False,
    ),
    "became section_head mid-month": (
        [
            ("person_joined", "2023-04-01T09:00", {"unit": "s1", "role": "staff"}),
            ("role_changed", "2023-05-15T09:00", {"role": "section_head"}),
        ],
        True,
    ),
    "moved to the department (not a section)": (
        [
            ("person_joined", "2023-04-01T09:00", {"unit": "s1", "role": "staff"}),
            ("person_moved", "2023-05-15T09:00", {"unit": "dept"}),
        ],
        False,
    ),
}


@pytest.mark.parametrize("case", list(ELIGIBILITY))
def test_eligibility(county: PolicySet, stream: Stream, case: str) -> None:
    # x has no submissions: if eligible, group_notice (x, x) and s1's interview lists x
    events, eligible = ELIGIBILITY[case]
    stream.department()
    busy(stream, "2023-05", 2, "h1", "h2")
    for type_, at, fields in events:
        extra: dict[str, Any] = {"name": "x"} if type_ == "person_joined" else {}
        stream.add(type_, at, person="x", **extra, **fields)
    r = stream.evaluate(county, "2023-05")
    assert acts(r, "group_notice") == ([("x", "x")] if eligible else [])
    want = [("s1", "h1")] if eligible else []
    assert acts(r, "interview_section_head") == want
    assert [a.evidence for a in r.actions if a.action == "interview_section_head"] == (
        [["x"]] if eligible else []
    )


def test_a_person_counts_for_their_section_at_month_end(county: PolicySet, stream: Stream) -> None:
    stream.department()
    stream.person("a", "s1")
    busy(stream, "2023-05", 2, "h1", "h2")
    stream.add("person_moved", "2023-05-15T09:00", person="a", unit="s2")
    r = stream.evaluate(county, "2023-05")
    assert acts(r, "interview_section_head") == [("s2", "h2")]


def test_interview_is_one_per_section_with_sorted_evidence(
    county: PolicySet, stream: Stream
) -> None:
    stream.department(at=MAY)
    for pid in ("zed", "amy"):
        stream.person(pid, "s1", at=MAY)
    stream.person("c", "s2", at=MAY)
    busy(stream, "2023-05", 2, "h1", "h2", "c")
    stream.submit("zed", "2023-05-03T10:00", category="experience")  # 1 < 2; amy has 0
    r = stream.evaluate(county, "2023-05")
    (interview,) = [a for a in r.actions if a.action == "interview_section_head"]
    assert (interview.subject, interview.target) == ("s1", "h1")
    assert interview.evidence == ["amy", "zed"]
    assert acts(r, "group_notice") == [("amy", "amy")]  # zed has 1, not 0
    assert acts(r, "criticism_notice") == []


def test_interview_target_is_the_section_head_at_month_end(
    county: PolicySet, stream: Stream
) -> None:
    stream.department()
    stream.person("a", "s1")
    stream.add(
        "unit_created", "2023-01-01T00:00", unit="s3", name="s3", kind="section", parent="dept"
    )
    stream.person("d", "s3")  # s3 has no section head: falls back to dept's unit_head
    stream.person("H9", "s2", role="section_head")  # "H9" < "h2" in plain string order
    stream.person("e", "s2")
    busy(stream, "2023-05", 2, "h1", "h2", "H9")
    stream.add("person_left", "2023-05-20T09:00", person="h1")  # s1 headless at month end
    r = stream.evaluate(county, "2023-05")
    assert acts(r, "interview_section_head") == [("s1", "boss"), ("s2", "H9"), ("s3", "boss")]


def test_interview_target_is_none_without_any_head(county: PolicySet, stream: Stream) -> None:
    stream.add("unit_created", "2023-01-01T00:00", unit="dept", name="d", kind="department")
    stream.add(
        "unit_created", "2023-01-01T00:00", unit="s1", name="s", kind="section", parent="dept"
    )
    stream.person("x", "s1")
    r = stream.evaluate(county, "2023-05")
    assert acts(r, "interview_section_head") == [("s1", None)]
    assert acts(r, "topic_plan_missing") == [("s1", None)]


def test_criticism_after_three_months_in_2023_and_again_in_the_fourth(
    county: PolicySet, stream: Stream
) -> None:
    stream.department()
    stream.person("a", "s1")
    for m in range(1, 9):
        busy(stream, f"2023-{m:02d}", 2, "h1", "h2")
    # a: Jan 2 (met), Feb-May 1 each (below), Jun 2 (met), Jul 1 (below)
    counts = {1: 2, 2: 1, 3: 1, 4: 1, 5: 1, 6: 2, 7: 1}
    for m, n in counts.items():
        busy(stream, f"2023-{m:02d}", n, "a")
    # streaks: Feb 1, Mar 2, Apr 3 (fires), May 4 (fires again), Jun 0, Jul 1
    fired = {
        m for m in range(1, 8) if acts(stream.evaluate(county, f"2023-{m:02d}"), "criticism_notice")
    }
    assert fired == {4, 5}
    assert acts(stream.evaluate(county, "2023-04"), "criticism_notice") == [("a", "a")]


def test_months_before_the_first_policy_break_the_streak(county: PolicySet, stream: Stream) -> None:
    # on the roster since 2022-10 with no submissions; 2022 has no policy in force, so the streak
    # starts in January 2023: Jan 1, Feb 2, Mar 3 (fires)
    stream.department(at="2022-10-01T00:00")
    fired = {
        m for m in range(1, 4) if acts(stream.evaluate(county, f"2023-{m:02d}"), "criticism_notice")
    }
    assert fired == {3}


def test_streak_across_years_judges_each_month_by_its_own_policy(
    county: PolicySet, stream: Stream
) -> None:
    stream.department()
    for pid in ("a", "b"):
        stream.person(pid, "s1")
    busy(stream, "2023-11", 2, "h1", "h2", "a", "b")
    busy(stream, "2023-12", 2, "h1", "h2")
    busy(stream, "2024-01", 3, "h1", "h2")
    busy(stream, "2023-12", 1, "a")  # 1 < 2023's 2: below
    busy(stream, "2023-12", 2, "b")  # 2 >= 2023's 2: met (it would be below 2024's 3)
    busy(stream, "2024-01", 2, "a", "b")  # 2 < 2024's 3: below
    # 2024 rule: streak >= 2. a: Dec below + Jan below = 2 -> fires; b: Dec met -> streak 1
    jan = stream.evaluate(county, "2024-01")
    assert acts(jan, "criticism_notice") == [("a", "a")]
    assert acts(stream.evaluate(county, "2023-12"), "criticism_notice") == []  # 2023 needs 3


def test_two_months_below_in_2024(county: PolicySet, stream: Stream) -> None:
    stream.department(at="2024-01-01T00:00")
    stream.person("a", "s1", at="2024-01-01T00:00")
    for m in ("2024-01", "2024-02", "2024-03"):
        busy(stream, m, 3, "h1", "h2")
    busy(stream, "2024-01", 3, "a")
    busy(stream, "2024-02", 2, "a")
    busy(stream, "2024-03", 2, "a")
    assert acts(stream.evaluate(county, "2024-02"), "criticism_notice") == []  # streak 1
    assert acts(stream.evaluate(county, "2024-03"), "criticism_notice") == [("a", "a")]  # 2


def test_an_ineligible_month_breaks_the_streak(county: PolicySet, stream: Stream) -> None:
    stream.department()
    stream.person("a", "s1")
    for m in range(1, 8):
        busy(stream, f"2023-{m:02d}", 2, "h1", "h2")
    # a never submits; a is unit_head from Mar 10 to Mar 20, so ineligible in March
    stream.add("role_changed", "2023-03-10T09:00", person="a", role="unit_head")
    stream.add("role_changed", "2023-03-20T09:00", person="a", role="staff")
    # streaks: Jan 1, Feb 2, Mar -, Apr 1, May 2, Jun 3 (fires)
    fired = {
        m
        for m in range(1, 8)
        if ("a", "a") in acts(stream.evaluate(county, f"2023-{m:02d}"), "criticism_notice")
    }
    assert fired == {6, 7}
    assert "a" not in subjects(stream.evaluate(county, "2023-03"), "group_notice")


def test_retracted_submissions_do_not_count(county: PolicySet, stream: Stream) -> None:
    stream.department()
    stream.person("a", "s1")
    busy(stream, "2023-05", 2, "h1", "h2")
    busy(stream, "2023-05", 1, "a")
    late = stream.submit("a", "2023-05-03T10:00")
    stream.add("retraction", "2023-07-01T10:00", ref=late, reason="duplicate")
    r = stream.evaluate(county, "2023-05")  # 2 - 1 retracted = 1 < 2
    assert acts(r, "interview_section_head") == [("s1", "h1")]
    assert acts(r, "group_notice") == []


def test_report_and_urgent_do_not_count(county: PolicySet, stream: Stream) -> None:
    stream.department()
    stream.person("a", "s1")
    stream.person("b", "s1")
    busy(stream, "2023-05", 2, "h1", "h2")
    for pid in ("a", "b"):
        stream.submit(pid, "2023-05-03T10:00", category="report")
        stream.submit(pid, "2023-05-03T11:00", category="urgent")
    stream.submit("a", "2023-05-03T12:00", category="experience")
    r = stream.evaluate(county, "2023-05")  # a counts 1, b counts 0
    assert [a.evidence for a in r.actions if a.action == "interview_section_head"] == [["a", "b"]]
    assert acts(r, "group_notice") == [("b", "b")]


@pytest.mark.parametrize(
    ("month", "times", "fires"),
    [
        ("2023-05", ["2023-05-26T09:00", "2023-05-28T09:00"], True),  # first day 26 > 25
        ("2023-05", ["2023-05-25T23:59", "2023-05-28T09:00"], False),  # first day 25, not > 25
        ("2023-05", ["2023-05-26T09:00"], True),  # one is enough (count >= 1)
        ("2024-05", ["2024-05-21T09:00"] * 3, True),  # 21 > 20
        ("2024-05", ["2024-05-20T23:00", "2024-05-28T09:00", "2024-05-29T09:00"], False),  # 20
        # 2023-05-25T17:00Z is 2023-05-26 01:00 in Shanghai: day 26
        ("2023-05", ["2023-05-25T17:00:00+00:00", "2023-05-27T09:00"], True),
        # 2023-05-25T15:59Z is 2023-05-25 23:59 in Shanghai: day 25
        ("2023-05", ["2023-05-25T15:59:00+00:00", "2023-05-27T09:00"], False),
    ],
)
def test_timeliness(
    county: PolicySet, stream: Stream, month: str, times: list[str], fires: bool
) -> None:
    stream.department()
    stream.person("a", "s1")
    busy(stream, month, 3, "h1", "h2")
    for t in times:
        stream.submit("a", t)
    r = stream.evaluate(county, month)
    assert acts(r, "timeliness_warning") == ([("a", "a")] if fires else [])


def test_timeliness_looks_at_qualifying_submissions_only(county: PolicySet, stream: Stream) -> None:
    stream.department(at=MAY)
    stream.person("a", "s1", at=MAY)
    void = stream.submit("a", "2023-05-03T09:00")  # retracted: does not count
    stream.add("retraction", "2023-05-04T09:00", ref=void, reason="error")
    stream.submit("a", "2023-05-05T09:00", category="report")  # not qualifying
    stream.submit("a", "2023-05-27T09:00")  # the only counted one: day 27 > 25
    r = stream.evaluate(county, "2023-05")
    assert acts(r, "timeliness_warning") == [("a", "a")]


def test_timeliness_needs_a_submission_and_eligibility(county: PolicySet, stream: Stream) -> None:
    stream.department()
    stream.person("a", "s1")  # no submissions: no timeliness warning
    stream.person("late", "s1", at="2023-05-03T09:00")  # not eligible in May
    stream.submit("late", "2023-05-28T09:00")
    stream.submit("a", "2023-05-28T09:00", category="report")  # not qualifying
    busy(stream, "2023-05", 2, "h1", "h2")
    r = stream.evaluate(county, "2023-05")
    assert acts(r, "timeliness_warning") == []


def test_topic_plan_missing(county: PolicySet, stream: Stream) -> None:
    stream.department()
    stream.add("topic_plan", "2023-05-05T09:00", author="h1", title="plan")
    r = stream.evaluate(county, "2023-05")
    assert acts(r, "topic_plan_missing") == [("s2", "h2")]


def test_topic_plan_only_for_sections_with_eligible_persons(
    county: PolicySet, stream: Stream
) -> None:
    stream.department()
    for n in (3, 4):
        stream.add(
            "unit_created",
            "2023-01-01T00:00",
            unit=f"s{n}",
            name=f"s{n}",
            kind="section",
            parent="dept",
        )
    stream.person("late", "s3", at="2023-05-02T09:00")  # s3: nobody eligible in May
    stream.person("f", "s4")  # s4: f eligible, no section head -> target boss
    r = stream.evaluate(county, "2023-05")
    assert acts(r, "topic_plan_missing") == [("s1", "h1"), ("s2", "h2"), ("s4", "boss")]


def test_topic_plan_section_is_the_authors_unit_when_filed(
    county: PolicySet, stream: Stream
) -> None:
    stream.department()
    stream.person("a", "s1")
    stream.add("topic_plan", "2023-05-05T09:00", author="a", title="plan")
    stream.add("person_moved", "2023-05-10T09:00", person="a", unit="s2")
    void = stream.add("topic_plan", "2023-05-12T09:00", author="a", title="plan 2")
    stream.add("retraction", "2023-05-13T09:00", ref=void, reason="error")
    r = stream.evaluate(county, "2023-05")
    # the plan counts for s1 (a's unit on May 5); s2's only plan is void
    assert acts(r, "topic_plan_missing") == [("s2", "h2")]


def test_month_close_actions_stay_out_of_quarters(county: PolicySet, stream: Stream) -> None:
    stream.department(at=MAY)
    stream.person("a", "s1", at=MAY)
    stream.submit("a", "2023-05-27T09:00", category="experience")
    assert {a.action for a in stream.evaluate(county, "2023-05").actions} >= {
        "interview_section_head",
        "group_notice",
        "timeliness_warning",
        "topic_plan_missing",
    }
    # the quarter adds only what closes at a quarter: here the mix warning (0 / 1 problem)
    for period in ("2023-Q2", "2023"):
        assert {a.action for a in stream.evaluate(county, period).actions} <= {"mix_warning"}

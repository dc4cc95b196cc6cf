"""Rules 5 (commissioned drafts) and 6 (urgent incidents) of county-department, by hand.

Only the actions of the two deadline rules are checked (quota and topic-plan actions of the same
months are left to tests/test_rule_quota.py).
"""

from __future__ import annotations

import pytest

from rulesengine.policy import PolicySet
from rulesengine.results import Result
from tests.conftest import Stream

MAY = "2023-05-01T00:00"


def rule_acts(result: Result, rule: str) -> list[tuple[str, str, str | None]]:
    """(action, subject, target) of the actions of one rule, sorted."""
    return sorted((a.action, a.subject, a.target) for a in result.actions if a.rule == rule)


def drafts(result: Result) -> list[tuple[str, str, str | None]]:
    return rule_acts(result, "commissioned_drafts")


def urgent(result: Result) -> list[tuple[str, str, str | None]]:
    return rule_acts(result, "urgent_reports")


def commission(stream: Stream, due: str = "2023-05-20T18:00:00+08:00", year: str = "2023") -> str:
    """Department, ``a`` and ``b`` (staff in s1), and a commission for ``a``."""
    start = f"{year}-05-01T00:00"
    stream.department(at=start)
    stream.person("a", "s1", at=start)
    stream.person("b", "s1", at=start)
    return stream.add("commission", f"{year}-05-02T09:00", assignee="a", due=due, title="draft")


# --- rule 5: commissioned drafts ---------------------------------------------------------------


def test_commission_met_exactly_at_due(county: PolicySet, stream: Stream) -> None:
    c = commission(stream)
    stream.submit("a", "2023-05-20T18:00", category="experience", commission=c)
    assert drafts(stream.evaluate(county, "2023-05")) == []


@pytest.mark.parametrize(
    ("author", "at", "category"),
    [
        ("a", "2023-05-20T18:00:01", "problem"),  # one second late: still overdue
        ("a", "2023-05-10T09:00", "report"),  # a report does not meet it
        ("b", "2023-05-10T09:00", "problem"),  # not the assignee
    ],
)
def test_commission_not_met(
    county: PolicySet, stream: Stream, author: str, at: str, category: str
) -> None:
    c = commission(stream)
    stream.submit(author, at, category=category, commission=c)
    assert drafts(stream.evaluate(county, "2023-05")) == [("commission_overdue", c, "h1")]


def test_commission_met_by_a_retracted_submission_is_not_met(
    county: PolicySet, stream: Stream
) -> None:
    c = commission(stream)
    s = stream.submit("a", "2023-05-10T09:00", commission=c)
    stream.add("retraction", "2023-06-10T09:00", ref=s, reason="error")
    assert drafts(stream.evaluate(county, "2023-05")) == [("commission_overdue", c, "h1")]


def test_commission_action_is_in_the_month_of_due(county: PolicySet, stream: Stream) -> None:
    # due 2023-05-31T17:00Z = 2023-06-01 01:00 in Shanghai: June
    c = commission(stream, due="2023-05-31T17:00:00+00:00")
    assert drafts(stream.evaluate(county, "2023-05")) == []
    assert drafts(stream.evaluate(county, "2023-06")) == [("commission_overdue", c, "h1")]
    assert drafts(stream.evaluate(county, "2023-07")) == []


def test_commission_target_is_the_section_head_at_due(county: PolicySet, stream: Stream) -> None:
    c = commission(stream)
    stream.add("person_moved", "2023-05-10T09:00", person="a", unit="s2")
    stream.add("person_left", "2023-05-25T09:00", person="h2")  # after due: h2 was head at due
    assert drafts(stream.evaluate(county, "2023-05")) == [("commission_overdue", c, "h2")]


def test_commission_target_after_the_assignee_left(county: PolicySet, stream: Stream) -> None:
    c = commission(stream)
    stream.add("person_moved", "2023-05-05T09:00", person="a", unit="s2")
    stream.add("person_left", "2023-05-10T09:00", person="a")
    # a's last section was s2: its head h2
    assert drafts(stream.evaluate(county, "2023-05")) == [("commission_overdue", c, "h2")]


def test_commission_2024_adds_a_group_notice(county: PolicySet, stream: Stream) -> None:
    c = commission(stream, due="2024-05-20T18:00:00+08:00", year="2024")
    for _ in range(3):  # a meets the quota: the quota's own group_notice stays out of the way
        stream.submit("a", "2024-05-03T09:00")
    r = stream.evaluate(county, "2024-05")
    assert drafts(r) == [("commission_overdue", c, "h1"), ("group_notice", "a", "a")]
    # b, h1 and h2 submitted nothing (quota group_notice); a's only one is the commission's
    assert [a.rule for a in r.actions if a.action == "group_notice" and a.subject == "a"] == [
        "commissioned_drafts"
    ]


def test_commission_2024_met_gives_nothing(county: PolicySet, stream: Stream) -> None:
    c = commission(stream, due="2024-05-20T18:00:00+08:00", year="2024")
    stream.submit("a", "2024-05-20T18:00", commission=c)
    assert drafts(stream.evaluate(county, "2024-05")) == []


# --- rule 6: urgent incidents ------------------------------------------------------------------


def incident(stream: Stream, at: str, severity: str, unit: str = "s1") -> str:
    """Department, ``a`` (staff in s1), and an incident."""
    stream.department(at=MAY)
    stream.person("a", "s1", at=MAY)
    return stream.add("incident", at, unit=unit, severity=severity, title="incident")


def report(stream: Stream, author: str, at: str, ref: str, category: str = "urgent") -> str:
    return stream.submit(author, at, category=category, incident=ref)


@pytest.mark.parametrize(
    ("severity", "at", "late"),
    [
        ("major", "2023-05-10T11:00", False),  # 10:00 + 1 h: exactly at the limit
        ("major", "2023-05-10T11:00:01", True),
        ("general", "2023-05-10T14:00", False),  # 10:00 + 4 h
        ("general", "2023-05-10T14:00:01", True),
        ("general", "2023-05-10T11:30", False),
    ],
)
def test_incident_limits(
    county: PolicySet, stream: Stream, severity: str, at: str, late: bool
) -> None:
    i = incident(stream, "2023-05-10T10:00", severity)
    report(stream, "a", at, i)
    want = [("admonish_interview", i, "h1")] if late else []
    assert urgent(stream.evaluate(county, "2023-05")) == want


def test_only_the_first_report_matters(county: PolicySet, stream: Stream) -> None:
    i = incident(stream, "2023-05-10T10:00", "major")
    report(stream, "a", "2023-05-10T10:30", i)
    report(stream, "a", "2023-05-10T15:00", i)  # a later follow-up is not "late"
    assert urgent(stream.evaluate(county, "2023-05")) == []


def test_no_report_by_month_end_then_late_next_month(county: PolicySet, stream: Stream) -> None:
    i = incident(stream, "2023-05-10T10:00", "major")
    report(stream, "a", "2023-06-02T09:00", i)
    stream.add("person_left", "2023-06-15T09:00", person="h1")  # s1's head at June end: boss
    # May: no report by May's end: criticism of the unit; June: the late report: admonish
    assert urgent(stream.evaluate(county, "2023-05")) == [("criticism_notice", "s1", "h1")]
    assert urgent(stream.evaluate(county, "2023-06")) == [("admonish_interview", i, "boss")]


def test_late_at_night_on_the_last_day(county: PolicySet, stream: Stream) -> None:
    # general at 2023-05-31 23:00: due 2023-06-01 03:00 (June); a report at 05:00 is late
    i = incident(stream, "2023-05-31T23:00", "general")
    report(stream, "a", "2023-06-01T05:00", i)
    assert urgent(stream.evaluate(county, "2023-05")) == []
    assert urgent(stream.evaluate(county, "2023-06")) == [("admonish_interview", i, "h1")]


def test_report_at_the_next_months_first_instant_is_after_month_end(
    county: PolicySet, stream: Stream
) -> None:
    # major at 2023-05-31 22:30: due 23:30 in May; a report at 2023-06-01 00:00 is late, and
    # not "by the end of May" (the end is just before June's first instant)
    i = incident(stream, "2023-05-31T22:30", "major")
    report(stream, "a", "2023-06-01T00:00", i)
    assert urgent(stream.evaluate(county, "2023-05")) == [("criticism_notice", "s1", "h1")]
    assert urgent(stream.evaluate(county, "2023-06")) == [("admonish_interview", i, "h1")]


def test_late_at_night_on_the_last_day_reported_in_time(county: PolicySet, stream: Stream) -> None:
    i = incident(stream, "2023-05-31T23:00", "general")
    report(stream, "a", "2023-06-01T03:00", i)
    assert urgent(stream.evaluate(county, "2023-05")) == []
    assert urgent(stream.evaluate(county, "2023-06")) == []


def test_a_report_from_outside_the_unit_does_not_count(county: PolicySet, stream: Stream) -> None:
    incident(stream, "2023-05-10T10:00", "major")
    i2 = stream.add("incident", "2023-05-12T10:00", unit="s2", severity="major", title="i")
    report(stream, "h1", "2023-05-12T10:10", i2)  # h1 is in s1, not s2
    report(stream, "boss", "2023-05-12T10:20", i2)  # boss is in dept, above s2: not below it
    assert ("criticism_notice", "s2", "h2") in urgent(stream.evaluate(county, "2023-05"))


def test_the_reporters_unit_is_taken_at_the_report(county: PolicySet, stream: Stream) -> None:
    i = incident(stream, "2023-05-10T10:00", "major")
    stream.add("person_moved", "2023-05-10T10:20", person="a", unit="s2")
    report(stream, "a", "2023-05-10T10:30", i)  # a is in s2 by then
    stream.person("b", "s2", at=MAY)
    stream.add("person_moved", "2023-05-10T10:40", person="b", unit="s1")
    report(stream, "b", "2023-05-10T12:00", i)  # b is in s1 by then, but late
    assert urgent(stream.evaluate(county, "2023-05")) == [("admonish_interview", i, "h1")]


@pytest.mark.parametrize(
    ("at", "want"),
    [
        ("2023-05-10T10:30", []),  # a in s1, below dept: counts, on time
        ("2023-05-10T12:00", [("admonish_interview", "INC", "boss")]),  # late: head of dept
    ],
)
def test_a_report_from_a_unit_below_counts(
    county: PolicySet, stream: Stream, at: str, want: list[tuple[str, str, str]]
) -> None:
    i = incident(stream, "2023-05-10T10:00", "major", unit="dept")
    report(stream, "a", at, i)
    got = urgent(stream.evaluate(county, "2023-05"))
    assert got == [(x, i if s == "INC" else s, t) for x, s, t in want]


def test_no_report_in_a_department_incident(county: PolicySet, stream: Stream) -> None:
    incident(stream, "2023-05-10T10:00", "general", unit="dept")
    assert urgent(stream.evaluate(county, "2023-05")) == [("criticism_notice", "dept", "boss")]


@pytest.mark.parametrize("category", ["experience", "problem", "report"])
def test_non_urgent_categories_do_not_count(
    county: PolicySet, stream: Stream, category: str
) -> None:
    i = incident(stream, "2023-05-10T10:00", "major")
    report(stream, "a", "2023-05-10T10:30", i, category=category)
    assert urgent(stream.evaluate(county, "2023-05")) == [("criticism_notice", "s1", "h1")]


def test_incident_2024_has_the_same_limits(county: PolicySet, stream: Stream) -> None:
    stream.department(at="2024-05-01T00:00")
    stream.person("a", "s1", at="2024-05-01T00:00")
    i = stream.add("incident", "2024-05-10T10:00", unit="s1", severity="major", title="i")
    report(stream, "a", "2024-05-10T11:00:01", i)  # 10:00 + 1 h, one second late
    assert urgent(stream.evaluate(county, "2024-05")) == [("admonish_interview", i, "h1")]


def test_retracted_tasks_need_nothing(county: PolicySet, stream: Stream) -> None:
    c = commission(stream)
    i = stream.add("incident", "2023-05-10T10:00", unit="s1", severity="major", title="i")
    stream.add("retraction", "2023-07-01T09:00", ref=c, reason="error")
    stream.add("retraction", "2023-07-01T09:00", ref=i, reason="error")
    r = stream.evaluate(county, "2023-05")
    assert drafts(r) == []
    assert urgent(r) == []


def test_deadline_actions_only_in_month_evaluations(county: PolicySet, stream: Stream) -> None:
    c = commission(stream)
    i = stream.add("incident", "2023-05-10T10:00", unit="s1", severity="major", title="i")
    report(stream, "a", "2023-06-02T09:00", i)
    assert drafts(stream.evaluate(county, "2023-05")) == [("commission_overdue", c, "h1")]
    for period in ("2023-Q2", "2023"):
        r = stream.evaluate(county, period)
        assert drafts(r) == [] and urgent(r) == [], period

"""Rules 7 (monthly ranking of sections) and 8 (quarterly problem share, 二八开), by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rulesengine.policy import PolicySet
from rulesengine.results import Result
from tests.conftest import Stream

Q2 = "2023-04-01T00:00"


def ranking(result: Result) -> list[tuple[str, int, Decimal]]:
    """(section, rank, points) in the order listed."""
    return [(r.subject, r.rank, r.points) for r in result.rankings]


def sections(stream: Stream, *extra: str, at: str = "2023-01-01T00:00") -> None:
    """The department with s1, s2, and more sections under it."""
    stream.department(at=at)
    for unit in extra:
        stream.add("unit_created", at, unit=unit, name=unit, kind="section", parent="dept")


def scored(stream: Stream, pid: str, unit: str, level: str, form: str, at: str) -> None:
    """``pid`` joins ``unit``, submits an experience piece and has it adopted at ``at``."""
    stream.person(pid, unit)
    p = stream.submit(pid, "2023-05-02T09:00", category="experience")
    stream.add("adoption", at, ref=p, level=level, form=form)


# --- rule 7: monthly ranking -------------------------------------------------------------------


def test_standard_competition_ranking(county: PolicySet, stream: Stream) -> None:
    sections(stream, "s3", "s4")
    # s3's adoption comes first in time, yet the tie is listed by id: s2 before s3
    scored(stream, "c", "s3", "provincial", "single", "2023-05-05T09:00")  # 5
    scored(stream, "a", "s1", "central", "single", "2023-05-10T09:00")  # 10
    scored(stream, "b", "s2", "provincial", "single", "2023-05-12T09:00")  # 5
    r = stream.evaluate(county, "2023-05")
    # 10 > 5 = 5 > 0: ranks 1, 2, 2, 4 (not 3); s4 with 0 points is listed too
    assert ranking(r) == [
        ("s1", 1, Decimal(10)),
        ("s2", 2, Decimal(5)),
        ("s3", 2, Decimal(5)),
        ("s4", 4, Decimal(0)),
    ]
    assert {x.rule for x in r.rankings} == {"monthly_ranking"}


def test_tie_at_the_top(county: PolicySet, stream: Stream) -> None:
    sections(stream, "s3")
    scored(stream, "c", "s3", "municipal", "single", "2023-05-05T09:00")  # 2
    scored(stream, "b", "s2", "provincial", "combined", "2023-05-06T09:00")  # 2
    r = stream.evaluate(county, "2023-05")
    assert ranking(r) == [("s2", 1, Decimal(2)), ("s3", 1, Decimal(2)), ("s1", 3, Decimal(0))]


def test_all_zero_all_first(county: PolicySet, stream: Stream) -> None:
    sections(stream)
    r = stream.evaluate(county, "2023-05")
    assert ranking(r) == [("s1", 1, Decimal(0)), ("s2", 1, Decimal(0))]


@pytest.mark.parametrize(
    ("created", "ranked"),
    [
        ("2023-06-01T00:00", False),  # created after May
        ("2023-05-31T16:00:00+00:00", False),  # = 2023-06-01 00:00 in Shanghai
        ("2023-05-31T23:59", True),  # exists at May's end
    ],
)
def test_only_sections_existing_at_month_end(
    county: PolicySet, stream: Stream, created: str, ranked: bool
) -> None:
    sections(stream)
    stream.add("unit_created", created, unit="s0", name="s0", kind="section", parent="dept")
    r = stream.evaluate(county, "2023-05")
    assert ("s0" in [x.subject for x in r.rankings]) is ranked
    june = stream.evaluate(county, "2023-06")
    assert [x.subject for x in june.rankings] == ["s0", "s1", "s2"]


def test_only_sections_are_ranked(county: PolicySet, stream: Stream) -> None:
    sections(stream)
    stream.person("a", "dept")  # the department itself is not a section
    p = stream.submit("a", "2023-05-02T09:00", category="experience")
    stream.add("adoption", "2023-05-10T09:00", ref=p, level="central", form="single")
    r = stream.evaluate(county, "2023-05")
    assert ranking(r) == [("s1", 1, Decimal(0)), ("s2", 1, Decimal(0))]


@pytest.mark.parametrize("period", ["2023-Q2", "2023", "2024-Q1"])
def test_no_ranking_outside_months(county: PolicySet, stream: Stream, period: str) -> None:
    sections(stream)
    scored(stream, "a", "s1", "central", "single", "2023-05-10T09:00")
    assert stream.evaluate(county, period).rankings == ()


# --- rule 8: quarterly problem share -----------------------------------------------------------


def mix(result: Result) -> list[tuple[str, str | None]]:
    return sorted((a.subject, a.target) for a in result.actions if a.action == "mix_warning")


def mixed(stream: Stream, problem: int, experience: int, month: str = "2023-05") -> None:
    """The department from Q2 on, with ``a`` in s1 submitting on the 3rd of ``month``."""
    sections(stream, at=Q2)
    stream.person("a", "s1", at=Q2)
    for cat, n in (("problem", problem), ("experience", experience)):
        for _ in range(n):
            stream.submit("a", f"{month}-03T09:00", category=cat)


def test_share_below_minimum_warns(county: PolicySet, stream: Stream) -> None:
    mixed(stream, 3, 1)  # 3 / (3 + 1) = 0.75 < 0.8
    r = stream.evaluate(county, "2023-Q2")
    assert mix(r) == [("dept", "boss")]
    (action,) = [a for a in r.actions if a.action == "mix_warning"]
    assert action.subject_kind == "department"
    assert action.evidence["share"] == Decimal("0.75")


def test_share_exactly_at_minimum(county: PolicySet, stream: Stream) -> None:
    mixed(stream, 4, 1)  # 4 / 5 = 0.8, not below
    assert mix(stream.evaluate(county, "2023-Q2")) == []


def test_share_of_a_third(county: PolicySet, stream: Stream) -> None:
    mixed(stream, 1, 2)  # 1 / 3 = 0.333... < 0.8
    r = stream.evaluate(county, "2023-Q2")
    (action,) = [a for a in r.actions if a.action == "mix_warning"]
    assert abs(Decimal(str(action.evidence["share"])) - Decimal(1) / Decimal(3)) < Decimal("0.001")


def test_no_qualifying_submissions_no_warning(county: PolicySet, stream: Stream) -> None:
    mixed(stream, 0, 0)
    stream.submit("a", "2023-05-03T09:00", category="report")
    stream.submit("a", "2023-05-03T10:00", category="urgent")
    assert mix(stream.evaluate(county, "2023-Q2")) == []


def test_share_only_in_quarter_evaluations(county: PolicySet, stream: Stream) -> None:
    mixed(stream, 0, 1)  # 0 / 1 = 0
    for period in ("2023-04", "2023-05", "2023-06", "2023"):
        assert mix(stream.evaluate(county, period)) == [], period
    assert mix(stream.evaluate(county, "2023-Q2")) == [("dept", "boss")]
    assert mix(stream.evaluate(county, "2023-Q3")) == []  # nothing submitted in Q3


def test_share_counts_the_quarter_in_local_time(county: PolicySet, stream: Stream) -> None:
    mixed(stream, 4, 0)
    # 2023-06-30T16:30Z is 2023-07-01 00:30 in Shanghai: Q3, so Q2 stays 4 / 4
    stream.submit("a", "2023-06-30T16:30:00+00:00", category="experience")
    assert mix(stream.evaluate(county, "2023-Q2")) == []
    assert mix(stream.evaluate(county, "2023-Q3")) == [("dept", "boss")]  # 0 / 1


def test_share_ignores_retracted_submissions(county: PolicySet, stream: Stream) -> None:
    mixed(stream, 3, 1)
    p = stream.submit("a", "2023-05-04T09:00", category="problem")  # would make 4 / 5 = 0.8
    stream.add("retraction", "2023-08-01T09:00", ref=p, reason="error")
    assert mix(stream.evaluate(county, "2023-Q2")) == [("dept", "boss")]  # 3 / 4 = 0.75


def test_share_counts_everyone_in_the_department_at_submission(
    county: PolicySet, stream: Stream
) -> None:
    mixed(stream, 4, 0)
    stream.submit("boss", "2023-05-03T09:00", category="experience")  # in dept itself: counts
    # 4 / (4 + 1) = 0.8: no warning
    assert mix(stream.evaluate(county, "2023-Q2")) == []
    # h2 submits, then leaves: still counted, as the piece was submitted in the department
    stream.submit("h2", "2023-05-04T09:00", category="experience")
    stream.add("person_left", "2023-05-10T09:00", person="h2")
    # 4 / 6 = 0.67 < 0.8
    assert mix(stream.evaluate(county, "2023-Q2")) == [("dept", "boss")]


def test_share_ignores_persons_outside_the_department(county: PolicySet, stream: Stream) -> None:
    mixed(stream, 4, 0)
    stream.add("unit_created", Q2, unit="cty", name="county", kind="county")
    stream.person("y", "cty", at=Q2)
    stream.submit("y", "2023-05-03T09:00", category="experience")
    assert mix(stream.evaluate(county, "2023-Q2")) == []  # dept stays 4 / 4


def test_share_counts_a_mover_where_they_were_at_each_submission(
    county: PolicySet, stream: Stream
) -> None:
    mixed(stream, 4, 0)
    stream.add("unit_created", Q2, unit="d2", name="部2", kind="department")
    stream.person("b2", "d2", at=Q2, role="unit_head")
    stream.person("m", "s1", at=Q2)
    stream.submit("m", "2023-05-05T09:00", category="experience")  # in dept: 4 / 5 = 0.8
    stream.add("person_moved", "2023-05-20T09:00", person="m", unit="d2")
    stream.submit("m", "2023-05-21T09:00", category="experience")  # in d2: 0 / 1
    stream.person("late", "d2", at="2023-06-01T00:00")  # joins during the quarter
    stream.submit("late", "2023-06-02T09:00", category="problem")  # d2: 1 / 2 = 0.5
    assert mix(stream.evaluate(county, "2023-Q2")) == [("d2", "b2")]
    stream.submit("m", "2023-05-06T09:00", category="experience")  # in dept: 4 / 6
    assert mix(stream.evaluate(county, "2023-Q2")) == [("d2", "b2"), ("dept", "boss")]


def test_share_target_without_unit_head(county: PolicySet, stream: Stream) -> None:
    mixed(stream, 0, 1)
    stream.add("person_left", "2023-06-10T09:00", person="boss")
    assert mix(stream.evaluate(county, "2023-Q2")) == [("dept", None)]


def test_share_2024(county: PolicySet, stream: Stream) -> None:
    sections(stream, at="2024-01-01T00:00")
    for cat in ("problem", "problem", "problem", "experience"):  # 3 / 4 = 0.75
        stream.submit("h1", "2024-02-03T09:00", category=cat)
    assert mix(stream.evaluate(county, "2024-Q1")) == [("dept", "boss")]

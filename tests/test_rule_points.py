"""Rule 1 (adoption points) of county-department 2023 and 2024, computed by hand from the brief.

Every expected number is written with its arithmetic: base x multiplier + bonus, and for repeated
adoptions of one piece at one level, max(0, points - best earlier points).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from rulesengine.policy import PolicySet
from rulesengine.results import Result
from tests.conftest import COUNTY, Stream, points

D = Decimal
ZERO = Decimal(0)


def setup(stream: Stream) -> None:
    """The department, and author ``a`` (staff in s1 from 2023-01-01)."""
    stream.department()
    stream.person("a", "s1")


def adopt(
    stream: Stream,
    ref: str,
    at: str,
    level: str,
    form: str,
    endorsed: bool = False,
    id: str | None = None,
) -> str:
    return stream.add("adoption", at, id=id, ref=ref, level=level, form=form, endorsed=endorsed)


def contributions(result: Result, subject: str = "a") -> dict[str, Decimal]:
    """Credited points per adoption event for one subject."""
    (score,) = [s for s in result.scores if s.subject == subject]
    return {c.event: c.points for c in score.contributions}


TABLE = [
    ("central", "single", "10"),
    ("central", "combined", "5"),
    ("central", "topic", "40"),
    ("provincial", "single", "5"),
    ("provincial", "combined", "2"),
    ("municipal", "single", "2"),
    ("municipal", "combined", "1"),
]


@pytest.mark.parametrize(("level", "form", "base"), TABLE)
def test_every_table_row_for_an_experience_piece(
    county: PolicySet, stream: Stream, level: str, form: str, base: str
) -> None:
    # experience: base x 1 + 0
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="experience")
    adopt(stream, p, "2023-05-10T10:00", level, form)
    r = stream.evaluate(county, "2023-05")
    assert points(r) == {"a": D(base)}
    assert points(r, "section") == {"s1": D(base), "s2": ZERO}
    assert r.warnings == ()


@pytest.mark.parametrize(
    ("period", "month", "want"),
    [
        # 2023: problem x 1.5 -> central single 10 x 1.5 = 15, provincial combined 2 x 1.5 = 3
        ("2023", "05", {"single": "15", "combined": "3"}),
        # 2024: problem x 2.0 -> 10 x 2 = 20, 2 x 2 = 4
        ("2024", "05", {"single": "20", "combined": "4"}),
    ],
)
def test_problem_multiplier_by_year(
    county: PolicySet, stream: Stream, period: str, month: str, want: dict[str, str]
) -> None:
    setup(stream)
    p1 = stream.submit("a", f"{period}-{month}-02T10:00", category="problem")
    p2 = stream.submit("a", f"{period}-{month}-02T11:00", category="problem")
    s = adopt(stream, p1, f"{period}-{month}-10T10:00", "central", "single")
    c = adopt(stream, p2, f"{period}-{month}-10T10:00", "provincial", "combined")
    r = stream.evaluate(county, f"{period}-{month}")
    assert contributions(r) == {s: D(want["single"]), c: D(want["combined"])}


@pytest.mark.parametrize("period", ["2023-05", "2024-05"])
def test_no_multiplier_on_topic_form(county: PolicySet, stream: Stream, period: str) -> None:
    # central topic 40, x 1 even for a problem piece (not 60 nor 80); a topic plan too: 40
    setup(stream)
    p = stream.submit("a", f"{period}-02T10:00", category="problem")
    plan = stream.add("topic_plan", f"{period}-03T10:00", author="a", title="plan")
    e1 = adopt(stream, p, f"{period}-10T10:00", "central", "topic")
    e2 = adopt(stream, plan, f"{period}-10T10:00", "central", "topic")
    r = stream.evaluate(county, period)
    assert contributions(r) == {e1: D(40), e2: D(40)}
    assert points(r) == {"a": D(80)}  # 40 + 40


def test_endorsement_adds_five_after_the_multiplier(county: PolicySet, stream: Stream) -> None:
    setup(stream)
    exp = stream.submit("a", "2023-05-02T10:00", category="experience")
    prob = stream.submit("a", "2023-05-02T11:00", category="problem")
    e1 = adopt(stream, exp, "2023-05-10T10:00", "central", "single", endorsed=True)
    e2 = adopt(stream, prob, "2023-05-10T10:00", "central", "single", endorsed=True)
    r = stream.evaluate(county, "2023-05")
    # experience: 10 x 1 + 5 = 15; problem: 10 x 1.5 + 5 = 20 (the bonus is not multiplied)
    assert contributions(r) == {e1: D(15), e2: D(20)}


@pytest.mark.parametrize("level", ["provincial", "municipal"])
def test_no_row_scores_zero_with_a_warning(county: PolicySet, stream: Stream, level: str) -> None:
    # provincial/municipal topic has no row: 0 in total, the +5 bonus is not given either
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="problem")
    e = adopt(stream, p, "2023-05-10T10:00", level, "topic", endorsed=True)
    r = stream.evaluate(county, "2023-05")
    assert points(r).get("a", ZERO) == 0
    assert points(r, "section")["s1"] == 0
    assert len(r.warnings) == 1
    assert r.warnings[0].event == e


@pytest.mark.parametrize(
    ("first", "second", "want"),
    [
        # problem piece, 2023: provincial combined 2 x 1.5 = 3, provincial single 5 x 1.5 = 7.5
        (("provincial", "combined"), ("provincial", "single"), ("3", "4.5")),  # 7.5 - 3
        (("provincial", "single"), ("provincial", "combined"), ("7.5", "0")),  # max(0, 3 - 7.5)
        (("provincial", "single"), ("central", "combined"), ("7.5", "7.5")),  # other level: 5 x 1.5
    ],
)
def test_best_adoption_within_a_month(
    county: PolicySet,
    stream: Stream,
    first: tuple[str, str],
    second: tuple[str, str],
    want: tuple[str, str],
) -> None:
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="problem")
    e1 = adopt(stream, p, "2023-05-10T10:00", *first)
    e2 = adopt(stream, p, "2023-05-20T10:00", *second)
    r = stream.evaluate(county, "2023-05")
    assert contributions(r) == {e1: D(want[0]), e2: D(want[1])}


def test_increment_is_over_the_best_earlier_not_the_last(county: PolicySet, stream: Stream) -> None:
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="problem")
    e1 = adopt(stream, p, "2023-05-10T10:00", "provincial", "single")  # 5 x 1.5 = 7.5
    e2 = adopt(stream, p, "2023-05-11T10:00", "provincial", "combined")  # 3 - 7.5 -> 0
    e3 = adopt(stream, p, "2023-05-12T10:00", "provincial", "single", endorsed=True)
    e4 = adopt(stream, p, "2023-05-13T10:00", "provincial", "combined", endorsed=True)
    r = stream.evaluate(county, "2023-05")
    # e3: 7.5 + 5 = 12.5, minus the best earlier (e1's 7.5, not e2's 3) = 5
    # e4: 3 + 5 = 8, below 12.5 -> 0
    assert contributions(r) == {e1: D("7.5"), e2: ZERO, e3: D(5), e4: ZERO}
    assert points(r) == {"a": D("12.5")}  # 7.5 + 0 + 5 + 0


def test_best_adoption_ties_in_time_are_ordered_by_id(county: PolicySet, stream: Stream) -> None:
    # same instant: "x1" is earlier than "x2"; x1 combined 3, x2 single 7.5 - 3 = 4.5
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="problem")
    adopt(stream, p, "2023-05-10T10:00", "provincial", "single", id="x2")
    adopt(stream, p, "2023-05-10T10:00", "provincial", "combined", id="x1")
    r = stream.evaluate(county, "2023-05")
    assert contributions(r) == {"x1": D(3), "x2": D("4.5")}


@pytest.mark.parametrize(
    ("first", "second", "may", "june"),
    [
        ("combined", "single", "3", "4.5"),  # May 2 x 1.5 = 3; June 5 x 1.5 - 3 = 4.5
        ("single", "combined", "7.5", "0"),  # May 5 x 1.5 = 7.5; June max(0, 3 - 7.5) = 0
    ],
)
def test_best_adoption_across_months(
    county: PolicySet, stream: Stream, first: str, second: str, may: str, june: str
) -> None:
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="problem")
    adopt(stream, p, "2023-05-10T10:00", "provincial", first)
    adopt(stream, p, "2023-06-10T10:00", "provincial", second)
    assert points(stream.evaluate(county, "2023-05"))["a"] == D(may)
    assert points(stream.evaluate(county, "2023-06"))["a"] == D(june)
    # the quarter sums its months: 7.5 either way
    assert points(stream.evaluate(county, "2023-Q2"))["a"] == D("7.5")


def test_retracted_piece_earns_nothing(county: PolicySet, stream: Stream) -> None:
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="problem")
    q = stream.submit("a", "2023-05-02T11:00", category="experience")
    stream.add("retraction", "2023-05-03T10:00", ref=p, reason="error")
    adopt(stream, p, "2023-05-10T10:00", "provincial", "combined")
    adopt(stream, p, "2023-05-20T10:00", "provincial", "single")
    eq = adopt(stream, q, "2023-05-20T10:00", "provincial", "combined")
    r = stream.evaluate(county, "2023-05")
    # only q counts: provincial combined 2 x 1 = 2, credited in full
    assert points(r) == {"a": D(2)}
    assert contributions(r) == {eq: D(2)}
    assert points(r, "section")["s1"] == 2


def test_retracted_adoption_is_not_an_earlier_adoption(county: PolicySet, stream: Stream) -> None:
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="problem")
    e1 = adopt(stream, p, "2023-05-10T10:00", "provincial", "single")
    stream.add("retraction", "2023-05-11T10:00", ref=e1, reason="error")
    e2 = adopt(stream, p, "2023-05-20T10:00", "provincial", "combined")
    r = stream.evaluate(county, "2023-05")
    # e1 (7.5) is void, so e2 earns its full 2 x 1.5 = 3
    assert contributions(r) == {e2: D(3)}
    assert points(r) == {"a": D(3)}


def test_retraction_after_the_month_still_voids(county: PolicySet, stream: Stream) -> None:
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="experience")
    e = adopt(stream, p, "2023-05-10T10:00", "central", "single")
    stream.add("retraction", "2023-08-01T10:00", ref=e, reason="error")
    r = stream.evaluate(county, "2023-05")
    assert points(r).get("a", ZERO) == 0
    assert points(r, "section") == {"s1": ZERO, "s2": ZERO}


def test_section_of_the_piece_is_where_the_author_was_at_submission(
    county: PolicySet, stream: Stream
) -> None:
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="experience")
    stream.add("person_moved", "2023-05-05T10:00", person="a", unit="s2")
    adopt(stream, p, "2023-05-10T10:00", "central", "single")
    # a topic plan filed in s2 after the move belongs to s2: central topic 40
    plan = stream.add("topic_plan", "2023-05-06T10:00", author="a", title="plan")
    adopt(stream, plan, "2023-05-12T10:00", "central", "topic")
    r = stream.evaluate(county, "2023-05")
    assert points(r) == {"a": D(50)}  # 10 + 40
    assert points(r, "section") == {"s1": D(10), "s2": D(40)}


def test_topic_plan_section_is_where_it_was_filed(county: PolicySet, stream: Stream) -> None:
    setup(stream)
    plan = stream.add("topic_plan", "2023-05-02T10:00", author="a", title="plan")
    stream.add("person_moved", "2023-05-05T10:00", person="a", unit="s2")
    adopt(stream, plan, "2023-05-10T10:00", "central", "topic")
    r = stream.evaluate(county, "2023-05")
    assert points(r, "section") == {"s1": D(40), "s2": ZERO}


def test_points_reach_an_author_who_has_left(county: PolicySet, stream: Stream) -> None:
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="experience")
    stream.add("person_left", "2023-05-05T10:00", person="a")
    adopt(stream, p, "2023-06-10T10:00", "provincial", "single")
    r = stream.evaluate(county, "2023-06")
    assert points(r) == {"a": D(5)}  # provincial single 5 x 1
    assert points(r, "section") == {"s1": D(5), "s2": ZERO}


def test_adoption_month_is_local_time(county: PolicySet, stream: Stream) -> None:
    # 2023-05-31T17:30Z is 2023-06-01 01:30 in Shanghai: June, not May
    setup(stream)
    p = stream.submit("a", "2023-05-02T10:00", category="experience")
    adopt(stream, p, "2023-05-31T17:30:00+00:00", "central", "single")
    assert points(stream.evaluate(county, "2023-05")).get("a", ZERO) == 0
    assert points(stream.evaluate(county, "2023-06")) == {"a": D(10)}


def test_quarter_and_year_sum_their_months(county: PolicySet, stream: Stream) -> None:
    setup(stream)
    pieces = [stream.submit("a", "2023-03-02T10:00", category="experience") for _ in range(4)]
    adopt(stream, pieces[0], "2023-04-10T10:00", "central", "single")  # 10
    adopt(stream, pieces[1], "2023-05-10T10:00", "central", "combined")  # 5
    adopt(stream, pieces[2], "2023-06-10T10:00", "municipal", "single")  # 2
    adopt(stream, pieces[3], "2023-08-10T10:00", "municipal", "combined")  # 1
    assert points(stream.evaluate(county, "2023-Q1")).get("a", ZERO) == 0
    q2 = stream.evaluate(county, "2023-Q2")
    assert points(q2) == {"a": D(17)}  # 10 + 5 + 2
    assert points(stream.evaluate(county, "2023-Q3")) == {"a": D(1)}
    assert points(q2, "section") == {"s1": D(17), "s2": ZERO}
    assert points(stream.evaluate(county, "2023")) == {"a": D(18)}  # 17 + 1


def test_january_2024_increment_uses_december_2023_points(
    county: PolicySet, stream: Stream
) -> None:
    setup(stream)
    p = stream.submit("a", "2023-12-02T10:00", category="problem")
    adopt(stream, p, "2023-12-10T10:00", "provincial", "single")
    e = adopt(stream, p, "2024-01-10T10:00", "provincial", "single")
    # December under 2023: 5 x 1.5 = 7.5
    assert points(stream.evaluate(county, "2023-12")) == {"a": D("7.5")}
    # January under 2024: 5 x 2.0 = 10, minus December's 7.5 (scored by 2023) = 2.5
    jan = stream.evaluate(county, "2024-01")
    assert contributions(jan) == {e: D("2.5")}
    assert jan.policy.version == "2024"


def test_forced_policy_scores_earlier_adoptions_too(county: PolicySet, stream: Stream) -> None:
    # forced 2024: December's adoption is scored 5 x 2.0 = 10 too, so January earns 10 - 10 = 0
    setup(stream)
    p = stream.submit("a", "2023-12-02T10:00", category="problem")
    adopt(stream, p, "2023-12-10T10:00", "provincial", "single")
    e = adopt(stream, p, "2024-01-10T10:00", "provincial", "single")
    jan = stream.evaluate(county, "2024-01", forced=COUNTY / "2024.yaml")
    assert contributions(jan) == {e: ZERO}

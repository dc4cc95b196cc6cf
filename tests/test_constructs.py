"""The constructs published assessment methods use (brief: domain.md, "What real departments
publish"), each written as a small policy in tests/constructs/ and checked against a
hand-computed figure. One test per construct; the arithmetic is in the comments."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from rulesengine.policy import PolicySet, load_policy
from rulesengine.results import Result
from tests.conftest import Stream

CONSTRUCTS = Path(__file__).resolve().parent / "constructs"
D = Decimal


def run(name: str, s: Stream, period: str) -> Result:
    """Evaluate ``period`` of the stream under the construct policy ``name`` alone."""
    policy = load_policy(CONSTRUCTS / f"{name}.yaml")
    return s.evaluate(PolicySet(policy.family, (policy,)), period)


def score(result: Result, rule: str, *only: str) -> dict[str, Decimal]:
    """Points per subject of one rule (of the subjects ``only``, if given)."""
    return {
        x.subject: x.points
        for x in result.scores
        if x.rule == rule and (not only or x.subject in only)
    }


def grades(result: Result, rule: str) -> dict[str, str]:
    """Grade label per subject of one grade rule."""
    return {g.subject: g.grade for g in result.grades if g.rule == rule}


def org(s: Stream, *extra: tuple[str, str]) -> None:
    """dept with sections s1 (head h1) and s2 (head h2); staff a in s1, b in s2, and ``extra``."""
    s.department()
    for pid, unit in (("a", "s1"), ("b", "s2"), *extra):
        s.person(pid, unit)


def units(s: Stream, kind: str, *names: str, **fields: str) -> None:
    """Units of ``kind`` with a head ``<unit>h`` and a staff member ``<unit>p`` each."""
    for u in names:
        s.add("unit_created", "2023-01-01T00:00", unit=u, name=u, kind=kind, **fields)
        s.person(f"{u}h", u, role="unit_head")
        s.person(f"{u}p", u)


def adopt(s: Stream, piece: str, at: str, level: str, **fields: Any) -> str:
    """An adoption of ``piece`` (single form unless given)."""
    return s.add("adoption", at, ref=piece, level=level, **{"form": "single", **fields})


def test_points_by_outlet_and_level(stream: Stream) -> None:
    org(stream)
    x = stream.submit("a", "2024-03-01T09:00")
    y = stream.submit("a", "2024-03-02T09:00")
    adopt(stream, x, "2024-03-10T09:00", "provincial", outlet="yaoqing")  # 20
    adopt(stream, y, "2024-03-11T09:00", "provincial", outlet="zengkan")  # 8
    adopt(stream, x, "2024-03-12T09:00", "municipal", outlet="zhuanbao")  # 8
    adopt(stream, y, "2024-03-13T09:00", "municipal")  # no outlet: 参阅, 5
    result = run("outlet-points", stream, "2024-03")
    # 20 + 8 + 8 + 5 = 41, to a and to a's section s1
    assert score(result, "adoption_points") == {"a": 41, "s1": 41, "s2": 0}


def test_combined_fixed_amount_and_fraction_of_single(stream: Stream) -> None:
    org(stream)
    x, y, z = (stream.submit("a", f"2024-03-0{d}T09:00") for d in (1, 2, 3))
    adopt(stream, x, "2024-03-10T09:00", "provincial")
    adopt(stream, y, "2024-03-11T09:00", "provincial", form="combined")
    adopt(stream, z, "2024-03-12T09:00", "municipal", form="combined")
    result = run("combined-form", stream, "2024-03")
    # fixed amounts: 10 + 3 + 1 = 14
    assert score(result, "combined_fixed") == {"a": 14}
    # half of single: 10 + 10 x 0.5 + 4 x 0.5 = 17
    assert score(result, "combined_fraction") == {"a": 17}


def test_research_counts_double(stream: Stream) -> None:
    org(stream)
    x = stream.submit("a", "2024-03-01T09:00", research=True)
    y = stream.submit("a", "2024-03-02T09:00")
    adopt(stream, x, "2024-03-10T09:00", "provincial")
    adopt(stream, y, "2024-03-11T09:00", "municipal")
    # research 5 x 2 = 10, ordinary 2 x 1 = 2
    assert score(run("research-multiplier", stream, "2024-03"), "adoption_points") == {"a": 12}


def test_cumulative_vs_highest_only(stream: Stream) -> None:
    org(stream)
    x = stream.submit("a", "2024-03-01T09:00")
    for day, level in ((10, "municipal"), (11, "provincial"), (12, "central"), (13, "municipal")):
        adopt(stream, x, f"2024-03-{day}T09:00", level)
    result = run("cumulative-highest", stream, "2024-03")
    # cumulative: 2 + 5 + 10 + 2 = 19
    assert score(result, "cumulative") == {"a": 19}
    # highest only: 2, then 5 - 2 = 3, then 10 - 5 = 5, then max(0, 2 - 10) = 0: 10 in all
    assert score(result, "highest_only") == {"a": 10}


def test_instruction_bonus_by_leader_level(stream: Stream) -> None:
    org(stream)
    x = stream.submit("a", "2024-03-01T09:00")
    y = stream.submit("b", "2024-03-02T09:00")
    stream.add("instruction", "2024-03-10T09:00", ref=x, level="county")  # 5
    stream.add("instruction", "2024-03-11T09:00", ref=x, level="central")  # 40
    stream.add("instruction", "2024-03-12T09:00", ref=y, level="provincial")  # 20
    result = run("instruction-bonus", stream, "2024-03")
    # a: county 5 + central 40 = 45 (every instruction counts); b: provincial 20
    assert score(result, "instruction_bonus") == {"a": 45, "b": 20}


def test_diminishing_instruction_bonus(stream: Stream) -> None:
    org(stream)
    x = stream.submit("a", "2024-03-01T09:00")
    y = stream.submit("a", "2024-03-02T09:00")
    for day in (10, 11, 12):
        stream.add("instruction", f"2024-03-{day}T09:00", ref=x, level="municipal")
    stream.add("instruction", "2024-03-13T09:00", ref=y, level="municipal")
    result = run("instruction-diminishing", stream, "2024-03")
    # x: 10 + 5 + 5 = 20; y: its first, 10; a: 30
    assert score(result, "instruction_bonus") == {"a": 30}
    # the explanation of each instruction carries its rank on its piece
    of_a = next(r for r in result.scores if r.rule == "instruction_bonus" and r.subject == "a")
    assert [(c.detail["nth"], int(c.points)) for c in of_a.contributions] == [
        (1, 10),
        (2, 5),
        (3, 5),
        (1, 10),
    ]


def test_credit_for_submitting(stream: Stream) -> None:
    org(stream)
    stream.submit("a", "2024-03-01T09:00", "problem")
    stream.submit("a", "2024-03-02T09:00", "experience")
    stream.submit("a", "2024-03-03T09:00", "report")  # 通讯报道类: no credit
    stream.submit("b", "2024-03-04T09:00", "problem")
    result = run("submission-credit", stream, "2024-03")
    # 1 point per qualifying piece, none of them adopted: a 2, b 1
    assert score(result, "submission_credit") == {"a": 2, "b": 1, "s1": 2, "s2": 1}


def test_forwarded_piece_counts_double(stream: Stream) -> None:
    org(stream)
    x = stream.submit("a", "2024-03-01T09:00")
    y = stream.submit("a", "2024-03-02T09:00")
    adopt(stream, x, "2024-03-10T09:00", "provincial", forwarded=True)
    adopt(stream, y, "2024-03-11T09:00", "provincial")
    # forwarded 5 x 2 = 10, direct 5: 15
    assert score(run("forwarding", stream, "2024-03"), "adoption_points") == {"a": 15}


def test_joint_submission_split_evenly(stream: Stream) -> None:
    org(stream, ("c", "s1"))
    x = stream.submit("a", "2024-03-01T09:00", co_authors=["b"])
    y = stream.submit("a", "2024-03-02T09:00", co_authors=["b", "c"])
    adopt(stream, x, "2024-03-10T09:00", "provincial")
    adopt(stream, y, "2024-03-11T09:00", "municipal")
    result = run("joint-submission", stream, "2024-03")
    # x: 10 / 2 = 5 each to a, b; y: 5 / 3 = 1.67 each (2 decimals) to a, b, c
    # a, b: 5 + 1.67 = 6.67; c: 1.67; s1 (a and c): 6.67 + 1.67 = 8.34; s2 (b): 6.67
    assert score(result, "adoption_points") == {
        "a": D("6.67"),
        "b": D("6.67"),
        "c": D("1.67"),
        "s1": D("8.34"),
        "s2": D("6.67"),
    }


def test_base_score_capped_per_month_and_year(stream: Stream) -> None:
    org(stream)
    pieces = {1: 7, 2: 1, 3: 5, 4: 5, 5: 5, 6: 5, 7: 5, 8: 5}  # month: pieces sent by a
    for month, n in pieces.items():
        for day in range(1, n + 1):
            stream.submit("a", f"2024-{month:02d}-{day:02d}T09:00")
    january = run("base-score-capped", stream, "2024-01")
    # 7 pieces, quota 2 met: min(7, 5) = 5
    assert score(january, "monthly_base")["a"] == 5
    assert "a" not in score(run("base-score-capped", stream, "2024-02"), "monthly_base")
    year = run("base-score-capped", stream, "2024")
    # months: 5 + 0 (1 piece, below quota) + 6 x 5 = 35, capped at 30 for the year
    assert score(year, "monthly_base")["a"] == 35
    assert score(year, "base_total")["a"] == 30


def test_quota_differs_by_unit_category(stream: Stream) -> None:
    units(stream, "township", "t1")
    units(stream, "department", "d1")
    for who in ("t1p", "t1p", "d1p", "d1p"):
        stream.submit(who, "2024-03-05T09:00")
    result = run("quota-by-unit-kind", stream, "2024-03")
    # township quota 3: 2 sent, -1; department quota 2: 2 sent, met
    assert score(result, "unit_quota") == {"t1": -1}
    assert [(a.subject, a.target) for a in result.actions] == [("t1", "t1h")]


def test_quota_per_category(stream: Stream) -> None:
    org(stream)
    stream.submit("a", "2024-02-01T09:00", "problem")
    stream.submit("b", "2024-02-02T09:00", "experience")
    stream.submit("b", "2024-03-02T09:00", "experience")
    result = run("quota-per-category", stream, "2024-Q1")
    # s1 sent one problem piece; s2 none (two experience pieces): -2 and its head is told
    assert score(result, "problem_quota") == {"s2": -2}
    assert [(a.action, a.subject, a.target) for a in result.actions] == [
        ("problem_piece_missing", "s2", "h2")
    ]


def test_tiered_quota_by_class(stream: Stream) -> None:
    for name, tier in (("t1", "first"), ("t2", "second"), ("t3", "third"), ("t4", "fourth")):
        units(stream, "township", name, tier=tier)
        for day in range(1, 5):
            stream.submit(f"{name}p", f"2024-03-{day:02d}T09:00")
    result = run("tiered-quota", stream, "2024-03")
    # 4 pieces each: below 6 (first) and 5 (second); 3 (third) and 2 (fourth) met
    below = {a.subject: a.explanation["minimum"] for a in result.actions}
    assert below == {"t1": 6, "t2": 5}


def test_fixed_deduction_for_missed_commission(stream: Stream) -> None:
    org(stream)
    for cid, who, due in (("c1", "a", "10T18"), ("c2", "b", "12T18"), ("c3", "a", "15T18")):
        stream.add(
            "commission",
            "2024-03-01T09:00",
            id=cid,
            assignee=who,
            title="t",
            due=f"2024-03-{due}:00:00+08:00",
        )
    stream.submit("b", "2024-03-12T18:00", commission="c2")
    stream.submit("a", "2024-03-20T09:00", commission="c3")
    result = run("missed-commission", stream, "2024-03")
    # missing by the due time: c1 -10, c3 (late) -10; c2 delivered at the due time: nothing
    assert score(result, "commissions") == {"a": -20}


def test_late_urgent_report_loses_half(stream: Stream) -> None:
    org(stream)
    stream.add("incident", "2024-03-05T09:00", id="i1", unit="s1", severity="general", title="t")
    stream.add("incident", "2024-03-06T09:00", id="i2", unit="s2", severity="major", title="t")
    stream.add("incident", "2024-03-07T09:00", id="i3", unit="s1", severity="general", title="t")
    stream.submit("a", "2024-03-05T12:00", "urgent", incident="i1")  # due 13:00: on time, 10
    stream.submit("a", "2024-03-05T14:00", "urgent", incident="i1")  # after 13:00: late, 5
    stream.submit("b", "2024-03-06T11:00", "urgent", incident="i2")  # due 10:00: late, 5
    stream.submit("a", "2024-03-07T13:00", "urgent", incident="i3")  # at the due time: 10
    result = run("late-urgent-percentage", stream, "2024-03")
    # each urgent report is an item of 10, x 0.5 when late: a 10 + 5 + 10 = 25; b 5
    assert score(result, "urgent_item") == {"a": 25, "b": 5, "s1": 25, "s2": 5}
    # the deadline rule only defines the due times: it scores nothing itself
    assert score(result, "urgent_late") == {}


def test_per_kind_deductions_floored_at_zero(stream: Stream) -> None:
    org(stream)
    for who, kind in (("a", "late"), ("a", "false_report"), ("b", "missed"), ("b", "concealed")):
        stream.add("report_failure", "2024-02-10T09:00", person=who, kind=kind)
    result = run("per-kind-deductions", stream, "2024-Q1")
    # s1: 迟报 -1, 谎报 -2 = -3; s2: 漏报 -3, 瞒报 -4 = -7
    assert score(result, "failures") == {"a": -3, "b": -7, "s1": -3, "s2": -7}
    # base 5: s1 5 - 3 = 2; s2 5 - 7 = -2, floored at 0
    assert score(result, "quarter_total", "s1", "s2") == {"s1": 2, "s2": 0}


def test_grades_from_score_bands(stream: Stream) -> None:
    people = {"p1": "ccc m", "p2": "pppp", "p3": "cc m", "p4": "pp", "p5": "ccc"}
    org(stream, *((p, "s1") for p in people))
    levels = {"c": "central", "p": "provincial", "m": "municipal"}
    for n, (pid, codes) in enumerate(people.items(), start=1):
        for i, code in enumerate(codes.replace(" ", "")):
            piece = stream.submit(pid, f"2024-0{n}-{i + 1:02d}T09:00")
            adopt(stream, piece, f"2024-0{n}-{i + 1:02d}T10:00", levels[code])
    result = run("grade-bands", stream, "2024")
    # central 30, provincial 20, municipal 5:
    # p1 3 x 30 + 5 = 95; p2 4 x 20 = 80; p3 2 x 30 + 5 = 65; p4 2 x 20 = 40; p5 3 x 30 = 90
    assert score(result, "adoption_points") == {"p1": 95, "p2": 80, "p3": 65, "p4": 40, "p5": 90}
    assert list(grades(result, "four_bands").values()) == ["优", "良", "一般", "差", "优"]
    # 优秀 at 90 and above: p5 at exactly 90 is 优秀
    excellent = grades(result, "excellence")
    assert list(excellent.values()) == ["优秀", "未评优", "未评优", "未评优", "优秀"]


def test_pass_fail_quarter_under_six(stream: Stream) -> None:
    units(stream, "department", "d1", "d2", "d3")
    sent = {
        who: [stream.submit(who, f"2024-02-{day:02d}T09:00") for day in range(1, n + 1)]
        for who, n in (("d1p", 3), ("d2p", 2), ("d3p", 1))
    }
    adopt(stream, sent["d2p"][0], "2024-03-01T09:00", "municipal")
    result = run("pass-fail", stream, "2024-Q1")
    # d1: 6 (quota 3 met); d2: 6 - 1 + 2 = 7; d3: 6 - 2 = 4
    assert score(result, "quarter_score", "d1", "d2", "d3") == {"d1": 6, "d2": 7, "d3": 4}
    graded = grades(result, "quarter_pass")
    assert (graded["d1"], graded["d2"], graded["d3"]) == ("达标", "达标", "不达标")


def test_concealed_report_vetoes_the_year(stream: Stream) -> None:
    org(stream)
    adopt(stream, stream.submit("a", "2024-03-01T09:00"), "2024-03-10T09:00", "provincial")
    adopt(stream, stream.submit("b", "2024-03-02T09:00"), "2024-03-11T09:00", "provincial")
    stream.add("report_failure", "2024-09-10T09:00", person="b", kind="concealed")
    result = run("veto", stream, "2024")
    # s1: 50 -> 优秀; s2: 50 - 4 = 46 would be 优秀, but one 瞒报 vetoes it
    assert score(result, "year_score", "s1", "s2") == {"s1": 50, "s2": 46}
    award = grades(result, "year_award")
    assert award == {"a": "优秀", "b": "一票否决", "s1": "优秀", "s2": "一票否决"}
    # the award (and so the veto) is yearly: a quarter is not graded
    assert run("veto", stream, "2024-Q1").grades == ()


def test_average_of_scored_items(stream: Stream) -> None:
    org(stream)
    for day, level in ((1, "central"), (2, "provincial"), (3, "municipal")):
        adopt(stream, stream.submit("a", f"2024-03-0{day}T09:00"), f"2024-03-1{day}T09:00", level)
    adopt(stream, stream.submit("b", "2024-03-04T09:00"), "2024-03-14T09:00", "municipal")
    result = run("average", stream, "2024-Q1")
    # s1: (10 + 5 + 3) / 3 items = 6; s2: 3 / 1 = 3
    assert score(result, "adoption_points")["s1"] == 18
    assert score(result, "average_score") == {"a": 6, "b": 3, "s1": 6, "s2": 3}


def test_payment_per_piece_by_level(stream: Stream) -> None:
    org(stream)
    x = stream.submit("a", "2024-01-05T09:00")
    y = stream.submit("a", "2024-01-06T09:00")
    adopt(stream, x, "2024-01-10T09:00", "provincial")  # 200
    adopt(stream, x, "2024-02-10T09:00", "provincial", form="combined")  # same level: unpaid
    adopt(stream, x, "2024-03-10T09:00", "central")  # 500
    adopt(stream, y, "2024-03-11T09:00", "municipal")  # 100
    result = run("payment-per-piece", stream, "2024-Q1")
    # 200 + 500 + 100 = 800, for 3 paid adoptions
    assert [(p.person, p.amount, p.count) for p in result.payments] == [("a", D(800), 3)]


def test_payment_per_point_with_quota_deduction(stream: Stream) -> None:
    org(stream)
    sent = {m: 2 for m in range(1, 11)} | {11: 1, 12: 0}  # a's pieces per month
    pieces = [
        stream.submit("a", f"2024-{month:02d}-{day:02d}T09:00")
        for month, n in sent.items()
        for day in range(1, n + 1)
    ]
    adopt(stream, pieces[0], "2024-01-20T09:00", "provincial")  # 5
    adopt(stream, pieces[2], "2024-02-20T09:00", "provincial")  # 5
    adopt(stream, pieces[3], "2024-02-21T09:00", "municipal")  # 2
    result = run("payment-per-point", stream, "2024")
    # points 5 + 5 + 2 = 12; quota 2 a month: November -1, December -2: 12 - 3 = 9
    assert score(result, "quota_shortfall")["a"] == -3
    assert score(result, "paid_points")["a"] == 9
    # 9 x 50 = 450; h1, h2 sent nothing (paid_points floored at 0): not paid
    assert [(p.person, p.amount) for p in result.payments] == [("a", D(450))]

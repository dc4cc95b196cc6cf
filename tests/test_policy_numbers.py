"""Numbers live in the policy: change one in a copy of the YAML and the result moves with it.

Each test evaluates the same stream under the shipped policies and under an edited copy, with the
expected values of both computed by hand.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from rulesengine.policy import PolicySet, load_policy_set
from rulesengine.results import Result
from tests.conftest import Stream, copy_policies, edit, points

MAY = "2023-05-01T00:00"


def edited(tmp_path: Path, old: str, new: str, year: str = "2023") -> PolicySet:
    """The family with one text replaced in ``{year}.yaml`` of a copy."""
    family = copy_policies(tmp_path)
    edit(family / f"{year}.yaml", old, new)
    return load_policy_set(family)


def acts(result: Result, name: str) -> list[tuple[str, str | None]]:
    return sorted((a.subject, a.target) for a in result.actions if a.action == name)


def setup(stream: Stream, at: str = MAY) -> None:
    stream.department(at=at)
    stream.person("a", "s1", at=at)


def adopted(stream: Stream, category: str, level: str, form: str, endorsed: bool = False) -> None:
    setup(stream)
    p = stream.submit("a", "2023-05-02T09:00", category=category)
    stream.add("adoption", "2023-05-10T09:00", ref=p, level=level, form=form, endorsed=endorsed)


def test_quota(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    setup(stream)
    stream.person("b", "s1", at=MAY)
    for pid, n in (("h1", 4), ("h2", 4), ("a", 3), ("b", 2)):
        for _ in range(n):
            stream.submit(pid, "2023-05-02T09:00")
    # quota 2: a (3) and b (2) meet it; quota 4: both below, h1 and h2 (4) meet it
    assert acts(stream.evaluate(county, "2023-05"), "interview_section_head") == []
    r = stream.evaluate(edited(tmp_path, "minimum: 2", "minimum: 4"), "2023-05")
    (interview,) = [a for a in r.actions if a.action == "interview_section_head"]
    assert (interview.subject, interview.target, interview.evidence) == ("s1", "h1", ["a", "b"])


def test_multiplier(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    adopted(stream, "problem", "central", "single")
    assert points(stream.evaluate(county, "2023-05")) == {"a": Decimal(15)}  # 10 x 1.5
    pol = edited(tmp_path, "1.5 if", "3 if")
    assert points(stream.evaluate(pol, "2023-05")) == {"a": Decimal(30)}  # 10 x 3


def test_table_value(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    adopted(stream, "experience", "central", "single")
    assert points(stream.evaluate(county, "2023-05")) == {"a": Decimal(10)}
    pol = edited(
        tmp_path,
        "{level: central, form: single, points: 10}",
        "{level: central, form: single, points: 12}",
    )
    r = stream.evaluate(pol, "2023-05")
    assert points(r) == {"a": Decimal(12)}
    assert points(r, "section")["s1"] == Decimal(12)
    assert [(x.subject, x.rank, x.points) for x in r.rankings] == [
        ("s1", 1, Decimal(12)),
        ("s2", 2, Decimal(0)),
    ]


def test_table_row_removed_gives_a_warning(
    county: PolicySet, stream: Stream, tmp_path: Path
) -> None:
    adopted(stream, "experience", "municipal", "combined", endorsed=True)
    assert points(stream.evaluate(county, "2023-05")) == {"a": Decimal(6)}  # 1 + 5
    pol = edited(tmp_path, "      - {level: municipal, form: combined, points: 1}\n", "")
    r = stream.evaluate(pol, "2023-05")
    assert points(r) == {"a": Decimal(0)}  # no row: 0 in total, no bonus
    assert len(r.warnings) == 1


def test_endorsement_bonus(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    adopted(stream, "experience", "central", "single", endorsed=True)
    assert points(stream.evaluate(county, "2023-05")) == {"a": Decimal(15)}  # 10 + 5
    pol = edited(tmp_path, "5 if endorsed", "7 if endorsed")
    assert points(stream.evaluate(pol, "2023-05")) == {"a": Decimal(17)}  # 10 + 7


def test_streak_length(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    setup(stream)
    for month in ("2023-05", "2023-06"):
        for pid in ("h1", "h2"):
            for _ in range(2):
                stream.submit(pid, f"{month}-02T09:00")
    # a never submits: below in May and June, a streak of 2 in June
    assert acts(stream.evaluate(county, "2023-06"), "criticism_notice") == []  # needs 3
    pol = edited(tmp_path, "streak >= 3", "streak >= 2")
    assert acts(stream.evaluate(pol, "2023-06"), "criticism_notice") == [("a", "a")]
    assert acts(stream.evaluate(pol, "2023-05"), "criticism_notice") == []  # streak 1


def test_timeliness_threshold(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    setup(stream)
    stream.submit("a", "2023-05-26T09:00")
    stream.submit("a", "2023-05-27T09:00")
    # first day 26: > 25 fires; > 27 does not
    assert acts(stream.evaluate(county, "2023-05"), "timeliness_warning") == [("a", "a")]
    pol = edited(tmp_path, "first_day > 25", "first_day > 27")
    assert acts(stream.evaluate(pol, "2023-05"), "timeliness_warning") == []


def test_incident_hours(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    setup(stream)
    i = stream.add("incident", "2023-05-10T10:00", unit="s1", severity="major", title="i")
    stream.submit("a", "2023-05-10T11:30", category="urgent", incident=i)
    # 1 hour: due 11:00, 11:30 is late; 2 hours: due 12:00, on time
    assert acts(stream.evaluate(county, "2023-05"), "admonish_interview") == [(i, "h1")]
    pol = edited(tmp_path, "1 if severity == 'major' else 4", "2 if severity == 'major' else 4")
    assert acts(stream.evaluate(pol, "2023-05"), "admonish_interview") == []


def test_share_minimum(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    setup(stream, at="2023-04-01T00:00")
    for cat in ("problem", "problem", "problem", "experience"):
        stream.submit("a", "2023-05-03T09:00", category=cat)
    # 3 / 4 = 0.75: below 0.8, not below 0.7
    assert acts(stream.evaluate(county, "2023-Q2"), "mix_warning") == [("dept", "boss")]
    pol = edited(tmp_path, "minimum: 0.8", "minimum: 0.7")
    assert acts(stream.evaluate(pol, "2023-Q2"), "mix_warning") == []


def label(r: Result) -> list[str]:
    return [a.label for a in r.actions if a.action == "interview_section_head"]


def test_action_label(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    setup(stream)  # a submits nothing: s1's head is interviewed
    assert label(stream.evaluate(county, "2023-05")) == ["约谈股室长", "约谈股室长"]
    pol = edited(tmp_path, "{label: 约谈股室长}", "{label: 约谈股长}")
    r = stream.evaluate(pol, "2023-05")
    assert label(r) == ["约谈股长", "约谈股长"]  # s1 (a, h1) and s2 (h2)
    assert r.labels.get("interview_section_head") == "约谈股长"


def test_editing_2024_leaves_2023_alone(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    setup(stream)
    p = stream.submit("a", "2023-05-02T09:00", category="problem")
    stream.add("adoption", "2023-05-10T09:00", ref=p, level="central", form="single")
    q = stream.submit("a", "2024-05-02T09:00", category="problem")
    stream.add("adoption", "2024-05-10T09:00", ref=q, level="central", form="single")
    pol = edited(tmp_path, "2.0 if", "2.5 if", year="2024")
    assert points(stream.evaluate(pol, "2023-05")) == {"a": Decimal(15)}  # 10 x 1.5
    assert points(stream.evaluate(county, "2024-05")) == {"a": Decimal(20)}  # 10 x 2.0
    assert points(stream.evaluate(pol, "2024-05")) == {"a": Decimal(25)}  # 10 x 2.5


def test_forced_edited_policy(county: PolicySet, stream: Stream, tmp_path: Path) -> None:
    # a what-if: the edited 2023 file forced onto a 2024 month
    setup(stream)
    p = stream.submit("a", "2024-05-02T09:00", category="problem")
    stream.add("adoption", "2024-05-10T09:00", ref=p, level="central", form="single")
    assert points(stream.evaluate(county, "2024-05")) == {"a": Decimal(20)}  # 10 x 2.0
    family = copy_policies(tmp_path)
    edit(family / "2023.yaml", "1.5 if", "3 if")
    r = stream.evaluate(county, "2024-05", forced=family / "2023.yaml")
    assert points(r) == {"a": Decimal(30)}  # 10 x 3
    assert r.policy.version == "2023"

"""The example stream against its independent hand check (examples/*.expected.json).

The expected file was computed by hand from the brief, without the engine; every month and
quarter from January 2023 to March 2024 must agree.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from rulesengine.evaluate import evaluate, evaluate_many
from rulesengine.loading import read_events
from rulesengine.periods import parse_period
from rulesengine.policy import PolicySet
from rulesengine.render import render_json
from tests.conftest import ROOT, actions

STREAM = ROOT / "examples" / "county-department.jsonl"
EXPECTED = json.loads((ROOT / "examples" / "county-department.expected.json").read_text("utf-8"))
PERIODS = sorted(k for k in EXPECTED if k != "notes")


@pytest.fixture(scope="module")
def events(county: PolicySet) -> list:  # type: ignore[type-arg]
    batch = read_events([str(STREAM)], county.policies[0].vocabulary)
    assert not batch.rejects
    return batch.events


def test_stream_is_whole(events: list) -> None:  # type: ignore[type-arg]
    assert len(events) == sum(1 for line in STREAM.read_text("utf-8").splitlines() if line.strip())


@pytest.mark.parametrize("period", PERIODS)
def test_period_matches_hand_check(county: PolicySet, events: list, period: str) -> None:  # type: ignore[type-arg]
    want = EXPECTED[period]
    result = evaluate(county, events, parse_period(period))
    assert [list(a) for a in actions(result)] == sorted(want["actions"])
    if "person_points" not in want:
        return
    persons = {
        s.subject: s.points for s in result.scores if s.subject_kind == "person" and s.points != 0
    }
    assert persons == {k: Decimal(v) for k, v in want["person_points"].items()}
    sections = {s.subject: s.points for s in result.scores if s.subject_kind == "section"}
    assert sections == {k: Decimal(v) for k, v in want["section_points"].items()}
    assert [[r.subject, r.rank] for r in result.rankings] == want["ranking"]
    assert len(result.warnings) == want["warnings"]


def test_every_action_of_the_brief_fires(county: PolicySet, events: list) -> None:  # type: ignore[type-arg]
    fired = set()
    for period in PERIODS:
        fired |= {a.action for a in evaluate(county, events, parse_period(period)).actions}
    assert fired == {
        "interview_section_head",
        "group_notice",
        "criticism_notice",
        "timeliness_warning",
        "topic_plan_missing",
        "commission_overdue",
        "admonish_interview",
        "mix_warning",
    }


def test_every_event_type_appears(county: PolicySet, events: list) -> None:  # type: ignore[type-arg]
    assert {e.type for e in events} == set(county.policies[0].vocabulary.types)


def test_longer_periods_first_share_nothing_with_their_months(
    county: PolicySet,
    events: list,  # type: ignore[type-arg]
) -> None:
    # A year or a quarter adds up its months' score books and shares their contributions
    # (rulesengine/scores.py): evaluating it before its months, in one evaluation, must leave
    # the months' memoised books as they were.
    ids = ["2023", "2023-Q2", "2023-05", "2023-04", "2023-Q2", "2023"]
    together = evaluate_many(county, events, [parse_period(p) for p in ids])
    for period_id, result in zip(ids, together, strict=True):
        alone = evaluate(county, events, parse_period(period_id))
        assert render_json(result, explain=True) == render_json(alone, explain=True), period_id

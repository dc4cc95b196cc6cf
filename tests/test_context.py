"""The evaluation context's indexes: time order, void and live counts (rulesengine.context)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from rulesengine.context import Context
from rulesengine.events import Event
from rulesengine.policy import PolicySet

ZONE = timezone(timedelta(hours=8))
T0 = datetime(2023, 5, 1, 9, tzinfo=ZONE)


def _events() -> list[Event]:
    out = []
    for n in range(40):
        at = T0 + timedelta(hours=n // 3)  # three events per instant: ties of time
        out.append(Event(f"s{n:02d}", "submission", at, {"author": "a", "category": "problem"}))
    out.append(Event("r1", "retraction", T0 + timedelta(hours=20), {"ref": "s05"}))
    out.append(Event("r2", "retraction", T0 + timedelta(hours=21), {"ref": "s31"}))
    return out


def _build(county: PolicySet, events: list[Event]) -> Context:
    first = county.policies[0]
    return Context.build(first.vocabulary, events, county.in_force, first.family, first.timezone)


def test_events_in_time_then_id_order_whatever_the_input_order(county: PolicySet) -> None:
    events = _events()
    expected = sorted((e for e in events if e.id not in ("s05", "s31")), key=Event.sort_key)
    rng = random.Random(7)
    for order in (list(events), list(reversed(events)), rng.sample(events, len(events))):
        ctx = _build(county, order)
        assert [e.id for e in ctx.events] == [e.id for e in expected]
    # in order but for one tie of time whose ids are the wrong way round
    swapped = sorted(events, key=Event.sort_key)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    assert [e.id for e in _build(county, swapped).events] == [e.id for e in expected]


def test_one_instant_in_two_offsets_is_one_time(county: PolicySet) -> None:
    utc = UTC
    at = T0 + timedelta(days=1)
    events = [
        Event("b", "submission", at.astimezone(utc), {"author": "a", "category": "problem"}),
        Event("c", "submission", at, {"author": "a", "category": "problem"}),
        Event("a", "submission", at, {"author": "a", "category": "problem"}),
        Event("z", "submission", T0, {"author": "a", "category": "problem"}),
        Event("y", "submission", at + timedelta(seconds=1), {"author": "a", "category": "problem"}),
    ]
    for order in (events, events[::-1]):
        assert [e.id for e in _build(county, order).events] == ["z", "a", "b", "c", "y"]


def test_live_and_void_counts_between_instants(county: PolicySet) -> None:
    ctx = _build(county, _events())
    at = T0 + timedelta(hours=5)  # s00-s14 before it; s05 of them is void
    assert ctx.count_void(at) == 1
    assert ctx.count_before(at) == 14
    assert ctx.count_void(T0 + timedelta(days=9)) == 2
    assert ctx.count_void(T0 + timedelta(days=9), at) == 1  # s31 only
    assert ctx.count_void(T0) == 0
    ctx.release()  # the counts are memoised; after a release they are found again
    assert ("void-times",) not in ctx.memo
    assert ctx.count_void(at) == 1 and ctx.count_before(at) == 14


def test_void_counts_at_the_edges(county: PolicySet) -> None:
    # s05 is at T0 + 1 h, s31 at T0 + 10 h: an event at ``start`` counts, one at ``end`` does not
    ctx = _build(county, _events())
    one, ten = T0 + timedelta(hours=1), T0 + timedelta(hours=10)
    assert ctx.count_void(one) == 0
    assert ctx.count_void(one + timedelta(microseconds=1)) == 1
    assert ctx.count_void(ten, one) == 1
    assert ctx.count_void(ten + timedelta(microseconds=1), one) == 2
    assert ctx.count_void(ten + timedelta(hours=1), one + timedelta(microseconds=1)) == 1
    assert ctx.count_void(one, ten) == 0  # an empty span


def test_order_matches_time_then_id_on_random_ties(county: PolicySet) -> None:
    rng = random.Random(11)
    for _ in range(20):
        events = [
            Event(
                f"e{rng.randrange(10**6):06d}-{n}",
                "submission",
                T0 + timedelta(minutes=rng.randrange(6)),
                {"author": "a", "category": "problem"},
            )
            for n in range(rng.randrange(1, 60))
        ]
        ctx = _build(county, events)
        assert [e.id for e in ctx.events] == [e.id for e in sorted(events, key=Event.sort_key)]
        assert ctx.memo[("all-times",)] == [e.at for e in ctx.events]

"""The roster: its list of people, and its shortcut for people who never moved
(rulesengine.roster.Roster.homes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from rulesengine.events import Event
from rulesengine.policy import PolicySet
from rulesengine.roster import Roster

ZONE = timezone(timedelta(hours=8))
T0 = datetime(2023, 1, 1, tzinfo=ZONE)


def _roster(county: PolicySet) -> Roster:
    def ev(n: int, etype: str, days: int, **data: str) -> Event:
        return Event(f"e{n:02d}", etype, T0 + timedelta(days=days), data)

    events = [
        ev(1, "unit_created", 0, unit="d1", name="部1", kind="department"),
        ev(2, "unit_created", 0, unit="s1", name="股1", kind="section", parent="d1"),
        ev(3, "unit_created", 0, unit="s2", name="股2", kind="section", parent="d1"),
        ev(4, "unit_created", 0, unit="d2", name="部2", kind="department"),
        ev(5, "person_joined", 0, person="fixed", name="A", unit="s1", role="staff"),
        ev(6, "person_joined", 0, person="top", name="B", unit="d2", role="unit_head"),
        ev(7, "person_joined", 0, person="mover", name="C", unit="s1", role="staff"),
        ev(8, "person_moved", 40, person="mover", unit="d2"),
        ev(9, "person_joined", 50, person="late", name="D", unit="s2", role="staff"),
        ev(10, "person_joined", 0, person="leaver", name="E", unit="s2", role="staff"),
        ev(11, "person_left", 60, person="leaver"),
    ]
    return Roster.build(events, county.policies[0].vocabulary)


def test_homes_agree_with_the_timeline_for_every_later_instant(county: PolicySet) -> None:
    roster = _roster(county)
    instants = [T0 + timedelta(days=d, hours=h) for d in range(0, 90, 7) for h in (0, 13)]
    for kinds in (("section",), ("department",), ("section", "department")):
        for since in instants:
            homes = roster.homes(kinds, since)
            for pid, unit in homes.items():
                for t in instants:
                    if t >= since:
                        assert unit == roster.unit_of_kind(roster.unit_at(pid, t), kinds)
            # people who moved, left, or joined after ``since`` are left to the timeline
            assert set(homes) == (
                {"fixed", "top"} | ({"late"} if since >= T0 + timedelta(50) else set())
            )


def test_homes_place_people_in_the_unit_of_the_kinds_asked_for(county: PolicySet) -> None:
    roster = _roster(county)
    assert roster.homes(("section",), T0) == {"fixed": "s1", "top": None}
    assert roster.homes(("department",), T0) == {"fixed": "d1", "top": "d2"}
    assert roster.homes(("department",), T0) is roster.homes(("department",), T0)  # memoised


def test_homes_compare_instants_whatever_the_zone_of_since(county: PolicySet) -> None:
    roster = _roster(county)
    late = T0 + timedelta(days=50)  # "late" joins then, in the events' +08:00 zone
    for zone in (UTC, ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin")):
        at_join = late.astimezone(zone)  # the same instant, as a period's bound is held
        assert "late" in roster.homes(("section",), at_join)
        assert "late" not in roster.homes(("section",), at_join - timedelta(microseconds=1))


def test_persons_are_sorted_and_a_fresh_list(county: PolicySet) -> None:
    roster = _roster(county)  # joined in the order fixed, top, mover, late, leaver
    persons = roster.persons()
    assert persons == ["fixed", "late", "leaver", "mover", "top"]
    persons.append("someone")  # a caller's list: the roster keeps its own
    assert roster.persons() == ["fixed", "late", "leaver", "mover", "top"]

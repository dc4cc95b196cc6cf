"""Deterministic synthetic event streams at any scale, in the brief's event format.

    python -m bench.generate --people 1000 --months 12 --seed 1 > city.jsonl

Shape: departments (kind ``department``, each with a unit_head) of 10 sections (kind ``section``,
each with a section head), 10 people per section. Each eligible person submits 2-11 pieces a month
(mostly problem and experience, some report), about one in five is adopted at some level and
form, each section files a topic plan most months, and there are commissions, incidents with
urgent reports, moves, role changes, leavers and retractions in small numbers, roughly in the
proportions of examples/county-department.jsonl. ~8 events per person per month: 10,000 people
for 12 months is about 1,000,000 events.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

TZ = timezone(timedelta(hours=8))
LEVELS = ("central", "provincial", "municipal")
FORMS = ("single", "combined")


def _ts(dt: datetime) -> str:
    return dt.isoformat()


def generate(
    people: int, months: int = 12, seed: int = 1, year: int = 2023
) -> Iterator[dict[str, Any]]:
    """Yield events in time order (per month), deterministic for a given seed."""
    rnd = random.Random(seed)
    n = 0

    def eid() -> str:
        nonlocal n
        n += 1
        return f"e{n:08d}"

    start = datetime(year, 1, 1, tzinfo=TZ)
    sections: list[str] = []
    members: dict[str, list[str]] = {}
    depts = max(1, (people + 99) // 100)
    persons: list[str] = []
    for d in range(depts):
        dept = f"d{d:03d}"
        yield {
            "id": eid(),
            "type": "unit_created",
            "at": _ts(start),
            "unit": dept,
            "name": f"部{d}",
            "kind": "department",
        }
        yield {
            "id": eid(),
            "type": "person_joined",
            "at": _ts(start),
            "person": f"{dept}-head",
            "name": "部长",
            "unit": dept,
            "role": "unit_head",
        }
        for s in range(10):
            sec = f"{dept}-s{s}"
            sections.append(sec)
            members[sec] = []
            yield {
                "id": eid(),
                "type": "unit_created",
                "at": _ts(start),
                "unit": sec,
                "name": f"股{s}",
                "kind": "section",
                "parent": dept,
            }
    for i in range(people):
        sec = sections[i // 10 % len(sections)]
        pid = f"p{i:06d}"
        persons.append(pid)
        members[sec].append(pid)
        role = "section_head" if len(members[sec]) == 1 else "staff"
        yield {
            "id": eid(),
            "type": "person_joined",
            "at": _ts(start),
            "person": pid,
            "name": f"人{i}",
            "unit": sec,
            "role": role,
        }
    home = {p: s for s, ps in members.items() for p in ps}
    left: set[str] = set()
    pieces: list[tuple[str, datetime]] = []
    for m in range(months):
        first = datetime(year + (m // 12), m % 12 + 1, 1, tzinfo=TZ)
        nxt = datetime(year + ((m + 1) // 12), (m + 1) % 12 + 1, 1, tzinfo=TZ)
        span = (nxt - first).total_seconds()
        month_events: list[dict[str, Any]] = []

        def at(frac: float, first: datetime = first, span: float = span) -> datetime:
            return first + timedelta(seconds=int(frac * (span - 7200)))

        active = [p for p in persons if p not in left]
        for p in active:
            for _ in range(rnd.randint(2, 11)):
                when = at(rnd.random())
                cat = rnd.choices(("problem", "experience", "report"), (70, 22, 8))[0]
                sid = eid()
                month_events.append(
                    {
                        "id": sid,
                        "type": "submission",
                        "at": _ts(when),
                        "author": p,
                        "category": cat,
                        "title": "信息",
                    }
                )
                pieces.append((sid, when))
        for sec in sections:
            if rnd.random() < 0.9:
                live = [p for p in members[sec] if p not in left]
                if live:
                    month_events.append(
                        {
                            "id": eid(),
                            "type": "topic_plan",
                            "at": _ts(at(rnd.random())),
                            "author": live[0],
                            "title": "选题",
                        }
                    )
        recent = [pc for pc in pieces if pc[1] < first + timedelta(days=20)][-len(active) * 4 :]
        for sid, when in rnd.sample(recent, min(len(recent), len(active) * 3 // 2)):
            lag = timedelta(days=rnd.randint(1, 9), seconds=rnd.randint(0, 86000))
            month_events.append(
                {
                    "id": eid(),
                    "type": "adoption",
                    "at": _ts(max(when, first) + lag),
                    "ref": sid,
                    "level": rnd.choices(LEVELS, (5, 25, 70))[0],
                    "form": rnd.choices(FORMS, (60, 40))[0],
                    "endorsed": rnd.random() < 0.05,
                }
            )
        for _ in range(max(1, len(active) // 50)):
            p = rnd.choice(active)
            cid = eid()
            made = at(rnd.random() * 0.5)
            due = made + timedelta(days=rnd.randint(2, 10))
            month_events.append(
                {
                    "id": cid,
                    "type": "commission",
                    "at": _ts(made),
                    "assignee": p,
                    "due": _ts(due),
                    "title": "约稿",
                }
            )
            if rnd.random() < 0.8:
                month_events.append(
                    {
                        "id": eid(),
                        "type": "submission",
                        "at": _ts(due - timedelta(hours=rnd.randint(-24, 48))),
                        "author": p,
                        "category": "problem",
                        "title": "约稿稿件",
                        "commission": cid,
                    }
                )
        for _ in range(max(1, len(active) // 200)):
            sec = rnd.choice(sections)
            live = [p for p in members[sec] if p not in left]
            if not live:
                continue
            iid = eid()
            happened = at(rnd.random() * 0.9)
            month_events.append(
                {
                    "id": iid,
                    "type": "incident",
                    "at": _ts(happened),
                    "unit": sec,
                    "severity": rnd.choice(("major", "general")),
                    "title": "突发事件",
                }
            )
            if rnd.random() < 0.9:
                month_events.append(
                    {
                        "id": eid(),
                        "type": "submission",
                        "at": _ts(happened + timedelta(minutes=rnd.randint(10, 400))),
                        "author": live[0],
                        "category": "urgent",
                        "title": "紧急信息",
                        "incident": iid,
                    }
                )
        for _ in range(max(1, len(active) // 500)):
            p = rnd.choice(active)
            to = rnd.choice(sections)
            if to != home[p] and members[home[p]][0] != p:
                month_events.append(
                    {
                        "id": eid(),
                        "type": "person_moved",
                        "at": _ts(at(rnd.random())),
                        "person": p,
                        "unit": to,
                    }
                )
                members[home[p]].remove(p)
                members[to].append(p)
                home[p] = to
        for _ in range(max(1, len(active) // 500)):
            p = rnd.choice(active)
            sec = home[p]
            if members[sec][0] != p:
                month_events.append(
                    {
                        "id": eid(),
                        "type": "role_changed",
                        "at": _ts(at(rnd.random())),
                        "person": p,
                        "role": "staff",
                    }
                )
        if m % 3 == 2:
            for p in rnd.sample(active, max(1, len(active) // 300)):
                if members[home[p]][0] != p:
                    month_events.append(
                        {
                            "id": eid(),
                            "type": "person_left",
                            "at": _ts(nxt - timedelta(minutes=30)),
                            "person": p,
                        }
                    )
                    left.add(p)
        month_events.sort(key=lambda e: (e["at"], e["id"]))
        subs = [e for e in month_events if e["type"] == "submission"]
        for e in rnd.sample(subs, max(1, len(subs) // 100)):
            month_events.append(
                {
                    "id": eid(),
                    "type": "retraction",
                    "at": _ts(nxt - timedelta(hours=1)),
                    "ref": e["id"],
                    "reason": "重复报送",
                }
            )
        yield from month_events


def main(argv: list[str] | None = None) -> None:
    """Write a stream to stdout as JSON Lines."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=50)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--year", type=int, default=2023)
    args = ap.parse_args(argv)
    out = sys.stdout.buffer
    for ev in generate(args.people, args.months, args.seed, args.year):
        out.write(orjson.dumps(ev) + b"\n")


if __name__ == "__main__":
    main()

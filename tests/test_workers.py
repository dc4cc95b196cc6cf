"""``--workers N``: the evaluation split by top-level unit over several processes gives exactly
the serial results (the JSON with explanations, byte for byte), and is serial, saying why,
whenever that could not be guaranteed.

Every stream here really has several top-level units (the tests check the split happened): the
shipped example streams each have one, so each is evaluated as three copies under three
top-level units (ids prefixed, some events left out of the copies so the parts differ); the
random streams are bench/generate.py's departments with moves kept inside a department.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from bench.generate import generate
from rulesengine.evaluate import evaluate_many
from rulesengine.events import Event
from rulesengine.intake import parse_records
from rulesengine.partition import evaluate_partitioned, split
from rulesengine.periods import KINDS, Period, period_of
from rulesengine.policy import Policy, PolicySet, load_policy, load_policy_set
from rulesengine.render import render_json, render_table
from rulesengine_cli.main import main
from tests.conftest import POLICIES, ROOT, copy_policies, edit

FAMILIES = sorted(
    p.stem for p in (ROOT / "examples").glob("*.jsonl") if (POLICIES / p.stem).is_dir()
)
REFERENCES = ("unit", "new_unit", "person", "new_person", "persons", "event")


def decode(policies: PolicySet, docs: list[dict[str, Any]]) -> list[Event]:
    vocab = policies.policies[0].vocabulary
    batch = parse_records((("t", i, dict(d), None) for i, d in enumerate(docs)), vocab)
    assert not batch.rejects, [r.format() for r in batch.rejects[:3]]
    return batch.events


def copies(policies: PolicySet, docs: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """``n`` copies of a stream, copy k > 0 with every id prefixed ``k-`` and every k+2-th event
    that nothing refers to left out."""
    vocab = policies.policies[0].vocabulary
    referred = {
        d[f]
        for d in docs
        for f, spec in vocab.types[d["type"]].fields.items()
        if spec.type == "event" and f in d
    }
    out = list(docs)
    for k in range(1, n):
        for i, d in enumerate(docs):
            spec = vocab.types[d["type"]]
            if not spec.roster and d["id"] not in referred and i % (k + 2) == 0:
                continue
            new = {**d, "id": f"{k}-{d['id']}"}
            for f, fs in spec.fields.items():
                if fs.type in REFERENCES and new.get(f) is not None:
                    v = new[f]
                    new[f] = [f"{k}-{x}" for x in v] if isinstance(v, list) else f"{k}-{v}"
            out.append(new)
    return out


def in_department(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """bench/generate.py's stream with each move kept inside the person's department."""
    dept: dict[str, str] = {}
    out = []
    for d in docs:
        if d["type"] == "person_joined":
            dept[d["person"]] = d["unit"][:4]
        elif d["type"] == "person_moved" and not d["unit"].startswith(dept[d["person"]]):
            d = {**d, "unit": dept[d["person"]] + d["unit"][4:]}
        out.append(d)
    return out


def periods_of(policies: PolicySet, events: list[Event]) -> list[Period]:
    """Every month, quarter and year the stream touches that a policy judges."""
    tz = policies.policies[0].timezone
    starts = sorted({period_of(e.at, "month", tz).bounds(tz)[0] for e in events})
    found = [p for kind in KINDS for p in sorted({period_of(t, kind, tz) for t in starts})]
    return [p for p in found if policies.in_force(p) is not None]


def serial_json(policies: PolicySet, events: list[Event], periods: list[Period]) -> list[str]:
    return [render_json(r, explain=True) for r in evaluate_many(policies, events, periods)]


def assert_same(
    policies: PolicySet,
    events: list[Event],
    periods: list[Period],
    workers: int,
    forced: Policy | None = None,
) -> None:
    """The partitioned run was partitioned and equals the serial one byte for byte."""
    serial = evaluate_many(policies, events, periods, forced)
    got, why = evaluate_partitioned(policies, events, periods, workers, forced)
    assert why is None
    assert [render_json(r, explain=True) for r in got] == [render_json(r, True) for r in serial]
    assert [render_table(r, explain=True) for r in got] == [render_table(r, True) for r in serial]
    assert got == serial  # names and labels too


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("family", FAMILIES)
def test_example_streams_equal_serial(family: str, workers: int) -> None:
    policies = load_policy_set(POLICIES / family)
    text = (ROOT / "examples" / f"{family}.jsonl").read_bytes()
    docs = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    events = decode(policies, copies(policies, docs, 3))
    periods = periods_of(policies, events)
    plan = split(policies.policies[0].vocabulary, events, policies.policies)
    plan.bin(workers, events)
    assert len(plan.parts) == workers and len(plan.roots) >= 3
    assert len(periods) > 3
    assert_same(policies, events, periods, workers)


@pytest.mark.parametrize(("seed", "workers"), [(1, 2), (2, 3), (3, 2)])
def test_random_streams_equal_serial(county: PolicySet, seed: int, workers: int) -> None:
    events = decode(county, in_department(list(generate(300, 3, seed))))
    periods = periods_of(county, events)
    assert_same(county, events, periods, workers)


def test_what_if_policy_equals_serial(county: PolicySet) -> None:
    events = decode(county, in_department(list(generate(300, 3, 4))))
    forced = load_policy(POLICIES / "county-department" / "2024.yaml")
    assert_same(county, events, periods_of(county, events), 2, forced=forced)


def test_retraction_of_an_absent_event_goes_to_every_part(county: PolicySet) -> None:
    docs = in_department(list(generate(300, 2, 5)))
    events = decode(county, docs)
    last = events[-1]
    ghost = Event("x-ghost", "retraction", last.at, {"ref": "not-here", "reason": "r"})
    assert_same(county, [*events, ghost], periods_of(county, events), 2)


def fallback(policies: PolicySet, events: list[Event], workers: int = 2) -> str:
    """The reason the partitioned run was serial (its results equal the serial ones)."""
    periods = periods_of(policies, events)
    got, why = evaluate_partitioned(policies, events, periods, workers)
    assert why is not None
    assert [render_json(r, explain=True) for r in got] == serial_json(policies, events, periods)
    return why


def test_person_moving_between_top_level_units_is_serial(county: PolicySet) -> None:
    docs = list(generate(300, 3, 1))
    dept = {d["person"]: d["unit"][:4] for d in docs if d["type"] == "person_joined"}
    assert any(
        d["type"] == "person_moved" and not d["unit"].startswith(dept[d["person"]]) for d in docs
    )
    assert "is in two top-level units" in fallback(county, decode(county, docs))


def test_event_with_no_unit_is_serial(county: PolicySet) -> None:
    events = decode(county, in_department(list(generate(300, 2, 1))))
    i = next(i for i, e in enumerate(events) if e.type == "topic_plan")
    nobody = {k: v for k, v in events[i].data.items() if k != "author"}
    events[i] = dataclasses.replace(events[i], data=nobody)
    assert fallback(county, events) == f"event '{events[i].id}' belongs to no top-level unit"


def test_event_touching_two_top_level_units_is_serial(county: PolicySet) -> None:
    events = decode(county, in_department(list(generate(300, 2, 1))))
    home = {e.data["person"]: e.data["unit"] for e in events if e.type == "person_joined"}
    i = next(
        i
        for i, e in enumerate(events)
        if e.type == "submission" and home[e.data["author"]][:4] == "d000"
    )
    other = next(
        e for e in events if e.type == "submission" and home[e.data["author"]][:4] == "d001"
    )
    wrong = {**events[i].data, "commission": other.id}
    events[i] = dataclasses.replace(events[i], data=wrong)
    assert "touches two top-level units ('d000', 'd001')" in fallback(county, events)


def test_unit_changing_parent_is_serial(county: PolicySet) -> None:
    events = decode(county, in_department(list(generate(300, 2, 1))))
    unit = next(e for e in events if e.type == "unit_created" and e.data.get("parent") == "d000")
    moved = dataclasses.replace(unit, id="x-again", data={**unit.data, "parent": "d001"})
    why = fallback(county, [*events, moved])
    assert why == f"unit '{unit.data['unit']}' is created twice with different parents"


def test_reference_to_a_roster_event_or_a_reused_id_is_serial(county: PolicySet) -> None:
    events = decode(county, in_department(list(generate(300, 2, 1))))
    joined = next(e for e in events if e.type == "person_joined")
    undo = Event("x-undo", "retraction", events[-1].at, {"ref": joined.id, "reason": "r"})
    assert fallback(county, [*events, undo]) == f"an event refers to the roster event '{joined.id}'"
    again = next(e for e in events if e.type == "submission")
    assert fallback(county, [*events, again]) == "an event id is used twice"


def test_failing_part_is_serial(county: PolicySet, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Any:
        raise ValueError("broken")

    monkeypatch.setattr("rulesengine.partition.evaluate_part", broken)
    events = decode(county, in_department(list(generate(300, 2, 1))))
    assert fallback(county, events) == "part 1 failed: ValueError: broken"


def test_grouping_across_top_level_units_is_serial(tmp_path: Path) -> None:
    family = copy_policies(tmp_path)
    edit(family / "2023.yaml", "best_only_per: [piece, level]", "best_only_per: [level]")
    policies = load_policy_set(family)
    events = decode(policies, in_department(list(generate(300, 2, 1))))
    assert "groups events of two top-level units by level" in fallback(policies, events)


def test_one_worker_or_one_top_level_unit_is_serial(county: PolicySet) -> None:
    events = decode(county, in_department(list(generate(300, 2, 1))))
    assert fallback(county, events, workers=1) == "one worker"
    one = decode(county, list(generate(90, 2, 1)))  # one department
    assert "fewer than 2 parts" in fallback(county, one)


def test_cli_workers_prints_the_same(tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    docs = in_department(list(generate(300, 2, 1)))
    stream.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    args = ["evaluate", "--events", str(stream), "--policies", str(POLICIES)]
    args += ["--family", "county-department", "--period", "2023-02", "--format", "json"]
    serial = CliRunner().invoke(main, [*args, "--explain"])
    two = CliRunner().invoke(main, [*args, "--explain", "--workers", "2"])
    assert serial.exit_code == two.exit_code == 0
    assert two.stdout == serial.stdout and "note:" not in two.stderr
    one_unit = CliRunner().invoke(
        main,
        [
            *args[:2],
            str(ROOT / "examples" / "county-department.jsonl"),
            *args[3:],
            "--workers",
            "2",
        ],
    )
    assert one_unit.exit_code == 0
    assert "note: evaluated serially: fewer than 2 parts" in one_unit.stderr

"""Checkpoints (decision 25): a month resumed from its stored state gives exactly what a fresh
evaluation from every event gives (the JSON with explanations, byte for byte), on every shipped
family's example stream and on random streams ingested a few days at a time, and a checkpoint
is dropped whenever an ingest changes anything before it (back-dated events, retractions of old
events, a retracted retraction).
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from bench.generate import generate
from rulesengine.checkpoint import (
    PackedValues,
    State,
    decode,
    encode,
    evaluate_capturing,
    state_key,
)
from rulesengine.evaluate import evaluate
from rulesengine.formats import read_records
from rulesengine.incremental import CHECKPOINTED, evaluate_stored
from rulesengine.intake import parse_records
from rulesengine.periods import Period, parse_period, period_of
from rulesengine.policy import Policy, PolicySet, load_policy, load_policy_set
from rulesengine.render import render_json
from rulesengine.store import Store
from rulesengine.store.window import (
    last_ingest,
    list_checkpoints,
    load_checkpoint,
    load_window,
    touched_after,
)
from rulesengine_cli.main import main
from tests.conftest import POLICIES, ROOT, Stream
from tests.test_workers import in_department

FAMILIES = sorted(
    p.stem for p in (ROOT / "examples").glob("*.jsonl") if (POLICIES / p.stem).is_dir()
)


class Replay:
    """A store fed file by file; after each file, months are evaluated through checkpoints and
    compared with fresh evaluations."""

    def __init__(self, policies: PolicySet, path: Path, forced: Policy | None = None) -> None:
        self.policies, self.forced = policies, forced
        self.vocab = policies.policies[0].vocabulary
        self.store = Store(str(path / "store.sqlite"))
        self.path, self.files = path, 0
        self.hows: list[str] = []

    def ingest(self, docs: list[dict[str, Any]]) -> None:
        self.files += 1
        f = self.path / f"part-{self.files}.jsonl"
        f.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
        report = self.store.ingest(str(f), read_records(f, self.vocab), self.vocab)
        assert report.rejected == 0, [r.format() for r in report.rejects[:3]]

    def check(self, month: Period) -> str:
        """Evaluate ``month`` through checkpoints, compare with a fresh evaluation, and say how
        it was evaluated."""
        pol = self.forced or self.policies.in_force(month)
        if pol is None:
            return "no policy"
        for c in list_checkpoints(self.store):  # `rulesengine checkpoints` agrees with use
            assert c.valid == (load_checkpoint(self.store, c.key, c.at) is not None), c
        done = evaluate_stored(self.store, self.policies, month, self.forced)
        events = self.store.load_events(
            self.vocab, month.bounds(pol.timezone)[1], self.policies.names_read()
        )
        fresh = evaluate(self.policies, events, month, self.forced)
        assert render_json(done.result, True) == render_json(fresh, True), (month, done.how)
        self.hows.append(done.how)
        return done.how


def docs_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def months_of(policies: PolicySet, docs: list[dict[str, Any]]) -> list[Period]:
    tz = policies.policies[0].timezone
    found = sorted({period_of(datetime.fromisoformat(d["at"]), "month", tz) for d in docs})
    out, m = [], found[0]
    while m <= found[-1]:
        out.append(m)
        m = m.next()
    return out


def in_steps(replay: Replay, docs: list[dict[str, Any]], days: int, months: list[Period]) -> None:
    """Ingest ``docs`` (time order) ``days`` days at a time; after each step evaluate the
    month the step ended in twice, the month before it, and the month after it."""
    docs = sorted(docs, key=lambda d: (datetime.fromisoformat(d["at"]), d["id"]))
    first = datetime.fromisoformat(docs[0]["at"])
    step: list[dict[str, Any]] = []
    limit = first + timedelta(days=days)
    tz = replay.policies.policies[0].timezone
    for d in [*docs, None]:
        at = datetime.fromisoformat(d["at"]) if d is not None else None
        if at is None or at >= limit:
            if step:
                replay.ingest(step)
                now = period_of(datetime.fromisoformat(step[-1]["at"]), "month", tz)
                for m in (now, now, now.previous(), now.next()):
                    if months[0] <= m <= months[-1]:
                        replay.check(m)
            step = []
            while at is not None and at >= limit:
                limit += timedelta(days=days)
        if d is not None:
            step.append(d)


@pytest.mark.parametrize("family", FAMILIES)
def test_example_streams_month_by_month(family: str, tmp_path: Path) -> None:
    policies = load_policy_set(POLICIES / family)
    docs = docs_of(ROOT / "examples" / f"{family}.jsonl")
    replay = Replay(policies, tmp_path)
    in_steps(replay, docs, 9, months_of(policies, docs))
    assert any(h.startswith("resumed") for h in replay.hows), replay.hows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_streams_a_few_days_at_a_time(county: PolicySet, seed: int, tmp_path: Path) -> None:
    docs = list(generate(40, 12, seed))
    replay = Replay(county, tmp_path)
    in_steps(replay, docs, 6, months_of(county, docs))
    resumed = sum(h.startswith("resumed") for h in replay.hows)
    assert resumed > len(replay.hows) // 2, replay.hows


def test_what_if_policy(tmp_path: Path, county: PolicySet) -> None:
    forced = load_policy(POLICIES / "county-department" / "2024.yaml")
    docs = list(generate(30, 12, 7))
    replay = Replay(county, tmp_path, forced)
    in_steps(replay, docs, 10, months_of(county, docs))
    assert any(h.startswith("resumed") for h in replay.hows)


def late(county: PolicySet, tmp_path: Path) -> tuple[Replay, list[dict[str, Any]]]:
    """A random year ingested, December evaluated twice (the second resumed)."""
    docs = list(generate(40, 12, 5))
    replay = Replay(county, tmp_path)
    replay.ingest(docs)
    dec = parse_period("2023-12")
    assert replay.check(dec).startswith("evaluated in full")
    assert replay.check(dec).startswith("resumed")
    return replay, docs


def one_submission(docs: list[dict[str, Any]], eid: str, at: str) -> list[dict[str, Any]]:
    """A problem submission ``eid`` at ``at`` by the stream's first author."""
    author = next(d for d in docs if d["type"] == "submission")["author"]
    doc = {"id": eid, "type": "submission", "at": at, "author": author, "category": "problem"}
    return [{**doc, "title": "补报"}]


def test_back_dated_event_drops_the_checkpoints_after_it(county: PolicySet, tmp_path: Path) -> None:
    replay, docs = late(county, tmp_path)
    replay.ingest(one_submission(docs, "late-1", "2023-11-30T23:59:59+08:00"))
    assert replay.check(parse_period("2023-12")).startswith("evaluated in full")
    assert replay.check(parse_period("2023-12")).startswith("resumed")


def test_day_in_the_month_keeps_the_checkpoint(county: PolicySet, tmp_path: Path) -> None:
    replay, docs = late(county, tmp_path)
    # exactly at the checkpoint: still after it
    replay.ingest(one_submission(docs, "dec-1", "2023-12-01T00:00:00+08:00"))
    assert replay.check(parse_period("2023-12")).startswith("resumed")


def test_retraction_of_an_old_event_and_of_that_retraction(
    county: PolicySet, tmp_path: Path
) -> None:
    replay, docs = late(county, tmp_path)
    old = next(d for d in docs if d["type"] == "adoption" and d["at"] < "2023-06")
    retraction = {
        "id": "r-old",
        "type": "retraction",
        "at": "2023-12-20T10:00:00+08:00",
        "ref": old["id"],
        "reason": "重复",
    }
    replay.ingest([retraction])  # in December, but voids a June event
    assert replay.check(parse_period("2023-12")).startswith("evaluated in full")
    assert replay.check(parse_period("2023-12")).startswith("resumed")
    replay.ingest([{**retraction, "id": "r-r", "ref": "r-old", "reason": "撤回错误"}])
    assert replay.check(parse_period("2023-12")).startswith("evaluated in full")


def test_window_does_not_follow_retractions_dated_after_it(
    county: PolicySet, tmp_path: Path
) -> None:
    """A retraction after the month, of an event before it, is read (it voids for every
    evaluation) but what it refers to is not: the month reads only its own references."""
    s = Stream()
    s.department()
    s.person("p1", "s1")
    s.person("p2", "s2")
    april = s.submit("p1", "2023-04-10T09:00")
    s.add("adoption", "2023-04-20T09:00", ref=april, level="municipal", form="single")
    may = s.submit("p2", "2023-05-03T09:00")
    s.add("adoption", "2023-05-04T09:00", ref=may, level="provincial", form="single")
    s.add("retraction", "2023-06-05T09:00", ref=april, reason="dup")
    path = tmp_path / "s.jsonl"
    path.write_text(s.text(), encoding="utf-8")
    vocab = county.policies[0].vocabulary
    store = Store(str(tmp_path / "s.sqlite"))
    store.ingest(str(path), read_records(path, vocab), vocab)
    start, end = parse_period("2023-05").bounds(county.policies[0].timezone)
    read = {e.id for e in load_window(store, vocab, start, end, county.names_read())}
    assert april not in read and may in read
    assert any(e.type == "retraction" for e in load_window(store, vocab, start, end))


def test_ingest_log_records_what_each_file_touched(county: PolicySet, tmp_path: Path) -> None:
    replay, docs = late(county, tmp_path)
    seq = last_ingest(replay.store)
    assert touched_after(replay.store, seq) is None
    replay.ingest(docs[:5])  # duplicates only: nothing changed, nothing logged
    assert last_ingest(replay.store) == seq


def test_state_round_trips_through_json(county: PolicySet) -> None:
    docs = list(generate(30, 12, 3))
    vocab = county.policies[0].vocabulary
    events = parse_records((("g", i, d, None) for i, d in enumerate(docs)), vocab).events
    _, first, last = evaluate_capturing(county, events, parse_period("2023-11"))
    assert first.passes and first.streaks and first.live_before
    for state in (first, last):
        assert state is not None and decode(encode(state)) == state


def test_packed_best_values_read_and_merge_like_a_dict() -> None:
    """All-text group keys are kept packed (looked up on demand); other keys tagged; a packed
    state overlaid with newer values, all-text or not, equals the merged dict."""
    plain = {("e1", "county"): Decimal("3"), ("e2", "city"): Decimal("7.5")}
    packed = decode_best(plain)
    assert isinstance(packed, PackedValues) and packed == plain and len(packed) == 2
    assert packed.get(("e1", "county")) == Decimal("3") and packed.get(("e1", "city")) is None
    assert packed.get(("e1", None)) is None and packed.get((1, "county")) is None
    at = datetime.fromisoformat("2024-01-05T09:00:00+08:00")  # JSON would write it as a text
    assert decode_best({("e1", at.isoformat()): Decimal(1)}).get(("e1", at)) is None
    newer = {("e1", "county"): Decimal("5"), ("e3", "city"): Decimal("1")}
    merged = packed.overlaid(newer)
    assert isinstance(merged, PackedValues) and merged == {**plain, **newer}
    odd = {("e4", None): Decimal("2"), (7, "city"): Decimal("0.5")}
    assert packed.overlaid(odd) == {**plain, **odd}
    assert decode_best(packed.overlaid(odd)) == {**plain, **odd}
    assert not isinstance(decode_best(odd), PackedValues)


def decode_best(values: Any) -> Any:
    """Best-so-far values through a state's JSON and back."""
    state = State("2023-01", 0, 0, {("r", "t"): (values, {})}, {}, {}, {}, ())
    return decode(encode(state)).passes[("r", "t")][0]


def test_cli_resumes_and_prints_the_same(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    runner = CliRunner()
    stream = str(ROOT / "examples" / "county-department.jsonl")
    pols = ["--family", "county-department", "--policies", str(POLICIES)]
    ingested = runner.invoke(main, ["ingest", *pols, "--db", db, stream])
    assert ingested.exit_code == 0, ingested.output
    args = ["evaluate", *pols, "--db", db, "--period", "2023-05", "--format", "json", "--explain"]
    first = runner.invoke(main, args)
    second = runner.invoke(main, args)
    plain = runner.invoke(main, [*args, "--no-checkpoints"])
    assert first.exit_code == second.exit_code == plain.exit_code == 0, first.output
    assert "checkpoints stored" in first.stderr and "resumed from" in second.stderr
    assert "evaluated in full)" in plain.stderr
    assert first.stdout == second.stdout == plain.stdout


def test_store_backends_resume_alike(store_url: str, county: PolicySet, tmp_path: Path) -> None:
    store = Store(store_url)
    vocab = county.policies[0].vocabulary
    docs = list(generate(20, 12, 11))
    f = tmp_path / "a.jsonl"
    f.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs if d["at"] < "2023-12-20"))
    store.ingest(str(f), read_records(f, vocab), vocab)
    dec = parse_period("2023-12")
    assert evaluate_stored(store, county, dec).how.startswith("evaluated in full")
    f.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs if d["at"] >= "2023-12-20"))
    store.ingest(str(f), read_records(f, vocab), vocab)
    listed = list_checkpoints(store, state_key(county, None))
    # December's start still holds; the state at January's start saw none of the new days
    assert [(c.month, c.usable) for c in listed] == [("2023-12", True), ("2024-01", False)]
    assert listed[1].current and min(c.size for c in listed) > 0
    done = evaluate_stored(store, county, dec)
    assert done.how.startswith("resumed")
    events = store.load_events(vocab, dec.bounds("Asia/Shanghai")[1], county.names_read())
    assert render_json(done.result, True) == render_json(evaluate(county, events, dec), True)
    store.close()


def test_workers_keep_checkpoints_for_a_month(county: PolicySet, tmp_path: Path) -> None:
    """With --workers, a month still stores and resumes from checkpoints, serially and saying
    so; --no-checkpoints splits it (decision 29)."""
    store = Store(str(tmp_path / "store.sqlite"))
    vocab = county.policies[0].vocabulary
    docs = in_department(list(generate(200, 12, 5)))
    f = tmp_path / "a.jsonl"
    f.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs if d["at"] < "2023-12-20"))
    store.ingest(str(f), read_records(f, vocab), vocab)
    dec = parse_period("2023-12")
    first = evaluate_stored(store, county, dec, workers=2)
    assert first.how == "evaluated in full; checkpoints stored"
    assert first.serial == CHECKPOINTED
    f.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs if d["at"] >= "2023-12-20"))
    store.ingest(str(f), read_records(f, vocab), vocab)
    again = evaluate_stored(store, county, dec, workers=2)
    assert again.how.startswith("resumed from the checkpoint") and again.serial == CHECKPOINTED
    split = evaluate_stored(store, county, dec, workers=2, checkpoints=False)
    assert split.how == "evaluated in full" and split.serial is None  # partitioned
    events = store.load_events(vocab, dec.bounds("Asia/Shanghai")[1], county.names_read())
    fresh = render_json(evaluate(county, events, dec), True)
    assert render_json(again.result, True) == render_json(split.result, True) == fresh
    assert evaluate_stored(store, county, dec).serial is None  # one worker: nothing to say
    store.close()


def test_read_only_store_evaluates_without_storing(county: PolicySet, tmp_path: Path) -> None:
    replay = Replay(county, tmp_path)
    replay.ingest(list(generate(10, 12, 2)))
    replay.store.close()
    path = (tmp_path / "store.sqlite").resolve()
    store = Store(f"sqlite:///file:{path}?mode=ro&uri=true")
    done = evaluate_stored(store, county, parse_period("2023-12"))
    assert done.how.startswith("evaluated in full; checkpoints not stored: OperationalError")
    assert done.result.scores
    store.close()


def test_cli_lists_and_clears_checkpoints(tmp_path: Path) -> None:
    """`rulesengine checkpoints` shows each stored state, stale once an ingest touches what
    came before it, and for other policies once a policy changes; --clear empties the cache."""
    db = str(tmp_path / "s.sqlite")
    runner = CliRunner()
    pols = ["--family", "county-department", "--policies", str(POLICIES)]
    stream = str(ROOT / "examples" / "county-department.jsonl")
    assert runner.invoke(main, ["ingest", *pols, "--db", db, stream]).exit_code == 0
    month = ["evaluate", *pols, "--db", db, "--period", "2023-05"]
    assert "checkpoints stored" in runner.invoke(main, month).stderr
    listed = runner.invoke(main, ["checkpoints", *pols, "--db", db])
    lines = listed.stdout.splitlines()
    assert listed.exit_code == 0 and len(lines) == 2, listed.output
    assert lines[0].startswith("2023-05  2023-05-01T00:00:00+08:00  seen up to ingest 1  usable")
    assert lines[1].startswith("2023-06  2023-06-01T00:00:00+08:00  seen up to ingest 1  usable")
    assert "2 checkpoint(s), 2 usable by these policies" in listed.stderr
    late = tmp_path / "late.jsonl"  # dated in May: the state at June's start no longer holds
    late.write_text(
        '{"id": "late1", "type": "submission", "at": "2023-05-20T10:00:00+08:00", '
        '"author": "p01", "category": "problem", "title": "补报"}\n',
        encoding="utf-8",
    )
    assert runner.invoke(main, ["ingest", *pols, "--db", db, str(late)]).exit_code == 0
    lines = runner.invoke(main, ["checkpoints", *pols, "--db", db]).stdout.splitlines()
    assert "  usable  " in lines[0] and "  stale  " in lines[1]
    shutil.copytree(POLICIES, tmp_path / "policies")
    edited = tmp_path / "policies" / "county-department"
    text = (edited / "2023.yaml").read_text(encoding="utf-8")
    (edited / "2023.yaml").write_text(text.replace("\n", "\n# edited\n", 1), encoding="utf-8")
    other = ["--family", "county-department", "--policies", str(edited.parent)]
    listed = runner.invoke(main, ["checkpoints", *other, "--db", db])
    assert listed.stdout.count("other policies or engine") == 2, listed.output
    assert "2 checkpoint(s), 0 usable by these policies" in listed.stderr
    mixed = runner.invoke(main, ["checkpoints", *pols, "--db", db, "--clear"])
    assert mixed.exit_code == 2 and "takes no --family" in mixed.stderr  # nothing deleted
    cleared = runner.invoke(main, ["checkpoints", "--db", db, "--clear"])
    assert cleared.exit_code == 0 and cleared.stdout == "cleared 2 checkpoint(s)\n"
    listed = runner.invoke(main, ["checkpoints", *pols, "--db", db])
    assert listed.stdout == "" and "0 checkpoint(s)" in listed.stderr


def test_cli_checkpoints_errors(tmp_path: Path) -> None:
    """A family that cannot be found creates no store; a read-only store cannot be cleared,
    and says so without a traceback."""
    runner = CliRunner()
    db = tmp_path / "s.sqlite"
    unknown = runner.invoke(main, ["checkpoints", "--db", str(db), "--family", "nope"])
    assert unknown.exit_code == 3 and not db.exists(), unknown.output
    pols = ["--family", "county-department", "--policies", str(POLICIES)]
    stream = str(ROOT / "examples" / "county-department.jsonl")
    assert runner.invoke(main, ["ingest", *pols, "--db", str(db), stream]).exit_code == 0
    month = ["evaluate", *pols, "--db", str(db), "--period", "2023-05"]
    assert runner.invoke(main, month).exit_code == 0
    read_only = f"sqlite:///file:{db.resolve()}?mode=ro&uri=true"
    refused = runner.invoke(main, ["checkpoints", "--db", read_only, "--clear"])
    assert refused.exit_code == 7, refused.output
    assert refused.stderr.startswith("error: cannot clear the checkpoints: OperationalError")
    assert "Traceback" not in refused.output
    assert "2 usable" in runner.invoke(main, ["checkpoints", *pols, "--db", read_only]).stderr

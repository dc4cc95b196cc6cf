"""The store's decoder gives the same times as parsing the text, to the microsecond.

It builds event times from the stored microseconds (``at_us``) in one shared zone object per
offset instead of parsing each text; the result must equal the parsed time, offset included.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import orjson

from rulesengine.events import TrustedDecoder
from rulesengine.policy import load_policy_set
from rulesengine.store.store import micros
from tests.conftest import POLICIES


def test_times_from_microseconds_equal_the_parsed_text() -> None:
    vocab = load_policy_set(POLICIES / "county-department").policies[0].vocabulary
    decode = TrustedDecoder(vocab)
    rnd = random.Random(7)
    zones = [timezone(timedelta(hours=8)), UTC, timezone(-timedelta(hours=5, minutes=30))]
    zones.append(timezone(timedelta(hours=9, minutes=30)))
    for i in range(20000):
        zone = zones[i % len(zones)]
        us = rnd.randrange(0, 4_102_444_800_000_000) if i % 7 else rnd.choice([0, 1, 999_999])
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
        text = at.astimezone(zone).isoformat()
        doc = {"id": f"r{i}", "type": "retraction", "at": text, "ref": "x"}
        got = decode(doc, "s", 0, micros(datetime.fromisoformat(text))).at
        assert got == datetime.fromisoformat(text) and got.isoformat() == text, text
    # beyond 2100 the text is parsed: still exact, and still one zone object per offset
    text = "2150-06-30T23:59:59.999999+08:00"
    far = micros(datetime.fromisoformat(text))
    late = decode({"id": "z", "type": "retraction", "at": text, "ref": "x"}, "s", 0, far).at
    again = decode({"id": "y", "type": "retraction", "at": text, "ref": "x"}).at
    assert late.isoformat() == text and late.tzinfo is again.tzinfo


def test_batch_rows_decode_as_one_document_at_a_time() -> None:
    """``TrustedDecoder.rows`` (the store's loop) gives the events ``__call__`` gives: same
    fields, same times and zones, text fields dropped alike, every example family."""
    timestamps = 0
    for family, stream in FAMILIES:
        vocab = load_policy_set(POLICIES / family).policies[0].vocabulary
        keep = frozenset(("category",))
        rows = []
        for line in (EXAMPLES / stream).read_text(encoding="utf-8").splitlines():
            doc = orjson.loads(line)
            rows.append((line, micros(datetime.fromisoformat(doc["at"]))))
        one = TrustedDecoder(vocab, keep)
        expected = [one(orjson.loads(b), "", 0, us) for b, us in rows]
        got = TrustedDecoder(vocab, keep).rows(rows)
        assert got == expected and len(got) == len(rows) > 50
        assert [e.at.isoformat() for e in got] == [e.at.isoformat() for e in expected]
        timestamps += sum(isinstance(e.data.get("due"), datetime) for e in got)
    assert timestamps > 0  # the timestamp fields' path was taken


FAMILIES = [
    ("county-department", "county-department.jsonl"),
    ("city", "city.jsonl"),
    ("changshan-county", "changshan-county.jsonl"),
    ("shangjie-district", "shangjie-district.jsonl"),
    ("zhonglou-district", "zhonglou-district.jsonl"),
]
EXAMPLES = POLICIES.parent / "examples"

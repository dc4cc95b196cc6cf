"""The store's decoder gives the same times as parsing the text, to the microsecond.

It builds event times from the stored microseconds (``at_us``) in one shared zone object per
offset instead of parsing each text; the result must equal the parsed time, offset included.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from rulesengine.events import Event, TrustedDecoder
from rulesengine.loading import read_events
from rulesengine.policy import load_policy_set
from rulesengine.store.store import micros
from tests.conftest import POLICIES


def decode_one(decoder: TrustedDecoder, doc: dict[str, Any], us: int) -> Event:
    """One stored document through the store's loop."""
    return decoder.rows([(orjson.dumps(doc), us)])[0]


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
        got = decode_one(decode, doc, micros(datetime.fromisoformat(text))).at
        assert got == datetime.fromisoformat(text) and got.isoformat() == text, text
    # beyond 2100 the text is parsed: still exact, and still one zone object per offset
    text = "2150-06-30T23:59:59.999999+08:00"
    far = micros(datetime.fromisoformat(text))
    late = decode_one(decode, {"id": "z", "type": "retraction", "at": text, "ref": "x"}, far).at
    again = decode_one(decode, {"id": "y", "type": "retraction", "at": text, "ref": "x"}, far).at
    assert late.isoformat() == text and late.tzinfo is again.tzinfo


def test_stored_rows_decode_to_the_checked_events() -> None:
    """``TrustedDecoder.rows`` (the store's loop) gives back the events the checking decoder
    made, from their canonical form as the store keeps it: same fields, same times and zones,
    with unread text fields dropped, on every example family."""
    timestamps = 0
    for family, stream in FAMILIES:
        vocab = load_policy_set(POLICIES / family).policies[0].vocabulary
        keep = frozenset(("category",))
        checked = read_events([str(EXAMPLES / stream)], vocab).events
        rows = [(ev.canonical(), micros(ev.at)) for ev in checked]
        for share in (True, False):
            got = TrustedDecoder(vocab, keep, share).rows(rows)
            assert len(got) == len(checked) > 50
            for ev, back in zip(checked, got, strict=True):
                spec = vocab.types[ev.type]
                kept = {
                    k: v
                    for k, v in ev.data.items()
                    if spec.roster or spec.fields[k].type != "text" or k in keep
                }
                assert (back.id, back.type, back.data) == (ev.id, ev.type, kept), ev.id
                assert back.at == ev.at and back.at.isoformat() == ev.at.isoformat()
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

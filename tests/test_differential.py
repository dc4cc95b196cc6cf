"""Differential tests: the engine against a plain, independent implementation of the reference
points rule (bench/peers.py's hand-written loop), on random streams of several seeds and on the
example stream with its retractions, topic adoptions and repeated adoptions of one piece."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from bench.generate import generate
from bench.peers import credit, hand_points, prepare
from rulesengine.evaluate import evaluate_many
from rulesengine.intake import parse_records
from rulesengine.periods import parse_period
from rulesengine.policy import PolicySet
from tests.conftest import ROOT

MONTHS = [parse_period(f"2023-{m:02d}") for m in range(1, 13)]


def engine_totals(county: PolicySet, docs: list[dict[str, Any]]) -> dict[tuple[str, str], Decimal]:
    vocab = county.policies[0].vocabulary
    batch = parse_records(((("gen", i, dict(d), None)) for i, d in enumerate(docs)), vocab)
    assert not batch.rejects, batch.rejects[:3]
    out = {}
    for month, result in zip(MONTHS, evaluate_many(county, batch.events, MONTHS), strict=True):
        for s in result.scores:
            if s.subject_kind == "person" and s.rule == "adoption_points" and s.points:
                out[(s.subject, month.id)] = s.points
    return out


def reference_totals(docs: list[dict[str, Any]]) -> dict[tuple[str, str], Decimal]:
    return {k: v for k, v in credit(prepare(docs), hand_points).items() if v}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_engine_equals_plain_loop_on_random_streams(county: PolicySet, seed: int) -> None:
    docs = list(generate(60, 12, seed))
    assert engine_totals(county, docs) == reference_totals(docs)


def test_engine_equals_plain_loop_on_the_example_stream(county: PolicySet) -> None:
    text = (ROOT / "examples" / "county-department.jsonl").read_bytes()
    docs = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    got = engine_totals(county, docs)
    assert got == reference_totals(docs)
    assert got  # the stream does score

"""An evaluation frees its events when it returns (no reference cycle keeps them alive).

A province's events are most of a gigabyte; if an evaluation left them in a cycle, they would
stay until the cyclic collector ran, and the next evaluation in the same process (a compare, a
replay, a server) would hold two copies at once.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest

import rulesengine.evaluate as evaluate_module
from rulesengine.errors import PeriodError
from rulesengine.evaluate import evaluate_many
from rulesengine.events import Event
from rulesengine.loading import read_events
from rulesengine.periods import parse_period
from rulesengine.policy import PolicySet
from tests.conftest import ROOT


def test_evaluation_leaves_no_cycle_holding_events(county: PolicySet) -> None:
    batch = read_events(
        [str(ROOT / "examples" / "county-department.jsonl")], county.policies[0].vocabulary
    )
    periods = [parse_period(p) for p in ("2023-03", "2023-Q1", "2023")]
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        results = evaluate_many(county, batch.events, periods)
        del batch
        gc.collect()
        stranded = [o for o in gc.garbage if isinstance(o, Event)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert results and sum(len(r.scores) for r in results) > 0
    assert stranded == []


def test_evaluation_pauses_the_collector_and_restores_it(
    county: PolicySet, monkeypatch: pytest.MonkeyPatch
) -> None:
    vocab = county.policies[0].vocabulary
    batch = read_events([str(ROOT / "examples" / "county-department.jsonl")], vocab)
    seen: list[bool] = []
    original = evaluate_module.evaluate_period

    def spy(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return original(*args)

    monkeypatch.setattr(evaluate_module, "evaluate_period", spy)
    assert gc.isenabled()
    evaluate_many(county, batch.events, [parse_period("2023-03"), parse_period("2023")])
    assert seen == [False, False] and gc.isenabled()
    with pytest.raises(PeriodError):
        evaluate_many(county, batch.events, [parse_period("2031-03")])
    assert gc.isenabled()
    gc.disable()
    try:
        evaluate_many(county, batch.events, [parse_period("2023-03")])
        assert not gc.isenabled()
    finally:
        gc.enable()

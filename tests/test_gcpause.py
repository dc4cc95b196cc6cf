"""The collector pause around decoding and evaluating (rulesengine.gcpause)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from rulesengine import gcpause
from rulesengine.gcpause import collector_paused


@pytest.fixture()
def collector_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(gcpause, "PROMOTE_AT", 500)  # a small "big block", to keep tests fast
    was = gc.isenabled()
    gc.enable()
    gc.collect()
    yield
    if not was:
        gc.disable()


def _generation_of(obj: object) -> int | None:
    for generation in range(3):
        if any(o is obj for o in gc.get_objects(generation)):
            return generation
    return None


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_paused_inside_and_restored_after(collector_on: None) -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the outer block restores
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError
    assert gc.isenabled()


def test_what_a_big_block_made_is_old_when_it_ends(collector_on: None) -> None:
    # Otherwise the next young collection walks every object the block made (a million events).
    with collector_paused():
        made = [[i] for i in range(1000)]
    assert _generation_of(made[0]) == 2
    assert gc.get_freeze_count() == 0


def test_a_small_block_leaves_the_collector_as_it_was(collector_on: None) -> None:
    with collector_paused():
        made = [[i] for i in range(100)]
    assert _generation_of(made[0]) == 0


def test_promotions_are_followed_by_a_full_collection_now_and_then(
    collector_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A promotion moves young cyclic garbage out of reach of young collections; a program that
    # runs big evaluations back to back still has it collected.
    monkeypatch.setattr(gcpause, "FULL_EVERY", 3)
    monkeypatch.setattr(gcpause, "_promotions", 0)
    gc.disable()  # the cycle stays young until the block begins
    dead = _cycle()
    gc.enable()
    fulls = gc.get_stats()[2]["collections"]
    for n in range(3):
        with collector_paused():
            made = [[i] for i in range(1000)]
        del made
        if n < 2:
            assert dead() is not None  # promoted: only a full collection frees it
    assert dead() is None
    assert gc.get_stats()[2]["collections"] > fulls


def test_the_programs_own_frozen_objects_stay_frozen(collector_on: None) -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            made = [[i] for i in range(1000)]
        assert gc.get_freeze_count() == frozen
        assert _generation_of(made[0]) in (0, 1)  # young: left to the collector
    finally:
        gc.unfreeze()


def test_disabled_collector_stays_disabled(collector_on: None) -> None:
    gc.disable()
    with collector_paused():
        made = [[i] for i in range(1000)]
    assert not gc.isenabled()
    assert _generation_of(made[0]) == 0

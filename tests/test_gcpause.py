"""The collector pause around decoding and evaluating (rulesengine.gcpause)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from rulesengine.gcpause import collector_paused


@pytest.fixture()
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def _generation_of(obj: object) -> int | None:
    for generation in range(3):
        if any(o is obj for o in gc.get_objects(generation)):
            return generation
    return None


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


def test_what_the_block_made_is_old_when_it_ends(collector_on: None) -> None:
    # Otherwise the next young collection walks every object the block made (a million events).
    with collector_paused():
        made = [[i] for i in range(1000)]
    assert _generation_of(made[0]) == 2
    assert gc.get_freeze_count() == 0


def test_the_programs_own_frozen_objects_stay_frozen(collector_on: None) -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            made = [[i] for i in range(10)]
        assert gc.get_freeze_count() == frozen
        assert _generation_of(made[0]) == 0  # left where the collector found it
    finally:
        gc.unfreeze()


def test_disabled_collector_stays_disabled() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            made = [[i] for i in range(10)]
        assert not gc.isenabled()
        assert _generation_of(made[0]) == 0
    finally:
        if was:
            gc.enable()

"""Pausing Python's cyclic garbage collector while making many small objects.

Decoding a million events, indexing them and evaluating a year make millions of small
containers (events, their field dicts, tuples, lists of contributions) and no reference cycles.
The cyclic collector cannot free any of them, but every few hundred thousand new objects it walks
all of them again: with a province's events in memory that was a third of an evaluation's time.
Reference counting still frees everything as usual; an evaluation releases its one known cycle
itself (:meth:`rulesengine.context.Context.release`).

When the block ends, what it made is moved to the oldest generation before the collector is
enabled again (``gc.freeze()`` then ``gc.unfreeze()``, both O(1)). Otherwise the next young
collection walks every object the block made: at province scale that walk took 0.15-0.2 s after
reading the events and again after evaluating them. Skipped when the program
has frozen objects of its own (``gc.get_freeze_count()``), which unfreezing would release.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block (restored as it was found, also on error)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            if gc.get_freeze_count() == 0:
                gc.freeze()  # everything to the permanent generation,
                gc.unfreeze()  # and from there to the oldest: no young collection walks it
            gc.enable()

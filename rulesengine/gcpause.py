"""Pausing Python's cyclic garbage collector while making many small objects.

Decoding a million events, indexing them and evaluating a year make millions of small
containers (events, their field dicts, tuples, lists of contributions) and no reference cycles.
The cyclic collector cannot free any of them, but every few hundred thousand new objects it walks
all of them again: with a province's events in memory that was a third of an evaluation's time.
Reference counting still frees everything as usual; an evaluation releases its one known cycle
itself (:meth:`rulesengine.context.Context.release`).

When a block that made many objects ends (``PROMOTE_AT`` or more in the young generation: a
city's or a province's events, say), they are moved to the oldest generation before the collector
is enabled again (``gc.freeze()`` then ``gc.unfreeze()``, both O(1) on Python 3.11). Otherwise the
next young collection walks every object the block made: at province scale that walk took
0.15-0.2 s after reading the events and again after evaluating them. This promotes every young
object of the process, not only the block's, and restarts the collector's counts, which would
keep it from ever running a full collection in a program that runs big evaluations back to back:
so every ``FULL_EVERY``-th promotion is followed by a full collection (``gc.collect()``), which
finds any cyclic garbage the promotions moved out of reach of the young collections. Smaller
blocks leave the collector exactly as they found it, and so does a program that has frozen
objects of its own (``gc.get_freeze_count()``), which unfreezing would release.
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
            _promote()
            gc.enable()


PROMOTE_AT = 50_000  # young objects a block must have made for them to be promoted
FULL_EVERY = 8  # promotions between two full collections
_promotions = 0


def _promote() -> None:
    """Move what a big block made to the oldest generation (see the module's docstring)."""
    global _promotions
    if gc.get_count()[0] < PROMOTE_AT or gc.get_freeze_count() != 0:
        return
    gc.freeze()  # every tracked object to the permanent generation,
    gc.unfreeze()  # and from there to the oldest: no young collection walks them
    _promotions += 1
    if _promotions % FULL_EVERY == 0:
        gc.collect()

"""Pausing Python's cyclic garbage collector while making many small objects.

Decoding a million events, indexing them and evaluating a year make millions of small
containers (events, their field dicts, tuples, lists of contributions) and no reference cycles.
The cyclic collector cannot free any of them, but every few hundred thousand new objects it walks
all of them again: with a province's events in memory that was a third of an evaluation's time.
Reference counting still frees everything as usual; an evaluation releases its one known cycle
itself (:meth:`rulesengine.context.Context.release`).
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
            gc.enable()

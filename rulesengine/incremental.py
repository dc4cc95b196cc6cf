"""Evaluating one period from the store, resuming a month from its checkpoint when one is valid.

The IO edge of :mod:`rulesengine.checkpoint`: a month whose start has a valid stored state is
evaluated from that state and the events of the month (with what they refer to); otherwise from
every event before its end, and the states at its start and end are stored for next time.
Quarters and years are always evaluated from every event before their end. A month with
checkpoints is evaluated serially whatever the number of workers (decision 29).
"""

from __future__ import annotations

from dataclasses import dataclass

from rulesengine.checkpoint import (
    decode,
    encode,
    evaluate_capturing,
    evaluate_resumed,
    state_key,
)
from rulesengine.gcpause import collector_paused
from rulesengine.partition import evaluate_partitioned
from rulesengine.periods import Period
from rulesengine.policy import Policy, PolicySet
from rulesengine.results import Result
from rulesengine.store import Store
from rulesengine.store.window import last_ingest, load_checkpoint, load_window, save_checkpoint

CHECKPOINTED = "a month is evaluated with checkpoints (--no-checkpoints splits it)"


@dataclass(frozen=True, slots=True)
class Evaluated:
    """A stored evaluation: the result, how many events were read, and how it was done (for
    the operator: ``resumed from the checkpoint at ...``, or why it was evaluated in full)."""

    result: Result
    events_read: int
    how: str
    serial: str | None = None  # with workers: why it was evaluated serially


@collector_paused()  # one pause for reading and evaluating: see rulesengine.gcpause
def evaluate_stored(
    store: Store,
    policies: PolicySet,
    period: Period,
    forced: Policy | None = None,
    workers: int = 1,
    checkpoints: bool = True,
) -> Evaluated:
    """Evaluate ``period`` from ``store``. With ``checkpoints``, a month resumes from a valid
    checkpoint at its start, and a month evaluated in full stores its checkpoints, both
    serially whatever ``workers`` says (``Evaluated.serial`` says so; decision 29). Otherwise
    ``workers`` (more than 1) evaluates in full, partitioned (:mod:`rulesengine.partition`)."""
    main = forced or policies.in_force(period)
    vocab = policies.policies[0].vocabulary
    keep = policies.names_read()
    if main is None or period.kind != "month" or not checkpoints:
        tz = (main or policies.policies[0]).timezone
        events = store.load_events(vocab, period.bounds(tz)[1], keep)
        results, serial = evaluate_partitioned(policies, events, [period], workers, forced)
        return Evaluated(results[0], len(events), "evaluated in full", serial)
    # A resumed month reads one month, which a split would not speed up; a split evaluation
    # takes no state, so a month evaluated in full with workers would never store any.
    serial = CHECKPOINTED if workers > 1 else None
    start, end = period.bounds(main.timezone)
    key = state_key(policies, forced)
    seq = last_ingest(store)  # before reading: a state is never newer than its events
    found = load_checkpoint(store, key, start)
    if found is not None:
        state = decode(found[1])
        events = load_window(store, vocab, start, end, keep, state.open_tasks)
        result, last = evaluate_resumed(policies, events, period, state, forced)
        how = f"resumed from the checkpoint at {start.isoformat()} (ingest {found[0]})"
        if last is not None:
            why = save_checkpoint(store, key, end, last.month, seq, encode(last))
            how += f"; the next month's checkpoint not stored: {why}" if why else ""
        return Evaluated(result, len(events), how, serial)
    events = store.load_events(vocab, end, keep)
    result, first, last = evaluate_capturing(policies, events, period, forced)
    why = save_checkpoint(store, key, start, first.month, seq, encode(first))
    if why is None and last is not None:
        why = save_checkpoint(store, key, end, last.month, seq, encode(last))
    how = f"checkpoints not stored: {why}" if why else "checkpoints stored"
    return Evaluated(result, len(events), f"evaluated in full; {how}", serial)

"""Evaluation benchmark: a whole year (12 months, 4 quarters, the year) from a store.

    python -m bench.evaluate --people 10000          # generate, ingest, then evaluate
    python -m bench.evaluate --db province.sqlite    # an existing store
    python -m bench.evaluate --db province.sqlite --workers 2
    python -m bench.evaluate --people 10000 --moves-in-department --workers 2

Prints, in this order (peak memory only grows): the time to evaluate one month (December) from
the store (in full, storing its checkpoints, as `rulesengine evaluate` does); when it generated
the stream, the time to ingest its last day (held back until then) and to re-evaluate December
after it (resumed from December's checkpoint; ``--no-checkpoints``: in full again); then the
load time (reading the store), the evaluation time of all 17 periods, events/s and peak memory.
With ``--workers N`` the periods are evaluated by ``evaluate_partitioned`` (split by department,
the generated streams' top-level units); it says so when it evaluated serially, and peak memory
is given for this process and for the largest worker process. The generator moves a few people
between departments, which makes a split inexact (so serial); ``--moves-in-department`` keeps
each generated move inside the person's department.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson

from bench.generate import generate
from bench.ingest import ROOT, machine
from rulesengine.events import Event
from rulesengine.formats import read_records
from rulesengine.incremental import evaluate_stored
from rulesengine.partition import evaluate_partitioned
from rulesengine.periods import Period, parse_period
from rulesengine.policy import PolicySet, load_policy_set
from rulesengine.results import Result
from rulesengine.store import Store

T = TypeVar("T")


def year_periods(year: int) -> list[str]:
    """All months, quarters and the year itself."""
    return (
        [f"{year}-{m:02d}" for m in range(1, 13)]
        + [f"{year}-Q{q}" for q in range(1, 5)]
        + [str(year)]
    )


def moves_in_department(docs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """bench.generate's events with each move sent to the same section of the person's own
    department (units are ``dNNN`` and ``dNNN-sK``), so that nobody changes top-level unit."""
    dept: dict[str, str] = {}
    for doc in docs:
        if doc["type"] == "person_joined":
            dept[doc["person"]] = doc["unit"].split("-")[0]
        elif doc["type"] == "person_moved":
            home, section = dept[doc["person"]], doc["unit"].split("-")[1]
            doc = {**doc, "unit": f"{home}-{section}"}
        yield doc


def peak_mib() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=10000)
    ap.add_argument("--db", default=None, help="an existing store (skips generating)")
    ap.add_argument("--workers", type=int, default=1, help="processes (evaluate_partitioned)")
    ap.add_argument(
        "--moves-in-department",
        action="store_true",
        help="when generating: keep every move inside the person's department",
    )
    ap.add_argument(
        "--no-checkpoints",
        dest="checkpoints",
        action="store_false",
        help="evaluate months from every event (no checkpoints read or stored)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="read and evaluate the year this many times; report the best (and the range)",
    )
    args = ap.parse_args(argv)
    policies = load_policy_set(ROOT / "policies" / "county-department")
    vocab = policies.policies[0].vocabulary
    with tempfile.TemporaryDirectory() as tmp:
        db, last_day = args.db, None
        if db is None:
            base, last_day = Path(tmp) / "stream.jsonl", Path(tmp) / "last-day.jsonl"
            with base.open("wb") as fh, last_day.open("wb") as tail:
                docs = generate(args.people, 12)
                for ev in moves_in_department(docs) if args.moves_in_department else docs:
                    (tail if ev["at"].startswith("2023-12-31") else fh).write(
                        orjson.dumps(ev) + b"\n"
                    )
            db = str(Path(tmp) / "bench.sqlite")
            Store(db).ingest(str(base), read_records(base, vocab), vocab)
        store = Store(db)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        month = parse_period("2023-12")
        n, secs, how = one_month(store, policies, month, args.workers, args.checkpoints)
        print(
            f"evaluate one month ({month.id}) from the store: {n:,} events read, {secs:.1f} s "
            f"({n / secs:,.0f} events/s; {how}); peak memory {peak_mib()[0]:,.0f} MiB"
        )
        if last_day is not None:
            t0 = time.perf_counter()
            report = store.ingest(str(last_day), read_records(last_day, vocab), vocab)
            t1 = time.perf_counter()
            n, secs, how = one_month(store, policies, month, args.workers, args.checkpoints)
            print(
                f"ingest one more day ({report.accepted:,} events): {t1 - t0:.2f} s; then "
                f"re-evaluate {month.id}: {secs:.2f} s ({n:,} events read; {how})"
            )
        runs, seen = year_runs(
            store,
            policies,
            args.repeat,
            args.workers,
            lambda events, results, serial: (
                len(events),
                sum(len(r.actions) for r in results),
                serial,
            ),
        )
        assert seen is not None
        n, actions, serial = seen
        peak, child = peak_mib()
        if args.workers > 1:
            print(
                f"workers {args.workers}: "
                + (
                    f"evaluated serially: {serial}"
                    if serial
                    else f"partitioned; peak memory of the largest worker {child:,.0f} MiB"
                )
            )
        load, ev = min(runs, key=sum)
        spread = (
            f" (best of {len(runs)}; all {min(map(sum, runs)):.2f}-{max(map(sum, runs)):.2f} s)"
        )
        print(
            f"evaluate year: {n:,} events; load {load:.2f} s, 17 periods {ev:.2f} s, "
            f"total {load + ev:.2f} s{spread if len(runs) > 1 else ''} "
            f"({n / (load + ev):,.0f} events/s); {actions:,} actions; peak memory {peak:,.0f} MiB"
            f" (before loading {base_rss:,.0f} MiB) on {machine()}"
        )
        store.close()


def year_runs(
    store: Store,
    policies: PolicySet,
    repeat: int,
    workers: int = 1,
    inspect: Callable[[list[Event], list[Result], str | None], T] | None = None,
) -> tuple[list[tuple[float, float]], T | None]:
    """Read 2023 from ``store`` (every event before its end, and every retraction) and evaluate
    its 17 periods with ``evaluate_partitioned``, ``repeat`` times: the (load, evaluate) seconds
    of each run, and what ``inspect(events, results, serial)`` returned after the last run (it
    runs after each run's timing, before the run's events and results are freed)."""
    periods = [parse_period(p) for p in year_periods(2023)]
    runs: list[tuple[float, float]] = []
    seen: T | None = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        events = read_year(store, policies)
        t1 = time.perf_counter()
        results, serial = evaluate_partitioned(policies, events, periods, workers)
        runs.append((t1 - t0, time.perf_counter() - t1))
        if inspect is not None:
            seen = inspect(events, results, serial)
        del events, results  # the next run starts from an empty heap, as a new process does
    return runs, seen


def year_end(policies: PolicySet) -> datetime:
    """The end of 2023 in the time zone of the family's first policy."""
    return parse_period("2023").bounds(policies.policies[0].timezone)[1]


def read_year(store: Store, policies: PolicySet) -> list[Event]:
    """2023 as the year loop reads it: every event before its end, and every retraction."""
    vocab = policies.policies[0].vocabulary
    return store.load_events(vocab, year_end(policies), policies.names_read())


def one_month(
    store: Store, policies: PolicySet, month: Period, workers: int, checkpoints: bool = True
) -> tuple[int, float, str]:
    """Evaluate ``month`` from the store as `rulesengine evaluate --period` does (resuming from
    a checkpoint when one is valid): (events read, seconds, how it was evaluated)."""
    t0 = time.perf_counter()
    done = evaluate_stored(store, policies, month, None, workers, checkpoints)
    return done.events_read, time.perf_counter() - t0, done.how


if __name__ == "__main__":
    main()

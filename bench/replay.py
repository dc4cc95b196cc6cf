"""Replay benchmark: evaluate a year from the store twice and check the bytes are identical.

    python -m bench.replay --people 1000             # generate, ingest, then replay
    python -m bench.replay --db province.sqlite      # an existing store, opened read-only

There is no ``replay`` command yet; this measures the library calls one would make. Each run
opens a fresh :class:`Store` and loads the policies afresh, reads 2023, evaluates all 17 periods
(12 months, 4 quarters, the year) under the policy in force and renders every result as the JSON
contract with explanations (``render_json(result, explain=True)``). The second run's output must
equal the first's byte for byte: if not, the first difference is printed and the exit status is 1.
Prints the wall time of each run (load, evaluate, render), events/s, peak memory and the SHA-256
of the 17 documents concatenated in period order; ``--expect`` checks that digest against an
earlier run's (a separate process, so a different string hash seed and set order).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass

from bench.compare import FAMILY, YEAR, bench_store, peak_mib
from bench.evaluate import year_periods
from bench.ingest import machine
from rulesengine.evaluate import evaluate_many
from rulesengine.periods import parse_period
from rulesengine.policy import load_policy_set
from rulesengine.render import render_json
from rulesengine.store import Store


@dataclass(frozen=True, slots=True)
class Run:
    """One replay: the rendered documents (UTF-8, one per period), the phase times and the peak
    memory when it ended (the second run's also counts the first run's documents, kept to compare
    against)."""

    documents: list[bytes]
    events: int
    load: float
    evaluate: float
    render: float
    peak: float

    @property
    def total(self) -> float:
        """Wall time of the whole run, store to bytes."""
        return self.load + self.evaluate + self.render

    def sha256(self) -> str:
        """SHA-256 of the documents concatenated in period order."""
        digest = hashlib.sha256()
        for doc in self.documents:
            digest.update(doc)
        return digest.hexdigest()


def replay(url: str) -> Run:
    """Open the store afresh, read the year, evaluate the 17 periods and render each result."""
    policies = load_policy_set(FAMILY)
    first = policies.policies[0]
    periods = [parse_period(p) for p in year_periods(YEAR)]
    store = Store(url)
    try:
        t0 = time.perf_counter()
        events = store.load_events(
            first.vocabulary,
            parse_period(str(YEAR)).bounds(first.timezone)[1],
            policies.names_read(),
        )
        t1 = time.perf_counter()
        results = evaluate_many(policies, events, periods)
        t2 = time.perf_counter()
        documents = [render_json(r, explain=True).encode("utf-8") for r in results]
        t3 = time.perf_counter()
    finally:
        store.close()
    return Run(documents, len(events), t1 - t0, t2 - t1, t3 - t2, peak_mib())


def first_difference(a: Run, b: Run) -> str | None:
    """Where two runs' output first differs (period, line, both lines), or None if identical."""
    periods = year_periods(YEAR)
    for period, x, y in zip(periods, a.documents, b.documents, strict=True):
        if x == y:
            continue
        xs, ys = x.split(b"\n"), y.split(b"\n")
        for number, (p, q) in enumerate(zip(xs, ys, strict=False), start=1):
            if p != q:
                return (
                    f"{period}, line {number}:\n  first:  {p.decode('utf-8', 'replace')}\n"
                    f"  second: {q.decode('utf-8', 'replace')}"
                )
        return f"{period}: {len(x):,} bytes then {len(y):,} bytes ({len(xs)} vs {len(ys)} lines)"
    return None


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, print its figures; exit 1 if the two runs differ."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=10000)
    ap.add_argument("--db", default=None, help="an existing store, opened read-only")
    ap.add_argument(
        "--expect",
        default=None,
        help="the SHA-256 an earlier run printed (another process, so another hash seed): "
        "exit 1 if this run's differs",
    )
    args = ap.parse_args(argv)
    with bench_store(args.people, args.db) as url:
        base_rss = peak_mib()
        runs = [replay(url), replay(url)]
    peak = peak_mib()
    for n, run in enumerate(runs, start=1):
        size = sum(len(d) for d in run.documents)
        print(
            f"replay {YEAR} run {n}: {run.events:,} events; load {run.load:.1f} s, "
            f"17 periods {run.evaluate:.1f} s, render (explain) {run.render:.1f} s "
            f"({size / 2**20:,.1f} MiB of JSON), total {run.total:.1f} s "
            f"({run.events / run.total:,.0f} events/s); peak memory {run.peak:,.0f} MiB; "
            f"sha256 {run.sha256()}"
        )
    print(f"peak memory {peak:,.0f} MiB (before the first run {base_rss:,.0f} MiB) on {machine()}")
    where = first_difference(*runs)
    if where is not None or runs[0].sha256() != runs[1].sha256():
        print(f"NOT byte-identical: {where}")
        sys.exit(1)
    print("byte-identical: yes")
    if args.expect is not None and args.expect != runs[0].sha256():
        print(f"NOT the expected output: sha256 {runs[0].sha256()}, expected {args.expect}")
        sys.exit(1)


if __name__ == "__main__":
    main()

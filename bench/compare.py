"""Compare benchmark: a year under the policy in force against a year under another policy.

    python -m bench.compare --people 1000            # generate, ingest, then compare
    python -m bench.compare --db province.sqlite     # an existing store, opened read-only

There is no ``compare`` command yet; this measures the library calls one would make: read 2023
from the store, evaluate all 17 periods (12 months, 4 quarters, the year) under the policy in
force (``policies/county-department``), evaluate them again with another policy forced for every
period (a what-if; by default ``policies/county-department/2024.yaml``), then compute the
difference per period: scores that differ, actions found on one side only, ranking changes.
Prints the wall time of each phase, events/s, peak memory and the counts of differences.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import orjson

from bench.evaluate import year_periods
from bench.generate import generate
from bench.ingest import ROOT, machine
from rulesengine.evaluate import evaluate_many
from rulesengine.formats import read_records
from rulesengine.periods import parse_period
from rulesengine.policy import PolicySet, load_policy, load_policy_set
from rulesengine.render import table
from rulesengine.results import Result
from rulesengine.store import Store

FAMILY = ROOT / "policies" / "county-department"
YEAR = 2023


def read_only_url(db: str) -> str:
    """The store URL for ``db``: a plain SQLite file is opened read-only (the benchmark never
    writes to a store it is given); a URL is used as it is."""
    if "://" in db:
        return db
    return f"sqlite:///file:{Path(db).resolve()}?mode=ro&uri=true"


@contextmanager
def bench_store(people: int, db: str | None) -> Iterator[str]:
    """The URL of the store to read: ``db`` (read-only), else a temporary SQLite file holding a
    freshly generated and ingested stream of ``people`` people for 12 months of 2023."""
    if db is not None:
        yield read_only_url(db)
        return
    vocab = load_policy_set(FAMILY).policies[0].vocabulary
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "stream.jsonl"
        with stream.open("wb") as fh:
            for ev in generate(people, 12, year=YEAR):
                fh.write(orjson.dumps(ev) + b"\n")
        path = str(Path(tmp) / "bench.sqlite")
        store = Store(path)
        store.ingest(str(stream), read_records(stream, vocab), vocab)
        store.close()
        yield path


def peak_mib() -> float:
    """The process's maximum resident set size so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True, slots=True)
class PeriodDiff:
    """How one period's result under the forced policy differs from the one in force.

    ``scores``: (rule, subject) scores whose points differ or that exist on one side only;
    ``subjects``: distinct subjects among them; ``only_base`` / ``only_other``: actions (by rule,
    action, subject, target) found only under the policy in force / only under the forced one;
    ``evidence``: actions on both sides with different evidence; ``rankings``: ranked subjects
    whose rank or tier changed (or ranked on one side only); ``grades``, ``payments``: rows that
    differ or exist on one side only."""

    period: str
    scores: int
    subjects: int
    only_base: int
    only_other: int
    evidence: int
    rankings: int
    grades: int
    payments: int


def _changed(
    a: dict[tuple[str, ...], object], b: dict[tuple[str, ...], object]
) -> set[tuple[str, ...]]:
    """Keys whose values differ, or that are present on one side only."""
    return {k for k in a.keys() | b.keys() if a.get(k, None) != b.get(k, None)}


def diff_results(base: Result, other: Result) -> PeriodDiff:
    """The difference between two evaluations of the same period, as a compare would list it."""

    def scores(r: Result) -> dict[tuple[str, ...], object]:
        return {(s.rule, s.subject): s.points for s in r.scores}

    def actions(r: Result) -> dict[tuple[str, ...], object]:
        return {(a.rule, a.action, a.subject, a.target or ""): a.evidence for a in r.actions}

    def rankings(r: Result) -> dict[tuple[str, ...], object]:
        return {(x.rule, x.subject): (x.rank, x.tier) for x in r.rankings}

    def grades(r: Result) -> dict[tuple[str, ...], object]:
        return {(g.rule, g.subject): (g.points, g.grade, g.vetoed) for g in r.grades}

    def payments(r: Result) -> dict[tuple[str, ...], object]:
        return {(p.rule, p.person): (p.amount, p.count) for p in r.payments}

    score_keys = _changed(scores(base), scores(other))
    a, b = actions(base), actions(other)
    return PeriodDiff(
        period=base.period,
        scores=len(score_keys),
        subjects=len({k[1] for k in score_keys}),
        only_base=len(a.keys() - b.keys()),
        only_other=len(b.keys() - a.keys()),
        evidence=sum(1 for k in a.keys() & b.keys() if a[k] != b[k]),
        rankings=len(_changed(rankings(base), rankings(other))),
        grades=len(_changed(grades(base), grades(other))),
        payments=len(_changed(payments(base), payments(other))),
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=10000)
    ap.add_argument("--db", default=None, help="an existing store, opened read-only")
    ap.add_argument(
        "--policy",
        default=str(FAMILY / "2024.yaml"),
        help="the policy forced for every period of 2023 (default: the 2024 policy)",
    )
    args = ap.parse_args(argv)
    policies = load_policy_set(FAMILY)
    forced = load_policy(args.policy)
    vocab = policies.policies[0].vocabulary
    keep = policies.names_read() | PolicySet(forced.family, (forced,)).names_read()
    periods = [parse_period(p) for p in year_periods(YEAR)]
    with bench_store(args.people, args.db) as url:
        store = Store(url)
        base_rss = peak_mib()
        t0 = time.perf_counter()
        events = store.load_events(
            vocab, parse_period(str(YEAR)).bounds(policies.policies[0].timezone)[1], keep
        )
        t1 = time.perf_counter()
        base = evaluate_many(policies, events, periods)
        t2 = time.perf_counter()
        other = evaluate_many(policies, events, periods, forced=forced)
        t3 = time.perf_counter()
        diffs = [diff_results(a, b) for a, b in zip(base, other, strict=True)]
        t4 = time.perf_counter()
        store.close()
    peak = peak_mib()
    in_force = base[0].policy.version
    print(
        f"compare {YEAR}: {len(events):,} events; in force {in_force} vs forced "
        f"{forced.version} ({Path(args.policy).name}); load {t1 - t0:.1f} s, "
        f"evaluate in force {t2 - t1:.1f} s, evaluate forced {t3 - t2:.1f} s, "
        f"diff {t4 - t3:.2f} s, total {t4 - t0:.1f} s ({len(events) / (t4 - t0):,.0f} events/s); "
        f"peak memory {peak:,.0f} MiB (before loading {base_rss:,.0f} MiB) on {machine()}"
    )
    names = [f.name for f in fields(PeriodDiff)]
    rows = [[str(getattr(d, n)) for n in names] for d in diffs]
    totals = [sum(getattr(d, n) for d in diffs) for n in names[1:]]
    rows.append(["all", *map(str, totals)])
    print(table(names, rows))


if __name__ == "__main__":
    main()

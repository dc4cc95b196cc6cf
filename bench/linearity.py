"""Linearity benchmark: a small and a large store measured alternately under the same conditions.

    python -m bench.linearity --small city.sqlite --large province.sqlite --rounds 4 --repeat 3
    python -m bench.linearity --people 1000 --factor 10      # generate both, then measure

The acceptance point "cost grows linearly: 10x the events takes no more than 12x the time" compares
a city (1,000 people, about 100,000 events) with a province (10,000 people, about 1,000,000
events). On a shared virtual machine two separate benchmark processes a few minutes apart differ
by up to 20%, more than the margin being checked, so this command measures both sizes in turns:
each round runs four fresh worker processes (``sys.executable -m bench.linearity --worker ...``),
the engine on the small store, the engine on the large one, then the hand-written loop on the
small store and on the large one; every other round measures the large store first, so that a
drift of the machine during a round does not always favour the same size.

The engine worker runs ``bench.evaluate``'s own year loop (``year_runs``): read 2023 from the
store (``Store.load_events``: every event before the year's end and every retraction, keeping the
text fields the policies read) and evaluate all 17 periods (``evaluate_partitioned``, one worker:
serial), best of ``--repeat`` (by total), the events and results freed between runs. The hand
worker reads the same events as dicts (``Store.iter_bodies`` and ``orjson.loads``, then the same
selection; not timed), then times ``bench.peers``'s hand-written loop of the adoption points
rule, ``credit(prepare(docs), hand_points)``, with ``bench.peers.best_of`` (a full collection
before each run, the cyclic collector paused during it), best of ``--repeat``. That loop is what
the issue calls the limit a row-at-a-time Python engine can reach. It computes in memory only, so
the like-for-like figure beside it is the engine's 17 periods (printed with its load); its
large/small ratio shows how a plain loop over the same events grows on this machine (the city's
year fits in a 32 MB L3 cache, the province's does not).
Each worker prints one JSON line: its best times, the events read, and, to check that both kinds
ran on the same stream, the adoption events, the live adoptions credited, and the count, sum and
SHA-256 of 2023's non-zero adoption points per person (the hand worker also per person-month).

Prints one line per round (times and the large/small ratios), then the summary: the events of each
size and their ratio, the best total of each size over all rounds and the ratio of those bests
for the engine (with its load and evaluation parts) and for the hand loop, the range of the
per-round ratios, whether the engine and the hand loop credited the same points, and the machine.
``--small``/``--large`` stores are opened read-only. ``--people N`` generates N and ``--factor``
times N people (``bench.generate``, seed 1, 12 months of 2023) and ingests each into a temporary
SQLite store first (not timed). Exit status 0, or 1 when a worker fails (its stderr is shown) or a
check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from bench.compare import FAMILY, YEAR, bench_store, peak_mib, read_only_url
from bench.evaluate import year_end, year_runs
from bench.ingest import ROOT, machine
from bench.peers import ZERO, annual, best_of, credit, hand_points, person_scores, prepare
from rulesengine.events import Event
from rulesengine.gcpause import collector_paused
from rulesengine.policy import load_policy_set
from rulesengine.results import Result
from rulesengine.store import Store

KINDS = ("engine", "hand")
SIZES = ("small", "large")
TARGET = 12.0  # the bound on the time ratio for 10x the events
Worker = dict[str, Any]  # one worker's JSON line


def points_digest(points: dict[Any, Decimal]) -> dict[str, Any]:
    """Count, sum and SHA-256 of the non-zero points (keys: a person or (person, month)); the
    values are normalised so that 15 and 15.0 digest alike."""
    lines = sorted(
        (" ".join(k) if isinstance(k, tuple) else str(k), f"{v.normalize():f}")
        for k, v in points.items()
        if v != 0
    )
    total = sum((v for v in points.values()), ZERO)
    return {
        "count": len(lines),
        "sum": f"{total.normalize():f}",
        "sha256": hashlib.sha256("\n".join(f"{k}\t{v}" for k, v in lines).encode()).hexdigest(),
    }


def engine_worker(db: str, repeat: int) -> Worker:
    """bench.evaluate's year loop (``year_runs``) on ``db``: best of ``repeat`` by total."""
    policies = load_policy_set(FAMILY)
    store = Store(read_only_url(db))

    def inspect(events: list[Event], results: list[Result], _serial: str | None) -> Worker:
        return {  # not timed
            "events": len(events),
            "adoption_events": sum(1 for e in events if e.type == "adoption"),
            "actions": sum(len(r.actions) for r in results),
            "annual": points_digest(
                person_scores(next(r for r in results if r.period == str(YEAR)))
            ),
        }

    runs, seen = year_runs(store, policies, repeat, 1, inspect)
    store.close()
    assert seen is not None
    load, ev = min(runs, key=sum)
    return {
        "kind": "engine",
        **seen,
        "load": load,
        "evaluate": ev,
        "total": load + ev,
        "runs": [sum(r) for r in runs],
        "peak_mib": peak_mib(),
    }


def hand_docs(db: str) -> list[dict[str, Any]]:
    """The events the engine's worker reads (every event before the year's end, and every
    retraction), as dicts, for the hand-written loop."""
    policies = load_policy_set(FAMILY)
    end = year_end(policies)
    voids = {t.name for t in policies.policies[0].vocabulary.types.values() if t.voids}
    store = Store(read_only_url(db))
    with collector_paused():  # not timed: only makes reading a million dicts faster
        docs = [orjson.loads(body) for body in store.iter_bodies()]
    store.close()
    return [d for d in docs if d["type"] in voids or datetime.fromisoformat(d["at"]) < end]


def hand_worker(db: str, repeat: int) -> Worker:
    """bench.peers's hand-written loop on the store's events: best of ``repeat`` seconds."""
    docs = hand_docs(db)
    totals, secs = best_of(repeat, lambda: credit(prepare(docs), hand_points))
    return {
        "kind": "hand",
        "events": len(docs),
        "adoption_events": sum(1 for d in docs if d["type"] == "adoption"),
        "adoptions": len(prepare(docs)),
        "seconds": secs,
        "annual": points_digest(annual(totals)),
        "person_months": points_digest(totals),
        "peak_mib": peak_mib(),
    }


def run_worker(kind: str, db: str, repeat: int) -> Worker:
    """One worker in a fresh process; its JSON line (RuntimeError with its stderr if it fails)."""
    cmd = [sys.executable, "-m", "bench.linearity", "--worker", kind, "--db", db]
    proc = subprocess.run(
        [*cmd, "--repeat", str(repeat)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    lines = proc.stdout.strip().splitlines()
    try:
        if proc.returncode != 0:
            raise ValueError(f"exit status {proc.returncode}")
        out: Worker = json.loads(lines[-1])
        return out
    except (ValueError, IndexError) as why:
        raise RuntimeError(
            f"worker {kind} on {db} failed ({why}):\n{proc.stderr}{proc.stdout}"
        ) from None


def seconds(w: Worker) -> float:
    """The time a worker's large/small ratio is taken of: the engine's total, the hand loop's."""
    return float(w["total"] if w["kind"] == "engine" else w["seconds"])


def spread(ratios: Sequence[float]) -> str:
    """The range of some ratios, as 12.1-12.9x (or 12.3x for one)."""
    lo, hi = min(ratios), max(ratios)
    return f"{lo:.1f}x" if f"{lo:.1f}" == f"{hi:.1f}" else f"{lo:.1f}-{hi:.1f}x"


def same(rounds: list[dict[tuple[str, str], Worker]], kind: str, size: str, key: str) -> bool:
    """Whether every round's ``kind`` worker on ``size`` gave the same ``key``."""
    return len({json.dumps(r[(kind, size)][key], sort_keys=True) for r in rounds}) == 1


def measure(
    stores: dict[str, str], rounds: int, repeat: int
) -> list[dict[tuple[str, str], Worker]]:
    """Run the rounds, printing one line each: every round's workers by (kind, size)."""
    done: list[dict[tuple[str, str], Worker]] = []
    for n in range(rounds):
        order = SIZES if n % 2 == 0 else SIZES[::-1]
        got: dict[tuple[str, str], Worker] = {}
        for kind in KINDS:
            for size in order:
                got[(kind, size)] = run_worker(kind, stores[size], repeat)
        done.append(got)
        es, el = got[("engine", "small")], got[("engine", "large")]
        hs, hl = got[("hand", "small")], got[("hand", "large")]
        print(
            f"round {n + 1}/{rounds} ({order[0]} first): engine small {es['total']:.2f} s "
            f"({es['load']:.2f} + {es['evaluate']:.2f}), large {el['total']:.2f} s "
            f"({el['load']:.2f} + {el['evaluate']:.2f}): {seconds(el) / seconds(es):.2f}x; "
            f"hand loop small {hs['seconds']:.3f} s, large {hl['seconds']:.3f} s: "
            f"{seconds(hl) / seconds(hs):.2f}x",
            flush=True,
        )
    return done


def summary(done: list[dict[tuple[str, str], Worker]], repeat: int) -> bool:
    """Print the summary lines of the rounds (see the module's docstring); whether the checks
    passed (the engine and the hand loop credit the same points, and every round of a kind and
    size read the same events and gave the same points)."""
    first = done[0]
    es, el = first[("engine", "small")], first[("engine", "large")]
    hs, hl = first[("hand", "small")], first[("hand", "large")]
    events = el["events"] / es["events"]
    print(
        f"events: small {es['events']:,}, large {el['events']:,}: {events:.2f}x the events "
        f"(adoption events {es['adoption_events']:,} and {el['adoption_events']:,}: "
        f"{el['adoption_events'] / es['adoption_events']:.2f}x; the hand loop reads "
        f"{hs['events']:,} and {hl['events']:,} stored events, credits {hs['adoptions']:,} and "
        f"{hl['adoptions']:,} live adoptions)"
    )
    best = {
        (kind, size): min((r[(kind, size)] for r in done), key=seconds)
        for kind in KINDS
        for size in SIZES
    }
    ratios = {
        kind: [seconds(r[(kind, "large")]) / seconds(r[(kind, "small")]) for r in done]
        for kind in KINDS
    }
    of = f"best over {len(done)} round{'s' if len(done) > 1 else ''}, each the best of {repeat}"
    bs, bl, hs, hl = (best[(kind, size)] for kind in KINDS for size in SIZES)
    engine, hand = (seconds(best[(k, "large")]) / seconds(best[(k, "small")]) for k in KINDS)
    print(
        f"engine, store to 17 results ({of}): small {bs['total']:.2f} s (load {bs['load']:.2f} + "
        f"17 periods {bs['evaluate']:.2f}), large {bl['total']:.2f} s (load {bl['load']:.2f} + "
        f"17 periods {bl['evaluate']:.2f})"
    )
    print(
        f"engine ratio of the bests: {engine:.2f}x the time for {events:.2f}x the events "
        f"(load {bl['load'] / bs['load']:.2f}x, 17 periods {bl['evaluate'] / bs['evaluate']:.2f}x;"
        f" {engine / events:.2f}x per event); per-round ratios {spread(ratios['engine'])}; "
        f"at most {TARGET:g}x: {'yes' if engine <= TARGET else 'no'}"
    )
    print(
        f"hand-written loop (bench.peers, adoption points) ({of}): small {hs['seconds']:.3f} s, "
        f"large {hl['seconds']:.3f} s: ratio of the bests {hand:.2f}x ({hand / events:.2f}x per "
        f"event); per-round ratios {spread(ratios['hand'])}"
    )
    print(
        f"engine ratio / hand loop ratio: {engine / hand:.2f} (1.00: the engine grows exactly "
        f"as a plain Python loop over the same events does on this machine)"
    )
    agree = all(
        first[("engine", size)]["annual"] == first[("hand", size)]["annual"] for size in SIZES
    )
    steady = all(
        same(done, kind, size, key)
        for kind in KINDS
        for size in SIZES
        for key in ("events", "adoption_events", "annual")
    )
    pts = ", ".join(
        f"{size} {first[('hand', size)]['annual']['count']:,} persons "
        f"{first[('hand', size)]['annual']['sum']} pts"
        for size in SIZES
    )
    print(
        f"checks: engine and hand loop credit the same 2023 adoption points per person "
        f"({pts}): {'yes' if agree else 'NO'}; every round read the same events and gave the "
        f"same points: {'yes' if steady else 'NO'}"
    )
    print(f"machine: {machine()}")
    return agree and steady


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--worker``, one measurement); the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", default=None, help="the small store (a SQLite file or URL)")
    ap.add_argument("--large", default=None, help="the large store (a SQLite file or URL)")
    ap.add_argument("--people", type=int, default=None, help="generate: people of the small one")
    ap.add_argument("--factor", type=int, default=10, help="generate: large = factor x people")
    ap.add_argument("--rounds", type=int, default=4, help="rounds of the four workers")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs in each worker; best kept")
    ap.add_argument("--worker", choices=KINDS, default=None, help="internal: one measurement")
    ap.add_argument("--db", default=None, help="internal: the worker's store")
    args = ap.parse_args(argv)
    repeat, rounds = max(1, args.repeat), max(1, args.rounds)
    if args.worker is not None:
        if args.db is None:
            ap.error("--worker needs --db")
        work = engine_worker if args.worker == "engine" else hand_worker
        print(json.dumps(work(args.db, repeat), sort_keys=True), flush=True)
        return 0
    if (args.small is None) != (args.large is None):
        ap.error("--small and --large go together")
    if args.small is not None and args.people is not None:
        ap.error("either --small and --large, or --people")
    with ExitStack() as stack:
        if args.small is not None:
            # the workers run in the project's directory: a relative file name is made absolute
            stores = {
                size: db if "://" in db else str(Path(db).resolve())
                for size, db in (("small", args.small), ("large", args.large))
            }
            what = "the given stores (read-only)"
        else:
            people = 1000 if args.people is None else args.people
            t0 = time.perf_counter()
            stores = {
                "small": stack.enter_context(bench_store(people, None)),
                "large": stack.enter_context(bench_store(people * args.factor, None)),
            }
            what = (
                f"generated {people:,} and {people * args.factor:,} people (seed 1) into "
                f"temporary stores in {time.perf_counter() - t0:.1f} s (not timed)"
            )
        print(
            f"linearity: {rounds} round{'s' if rounds > 1 else ''} of engine small/large, hand "
            f"loop small/large, each a fresh process, best of {repeat}; {what}",
            flush=True,
        )
        try:
            done = measure(stores, rounds, repeat)
        except RuntimeError as why:
            print(why, file=sys.stderr)
            return 1
    return 0 if summary(done, repeat) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Work, not time: the instructions the year's evaluation executes on a small and a large store.

    python -m bench.instructions --small city.sqlite --large province.sqlite

The linearity point ("10x the events takes no more than 12x the time") is measured in time by
``bench.linearity``; time also grows with the machine's memory hierarchy (a city's events fit
in the CPU's caches, a province's do not), which no engine design in Python escapes. This command
separates the two: it counts the machine instructions the engine executes, with valgrind's
cachegrind (``--cache-sim=no``: an exact count, no timing), on both stores, and sets them beside
the times of one ``bench.linearity`` round on the same stores. Instructions that grow as the
events do, with time growing faster, mean the engine does linear work and the rest is memory
stalls; instructions growing faster would mean an algorithm that is not linear.

Each count is a fresh process run under valgrind (``PYTHONHASHSEED=0``, so that hashing is the
same in every run) in one of five stages on one store, and each part is the difference of two
stages: ``base`` imports the engine, loads the policies and opens the store; ``read`` also reads
2023 from the store as ``bench.linearity`` does (``Store.load_events``); ``year`` also evaluates
the 17 periods (``evaluate_partitioned``, one worker). ``docs`` reads the events as dicts as
``bench.linearity``'s hand worker does; ``hand`` also runs ``bench.peers``'s hand-written loop
of the adoption points rule once. So: read = read - base, the 17 periods = year - read, the hand
loop = hand - docs. Under valgrind a process runs about 20-50 times slower: the province's five
stages take about five minutes, a city's under one, on the 2-core machine of bench/README.md.

Prints each part's instructions on both stores, their ratio against the events' own ratio, the
times of the same parts in one ``bench.linearity`` round (best of ``--repeat``), and the
instructions per second they imply. Exit status 0; 1 when a run fails; 2 without valgrind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.compare import FAMILY, read_only_url
from bench.evaluate import read_year, year_runs
from bench.ingest import ROOT, machine
from bench.linearity import hand_docs, run_worker
from bench.peers import credit, hand_points, prepare
from rulesengine.policy import load_policy_set
from rulesengine.store import Store

STAGES = ("base", "read", "year", "docs", "hand")
PARTS = (("read", "base", "read"), ("17 periods", "read", "year"), ("hand loop", "docs", "hand"))


def stage(name: str, db: str) -> dict[str, Any]:
    """Run one stage on ``db`` (see the module's docstring); what it read."""
    if name in ("docs", "hand"):
        docs = hand_docs(db)  # bench.linearity's hand worker's events
        out: dict[str, Any] = {"stage": name, "events": len(docs)}
        if name == "hand":
            out["persons"] = len(credit(prepare(docs), hand_points))
        return out
    policies = load_policy_set(FAMILY)
    store = Store(read_only_url(db))
    out = {"stage": name}
    if name == "year":  # bench.evaluate's year loop, once
        _, out["events"] = year_runs(store, policies, 1, 1, lambda evs, _r, _s: len(evs))
    elif name == "read":  # the read of that loop alone
        out["events"] = len(read_year(store, policies))
    store.close()
    return out


def count(name: str, db: str) -> int:
    """The instructions of stage ``name`` on ``db``, run under cachegrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cachegrind.out"
        cmd = [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            f"--cachegrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--stage",
            name,
            "--db",
            db,
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"stage {name} on {db} failed:\n{proc.stderr[-3000:]}")
        for line in out.read_text().splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError(f"stage {name} on {db}: no summary in cachegrind's output")


def main(argv: list[str] | None = None) -> int:
    """Count, time and print (see the module's docstring); the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", help="the small store (a SQLite file or URL)")
    ap.add_argument("--large", help="the large store (a SQLite file or URL)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each kind; best kept")
    ap.add_argument("--stage", choices=STAGES, default=None, help="internal: one stage")
    ap.add_argument("--db", default=None, help="internal: the stage's store")
    args = ap.parse_args(argv)
    if args.stage is not None:
        print(json.dumps(stage(args.stage, args.db)), flush=True)
        return 0
    if args.small is None or args.large is None:
        ap.error("--small and --large are needed")
    if shutil.which("valgrind") is None:
        print("bench.instructions needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    stores = {
        size: db if "://" in db else str(Path(db).resolve())
        for size, db in (("small", args.small), ("large", args.large))
    }
    try:
        got = {(size, s): count(s, db) for size, db in stores.items() for s in STAGES}
        timed = {
            (size, kind): run_worker(kind, db, max(1, args.repeat))
            for size, db in stores.items()
            for kind in ("engine", "hand")
        }
    except RuntimeError as why:
        print(why, file=sys.stderr)
        return 1
    small, large = (timed[(size, "engine")]["events"] for size in ("small", "large"))
    events = large / small
    print(
        f"instructions (valgrind cachegrind, PYTHONHASHSEED=0) and times (one bench.linearity "
        f"round, best of {args.repeat}): small {small:,} events, large {large:,}: "
        f"{events:.2f}x the events"
    )
    sizes = ("small", "large")
    engine_n, engine_s = dict.fromkeys(sizes, 0), dict.fromkeys(sizes, 0.0)
    for part, before, after in PARTS:
        n = {size: got[(size, after)] - got[(size, before)] for size in sizes}
        if part == "hand loop":
            s = {size: float(timed[(size, "hand")]["seconds"]) for size in sizes}
        else:
            which = "load" if part == "read" else "evaluate"
            s = {size: float(timed[(size, "engine")][which]) for size in sizes}
            for size in sizes:
                engine_n[size] += n[size]
                engine_s[size] += s[size]
        print_part(part, n, s, events)
    print_part("engine (read + 17 periods)", engine_n, engine_s, events)
    print(f"machine: {machine()}")
    return 0


def print_part(part: str, n: dict[str, int], s: dict[str, float], events: float) -> None:
    """Print one part: instructions, times, their ratios and instructions per second."""
    ni, si = n["large"] / n["small"], s["large"] / s["small"]
    print(
        f"{part}: {n['small'] / 1e9:.3f} G and {n['large'] / 1e9:.3f} G instructions, "
        f"{ni:.2f}x ({ni / events:.3f}x per event); {s['small']:.3f} s and {s['large']:.3f} s, "
        f"{si:.2f}x; {n['small'] / s['small'] / 1e9:.1f} and {n['large'] / s['large'] / 1e9:.1f} "
        f"G instructions/s ({(n['large'] / s['large']) / (n['small'] / s['small']) - 1:+.0%})"
    )


if __name__ == "__main__":
    sys.exit(main())

"""Ingest benchmark: generate a stream, ingest it into a fresh store, print events/s and memory.

    python -m bench.ingest --people 10000            # about 1,000,000 events, SQLite
    python -m bench.ingest --people 1000 --db postgresql+psycopg://...

The store is created fresh (a temporary SQLite file unless --db is given); the stream is written
to a temporary file first, so generation is not timed. Peak memory is the process's maximum
resident set size.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.generate import generate
from rulesengine.formats import read_records
from rulesengine.policy import load_policy_set
from rulesengine.store import Store

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    """A one-line description of this machine."""
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one result line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=10000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--db", default=None, help="store URL (default: a temporary SQLite file)")
    args = ap.parse_args(argv)
    vocab = load_policy_set(ROOT / "policies" / "county-department").policies[0].vocabulary
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "stream.jsonl"
        with stream.open("wb") as fh:
            for ev in generate(args.people, args.months):
                fh.write(orjson.dumps(ev) + b"\n")
        store = Store(args.db or str(Path(tmp) / "bench.sqlite"))
        start = time.perf_counter()
        report = store.ingest(str(stream), read_records(stream, vocab), vocab)
        wall = time.perf_counter() - start
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = "postgresql" if args.db and args.db.startswith("postgresql") else "sqlite"
    print(
        f"ingest {backend}: {report.accepted:,} events in {wall:.1f} s = "
        f"{report.accepted / wall:,.0f} events/s, peak memory {peak:,.0f} MiB "
        f"({report.rejected} rejected) on {machine()}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

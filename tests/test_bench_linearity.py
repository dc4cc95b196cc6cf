"""Smoke tests of bench/linearity.py on tiny generated stores: the command runs its rounds of
worker processes and prints its summary; the workers' JSON lines carry what the parent reads.
No timing is asserted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.compare import bench_store
from bench.linearity import main


@pytest.fixture(scope="module")
def tiny_store() -> Iterator[str]:
    """A temporary store of bench.generate's stream for 20 people."""
    with bench_store(20, None) as path:
        yield path


def test_command_prints_rounds_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--people", "20", "--rounds", "1", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "generated 20 and 200 people" in out
    assert re.search(
        r"^round 1/1 \(small first\): engine small .*x; hand loop small .*x$", out, re.M
    )
    ratio = re.search(
        r"^events: small ([\d,]+), large ([\d,]+): (\d+\.\d\d)x the events", out, re.M
    )
    assert ratio is not None
    small, large = (int(g.replace(",", "")) for g in ratio.groups()[:2])
    assert 0 < small < large
    assert ratio.group(3) == f"{large / small:.2f}"
    for start in (
        "engine, store to 17 results (best over 1 round, each the best of 1): small ",
        "engine ratio of the bests: ",
        "hand-written loop (bench.peers, adoption points) ",
        "engine ratio / hand loop ratio: ",
        "machine: ",
    ):
        assert re.search("^" + re.escape(start), out, re.M), start
    # both kinds scored the same stream, and the round read what the store holds
    assert "credit the same 2023 adoption points per person" in out
    assert ": yes; every round read the same events and gave the same points: yes" in out


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        (
            "engine",
            {"kind", "events", "adoption_events", "actions", "load", "evaluate", "total", "runs"},
        ),
        ("hand", {"kind", "events", "adoption_events", "adoptions", "seconds", "person_months"}),
    ],
)
def test_worker_prints_one_json_line(
    kind: str, keys: set[str], tiny_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--worker", kind, "--db", tiny_store, "--repeat", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    got = json.loads(lines[0])
    assert keys | {"annual", "peak_mib"} <= got.keys()
    assert got["kind"] == kind
    assert got["events"] > got["adoption_events"] > 0
    assert set(got["annual"]) == {"count", "sum", "sha256"}
    assert got["annual"]["count"] > 0
    if kind == "engine":
        assert len(got["runs"]) == 2
        assert got["total"] == pytest.approx(got["load"] + got["evaluate"])


def test_failing_worker_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "missing.sqlite")
    assert main(["--small", missing, "--large", missing, "--rounds", "1", "--repeat", "1"]) == 1
    err = capsys.readouterr().err
    assert "worker engine on" in err
    assert "failed (exit status" in err

"""Smoke tests of bench/linearity.py on tiny generated stores: the command runs its rounds of
worker processes and prints its summary; the workers' JSON lines carry what the parent reads.
No timing is asserted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import linearity
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


def _worker(kind: str, secs: float, events: int = 100, points: str = "p") -> dict[str, Any]:
    annual = {"count": 1, "sum": "1", "sha256": points}
    common = {"kind": kind, "events": events, "adoption_events": 10, "annual": annual}
    if kind == "engine":
        return {**common, "load": secs / 2, "evaluate": secs / 2, "total": secs}
    return {**common, "adoptions": 9, "seconds": secs}


def test_rounds_alternate_which_size_goes_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, str]] = []

    def fake(kind: str, db: str, repeat: int) -> dict[str, Any]:
        calls.append((kind, db))
        return _worker(kind, 1.0 if db == "S" else 11.0, 100 if db == "S" else 1000)

    monkeypatch.setattr(linearity, "run_worker", fake)
    done = linearity.measure({"small": "S", "large": "L"}, 3, 1)
    assert len(done) == 3
    assert calls == [
        *[("engine", "S"), ("engine", "L"), ("hand", "S"), ("hand", "L")],
        *[("engine", "L"), ("engine", "S"), ("hand", "L"), ("hand", "S")],
        *[("engine", "S"), ("engine", "L"), ("hand", "S"), ("hand", "L")],
    ]
    assert "round 2/3 (large first)" in capsys.readouterr().out


def test_summary_takes_the_ratio_of_the_best_times(capsys: pytest.CaptureFixture[str]) -> None:
    def round_(small: float, large: float, hs: float, hl: float) -> dict[Any, Any]:
        return {
            ("engine", "small"): _worker("engine", small),
            ("engine", "large"): _worker("engine", large, 1000),
            ("hand", "small"): _worker("hand", hs),
            ("hand", "large"): _worker("hand", hl, 1000),
        }

    # bests: engine 1.0 (round 2) and 11.0 (round 1); hand 0.1 and 1.3 (round 2)
    done = [round_(1.2, 11.0, 0.12, 1.4), round_(1.0, 12.5, 0.1, 1.3)]
    assert linearity.summary(done, 3) is True
    out = capsys.readouterr().out
    assert "engine ratio of the bests: 11.00x the time for 10.00x the events" in out
    assert "per-round ratios 9.2-12.5x; at most 12x: yes" in out
    assert "small 0.100 s, large 1.300 s: ratio of the bests 13.00x" in out
    # the two kinds disagree on the points: the check fails
    done[1][("hand", "large")] = _worker("hand", 1.3, 1000, points="q")
    assert linearity.summary(done, 3) is False
    assert "points per person" in capsys.readouterr().out

"""Smoke tests of bench/instructions.py: its stages on a tiny generated store, the arithmetic of
its parts, one real count under valgrind (when installed), and its exit status without
valgrind. No count or time is asserted beyond its arithmetic."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest

from bench import instructions
from bench.compare import bench_store


@pytest.fixture(scope="module")
def tiny_store() -> Iterator[str]:
    """A temporary store of bench.generate's stream for 20 people."""
    with bench_store(20, None) as path:
        yield path


def test_stages_read_the_same_events(tiny_store: str) -> None:
    got = {s: instructions.stage(s, tiny_store) for s in instructions.STAGES}
    assert "events" not in got["base"]
    n = got["year"]["events"]
    assert n > 100
    assert got["read"]["events"] == got["docs"]["events"] == got["hand"]["events"] == n
    assert got["hand"]["persons"] > 0


def test_parts_are_differences_of_stages(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = {"base": 100, "read": 400, "year": 1000, "docs": 300, "hand": 350}
    scale = {"S": 1, "L": 10}
    monkeypatch.setattr(instructions.shutil, "which", lambda _name: "/bin/valgrind")
    monkeypatch.setattr(instructions, "count", lambda s, db: counts[s] * scale[db[-1]] * 10**6)

    def worker(kind: str, db: str, _repeat: int) -> dict[str, float]:
        k = scale[db[-1]]
        if kind == "hand":
            return {"seconds": 0.1 * k}
        return {"events": 1000 * k, "load": 0.2 * k, "evaluate": 0.5 * k * 1.2 ** (k > 1)}

    monkeypatch.setattr(instructions, "run_worker", worker)
    assert instructions.main(["--small", "/x/S", "--large", "/x/L", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "small 1,000 events, large 10,000: 10.00x the events" in out
    # read = read - base, 17 periods = year - read, hand loop = hand - docs
    assert re.search(r"^read: 0\.300 G and 3\.000 G instructions, 10\.00x", out, re.M)
    assert re.search(
        r"^17 periods: 0\.600 G and 6\.000 G instructions, 10\.00x .* 12\.00x", out, re.M
    )
    assert re.search(r"^hand loop: 0\.050 G and 0\.500 G instructions, 10\.00x", out, re.M)
    assert re.search(r"^engine \(read \+ 17 periods\): 0\.900 G and 9\.000 G", out, re.M)
    assert "(-17%)" in out  # the 17 periods: the same instructions in 1.2x the time per event


def test_without_valgrind_it_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(instructions.shutil, "which", lambda _name: None)
    assert instructions.main(["--small", "a", "--large", "b"]) == 2
    assert "needs valgrind" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_a_real_count(tiny_store: str) -> None:
    """The base stage under cachegrind: Python's start and imports are billions of
    instructions."""
    assert instructions.count("base", tiny_store) > 10**8

"""Shared test helpers: the shipped policies, and a small builder for hand-made event streams."""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from rulesengine.evaluate import evaluate
from rulesengine.intake import Batch, parse_event_lines
from rulesengine.periods import parse_period
from rulesengine.policy import PolicySet, load_policy, load_policy_set
from rulesengine.results import Result

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
COUNTY = POLICIES / "county-department"


@pytest.fixture(scope="session")
def county() -> PolicySet:
    """The shipped county-department policies (2023 and 2024)."""
    return load_policy_set(COUNTY)


def copy_policies(tmp_path: Path, family: str = "county-department") -> Path:
    """A writable copy of ``policies/`` (vocabulary included); returns the family directory."""
    dest = tmp_path / "policies"
    shutil.copytree(POLICIES, dest, ignore=shutil.ignore_patterns("tests"))
    return dest / family


def edit(path: Path, old: str, new: str) -> None:
    """Replace exactly one occurrence of ``old`` in the file at ``path``."""
    text = path.read_text("utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), "utf-8")


class Stream:
    """Builds an event stream by hand: ``s.add("submission", "2023-05-03T09:00", author=...)``.

    Times without an offset get +08:00. Ids are e001, e002, ... unless given.
    """

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def add(self, type_: str, at: str, id: str | None = None, **fields: Any) -> str:
        """Append an event; returns its id."""
        if "+" not in at[10:] and not at.endswith("Z") and "-" not in at[10:]:
            at += "+08:00"
        eid = id or f"e{next(self._ids):03d}"
        self.lines.append({"id": eid, "type": type_, "at": at, **fields})
        return eid

    def department(self, at: str = "2023-01-01T00:00") -> None:
        """Unit ``dept`` (head ``boss``), sections ``s1``, ``s2`` (heads ``h1``, ``h2``)."""
        self.add("unit_created", at, unit="dept", name="组织部", kind="department")
        self.add("person_joined", at, person="boss", name="部长", unit="dept", role="unit_head")
        for n in (1, 2):
            self.add("unit_created", at, unit=f"s{n}", name=f"股{n}", kind="section", parent="dept")
            self.add(
                "person_joined",
                at,
                person=f"h{n}",
                name=f"股长{n}",
                unit=f"s{n}",
                role="section_head",
            )

    def person(self, pid: str, unit: str, at: str = "2023-01-01T00:00", role: str = "staff") -> str:
        """A person joining ``unit``."""
        return self.add("person_joined", at, person=pid, name=pid, unit=unit, role=role)

    def submit(self, author: str, at: str, category: str = "problem", **fields: Any) -> str:
        """A submission."""
        return self.add("submission", at, author=author, category=category, title="t", **fields)

    def text(self) -> str:
        """The stream as JSON Lines."""
        return "\n".join(orjson.dumps(x).decode() for x in self.lines) + "\n"

    def batch(self, policies: PolicySet) -> Batch:
        """Decode and check the stream with the policies' vocabulary."""
        vocab = policies.policies[0].vocabulary
        lines = [("stream", i, line) for i, line in enumerate(self.text().splitlines(), 1)]
        return parse_event_lines(lines, vocab)

    def evaluate(self, policies: PolicySet, period: str, forced: Path | None = None) -> Result:
        """Evaluate ``period``; fails the test if any event was rejected."""
        batch = self.batch(policies)
        assert not batch.rejects, [r.format() for r in batch.rejects]
        pol = load_policy(forced) if forced else None
        return evaluate(policies, batch.events, parse_period(period), pol)


def actions(result: Result) -> list[tuple[str, str, str | None]]:
    """``(action, subject, target)`` of every action, sorted."""
    return sorted((a.action, a.subject, a.target) for a in result.actions)


def points(result: Result, kind: str = "person") -> dict[str, Decimal]:
    """Points per subject of ``kind`` (person, or a unit kind)."""
    return {s.subject: s.points for s in result.scores if s.subject_kind == kind}


@pytest.fixture
def stream() -> Stream:
    """A fresh :class:`Stream`."""
    return Stream()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL URL: $RULESENGINE_TEST_PG, or a private server started for this session."""
    from tests import pgserver

    if os.environ.get("RULESENGINE_TEST_PG"):
        yield os.environ["RULESENGINE_TEST_PG"]
        return
    server = pgserver.Server()
    try:
        url = server.start()
    except RuntimeError as exc:
        server.stop()
        if pgserver.required():
            pytest.fail(f"PostgreSQL is required here (CI) but could not start: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield url
    finally:
        server.stop()


def _fresh_pg_database(base: str) -> str:
    """A new, empty database on the server at ``base``; returns its URL."""
    import sqlalchemy as sa

    name = f"t{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store on each backend: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite")
    base = request.getfixturevalue("postgres_server")
    return _fresh_pg_database(base)

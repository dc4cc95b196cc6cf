"""The :class:`Store`: open (and migrate) a database, ingest files, list rejects, load events."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from rulesengine.errors import Reject, RulesEngineError
from rulesengine.events import Event, TrustedDecoder, decode_object
from rulesengine.gcpause import collector_paused
from rulesengine.intake import Record, ReferenceChecker, parse_records
from rulesengine.store.tables import events, ingests, rejects
from rulesengine.vocabulary import Vocabulary

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 900  # ids per IN (...) query, under SQLite's variable limit
DEFAULT_FILE = "rulesengine.sqlite"
LOAD_BATCH = 10_000  # rows fetched at a time when loading events


class StoreError(RulesEngineError):
    """The store cannot be opened or used (unreachable, or made by a newer version)."""

    exit_code = 7


def default_url() -> str:
    """``$RULESENGINE_DB`` (a URL or a file path), else ``rulesengine.sqlite`` here."""
    return os.environ.get("RULESENGINE_DB") or DEFAULT_FILE


def to_url(target: str) -> str:
    """A SQLAlchemy URL from a URL or a plain file path (taken as SQLite)."""
    return target if "://" in target else f"sqlite:///{target}"


def micros(at: datetime) -> int:
    """Microseconds since 1970 UTC, exactly."""
    return (at - EPOCH) // timedelta(microseconds=1)


def from_micros(us: int) -> datetime:
    """The instant ``us`` microseconds after 1970, in UTC (the inverse of :func:`micros`)."""
    return EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ingested file gave."""

    source: str
    read: int
    accepted: int
    duplicates: int
    rejected: int
    rejects: tuple[Reject, ...]

    def summary(self) -> str:
        """``file: read N, accepted A, duplicates D, rejected R``."""
        return (
            f"{self.source}: read {self.read}, accepted {self.accepted}, "
            f"duplicates {self.duplicates}, rejected {self.rejected}"
        )


# The newest migration's revision (tests/test_store.py checks it against the migrations): a
# store already at it opens without loading alembic, which is a tenth of a second of every
# command's start.
SCHEMA_HEAD = "0002"


def _revision(conn: Connection) -> str | None:
    """The store's schema revision (None for a store never migrated)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if found is None else str(found)


class Store:
    """An event store at ``url`` (SQLite file or PostgreSQL); migrated to the code's schema."""

    def __init__(self, url: str) -> None:
        self.url = to_url(url)
        try:
            if self.url.startswith("sqlite"):
                # wait for another writer (a concurrent ingest) instead of failing at once
                self.engine: Engine = sa.create_engine(
                    self.url, future=True, connect_args={"timeout": 120}
                )
            else:
                self.engine = sa.create_engine(self.url, future=True)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self._migrate()
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(
                f"cannot open the store {self._shown()}: {exc.__class__.__name__}: "
                f"{str(exc.orig if hasattr(exc, 'orig') else exc).strip()}"
            ) from exc

    def _shown(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            current = _revision(conn)
            if current == SCHEMA_HEAD:
                return
            # imported here: only a store that is new or behind (or ahead) needs alembic
            from alembic import command
            from alembic.config import Config
            from alembic.script import ScriptDirectory

            cfg = Config()
            location = resources.files("rulesengine.store").joinpath("migrations")
            cfg.set_main_option("script_location", str(location))
            cfg.attributes["connection"] = conn
            script = ScriptDirectory.from_config(cfg)
            known = {rev.revision for rev in script.walk_revisions()}
            if current is not None and current not in known:
                raise StoreError(
                    f"the store {self._shown()} has schema revision {current}, made by a newer "
                    f"version of rulesengine (this one knows up to {script.get_current_head()}); "
                    "upgrade rulesengine to use it"
                )
            if current != script.get_current_head():
                command.upgrade(cfg, "head")

    def schema_revision(self) -> str | None:
        """The store's schema revision."""
        with self.engine.connect() as conn:
            return _revision(conn)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    # -- ingest -------------------------------------------------------------------------------

    def ingest(self, source: str, records: Iterable[Record], vocab: Vocabulary) -> IngestReport:
        """Check ``records`` against the vocabulary and the store, then write the good events and
        the rejects in one transaction: all of the file, or (after a crash) none of it."""
        touched: list[int] = []  # the earliest time written, then of what retractions void
        voided: list[str] = []
        with self.engine.begin() as conn:
            batch = parse_records(
                records,
                vocab,
                lambda evs, chk: self._seed(conn, vocab, evs, chk),
                lambda evs: self._write(conn, evs, vocab, touched, voided),
            )
            if batch.rejects:
                self._write_rejects(conn, batch.rejects)
            if touched:
                at = min([*touched, *self._void_times(conn, vocab, voided)])
                conn.execute(
                    ingests.insert().values(source=source, accepted=batch.accepted, touched_us=at)
                )
        return IngestReport(
            source,
            batch.read,
            batch.accepted,
            batch.duplicates,
            len(batch.rejects),
            tuple(batch.rejects),
        )

    def _seed(
        self, conn: Connection, vocab: Vocabulary, evs: list[Event], checker: ReferenceChecker
    ) -> None:
        roster_types = [t.name for t in vocab.types.values() if t.roster]
        rows = conn.execute(
            sa.select(events.c.body, events.c.source, events.c.line).where(
                events.c.type.in_(roster_types)
            )
        )
        for body, src, line in rows:
            checker.remember(decode_object(orjson.loads(body), vocab, src, line))
        if conn.execute(sa.select(events.c.id).limit(1)).first() is None:
            return  # an empty store knows nothing more
        wanted: set[str] = set()
        for ev in evs:
            wanted.add(ev.id)
            for name, spec in vocab.types[ev.type].fields.items():
                if spec.type == "event" and ev.data.get(name):
                    wanted.add(ev.data[name])
        ordered = sorted(wanted)
        for i in range(0, len(ordered), CHUNK):
            q = sa.select(events.c.id, events.c.type, events.c.at_us, events.c.sha256).where(
                events.c.id.in_(ordered[i : i + CHUNK])
            )
            for eid, etype, at_us, sha in conn.execute(q):
                if eid not in checker.events:
                    checker.known(eid, etype, from_micros(at_us), bytes.fromhex(sha))

    def _void_times(self, conn: Connection, vocab: Vocabulary, voided: list[str]) -> list[int]:
        """The times of the events ``voided`` names and, when one of them is itself a
        retraction, of what it voids (a retracted retraction revives its target)."""
        void_fields = {t.name: t.voids for t in vocab.types.values() if t.voids}
        out: list[int] = []
        seen: set[str] = set()
        todo = sorted(set(voided))
        while todo:
            seen.update(todo)
            nxt: list[str] = []
            for i in range(0, len(todo), CHUNK):
                q = sa.select(events.c.type, events.c.at_us, events.c.body).where(
                    events.c.id.in_(todo[i : i + CHUNK])
                )
                for etype, at_us, body in conn.execute(q):
                    out.append(at_us)
                    if etype in void_fields:
                        target = orjson.loads(body).get(void_fields[etype])
                        if target and target not in seen:
                            nxt.append(target)
            todo = sorted(set(nxt))
        return out

    def _write(
        self,
        conn: Connection,
        accepted: list[tuple[Event, bytes]],
        vocab: Vocabulary,
        touched: list[int],
        voided: list[str],
    ) -> None:
        ref_fields = {
            t.name: [n for n, f in t.fields.items() if f.type == "event"]
            for t in vocab.types.values()
        }
        void_fields = {t.name: t.voids for t in vocab.types.values() if t.voids}
        rows: list[tuple[Any, ...]] = []
        refs: list[tuple[str, str, str]] = []
        if accepted:
            touched.append(micros(min(ev.at for ev, _ in accepted)))
        for ev, body in accepted:
            if ev.type in void_fields and ev.data.get(void_fields[ev.type]):
                voided.append(ev.data[void_fields[ev.type]])
            rows.append(
                (
                    ev.id,
                    ev.type,
                    micros(ev.at),
                    body.decode("utf-8"),
                    hashlib.sha256(body).hexdigest(),
                    ev.source,
                    ev.line,
                )
            )
            for name in ref_fields[ev.type]:
                value = ev.data.get(name)
                if value:
                    refs.append((ev.id, name, value))
        # Plain DB-API executemany: the rows are already checked, and this is the hot path.
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        cursor = conn.connection.cursor()
        try:
            cols = "id, type, at_us, body, sha256, source, line"
            cursor.executemany(
                f"INSERT INTO events ({cols}) VALUES ({', '.join([mark] * 7)})", rows
            )
            if refs:
                cursor.executemany(
                    "INSERT INTO event_refs (event_id, field, ref) "
                    f"VALUES ({', '.join([mark] * 3)})",
                    refs,
                )
        finally:
            cursor.close()

    def _write_rejects(self, conn: Connection, found: list[Reject]) -> None:
        keyed = {}
        for r in found:
            sha = hashlib.sha256(r.raw.encode("utf-8", "surrogateescape")).hexdigest()
            keyed[(r.source, r.line, sha)] = r
        existing = set()
        sources = sorted({k[0] for k in keyed})
        for row in conn.execute(
            sa.select(rejects.c.source, rejects.c.line, rejects.c.raw_sha256).where(
                rejects.c.source.in_(sources)
            )
        ):
            existing.add(tuple(row))
        new = [
            {
                "source": s,
                "line": n,
                "raw": r.raw,
                "raw_sha256": sha,
                "code": r.code,
                "field": r.field,
                "reason": r.reason,
                "hint": r.hint,
            }
            for (s, n, sha), r in sorted(keyed.items())
            if (s, n, sha) not in existing
        ]
        if new:
            conn.execute(rejects.insert(), new)

    # -- reading ------------------------------------------------------------------------------

    def rejects(self, source: str | None = None) -> list[Reject]:
        """Every kept reject (of one source file, if given), by source and line."""
        q = sa.select(rejects).order_by(rejects.c.source, rejects.c.line, rejects.c.seq)
        if source is not None:
            q = q.where(rejects.c.source == source)
        with self.engine.connect() as conn:
            return [
                Reject(r.source, r.line, r.raw, r.code, r.reason, r.field, r.hint)
                for r in conn.execute(q)
            ]

    def count(self) -> int:
        """How many events the store holds."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())

    def load_events(
        self,
        vocab: Vocabulary,
        until: datetime | None = None,
        keep_text: frozenset[str] | None = None,
    ) -> list[Event]:
        """The events an evaluation up to ``until`` (exclusive) needs: every event before it, and
        every retraction whatever its time (a retraction voids for every evaluation).

        Events keep neither their source file nor their line (no rule reads them);
        ``keep_text``: see :class:`rulesengine.events.TrustedDecoder`."""
        void_types = [t.name for t in vocab.types.values() if t.voids]
        postgres = self.engine.dialect.name == "postgresql"
        # From SQLite each body as its UTF-8 bytes (a cast to BLOB), which orjson decodes as
        # they are: as text, the driver decoded it into a string that orjson encoded back (a
        # tenth of the read at province scale). PostgreSQL would send bytea in hex over its text
        # protocol, which cost more than it saved (3.0 s against 2.75 s): text (decision 30).
        body = events.c.body if postgres else sa.cast(events.c.body, sa.LargeBinary)
        q = sa.select(body, events.c.at_us)
        if until is not None:
            q = q.where(sa.or_(events.c.at_us < micros(until), events.c.type.in_(void_types)))
        q = q.order_by(events.c.at_us, events.c.id)
        sql = str(q.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        decode = TrustedDecoder(vocab, keep_text)
        out: list[Event] = []
        with self.engine.connect() as conn:
            # The driver's own cursor: SQLAlchemy's row objects cost a second per million rows.
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor(name="load_events") if postgres else raw.cursor()
            try:
                with collector_paused():  # many small objects, no cycles
                    cur.execute(sql)
                    while batch := cur.fetchmany(LOAD_BATCH):
                        out.extend(decode.rows(batch))
            finally:
                cur.close()
        return out

    def iter_bodies(self) -> Iterator[str]:
        """Every stored event as canonical JSON, by time then id (for export and backup)."""
        with self.engine.connect() as conn:
            q = sa.select(events.c.body).order_by(events.c.at_us, events.c.id)
            for (body,) in conn.execute(q):
                yield body


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def source_name(path: str | Path) -> str:
    """How a file is named in the store: its path as given."""
    return str(path)

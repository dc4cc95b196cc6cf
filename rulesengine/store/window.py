"""What a resumed month evaluation reads: the ingest log, stored checkpoints, and the events of
one window with what they refer to.

A checkpoint is a month's look-back state (``rulesengine.checkpoint``) stored under a digest of
the engine and the policies, with the number of the last ingest it has seen. It stays valid while
no later ingest changed anything before its instant: every ingest records the earliest event time
it touched (its events' times, and the times of the events its retractions void).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from rulesengine.events import Event, TrustedDecoder
from rulesengine.gcpause import collector_paused
from rulesengine.store.store import CHUNK, Store, StoreError, from_micros, micros
from rulesengine.store.tables import checkpoints, ingests
from rulesengine.vocabulary import Vocabulary


def last_ingest(store: Store) -> int:
    """The number of the last ingest that accepted events (0 before any)."""
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(ingests.c.seq))).scalar() or 0)


def touched_after(store: Store, seq: int) -> int | None:
    """The earliest event time (microseconds since 1970 UTC) changed by ingests after ``seq``;
    None when nothing was ingested since."""
    with store.engine.connect() as conn:
        q = sa.select(sa.func.min(ingests.c.touched_us)).where(ingests.c.seq > seq)
        found = conn.execute(q).scalar()
    return None if found is None else int(found)


def load_checkpoint(store: Store, key: str, at: datetime) -> tuple[int, bytes] | None:
    """The stored state ``key`` at ``at`` if it is still valid: ``(seq, body)``; None when
    there is none or a later ingest touched an event before ``at``."""
    at_us = micros(at)
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(checkpoints.c.seq, checkpoints.c.body).where(
                checkpoints.c.key == key, checkpoints.c.at_us == at_us
            )
        ).first()
    if row is None:
        return None
    seq, body = int(row[0]), bytes(row[1])
    return (seq, body) if _holds(at_us, touched_after(store, seq)) else None


def _holds(at_us: int, touched: int | None) -> bool:
    """Whether a state at ``at_us`` still holds when the ingests after it touched nothing
    earlier than ``touched`` (None: there were none)."""
    return touched is None or touched >= at_us


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The database's one-line reason for a failed write."""
    return f"{exc.__class__.__name__}: {str(exc.orig).strip().splitlines()[0]}"


def save_checkpoint(
    store: Store, key: str, at: datetime, month: str, seq: int, body: bytes
) -> str | None:
    """Store (or replace) the state ``key`` at ``at``, computed from the ingests up to ``seq``.

    Checkpoints are a cache: when the store cannot take one (a read-only copy, a concurrent
    evaluation that stored the same one first), nothing is stored and the reason is returned."""
    at_us = micros(at)
    try:
        with store.engine.begin() as conn:
            conn.execute(
                checkpoints.delete().where(checkpoints.c.key == key, checkpoints.c.at_us == at_us)
            )
            conn.execute(
                checkpoints.insert().values(key=key, at_us=at_us, month=month, seq=seq, body=body)
            )
    except sa.exc.DBAPIError as exc:
        return _reason(exc)
    return None


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """One stored checkpoint, as ``rulesengine checkpoints`` lists it."""

    key: str  # digest of the engine, the family and its policies (checkpoint.state_key)
    at: datetime  # its instant (a month's start), in UTC
    month: str  # the month that starts there
    seq: int  # the last ingest it has seen
    size: int  # bytes of its state
    valid: bool  # no later ingest touched anything before its instant
    current: bool  # stored under the key asked about (these policies and this engine)

    @property
    def usable(self) -> bool:
        """Whether an evaluation under the key asked about would resume from it."""
        return self.valid and self.current


def list_checkpoints(store: Store, key: str | None = None) -> list[StoredCheckpoint]:
    """Every stored checkpoint, by instant then key; whether it is still valid (as
    :func:`load_checkpoint` checks) and whether it is stored under ``key``."""
    cols = checkpoints.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                cols.key, cols.at_us, cols.month, cols.seq, sa.func.length(cols.body)
            ).order_by(cols.at_us, cols.key)
        ).all()
    touched: dict[int, int | None] = {}  # per ingest seen: what the ingests after it touched
    out = []
    for k, at_us, month, seq, size in rows:
        if seq not in touched:
            touched[seq] = touched_after(store, seq)
        valid = _holds(at_us, touched[seq])
        out.append(
            StoredCheckpoint(k, from_micros(at_us), month, int(seq), int(size), valid, k == key)
        )
    return out


def clear_checkpoints(store: Store) -> int:
    """Delete every stored checkpoint (they are a cache); how many there were."""
    try:
        with store.engine.begin() as conn:
            return int(conn.execute(checkpoints.delete()).rowcount or 0)
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"cannot clear the checkpoints: {_reason(exc)}") from exc


def load_window(
    store: Store,
    vocab: Vocabulary,
    start: datetime,
    end: datetime,
    keep_text: frozenset[str] | None = None,
    extra: Iterable[str] = (),
) -> list[Event]:
    """The events an evaluation of ``[start, end)`` needs when it resumes from a checkpoint at
    ``start``: every event in the window, the roster before ``end``, every retraction, the events
    ``extra`` names, and, repeatedly until nothing is added, the events before ``end`` that the
    window's and ``extra``'s events (and those added) refer to or that refer to them. (Events
    refer only to events at or before them, as ingest checks: nothing before the window refers
    to an event in it.)

    The roster and the retractions are read by type, as a full evaluation reads them, and are
    read for themselves only (who is where; which ids are void), so what they refer to is not
    followed. What the window's events refer to is found from their event fields as the
    vocabulary names them (what the evaluation follows), not by a join: that would look up every
    event of the window a second time."""
    roster = sorted(t.name for t in vocab.types.values() if t.roster)
    voids = sorted(t.name for t in vocab.types.values() if t.voids)
    ref_fields = {  # the types that refer to other events, and through which fields
        t.name: names
        for t in vocab.types.values()
        if (names := tuple(n for n, f in t.fields.items() if f.type == "event"))
    }
    s, e = micros(start), micros(end)
    mark = "?" if store.engine.dialect.paramstyle == "qmark" else "%s"

    def marks(n: int) -> str:
        return ", ".join([mark] * n)

    decode = TrustedDecoder(vocab, keep_text, share=False)  # a month: little to share
    with store.engine.connect() as conn, collector_paused():
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        try:
            # in no particular order: Context.build sorts
            cur.execute(
                f"SELECT e.body, e.at_us FROM events e"
                f" WHERE (e.at_us >= {mark} AND e.at_us < {mark})"
                f" OR (e.at_us < {mark} AND e.type IN ({marks(len(roster))}))"
                f" OR e.type IN ({marks(len(voids))})",
                [s, e, e, *roster, *voids],
            )
            out = decode.rows(cur.fetchall())
            have = {ev.id for ev in out}
            frontier = set(extra)
            for ev in out:
                refs = ref_fields.get(ev.type)
                if refs and start <= ev.at < end:  # not the retractions after the window
                    for name in refs:
                        if value := ev.data.get(name):
                            frontier.add(value)

            def fetch(sql: str, params: list[object]) -> set[str]:
                """Decode the rows not read yet; their ids."""
                cur.execute(sql, params)
                new = [(b, us) for b, us, eid in cur.fetchall() if eid not in have]
                found = decode.rows(new)
                out.extend(found)
                ids = {ev.id for ev in found}
                have.update(ids)
                return ids

            cols = "e.body, e.at_us, e.id"
            ids, frontier = sorted(frontier - have), set()
            for i in range(0, len(ids), CHUNK):
                part = ids[i : i + CHUNK]
                frontier |= fetch(
                    f"SELECT {cols} FROM events e WHERE e.id IN ({marks(len(part))})"
                    f" AND e.at_us < {mark}",
                    [*part, e],
                )
            while frontier:
                ids, frontier = sorted(frontier), set()
                for i in range(0, len(ids), CHUNK):
                    part = ids[i : i + CHUNK]
                    for near, far in (("ref", "event_id"), ("event_id", "ref")):
                        frontier |= fetch(
                            f"SELECT {cols} FROM event_refs r JOIN events e ON e.id = r.{far}"
                            f" WHERE r.{near} IN ({marks(len(part))}) AND e.at_us < {mark}",
                            [*part, e],
                        )
        finally:
            cur.close()
    return out

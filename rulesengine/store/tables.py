"""The store's tables (SQLAlchemy Core). Rows are storage, not domain types: the store turns them
into :class:`~rulesengine.events.Event` through the same decoder as a file."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("at_us", BigInteger, nullable=False, doc="the event time, microseconds since 1970 UTC"),
    Column("body", Text, nullable=False, doc="the event as canonical JSON (sorted keys)"),
    Column("sha256", String(64), nullable=False, doc="hash of body, to spot changed re-sends"),
    Column("source", Text, nullable=False, doc="the file it came from"),
    Column("line", Integer, nullable=False, doc="its line (or row) in that file"),
    Index("ix_events_at", "at_us"),
    Index("ix_events_type_at", "type", "at_us"),
)

event_refs = Table(
    "event_refs",
    metadata,
    Column("event_id", String(200), nullable=False),
    Column("field", String(100), nullable=False),
    Column("ref", String(200), nullable=False),
    Index("ix_event_refs_ref", "ref"),
    Index("ix_event_refs_event", "event_id"),
)

rejects = Table(
    "rejects",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("line", Integer, nullable=False),
    Column("raw", Text, nullable=False),
    Column("raw_sha256", String(64), nullable=False),
    Column("code", String(10), nullable=False),
    Column("field", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("hint", Text, nullable=False),
    Index("ux_rejects_line", "source", "line", "raw_sha256", unique=True),
)

ingests = Table(
    "ingests",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column(
        "touched_us",
        BigInteger,
        nullable=False,
        doc="the earliest event time the file changed: its events' times and the times of the "
        "events its retractions void (through retracted retractions)",
    ),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("key", String(64), primary_key=True, doc="digest of engine, family and policies"),
    Column("at_us", BigInteger, primary_key=True, doc="the instant the state is taken at"),
    Column("month", String(16), nullable=False, doc="the month that starts at that instant"),
    Column("seq", Integer, nullable=False, doc="the last ingest the state has seen"),
    Column("body", LargeBinary, nullable=False, doc="the state, as JSON (checkpoint.py)"),
)

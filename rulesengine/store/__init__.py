"""The event store: every accepted event and every rejected line, in SQLite or PostgreSQL.

Events are append-only (never updated or deleted; a retraction is an event). Each ingested file is
one transaction. Schema changes are Alembic migrations applied when a store is opened; a store
made by a newer version of the code is refused.
"""

from rulesengine.store.store import IngestReport, Store, default_url

__all__ = ["IngestReport", "Store", "default_url"]

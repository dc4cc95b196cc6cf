"""The first store schema: events, event_refs, rejects.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables and their indexes."""
    op.create_table(
        "events",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
    )
    op.create_index("ix_events_at", "events", ["at_us"])
    op.create_index("ix_events_type_at", "events", ["type", "at_us"])
    op.create_table(
        "event_refs",
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
    )
    op.create_index("ix_event_refs_ref", "event_refs", ["ref"])
    op.create_index("ix_event_refs_event", "event_refs", ["event_id"])
    op.create_table(
        "rejects",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("raw_sha256", sa.String(64), nullable=False),
        sa.Column("code", sa.String(10), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("hint", sa.Text, nullable=False),
    )
    op.create_index("ux_rejects_line", "rejects", ["source", "line", "raw_sha256"], unique=True)


def downgrade() -> None:
    """Drop everything (only for development; stores are never downgraded in use)."""
    op.drop_table("rejects")
    op.drop_table("event_refs")
    op.drop_table("events")

"""Ingest log and evaluation checkpoints (resumable month states).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the ingest log and the checkpoints table."""
    op.create_table(
        "ingests",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("touched_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("at_us", sa.BigInteger, primary_key=True),
        sa.Column("month", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    """Drop both (only for development)."""
    op.drop_table("checkpoints")
    op.drop_table("ingests")

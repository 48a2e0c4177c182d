"""Residents' reports of wrong place information (纠错) and how editors handled them.

At most one open report per resident and place: a partial unique index (both stores have
them), so two racing requests cannot both file one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "place_report",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("place_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by", sa.String(128), nullable=True),
        sa.Column("handling_note", sa.String(500), nullable=True),
        sa.Column("resolved_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_place_report"),
        sa.ForeignKeyConstraint(["place_id"], ["place.id"], ondelete="CASCADE",
                                name="fk_place_report_place_id_place"),
    )
    op.create_index("ix_place_report_place_id", "place_report", ["place_id"])
    op.create_index("ix_place_report_uid", "place_report", ["uid"])
    op.create_index("ix_place_report_status_id", "place_report", ["status", "id"])
    op.create_index("uq_place_report_open", "place_report", ["place_id", "uid"], unique=True,
                    sqlite_where=sa.text("status = 'open'"),
                    postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_table("place_report")

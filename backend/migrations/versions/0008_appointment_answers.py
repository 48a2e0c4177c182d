"""The resident's answers to the guide's questions, kept with their appointment (the counter
sees the personal materials list they give), and when the appointment was checked in.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("appointment", sa.Column("answers", sa.JSON, nullable=True))
    op.add_column("appointment",
                  sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointment") as batch:
        batch.drop_column("checked_in_at")
        batch.drop_column("answers")

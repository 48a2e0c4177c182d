"""The slot a booking request named, so that a retry of its idempotency key with another
slot is refused (IDEMPOTENCY_KEY_REUSED) while a retry after a reschedule is not.

Appointments never rescheduled get their slot; rescheduled ones stay null (unknown).

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("appointment", sa.Column("booked_slot_id", sa.Integer, nullable=True))
    op.execute("UPDATE appointment SET booked_slot_id = slot_id WHERE revision = 0")


def downgrade() -> None:
    with op.batch_alter_table("appointment") as batch:
        batch.drop_column("booked_slot_id")

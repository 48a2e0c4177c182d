"""Push delivery: devices, per-token delivery records, and the dispatcher's lease and retry
time on the outbox.

`notification.next_attempt_at` is when the dispatcher may next try a message (backoff, quiet
hours); `due_at` stays the time the message is meant for, which orders the inbox.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "device",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token", sa.String(1024), nullable=False),
        sa.Column("uid", sa.String(128), nullable=False),
        sa.Column("platform", sa.String(8), nullable=False),
        sa.Column("locale", sa.String(35), nullable=True),
        _timestamp("created_at"),
        _timestamp("last_seen_at"),
        sa.PrimaryKeyConstraint("id", name="pk_device"),
        sa.UniqueConstraint("token", name="uq_device_token"),
        sa.CheckConstraint("platform IN ('android', 'ios', 'web')",
                           name="ck_device_platform_known"),
    )
    op.create_index("ix_device_uid", "device", ["uid"])
    op.create_index("ix_device_last_seen_at", "device", ["last_seen_at"])
    op.create_table(
        "notification_delivery",
        sa.Column("notification_id", sa.Integer, nullable=False),
        sa.Column("token", sa.String(1024), nullable=False),
        sa.Column("platform", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("provider_message_id", sa.String(300), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        _timestamp("at"),
        sa.PrimaryKeyConstraint("notification_id", "token", name="pk_notification_delivery"),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"], ondelete="CASCADE",
                                name="fk_notification_delivery_notification_id_notification"),
        sa.CheckConstraint("status IN ('sent', 'failed')",
                           name="ck_notification_delivery_status_known"),
    )
    with op.batch_alter_table("notification") as batch:
        batch.add_column(_timestamp("next_attempt_at", nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(_timestamp("lease_until", nullable=True))
    op.execute("UPDATE notification SET next_attempt_at = due_at")
    with op.batch_alter_table("notification") as batch:
        batch.alter_column("next_attempt_at", existing_type=sa.DateTime(timezone=True),
                           nullable=False)
        batch.drop_index("ix_notification_status_due_at")
        batch.drop_index("ix_notification_uid_created_at")
        batch.create_index("ix_notification_status_next_attempt_at",
                           ["status", "next_attempt_at"])
        batch.create_index("ix_notification_uid_due_at", ["uid", "due_at"])


def downgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.drop_index("ix_notification_uid_due_at")
        batch.drop_index("ix_notification_status_next_attempt_at")
        batch.create_index("ix_notification_uid_created_at", ["uid", "created_at"])
        batch.create_index("ix_notification_status_due_at", ["status", "due_at"])
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
        batch.drop_column("next_attempt_at")
    op.drop_table("notification_delivery")
    op.drop_index("ix_device_last_seen_at", "device")
    op.drop_index("ix_device_uid", "device")
    op.drop_table("device")

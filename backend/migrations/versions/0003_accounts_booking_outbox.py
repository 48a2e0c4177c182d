"""Accounts and role grants, service windows, schedule templates, slots, appointments, and the
notification outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('booked', 'checked_in')"


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("uid", sa.String(128), primary_key=True),
        _timestamp("created_at"),
        _timestamp("last_seen_at"),
        sa.PrimaryKeyConstraint("uid", name="pk_account"),
    )
    op.create_table(
        "service_window",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("place_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_service_window"),
        sa.ForeignKeyConstraint(["place_id"], ["place.id"], ondelete="CASCADE",
                                name="fk_service_window_place_id_place"),
    )
    op.create_index("ix_service_window_place_id", "service_window", ["place_id"])
    op.create_table(
        "window_service_item",
        sa.Column("window_id", sa.Integer, nullable=False),
        sa.Column("service_item_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("window_id", "service_item_id", name="pk_window_service_item"),
        sa.ForeignKeyConstraint(["window_id"], ["service_window.id"], ondelete="CASCADE",
                                name="fk_window_service_item_window_id_service_window"),
        sa.ForeignKeyConstraint(["service_item_id"], ["service_item.id"], ondelete="CASCADE",
                                name="fk_window_service_item_service_item_id_service_item"),
    )
    op.create_index("ix_window_service_item_service_item_id", "window_service_item",
                    ["service_item_id"])
    op.create_table(
        "role_grant",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("window_id", sa.Integer, nullable=True),
        _timestamp("granted_at"),
        sa.PrimaryKeyConstraint("id", name="pk_role_grant"),
        sa.UniqueConstraint("uid", "role", "scope", name="uq_role_grant_uid_role_scope"),
        sa.CheckConstraint("role IN ('staff', 'editor', 'admin')", name="ck_role_grant_role_known"),
        sa.CheckConstraint(
            "(role = 'staff' AND window_id IS NOT NULL)"
            " OR (role = 'editor' AND window_id IS NULL AND scope <> '')"
            " OR (role = 'admin' AND window_id IS NULL AND scope = '')",
            name="ck_role_grant_scope_fits_role",
        ),
        sa.ForeignKeyConstraint(["window_id"], ["service_window.id"], ondelete="CASCADE",
                                name="fk_role_grant_window_id_service_window"),
    )
    op.create_index("ix_role_grant_uid", "role_grant", ["uid"])
    op.create_index("ix_role_grant_window_id", "role_grant", ["window_id"])
    op.create_table(
        "schedule_template",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("window_id", sa.Integer, nullable=False),
        sa.Column("weekday", sa.Integer, nullable=False),
        sa.Column("start_time", sa.Time, nullable=False),
        sa.Column("end_time", sa.Time, nullable=False),
        sa.Column("slot_minutes", sa.Integer, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=True),
        sa.Column("valid_to", sa.Date, nullable=True),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_template"),
        sa.ForeignKeyConstraint(["window_id"], ["service_window.id"], ondelete="CASCADE",
                                name="fk_schedule_template_window_id_service_window"),
        sa.CheckConstraint("weekday BETWEEN 1 AND 7", name="ck_schedule_template_weekday_range"),
        sa.CheckConstraint("start_time < end_time",
                           name="ck_schedule_template_start_before_end"),
        sa.CheckConstraint("slot_minutes BETWEEN 5 AND 240",
                           name="ck_schedule_template_slot_minutes_range"),
        sa.CheckConstraint("capacity BETWEEN 1 AND 100",
                           name="ck_schedule_template_capacity_range"),
        sa.CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to",
                           name="ck_schedule_template_valid_range"),
    )
    op.create_index("ix_schedule_template_window_id", "schedule_template", ["window_id"])
    op.create_table(
        "slot",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("window_id", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        _timestamp("starts_at"),
        _timestamp("ends_at"),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("booked", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_reason", sa.String(200), nullable=True),
        sa.Column("is_manual", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slot"),
        sa.UniqueConstraint("window_id", "starts_at", name="uq_slot_window_id_starts_at"),
        sa.ForeignKeyConstraint(["window_id"], ["service_window.id"], ondelete="CASCADE",
                                name="fk_slot_window_id_service_window"),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity",
                           name="ck_slot_booked_within_capacity"),
        sa.CheckConstraint("capacity >= 0", name="ck_slot_capacity_not_negative"),
        sa.CheckConstraint("starts_at < ends_at", name="ck_slot_starts_before_ends"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_slot_status_known"),
    )
    op.create_index("ix_slot_window_id", "slot", ["window_id"])
    op.create_index("ix_slot_day", "slot", ["day"])
    op.create_table(
        "appointment",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(128), nullable=False),
        sa.Column("slot_id", sa.Integer, nullable=False),
        sa.Column("window_id", sa.Integer, nullable=False),
        sa.Column("service_item_id", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("cancel_reason", sa.String(200), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_appointment"),
        sa.UniqueConstraint("uid", "idempotency_key", name="uq_appointment_uid_idempotency_key"),
        sa.CheckConstraint(
            "status IN ('booked', 'checked_in', 'completed', 'no_show', 'cancelled')",
            name="ck_appointment_status_known",
        ),
        sa.ForeignKeyConstraint(["uid"], ["account.uid"], name="fk_appointment_uid_account"),
        sa.ForeignKeyConstraint(["slot_id"], ["slot.id"], name="fk_appointment_slot_id_slot"),
        sa.ForeignKeyConstraint(["window_id"], ["service_window.id"], ondelete="CASCADE",
                                name="fk_appointment_window_id_service_window"),
        sa.ForeignKeyConstraint(["service_item_id"], ["service_item.id"],
                                name="fk_appointment_service_item_id_service_item"),
    )
    op.create_index("ix_appointment_slot_id", "appointment", ["slot_id"])
    op.create_index("ix_appointment_window_id", "appointment", ["window_id"])
    op.create_index("ix_appointment_uid_status", "appointment", ["uid", "status"])
    op.create_index("uq_appointment_active_code", "appointment", ["code"], unique=True,
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("appointment_id", sa.Integer, nullable=True),
        sa.Column("is_urgent", sa.Boolean, nullable=False),
        _timestamp("due_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        _timestamp("created_at"),
        _timestamp("sent_at", nullable=True),
        _timestamp("read_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notification"),
        sa.UniqueConstraint("dedupe_key", name="uq_notification_dedupe_key"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead', 'dropped')",
                           name="ck_notification_status_known"),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"], ondelete="SET NULL",
                                name="fk_notification_appointment_id_appointment"),
    )
    op.create_index("ix_notification_status_due_at", "notification", ["status", "due_at"])
    op.create_index("ix_notification_uid_created_at", "notification", ["uid", "created_at"])
    op.create_index("ix_notification_appointment_id", "notification", ["appointment_id"])


def downgrade() -> None:
    for table in ("notification", "appointment", "slot", "schedule_template", "role_grant",
                  "window_service_item", "service_window", "account"):
        op.drop_table(table)

"""Service items and guides, opening hours, the holiday calendar, and text search indexes.

SQLite: FTS5 external-content tables over `search_text`, kept in step by triggers.
PostgreSQL: a generated tsvector of the same tokens (array_to_tsvector: the tokens are made in
Python — CJK bigrams, pinyin, initials — so no text-search parser may split them again) and
a GIN index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEARCHABLE_TABLES = ("place", "service_item")


def _sqlite_fts(table: str) -> list[str]:
    fts = f"{table}_fts"
    return [
        # unicode61 splits on the spaces between our tokens; the prefix indexes serve the
        # prefix queries of pinyin and initials ("sb" → "sbk").
        f"""CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}',
              content_rowid='id', tokenize='unicode61', prefix='1 2 3')""",
        # Rows already in the table (backfilled before) enter the index once, here: the
        # triggers' 'delete' of a row the index never held would corrupt it.
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
        f"""CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN
              INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text);
            END""",
        f"""CREATE TRIGGER {fts}_update AFTER UPDATE OF search_text ON {table} BEGIN
              INSERT INTO {fts}({fts}, rowid, search_text)
                VALUES ('delete', old.id, old.search_text);
              INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text);
            END""",
        f"""CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN
              INSERT INTO {fts}({fts}, rowid, search_text)
                VALUES ('delete', old.id, old.search_text);
            END""",
    ]


def _postgres_tsvector(table: str) -> list[str]:
    return [
        f"""ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS
              (array_to_tsvector(string_to_array(coalesce(search_text, ''), ' '))) STORED""",
        f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)",
    ]


def upgrade() -> None:
    # Plain ADD COLUMN on both stores: a batch (copy-and-move) would drop the R*Tree triggers.
    op.add_column("place", sa.Column("opening_hours", sa.String(500)))
    op.add_column("place", sa.Column("search_text", sa.Text()))

    op.create_table(
        "holiday_calendar",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_holiday_calendar"),
        sa.CheckConstraint("kind IN ('holiday', 'workday', 'ordinary')",
                           name="ck_holiday_calendar_kind"),
    )

    op.create_table(
        "service_item",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("guide", sa.JSON(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.Text()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_item"),
        sa.UniqueConstraint("code", name="uq_service_item_code"),
    )
    op.create_index("ix_service_item_category", "service_item", ["category"])

    op.create_table(
        "place_service_item",
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("service_item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["place_id"], ["place.id"], ondelete="CASCADE",
                                name="fk_place_service_item_place_id_place"),
        sa.ForeignKeyConstraint(["service_item_id"], ["service_item.id"], ondelete="CASCADE",
                                name="fk_place_service_item_service_item_id_service_item"),
        sa.PrimaryKeyConstraint("place_id", "service_item_id", name="pk_place_service_item"),
    )
    op.create_index("ix_place_service_item_service_item_id", "place_service_item",
                    ["service_item_id"])

    _index_existing_places()
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in SEARCHABLE_TABLES:
        for statement in (_sqlite_fts(table) if sqlite else _postgres_tsvector(table)):
            op.execute(statement)


def _index_existing_places() -> None:
    # Places loaded before this revision get their search tokens now, before the text
    # indexes exist (they index every row when they are made).
    from backend.places.text import search_document

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name, address FROM place")).all()
    if rows:
        bind.execute(
            sa.text("UPDATE place SET search_text = :search_text WHERE id = :id"),
            [{"id": id_, "search_text": search_document(name, address)}
             for id_, name, address in rows],
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in SEARCHABLE_TABLES:
        if sqlite:
            for suffix in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        else:
            op.drop_index(f"ix_{table}_search_vector", table_name=table)
            op.drop_column(table, "search_vector")
    op.drop_table("place_service_item")
    op.drop_table("service_item")
    op.drop_table("holiday_calendar")
    op.execute("ALTER TABLE place DROP COLUMN search_text")
    op.execute("ALTER TABLE place DROP COLUMN opening_hours")

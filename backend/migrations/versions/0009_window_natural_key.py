"""A hall's windows are known by their name: unique (place_id, name).

A resend of `upsertWindow` without an id used to make a second window of the same name. Windows
already duplicated keep their rows (their slots, appointments and staff grants hang on them):
every one after the oldest of a name is renamed "<name>（<id>）", so nothing is lost and the
editor sees which to merge or retire.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MAX_NAME = 100


def _rename_duplicates() -> None:
    bind = op.get_bind()
    window = sa.table("service_window", sa.column("id", sa.Integer),
                      sa.column("place_id", sa.Integer), sa.column("name", sa.String))
    rows = bind.execute(sa.select(window.c.id, window.c.place_id, window.c.name)
                        .order_by(window.c.place_id, window.c.id)).all()
    taken = {(place_id, name) for _, place_id, name in rows}
    seen: set[tuple[int, str]] = set()
    for window_id, place_id, name in rows:
        if (place_id, name) not in seen:
            seen.add((place_id, name))
            continue
        suffix = f"（{window_id}）"
        renamed = name[:MAX_NAME - len(suffix)] + suffix
        while (place_id, renamed) in taken:  # a name that already looks like a renamed one
            suffix = "（" + suffix[1:-1] + "′）"
            renamed = name[:MAX_NAME - len(suffix)] + suffix
        taken.add((place_id, renamed))
        bind.execute(window.update().where(window.c.id == window_id).values(name=renamed))


def upgrade() -> None:
    _rename_duplicates()
    op.create_index("uq_service_window_place_name", "service_window", ["place_id", "name"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("uq_service_window_place_name", table_name="service_window")

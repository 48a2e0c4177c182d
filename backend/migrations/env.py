"""Alembic environment: the engine comes from the caller (backend.db.upgrade) or DATABASE_URL."""

from alembic import context

from backend.config import Settings
from backend.db import Base, make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine(Settings.from_env().database_url)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

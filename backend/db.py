"""Engine, sessions, the declarative Base, and Alembic migrations for both stores."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # The default pool keeps one connection per thread; WAL lets readers run beside a writer.
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


# SQLSTATE classes of a server going away: 08 connection exception, 57P operator intervention
# (admin shutdown, crash shutdown, cannot connect now: a restart or a failover).
UNAVAILABLE_SQLSTATES = ("08", "57P")


def database_unavailable(error: BaseException) -> bool:
    """The database could not be reached or dropped the connection: an outage to report as
    such (the client may retry), not a bug. The pool's pre-ping replaces the dead connections
    on their next checkout, so the requests after the outage need no restart."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:  # SQLAlchemy recognised a disconnect
        return True
    sqlstate = getattr(error.orig, "sqlstate", "n/a")  # psycopg's; None: no server answered
    return isinstance(error, OperationalError) and (
        sqlstate is None or str(sqlstate).startswith(UNAVAILABLE_SQLSTATES))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for a request's reads (writes get a unit of work of their own). On PostgreSQL
    they run in autocommit: each statement sees what was committed before it, as in a READ
    COMMITTED transaction, without the BEGIN and ROLLBACK round trips (the largest item after
    the queries themselves in a profile of nearby searches at 1M places). SQLite's driver opens
    no transaction for reads."""
    if is_sqlite(engine):
        return make_session_factory(engine)
    return make_session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dialect_insert(session: Session):  # noqa: ANN201
    """The store's INSERT construct, the one with ON CONFLICT clauses."""
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert


def insert_ignoring_conflicts(session: Session, model, rows: list[dict],
                              index_elements: list[str]) -> int:
    """INSERT … ON CONFLICT DO NOTHING on either store; returns the number of rows written."""
    if not rows:
        return 0
    insert = dialect_insert(session)
    statement = (insert(model)
                 .on_conflict_do_nothing(index_elements=index_elements)
                 # rowcount of a batched INSERT is -1 on psycopg: count what comes back.
                 .returning(*model.__table__.primary_key.columns))
    # Parameters as a list: one cached statement, sent in batches ("insertmanyvalues").
    return len(session.execute(statement, rows).all())


# Alembic (~12 MB of modules) is imported only by the commands that migrate: the serving
# processes answer /readyz from the revision files and the alembic_version table instead.
def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def migration_status(engine: Engine) -> tuple[str | None, str | None]:
    """(current revision in the database, head revision of the code)."""
    head = migration_head()
    with engine.connect() as connection:
        current = None
        if inspect(connection).has_table("alembic_version"):
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return current, head


@functools.cache
def migration_head(versions: Path = MIGRATIONS_DIR / "versions") -> str:
    """The head revision of the migrations: the one no other revises (what alembic's
    ScriptDirectory.get_current_head answers; a test compares the two)."""
    revisions: set[str] = set()
    revised: set[str] = set()  # down_revision: None, one revision, or a merge's tuple
    for path in sorted(versions.glob("*.py")):
        values = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in ("revision",
                                                                       "down_revision"):
                        values[target.id] = ast.literal_eval(node.value)
        revisions.add(values["revision"])
        down = values.get("down_revision")
        revised.update(down if isinstance(down, tuple | list) else [down] if down else [])
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"migrations need exactly one head, found {sorted(heads)}")
    return heads.pop()

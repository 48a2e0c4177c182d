"""Engine, sessions, the declarative Base, and Alembic migrations for both stores."""

from __future__ import annotations

import ast
import functools
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    CursorResult,
    Engine,
    MetaData,
    TextClause,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    ORMExecuteState,
    Session,
    make_transient_to_detached,
    sessionmaker,
)

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

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


# SQLite's busy timeout (seconds): how long a writer waits for the database's write lock, and
# the longest a writer waits in the process's queue before it tries SQLite's lock anyway.
SQLITE_BUSY_SECONDS = 30


def make_engine(database_url: str, *, sqlite_write_queue: bool = True) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connect_args: dict = {"timeout": SQLITE_BUSY_SECONDS}
        if url.database and url.database != ":memory:":
            path = Path(url.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            if sqlite_write_queue:
                connect_args["factory"] = _queued_connection_class(str(path.resolve()))
        # The default pool keeps one connection per thread; WAL lets readers run beside a writer.
        engine = create_engine(url, connect_args=connect_args)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            cursor.close()

        return engine
    # No pre-ping: it costs a round trip per checkout. A dropped connection shows on its next
    # statement instead; SQLAlchemy then invalidates the whole pool (after a restart every
    # pooled connection is dead at once, so each is replaced on its next checkout, not after
    # failing a request of its own), and a read retries once (`_retry_dropped_read`).
    # No parallel query, set at connection start (no round trip; SET LOCAL has no effect in
    # the autocommit read sessions): the service sends small indexed statements, and workers
    # cost more to start and merge than they save on a few cores — mapClusters' grid statement
    # took twice as long with them at 10k and 100k places, and its sums came in varying order.
    options = " ".join(part for part in (url.query.get("options"), NO_PARALLEL_QUERY)
                       if isinstance(part, str))
    return create_engine(url.difference_update_query(["options"]), pool_size=5,
                         max_overflow=10, connect_args={"options": options})


NO_PARALLEL_QUERY = "-c max_parallel_workers_per_gather=0"

# The page cache of each SQLite connection of a server worker, KiB (SQLite's default: 2000).
# A worker pools a connection per thread (4): the default's 8 MB per worker held pages the
# operating system's file cache holds anyway, and at 512 KiB no request of the bench measured
# slower (bench/RESULTS.md, "Server memory"). Seeding and imports keep the default.
SQLITE_SERVER_CACHE_KIB = 512


def bound_sqlite_cache(engine: Engine) -> None:
    """Give the engine's SQLite connections opened from now on the server's page cache."""
    if not is_sqlite(engine):
        return

    @event.listens_for(engine, "connect")
    def _cache_size(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA cache_size=-{SQLITE_SERVER_CACHE_KIB}")


class WriterQueue:
    """The writers of one SQLite file in this process, one at a time (SQLITE_WRITE_QUEUE).

    SQLite lets one transaction write at a time; a writer that finds the lock taken sleeps in
    SQLite's busy handler (1, 2, 5, 10 … 100 ms) and tries again, so under a booking rush the
    threads of a worker slept while the lock was free (40 % of a profile). Here a thread's
    first write of a transaction waits on a lock of the process instead, handed over the
    moment the transaction before it commits or rolls back. It is a queue, not the guarantee:
    SQLite's own lock still decides (other processes — the second gunicorn worker, the CLI,
    the dispatcher — meet this one there, as before)."""

    def __init__(self, timeout: float = SQLITE_BUSY_SECONDS) -> None:
        self.timeout = timeout
        self._reset()

    def _reset(self) -> None:
        # Also in a forked child (gunicorn's workers from the preloaded app): a turn held by a
        # thread of the parent is no thread's in the child.
        self._lock = threading.Lock()
        self._holder: int | None = None

    def enter(self) -> bool:
        """Wait for the turn of this thread's write transaction; False when it goes ahead
        without the queue: the thread is in the queue already through another connection (it
        would wait for itself), or the queue did not move for `timeout` seconds."""
        me = threading.get_ident()
        if self._holder == me:
            return False
        if not self._lock.acquire(timeout=self.timeout):
            log.warning("SQLite writer queue did not move for %s s; writing without it",
                        self.timeout)
            return False
        self._holder = me
        return True

    def leave(self) -> None:
        self._holder = None
        self._lock.release()


_WRITER_QUEUES: dict[str, WriterQueue] = {}
_WRITER_QUEUES_LOCK = threading.Lock()


def writer_queue(path: str) -> WriterQueue:
    """The process's queue of the SQLite file at `path` (shared by every engine on it)."""
    with _WRITER_QUEUES_LOCK:
        return _WRITER_QUEUES.setdefault(path, WriterQueue())


def _reset_writer_queues() -> None:
    for queue in _WRITER_QUEUES.values():
        queue._reset()  # noqa: SLF001


os.register_at_fork(after_in_child=_reset_writer_queues)


# The statements before which Python's sqlite3 opens a transaction by itself (its legacy
# transaction control, which SQLAlchemy's pysqlite dialect uses): the first write.
_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _is_dml(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_DML)


def _queued_connection_class(path: str) -> type[sqlite3.Connection]:
    """A sqlite3 connection class whose write transactions go through `writer_queue(path)`:
    in it from the first write of a transaction to its commit or rollback (or the
    connection's close)."""
    queue = writer_queue(path)

    class QueuedCursor(sqlite3.Cursor):
        def _in_turn(self, run, sql, parameters):  # noqa: ANN001, ANN202
            connection = self.connection
            if not connection.in_transaction and not connection.queued and _is_dml(sql):
                connection.queued = queue.enter()
            try:
                return run(sql, parameters)
            finally:
                if connection.queued and not connection.in_transaction:
                    connection.leave_queue()  # no transaction was opened (an error, autocommit)

        def execute(self, sql, parameters=(), /):  # noqa: ANN001, ANN202
            return self._in_turn(super().execute, sql, parameters)

        def executemany(self, sql, parameters, /):  # noqa: ANN001, ANN202
            return self._in_turn(super().executemany, sql, parameters)

    class QueuedConnection(sqlite3.Connection):
        queued = False

        def cursor(self, factory=QueuedCursor):  # noqa: ANN001, ANN202
            return super().cursor(factory)

        def leave_queue(self) -> None:
            if self.queued:
                self.queued = False
                queue.leave()

        def _end(self, end) -> None:  # noqa: ANN001
            try:
                end()
            finally:
                if not self.in_transaction:
                    self.leave_queue()

        def commit(self) -> None:
            self._end(super().commit)

        def rollback(self) -> None:
            self._end(super().rollback)

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.leave_queue()

    return QueuedConnection


# SQLSTATE classes of a server going away: 08 connection exception, 57P operator intervention
# (admin shutdown, crash shutdown, cannot connect now: a restart or a failover).
UNAVAILABLE_SQLSTATES = ("08", "57P")


def database_unavailable(error: BaseException) -> bool:
    """The database could not be reached or dropped the connection: an outage to report as
    such (the client may retry), not a bug. A dropped connection invalidates the whole pool,
    so the requests after the outage get new connections and need no restart; a read has
    already been tried once more on a new connection (`_retry_dropped_read`), a write is not
    (its COMMIT may have reached the server)."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:  # SQLAlchemy recognised a disconnect
        return True
    sqlstate = getattr(error.orig, "sqlstate", "n/a")  # psycopg's; None: no server answered
    return isinstance(error, OperationalError) and (
        sqlstate is None or str(sqlstate).startswith(UNAVAILABLE_SQLSTATES))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


# Session.info key of the read sessions whose reads may run again on a new connection.
RETRIED_READS = "retried_reads"


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for a request's reads (writes get a unit of work of their own). On PostgreSQL
    they run in autocommit: each statement sees what was committed before it, as in a READ
    COMMITTED transaction, without the BEGIN and ROLLBACK round trips (the largest item after
    the queries themselves in a profile of nearby searches at 1M places). SQLite's driver opens
    no transaction for reads.

    Without a transaction, a SELECT that lost its connection can run again on a new one with
    nothing lost: on PostgreSQL it does, once (a restart or a failover dropped the pooled
    connections), so the reads after an outage do not fail."""
    if is_sqlite(engine):
        return make_session_factory(engine)
    factory = sessionmaker(bind=engine.execution_options(isolation_level="AUTOCOMMIT"),
                           expire_on_commit=False, info={RETRIED_READS: True})
    event.listen(factory, "do_orm_execute", _retry_dropped_read)
    return factory


def _is_read(statement) -> bool:  # noqa: ANN001
    if isinstance(statement, TextClause):
        return statement.text.lstrip()[:6].upper() == "SELECT"
    return bool(getattr(statement, "is_select", False))


def _retry_dropped_read(state: ORMExecuteState):  # noqa: ANN202
    """Every statement of a read session (Session.execute, scalars, get, lazy loads): a SELECT
    whose connection was dropped runs once more on a new connection."""
    if not _is_read(state.statement):
        return None  # SQLAlchemy executes it as usual
    try:
        return state.invoke_statement()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    # Nothing to keep: the session's (autocommit) transaction ends, its next statement
    # checks out a connection, a new one since the pool was invalidated with this one.
    state.session.rollback()
    return state.invoke_statement()


def execute_read(session: Session, statement, parameters: dict) -> CursorResult:  # noqa: ANN001
    """A Core SELECT on the session's connection (without the ORM's per-statement work), tried
    once more on a new connection when the session is a read session and the connection was
    dropped; in a unit of work the error stands (the transaction is lost)."""
    try:
        return session.connection().execute(statement, parameters)
    except DBAPIError as error:
        if not (error.connection_invalidated and session.info.get(RETRIED_READS)):
            raise
    session.rollback()
    return session.connection().execute(statement, parameters)


def detached_instance(model: type, attributes: tuple[str, ...], values: tuple):  # noqa: ANN201
    """An instance of a mapped class with these column attributes loaded, in no session (as if
    read by a session since closed), built without the ORM's per-row loading: for the hot
    reads that fetch plain columns (Core or the driver). Its other attributes are not loaded."""
    instance = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(zip(attributes, values, strict=True))
    make_transient_to_detached(instance)
    return instance


class DriverSelect:
    """A SELECT that a PostgreSQL read session sends through the driver itself: compiled once
    (its constants and IN lists bound then), each run binds the caller's values and returns
    the driver's tuples. On the hottest read, SQLAlchemy's per-execution work (context, result,
    ORM loading) cost three times the driver's (issue 18). Only for columns that need no
    result processing on psycopg (text, numbers, booleans, JSON, timestamps): a test compares
    the rows with SQLAlchemy's. Any other session, any error, and any engine with a listener
    of its statements (tracing, the tests' statement counts) take SQLAlchemy's path."""

    def __init__(self, statement) -> None:  # noqa: ANN001 - a Core Select
        self.statement = statement
        self._compiled: tuple[str, dict] | None = None

    def _compile(self, session: Session) -> tuple[str, dict]:
        if self._compiled is None:
            from sqlalchemy.sql import visitors
            from sqlalchemy.sql.elements import BindParameter

            compiled = self.statement.compile(dialect=session.get_bind().dialect)
            # Expanding the IN lists needs a value for every parameter; the caller's are
            # placeholders here and stay parameters in the SQL.
            caller = {bind.key: None for bind in visitors.iterate(self.statement)
                      if isinstance(bind, BindParameter) and bind.required}
            expanded = compiled.construct_expanded_state(caller)
            self._compiled = (expanded.statement, dict(expanded.parameters))
        return self._compiled

    def rows(self, session: Session, parameters: dict) -> list[tuple]:
        if not session.info.get(RETRIED_READS):
            return list(execute_read(session, self.statement, parameters))
        connection = session.connection()
        if connection.dispatch.before_cursor_execute:
            return list(execute_read(session, self.statement, parameters))
        sql, constants = self._compile(session)
        driver = connection.connection.driver_connection
        try:
            with driver.cursor() as cursor:
                cursor.execute(sql, {**constants, **parameters})
                return cursor.fetchall()
        except Exception:  # noqa: BLE001 - SQLAlchemy's path reports it, or retries a drop
            log.info("driver read failed; running it through SQLAlchemy", exc_info=True)
        return list(execute_read(session, self.statement, parameters))


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


def insert_construct(store: str):  # noqa: ANN201
    """The INSERT construct with ON CONFLICT clauses of a store ("sqlite" or "postgresql")."""
    if store == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert


def dialect_insert(session: Session):  # noqa: ANN201
    """The store's INSERT construct, the one with ON CONFLICT clauses."""
    return insert_construct(session.get_bind().dialect.name)


@functools.cache
def _insert_ignoring(store: str, table, index_elements: tuple[str, ...]):  # noqa: ANN001, ANN202
    # Built once per table: the construct and its cache key cost more than a small INSERT.
    return (insert_construct(store)(table)
            .on_conflict_do_nothing(index_elements=list(index_elements))
            # rowcount of a batched INSERT is -1 on psycopg: count what comes back.
            .returning(*table.primary_key.columns))


def insert_ignoring_conflicts(session: Session, model, rows: list[dict],
                              index_elements: list[str]) -> int:
    """INSERT … ON CONFLICT DO NOTHING on either store; returns the number of rows written.
    The rows' keys are column names (the statement is on the model's table)."""
    if not rows:
        return 0
    statement = _insert_ignoring(session.get_bind().dialect.name, model.__table__,
                                 tuple(index_elements))
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

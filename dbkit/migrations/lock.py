"""One migration run at a time, and migrations that fail fast instead of queueing.

Several app instances may run ``alembic upgrade head`` as they start. Alembic
reads the current revision and then applies what is missing, so two runs that
overlap both apply the same revisions. :func:`migration_lock` serialises them
with a database-level lock, the *run lock*: a PostgreSQL advisory lock, MySQL/
MariaDB ``GET_LOCK``, or on SQLite the file's write lock taken by
``BEGIN IMMEDIATE``. The lock is taken before the current revision is read, so
the second run sees the first one's work and has nothing left to do.

On PostgreSQL the lock is held by a transaction, never by a session: a
connection pooler in transaction mode (PgBouncer, most managed PostgreSQL)
hands each transaction whichever server connection is free, so a session lock
would be taken on one server connection and released on another, or never,
and every later run would wait for a lock nobody holds. A second connection
opens a transaction, takes ``pg_try_advisory_xact_lock`` and stays in that
transaction, so the pooler keeps it on one server connection, until the run
ends; the lock ends with the transaction, however the run ends (if the process
is killed, PostgreSQL or the pooler closes that server connection). The
revisions themselves run on the first connection, one transaction each, and
read the current revision only after the lock is held. A run waiting for the
lock polls rather than blocks, so waiting runs do not take up the pooler's
server connections.

:func:`statement_limits` then bounds how long a migration's own statements may
wait for table locks, or run. An ``ALTER TABLE`` queued behind a long
transaction blocks every later query on that table; failing after a few
seconds (and retrying later) is far cheaper than an outage.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, OperationalError

from dbkit.database import ConfigurationError, seconds_setting, setting

logger = logging.getLogger(__name__)

# Any constant will do: advisory locks are scoped to one database.
POSTGRES_LOCK_KEY = 7_240_311_925_508_160_369
LOCK_NAME_PREFIX = "migrations:"
# How often a waiting run asks for the PostgreSQL lock again: quickly at
# first, then four times a second. Runs that find nothing left to do take the
# lock one after another, so a longer pause would add up; each try is one
# short transaction.
FIRST_POLL_SECONDS = 0.05
LAST_POLL_SECONDS = 0.25
# A setting of 0 means "no limit". PostgreSQL reads 0 that way itself; MySQL
# and SQLite are given their largest practical values instead.
MYSQL_NO_LIMIT_SECONDS = 365 * 24 * 3600
SQLITE_NO_LIMIT_MS = 2**31 - 1
# Tries after a statement gave up on a table lock: at most this many, with
# pauses that double from the first up to the last.
MAX_RETRIES = 20
FIRST_RETRY_PAUSE_SECONDS = 0.5
LAST_RETRY_PAUSE_SECONDS = 15.0
# Names these settings had before; still read, with a warning, for one release.
RENAMED = {
    "MIGRATION_RUN_LOCK": "MIGRATION_LOCK",
    "MIGRATION_RUN_LOCK_WAIT": "MIGRATION_LOCK_WAIT",
    "MIGRATION_TABLE_LOCK_TIMEOUT": "MIGRATION_LOCK_TIMEOUT",
}


class MigrationLockTimeout(Exception):
    """Another run held the run lock for longer than MIGRATION_RUN_LOCK_WAIT."""


@dataclass(frozen=True)
class MigrationSettings:
    """How migrations guard themselves; every field is read from the configuration."""

    run_lock: bool = True
    run_lock_wait: float = 300.0
    # Short: while a statement waits, the app's queries on the table queue
    # behind it; the retries are what let a short wait still get through.
    table_lock_timeout: float = 2.0
    table_lock_retries: int = 3
    statement_timeout: float = 0.0

    @classmethod
    def from_config(cls) -> MigrationSettings:
        defaults = cls()
        lock_name = _current_name("MIGRATION_RUN_LOCK")
        lock = (setting(lock_name) or "on").strip().lower()
        if lock not in {"on", "off"}:
            raise ConfigurationError(f"{lock_name} must be on or off, not {lock!r}")
        return cls(
            run_lock=lock == "on",
            run_lock_wait=seconds_setting(
                _current_name("MIGRATION_RUN_LOCK_WAIT"), defaults.run_lock_wait
            ),
            table_lock_timeout=seconds_setting(
                _current_name("MIGRATION_TABLE_LOCK_TIMEOUT"), defaults.table_lock_timeout
            ),
            table_lock_retries=_count_setting(
                "MIGRATION_TABLE_LOCK_RETRIES", defaults.table_lock_retries
            ),
            statement_timeout=seconds_setting(
                "MIGRATION_STATEMENT_TIMEOUT", defaults.statement_timeout
            ),
        )


def _count_setting(name: str, default: int) -> int:
    raw = setting(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) > MAX_RETRIES:
        raise ConfigurationError(
            f"{name} must be a whole number from 0 to {MAX_RETRIES}, not {raw!r}"
        )
    return int(raw)


def _current_name(name: str) -> str:
    """``name``, or the old name it replaces if only that one is set (with a warning)."""
    old = RENAMED[name]
    if setting(name) is None and setting(old) is not None:
        logger.warning(
            "%s is deprecated: rename it to %s; the old name will stop working in the next release",
            old,
            name,
        )
        return old
    return name


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


@contextmanager
def migration_lock(connection: Connection, settings: MigrationSettings) -> Iterator[None]:
    """Hold the database's run lock for the duration of the block.

    On PostgreSQL and MySQL the block may commit as often as it likes (one
    transaction per revision). On SQLite the block runs inside the one
    ``BEGIN IMMEDIATE`` transaction that holds the lock, so all revisions of
    a run commit together.
    """
    if not settings.run_lock:
        yield
        return
    dialect = connection.dialect.name
    if dialect == "postgresql":
        with _postgres_lock(connection, settings):
            yield
    elif dialect in {"mysql", "mariadb"}:
        with _mysql_lock(connection, settings):
            yield
    elif dialect == "sqlite":
        with _sqlite_lock(connection, settings):
            yield
    else:
        raise ConfigurationError(f"no run lock is implemented for {dialect}")


@contextmanager
def _sqlite_lock(connection: Connection, settings: MigrationSettings) -> Iterator[None]:
    # BEGIN IMMEDIATE takes the file's write lock at once, before Alembic
    # reads the current revision; a second run waits in BEGIN for up to
    # busy_timeout.
    wait = _milliseconds(settings.run_lock_wait) or SQLITE_NO_LIMIT_MS
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {wait}")
    connection.commit()
    connection.execution_options(sqlite_begin="IMMEDIATE")
    try:
        try:
            transaction = connection.begin()
        except OperationalError as error:
            if "locked" in str(error.orig):
                raise MigrationLockTimeout(_lock_wait_message(settings)) from None
            raise
        with transaction:
            yield
    finally:
        connection.execution_options(sqlite_begin="")


@contextmanager
def _postgres_lock(connection: Connection, settings: MigrationSettings) -> Iterator[None]:
    # See the module docstring: the lock lives in a transaction on a
    # connection of its own, which does nothing else until the run is over.
    with connection.engine.connect() as holder:
        deadline = time.monotonic() + settings.run_lock_wait
        pause = FIRST_POLL_SECONDS
        while not _try_postgres_lock(holder):
            holder.rollback()
            remaining = deadline - time.monotonic()
            if settings.run_lock_wait and remaining <= 0:
                raise MigrationLockTimeout(_lock_wait_message(settings))
            time.sleep(min(pause, remaining) if settings.run_lock_wait else pause)
            pause = min(pause * 2, LAST_POLL_SECONDS)
        try:
            yield
        finally:
            holder.rollback()  # ends the transaction, and the lock with it


def _try_postgres_lock(holder: Connection) -> bool:
    # The key is written into the statement rather than bound: a statement
    # with parameters leaves its portal, and with it a snapshot, open until
    # the next statement, and CREATE INDEX CONCURRENTLY waits for every
    # transaction holding an older snapshot (the holder's would be one).
    acquired = bool(
        holder.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({POSTGRES_LOCK_KEY})").scalar()
    )
    # The holder then sits idle in its transaction for the whole run: a
    # server default idle_in_transaction_session_timeout must not end it (and
    # the lock) half way. SET LOCAL lasts as long as the transaction.
    holder.exec_driver_sql("SET LOCAL idle_in_transaction_session_timeout = 0")
    return acquired


@contextmanager
def _mysql_lock(connection: Connection, settings: MigrationSettings) -> Iterator[None]:
    # GET_LOCK names are server-wide, so the name includes the database.
    name = (LOCK_NAME_PREFIX + str(connection.exec_driver_sql("SELECT DATABASE()").scalar()))[:64]
    wait = settings.run_lock_wait or MYSQL_NO_LIMIT_SECONDS
    acquired = connection.execute(
        text("SELECT GET_LOCK(:name, :wait)"), {"name": name, "wait": wait}
    ).scalar()
    connection.commit()
    if acquired != 1:
        raise MigrationLockTimeout(_lock_wait_message(settings))
    try:
        yield
    finally:
        connection.rollback()
        connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
        connection.commit()


def _lock_wait_message(settings: MigrationSettings) -> str:
    return (
        f"another migration run has held the run lock for more than "
        f"{settings.run_lock_wait:g} s (MIGRATION_RUN_LOCK_WAIT); nothing was changed"
    )


def _limits(dialect: Dialect, settings: MigrationSettings) -> tuple[str, ...]:
    """The statements that set the limits: per transaction on PostgreSQL, per session on MySQL."""
    if dialect.name == "postgresql":
        return (
            f"SET LOCAL lock_timeout = {_milliseconds(settings.table_lock_timeout)}",
            f"SET LOCAL statement_timeout = {_milliseconds(settings.statement_timeout)}",
        )
    if dialect.name in {"mysql", "mariadb"}:
        # lock_wait_timeout covers metadata locks (what ALTER TABLE waits for);
        # innodb_lock_wait_timeout covers row locks. Both take whole seconds.
        wait = (
            max(1, round(settings.table_lock_timeout))
            if settings.table_lock_timeout
            else MYSQL_NO_LIMIT_SECONDS
        )
        limits: tuple[str, ...] = (
            f"SET SESSION lock_wait_timeout = {wait}",
            f"SET SESSION innodb_lock_wait_timeout = {wait}",
        )
        if getattr(dialect, "is_mariadb", False):
            limits += (f"SET SESSION max_statement_time = {settings.statement_timeout:g}",)
        return limits
    return ()


@contextmanager
def statement_limits(connection: Connection, settings: MigrationSettings) -> Iterator[None]:
    """Limit how long each statement of a migration may wait for locks, or run."""
    limits = _limits(connection.dialect, settings)
    if connection.dialect.name == "postgresql":
        # SET LOCAL in every transaction, not SET once: behind a transaction
        # pooler a session setting would stay on whichever server connection
        # ran it (and slow the app's queries down to fail) while the next
        # revision ran on another. Statements in an autocommit_block (CREATE
        # INDEX CONCURRENTLY) run without them: they take no lock that blocks
        # the app's reads and writes.
        def set_limits(connection: Connection) -> None:
            if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                for statement in limits:
                    connection.exec_driver_sql(statement)

        event.listen(connection, "begin", set_limits)
        try:
            yield
        finally:
            event.remove(connection, "begin", set_limits)
        return
    if limits:
        for statement in limits:
            connection.exec_driver_sql(statement)
        connection.commit()
    yield


def write_statement_limits(context: MigrationContext, settings: MigrationSettings) -> None:
    """Offline (``alembic upgrade head --sql``): the same limits, written into the SQL.

    Whoever runs the SQL by hand keeps the fail-fast guard: on PostgreSQL the
    limits follow each BEGIN (SET LOCAL, as online), on MySQL they open the
    script. Alembic has no hook after the BEGIN it writes, so this context's
    own ``emit_begin`` is wrapped.
    """
    impl = context.impl
    limits = _limits(context.dialect, settings)
    if context.dialect.name != "postgresql":
        for statement in limits:
            impl.static_output(f"{statement};")
        return
    begin = impl.emit_begin

    def begin_with_limits() -> None:
        begin()
        for statement in limits:
            impl.static_output(f"{statement};")

    impl.emit_begin = begin_with_limits  # type: ignore[method-assign]


# Trying again after a lock wait ---------------------------------------------------------
#
# A statement that gave up on a table lock (MIGRATION_TABLE_LOCK_TIMEOUT) is
# tried again after a pause, up to MIGRATION_TABLE_LOCK_RETRIES times: the
# transaction that held the lock is usually a moment from its end. Only what
# did not commit is repeated. On PostgreSQL a revision is one transaction, so
# the lock wait rolled all of it back (and released every lock it held, which
# a retry inside the transaction would keep while it pauses): the revision
# runs again (an online step it committed already finds its work done). Unless
# an autocommit block (CREATE INDEX CONCURRENTLY and the other online steps)
# has committed other work of it: running it again would repeat that work, so
# from the block on each statement runs in a savepoint and only the one that
# gave up runs again, after a pause outside the transaction (what came before it is
# committed first, so that no lock it took is held while it pauses). On MySQL
# every DDL statement commits on its own, so only the statement that gave up
# runs again.

# In Connection.info: whether the revision being run has committed work of its
# own that is not an online step (running it again would repeat that work).
PARTLY_COMMITTED = "dbkit.revision_partly_committed"
# In Connection.info: whether its open transaction holds such work, which the
# next autocommit block commits; and whether an online step is running.
ORDINARY_WORK = "dbkit.revision_ordinary_work"
ONLINE_STEP = "dbkit.online_step"


@contextmanager
def online_step(connection: Connection) -> Iterator[None]:
    """Around an online operation (dbkit/migrations/online.py), which finds its work
    done when run again: a revision that has committed nothing but such steps is
    still rolled back and run again whole after a lock wait."""
    outer = connection.info.get(ONLINE_STEP, False)
    connection.info[ONLINE_STEP] = True
    try:
        yield
    finally:
        connection.info[ONLINE_STEP] = outer


def is_lock_wait(error: BaseException) -> bool:
    """Whether ``error`` is a statement that gave up waiting for a lock."""
    return isinstance(error, DBAPIError) and (
        _sqlstate(error) == "55P03" or _mysql_code(error) == 1205
    )


def _pause_before(attempt: int) -> float:
    return min(FIRST_RETRY_PAUSE_SECONDS * 2.0 ** (attempt - 1), LAST_RETRY_PAUSE_SECONDS)


def _log_retry(settings: MigrationSettings, attempt: int, what: str) -> float:
    pause = _pause_before(attempt)
    logger.warning(
        "a statement waited more than %g s (MIGRATION_TABLE_LOCK_TIMEOUT) for a table lock; "
        "%s again in %g s (try %d of %d)",
        settings.table_lock_timeout,
        what,
        pause,
        attempt + 1,
        settings.table_lock_retries + 1,
    )
    return pause


def rerun_after_lock_waits(
    connection: Connection, settings: MigrationSettings, run: Callable[[], None]
) -> None:
    """``run()`` the migrations; on PostgreSQL, again from the revision a lock wait rolled back."""
    attempt = 0
    while True:
        connection.info[PARTLY_COMMITTED] = connection.info[ORDINARY_WORK] = False
        try:
            run()
            return
        except DBAPIError as error:
            attempt += 1
            if (
                connection.dialect.name != "postgresql"
                or not is_lock_wait(error)
                or attempt > settings.table_lock_retries
                or connection.info[PARTLY_COMMITTED]  # its statements were retried already
            ):
                raise
            connection.rollback()
            time.sleep(_log_retry(settings, attempt, "its revision was rolled back and runs"))


def retry_statements_after_lock_waits(
    context: MigrationContext, settings: MigrationSettings
) -> None:
    """Run a statement that gave up on a lock again, by itself: on MySQL/MariaDB always,
    on PostgreSQL once its revision has committed part of itself.

    Every statement of a revision reaches the database through the context's
    ``impl._exec`` (Alembic has no hook around a statement), so that is wrapped;
    so is ``autocommit_block``, to know when a revision commits part of itself.
    """
    if context.dialect.name == "postgresql":
        _retry_after_a_commit(context, settings)
        return
    if context.dialect.name not in {"mysql", "mariadb"} or not settings.table_lock_retries:
        return
    impl = context.impl
    execute: Callable[..., Any] = impl._exec

    def execute_again_after_lock_waits(*args: Any, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            try:
                return execute(*args, **kwargs)
            except DBAPIError as error:
                attempt += 1
                if not is_lock_wait(error) or attempt > settings.table_lock_retries:
                    raise
                time.sleep(_log_retry(settings, attempt, "it runs"))

    impl._exec = execute_again_after_lock_waits  # type: ignore[method-assign]


def _retry_after_a_commit(context: MigrationContext, settings: MigrationSettings) -> None:
    connection = context.connection
    if connection is None:
        return
    block = context.autocommit_block

    @contextmanager
    def autocommit_block() -> Iterator[None]:
        with block():  # which commits what the revision did so far
            if connection.info.get(ORDINARY_WORK):
                connection.info[PARTLY_COMMITTED] = True
            connection.info[ORDINARY_WORK] = False
            yield

    context.autocommit_block = autocommit_block  # type: ignore[method-assign]
    if not event.contains(connection, "before_cursor_execute", _note_ordinary_work):
        # Every statement, through op or on op.get_bind() alike.
        event.listen(connection, "before_cursor_execute", _note_ordinary_work)
    impl = context.impl
    execute: Callable[..., Any] = impl._exec

    def execute_in_savepoint_after_a_commit(*args: Any, **kwargs: Any) -> Any:
        if (
            not connection.info.get(PARTLY_COMMITTED)
            or connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
            or not connection.in_transaction()
        ):
            return execute(*args, **kwargs)
        attempt = 0
        while True:
            savepoint = connection.begin_nested()
            try:
                result = execute(*args, **kwargs)
            except DBAPIError as error:
                savepoint.rollback()
                attempt += 1
                if not is_lock_wait(error) or attempt > settings.table_lock_retries:
                    raise
                pause = _log_retry(settings, attempt, "it runs")
                # Paused in the transaction, the revision would keep the locks its
                # statements took since its last commit, and the app's queries on
                # those tables would queue for the whole pause: what it did is
                # committed first, as an online step commits what came before it.
                with block():
                    time.sleep(pause)
                continue
            savepoint.commit()
            return result

    impl._exec = execute_in_savepoint_after_a_commit  # type: ignore[method-assign]


# What a revision runs that changes nothing (reads, settings, savepoints).
NO_WORK = re.compile(r"\s*(SELECT|SHOW|SET|SAVEPOINT|RELEASE|ROLLBACK)\b", re.IGNORECASE)


def _note_ordinary_work(connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    """``before_cursor_execute``: a statement in the revision's transaction that is not
    part of an online step and may change something."""
    if (
        not connection.info.get(ONLINE_STEP)
        and connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT"
        and connection.in_transaction()
        and not NO_WORK.match(statement)
    ):
        connection.info[ORDINARY_WORK] = True


def revision_applied(ctx: MigrationContext, **_: Any) -> None:
    """``on_version_apply``: the next revision has committed nothing of itself yet."""
    if ctx.connection is not None:
        ctx.connection.info[PARTLY_COMMITTED] = ctx.connection.info[ORDINARY_WORK] = False


def lock_timeout_message(error: DBAPIError, settings: MigrationSettings) -> str | None:
    """A one-line explanation if ``error`` is a migration giving up on a lock or timing out."""
    if is_lock_wait(error):
        tries = settings.table_lock_retries + 1
        return (
            f"a migration waited more than {settings.table_lock_timeout:g} s "
            "(MIGRATION_TABLE_LOCK_TIMEOUT) "
            "for a table lock held by another connection and gave up so as not to block "
            f"traffic{f', {tries} times' if tries > 1 else ''}; "
            "retry when that transaction has finished"
        )
    if _sqlstate(error) == "57014" or _mysql_code(error) == 1969:
        return (
            f"a migration statement ran longer than {settings.statement_timeout:g} s "
            "(MIGRATION_STATEMENT_TIMEOUT) and was cancelled"
        )
    return None


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)


def _mysql_code(error: DBAPIError) -> int | None:
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None

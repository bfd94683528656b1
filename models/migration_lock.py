"""One migrator at a time, and migrations that fail fast instead of queueing.

Several app instances may run ``alembic upgrade head`` as they start. Alembic
reads the current revision and then applies what is missing, so two runs that
overlap both apply the same revisions. :func:`migration_lock` serialises them
with a database-level lock: a PostgreSQL advisory lock, MySQL/MariaDB
``GET_LOCK``, or on SQLite the file's write lock taken by ``BEGIN IMMEDIATE``.
The lock is taken before the current revision is read, so the second run sees
the first one's work and has nothing left to do.

:func:`apply_timeouts` then bounds how long a migration's own statements may
wait for table locks. An ``ALTER TABLE`` queued behind a long transaction
blocks every later query on that table; failing after a few seconds (and
retrying later) is far cheaper than an outage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from models.database import ConfigurationError, setting

# Any constant will do: advisory locks are scoped to one database.
POSTGRES_LOCK_KEY = 7_240_311_925_508_160_369
LOCK_NAME_PREFIX = "migrations:"
# A setting of 0 means "no limit". PostgreSQL reads 0 that way itself; MySQL
# and SQLite are given their largest practical values instead.
MYSQL_NO_LIMIT_SECONDS = 365 * 24 * 3600
SQLITE_NO_LIMIT_MS = 2**31 - 1


class MigrationLockTimeout(Exception):
    """Another migrator held the lock for longer than MIGRATION_LOCK_WAIT."""


@dataclass(frozen=True)
class MigrationSettings:
    """How migrations guard themselves; every field is read from the configuration."""

    lock: bool = True
    lock_wait: float = 300.0
    lock_timeout: float = 5.0
    statement_timeout: float = 0.0

    @classmethod
    def from_config(cls) -> MigrationSettings:
        defaults = cls()
        lock = (setting("MIGRATION_LOCK") or "on").strip().lower()
        if lock not in {"on", "off"}:
            raise ConfigurationError(f"MIGRATION_LOCK must be on or off, not {lock!r}")
        return cls(
            lock=lock == "on",
            lock_wait=_seconds("MIGRATION_LOCK_WAIT", defaults.lock_wait),
            lock_timeout=_seconds("MIGRATION_LOCK_TIMEOUT", defaults.lock_timeout),
            statement_timeout=_seconds("MIGRATION_STATEMENT_TIMEOUT", defaults.statement_timeout),
        )


def _seconds(name: str, default: float) -> float:
    raw = setting(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ConfigurationError(f"{name} must be a number of seconds (0 or more), not {raw!r}")
    return value


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


@contextmanager
def migration_lock(connection: Connection, settings: MigrationSettings) -> Iterator[None]:
    """Hold the database's migrator lock for the duration of the block.

    On PostgreSQL and MySQL the lock belongs to the session, so the block may
    commit as often as it likes (one transaction per revision). On SQLite the
    block runs inside the one ``BEGIN IMMEDIATE`` transaction that holds the
    lock, so all revisions of a run commit together.
    """
    if not settings.lock:
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
        raise ConfigurationError(f"no migrator lock is implemented for {dialect}")


@contextmanager
def _sqlite_lock(connection: Connection, settings: MigrationSettings) -> Iterator[None]:
    # BEGIN IMMEDIATE takes the file's write lock at once, before Alembic
    # reads the current revision; a second migrator waits in BEGIN for up
    # to busy_timeout.
    wait = _milliseconds(settings.lock_wait) or SQLITE_NO_LIMIT_MS
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
    # lock_timeout also bounds waiting for an advisory lock: here it is the
    # wait for the other migrator, before apply_timeouts() sets the much
    # shorter limit for the migrations' own statements.
    connection.exec_driver_sql(f"SET lock_timeout = {_milliseconds(settings.lock_wait)}")
    try:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": POSTGRES_LOCK_KEY})
    except DBAPIError as error:
        connection.rollback()
        if _sqlstate(error) == "55P03":
            raise MigrationLockTimeout(_lock_wait_message(settings)) from None
        raise
    # Session locks outlive the transaction; committing leaves Alembic a
    # connection with no transaction open, so it can run one per revision.
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POSTGRES_LOCK_KEY})
        connection.commit()


@contextmanager
def _mysql_lock(connection: Connection, settings: MigrationSettings) -> Iterator[None]:
    # GET_LOCK names are server-wide, so the name includes the database.
    name = (LOCK_NAME_PREFIX + str(connection.exec_driver_sql("SELECT DATABASE()").scalar()))[:64]
    wait = settings.lock_wait or MYSQL_NO_LIMIT_SECONDS
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
        f"another migration has held the migrator lock for more than {settings.lock_wait:g} s "
        "(MIGRATION_LOCK_WAIT); nothing was changed"
    )


def apply_timeouts(connection: Connection, settings: MigrationSettings) -> None:
    """Limit how long each statement of a migration may wait for locks, or run."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(f"SET lock_timeout = {_milliseconds(settings.lock_timeout)}")
        connection.exec_driver_sql(
            f"SET statement_timeout = {_milliseconds(settings.statement_timeout)}"
        )
        connection.commit()
    elif dialect in {"mysql", "mariadb"}:
        # lock_wait_timeout covers metadata locks (what ALTER TABLE waits for);
        # innodb_lock_wait_timeout covers row locks. Both take whole seconds.
        wait = (
            max(1, round(settings.lock_timeout))
            if settings.lock_timeout
            else MYSQL_NO_LIMIT_SECONDS
        )
        connection.exec_driver_sql(f"SET SESSION lock_wait_timeout = {wait}")
        connection.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {wait}")
        if getattr(connection.dialect, "is_mariadb", False):
            connection.exec_driver_sql(
                f"SET SESSION max_statement_time = {settings.statement_timeout:g}"
            )
        connection.commit()


def lock_timeout_message(error: DBAPIError, settings: MigrationSettings) -> str | None:
    """A one-line explanation if ``error`` is a migration giving up on a lock or timing out."""
    if _sqlstate(error) == "55P03" or _mysql_code(error) == 1205:
        return (
            f"a migration waited more than {settings.lock_timeout:g} s (MIGRATION_LOCK_TIMEOUT) "
            "for a table lock held by another connection and gave up so as not to block "
            "traffic; retry when that transaction has finished"
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

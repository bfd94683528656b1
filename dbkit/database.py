"""Where the database is, and the one way to connect to it.

The URL is read from ``DATABASE_URL`` in the environment, else from the
project's ``.env`` file, else it defaults to an SQLite file in the project
root (migrations may use another, ``MIGRATION_DATABASE_URL``). Every engine
gives up connecting after ``DATABASE_CONNECT_TIMEOUT`` seconds and works
behind a connection pooler in transaction mode (:func:`connection_options`).
``migrations/env.py``, ``scripts/seed.py`` and the tests all connect through
:func:`make_engine`, so they can never disagree about the database.
The application uses one engine per process, :func:`get_engine`, and gets its
sessions from :func:`get_sessionmaker`.
"""

from __future__ import annotations

import asyncio
import functools
import math
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, quote_plus

from dotenv import dotenv_values
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = PROJECT_ROOT / ".env"
# The optional extra (pyproject.toml) that installs each driver module.
DRIVER_EXTRAS = {
    "psycopg": "postgres",
    "pymysql": "mysql",
    "asyncpg": "async",
    "aiosqlite": "async",
    "greenlet": "async",
}
# Anchored to the project root, not the working directory, so that
# `alembic upgrade head` and `python scripts/seed.py` find the same file
# wherever they are run from.
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "app.db"
# How long opening a connection may take before it is given up, in seconds:
# a firewall that drops packets, or a server that accepts TCP and never
# answers, would otherwise hang a deploy for minutes, or for ever.
DEFAULT_CONNECT_TIMEOUT = 10.0


class ConfigurationError(Exception):
    """A setting is present but unusable; the message says which and why."""


class ConnectionFailed(Exception):
    """The database could not be reached or refused us; the message is one line, no password."""


def setting(
    name: str, default: str | None = None, *, env_file: Path | None = ENV_FILE
) -> str | None:
    """Return a setting from the environment, else from ``env_file``, else ``default``.

    A real environment variable always wins, so a deployment can override a
    developer's ``.env`` without editing it. ``.env`` is read without being
    loaded into ``os.environ``: reading configuration has no side effects.
    """
    value = os.environ.get(name)
    if value:
        return value
    if env_file is not None and env_file.is_file():
        value = dotenv_values(env_file).get(name)
        if value:
            return value
    return default


# The longest wait any setting may ask for. PostgreSQL's timeouts end at
# 2^31 - 1 milliseconds (24.8 days) and MySQL's at a year; a longer value
# would be refused by the server half way through a run, or (GET_LOCK on
# MariaDB) taken as no wait at all. 0 still means no limit.
MAX_SECONDS = 24 * 24 * 3600


def seconds_setting(name: str, default: float) -> float:
    """A setting that is a number of seconds, 0 to 24 days; a ConfigurationError otherwise."""
    raw = setting(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ConfigurationError(f"{name} must be a number of seconds (0 or more), not {raw!r}")
    if value > MAX_SECONDS:
        raise ConfigurationError(
            f"{name} must be at most {MAX_SECONDS} seconds (24 days), not {raw!r}; 0 means no limit"
        )
    return value


def database_url(*, env_file: Path | None = ENV_FILE) -> URL:
    """The configured database URL (see the module docstring for the order)."""
    raw = setting("DATABASE_URL", env_file=env_file)
    if raw is None:
        return URL.create("sqlite", database=str(DEFAULT_SQLITE_PATH))
    return parse_url(raw, "DATABASE_URL")


def migration_database_url(*, env_file: Path | None = ENV_FILE) -> URL:
    """The URL migrations run against: MIGRATION_DATABASE_URL, else :func:`database_url`.

    A deployment may migrate through a direct connection, or as a role that
    owns the schema, while the app connects through a pooler as a role that
    may only read and write rows.
    """
    raw = setting("MIGRATION_DATABASE_URL", env_file=env_file)
    if raw is None:
        return database_url(env_file=env_file)
    return parse_url(raw, "MIGRATION_DATABASE_URL")


def parse_url(raw: str, name: str) -> URL:
    """``raw`` (the value of the setting ``name``) as a URL whose dialect is known.

    Error messages never repeat ``raw``: it may hold a password.
    """
    try:
        url = make_url(_encode_userinfo(raw))
    except ArgumentError:
        raise ConfigurationError(
            f"{name} is not a database URL; expected dialect+driver://user:password@host/name"
        ) from None
    except ValueError:  # what URL.create says of a port like "5432x"
        raise ConfigurationError(f"{name} has a port that is not a number") from None
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise _unknown_dialect(url) from None
    if url.get_backend_name() in {"mysql", "mariadb"} and not url.database:
        # A MySQL connection without one has no database to put tables in.
        raise ConfigurationError(
            f"{name} names no database; put its name after the host: "
            f"{url.drivername}://user:password@host/NAME"
        )
    return url


def _encode_userinfo(raw: str) -> str:
    """``raw`` with user and password percent-encoded if the password holds a bare ``@``.

    Generated passwords often contain ``@``, ``?`` or ``:``. Unencoded,
    SQLAlchemy ends the password at its first ``@`` (or ``?``) and takes the
    rest for the host name, which then appears, password tail and all, in
    every "cannot connect" message. Here the host starts after the last ``@``
    before the path (the first ``/`` after an ``@``), so a password may hold
    any character but ``/`` and ``#``, which must be written ``%2F`` and ``%23``.
    """
    scheme, separator, rest = raw.partition("://")
    first_at = rest.find("@")
    if not separator or first_at < 0:
        return raw
    path = rest.find("/", first_at)
    authority = rest if path < 0 else rest[:path]
    userinfo, _, host = authority.rpartition("@")
    if not any(character in userinfo for character in "@?"):
        return raw
    user, colon, password = userinfo.partition(":")
    encoded = quote(user, safe="") + colon + quote(password, safe="")
    return f"{scheme}://{encoded}@{host}{'' if path < 0 else rest[path:]}"


# Query parameters that carry a secret (libpq's password and sslpassword, say),
# and a password=... inside another one's value (libpq's options).
SECRET_PARAMETER = re.compile(r"pass|secret|token", re.IGNORECASE)
PASSWORD_INSIDE = re.compile(r"(pass\w*\s*=\s*)([^\s&]+)", re.IGNORECASE)
MASK = "***"


def url_secrets(url: URL) -> set[str]:
    """Every secret ``url`` carries: its password, and passwords given in its query."""
    found = {str(url.password)} if url.password else set()
    for key, values in url.query.items():
        for value in (values,) if isinstance(values, str) else values:
            if SECRET_PARAMETER.search(key):
                found.add(value)
            found.update(match[2] for match in PASSWORD_INSIDE.finditer(value))
    return {secret for secret in found if secret}


def _masked_query_value(key: str, value: str) -> str:
    if SECRET_PARAMETER.search(key):
        return MASK
    return PASSWORD_INSIDE.sub(lambda match: match[1] + MASK, value)


def _unknown_dialect(url: URL) -> ConfigurationError:
    return ConfigurationError(
        f"unknown database type {url.drivername!r} in the database URL; "
        "expected sqlite, postgresql+psycopg or mysql+pymysql"
    )


def _resolve(url: str | URL | None) -> URL:
    """``url`` as a URL, or the configured one when it is None."""
    return database_url() if url is None else make_url(url)


def display_url(url: URL | Engine | Connection) -> str:
    """``url`` as text that is safe to print: its password and query secrets are masked."""
    if isinstance(url, Connection):
        url = url.engine
    if isinstance(url, Engine):
        url = url.url
    query = {
        key: (
            _masked_query_value(key, values)
            if isinstance(values, str)
            else tuple(_masked_query_value(key, value) for value in values)
        )
        for key, values in url.query.items()
    }
    shown = url.set(query=query).render_as_string(hide_password=True)
    return shown.replace(quote_plus(MASK), MASK)


def is_async(url: URL) -> bool:
    """Whether ``url`` names an asyncio driver (``postgresql+asyncpg``, ``sqlite+aiosqlite``)."""
    return bool(getattr(url.get_dialect(), "is_async", False))


def _create(factory: Callable[..., T], url: URL, **kwargs: Any) -> T:
    """``factory(url)``, with a missing driver or unknown dialect as a ConfigurationError."""
    try:
        return factory(url, **kwargs)
    except NoSuchModuleError:
        raise _unknown_dialect(url) from None
    except ModuleNotFoundError as error:
        module = (error.name or "").split(".")[0]
        extra = DRIVER_EXTRAS.get(module)
        install = f"pip install -e '.[{extra}]'" if extra else f"pip install {module}"
        raise ConfigurationError(
            f"the database URL uses {url.drivername}, whose module {module!r} is not "
            f"installed; run: {install}"
        ) from None


def connection_options(url: URL) -> dict[str, Any]:
    """The driver arguments every engine gets: a connect timeout, and pooler-safe statements.

    The timeout is DATABASE_CONNECT_TIMEOUT (0: none). psycopg's automatic
    prepared statements are turned off: behind a connection pooler in
    transaction mode (PgBouncer before 1.21, most managed poolers) the next
    transaction may run on another server connection, where the statement
    does not exist. SQLAlchemy caches the compiled SQL either way. asyncpg,
    which prepares every statement, gets SQLAlchemy's recipe for PgBouncer.
    """
    timeout = seconds_setting("DATABASE_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)
    driver = url.get_driver_name()
    if driver.startswith("psycopg"):
        options: dict[str, Any] = {"prepare_threshold": None}
        if timeout:
            # libpq's connect_timeout is whole seconds, and at least 2.
            options["connect_timeout"] = max(2, math.ceil(timeout))
        return options
    if driver == "pymysql" and timeout:
        # connect_timeout covers only the TCP handshake; a server that
        # accepts and never answers is bounded by read_timeout, which
        # _limit_reads_to_connecting() lifts once the connection is made.
        return {"connect_timeout": timeout, "read_timeout": timeout}
    if driver == "asyncpg":
        # asyncpg prepares every statement, under names that collide between
        # the clients of one server connection; SQLAlchemy's recipe for
        # PgBouncer: no statement caches, a unique name for each statement.
        options = {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
        if timeout:
            options["timeout"] = timeout
        return options
    return {}


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4()}__"


def _engine_arguments(url: URL, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with :func:`connection_options` under any connect_args the caller gave."""
    return {**kwargs, "connect_args": {**connection_options(url), **kwargs.get("connect_args", {})}}


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url``, or for the configured database if none is given."""
    url = _resolve(url)
    engine = _create(create_engine, url, **_engine_arguments(url, kwargs))
    _configure(engine, kwargs)
    return engine


def make_async_engine(url: str | URL | None = None, **kwargs: Any) -> AsyncEngine:
    """:func:`make_engine` for asyncio drivers (needs the ``async`` extra)."""
    # Imported here: the asyncio extension needs greenlet, which only the
    # async extra installs.
    from sqlalchemy.ext.asyncio import create_async_engine

    url = _resolve(url)
    engine = _create(create_async_engine, url, **_engine_arguments(url, kwargs))
    _configure(engine.sync_engine, kwargs)
    return engine


def run_with_connection(
    work: Callable[[Connection], T], url: str | URL | None = None, **kwargs: Any
) -> T:
    """Call ``work`` with a connection to the database, whichever kind of driver its URL names.

    Many projects configure only an async URL for their web app. Code that is
    synchronous by nature (migrations, the seed script) still works with one:
    with an asyncio driver ``work`` runs through ``AsyncConnection.run_sync``,
    which hands it an ordinary :class:`Connection`.
    """
    url = _resolve(url)
    if is_async(url):
        return asyncio.run(_run_async(work, url, **kwargs))
    engine = make_engine(url, **kwargs)
    try:
        try:
            connection = engine.connect()
        except (DBAPIError, OSError) as error:
            raise connection_failed(url, error) from None
        with connection:
            return work(connection)
    finally:
        engine.dispose()


async def _run_async(work: Callable[[Connection], T], url: URL, **kwargs: Any) -> T:
    engine = make_async_engine(url, **kwargs)
    try:
        try:
            connection = await engine.connect()
        except (DBAPIError, OSError) as error:
            raise connection_failed(url, error) from None
        try:
            return await connection.run_sync(work)
        finally:
            await connection.close()
    finally:
        await engine.dispose()


# Refusals that come from how the database is set up, not from a mistake in
# the statement: a role without the privilege, a read-only database or
# standby. PostgreSQL SQLSTATEs, and MySQL/MariaDB error numbers.
REFUSING_SQLSTATES = {"42501", "25006"}
REFUSING_MYSQL_ERRORS = {1044, 1142, 1143, 1227, 1290, 1792, 1836}


def is_refusal(error: DBAPIError) -> bool:
    """Whether the database refused ``error``'s statement for lack of a right to run it."""
    cause = error.orig
    if getattr(cause, "sqlstate", None) in REFUSING_SQLSTATES:
        return True
    arguments: tuple[object, ...] = getattr(cause, "args", ())
    return bool(arguments) and arguments[0] in REFUSING_MYSQL_ERRORS


def is_interruption(error: BaseException) -> bool:
    """Whether ``error`` is a driver's way of reporting Ctrl-C (psycopg cancels the query)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__context__
    return False


def connection_failed(url: URL, error: BaseException) -> ConnectionFailed:
    """A one-line :class:`ConnectionFailed` for ``error``, raised while connecting to ``url``."""
    message = driver_message(error, url)
    cause = getattr(error, "orig", None) or error
    if isinstance(cause, TimeoutError) or "timeout expired" in message or "timed out" in message:
        message += " (gave up after DATABASE_CONNECT_TIMEOUT)"
    return ConnectionFailed(f"cannot connect to {display_url(url)}: {message}")


def driver_message(error: BaseException, url: URL | None = None) -> str:
    """What the driver said, on one line, with ``url``'s password masked.

    Drivers echo parts of what they were given (a host name, say); if a
    password ever reaches one of those, it is still not printed.
    """
    cause = getattr(error, "orig", None) or error
    message = " ".join(str(cause).split()) or type(cause).__name__
    for secret in url_secrets(url) if url is not None else ():
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            message = message.replace(form, MASK)
    return message


@functools.cache
def get_engine() -> Engine:
    """The application's engine: one per process, made on first use, with its pool.

    An engine is meant to live as long as the process (SQLAlchemy's
    "Working with Engines and Connections"); making one per request would
    open a new pool, and new connections, every time.
    """
    return make_engine()


@functools.cache
def get_sessionmaker() -> sessionmaker[Session]:
    """The application's session factory, bound to :func:`get_engine`.

    ``with get_sessionmaker().begin() as session:`` is one unit of work,
    committed at the end of the block (rolled back on an exception).
    """
    return sessionmaker(bind=get_engine())


def _configure(engine: Engine, kwargs: dict[str, Any]) -> None:
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif engine.dialect.driver == "pymysql" and "read_timeout" not in kwargs.get(
        "connect_args", {}
    ):
        event.listen(engine, "connect", _limit_reads_to_connecting)


def _limit_reads_to_connecting(dbapi_connection: Any, _record: Any) -> None:
    # PyMySQL has no separate timeout for the handshake; connection_options()
    # set read_timeout for it. Once connected, a statement may take as long
    # as it takes (MIGRATION_STATEMENT_TIMEOUT bounds migrations). PyMySQL
    # applies the new value before its next read.
    dbapi_connection._read_timeout = None


def _configure_sqlite(engine: Engine) -> None:
    # SQLite leaves foreign keys unenforced unless every connection asks.
    # Python's sqlite3 module also never emits BEGIN before DDL, so a failed
    # migration would be left half-applied; handing it autocommit and letting
    # SQLAlchemy emit BEGIN itself makes DDL transactional, as on PostgreSQL.
    # (The recipe from SQLAlchemy's SQLite dialect documentation.)
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # The execution option sqlite_begin="IMMEDIATE" takes the write lock
        # at BEGIN rather than at the first write; the migrator lock uses it.
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".rstrip())

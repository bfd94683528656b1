"""Where the database is, and the one way to connect to it.

The URL is read from ``DATABASE_URL`` in the environment, else from the
project's ``.env`` file, else it defaults to an SQLite file in the project
root. ``migrations/env.py``, ``scripts/seed.py`` and the tests all connect
through :func:`make_engine`, so they can never disagree about the database.
The application uses one engine per process, :func:`get_engine`, and gets its
sessions from :func:`get_sessionmaker`.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dotenv import dotenv_values
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
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


class ConfigurationError(Exception):
    """A setting is present but unusable; the message says which and why."""


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


def database_url(*, env_file: Path | None = ENV_FILE) -> URL:
    """The configured database URL (see the module docstring for the order)."""
    raw = setting("DATABASE_URL", env_file=env_file)
    if raw is None:
        return URL.create("sqlite", database=str(DEFAULT_SQLITE_PATH))
    try:
        url = make_url(raw)
    except ArgumentError:
        # The raw value may hold a password, so it is not repeated here.
        raise ConfigurationError(
            "DATABASE_URL is not a database URL; expected dialect+driver://user:password@host/name"
        ) from None
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise _unknown_dialect(url) from None
    return url


def _unknown_dialect(url: URL) -> ConfigurationError:
    return ConfigurationError(
        f"unknown database type {url.drivername!r} in the database URL; "
        "expected sqlite, postgresql+psycopg or mysql+pymysql"
    )


def _resolve(url: str | URL | None) -> URL:
    """``url`` as a URL, or the configured one when it is None."""
    return database_url() if url is None else make_url(url)


def display_url(url: URL | Engine | Connection) -> str:
    """``url`` as text that is safe to print: the password is masked."""
    if isinstance(url, Connection):
        url = url.engine
    if isinstance(url, Engine):
        url = url.url
    return url.render_as_string(hide_password=True)


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


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url``, or for the configured database if none is given."""
    url = _resolve(url)
    engine = _create(create_engine, url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def make_async_engine(url: str | URL | None = None, **kwargs: Any) -> AsyncEngine:
    """:func:`make_engine` for asyncio drivers (needs the ``async`` extra)."""
    # Imported here: the asyncio extension needs greenlet, which only the
    # async extra installs.
    from sqlalchemy.ext.asyncio import create_async_engine

    url = _resolve(url)
    engine = _create(create_async_engine, url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine.sync_engine)
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
        with engine.connect() as connection:
            return work(connection)
    finally:
        engine.dispose()


async def _run_async(work: Callable[[Connection], T], url: URL, **kwargs: Any) -> T:
    engine = make_async_engine(url, **kwargs)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


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

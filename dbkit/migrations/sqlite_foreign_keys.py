"""SQLite migrations run with foreign keys off, and are checked before they commit.

SQLite cannot alter most of a table in place, so Alembic's batch mode copies
it: create a new table, copy the rows, drop the old one, rename the new one.
With ``PRAGMA foreign_keys = ON`` (which :func:`dbkit.database.make_engine`
sets for the app and the seed), dropping the old ``users`` table deletes
every ``posts`` row that refers to it through ``ON DELETE CASCADE``, or fails
without it. The pragma cannot change inside a transaction, so it is switched
off before the migration's transaction begins, and ``PRAGMA
foreign_key_check`` after each revision puts back the guarantee: a revision
that leaves a row pointing nowhere fails, and the run is rolled back.
(The procedure is the one SQLite documents for "other kinds of table schema
changes".)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.util import CommandError
from sqlalchemy.engine import Connection


def _pragma(connection: Connection, statement: str) -> None:
    # Straight to the driver: through SQLAlchemy, the statement would first
    # begin a transaction, inside which SQLite ignores this pragma.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


@contextmanager
def foreign_keys_off(connection: Connection) -> Iterator[None]:
    """Switch SQLite's foreign key enforcement off for the block (no-op elsewhere)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    if connection.in_transaction():
        raise CommandError(
            "migrations on SQLite need a connection with no transaction open, "
            "so that they can switch foreign keys off"
        )
    _pragma(connection, "PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        if not connection.closed and not connection.in_transaction():
            _pragma(connection, "PRAGMA foreign_keys = ON")


def violations(connection: Connection) -> list[str]:
    """``PRAGMA foreign_key_check``, summarised: one entry per broken foreign key."""
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    counts = Counter((table, parent, key) for table, _rowid, parent, key in rows)
    found = []
    for (table, parent, key), count in sorted(counts.items()):
        columns = [
            row[3]
            for row in connection.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")')
            if row[0] == key
        ]
        found.append(
            f"{count} row{'s' if count != 1 else ''} of {table} whose "
            f"{', '.join(columns)} match{'es' if len(columns) == 1 else ''} no row of {parent}"
        )
    return found


def check_after_each_revision(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    """Alembic's ``on_version_apply`` hook: fail the revision that broke a foreign key."""
    assert ctx.connection is not None
    found = violations(ctx.connection)
    if found:
        script = step.up_revision
        path = getattr(script, "path", None)
        where = f"{step.up_revision_id} ({Path(path).name})" if path else step.up_revision_id
        direction = "upgrade to" if step.is_upgrade else "downgrade of"
        raise CommandError(
            f"{direction} revision {where} leaves {'; '.join(found)}; the migration was rolled back"
        )

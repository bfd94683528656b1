"""Step a database through the history, for tests of revisions that move or change data.

A data migration is tested at the schema of its own revision, not today's:
the models may have changed since. So rows go in through the tables as they
are reflected at that point::

    def test_names_are_split(migration_steps: MigrationSteps) -> None:
        migration_steps.upgrade("1a2b3c")              # the revision before
        migration_steps.insert("users", {"full_name": "Ada Lovelace"})
        migration_steps.upgrade("4d5e6f")              # the data migration
        assert migration_steps.rows("users", "first_name", "last_name") == [
            {"first_name": "Ada", "last_name": "Lovelace"}
        ]
        migration_steps.downgrade("1a2b3c")
        assert migration_steps.rows("users", "full_name") == [{"full_name": "Ada Lovelace"}]

The ``migration_steps`` fixture (dbkit/testing/plugin.py) gives each test an empty
database of its own on the backend under test.
"""

from __future__ import annotations

from typing import Any

from alembic.config import Config
from sqlalchemy import URL, MetaData, Table, insert, select

from dbkit.safety_net.checks import connected, migrate


class MigrationSteps:
    """One database, moved through one history by the test."""

    def __init__(self, url: URL, config: Config) -> None:
        self.url = url
        self.config = config

    def upgrade(self, revision: str = "head") -> None:
        migrate(self.url, self.config, "upgrade", revision)

    def downgrade(self, revision: str) -> None:
        migrate(self.url, self.config, "downgrade", revision)

    def table(self, name: str) -> Table:
        """``name`` as it is in the database now, at the current revision."""
        with connected(self.url) as connection:
            return Table(name, MetaData(), autoload_with=connection)

    def insert(self, table: str, *rows: dict[str, Any]) -> None:
        """Insert ``rows`` into ``table`` as it is now, and commit."""
        target = self.table(table)
        with connected(self.url) as connection:
            connection.execute(insert(target), list(rows))
            connection.commit()

    def rows(self, table: str, *columns: str) -> list[dict[str, Any]]:
        """``columns`` (all by default) of every row, ordered by them."""
        source = self.table(table)
        selected = [source.columns[name] for name in columns] or list(source.columns)
        with connected(self.url) as connection:
            result = connection.execute(select(*selected).order_by(*selected))
            return [dict(row._mapping) for row in result]

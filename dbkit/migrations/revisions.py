"""Is the database at the revision the code expects?"""

from __future__ import annotations

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from dbkit.database import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(connection: Connection | None = None) -> Config:
    """The project's Alembic configuration, optionally bound to ``connection``.

    A bound connection is used by ``migrations/env.py`` instead of opening
    its own, which is how tests run migrations inside their scratch database.
    """
    config = Config(str(ALEMBIC_INI))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revisions() -> set[str]:
    """The revisions at the tip of ``migrations/versions``."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """The revisions recorded in the database's ``alembic_version`` table (empty if none)."""
    return set(MigrationContext.configure(connection).get_current_heads())


def is_at_head(connection: Connection) -> bool:
    return current_revisions(connection) == head_revisions()

"""The migration safety net on this project's history (docs/safety-net.md).

Every revision in migrations/versions goes through each check on the backend
under test, so the net keeps guarding the history as revisions are added.
What the project knowingly lives with is in migrations/accepted.toml.
"""

from __future__ import annotations

import pytest
from sqlalchemy import URL, make_url

from dbkit.migrations.revisions import ALEMBIC_INI
from dbkit.safety_net import (
    check_data_survives,
    check_history,
    check_no_drift,
    check_offline_sql,
    check_stairway,
    check_upgrade,
    history_config,
)


@pytest.mark.no_database
def test_the_history_is_sound() -> None:
    """Every file imports; one head; no revision revises a missing one; no cycles."""
    check_history(history_config())


def test_upgrade_from_empty_to_head(empty_database_url: URL) -> None:
    check_upgrade(empty_database_url, history_config())


def test_every_downgrade_undoes_its_upgrade(empty_database_url: URL) -> None:
    """The stairway: up, down, compare the schema with before, up again, for every revision."""
    check_stairway(empty_database_url, history_config())


def test_models_match_the_migrated_schema(empty_database_url: URL) -> None:
    """What `alembic check` checks: types, nullability, defaults, constraints, names."""
    check_no_drift(empty_database_url, history_config())


def test_data_survives_every_upgrade(empty_database_url: URL) -> None:
    check_data_survives(empty_database_url, history_config())


@pytest.mark.no_database
@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://nobody@db.invalid/app",
        "mysql+pymysql://nobody@db.invalid/app",
        "sqlite:////nonexistent/dir/app.db",
    ],
    ids=["postgresql", "mysql", "sqlite"],
)
def test_offline_sql_needs_no_database(url: str) -> None:
    """`alembic upgrade head --sql` writes the SQL for a DBA without connecting."""
    check_offline_sql(ALEMBIC_INI, make_url(url))

"""The migration safety net, applied to the project's own history.

These tests run over every file in migrations/versions, so they keep guarding
the history as revisions are added. That each check catches the mistake it
exists for is shown on histories the tests build themselves, in
tests/test_safety_net.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import URL, make_url

from dbkit.migrations.revisions import ALEMBIC_INI
from tests.histories import MIGRATIONS
from tests.migration_checks import (
    check_data_survives,
    check_history,
    check_no_drift,
    check_offline_sql,
    check_stairway,
    check_upgrade,
    history_config,
    revisions_in_order,
)


@pytest.fixture(scope="module", autouse=True)
def repository_is_left_untouched() -> Iterator[None]:
    before = sorted(path.name for path in (MIGRATIONS / "versions").glob("*.py"))
    yield
    after = sorted(path.name for path in (MIGRATIONS / "versions").glob("*.py"))
    assert after == before, "a test left a revision file in migrations/versions"


# The real history ------------------------------------------------------------


@pytest.mark.no_database
def test_the_history_is_sound() -> None:
    """Every file imports; one head (two mean a merge forgot `alembic merge heads`);
    no revision revises a missing one; no cycles."""
    check_history(history_config())


def test_upgrade_from_empty_to_head(empty_database_url: URL) -> None:
    check_upgrade(empty_database_url, history_config())


def test_every_downgrade_undoes_its_upgrade(empty_database_url: URL) -> None:
    """The stairway: up, down, compare the schema with before, up again, for every revision."""
    check_stairway(empty_database_url, history_config())


def test_models_match_the_migrated_schema(empty_database_url: URL) -> None:
    """What `alembic check` checks, including types, nullability, defaults and constraints."""
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
    """`alembic upgrade head --sql` writes the DDL for review by a DBA without connecting.

    On SQLite a history that copies a table (batch mode) cannot be written
    offline; the check accepts that and nothing else.
    """
    sql = check_offline_sql(ALEMBIC_INI, make_url(url))
    if sql is not None:
        assert revisions_in_order(history_config())[-1] in sql

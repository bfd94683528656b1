"""The migration safety net: the real history passes every check, and every
check is shown to catch the mistake it exists for.

The checks run over every file in migrations/versions, so they keep guarding
the history as revisions are added. Broken histories are built in temporary
copies of migrations/, never in the repository.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from sqlalchemy import URL, inspect, make_url

from tests import commands
from tests.histories import MIGRATIONS, add_revision
from tests.migration_checks import (
    MigrationCheckFailed,
    check_all_reachable,
    check_data_survives,
    check_no_drift,
    check_single_head,
    check_stairway,
    check_upgrade,
    connected,
    history_config,
    migrate,
    revisions_in_order,
)


@pytest.fixture(scope="module", autouse=True)
def repository_is_left_untouched() -> Iterator[None]:
    before = sorted(path.name for path in (MIGRATIONS / "versions").glob("*.py"))
    yield
    after = sorted(path.name for path in (MIGRATIONS / "versions").glob("*.py"))
    assert after == before, "a test left a revision file in migrations/versions"


# The real history ------------------------------------------------------------


def test_single_head_revision() -> None:
    """Two heads mean a merge of two branches forgot `alembic merge heads`."""
    check_single_head(history_config())


def test_every_revision_is_reachable_from_base() -> None:
    check_all_reachable(history_config())


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


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://nobody@db.invalid/app", "TIMESTAMP WITH TIME ZONE"),
        ("mysql+pymysql://nobody@db.invalid/app", "DATETIME"),
        ("sqlite:////nonexistent/dir/app.db", "DATETIME"),
    ],
    ids=["postgresql", "mysql", "sqlite"],
)
def test_offline_sql_needs_no_database(url: str, expected: str) -> None:
    """`alembic upgrade head --sql` writes the DDL for review by a DBA without connecting."""
    result = commands.alembic("upgrade", "head", "--sql", database=make_url(url))
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE users" in result.stdout
    assert expected in result.stdout
    head = revisions_in_order(history_config())[-1]
    assert head in result.stdout


# Broken histories: each check catches its mistake -------------------------------


def head_of(config: Config) -> str:
    return revisions_in_order(config)[-1]


def test_a_second_head_is_caught(history: Path) -> None:
    add_revision(history, "b0000000000b", None, "pass", "pass")
    with pytest.raises(MigrationCheckFailed, match=r"found 2: .*b0000000000b"):
        check_single_head(history_config(str(history)))


def test_a_revision_with_a_missing_parent_is_caught(history: Path) -> None:
    add_revision(history, "0b0000000000", "feedfacecafe", "pass", "pass")
    with pytest.raises(MigrationCheckFailed, match=r"feedfacecafe referenced from .*0b0000000000"):
        check_all_reachable(history_config(str(history)))


def test_a_failing_upgrade_is_caught(history: Path, empty_database_url: URL) -> None:
    config = history_config(str(history))
    add_revision(history, "bad0000000f1", head_of(config), 'op.drop_table("no_such_table")', "pass")
    with pytest.raises(MigrationCheckFailed, match="upgrade to revision bad0000000f1 failed"):
        check_upgrade(empty_database_url, config)


def test_a_downgrade_that_leaves_a_table_behind_is_caught(
    history: Path, empty_database_url: URL
) -> None:
    config = history_config(str(history))
    add_revision(
        history,
        "bad0000000d1",
        head_of(config),
        'op.create_table("audit_log", sa.Column("id", sa.Integer, primary_key=True))',
        "pass  # forgot: op.drop_table('audit_log')",
    )
    with pytest.raises(
        MigrationCheckFailed, match=r"revision bad0000000d1 does not undo.*audit_log"
    ):
        check_stairway(empty_database_url, config)


def test_a_downgrade_that_leaves_a_column_behind_is_caught(
    history: Path, empty_database_url: URL
) -> None:
    config = history_config(str(history))
    add_revision(
        history,
        "bad0000000d2",
        head_of(config),
        """
        with op.batch_alter_table("users") as batch_op:
            batch_op.add_column(sa.Column("nickname", sa.String(30), nullable=True))
        """,
        "pass",
    )
    with pytest.raises(
        MigrationCheckFailed, match=r"revision bad0000000d2 does not undo.*nickname"
    ):
        check_stairway(empty_database_url, config)


def test_a_model_column_without_a_migration_is_caught(
    history: Path, empty_database_url: URL
) -> None:
    # The history without the migration that added users.full_name, while the
    # model still declares it.
    for path in (history / "versions").glob("*.py"):
        text = path.read_text()
        path.write_text(
            "\n".join(line for line in text.splitlines() if '"full_name"' not in line) + "\n"
        )
    config = history_config(str(history))
    with pytest.raises(
        MigrationCheckFailed, match=f"head revision {head_of(config)} disagree.*full_name"
    ):
        check_no_drift(empty_database_url, config)


def test_an_upgrade_that_loses_data_is_caught(history: Path, empty_database_url: URL) -> None:
    config = history_config(str(history))
    add_revision(
        history,
        "bad0000000a1",
        head_of(config),
        'op.execute("UPDATE users SET full_name = NULL")',
        "pass",
    )
    with pytest.raises(
        MigrationCheckFailed, match="upgrade to revision bad0000000a1 lost or changed data"
    ):
        check_data_survives(empty_database_url, config)


# Batch mode -----------------------------------------------------------------------


def test_altering_and_dropping_columns_works_on_every_backend(
    history: Path, empty_database_url: URL
) -> None:
    """SQLite has no ALTER COLUMN or (before 3.35) DROP COLUMN: batch mode copies the table."""
    config = history_config(str(history))
    add_revision(
        history,
        "a1te00000001",
        head_of(config),
        """
        with op.batch_alter_table("users") as batch_op:
            batch_op.alter_column(
                "full_name", existing_type=sa.String(100), type_=sa.String(200)
            )
            batch_op.add_column(sa.Column("nickname", sa.String(30), nullable=True))
        """,
        """
        with op.batch_alter_table("users") as batch_op:
            batch_op.drop_column("nickname")
            batch_op.alter_column(
                "full_name", existing_type=sa.String(200), type_=sa.String(100)
            )
        """,
    )
    check_stairway(empty_database_url, config)
    check_data_survives(empty_database_url, config)

    with connected(empty_database_url) as connection:
        columns = {c["name"]: c["type"] for c in inspect(connection).get_columns("users")}
    assert "nickname" in columns
    assert getattr(columns["full_name"], "length", None) == 200

    migrate(empty_database_url, config, "downgrade", "-1")
    with connected(empty_database_url) as connection:
        columns = {c["name"]: c["type"] for c in inspect(connection).get_columns("users")}
    assert "nickname" not in columns
    assert getattr(columns["full_name"], "length", None) == 100

"""The safety net itself: no false alarm on a correct, grown history, and every
check catches the mistake it exists for.

Each test builds a small history of its own (tests/histories.py), so it
passes or fails on the net's merit alone, whatever migrations/versions holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import URL, inspect, make_url

from tests.app_history import app_history
from tests.histories import History, new_history
from tests.migration_checks import (
    MigrationCheckFailed,
    check_all_reachable,
    check_data_survives,
    check_no_drift,
    check_offline_sql,
    check_single_head,
    check_stairway,
    check_upgrade,
    connected,
    migrate,
)

ACCOUNTS = (
    """
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("note", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    """,
    'op.drop_table("accounts")',
)


def accounts_history(history: History) -> History:
    """``history`` with one revision: an accounts table."""
    history.add(*ACCOUNTS)
    return history


# No false alarms ---------------------------------------------------------------------


def test_a_grown_history_passes_every_check(tmp_path: Path, empty_database_url: URL) -> None:
    """Foreign keys with ON DELETE CASCADE, enums, a composite index, a CHECK, a table
    copied by SQLite, a dropped and a renamed column: correct, so nothing is reported."""
    history = app_history(tmp_path)
    config = history.config()
    check_single_head(config)
    check_all_reachable(config)
    check_upgrade(empty_database_url, config)
    migrate(empty_database_url, config, "downgrade", "base")
    check_stairway(empty_database_url, config)
    check_no_drift(empty_database_url, config)
    migrate(empty_database_url, config, "downgrade", "base")
    check_data_survives(empty_database_url, config)


def test_a_dropped_column_that_comes_back_last_is_not_a_difference(
    history: History, empty_database_url: URL
) -> None:
    """The downgrade of drop_column re-adds the column at the end; order is not compared."""
    accounts_history(history)
    history.add(
        'op.drop_column("accounts", "name")',
        'op.add_column("accounts", sa.Column("name", sa.String(length=50), nullable=False))',
    )
    check_stairway(empty_database_url, history.config())


# Broken histories: each check catches its mistake --------------------------------------


def test_a_second_head_is_caught(history: History) -> None:
    accounts_history(history)
    history.add("pass", revision="b0000000000b", down_revision=None)
    with pytest.raises(MigrationCheckFailed, match=r"found 2: .*b0000000000b"):
        check_single_head(history.config())


def test_a_revision_with_a_missing_parent_is_caught(history: History) -> None:
    accounts_history(history)
    history.add("pass", revision="0b0000000000", down_revision="feedfacecafe")
    with pytest.raises(MigrationCheckFailed, match=r"feedfacecafe referenced from .*0b0000000000"):
        check_all_reachable(history.config())


def test_a_failing_upgrade_is_caught(history: History, empty_database_url: URL) -> None:
    accounts_history(history)
    history.add('op.drop_table("no_such_table")', revision="bad0000000f1")
    with pytest.raises(MigrationCheckFailed, match="upgrade to revision bad0000000f1 failed") as e:
        check_upgrade(empty_database_url, history.config())
    assert "\n" not in str(e.value)


def stairway_failure(history: History, url: URL, upgrade: str, downgrade: str) -> str:
    """The one-line message of the stairway check on ``history`` plus a revision."""
    revision = history.add(upgrade, downgrade, revision="bad000000d00")
    with pytest.raises(MigrationCheckFailed) as caught:
        check_stairway(url, history.config())
    message = str(caught.value)
    assert f"revision {revision}" in message
    assert "\n" not in message
    return message


def test_a_downgrade_that_leaves_a_table_behind_is_caught(
    history: History, empty_database_url: URL
) -> None:
    message = stairway_failure(
        accounts_history(history),
        empty_database_url,
        'op.create_table("audit_log", sa.Column("id", sa.Integer, primary_key=True))',
        "pass  # forgot: op.drop_table('audit_log')",
    )
    assert message.endswith("audit_log: table: left behind by the downgrade")


def test_a_downgrade_that_leaves_a_column_behind_is_caught(
    history: History, empty_database_url: URL
) -> None:
    message = stairway_failure(
        accounts_history(history),
        empty_database_url,
        """
        with op.batch_alter_table("accounts") as batch_op:
            batch_op.add_column(sa.Column("nickname", sa.String(30), nullable=True))
        """,
        "pass",
    )
    assert message.endswith("accounts: column nickname: left behind by the downgrade")


def test_a_downgrade_that_does_not_restore_nullability_is_caught(
    history: History, empty_database_url: URL
) -> None:
    message = stairway_failure(
        accounts_history(history),
        empty_database_url,
        """
        with op.batch_alter_table("accounts") as batch_op:
            batch_op.alter_column("note", existing_type=sa.String(100), nullable=False)
        """,
        "pass",
    )
    assert message.endswith("accounts: column note: nullable False, was True")


def test_a_downgrade_that_forgets_on_delete_is_caught(
    history: History, empty_database_url: URL
) -> None:
    accounts_history(history)
    history.add(
        """
        op.create_table(
            "notes",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("account_id", sa.Integer, nullable=True),
            sa.ForeignKeyConstraint(
                ["account_id"], ["accounts.id"], name="fk_notes_account_id_accounts"
            ),
        )
        """,
        'op.drop_table("notes")',
    )
    message = stairway_failure(
        history,
        empty_database_url,
        """
        with op.batch_alter_table("notes") as batch_op:
            batch_op.drop_constraint("fk_notes_account_id_accounts", type_="foreignkey")
            batch_op.create_foreign_key(
                "fk_notes_account_id_accounts", "accounts", ["account_id"], ["id"],
                ondelete="CASCADE",
            )
        """,
        "pass",
    )
    assert message.endswith(
        "notes: foreign key fk_notes_account_id_accounts: ondelete CASCADE, was NO ACTION"
    )


def test_a_downgrade_that_leaves_a_check_constraint_is_caught(
    history: History, empty_database_url: URL
) -> None:
    message = stairway_failure(
        accounts_history(history),
        empty_database_url,
        """
        with op.batch_alter_table("accounts") as batch_op:
            batch_op.create_check_constraint("ck_accounts_name_not_empty", "name <> ''")
        """,
        "pass",
    )
    assert "accounts: check ck_accounts_name_not_empty: left behind by the downgrade" in message


@pytest.mark.backends("postgresql")
def test_a_downgrade_that_leaves_an_enum_type_is_caught(
    history: History, empty_database_url: URL
) -> None:
    """On PostgreSQL an enum is a type of its own, which drop_table does not drop."""
    message = stairway_failure(
        history,
        empty_database_url,
        """
        op.create_table(
            "runs",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("state", sa.Enum("queued", "done", name="run_state")),
        )
        """,
        'op.drop_table("runs")',
    )
    assert message.endswith("enum type run_state: left behind by the downgrade")


def test_a_model_column_without_a_migration_is_caught(
    tmp_path: Path, empty_database_url: URL
) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "accounts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("note", sa.String(100)),
        sa.Column("joined_on", sa.Date),  # in the model, in no revision
    )
    history = accounts_history(new_history(tmp_path, metadata))
    with pytest.raises(
        MigrationCheckFailed, match=f"head revision {history.head} disagree.*joined_on"
    ):
        check_no_drift(empty_database_url, history.config())


def test_an_upgrade_that_loses_data_is_caught(history: History, empty_database_url: URL) -> None:
    accounts_history(history)
    history.add('op.execute("UPDATE accounts SET note = NULL")', revision="bad0000000a1")
    with pytest.raises(
        MigrationCheckFailed, match="upgrade to revision bad0000000a1 lost or changed data"
    ):
        check_data_survives(empty_database_url, history.config())


# Offline SQL -------------------------------------------------------------------------

OFFLINE_URLS = {
    "postgresql": "postgresql+psycopg://nobody@db.invalid/app",
    "mysql": "mysql+pymysql://nobody@db.invalid/app",
    "sqlite": "sqlite:////nonexistent/dir/app.db",
}


@pytest.mark.parametrize("dialect", OFFLINE_URLS)
def test_offline_sql_is_written_where_alembic_can(history: History, dialect: str) -> None:
    """A table copy (batch mode) is plain ALTER TABLE on PostgreSQL and MySQL, and
    cannot be written in advance on SQLite: that alone is not a failure."""
    accounts_history(history)
    history.add(
        """
        with op.batch_alter_table("accounts") as batch_op:
            batch_op.alter_column("note", existing_type=sa.String(100), type_=sa.String(200))
        """,
        revision="a1ter0000001",
    )
    sql = check_offline_sql(history.ini, make_url(OFFLINE_URLS[dialect]))
    if dialect == "sqlite":
        assert sql is None
    else:
        assert sql is not None
        assert "ALTER TABLE accounts" in sql
        assert "a1ter0000001" in sql


@pytest.mark.parametrize("dialect", OFFLINE_URLS)
def test_a_revision_that_needs_a_database_offline_is_caught(history: History, dialect: str) -> None:
    accounts_history(history)
    history.add(
        'count = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM accounts")).scalar()',
        revision="0ff1ine00001",
    )
    with pytest.raises(MigrationCheckFailed, match=f"{dialect}.*revision 0ff1ine00001"):
        check_offline_sql(history.ini, make_url(OFFLINE_URLS[dialect]))


# Batch mode ----------------------------------------------------------------------------


def test_altering_and_dropping_columns_works_on_every_backend(
    history: History, empty_database_url: URL
) -> None:
    """SQLite has no ALTER COLUMN or (before 3.35) DROP COLUMN: batch mode copies the table."""
    accounts_history(history)
    history.add(
        """
        with op.batch_alter_table("accounts") as batch_op:
            batch_op.alter_column("note", existing_type=sa.String(100), type_=sa.String(200))
            batch_op.add_column(sa.Column("nickname", sa.String(30), nullable=True))
        """,
        """
        with op.batch_alter_table("accounts") as batch_op:
            batch_op.drop_column("nickname")
            batch_op.alter_column("note", existing_type=sa.String(200), type_=sa.String(100))
        """,
    )
    config = history.config()
    check_stairway(empty_database_url, config)
    check_data_survives(empty_database_url, config)

    def columns() -> dict[str, object]:
        with connected(empty_database_url) as connection:
            return {c["name"]: c["type"] for c in inspect(connection).get_columns("accounts")}

    assert "nickname" in columns()
    assert getattr(columns()["note"], "length", None) == 200
    migrate(empty_database_url, config, "downgrade", "-1")
    assert "nickname" not in columns()
    assert getattr(columns()["note"], "length", None) == 100

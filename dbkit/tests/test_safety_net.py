"""The safety net itself: no false alarm on a correct, grown history, and every
check catches the mistake it exists for.

Each test builds a small history of its own (dbkit/testing/histories.py), so it
passes or fails on the net's merit alone, whatever migrations/versions holds.
"""

from __future__ import annotations

import os
import textwrap
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import URL, inspect, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from dbkit.safety_net.accepted import AcceptedFileError
from dbkit.safety_net.checks import (
    MigrationCheckFailed,
    MigrationCheckNote,
    accepted,
    check_data_survives,
    check_history,
    check_no_drift,
    check_offline_sql,
    check_stairway,
    check_upgrade,
    connected,
    drop_everything,
    migrate,
)
from dbkit.safety_net.sample_rows import sample_row
from dbkit.testing.histories import History, new_history
from dbkit.testing.scratch import BACKEND
from dbkit.tests.app_history import app_history
from models.base import NAMING_CONVENTION

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


def accounts_with_an_unmigrated_column(directory: Path) -> History:
    """The accounts history, whose model has a column no revision creates: joined_on."""
    metadata = sa.MetaData()
    sa.Table(
        "accounts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("note", sa.String(100)),
        sa.Column("joined_on", sa.Date),
    )
    return accounts_history(new_history(directory, metadata))


# No false alarms ---------------------------------------------------------------------


def test_a_grown_history_passes_every_check(tmp_path: Path, empty_database_url: URL) -> None:
    """Foreign keys with ON DELETE CASCADE, enums, a composite index, a CHECK, a table
    copied by SQLite, a dropped and a renamed column: correct, so nothing is reported."""
    history = app_history(tmp_path)
    config = history.config()
    check_history(config)
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


def history_problems_of(history: History) -> list[str]:
    with pytest.raises(MigrationCheckFailed) as caught:
        check_history(history.config())
    return str(caught.value).splitlines()


@pytest.mark.no_database
def test_a_second_head_is_caught(history: History) -> None:
    accounts_history(history)
    history.add("pass", revision="b0000000000b", down_revision=None)
    problems = history_problems_of(history)
    assert problems[0].startswith("2 heads (")
    assert "b0000000000b in b0000000000b_test.py" in problems[0]


@pytest.mark.no_database
def test_every_broken_link_is_reported_once_naming_its_file(history: History) -> None:
    """A missing parent, a cycle and a file that does not import: all in one report."""
    accounts_history(history)
    history.add("pass", revision="0b0000000000", down_revision="feedfacecafe")
    history.add("pass", revision="c1c1e0000001", down_revision="c1c1e0000002")
    history.add("pass", revision="c1c1e0000002", down_revision="c1c1e0000001")
    broken = history.file(history.add("pass", revision="b0ken0000001", down_revision="rev0001"))
    broken.write_text(broken.read_text().replace("import time", "import no_such_module"))
    assert history_problems_of(history) == [
        "b0ken0000001_test.py: does not import: ModuleNotFoundError: "
        "No module named 'no_such_module'",
        "0b0000000000_test.py: revision 0b0000000000 revises feedfacecafe, which no file holds",
        # 0b0000000000 starts a second line of history, and nothing revises it.
        "2 heads (0b0000000000 in 0b0000000000_test.py, b0ken0000001 in b0ken0000001_test.py); "
        "join them with: alembic merge heads",
        "c1c1e0000001_test.py: revisions revise each other in a cycle: "
        "c1c1e0000001 -> c1c1e0000002 -> c1c1e0000001",
        "4 findings: the revision history is broken",
    ]


def findings_of(check: Callable[[], object]) -> list[str]:
    """The finding lines of a failing check, without its summary line."""
    with pytest.raises(MigrationCheckFailed) as caught:
        check()
    *findings, summary = str(caught.value).splitlines()
    assert summary.startswith(f"{len(findings)} finding")
    return findings


def test_every_failing_upgrade_is_caught(history: History, empty_database_url: URL) -> None:
    accounts_history(history)
    history.add('op.drop_table("no_such_table")', revision="bad0000000f1")
    history.add('op.drop_table("nor_this_one")', revision="bad0000000f2")
    findings = findings_of(lambda: check_upgrade(empty_database_url, history.config()))
    assert len(findings) == 2
    assert findings[0].startswith("revision bad0000000f1 (bad0000000f1_test.py): upgrade fails: ")
    assert findings[1].startswith("revision bad0000000f2 (bad0000000f2_test.py): upgrade fails")


@pytest.mark.backends("postgresql")
def test_revisions_run_in_the_isolation_level_their_project_connects_in(
    history: History, empty_database_url: URL
) -> None:
    """A project whose storage connects in AUTOCOMMIT (Dagster's, on PostgreSQL) writes
    CREATE INDEX CONCURRENTLY without an autocommit_block: it fails in a transaction,
    and passes every walk once the history says how the project connects."""
    accounts_history(history)
    history.add(
        'op.create_index("ix_accounts_name", "accounts", ["name"], postgresql_concurrently=True)',
        'op.drop_index("ix_accounts_name", "accounts", postgresql_concurrently=True)',
    )
    [finding] = findings_of(lambda: check_upgrade(empty_database_url, history.config()))
    assert "CREATE INDEX CONCURRENTLY cannot run inside a transaction block" in finding

    drop_everything(empty_database_url)
    config = history.config()
    config.attributes["isolation_levels"] = {"postgresql": "AUTOCOMMIT"}
    check_upgrade(empty_database_url, config)
    drop_everything(empty_database_url)
    check_stairway(empty_database_url, config)


def stairway_failure(history: History, url: URL, upgrade: str, downgrade: str) -> str:
    """The one finding of the stairway check on ``history`` plus a broken revision."""
    revision = history.add(upgrade, downgrade, revision="bad000000d00")
    findings = findings_of(lambda: check_stairway(url, history.config()))
    assert len(findings) == 1, findings
    assert findings[0].startswith(f"revision {revision} ({revision}_test.py): ")
    return findings[0]


FORGOTTEN_UNDOS = {
    "a table": (
        'op.create_table("audit_log", sa.Column("id", sa.Integer, primary_key=True))',
        "audit_log: table: left behind by the downgrade",
    ),
    "a column": (
        """
        with op.batch_alter_table("accounts") as batch_op:
            batch_op.add_column(sa.Column("nickname", sa.String(30), nullable=True))
        """,
        "accounts: column nickname: left behind by the downgrade",
    ),
    "nullability": (
        """
        with op.batch_alter_table("accounts") as batch_op:
            batch_op.alter_column("note", existing_type=sa.String(100), nullable=False)
        """,
        "accounts: column note: nullable False, was True",
    ),
}


@pytest.mark.parametrize(("upgrade", "difference"), FORGOTTEN_UNDOS.values(), ids=FORGOTTEN_UNDOS)
def test_a_downgrade_that_does_not_undo_its_upgrade_is_caught(
    history: History, empty_database_url: URL, upgrade: str, difference: str
) -> None:
    """The downgrade is `pass`: the one line says what it left behind or changed."""
    message = stairway_failure(accounts_history(history), empty_database_url, upgrade, "pass")
    assert message.endswith(f"downgrade does not undo the upgrade: {difference}")


def test_a_default_written_again_in_more_parentheses_is_the_same_default(
    history: History, empty_database_url: URL
) -> None:
    """SQLite keeps a default's text as written; redundant parentheses change nothing."""
    history.add(
        """
        op.create_table(
            "tokens",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("value", sa.String(40), server_default=sa.text("(lower('A'))")),
        )
        """,
        'op.drop_table("tokens")',
    )
    history.add(
        'op.drop_table("tokens")',
        """
        op.create_table(
            "tokens",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("value", sa.String(40), server_default=sa.text("((lower('A')))")),
        )
        """,
    )
    check_stairway(empty_database_url, history.config())


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


def test_a_key_the_downgrade_only_renames_is_one_line(
    history: History, empty_database_url: URL
) -> None:
    """The upgrade drops an unnamed key and makes it again with a name; the downgrade
    leaves the name. One difference, not a key gone and another left behind."""
    accounts_history(history)
    history.add(
        """
        op.create_table(
            "notes",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("account_id", sa.Integer, nullable=True),
            sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="notes_account"),
        )
        """,
        'op.drop_table("notes")',
    )
    renames = history.add(
        """
        with op.batch_alter_table("notes") as batch_op:
            batch_op.drop_constraint("notes_account", type_="foreignkey")
            batch_op.create_foreign_key(
                "fk_notes_account_id_accounts", "accounts", ["account_id"], ["id"]
            )
        """
    )
    findings = findings_of(lambda: check_stairway(empty_database_url, history.config()))
    expected = [
        f"revision {renames} ({renames}_test.py): downgrade does not undo the upgrade: "
        f"notes: {kind} notes_account: renamed by the downgrade to fk_notes_account_id_accounts"
        # MySQL names the index it makes for a foreign key after the key.
        for kind in (["foreign key", "index"] if BACKEND == "mysql" else ["foreign key"])
    ]
    assert findings == expected


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
    history = accounts_with_an_unmigrated_column(tmp_path)
    assert findings_of(lambda: check_no_drift(empty_database_url, history.config())) == [
        f"at revision {history.head} ({history.head}_test.py): "
        "accounts: column joined_on: in the models, not in the database"
    ]


def test_a_foreign_key_that_differs_only_in_on_delete_is_one_drift_line(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """Autogenerate would drop the key and create it again under the same name; the
    finding says what differs instead of two lines that seem to contradict each other."""
    metadata = sa.MetaData()
    sa.Table("accounts", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE", name="fk_notes_account_id_accounts"),
        ),
    )
    history = new_history(tmp_path, metadata)
    history.add('op.create_table("accounts", sa.Column("id", sa.Integer, primary_key=True))')
    history.add(
        """
        op.create_table(
            "notes",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("account_id", sa.Integer),
            sa.ForeignKeyConstraint(
                ["account_id"], ["accounts.id"], name="fk_notes_account_id_accounts"
            ),
        )
        """
    )
    assert findings_of(lambda: check_no_drift(empty_database_url, history.config())) == [
        f"at revision {history.head} ({history.head}_test.py): notes: foreign key "
        "fk_notes_account_id_accounts (account_id) to accounts: "
        "ondelete CASCADE in the models, NO ACTION in the database"
    ]


@pytest.mark.backends("postgresql")
def test_an_enum_type_the_models_no_longer_have_is_drift_not_a_crash(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """Autogenerate drops the table and its enum type (dbkit/migrations/autogenerate.py's own
    operation), which `alembic check` must be able to list."""
    history = new_history(tmp_path, sa.MetaData())
    history.add(
        """
        op.create_table(
            "jobs",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("status", sa.Enum("queued", "done", name="job_status")),
        )
        """
    )
    findings = findings_of(lambda: check_no_drift(empty_database_url, history.config()))
    assert [finding.split(": ", 1)[1] for finding in findings] == [
        "jobs: table: in the database, not in the models",
        "enum type job_status: in the database, not in the models",
    ]


class RandomToken(sa.sql.functions.FunctionElement[str]):
    """A default that, like many a project's, compiles only for the backends it runs on."""

    name = "random_token"
    inherit_cache = True


@compiles(RandomToken, "sqlite")
@compiles(RandomToken, "postgresql")
@compiles(RandomToken, "mysql")
def _random_token(element: RandomToken, compiler: SQLCompiler, **kwargs: object) -> str:
    return "(lower(hex(randomblob(8))))" if compiler.dialect.name == "sqlite" else "(uuid())"


def test_a_default_that_compiles_only_for_real_backends_is_shown_as_the_backend_writes_it(
    tmp_path: Path, empty_database_url: URL
) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "accounts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token", sa.String(32), server_default=RandomToken()),
    )
    history = new_history(tmp_path, metadata)
    history.add(
        'op.create_table("accounts", sa.Column("id", sa.Integer, primary_key=True), '
        'sa.Column("token", sa.String(32)))'
    )
    written = "(lower(hex(randomblob(8))))" if BACKEND == "sqlite" else "(uuid())"
    [finding] = findings_of(lambda: check_no_drift(empty_database_url, history.config()))
    assert finding.endswith(
        f"accounts: column token: default {written} in the models, none in the database"
    )


def test_an_unnamed_foreign_key_is_described_without_a_name(
    tmp_path: Path, empty_database_url: URL
) -> None:
    metadata = sa.MetaData()
    sa.Table("accounts", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id")),
    )
    history = new_history(tmp_path, metadata)
    history.add('op.create_table("accounts", sa.Column("id", sa.Integer, primary_key=True))')
    history.add(
        """
        op.create_table(
            "notes",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("account_id", sa.Integer),
        )
        """
    )
    [finding] = findings_of(lambda: check_no_drift(empty_database_url, history.config()))
    assert finding.endswith(
        "notes: foreign key (account_id) to accounts: in the models, not in the database"
    )


def test_an_expression_index_left_out_of_the_revisions_is_caught_on_every_backend(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """Autogenerate on SQLite leaves such an index out with only a warning (SQLAlchemy
    cannot reflect it there); the drift check must not."""
    metadata = sa.MetaData()
    things = sa.Table(
        "things",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50)),
    )
    sa.Index("ix_things_lower_name", sa.func.lower(things.c.name), unique=True)
    history = new_history(tmp_path, metadata)
    history.add(
        """
        op.create_table(
            "things",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(50)),
        )
        """
    )
    [finding] = findings_of(lambda: check_no_drift(empty_database_url, history.config()))
    assert finding.endswith(
        "things: index ix_things_lower_name (lower(things.name)): "
        "in the models, not in the database"
    )
    if BACKEND == "mysql":
        return  # MariaDB has no indexes on expressions (only on generated columns)
    history.add(
        'op.create_index("ix_things_lower_name", "things", [sa.text("lower(name)")], unique=True)'
    )
    check_no_drift(empty_database_url, history.config())


def test_keys_that_kept_their_names_through_a_table_rename_are_caught(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """op.rename_table keeps pk_projects and fk_tasks_project_id_projects; autogenerate
    never compares these names, and a later revision that drops pk_workspaces fails."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    sa.Table("workspaces", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "tasks",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("workspaces.id")),
    )
    history = new_history(tmp_path, metadata)
    history.add(
        """
        op.create_table(
            "projects",
            sa.Column("id", sa.Integer, nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        )
        op.create_table(
            "tasks",
            sa.Column("id", sa.Integer, nullable=False),
            sa.Column("project_id", sa.Integer, nullable=True),
            sa.ForeignKeyConstraint(
                ["project_id"], ["projects.id"], name=op.f("fk_tasks_project_id_projects")
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        )
        """
    )
    history.add('op.rename_table("projects", "workspaces")')
    findings = findings_of(lambda: check_no_drift(empty_database_url, history.config()))
    expected = [
        "tasks: foreign key (project_id) to workspaces: named fk_tasks_project_id_projects "
        "in the database, fk_tasks_project_id_workspaces in the models"
    ]
    if BACKEND != "mysql":  # where a primary key is always called PRIMARY
        expected.insert(
            0,
            "workspaces: primary key: named pk_projects in the database, "
            "pk_workspaces in the models",
        )
    assert [finding.split(": ", 1)[1] for finding in findings] == expected


def test_a_key_name_too_long_for_the_backend_is_compared_as_the_backend_shortens_it(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """The naming convention's name is 70 characters; PostgreSQL (63) and MySQL (64)
    get it shortened with a hash, from the models and the revision alike."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    sa.Table("accounts_kept_for_auditing", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "accounts_kept_for_auditing_id",
            sa.Integer,
            sa.ForeignKey("accounts_kept_for_auditing.id"),
        ),
    )
    history = new_history(tmp_path, metadata)
    history.add(
        """
        op.create_table(
            "accounts_kept_for_auditing",
            sa.Column("id", sa.Integer, nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_kept_for_auditing")),
        )
        op.create_table(
            "notes",
            sa.Column("id", sa.Integer, nullable=False),
            sa.Column("accounts_kept_for_auditing_id", sa.Integer, nullable=True),
            sa.ForeignKeyConstraint(
                ["accounts_kept_for_auditing_id"],
                ["accounts_kept_for_auditing.id"],
                name=op.f(
                    "fk_notes_accounts_kept_for_auditing_id_accounts_kept_for_auditing"
                ),
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
        )
        """
    )
    check_no_drift(empty_database_url, history.config())


def test_an_upgrade_that_loses_data_is_caught(history: History, empty_database_url: URL) -> None:
    accounts_history(history)
    history.add('op.execute("UPDATE accounts SET note = NULL")', revision="bad0000000a1")
    assert findings_of(lambda: check_data_survives(empty_database_url, history.config())) == [
        "revision bad0000000a1 (bad0000000a1_test.py): the upgrade lost data: "
        "accounts: 1 of 1 rows gone or changed, e.g. {'name': 'r1x', 'note': 'r1x'}, "
        "changed in note"
    ]


RENAMED_AS_ADD_AND_DROP = (
    """
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=200), nullable=True))
        batch_op.drop_column("full_name")
    """,
    """
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("full_name", sa.String(length=200), nullable=True))
        batch_op.drop_column("display_name")
    """,
)


def test_a_rename_written_as_add_and_drop_is_caught_in_a_grown_history(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """Autogenerate writes a rename as a new column and a dropped one: every value of
    the old column is gone, though each row is still there by its other columns."""
    history = app_history(tmp_path)
    history.add(*RENAMED_AS_ADD_AND_DROP, revision="bad0000000a7")
    assert findings_of(lambda: check_data_survives(empty_database_url, history.config())) == [
        "revision bad0000000a7 (bad0000000a7_test.py): the upgrade lost data: "
        "users: column full_name dropped with its values (1 of 1 rows) "
        "(written as add + drop: a rename? display_name added in the same revision)"
    ]


def test_a_column_copied_to_its_new_name_before_the_drop_has_lost_nothing(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """The same rename, done right by hand: the values follow the column."""
    history = app_history(tmp_path)
    history.add(
        """
        op.add_column("users", sa.Column("display_name", sa.String(length=200), nullable=True))
        op.execute("UPDATE users SET display_name = full_name")
        with op.batch_alter_table("users") as batch_op:
            batch_op.drop_column("full_name")
        """,
        RENAMED_AS_ADD_AND_DROP[1],
    )
    check_data_survives(empty_database_url, history.config())


def test_a_dropped_column_that_held_values_is_a_loss_unless_accepted(
    history: History, empty_database_url: URL
) -> None:
    accounts_history(history)
    drop = history.add('op.drop_column("accounts", "note")', revision="bad0000000a8")
    assert findings_of(lambda: check_data_survives(empty_database_url, history.config())) == [
        "revision bad0000000a8 (bad0000000a8_test.py): the upgrade lost data: "
        "accounts: column note dropped with its values (1 of 1 rows)"
    ]
    drop_everything(empty_database_url)
    write_accepted(history, f'[data]\nchanges_rows = ["{drop}"]  # notes are no longer kept\n')
    check_data_survives(empty_database_url, history.config())


def test_a_row_changed_into_another_expected_row_is_caught(
    history: History, empty_database_url: URL
) -> None:
    """Each expected row is looked for on its own: without a key to tell them apart,
    a count of rows matching any of them would still be right."""
    history.add(
        """
        op.create_table(
            "tags",
            sa.Column("name", sa.String(length=50), nullable=False),
            sa.Column("note", sa.String(length=50), nullable=True),
        )
        """
    )
    history.add('op.add_column("tags", sa.Column("extra", sa.Integer, nullable=True))')
    history.add(
        "op.execute(\"UPDATE tags SET name = 'r2x', note = 'r2x', extra = 2\")",
        revision="bad0000000a9",
    )
    assert findings_of(lambda: check_data_survives(empty_database_url, history.config())) == [
        "revision bad0000000a9 (bad0000000a9_test.py): the upgrade lost data: "
        "tags: 1 of 2 rows gone or changed, e.g. {'name': 'r1x', 'note': 'r1x'}"
    ]


# Offline SQL -------------------------------------------------------------------------

OFFLINE_URLS = {
    "postgresql": "postgresql+psycopg://nobody@db.invalid/app",
    "mysql": "mysql+pymysql://nobody@db.invalid/app",
    "sqlite": "sqlite:////nonexistent/dir/app.db",
}


@pytest.mark.no_database
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


@pytest.mark.no_database
@pytest.mark.parametrize("dialect", OFFLINE_URLS)
def test_a_revision_that_needs_a_database_offline_is_caught(history: History, dialect: str) -> None:
    """Every such revision, named with its file, in one run."""
    accounts_history(history)
    reads = 'count = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM accounts")).scalar()'
    first = history.add(reads, revision="0ff1ine00001")
    history.add('op.add_column("accounts", sa.Column("extra", sa.Integer))')
    second = history.add(reads, revision="0ff1ine00002")
    findings = findings_of(lambda: check_offline_sql(history.ini, make_url(OFFLINE_URLS[dialect])))
    assert [finding.split(": ", 2)[:2] for finding in findings] == [
        [f"revision {first} ({first}_test.py)", f"`alembic upgrade --sql` fails for {dialect}"],
        [f"revision {second} ({second}_test.py)", f"`alembic upgrade --sql` fails for {dialect}"],
    ]


@pytest.mark.no_database
def test_a_revision_that_needs_a_database_can_be_accepted(history: History) -> None:
    """A data migration that reads the live schema cannot be written as SQL in advance;
    a project that knows it lists it, and any other such revision still fails."""
    accounts_history(history)
    reads = 'count = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM accounts")).scalar()'
    known = history.add(reads, revision="0ff1ine00001")
    write_accepted(history, f'[offline]\nneeds_a_database = ["{known}"]\n')
    url = make_url(OFFLINE_URLS["postgresql"])
    assert check_offline_sql(history.ini, url) is None
    unknown = history.add(reads, revision="0ff1ine00002")
    [finding] = findings_of(lambda: check_offline_sql(history.ini, url))
    assert finding.startswith(f"revision {unknown} ({unknown}_test.py): ")


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


# One pass, every finding -------------------------------------------------------------------

FORGETFUL = (  # an upgrade whose downgrade forgets to undo it
    'op.add_column("accounts", sa.Column("{name}", sa.String(10), nullable=True))',
    "pass",
)


def test_every_broken_downgrade_is_reported_in_one_pass(
    history: History, empty_database_url: URL
) -> None:
    accounts_history(history)
    first = history.add(FORGETFUL[0].format(name="alpha"), FORGETFUL[1])
    history.add('op.create_index("ix_accounts_name", "accounts", ["name"])',
                'op.drop_index("ix_accounts_name", "accounts")')  # fmt: skip
    last = history.add(FORGETFUL[0].format(name="omega"), FORGETFUL[1])
    findings = findings_of(lambda: check_stairway(empty_database_url, history.config()))
    assert findings == [
        f"revision {first} ({first}_test.py): downgrade does not undo the upgrade: "
        "accounts: column alpha: left behind by the downgrade",
        f"revision {last} ({last}_test.py): downgrade does not undo the upgrade: "
        "accounts: column omega: left behind by the downgrade",
    ]


def test_a_branched_history_with_a_merge_passes_the_stairway(
    history: History, empty_database_url: URL
) -> None:
    """Each revision's downgrade is checked on its own: downgrading a branch revision to
    its parent would also undo the other branch, and a merge has two parents."""
    base = history.add(
        'op.create_table("t0", sa.Column("id", sa.Integer, primary_key=True))',
        'op.drop_table("t0")',
        revision="a0",
    )
    for branch in ("a1", "b1"):
        history.add(
            f'op.create_table("t_{branch}", sa.Column("id", sa.Integer, primary_key=True))',
            f'op.drop_table("t_{branch}")',
            revision=branch,
            down_revision=base,
        )
    history.add("pass", revision="m", down_revision=("a1", "b1"))
    config = history.config()
    check_stairway(empty_database_url, config)
    drop_everything(empty_database_url)
    check_upgrade(empty_database_url, config)


def test_a_revision_importing_from_prepend_sys_path_is_sound(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """Alembic puts alembic.ini's prepend_sys_path on sys.path before it loads revisions
    (a project's helpers for its migrations live there); so must the net."""
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "migration_helpers_for_the_test.py").write_text("TABLE = 'accounts'\n")
    history = new_history(tmp_path / "project")
    ini = history.ini.read_text()
    history.ini.write_text(
        ini.replace("prepend_sys_path = ", f"prepend_sys_path = {helpers}{os.pathsep}", 1)
    )
    revision = history.add(
        'op.create_table(TABLE, sa.Column("id", sa.Integer, primary_key=True))',
        "op.drop_table(TABLE)",
    )
    path = history.file(revision)
    path.write_text(
        path.read_text().replace(
            "import os\n", "import os\n\nfrom migration_helpers_for_the_test import TABLE\n", 1
        )
    )
    check_history(history.config())
    check_upgrade(empty_database_url, history.config())


# After a failure the walk goes on ----------------------------------------------------------

# Three tables that refer to each other in a cycle, one through ON DELETE
# CASCADE, with rows that fill the cycle: emptying such a database to start
# over must not depend on the order the tables are dropped in.
TANGLE = (
    """
    op.create_table("a", sa.Column("id", sa.Integer, primary_key=True))
    op.create_table(
        "b",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("a_id", sa.Integer, sa.ForeignKey("a.id", ondelete="CASCADE")),
    )
    op.create_table(
        "c",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("a_id", sa.Integer, sa.ForeignKey("a.id")),
        sa.Column("b_id", sa.Integer, sa.ForeignKey("b.id")),
    )
    with op.batch_alter_table("a") as batch_op:
        batch_op.add_column(sa.Column("c_id", sa.Integer, nullable=True))
        batch_op.create_foreign_key("fk_a_c_id_c", "c", ["c_id"], ["id"])
    op.execute("INSERT INTO a (id) VALUES (1)")
    op.execute("INSERT INTO b (id, a_id) VALUES (1, 1)")
    op.execute("INSERT INTO c (id, a_id, b_id) VALUES (1, 1, 1)")
    op.execute("UPDATE a SET c_id = 1")
    """,
    """
    with op.batch_alter_table("a") as batch_op:
        batch_op.drop_constraint("fk_a_c_id_c", type_="foreignkey")
        batch_op.drop_column("c_id")
    op.drop_table("c")
    op.drop_table("b")
    op.drop_table("a")
    """,
)


def test_tables_in_a_cycle_of_foreign_keys_are_rebuilt_after_a_finding(
    history: History, empty_database_url: URL
) -> None:
    """Each finding makes the stairway empty the database and rebuild it; the second
    finding is only reported if that worked."""
    history.add(*TANGLE)
    first = history.add(FORGETFUL[0].replace("accounts", "b").format(name="x"), FORGETFUL[1])
    second = history.add(FORGETFUL[0].replace("accounts", "c").format(name="y"), FORGETFUL[1])
    findings = findings_of(lambda: check_stairway(empty_database_url, history.config()))
    assert [finding.split(":")[0] for finding in findings] == [
        f"revision {first} ({first}_test.py)",
        f"revision {second} ({second}_test.py)",
    ]


def test_a_failed_upgrade_is_stepped_over_when_the_database_is_rebuilt(
    history: History, empty_database_url: URL
) -> None:
    """The stairway reports the failure, then a later finding makes it rebuild the
    database: the rebuild must step over the failed revision, not fail on it again."""
    history.add(*TANGLE)
    failing = history.add('op.drop_table("no_such_table")', "pass")
    forgetful = history.add(FORGETFUL[0].replace("accounts", "c").format(name="y"), FORGETFUL[1])
    after = history.add(FORGETFUL[0].replace("accounts", "b").format(name="x"), FORGETFUL[1])
    findings = findings_of(lambda: check_stairway(empty_database_url, history.config()))
    assert [finding.split(": ", 2)[:2] for finding in findings] == [
        [f"revision {failing} ({failing}_test.py)", "upgrade fails"],
        [f"revision {forgetful} ({forgetful}_test.py)", "downgrade does not undo the upgrade"],
        [f"revision {after} ({after}_test.py)", "downgrade does not undo the upgrade"],
    ]


def test_drift_after_a_failed_upgrade_is_one_line_naming_the_revision(
    history: History, empty_database_url: URL
) -> None:
    accounts_history(history)
    failing = history.add('op.drop_table("no_such_table")', "pass")
    history.add(FORGETFUL[0].format(name="later"), FORGETFUL[1])
    [finding] = findings_of(lambda: check_no_drift(empty_database_url, history.config()))
    assert finding.startswith(f"revision {failing} ({failing}_test.py): upgrade fails: ")
    assert "no_such_table" in finding
    assert "\n" not in finding


def test_a_revision_that_declares_orm_classes_is_loaded_as_alembic_loads_it(
    history: History, empty_database_url: URL
) -> None:
    """A data migration with its own declarative classes (``Mapped[...]`` annotations
    resolve at class creation): it runs under Alembic, so the net must not call it broken."""
    accounts_history(history)
    revision = history.add(
        """
        with Session(bind=op.get_bind()) as session:
            session.add(Account(name="ada"))
            session.flush()
        """,
        'op.execute("DELETE FROM accounts")',
    )
    path = history.file(revision)
    path.write_text(
        path.read_text()
        + textwrap.dedent(
            """

            from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


            class Base(DeclarativeBase):
                pass


            class Account(Base):
                __tablename__ = "accounts"
                id: Mapped[int] = mapped_column(primary_key=True)
                name: Mapped[str] = mapped_column(sa.String(50))
            """
        )
    )
    config = history.config()
    check_history(config)
    check_upgrade(empty_database_url, config)


# A history written under another naming convention ------------------------------------------

# Revisions written before the project had a naming convention, as many real
# histories were: the foreign key is left unnamed, so PostgreSQL named it
# awards_team_id_fkey in production, and a later revision drops it by that name.
BACKEND_NAMED = [
    (
        """
        op.create_table("teams", sa.Column("id", sa.Integer, primary_key=True))
        op.create_table(
            "awards",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id")),
        )
        """,
        'op.drop_table("awards")\nop.drop_table("teams")',
    ),
    (
        'op.drop_constraint("awards_team_id_fkey", "awards", type_="foreignkey")',
        'op.create_foreign_key("awards_team_id_fkey", "awards", "teams", ["team_id"], ["id"])',
    ),
]


def backend_named_history(directory: Path, naming_convention: dict[str, str]) -> History:
    metadata = sa.MetaData(naming_convention=naming_convention)
    sa.Table("teams", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "awards",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.Integer),
    )
    history = new_history(directory, metadata)
    for upgrade, downgrade in BACKEND_NAMED:
        history.add(upgrade, downgrade)
    return history


@pytest.mark.backends("postgresql")
def test_a_history_keeps_the_naming_convention_it_was_written_under(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """Alembic names what a revision leaves unnamed by the models' convention. Under the
    template's, a fresh database gets fk_awards_team_id_teams where production has
    awards_team_id_fkey; under the history's own (none), every check and autogenerate work."""
    template = backend_named_history(tmp_path / "template", NAMING_CONVENTION)
    [finding] = findings_of(lambda: check_upgrade(empty_database_url, template.config()))
    assert 'constraint "awards_team_id_fkey" of relation "awards" does not exist' in finding

    own = backend_named_history(tmp_path / "own", {})
    config = own.config()
    drop_everything(empty_database_url)
    check_history(config)
    check_upgrade(empty_database_url, config)
    drop_everything(empty_database_url)
    check_stairway(empty_database_url, config)
    check_no_drift(empty_database_url, config)
    drop_everything(empty_database_url)
    check_data_survives(empty_database_url, config)

    # A model change autogenerates a revision that runs under the same convention.
    assert own.metadata is not None
    sa.Table("awards", own.metadata, sa.Column("note", sa.String(50)), extend_existing=True)
    config = own.config()
    with connected(empty_database_url) as connection:
        config.attributes["connection"] = connection
        command.revision(config, message="note", autogenerate=True)
    [written] = own.versions.glob("*_note.py")
    assert "add_column" in written.read_text()
    check_no_drift(empty_database_url, own.config())


@pytest.mark.filterwarnings("ignore::dbkit.safety_net.checks.MigrationCheckNote")
def test_a_key_to_a_table_a_failed_upgrade_did_not_make_does_not_stop_the_data_check(
    history: History, empty_database_url: URL
) -> None:
    """SQLite creates a foreign key to a table that is not there; reading such a schema
    back must not crash the check (the servers refuse the key: a second failure)."""
    history.add('op.create_table("a", sa.Column("id", sa.Integer, primary_key=True))')
    failing = history.add(
        """
        op.create_table("c", sa.Column("id", sa.Integer, primary_key=True))
        op.drop_table("no_such_table")
        """
    )
    history.add(
        """
        op.create_table(
            "b",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("c_id", sa.Integer, sa.ForeignKey("c.id")),
        )
        """
    )
    findings = findings_of(lambda: check_data_survives(empty_database_url, history.config()))
    assert findings[0].startswith(f"revision {failing} ({failing}_test.py): upgrade fails: ")
    assert all(": upgrade fails: " in finding for finding in findings)


def test_the_integer_columns_of_a_composite_key_get_values(
    history: History, empty_database_url: URL
) -> None:
    """Only a table's one integer key is numbered by the database; in a composite key
    (MLflow's metrics: key, timestamp, step) each column needs a value."""
    history.add(
        """
        op.create_table(
            "points",
            sa.Column("x", sa.Integer, nullable=False),
            sa.Column("y", sa.BigInteger, nullable=False),
            sa.Column("label", sa.String(20)),
            sa.PrimaryKeyConstraint("x", "y", name="pk_points"),
        )
        """
    )
    history.add('op.add_column("points", sa.Column("extra", sa.Integer))')
    check_fills_every_table(history, empty_database_url)


def test_a_generated_column_is_left_to_the_database(
    history: History, empty_database_url: URL
) -> None:
    """A column the database computes (MLflow's spans.duration_ns) takes no value."""
    history.add(
        """
        op.create_table(
            "spans",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("start_ns", sa.BigInteger, nullable=False),
            sa.Column("end_ns", sa.BigInteger, nullable=False),
            sa.Column(
                "duration_ns", sa.BigInteger, sa.Computed("end_ns - start_ns", persisted=True)
            ),
        )
        """
    )
    history.add('op.add_column("spans", sa.Column("label", sa.String(20)))')
    check_fills_every_table(history, empty_database_url)


def test_rows_a_later_foreign_key_cannot_take_are_the_checks_not_the_revisions(
    history: History, empty_database_url: URL
) -> None:
    """The check's made-up owner_id has no owner; the revision that makes it a foreign
    key fails on that row only. Without the check's rows it passes: a note, not a finding."""
    history.add('op.create_table("owners", sa.Column("id", sa.String(20), primary_key=True))')
    history.add(
        """
        op.create_table(
            "pets",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("owner_id", sa.String(20)),
        )
        """
    )
    keyed = history.add(
        """
        with op.batch_alter_table("pets") as batch_op:
            batch_op.create_foreign_key("fk_pets_owner_id_owners", "owners", ["owner_id"], ["id"])
        """
    )
    history.add('op.add_column("pets", sa.Column("name", sa.String(20)))')
    with pytest.warns(MigrationCheckNote, match=f"revision {keyed} .* passes without them"):
        check_data_survives(empty_database_url, history.config())


# What a project accepts (accepted.toml) ------------------------------------------------------


def write_accepted(history: History, text: str) -> None:
    (history.location / "accepted.toml").write_text(textwrap.dedent(text))


def test_downgrades_before_the_adoption_point_are_not_checked(
    history: History, empty_database_url: URL
) -> None:
    accounts_history(history)
    old = history.add(FORGETFUL[0].format(name="legacy"), FORGETFUL[1])
    write_accepted(history, f'[stairway]\nstart_after = "{old}"\n')
    check_stairway(empty_database_url, history.config())

    # A new broken revision on top still fails.
    new = history.add(FORGETFUL[0].format(name="fresh"), FORGETFUL[1])
    [finding] = findings_of(lambda: check_stairway(empty_database_url, history.config()))
    assert finding.startswith(f"revision {new} ")


def test_known_drift_is_accepted_and_new_drift_is_not(
    tmp_path: Path, empty_database_url: URL
) -> None:
    history = accounts_with_an_unmigrated_column(tmp_path)
    write_accepted(
        history,
        """
        [drift]
        accepted = ["accounts: column joined_on: in the models, not in the database"]
        """,
    )
    check_no_drift(empty_database_url, history.config())
    assert history.metadata is not None
    sa.Table("accounts", history.metadata, sa.Column("left_on", sa.Date), extend_existing=True)
    [finding] = findings_of(lambda: check_no_drift(empty_database_url, history.config()))
    assert finding.endswith("accounts: column left_on: in the models, not in the database")


def test_a_data_migration_can_be_accepted_as_changing_rows(
    history: History, empty_database_url: URL
) -> None:
    accounts_history(history)
    changes = history.add('op.execute("UPDATE accounts SET note = UPPER(note)")')
    write_accepted(history, f'[data]\nchanges_rows = ["{changes}"]\n')
    check_data_survives(empty_database_url, history.config())


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[stairway\n", "Expected ']'"),
        ("[stairways]\n", "unknown section [stairways]"),
        ("[drift]\nacepted = []\n", "[drift] has no setting 'acepted'"),
        ("[drift]\naccepted = [1]\n", "[drift] accepted must be a list of strings"),
        ("[data]\nrows = 1\n", "[data] rows must be a dict"),
        ("[data.rows]\nruns = 1\n", "[data.rows] runs must be a table of column = value"),
        ("[data.rows]\nruns = { stage = [1] }\n", "[data.rows] runs.stage must be one value"),
    ],
)
def test_a_malformed_accepted_file_is_one_clear_line(
    history: History, text: str, problem: str
) -> None:
    accounts_history(history)
    write_accepted(history, text)
    with pytest.raises(AcceptedFileError) as caught:
        accepted(history.config())
    message = str(caught.value)
    assert message.startswith(f"{history.location / 'accepted.toml'}: ")
    assert problem in message
    assert "\n" not in message


# Data that fits -------------------------------------------------------------------------


def check_fills_every_table(history: History, url: URL) -> None:
    """The data check passes, and writes rows into every table (no note)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", MigrationCheckNote)
        check_data_survives(url, history.config())


def test_rows_are_generated_for_many_column_types(
    history: History, empty_database_url: URL
) -> None:
    history.add(
        """
        op.create_table(
            "kinds",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("doc", sa.JSON, nullable=False),
            sa.Column("blob", sa.LargeBinary, nullable=False),
            sa.Column("key", sa.Uuid, nullable=False, unique=True),
            sa.Column("ratio", sa.Float, nullable=False),
            sa.Column("at", sa.Time, nullable=False),
            sa.Column("price", sa.Numeric(10, 2), nullable=False),
            sa.Column("kind", sa.Enum("a", "b", name="kind_kind"), nullable=False),
        )
        """,
        'op.drop_table("kinds")\nsa.Enum(name="kind_kind").drop(op.get_bind(), checkfirst=True)',
    )
    history.add('op.add_column("kinds", sa.Column("extra", sa.Integer, nullable=True))')
    check_fills_every_table(history, empty_database_url)


# Data the check reaches ---------------------------------------------------------------------


@contextmanager
def no_notes() -> Iterator[None]:
    """Notes and SQLAlchemy's warnings become errors: the check must reach every table."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", MigrationCheckNote)
        warnings.simplefilter("error", sa.exc.SAWarning)
        yield


def test_a_failing_upgrade_is_a_finding_and_later_losses_are_still_caught(
    history: History, empty_database_url: URL
) -> None:
    accounts_history(history)
    history.add('op.drop_table("no_such_table")', revision="bad0000000f1")
    history.add('op.execute("DELETE FROM accounts")', revision="bad0000000a2")
    findings = findings_of(lambda: check_data_survives(empty_database_url, history.config()))
    assert len(findings) == 2, findings
    assert findings[0].startswith("revision bad0000000f1 (bad0000000f1_test.py): upgrade fails: ")
    assert "\n" not in findings[0]
    assert findings[1].startswith(
        "revision bad0000000a2 (bad0000000a2_test.py): the upgrade lost data: accounts: 1 of 1 rows"
    )


def test_a_table_dropped_and_created_again_has_lost_nothing(
    history: History, empty_database_url: URL
) -> None:
    """The rows went with the table; the revision that creates it anew lost nothing."""
    accounts_history(history)
    history.add(*reversed(ACCOUNTS))
    history.add(*ACCOUNTS)
    check_data_survives(empty_database_url, history.config())


RUNS_AND_METRICS = """
op.create_table(
    "runs",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    sa.CheckConstraint(
        "lifecycle_stage IN ('active', 'deleted')", name="ck_runs_lifecycle_stage"
    ),
)
op.create_table(
    "metrics",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
)
op.create_table(
    "metric_tags",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("metric_id", sa.Integer, sa.ForeignKey("metrics.id"), nullable=False),
    sa.Column("tag", sa.String(20), nullable=False),
)
"""


def test_tables_under_a_parent_with_a_check_are_checked_too(
    history: History, empty_database_url: URL
) -> None:
    """The parent's CHECK is satisfied, so it gets a row, and so does every table under it."""
    history.add(RUNS_AND_METRICS)
    history.add(
        'op.execute("DELETE FROM metric_tags")\nop.execute("DELETE FROM metrics")',
        revision="bad0000000a3",
    )
    with no_notes():
        findings = findings_of(lambda: check_data_survives(empty_database_url, history.config()))
    assert findings == [
        "revision bad0000000a3 (bad0000000a3_test.py): the upgrade lost data: "
        "metrics: 1 of 1 rows gone or changed, e.g. {'run_id': 1, 'value': 1.5}, "
        "no row has its key; "
        "metric_tags: 1 of 1 rows gone or changed, e.g. {'metric_id': 1, 'tag': 'r1x'}, "
        "no row has its key"
    ]


CHECKED = """
op.create_table(
    "checked",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("stage", sa.String(10), nullable=False),
    sa.Column("code", sa.String(10), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("kind", sa.Enum("big", "small", name="checked_kind", create_constraint=True)),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("low", sa.Integer, nullable=False),
    sa.Column("price", sa.Numeric(10, 2), nullable=False),
    sa.Column("ratio", sa.Float, nullable=False),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("short", sa.String(40), nullable=False),
    sa.Column("starts_at", sa.DateTime, nullable=False),
    sa.Column("ends_at", sa.DateTime, nullable=False),
    sa.CheckConstraint("stage IN ('active', 'deleted')", name="ck_checked_stage"),
    sa.CheckConstraint("code = 'fixed'", name="ck_checked_code"),
    sa.CheckConstraint("level IN (10, 20, 30)", name="ck_checked_level"),
    sa.CheckConstraint("score BETWEEN 100 AND 200", name="ck_checked_score"),
    sa.CheckConstraint("low < -5", name="ck_checked_low"),
    sa.CheckConstraint("price >= 1000.5 AND price < 2000", name="ck_checked_price"),
    sa.CheckConstraint("0 < ratio AND ratio <= 0.25", name="ck_checked_ratio"),
    sa.CheckConstraint("{length}(name) >= 12", name="ck_checked_name"),
    sa.CheckConstraint("length(short) <= 2", name="ck_checked_short"),
    sa.CheckConstraint("name <> ''", name="ck_checked_name_not_empty"),
    sa.CheckConstraint("ends_at > starts_at", name="ck_checked_ends_after_start"),
)
"""


def test_rows_fit_the_common_forms_of_check_constraint(
    history: History, empty_database_url: URL
) -> None:
    """IN lists, =, comparisons either way round, BETWEEN, lengths, one column against
    another, an enum kept as a CHECK: as each backend reflects them."""
    length = "length" if empty_database_url.get_backend_name() == "sqlite" else "char_length"
    history.add(CHECKED.format(length=length))
    history.add('op.execute("DELETE FROM checked")', revision="bad0000000a4")
    with no_notes():
        [finding] = findings_of(lambda: check_data_survives(empty_database_url, history.config()))
    assert finding.startswith(
        "revision bad0000000a4 (bad0000000a4_test.py): the upgrade lost data: checked: 1 of 1 rows"
    )


# CHECK constraints as each backend reflects them, and what the value must then be.
REFLECTED_CHECKS = {
    "postgresql IN": (
        "lifecycle_stage::text = ANY (ARRAY['active'::character varying, "
        "'deleted'::character varying]::text[])",
        lambda row: row["lifecycle_stage"] in {"active", "deleted"},
    ),
    "postgresql 11 IN": (
        "((lifecycle_stage)::text = ANY ((ARRAY['active'::character varying, "
        "'deleted'::character varying])::text[]))",
        lambda row: row["lifecycle_stage"] in {"active", "deleted"},
    ),
    "postgresql BETWEEN": ("n >= 10 AND n <= 20", lambda row: 10 <= row["n"] <= 20),
    "postgresql quoted negative": ("n <= '-3'::integer", lambda row: row["n"] <= -3),
    "postgresql 11 cast": ("(price > (1000)::numeric)", lambda row: row["price"] > 1000),
    "postgresql length": ("char_length((name)::text) >= 12", lambda row: len(row["name"]) >= 12),
    "postgresql =": ("(name)::text = 'fixed'::text", lambda row: row["name"] == "fixed"),
    "mariadb IN": (
        "`lifecycle_stage` in ('active','deleted')",
        lambda row: row["lifecycle_stage"] in {"active", "deleted"},
    ),
    "mariadb BETWEEN": ("`n` between 10 and 20", lambda row: 10 <= row["n"] <= 20),
    "mariadb length": ("octet_length(`name`) <= 2", lambda row: len(row["name"]) <= 2),
    "mariadb OR": ("`n` = 5 or `n` is null", lambda row: row["n"] == 5),
    "sqlite flipped": ("0 < price AND price <= 0.25", lambda row: 0 < row["price"] <= 0.25),
    "sqlite columns": ("ends_at > starts_at", lambda row: row["ends_at"] > row["starts_at"]),
    "sqlite numbers IN": ("n IN (10, 12, 14)", lambda row: row["n"] in {10, 12, 14}),
}


@pytest.mark.no_database
@pytest.mark.parametrize(("check", "fits"), REFLECTED_CHECKS.values(), ids=REFLECTED_CHECKS)
def test_generated_values_fit_checks_as_each_backend_reflects_them(
    check: str, fits: Callable[[dict[str, object]], bool]
) -> None:
    table = sa.Table(
        "runs",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("lifecycle_stage", sa.String(32)),
        sa.Column("n", sa.Integer),
        sa.Column("price", sa.Numeric(10, 2)),
        sa.Column("name", sa.String(40)),
        sa.Column("starts_at", sa.DateTime),
        sa.Column("ends_at", sa.DateTime),
        sa.CheckConstraint(check),
    )
    assert fits(sample_row(table, 1, {}, set()))


CYCLE = """
op.create_table(
    "teams",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(20), nullable=False),
)
op.create_table(
    "players",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id"), nullable=False),
)
with op.batch_alter_table("teams") as batch_op:
    batch_op.add_column(sa.Column("captain_id", sa.Integer, nullable={nullable}))
    batch_op.create_foreign_key("fk_teams_captain_id_players", "players", ["captain_id"], ["id"])
"""


def test_two_tables_that_refer_to_each_other_are_both_checked(
    history: History, empty_database_url: URL
) -> None:
    """teams.captain_id (nullable) -> players, players.team_id -> teams: no SAWarning
    about the cycle, and a row in each, the nullable side filled in afterwards."""
    history.add(CYCLE.format(nullable=True))
    history.add(
        'op.execute("UPDATE teams SET captain_id = NULL")\nop.execute("DELETE FROM players")',
        revision="bad0000000a5",
    )
    with no_notes():
        [finding] = findings_of(lambda: check_data_survives(empty_database_url, history.config()))
    assert "players: 1 of 1 rows gone" in finding
    assert "teams: 1 of 1 rows gone or changed" in finding


def test_a_cycle_of_not_null_keys_is_named_in_the_note(
    history: History, empty_database_url: URL
) -> None:
    history.add(CYCLE.format(nullable=False))
    with pytest.warns(MigrationCheckNote) as notes:
        check_data_survives(empty_database_url, history.config())
    [note] = [str(n.message) for n in notes]
    assert note.startswith("data checked in 0 of 2 tables; not in: players (")
    assert "players and teams refer to each other through NOT NULL foreign keys" in note


ODD = """
op.create_table(
    "odd",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(10), nullable=False),
    sa.CheckConstraint("substr(code, 2, 1) = 'q'", name="ck_odd_code"),
)
op.create_table(
    "odd_children",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("odd_id", sa.Integer, sa.ForeignKey("odd.id"), nullable=False),
)
"""


def test_tables_no_generated_row_fits_are_one_note_not_a_crash(
    history: History, empty_database_url: URL
) -> None:
    """One note for the whole check, naming each table left out and why."""
    history.add(ODD)
    accounts_history(history)
    with pytest.warns(MigrationCheckNote) as notes:
        check_data_survives(empty_database_url, history.config())
    [note] = [str(n.message) for n in notes]
    assert note.startswith(
        "data checked in 1 of 3 tables, values in 3 of 3 of their columns; not in: odd ("
    )
    assert "odd_children (no row in odd to refer to)" in note
    assert "[data.rows] in accepted.toml" in note
    assert "\n" not in note


def test_rows_a_project_gives_fill_what_the_generator_cannot(
    history: History, empty_database_url: URL
) -> None:
    """[data.rows] in accepted.toml: partial rows, used at every revision whose table has
    those columns; fixing the parent fixes the tables under it."""
    history.add(ODD)
    history.add('op.add_column("odd", sa.Column("extra", sa.Integer, nullable=True))')
    history.add(
        'op.execute("DELETE FROM odd_children")\nop.execute("UPDATE odd SET extra = 7")',
        revision="bad0000000a6",
    )
    write_accepted(history, '[data.rows]\nodd = { code = "aqz" }\n')
    with no_notes():
        [finding] = findings_of(lambda: check_data_survives(empty_database_url, history.config()))
    assert "odd: 1 of 2 rows gone or changed, e.g. {'code': 'aqz', 'extra': 2}" in finding
    assert "odd_children: 1 of 1 rows gone" in finding


def test_given_rows_for_a_table_or_column_no_revision_has_are_caught(
    history: History, empty_database_url: URL
) -> None:
    accounts_history(history)
    write_accepted(history, '[data.rows]\naccount = { name = "x" }\naccounts = { nam = "y" }\n')
    assert findings_of(lambda: check_data_survives(empty_database_url, history.config())) == [
        "accepted.toml: [data.rows] account: no revision has this table",
        "accepted.toml: [data.rows] accounts.nam: no revision has this column",
    ]


def test_a_json_value_is_given_as_a_toml_table(history: History, empty_database_url: URL) -> None:
    """On MariaDB, where JSON is checked text, too."""
    history.add(
        """
        op.create_table(
            "docs",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("body", sa.JSON, nullable=False),
        )
        """
    )
    history.add('op.add_column("docs", sa.Column("extra", sa.Integer, nullable=True))')
    write_accepted(history, '[data.rows]\ndocs = { body = { kind = "given" } }\n')
    with no_notes():
        check_data_survives(empty_database_url, history.config())


def test_the_coverage_names_the_columns_whose_values_were_not_compared(
    history: History, empty_database_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON is only checked to be there (PostgreSQL's json has no =): said, not a note."""
    history.add(
        """
        op.create_table(
            "docs",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("title", sa.String(50), nullable=False),
            sa.Column("body", sa.JSON, nullable=False),
        )
        """
    )
    accounts_history(history)
    with no_notes():
        check_data_survives(empty_database_url, history.config())
    assert capsys.readouterr().out.splitlines()[-1] == (
        "data checked in 2 of 2 tables, values in 5 of 6 of their columns (not compared: docs.body)"
    )


def test_a_given_value_the_driver_refuses_is_a_note_not_a_crash(
    history: History, empty_database_url: URL
) -> None:
    accounts_history(history)
    write_accepted(history, "[data.rows]\naccounts = { name = { first = 1 } }\n")
    with pytest.warns(MigrationCheckNote, match=r"data checked in 0 of 1 tables; not in: accounts"):
        check_data_survives(empty_database_url, history.config())


def test_a_table_that_refers_to_itself_is_checked_when_the_key_is_nullable(
    history: History, empty_database_url: URL
) -> None:
    history.add(
        """
        op.create_table(
            "folders",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("parent_id", sa.Integer, sa.ForeignKey("folders.id"), nullable=True),
        )
        op.create_table(
            "chains",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("previous_id", sa.Integer, sa.ForeignKey("chains.id"), nullable=False),
        )
        """
    )
    with pytest.warns(MigrationCheckNote) as notes:
        check_data_survives(empty_database_url, history.config())
    assert [str(n.message) for n in notes] == [
        "data checked in 1 of 2 tables, values in 2 of 2 of their columns; not in: chains "
        "(refers to itself through a NOT NULL foreign key); "
        "values a table needs can be given under [data.rows] in accepted.toml"
    ]

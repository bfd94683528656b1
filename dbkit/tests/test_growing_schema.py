"""What a schema meets as it grows: tables that refer to each other on SQLite,
and enum columns written by autogenerate, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import URL, make_url, text

from dbkit.database import make_engine
from dbkit.safety_net.checks import (
    check_no_drift,
    check_stairway,
    connected,
    migrate,
    revisions_in_order,
)
from dbkit.testing import commands
from dbkit.testing.histories import History, new_history
from dbkit.tests.app_history import app_history

# Foreign keys while SQLite copies a table ------------------------------------------------


def write_users_and_posts(url: URL) -> None:
    with connected(url) as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, username, full_name) "
                "VALUES (1, 'ada', 'Ada'), (2, 'bob', NULL)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO posts (user_id, title, status, created_at) VALUES "
                "(1, 'first', 'draft', '2026-01-01 00:00:00'), "
                "(1, 'second', 'published', '2026-01-02 00:00:00'), "
                "(2, 'third', 'draft', '2026-01-03 00:00:00')"
            )
        )
        connection.commit()


def count(url: URL, table: str) -> int:
    with connected(url) as connection:
        return int(connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_copying_a_referenced_table_keeps_every_child_row(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """Widening users.full_name makes SQLite copy users; posts refers to it ON DELETE CASCADE."""
    history = app_history(tmp_path)
    revisions = revisions_in_order(history.config())
    posts_created = revisions[1]
    migrate(empty_database_url, history.config(), "upgrade", posts_created)
    write_users_and_posts(empty_database_url)

    result = commands.alembic_here("upgrade", "head", ini=history.ini, database=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert count(empty_database_url, "posts") == 3

    # Down two steps (the rename and the dropped column come back) and up again.
    for step in ("-2", "head"):
        action = "downgrade" if step.startswith("-") else "upgrade"
        result = commands.alembic_here(action, step, ini=history.ini, database=empty_database_url)
        assert result.returncode == 0, result.stderr
        assert count(empty_database_url, "posts") == 3
        assert count(empty_database_url, "users") == 2


def test_the_app_and_seed_keep_foreign_keys_on(tmp_path: Path, empty_database_url: URL) -> None:
    history = app_history(tmp_path)
    migrate(empty_database_url, history.config(), "upgrade", "head")
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
            connection.execute(
                text(
                    "INSERT INTO posts (user_id, headline, status, created_at) "
                    "VALUES (99, 'orphan', 'draft', '2026-01-01 00:00:00')"
                )
            )
    finally:
        engine.dispose()


@pytest.mark.backends("sqlite")
def test_a_revision_that_breaks_a_foreign_key_is_rolled_back_naming_it(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """With foreign keys off during migrations, PRAGMA foreign_key_check is what catches this."""
    history = app_history(tmp_path, revisions=2)
    before = history.head
    migrate(empty_database_url, history.config(), "upgrade", "head")
    write_users_and_posts(empty_database_url)
    breaking = history.add('op.execute("DELETE FROM users WHERE id = 1")', revision="0rphan000001")

    result = commands.alembic_here("upgrade", "head", ini=history.ini, database=empty_database_url)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"revision {breaking} ({history.file(breaking).name})" in last
    assert "2 rows of posts whose user_id matches no row of users" in last
    assert "rolled back" in last
    with connected(empty_database_url) as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == before
    assert count(empty_database_url, "users") == 2


# Enums, as autogenerate writes them --------------------------------------------------------


def autogenerate(history: History, url: URL, metadata: sa.MetaData, message: str) -> Path:
    """Autogenerate a revision from ``metadata`` against ``url`` at the history's head."""
    history.metadata = metadata
    migrate(url, history.config(), "upgrade", "head")
    with connected(url) as connection:
        config = history.config()
        config.attributes["connection"] = connection
        script = command.revision(config, message=message, autogenerate=True)
    assert script is not None
    assert not isinstance(script, list)
    return Path(script.path)


def source(path: Path) -> str:
    """A revision's text with one kind of quotes (ruff, when installed, rewrites them)."""
    return path.read_text().replace("'", '"')


def test_autogenerated_enum_columns_bring_their_types_and_take_them_away(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """On PostgreSQL an enum is a type of its own: downgrading a table or a column must drop
    it, or the next upgrade fails with "type ... already exists". Whichever backend the
    revisions are autogenerated on, they must run, and step down and up, on every one."""
    first = sa.MetaData()
    sa.Table(
        "tickets",
        first,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("state", sa.Enum("open", "closed", name="ticket_state"), nullable=False),
    )
    second = sa.MetaData()
    first.tables["tickets"].to_metadata(second).append_column(
        sa.Column("severity", sa.Enum("low", "high", name="ticket_severity"))
    )
    history = new_history(tmp_path)
    created = source(autogenerate(history, empty_database_url, first, "create tickets"))
    added = source(autogenerate(history, empty_database_url, second, "add severity"))

    assert 'sa.Enum(name="ticket_state").drop(op.get_bind(), checkfirst=True)' in created
    assert (
        'sa.Enum("low", "high", name="ticket_severity").create(op.get_bind(), checkfirst=True)'
        in added
    )
    assert 'sa.Enum(name="ticket_severity").drop(op.get_bind(), checkfirst=True)' in added

    migrate(empty_database_url, history.config(), "downgrade", "base")
    check_stairway(empty_database_url, history.config())
    check_no_drift(empty_database_url, history.config())


def test_autogenerate_does_not_drop_the_indexes_of_a_table_it_drops(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """DROP TABLE takes its indexes; dropping one first fails on MySQL if a foreign key needs it."""
    history = app_history(tmp_path, revisions=2)
    path = autogenerate(history, empty_database_url, sa.MetaData(), "drop everything")
    upgrade = source(path).split("def downgrade")[0]
    assert 'op.drop_table("posts")' in upgrade
    assert "drop_index" not in upgrade
    migrate(empty_database_url, history.config(), "upgrade", "head")
    migrate(empty_database_url, history.config(), "downgrade", "base")


# Revisions written by hand ----------------------------------------------------------------


@pytest.mark.no_database
def test_a_revision_written_by_hand_keeps_its_imports(tmp_path: Path) -> None:
    """`alembic revision -m` (the README's way to a rename) runs the post-write hooks too:
    ruff must not strip the `op` and `sa` the revision is about to be written with."""
    history = new_history(tmp_path, hooks=True)
    result = commands.alembic_here(
        "revision", "-m", "rename a column", ini=history.ini, database=make_url("sqlite://")
    )
    assert result.returncode == 0, result.stderr
    assert "Running post write hook 'ruff_fix'" in result.stdout + result.stderr
    [written] = history.versions.glob("*rename_a_column.py")
    text = written.read_text()
    assert "from alembic import op" in text
    assert "import sqlalchemy as sa" in text

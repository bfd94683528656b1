"""Indexes on tables the app is using: autogenerate writes online.create_index() and
online.drop_index() (dbkit/migrations/online.py), CONCURRENTLY on PostgreSQL, the
ordinary operation elsewhere; the same file runs on every backend."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import URL, inspect, make_url, text

from dbkit.database import make_engine
from dbkit.lint import lint_file
from dbkit.safety_net.checks import check_offline_sql, connected, migrate
from dbkit.testing.histories import History, new_history

POSTS = """
op.create_table(
    "posts",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
)
"""


def posts_metadata() -> tuple[sa.MetaData, sa.Table]:
    metadata = sa.MetaData()
    posts = sa.Table(
        "posts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(100), nullable=False),
    )
    return metadata, posts


def autogenerate(history: History, url: URL, message: str) -> str:
    """The text of the revision autogenerate writes against ``url`` (at head)."""
    before = set(history.versions.glob("*.py"))
    with connected(url) as connection:
        config = history.config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
    [written] = set(history.versions.glob("*.py")) - before
    return written.read_text()


def run_sql(url: URL, *statements: str) -> None:
    """What the app (or whoever fixes the rows) does between two runs: committed."""
    with connected(url) as connection:
        for statement in statements:
            connection.execute(text(statement))
        connection.commit()


def indexes(url: URL) -> set[str]:
    with connected(url) as connection:
        return {str(index["name"]) for index in inspect(connection).get_indexes("posts")}


def test_an_index_on_a_table_in_use_is_created_and_dropped_online(
    tmp_path: Path, empty_database_url: URL
) -> None:
    metadata, posts = posts_metadata()
    history = new_history(tmp_path, metadata)
    history.add(POSTS, 'op.drop_table("posts")')
    migrate(empty_database_url, history.config(), "upgrade", "head")

    sa.Index("ix_posts_title", posts.c.title)
    revision = autogenerate(history, empty_database_url, "index titles")
    assert "from dbkit.migrations import online" in revision
    assert "online.create_index('ix_posts_title', 'posts', ['title']" in revision
    assert "online.drop_index('ix_posts_title', table_name='posts')" in revision
    assert "batch_op.create_index" not in revision
    [written] = sorted(history.versions.glob("*index_titles.py"))
    assert lint_file(written) == []

    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")
    assert "ix_posts_title" in indexes(empty_database_url)
    migrate(empty_database_url, config, "downgrade", "-1")
    assert "ix_posts_title" not in indexes(empty_database_url)
    migrate(empty_database_url, config, "upgrade", "head")

    postgresql = check_offline_sql(history.ini, make_url("postgresql+psycopg://x@db.invalid/x"))
    assert postgresql is not None
    assert "CREATE INDEX CONCURRENTLY ix_posts_title ON posts (title)" in postgresql
    mysql = check_offline_sql(history.ini, make_url("mysql+pymysql://x@db.invalid/x"))
    assert mysql is not None
    online_index = (
        "ALTER TABLE posts ADD INDEX ix_posts_title (title), ALGORITHM=INPLACE, LOCK=NONE"
    )
    assert online_index in mysql


def test_an_index_on_a_table_the_revision_creates_is_created_with_it(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """Nobody uses a table yet in the revision that creates it: no autocommit block."""
    metadata, posts = posts_metadata()
    sa.Index("ix_posts_title", posts.c.title)
    history = new_history(tmp_path, metadata)
    revision = autogenerate(history, empty_database_url, "posts")
    assert "online." not in revision
    assert "create_index(" in revision


def test_online_steps_after_other_work_are_a_revision_of_their_own_that_runs_again(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """An online step commits on its own, and so would commit the work before it in
    its revision: autogenerate writes such steps as a second revision. When the step
    fails (duplicate titles here), the first revision stays applied, and once the
    rows are fixed the second simply runs again."""
    metadata, posts = posts_metadata()
    history = new_history(tmp_path, metadata)
    history.add(POSTS, 'op.drop_table("posts")')
    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")
    run_sql(empty_database_url, "INSERT INTO posts (title) VALUES ('Same'), ('Same')")

    posts.append_column(sa.Column("subtitle", sa.String(100)))
    posts.append_constraint(sa.UniqueConstraint("title", name="uq_posts_title"))
    before = set(history.versions.glob("*.py"))
    with connected(empty_database_url) as connection:
        config.attributes["connection"] = connection
        command.revision(config, message="subtitles", autogenerate=True)
        del config.attributes["connection"]
    [work] = [
        path for path in set(history.versions.glob("*.py")) - before if "online" not in path.name
    ]
    [steps] = [path for path in set(history.versions.glob("*.py")) - before if path != work]
    assert "op.add_column" in work.read_text()
    assert "online." not in work.read_text()
    assert (
        "online.create_unique_constraint('uq_posts_title', 'posts', ['title'])" in steps.read_text()
    )
    assert "add_column" not in steps.read_text()
    assert lint_file(work) == []
    assert lint_file(steps) == []
    revisions = ScriptDirectory.from_config(config)
    head = revisions.get_revision("head")
    assert head is not None
    assert Path(head.path) == steps
    follows = revisions.get_revision(head.down_revision)  # type: ignore[arg-type]
    assert follows is not None
    assert Path(follows.path) == work

    with pytest.raises(sa.exc.IntegrityError):
        migrate(empty_database_url, config, "upgrade", "head")
    with connected(empty_database_url) as connection:
        columns = [c["name"] for c in inspect(connection).get_columns("posts")]
        assert "subtitle" in columns  # the first revision stays
        connection.execute(text("UPDATE posts SET title = 'Other' WHERE id = 2"))
        connection.commit()
    migrate(empty_database_url, config, "upgrade", "head")
    migrate(empty_database_url, config, "downgrade", "-2")
    migrate(empty_database_url, config, "upgrade", "head")


@pytest.mark.backends("postgresql")
def test_an_invalid_index_left_by_a_failed_build_is_built_again(
    history: History, empty_database_url: URL
) -> None:
    """A unique index whose concurrent build met a duplicate is left INVALID; once the
    duplicate is gone, running the revision again drops it and builds it anew."""
    history.add(POSTS, 'op.drop_table("posts")')
    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")
    run_sql(empty_database_url, "INSERT INTO posts (title) VALUES ('Same'), ('Same')")
    history.add(
        """
        from dbkit.migrations import online
        online.create_index("uq_posts_title", "posts", ["title"], unique=True)
        """,
        """
        from dbkit.migrations import online
        online.drop_index("uq_posts_title", table_name="posts")
        """,
    )
    with pytest.raises(sa.exc.IntegrityError):
        migrate(empty_database_url, config, "upgrade", "head")

    def valid() -> bool | None:
        with connected(empty_database_url) as connection:
            found = connection.execute(
                text(
                    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c "
                    "ON c.oid = i.indexrelid WHERE c.relname = 'uq_posts_title'"
                )
            ).scalar()
            return None if found is None else bool(found)

    assert valid() is False  # left behind, slowing every write
    run_sql(empty_database_url, "DELETE FROM posts WHERE id = (SELECT max(id) FROM posts)")
    migrate(empty_database_url, config, "upgrade", "head")
    assert valid() is True


def test_an_index_built_before_a_later_step_failed_is_kept_when_the_revision_runs_again(
    history: History, empty_database_url: URL
) -> None:
    """The index is built (and committed, on PostgreSQL and MySQL/MariaDB) before the
    unique constraint meets a duplicate; once it is gone, the revision runs again and
    finds the index there."""
    history.add(POSTS, 'op.drop_table("posts")')
    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")
    run_sql(empty_database_url, "INSERT INTO posts (title) VALUES ('Same'), ('Same')")
    history.add(
        """
        from dbkit.migrations import online
        online.create_index("ix_posts_title", "posts", ["title"])
        online.create_unique_constraint("uq_posts_id_title", "posts", ["title"])
        """
    )
    with pytest.raises(sa.exc.IntegrityError):
        migrate(empty_database_url, config, "upgrade", "head")
    run_sql(empty_database_url, "DELETE FROM posts WHERE id = 2")
    migrate(empty_database_url, config, "upgrade", "head")
    assert "ix_posts_title" in indexes(empty_database_url)


AUTHORS_AND_POSTS = """
op.create_table("authors", sa.Column("id", sa.Integer, primary_key=True))
op.create_table(
    "posts",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("author_id", sa.Integer, nullable=True),
)
"""


def authors_and_posts(metadata: sa.MetaData) -> sa.Table:
    sa.Table("authors", metadata, sa.Column("id", sa.Integer, primary_key=True))
    return sa.Table(
        "posts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("author_id", sa.Integer, nullable=True),
    )


def test_a_foreign_key_on_a_table_in_use_is_added_online(
    tmp_path: Path, empty_database_url: URL
) -> None:
    metadata = sa.MetaData()
    posts = authors_and_posts(metadata)
    history = new_history(tmp_path, metadata)
    history.add(AUTHORS_AND_POSTS, 'op.drop_table("posts")\nop.drop_table("authors")')
    migrate(empty_database_url, history.config(), "upgrade", "head")

    posts.append_constraint(
        sa.ForeignKeyConstraint(["author_id"], ["authors.id"], name="fk_posts_author_id_authors")
    )
    revision = autogenerate(history, empty_database_url, "posts by authors")
    assert "online.create_foreign_key('fk_posts_author_id_authors', 'posts', 'authors'" in revision
    [written] = sorted(history.versions.glob("*posts_by_authors.py"))
    assert lint_file(written) == []

    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")

    def keys() -> list[str | None]:
        with connected(empty_database_url) as connection:
            return [key["name"] for key in inspect(connection).get_foreign_keys("posts")]

    assert keys() == ["fk_posts_author_id_authors"]
    migrate(empty_database_url, config, "downgrade", "-1")
    assert keys() == []
    # Nor the index MySQL/MariaDB made for the key: the downgrade undoes the upgrade.
    assert indexes(empty_database_url) == set()
    migrate(empty_database_url, config, "upgrade", "head")

    postgresql = check_offline_sql(history.ini, make_url("postgresql+psycopg://x@db.invalid/x"))
    assert postgresql is not None
    assert "NOT VALID" in postgresql
    assert "ALTER TABLE posts VALIDATE CONSTRAINT fk_posts_author_id_authors" in postgresql


def test_a_foreign_key_and_the_index_it_uses_are_dropped_key_first(
    tmp_path: Path, empty_database_url: URL
) -> None:
    """Index drops come first of all in a revision, but MySQL/MariaDB refuse to drop an
    index a foreign key needs: the keys of the table go before it, and find their work
    done when run again. Here in the downgrade of a key added with its index."""
    metadata = sa.MetaData()
    posts = authors_and_posts(metadata)
    history = new_history(tmp_path, metadata)
    history.add(AUTHORS_AND_POSTS, 'op.drop_table("posts")\nop.drop_table("authors")')
    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")
    posts.append_constraint(
        sa.ForeignKeyConstraint(["author_id"], ["authors.id"], name="fk_posts_author_id_authors")
    )
    sa.Index("ix_posts_author_id", posts.c.author_id)
    revision = autogenerate(history, empty_database_url, "posts by authors")
    downgrade = revision[revision.index("def downgrade") :]
    assert downgrade.index("drop_constraint('fk_posts_author_id_authors'") < downgrade.index(
        "online.drop_index('ix_posts_author_id'"
    )
    migrate(empty_database_url, config, "upgrade", "head")
    migrate(empty_database_url, config, "downgrade", "-1")
    with connected(empty_database_url) as connection:
        found = inspect(connection)
        assert found.get_foreign_keys("posts") == []
        assert "ix_posts_author_id" not in {index["name"] for index in found.get_indexes("posts")}
    migrate(empty_database_url, config, "upgrade", "head")


def test_a_foreign_key_dropped_before_a_later_step_failed_is_found_gone_when_run_again(
    history: History, empty_database_url: URL
) -> None:
    """The key and the index are dropped (and committed, on PostgreSQL and
    MySQL/MariaDB) before the unique constraint meets a duplicate; once it is gone,
    the revision runs again and finds the key dropped already."""
    history.add(
        """
        op.create_table("authors", sa.Column("id", sa.Integer, primary_key=True))
        op.create_table(
            "posts",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id", name="fk_posts_author")),
            sa.Column("title", sa.String(100)),
        )
        op.create_index("ix_posts_author_id", "posts", ["author_id"])
        op.execute("INSERT INTO posts (title) VALUES ('Same'), ('Same')")
        """
    )
    history.add(
        """
        from dbkit.migrations import online
        online.drop_constraint("fk_posts_author", "posts", type_="foreignkey")
        online.drop_index("ix_posts_author_id", table_name="posts")
        online.create_unique_constraint("uq_posts_title", "posts", ["title"])
        """
    )
    config = history.config()
    with pytest.raises(sa.exc.IntegrityError):
        migrate(empty_database_url, config, "upgrade", "head")
    run_sql(empty_database_url, "DELETE FROM posts WHERE id = 2")
    migrate(empty_database_url, config, "upgrade", "head")
    with connected(empty_database_url) as connection:
        assert inspect(connection).get_foreign_keys("posts") == []


@pytest.mark.backends("postgresql")
def test_a_foreign_key_left_not_valid_is_validated_when_the_revision_runs_again(
    history: History, empty_database_url: URL
) -> None:
    """A row that refers to nothing fails the validation; the key stays NOT VALID (new
    rows are checked already); once the row is fixed, the revision runs again."""
    history.add(AUTHORS_AND_POSTS)
    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")
    run_sql(empty_database_url, "INSERT INTO posts (author_id) VALUES (42)")
    history.add(
        """
        from dbkit.migrations import online
        online.create_foreign_key(
            "fk_posts_author_id_authors", "posts", "authors", ["author_id"], ["id"]
        )
        """
    )
    with pytest.raises(sa.exc.IntegrityError):
        migrate(empty_database_url, config, "upgrade", "head")

    def validated() -> bool | None:
        with connected(empty_database_url) as connection:
            found = connection.execute(
                text("SELECT convalidated FROM pg_constraint WHERE conname = :name"),
                {"name": "fk_posts_author_id_authors"},
            ).scalar()
            return None if found is None else bool(found)

    assert validated() is False
    run_sql(empty_database_url, "UPDATE posts SET author_id = NULL")
    migrate(empty_database_url, config, "upgrade", "head")
    assert validated() is True


@pytest.mark.backends("mysql")
def test_a_foreign_key_over_a_row_that_refers_to_nothing_is_not_added_on_mysql(
    history: History, empty_database_url: URL
) -> None:
    """MySQL/MariaDB add the key unchecked (in place, writes go on), then look the rows
    up: one that refers to nothing fails the revision in one line, and the key and the
    index it brought are gone again; once the row is fixed, the revision runs again."""
    history.add(AUTHORS_AND_POSTS)
    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")
    run_sql(
        empty_database_url,
        "INSERT INTO authors (id) VALUES (1)",
        "INSERT INTO posts (author_id) VALUES (1), (NULL), (42)",
    )
    history.add(
        """
        from dbkit.migrations import online
        online.create_foreign_key(
            "fk_posts_author_id_authors", "posts", "authors", ["author_id"], ["id"],
            ondelete="CASCADE",
        )
        """
    )
    with pytest.raises(CommandError) as failed:
        migrate(empty_database_url, config, "upgrade", "head")
    assert str(failed.value) == (
        "foreign key fk_posts_author_id_authors: a row of posts (author_id=42) refers to no "
        "row of authors; the key was not added: fix the rows and run the revision again"
    )

    def keys_and_indexes() -> tuple[list[str | None], list[str | None]]:
        with connected(empty_database_url) as connection:
            found = inspect(connection)
            return (
                [key["name"] for key in found.get_foreign_keys("posts")],
                [index["name"] for index in found.get_indexes("posts")],
            )

    assert keys_and_indexes() == ([], [])
    run_sql(empty_database_url, "DELETE FROM posts WHERE author_id = 42")
    migrate(empty_database_url, config, "upgrade", "head")
    assert keys_and_indexes() == (
        ["fk_posts_author_id_authors"],
        ["fk_posts_author_id_authors"],
    )
    with connected(empty_database_url) as connection:
        with pytest.raises(sa.exc.IntegrityError):  # checked from now on
            connection.execute(text("INSERT INTO posts (author_id) VALUES (7)"))
        connection.rollback()
        connection.execute(text("DELETE FROM authors"))  # and it cascades
        assert connection.execute(text("SELECT count(*) FROM posts")).scalar() == 1
        connection.commit()


@pytest.mark.backends("mysql")
def test_a_foreign_key_added_by_a_killed_run_is_checked_and_taken_out_with_its_index(
    history: History, empty_database_url: URL
) -> None:
    """A run killed between adding the key and looking the rows up leaves the key (and
    the index the server made for it): the next run looks the rows up, and on a row
    that refers to nothing takes both out, as it would have."""
    history.add(AUTHORS_AND_POSTS)
    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")
    with connected(empty_database_url) as connection:
        connection.execute(text("INSERT INTO posts (author_id) VALUES (42)"))
        connection.execute(text("SET SESSION foreign_key_checks = 0"))
        connection.execute(  # what the killed run had done
            text(
                "ALTER TABLE posts ADD CONSTRAINT fk_posts_author_id_authors "
                "FOREIGN KEY (author_id) REFERENCES authors (id)"
            )
        )
        connection.commit()
    history.add(
        """
        from dbkit.migrations import online
        online.create_foreign_key(
            "fk_posts_author_id_authors", "posts", "authors", ["author_id"], ["id"]
        )
        """
    )
    with pytest.raises(CommandError, match=r"a row of posts \(author_id=42\) refers to no"):
        migrate(empty_database_url, config, "upgrade", "head")
    with connected(empty_database_url) as connection:
        found = inspect(connection)
        assert [key["name"] for key in found.get_foreign_keys("posts")] == []
        assert [index["name"] for index in found.get_indexes("posts")] == []


@pytest.mark.backends("mysql")
def test_a_foreign_key_from_a_table_to_itself_is_checked_on_mysql(
    history: History, empty_database_url: URL
) -> None:
    history.add(
        """
        op.create_table(
            "categories",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("parent_id", sa.Integer, nullable=True),
        )
        op.execute("INSERT INTO categories (id, parent_id) VALUES (1, NULL), (2, 1), (3, 9)")
        """
    )
    history.add(
        """
        from dbkit.migrations import online
        online.create_foreign_key(
            "fk_categories_parent_id_categories", "categories", "categories",
            ["parent_id"], ["id"],
        )
        """
    )
    config = history.config()
    with pytest.raises(CommandError, match=r"a row of categories \(parent_id=9\) refers to no"):
        migrate(empty_database_url, config, "upgrade", "head")
    run_sql(empty_database_url, "UPDATE categories SET parent_id = 2 WHERE id = 3")
    migrate(empty_database_url, config, "upgrade", "head")
    with connected(empty_database_url) as connection:
        [key] = inspect(connection).get_foreign_keys("categories")
    assert key["name"] == "fk_categories_parent_id_categories"


def test_not_null_and_a_unique_constraint_on_a_table_in_use_are_added_online(
    tmp_path: Path, empty_database_url: URL
) -> None:
    metadata, posts = posts_metadata()
    history = new_history(tmp_path, metadata)
    history.add(
        """
        op.create_table(
            "posts",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("title", sa.String(100), nullable=True),
        )
        op.execute("INSERT INTO posts (title) VALUES ('a'), ('b')")
        """,
        'op.drop_table("posts")',
    )
    migrate(empty_database_url, history.config(), "upgrade", "head")
    posts.append_constraint(sa.UniqueConstraint("title", name="uq_posts_title"))
    revision = autogenerate(history, empty_database_url, "titles required and unique")
    assert "online.alter_column('posts', 'title'" in revision
    assert "online.create_unique_constraint('uq_posts_title', 'posts', ['title'])" in revision
    [written] = sorted(history.versions.glob("*titles_required_and_unique.py"))
    assert lint_file(written) == []

    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")
    with connected(empty_database_url) as connection:
        inspector = inspect(connection)
        [title] = [c for c in inspector.get_columns("posts") if c["name"] == "title"]
        assert title["nullable"] is False
        unique = inspector.get_unique_constraints("posts")
        assert [u["name"] for u in unique] == ["uq_posts_title"]
        assert "posts_title_not_null" not in {
            c["name"] for c in inspector.get_check_constraints("posts")
        }
    migrate(empty_database_url, config, "downgrade", "-1")
    migrate(empty_database_url, config, "upgrade", "head")

    postgresql = check_offline_sql(history.ini, make_url("postgresql+psycopg://x@db.invalid/x"))
    assert postgresql is not None
    assert "CHECK (title IS NOT NULL) NOT VALID" in postgresql
    assert "CREATE UNIQUE INDEX CONCURRENTLY uq_posts_title ON posts (title)" in postgresql
    assert "ADD CONSTRAINT uq_posts_title UNIQUE USING INDEX uq_posts_title" in postgresql
    mysql = check_offline_sql(history.ini, make_url("mysql+pymysql://x@db.invalid/x"))
    assert mysql is not None
    assert "ADD UNIQUE INDEX uq_posts_title (title), ALGORITHM=INPLACE, LOCK=NONE" in mysql


@pytest.mark.backends("postgresql")
def test_not_null_left_half_done_by_a_null_is_finished_when_the_revision_runs_again(
    history: History, empty_database_url: URL
) -> None:
    history.add(
        """
        op.create_table("posts", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("title", sa.String(100)))
        op.execute("INSERT INTO posts (title) VALUES (NULL)")
        """
    )
    history.add(
        """
        from dbkit.migrations import online
        online.alter_column("posts", "title", existing_type=sa.String(100), nullable=False)
        """
    )
    config = history.config()
    with pytest.raises(sa.exc.IntegrityError):
        migrate(empty_database_url, config, "upgrade", "head")
    run_sql(empty_database_url, "UPDATE posts SET title = 'filled'")
    migrate(empty_database_url, config, "upgrade", "head")
    with connected(empty_database_url) as connection:
        [title] = [c for c in inspect(connection).get_columns("posts") if c["name"] == "title"]
        assert title["nullable"] is False


# A rename by expand and contract, with both app versions writing -------------------------

PEOPLE = """
op.create_table(
    "people",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("full_name", sa.String(100)),
)
op.execute("INSERT INTO people (full_name) VALUES ('before 1'), ('before 2')")
"""
EXPAND = """
from dbkit.migrations import online
online.expand_rename_column("people", "full_name", "display_name", sa.String(100))
"""
EXPAND_DOWN = """
from dbkit.migrations import online
online.drop_sync("people", "full_name", "display_name")
with op.batch_alter_table("people") as batch_op:
    batch_op.drop_column("display_name")
"""
CONTRACT = """
from dbkit.migrations import online
online.contract_rename_column("people", "full_name", "display_name")
"""


Value = Callable[[int], object]


def both_versions_write(url: URL, old: tuple[str, Value], new: tuple[str, Value]) -> None:
    """The old app version and the new one, at the same time, each inserting rows and
    changing some it inserted, through its own column of ``people``."""
    engine = make_engine(url)
    with engine.connect() as connection:
        types = {c["name"]: c["type"] for c in inspect(connection).get_columns("people")}

    def app(column: str, value: Value) -> None:
        # The table as this app version knows it: one of the two columns.
        people = sa.Table(
            "people",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column(column, types[column]),
        )
        for n in range(WRITES):
            with engine.begin() as connection:
                inserted = connection.execute(sa.insert(people).values({column: value(n)}))
                if n % 2:  # and change one it wrote, through its own column
                    key = inserted.inserted_primary_key
                    assert key is not None
                    connection.execute(
                        sa.update(people)
                        .where(people.c.id == key[0])
                        .values({column: value(n + 1_000)})
                    )

    try:
        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(app, *old), pool.submit(app, *new)]:
                future.result()
    finally:
        engine.dispose()


WRITES = 40


def test_a_rename_by_expand_and_contract_loses_no_write_of_either_version(
    history: History, empty_database_url: URL
) -> None:
    """Between expand and contract, the old version writes full_name and the new one
    display_name, at the same time: every row ends with both, whoever wrote it."""
    history.add(PEOPLE, 'op.drop_table("people")')
    expand = history.add(EXPAND, EXPAND_DOWN)
    config = history.config()
    migrate(empty_database_url, config, "upgrade", expand)
    both_versions_write(
        empty_database_url,
        ("full_name", lambda n: f"old {n}"),
        ("display_name", lambda n: f"new {n}"),
    )
    with connected(empty_database_url) as connection:
        rows = connection.execute(text("SELECT full_name, display_name FROM people")).all()
    assert len(rows) == 2 + 2 * WRITES
    assert all(full_name == display_name for full_name, display_name in rows)
    names = {display_name for _, display_name in rows}
    assert {"before 1", "old 1001", "new 1001", "old 0", "new 0"} <= names

    history.add(CONTRACT)
    migrate(empty_database_url, config, "upgrade", "head")
    with connected(empty_database_url) as connection:
        columns = [c["name"] for c in inspect(connection).get_columns("people")]
        assert columns == ["id", "display_name"]
        assert connection.execute(text("SELECT count(*) FROM people")).scalar() == 2 + 2 * WRITES
        connection.execute(text("INSERT INTO people (display_name) VALUES ('after')"))
    migrate(empty_database_url, config, "downgrade", expand)


def test_a_type_change_by_expand_and_contract_converts_the_writes_of_either_version(
    history: History, empty_database_url: URL
) -> None:
    """A type change is a move to a column of the new type: the rows there are
    converted by ``using``, and what either version writes meanwhile is converted to
    the other's column by the triggers."""
    history.add(
        """
        op.create_table(
            "people",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("age", sa.String(10)),
        )
        op.execute("INSERT INTO people (age) VALUES ('41'), (NULL)")
        """,
        'op.drop_table("people")',
    )
    history.add(
        """
        from dbkit.migrations import online
        online.expand_rename_column(
            "people", "age", "age_years", sa.Integer(), using="CAST(age AS INTEGER)"
        )
        """
    )
    config = history.config()
    migrate(empty_database_url, config, "upgrade", "head")
    both_versions_write(empty_database_url, ("age", str), ("age_years", lambda n: n))
    with connected(empty_database_url) as connection:
        rows = connection.execute(text("SELECT age, age_years FROM people")).all()
    assert len(rows) == 2 + 2 * WRITES
    assert all(
        (age, years) == (None, None) or (int(age), type(years)) == (years, int)
        for age, years in rows
    )
    assert {("41", 41), ("1001", 1001), ("0", 0)} <= {tuple(row) for row in rows}
    if empty_database_url.get_backend_name() != "sqlite":  # which stores it as it is
        with connected(empty_database_url) as connection, pytest.raises(sa.exc.DBAPIError):
            connection.execute(text("INSERT INTO people (age) VALUES ('forty')"))

    history.add(
        """
        from dbkit.migrations import online
        online.contract_rename_column("people", "age", "age_years")
        """
    )
    migrate(empty_database_url, config, "upgrade", "head")
    with connected(empty_database_url) as connection:
        columns = [c["name"] for c in inspect(connection).get_columns("people")]
    assert columns == ["id", "age_years"]

"""Two roles: migrations run as the schema's owner (MIGRATION_DATABASE_URL), the app and
the seed as a role that may only read and write rows (DATABASE_URL). The grants are
the ones the README gives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import URL, pool, text
from sqlalchemy.exc import DBAPIError

from dbkit.database import make_engine
from dbkit.testing import commands
from dbkit.testing.scratch import BACKEND, SERVER_URL

pytestmark = pytest.mark.backends("postgresql", "mysql")

POSTGRES_GRANTS = """
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO {owner};
GRANT USAGE ON SCHEMA public TO {app};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO {app};
"""
MYSQL_GRANTS = """
GRANT ALL ON {database}.* TO {owner};
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES ON {database}.* TO {app};
"""


@dataclass(frozen=True)
class Roles:
    owner: URL  # MIGRATION_DATABASE_URL
    app: URL  # DATABASE_URL


def run_script(url: URL, script: str) -> None:
    engine = make_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            for statement in script.split(";"):
                if statement.strip():
                    if BACKEND == "mysql":  # PyMySQL reads % as a placeholder
                        statement = statement.replace("%", "%%")
                    connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture
def roles(empty_database_url: URL) -> Iterator[Roles]:
    """An owner and an app role on the test's database, set up as the README says."""
    assert SERVER_URL is not None
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"owner_{suffix}", f"app_{suffix}"
    database = empty_database_url.database
    if BACKEND == "postgresql":
        create = (
            f"CREATE ROLE {owner} LOGIN PASSWORD 'owner-secret';"
            f"CREATE ROLE {app} LOGIN PASSWORD 'app-secret';"
            f'ALTER DATABASE "{database}" OWNER TO {owner}'
        )
        run_script(empty_database_url, create)
        run_script(empty_database_url, POSTGRES_GRANTS.format(owner=owner, app=app))
        # Ownership of the database and its objects goes back to the admin,
        # so that the roles can be dropped before the database is.
        drop = (
            f"REASSIGN OWNED BY {owner}, {app} TO CURRENT_USER;"
            f"DROP OWNED BY {owner}; DROP OWNED BY {app}"
        )
        drop_roles = f"DROP ROLE {owner}; DROP ROLE {app}"
    else:
        owner, app = f"'{owner}'@'%'", f"'{app}'@'%'"
        run_script(
            empty_database_url,
            f"CREATE USER {owner} IDENTIFIED BY 'owner-secret';"
            f"CREATE USER {app} IDENTIFIED BY 'app-secret';"
            + MYSQL_GRANTS.format(database=f"`{database}`", owner=owner, app=app),
        )
        drop, drop_roles = "", f"DROP USER {owner}; DROP USER {app}"
    try:
        yield Roles(
            owner=empty_database_url.set(
                username=owner.split("@")[0].strip("'"), password="owner-secret"
            ),
            app=empty_database_url.set(
                username=app.split("@")[0].strip("'"), password="app-secret"
            ),
        )
    finally:
        run_script(empty_database_url, drop)
        run_script(empty_database_url, drop_roles)


def test_migrations_run_as_the_owner_and_the_seed_as_the_app_role(roles: Roles) -> None:
    owner = roles.owner.render_as_string(hide_password=False)
    upgrade = commands.alembic_here(
        "upgrade", "head", database=roles.app, MIGRATION_DATABASE_URL=owner
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"Database: {roles.owner.render_as_string()}" in upgrade.stderr

    seeded = commands.seed_here(database=roles.app)
    assert seeded.returncode == 0, seeded.stderr
    assert "4 users inserted" in seeded.stdout
    again = commands.seed_here(database=roles.app)  # the path for rows already present
    assert again.returncode == 0, again.stderr
    assert "0 users inserted, 4 already present" in again.stdout


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE intruders (id integer)",
        "ALTER TABLE users ADD COLUMN nickname varchar(20)",
        "DROP TABLE users",
    ],
)
def test_the_app_role_cannot_change_the_schema(roles: Roles, statement: str) -> None:
    owner = roles.owner.render_as_string(hide_password=False)
    upgrade = commands.alembic_here(
        "upgrade", "head", database=roles.app, MIGRATION_DATABASE_URL=owner
    )
    assert upgrade.returncode == 0, upgrade.stderr
    engine = make_engine(roles.app, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            with pytest.raises(DBAPIError, match=r"(?i)denied|must be owner"):
                connection.exec_driver_sql(statement)
            connection.rollback()
            assert connection.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("direction", ["upgrade", "downgrade"])
def test_a_migration_the_role_may_not_run_is_one_line(roles: Roles, direction: str) -> None:
    """The app role given to alembic by mistake (a grant missed, or the wrong URL)."""
    owner = roles.owner.render_as_string(hide_password=False)
    if direction == "downgrade":
        upgraded = commands.alembic_here("upgrade", "head", database=roles.owner)
        assert upgraded.returncode == 0, upgraded.stderr
    target = "head" if direction == "upgrade" else "base"
    result = commands.alembic_here(
        direction, target, database=roles.owner,
        MIGRATION_DATABASE_URL=roles.app.render_as_string(hide_password=False),
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "the database refused: " in result.stderr.strip().splitlines()[-1]
    assert owner not in result.stderr


def test_a_seed_the_role_may_not_write_is_one_line(roles: Roles, empty_database_url: URL) -> None:
    """The README's grants with one missed: the app role may read users, not insert."""
    owner = roles.owner.render_as_string(hide_password=False)
    upgrade = commands.alembic_here(
        "upgrade", "head", database=roles.app, MIGRATION_DATABASE_URL=owner
    )
    assert upgrade.returncode == 0, upgrade.stderr
    database = roles.owner.database
    on = "users" if BACKEND == "postgresql" else f"`{database}`.*"
    app = roles.app.username if BACKEND == "postgresql" else f"'{roles.app.username}'@'%'"
    run_script(empty_database_url, f"REVOKE INSERT ON {on} FROM {app}")
    result = commands.seed_here(database=roles.app)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("seed.py: the database refused: ")
    assert last.endswith("nothing was written.")


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize("command", ["alembic downgrade", "seed"])
def test_a_read_only_database_is_one_line(empty_database_url: URL, command: str) -> None:
    """A standby, or a database set read-only, refuses the migration's and the seed's writes."""
    upgraded = commands.alembic_here("upgrade", "head", database=empty_database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    run_script(
        empty_database_url,
        f'ALTER DATABASE "{empty_database_url.database}" SET default_transaction_read_only = on',
    )
    if command == "seed":
        result = commands.seed_here(database=empty_database_url)
    else:
        result = commands.alembic_here("downgrade", "base", database=empty_database_url)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "the database refused: " in last
    assert "read-only" in last

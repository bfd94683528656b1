"""scripts/seed.py, both as functions and as the command users run."""

from pathlib import Path

from sqlalchemy import URL, func, select
from sqlalchemy.orm import Session

import seed
from models import Base, User
from models.database import make_engine
from tests import commands


def user_rows(url: URL) -> list[tuple[str, str]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(User.username, User.email).order_by(User.username))
        result = [(row.username, row.email) for row in rows]
    engine.dispose()
    return result


def test_sample_users_include_john_doe() -> None:
    users = seed.read_users(seed.SAMPLE_USERS)
    assert {"username": "john_doe", "email": "john@example.com", "full_name": "John Doe"} in users


def test_seed_users_inserts_then_skips(session: Session) -> None:
    users = seed.read_users(seed.SAMPLE_USERS)
    assert seed.seed_users(session, users) == seed.SeedResult(
        inserted=len(users), already_present=0
    )
    assert seed.seed_users(session, users) == seed.SeedResult(
        inserted=0, already_present=len(users)
    )
    assert session.scalar(select(func.count()).select_from(User)) == len(users)


def test_a_user_matching_on_email_only_is_skipped(session: Session) -> None:
    session.add(User(username="johnny", email="john@example.com"))
    session.flush()
    result = seed.seed_users(
        session, [{"username": "john_doe", "email": "john@example.com", "full_name": None}]
    )
    assert result == seed.SeedResult(inserted=0, already_present=1)


def test_command_seeds_once_and_is_idempotent(empty_database_url: URL) -> None:
    assert commands.alembic("upgrade", "head", database=empty_database_url).returncode == 0
    count = len(seed.read_users(seed.SAMPLE_USERS))

    first = commands.seed(database=empty_database_url)
    assert first.returncode == 0, first.stderr
    assert f"{count} users inserted, 0 already present" in first.stdout
    rows = user_rows(empty_database_url)
    assert ("john_doe", "john@example.com") in rows

    second = commands.seed(database=empty_database_url)
    assert second.returncode == 0, second.stderr
    assert f"0 users inserted, {count} already present" in second.stdout
    assert user_rows(empty_database_url) == rows


def test_command_on_an_unmigrated_database_says_what_to_run(empty_database_url: URL) -> None:
    result = commands.seed(database=empty_database_url)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], "one line, no traceback"
    assert "run: alembic upgrade head" in result.stderr


def test_command_on_a_schema_made_without_migrations_says_what_to_run(
    empty_database_url: URL,
) -> None:
    # create_all makes the tables but records no revision: not a migrated database.
    engine = make_engine(empty_database_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    result = commands.seed(database=empty_database_url)
    assert result.returncode == 1
    assert "run: alembic upgrade head" in result.stderr
    assert user_rows(empty_database_url) == []


def test_command_hides_the_password_and_explains_itself(tmp_path: Path) -> None:
    result = commands.seed("--help", database=URL.create("sqlite", database=str(tmp_path / "x.db")))
    assert result.returncode == 0
    assert "alembic upgrade head" in result.stdout
    assert "DATABASE_URL" in result.stdout

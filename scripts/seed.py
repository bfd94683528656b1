"""Insert the sample users into the configured database.

Run it after ``alembic upgrade head``. It is safe to run again: a user whose
username or email is already in the database is skipped, so a second run
inserts nothing. All users go in one transaction, so the database never holds
half a seed.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models import User
from models.database import (
    ConfigurationError,
    display_url,
    make_session_factory,
    run_with_connection,
)
from models.revisions import is_at_head

SAMPLE_USERS = Path(__file__).resolve().parent / "sample_users.csv"
USER_FIELDS = ("username", "email", "full_name")


@dataclass(frozen=True)
class SeedResult:
    inserted: int
    already_present: int


class NotMigratedError(Exception):
    """The database schema is missing or behind the code's migrations."""


def read_users(path: Path) -> list[dict[str, str | None]]:
    """The users in a CSV file with a ``username,email[,full_name]`` header."""
    with path.open(newline="", encoding="utf-8") as file:
        return [
            {field: (row.get(field) or None) for field in USER_FIELDS}
            for row in csv.DictReader(file)
        ]


def seed_users(session: Session, users: Iterable[dict[str, str | None]]) -> SeedResult:
    """Insert the users whose username and email are both new, in ``session``'s transaction."""
    users = list(users)
    usernames = {user["username"] for user in users}
    emails = {user["email"] for user in users}
    existing = session.execute(
        select(User.username, User.email).where(
            or_(User.username.in_(usernames), User.email.in_(emails))
        )
    ).all()
    taken_usernames = {row.username for row in existing}
    taken_emails = {row.email for row in existing}
    new_users = [
        user
        for user in users
        if user["username"] not in taken_usernames and user["email"] not in taken_emails
    ]
    if new_users:
        session.execute(insert(User), new_users)
    return SeedResult(inserted=len(new_users), already_present=len(users) - len(new_users))


def seed_connection(connection: Connection, users: list[dict[str, str | None]]) -> SeedResult:
    """Check that ``connection``'s database is migrated, then seed ``users`` in one transaction."""
    at_head = is_at_head(connection)
    connection.rollback()
    if not at_head:
        raise NotMigratedError(display_url(connection))
    with make_session_factory(connection).begin() as session:
        return seed_users(session, users)


def seed(url: str | None = None) -> SeedResult:
    """Seed the sample users into the configured database (or the one at ``url``)."""
    users = read_users(SAMPLE_USERS)
    return run_with_connection(lambda connection: seed_connection(connection, users), url)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="seed.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="The database is DATABASE_URL from the environment or .env "
        "(default: the SQLite file app.db in the project root).",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    parse_args(argv)
    try:
        result = seed()
    except NotMigratedError as error:
        print(
            f"seed.py: the database {error} is not at the latest migration; "
            "run: alembic upgrade head",
            file=sys.stderr,
        )
        return 1
    except ConfigurationError as error:
        print(f"seed.py: {error}", file=sys.stderr)
        return 2
    except OperationalError as error:
        print(f"seed.py: cannot use the database: {error.orig}", file=sys.stderr)
        return 1
    print(f"{result.inserted} users inserted, {result.already_present} already present.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

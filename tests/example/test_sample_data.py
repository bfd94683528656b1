"""The example's sample users (seeds/users.csv). Adapt when you change them."""

from sqlalchemy import URL, func, select

from dbkit.database import make_engine
from dbkit.testing import commands
from models import User

SAMPLE_COUNT = 4


def test_sample_users_go_in_once(migrated: URL) -> None:
    first = commands.seed_here(database=migrated)
    assert first.returncode == 0, first.stderr
    assert f"{SAMPLE_COUNT} users inserted, 0 already present" in first.stdout

    second = commands.seed_here(database=migrated)
    assert second.returncode == 0, second.stderr
    assert f"0 users inserted, {SAMPLE_COUNT} already present" in second.stdout

    engine = make_engine(migrated)
    try:
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(User)) == SAMPLE_COUNT
            john = connection.execute(
                select(User.email, User.full_name).where(User.username == "john_doe")
            ).one()
    finally:
        engine.dispose()
    assert tuple(john) == ("john@example.com", "John Doe")

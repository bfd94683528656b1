"""The example model, User: the constraints it promises are enforced by the
migrated schema. Adapt these tests when you change User (or remove them with it)."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Base, User


def test_users_constraints_are_named_by_the_convention() -> None:
    names = {constraint.name for constraint in Base.metadata.tables["users"].constraints}
    assert names == {"pk_users", "uq_users_username", "uq_users_email"}


def test_user_round_trips(session: Session) -> None:
    session.add(User(username="ada", email="ada@example.com", full_name="Ada Lovelace"))
    session.commit()
    user = session.scalars(select(User).where(User.username == "ada")).one()
    assert (user.email, user.full_name) == ("ada@example.com", "Ada Lovelace")


def test_created_at_is_filled_by_the_database(session: Session) -> None:
    user = User(username="grace", email="grace@example.com")
    session.add(user)
    session.flush()
    session.refresh(user)
    created = user.created_at
    if created.tzinfo is None:  # SQLite and MySQL store UTC without an offset
        created = created.replace(tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - created) < timedelta(minutes=5)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("sam", "sam@example.com"), ("sam", "other@example.com")),
        (("sam", "sam@example.com"), ("other", "sam@example.com")),
    ],
    ids=["duplicate-username", "duplicate-email"],
)
def test_duplicates_are_rejected(
    session: Session, first: tuple[str, str], second: tuple[str, str]
) -> None:
    session.add(User(username=first[0], email=first[1]))
    session.flush()
    session.add(User(username=second[0], email=second[1]))
    with pytest.raises(IntegrityError):
        session.flush()


def test_username_is_required(session: Session) -> None:
    session.add(User(email="nobody@example.com"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_the_rules_apply_to_the_applications_writes_too() -> None:
    """The seed checks rows with these same @validates rules (README, Seeding)."""
    user = User(username="Jose\u0301", email="Jo@Example.COM")
    assert (user.username, user.email) == ("Jos\u00e9", "Jo@example.com")
    with pytest.raises(ValueError, match="may contain only letters"):
        User(username="no spaces", email="a@example.com")
    with pytest.raises(ValueError, match="is not an email address"):
        User(username="ann", email="ann at example.com")

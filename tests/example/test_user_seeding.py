"""The seed on the example model, User: its rules (models/user.py) apply to every row
loaded. Adapt these tests when you change User (or remove them with it); the seed
command itself is tested on models of the tests' own (dbkit/tests/test_seed.py)."""

from pathlib import Path

import pytest
from sqlalchemy import URL, select

from dbkit.database import make_engine
from dbkit.testing import commands
from models import User


def usernames_and_emails(database: URL) -> list[tuple[str, str]]:
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(User.username, User.email).order_by(User.id))
            return [(row.username, row.email) for row in rows]
    finally:
        engine.dispose()


def test_names_of_any_script_are_stored_in_one_spelling(tmp_path: Path, migrated: URL) -> None:
    """Combining marks are letters' parts, and a name is stored composed (NFC), so that
    "José" typed as e + U+0301 is the same user as "José" typed as é."""
    decomposed = "Jose\u0301"
    path = tmp_path / "u.csv"
    path.write_text(
        f"username,email\nनमस्ते,namaste@example.com\nதமிழ்,tamil@example.com\n"
        f"{decomposed},jose@example.com\n",
        encoding="utf-8",
    )
    first = commands.seed_here("--file", str(path), database=migrated)
    assert first.returncode == 0, first.stderr
    assert [name for name, _ in usernames_and_emails(migrated)] == ["नमस्ते", "தமிழ்", "Jos\u00e9"]
    again = tmp_path / "again.csv"
    again.write_text("username,email\nJos\u00e9,jose@example.com\n", encoding="utf-8")
    second = commands.seed_here("--file", str(again), database=migrated)
    assert "0 users inserted, 1 already present" in second.stdout


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("bad name,a@example.com", "2: username: may contain only letters"),
        ("\u0301abc,m@example.com", "2: username: may contain only letters"),
        ("ann,not-an-email", "2: email: is not an email address"),
    ],
    ids=["space", "a mark first", "not an email"],
)
def test_a_user_that_breaks_a_rule_is_refused_at_its_line(
    tmp_path: Path, migrated: URL, row: str, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"username,email\n{row}\n", encoding="utf-8")
    result = commands.seed_here("--file", str(path), database=migrated)
    assert result.returncode == 2
    assert f"{path}:{expected}" in result.stderr
    assert usernames_and_emails(migrated) == []


def test_an_email_is_stored_with_its_domain_in_lower_case(tmp_path: Path, migrated: URL) -> None:
    path = tmp_path / "u.csv"
    path.write_text("username,email\nmixed,Mixed.Case@EXAMPLE.Com\n", encoding="utf-8")
    assert commands.seed_here("--file", str(path), database=migrated).returncode == 0
    assert usernames_and_emails(migrated) == [("mixed", "Mixed.Case@example.com")]

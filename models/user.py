"""The users table."""

import re
import unicodedata
from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column, validates

from models.base import Base

USERNAME_MAX_LENGTH = 50
# RFC 5321 caps a forward path at 256 octets including the angle brackets.
EMAIL_MAX_LENGTH = 254
FULL_NAME_MAX_LENGTH = 100

# Letters and digits of any script, and _ . - (the quick check; see
# _letters_and_marks() for the scripts whose letters take combining marks).
USERNAME = re.compile(r"[\w.-]+")
# local@domain: the local part as mail servers accept it (quotes and
# apostrophes included), a domain of dot-separated labels and a TLD.
EMAIL = re.compile(r"([^@\s]{1,64})@((?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63})")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH), unique=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(FULL_NAME_MAX_LENGTH))
    # current_timestamp() rather than now(): MariaDB reflects now() back as
    # current_timestamp(), which autogenerate would report as drift forever.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.current_timestamp()
    )

    # Rules a column type cannot express. The ORM applies them when an
    # attribute is set, and scripts/seed.py to every row it loads; each
    # returns the value to store or raises ValueError saying what is wrong.

    @validates("username")
    def _check_username(self, key: str, username: str) -> str:
        if not isinstance(username, str):
            return username  # None and the like: NOT NULL and the column type judge
        if not username.isascii():
            # One spelling per name: "José" typed as e + U+0301 (NFD, as
            # macOS file names have it) is stored as the one character é.
            username = unicodedata.normalize("NFC", username)
        if not (USERNAME.fullmatch(username) or _letters_and_marks(username)):
            raise ValueError("may contain only letters, digits, '_', '.' and '-'")
        return username

    @validates("email")
    def _check_email(self, key: str, email: str) -> str:
        if not isinstance(email, str):
            return email
        match = EMAIL.fullmatch(email)
        # The local part may hold almost anything, but not control
        # characters or terminal escapes.
        if match is None or not email.isprintable():
            raise ValueError("is not an email address")
        local, domain = match.groups()
        # The domain is case-insensitive; the local part is the mailbox's business.
        return email if domain.islower() else f"{local}@{domain.lower()}"

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r})"


def _letters_and_marks(username: str) -> bool:
    """Whether ``username`` is letters, digits and _ . -, with combining marks after a letter.

    Python's ``\\w`` leaves out combining marks, which Devanagari, Tamil or
    Thai cannot be written without (the vowel signs of "नमस्ते").
    """
    return (
        bool(username)
        and not unicodedata.category(username[0]).startswith("M")
        and all(
            char.isalnum() or char in "_.-" or unicodedata.category(char) in {"Mn", "Mc"}
            for char in username
        )
    )

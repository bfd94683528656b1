"""Checking users before they are written, and finding duplicates in the input."""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Iterable, Iterator

from models.user import EMAIL_MAX_LENGTH, FULL_NAME_MAX_LENGTH, USERNAME_MAX_LENGTH
from seeding.records import Problem, Record
from seeding.sources import RawRow

# Letters and digits of any script, and _ . - (the quick check; see
# _letters_and_marks() for the scripts whose letters take combining marks).
USERNAME = re.compile(r"[\w.-]+")
# local@domain: the local part as mail servers accept it (quotes and
# apostrophes included), a domain of dot-separated labels and a TLD.
EMAIL = re.compile(r"([^@\s]{1,64})@((?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63})")
SHOWN_PROBLEMS = 20


def _letters_and_marks(username: str) -> bool:
    """Whether ``username`` is letters, digits and _ . -, with combining marks after a letter.

    Python's ``\\w`` leaves out combining marks, which Devanagari, Tamil or
    Thai cannot be written without (the vowel signs of "नमस्ते").
    """
    return not unicodedata.category(username[0]).startswith("M") and all(
        char.isalnum() or char in "_.-" or unicodedata.category(char) in {"Mn", "Mc"}
        for char in username
    )


def _not_text(value: str) -> str:
    """Why a value that is not printable is wrong."""
    if any("\udc80" <= char <= "\udcff" for char in value):
        return "is not valid UTF-8"
    return "contains control characters"


class Validator:
    """Turns raw rows into records and collects what is wrong with them.

    Duplicates inside the input are found with 64-bit hashes of the
    case-folded username and email (MySQL compares them case-insensitively,
    so the check does too), kept in arrays: memory per row is the hashes and
    the line number, not the row. A hash collision (a chance of about 3 in
    100 million for a million rows) would be reported as a false duplicate.
    """

    def __init__(self, source: str, *, find_duplicates: bool = True) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.find_duplicates = find_duplicates
        self._lines = array("q")
        self._usernames = array("q")
        self._emails = array("q")

    def report(self, line: int, field: str, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < SHOWN_PROBLEMS:
            self.problems.append(Problem(self.source, line, field, message))

    def records(self, rows: Iterable[RawRow]) -> Iterator[Record]:
        """The valid records, in order. After the first problem it stops yielding
        (nothing more is worth writing) but keeps checking, to report them all."""
        # This loop runs once per row of files with millions of rows: the
        # common case (a valid row) is one expression over local names, and
        # only a row that fails it goes through check() to find out why.
        username_ok = USERNAME.fullmatch
        email_match = EMAIL.fullmatch
        add_line, add_username, add_email = (
            self._lines.append,
            self._usernames.append,
            self._emails.append,
        )
        find_duplicates = self.find_duplicates
        for line, username, email, full_name, error in rows:
            if full_name == "":
                full_name = None
            if type(username) is str and not username.isascii():
                # One spelling per name: "José" typed as e + U+0301 (NFD, as
                # macOS file names have it) is stored as the one character é.
                username = unicodedata.normalize("NFC", username)
            if (
                error is None
                and type(username) is str
                and 0 < len(username) <= USERNAME_MAX_LENGTH
                and (username_ok(username) or _letters_and_marks(username))
                and type(email) is str
                and len(email) <= EMAIL_MAX_LENGTH
                and (match := email_match(email))
                # The local part may hold almost anything, but not control
                # characters, terminal escapes or bytes that were not UTF-8.
                and email.isprintable()
                and (
                    full_name is None
                    or (
                        type(full_name) is str
                        and len(full_name) <= FULL_NAME_MAX_LENGTH
                        and full_name.isprintable()
                    )
                )
            ):
                domain = match[2]
                if not domain.islower():
                    # The domain is case-insensitive; the local part is the mailbox's business.
                    email = f"{match[1]}@{domain.lower()}"
            else:
                if error is not None:
                    self.report(line, "row", error)
                else:
                    self.explain(line, username, email, full_name)
                continue
            if find_duplicates:
                add_line(line)
                add_username(hash(username.casefold()))
                add_email(hash(email.casefold()))
            if not self.problem_count:
                yield (username, email, full_name)

    def explain(self, line: int, username: object, email: object, full_name: object) -> None:
        """Report what is wrong with a row that failed the check in :meth:`records`."""
        if username is None or username == "":
            self.report(line, "username", "is required")
        elif not isinstance(username, str):
            self.report(line, "username", "must be text")
        elif len(username) > USERNAME_MAX_LENGTH:
            self.report(line, "username", f"is longer than {USERNAME_MAX_LENGTH} characters")
        elif not (USERNAME.fullmatch(username) or _letters_and_marks(username)):
            self.report(
                line,
                "username",
                _not_text(username)
                if not username.isprintable()
                else "may contain only letters, digits, '_', '.' and '-'",
            )
        if email is None or email == "":
            self.report(line, "email", "is required")
        elif not isinstance(email, str):
            self.report(line, "email", "must be text")
        elif len(email) > EMAIL_MAX_LENGTH:
            self.report(line, "email", f"is longer than {EMAIL_MAX_LENGTH} characters")
        elif not email.isprintable():
            self.report(line, "email", _not_text(email))
        elif not EMAIL.fullmatch(email):
            self.report(line, "email", "is not an email address")
        if full_name is not None:
            if not isinstance(full_name, str):
                self.report(line, "full_name", "must be text")
            elif len(full_name) > FULL_NAME_MAX_LENGTH:
                self.report(line, "full_name", f"is longer than {FULL_NAME_MAX_LENGTH} characters")
            elif not full_name.isprintable():
                self.report(line, "full_name", _not_text(full_name))

    def check_duplicates(self) -> None:
        """Report every row whose username or email an earlier row already has."""
        for field, keys in (("username", self._usernames), ("email", self._emails)):
            if len(set(keys)) == len(keys):
                continue  # the usual case, settled without holding line numbers
            first_line: dict[int, int] = {}
            for key, line in zip(keys, self._lines, strict=True):
                earlier = first_line.setdefault(key, line)
                if earlier != line:
                    self.report(line, field, f"duplicates line {earlier}")

    @property
    def problems_sorted(self) -> list[Problem]:
        return sorted(self.problems, key=lambda problem: problem.line)

"""The shape of a user on its way into the database, and of a problem with one."""

from __future__ import annotations

from dataclasses import dataclass

# The columns a seed file may have, in the order records carry them.
FIELDS = ("username", "email", "full_name")
REQUIRED = frozenset({"username", "email"})

# (username, email, full_name): a tuple, because that is what the drivers'
# executemany and COPY take without conversion.
Record = tuple[str, str, str | None]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, printed as ``FILE:LINE: field: what is wrong``."""

    source: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.field}: {self.message}"


class SourceError(Exception):
    """The input cannot be read any further (not UTF-8, malformed, no header)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem

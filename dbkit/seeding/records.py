"""Problems with the input, as the seed reports them."""

from __future__ import annotations

from dataclasses import dataclass


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


class InvalidValue(ValueError):
    """A value that does not fit its column; the message completes "FIELD ..."."""

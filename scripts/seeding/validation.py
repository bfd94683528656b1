"""Checking raw rows against their fields, and collecting what is wrong with them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from seeding.columns import Field
from seeding.records import InvalidValue, Problem
from seeding.sources import RawRow

SHOWN_PROBLEMS = 20


class Checker:
    """Turns raw rows into rows of column values, and collects the problems of one input."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.problem_count = 0

    def report(self, line: int, field: str, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < SHOWN_PROBLEMS:
            self.problems.append(Problem(self.source, line, field, message))

    def rows(
        self, raw: Iterable[RawRow], fields: Sequence[Field]
    ) -> Iterator[tuple[int, list[Any]]]:
        """``(line, values)`` for each row whose values all fit their columns.

        A row that does not is reported (every field of it) and left out.
        """
        converters = [field.convert for field in fields]
        for line, values, error in raw:
            if values is None:
                self.report(line, "row", error or "cannot be read")
                continue
            try:
                # The common case, once per row of files with millions of rows.
                yield (
                    line,
                    [convert(value) for convert, value in zip(converters, values, strict=True)],
                )
            except InvalidValue:
                self.explain(line, values, fields)

    def explain(self, line: int, values: Sequence[Any], fields: Sequence[Field]) -> None:
        """Report every field of a row that failed in :meth:`rows`, by the same checks."""
        for field, value in zip(fields, values, strict=True):
            try:
                field.convert(value)
            except InvalidValue as error:
                self.report(line, field.heading, str(error))

    @property
    def problems_sorted(self) -> list[Problem]:
        return sorted(self.problems, key=lambda problem: problem.line)

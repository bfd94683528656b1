"""Checking raw rows against their fields, and collecting what is wrong with them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from dbkit.seeding.columns import Field
from dbkit.seeding.records import InvalidValue, Problem
from dbkit.seeding.sources import RawRow

SHOWN_PROBLEMS = 20
# Rows checked together, a column at a time.
CHUNK = 1024


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
        Rows are checked a chunk at a time, a column at a time (the common
        case, a chunk with no problem, costs least that way); a chunk with a
        problem is checked again row by row, to find and report each one.
        """
        iterator = iter(raw)
        while chunk := list(islice(iterator, CHUNK)):
            try:
                if any(values is None for _, values, _ in chunk):
                    raise InvalidValue("a row of the wrong shape")
                columns = zip(*(values for _, values, _ in chunk), strict=True)
                converted = [
                    field.convert_all(column) for field, column in zip(fields, columns, strict=True)
                ]
            except InvalidValue:
                yield from self._row_by_row(chunk, fields)
                continue
            lines = [line for line, _, _ in chunk]
            yield from zip(lines, map(list, zip(*converted, strict=True)), strict=True)

    def _row_by_row(
        self, chunk: Sequence[RawRow], fields: Sequence[Field]
    ) -> Iterator[tuple[int, list[Any]]]:
        converters = [field.convert for field in fields]
        for line, values, error in chunk:
            if values is None:
                self.report(line, "row", error or "cannot be read")
                continue
            try:
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

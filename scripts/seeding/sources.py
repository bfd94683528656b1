"""Reading users from CSV and JSON, one row at a time.

Both readers yield raw rows, ``(line, username, email, full_name, error)``,
where ``line`` is where the row (or JSON object) starts and ``error`` says
what is wrong with the row's shape, if anything; checking the values is
validation's job. A problem that makes the rest of the input unreadable
raises :class:`SourceError` instead.

Files are decoded as UTF-8 with ``surrogateescape``, so that a byte that is
not UTF-8 reaches validation as a value it can point at by line, instead of
failing somewhere ahead of it in the stream.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from seeding.records import FIELDS, REQUIRED, Problem, SourceError

RawRow = tuple[int, Any, Any, Any, str | None]

JSON_CHUNK = 1 << 16
# Larger objects are not users; the limit keeps a malformed file from
# being read into memory whole while looking for the end of an object.
JSON_MAX_OBJECT = 1 << 20
# A CSV line longer than this (in characters) is not a user: without a bound,
# a file with no line breaks (/dev/zero, a binary file) would be read into
# memory whole while looking for the end of its first line.
CSV_MAX_LINE = 1 << 20
WHITESPACE = re.compile(r"[ \t\n\r]*")


def _header_problem(name: str, message: str) -> SourceError:
    return SourceError(Problem(name, 1, "header", message))


def _bounded_lines(text: TextIO, name: str) -> Iterator[str]:
    """The lines of ``text``, each at most CSV_MAX_LINE characters; a SourceError past that."""
    number = 0
    while line := text.readline(CSV_MAX_LINE + 1):
        number += 1
        if len(line) > CSV_MAX_LINE:
            raise SourceError(
                Problem(name, number, "csv", f"a line longer than {CSV_MAX_LINE:,} characters")
            )
        yield line


def read_csv(text: TextIO, name: str) -> Iterator[RawRow]:
    """Rows of a CSV file whose first line names its columns (``username,email[,full_name]``)."""
    reader = csv.reader(_bounded_lines(text, name), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise SourceError(Problem(name, 1, "csv", str(error))) from None
    if header is None:
        raise SourceError(Problem(name, 1, "file", "is empty; expected a header: username,email"))
    columns = [column.strip() for column in header]
    unknown = [column for column in columns if column not in FIELDS]
    if unknown:
        raise _header_problem(
            name, f"unknown column {unknown[0]!r}; the columns are {', '.join(FIELDS)}"
        )
    missing = sorted(REQUIRED - set(columns))
    if missing:
        raise _header_problem(name, f"missing column {missing[0]!r}")
    if len(set(columns)) != len(columns):
        raise _header_problem(name, "a column is named twice")

    username_at, email_at = columns.index("username"), columns.index("email")
    full_name_at = columns.index("full_name") if "full_name" in columns else None
    width = len(columns)
    previous = reader.line_num
    try:
        for fields in reader:
            start, previous = previous + 1, reader.line_num
            if not fields:
                continue  # a blank line
            if len(fields) != width:
                yield (start, None, None, None, f"has {len(fields)} fields; the header has {width}")
                continue
            yield (
                start,
                fields[username_at],
                fields[email_at],
                fields[full_name_at] if full_name_at is not None else None,
                None,
            )
    except csv.Error as error:
        raise SourceError(Problem(name, reader.line_num, "csv", str(error))) from None


class _JsonArray:
    """A streaming reader for a top-level JSON list of objects."""

    def __init__(self, text: TextIO, name: str) -> None:
        self.text = text
        self.name = name
        self.decoder = json.JSONDecoder()
        self.buffer = ""
        self.pos = 0
        self.eof = False
        # Lines are counted lazily: ``line`` is the line number at buffer
        # index ``counted``, which only ever moves forward.
        self.line = 1
        self.counted = 0

    def line_at(self, index: int) -> int:
        self.line += self.buffer.count("\n", self.counted, index)
        self.counted = index
        return self.line

    def fill(self) -> bool:
        """Read another chunk, dropping what was consumed; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.text.read(JSON_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.line_at(self.pos)
        self.buffer = self.buffer[self.pos :] + chunk
        self.counted -= self.pos
        self.pos = 0
        return True

    def next_char(self) -> str | None:
        """Skip whitespace; the next character (not consumed), or None at the end."""
        while True:
            match = WHITESPACE.match(self.buffer, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.fill():
                return None

    def fail(self, message: str, index: int | None = None) -> SourceError:
        line = self.line_at(self.pos if index is None else index)
        return SourceError(Problem(self.name, line, "json", message))

    def decode_value(self) -> Any:
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                if len(self.buffer) - self.pos < JSON_MAX_OBJECT and self.fill():
                    continue
                raise self.fail(error.msg, error.pos) from None
            except RecursionError:
                raise self.fail("values nested too deeply to be a user") from None
            except ValueError:  # Python refuses integers of more than 4,300 digits
                raise self.fail("a number too long to be read") from None
            if end == len(self.buffer) and not isinstance(value, (dict, list)) and self.fill():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value

    def rows(self) -> Iterator[RawRow]:
        first = self.next_char()
        if first is None:
            raise SourceError(Problem(self.name, 1, "file", "is empty; expected a JSON list"))
        if first != "[":
            raise self.fail("expected a list of objects, starting with '['")
        self.pos += 1
        expect_comma = False
        while True:
            char = self.next_char()
            if char is None:
                raise self.fail("the file ends before the list is closed with ']'")
            if char == "]":
                self.pos += 1
                break
            if expect_comma:
                if char != ",":
                    raise self.fail("expected ',' or ']' after an object")
                self.pos += 1
                if self.next_char() is None:
                    raise self.fail("the file ends before the list is closed with ']'")
            expect_comma = True
            line = self.line_at(self.pos)
            value = self.decode_value()
            if not isinstance(value, dict):
                yield (line, None, None, None, "expected an object with username and email")
                continue
            unknown = [key for key in value if key not in FIELDS]
            if unknown:
                yield (line, None, None, None, f"unknown field {unknown[0]!r}")
                continue
            yield (line, value.get("username"), value.get("email"), value.get("full_name"), None)
        if self.next_char() is not None:
            raise self.fail("unexpected data after the list")


def read_json(text: TextIO, name: str) -> Iterator[RawRow]:
    """Rows of a JSON file holding one list of objects (``{"username": ..., "email": ...}``)."""
    return _JsonArray(text, name).rows()

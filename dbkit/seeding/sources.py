"""Reading data files (CSV, a JSON list of objects, JSON Lines), one row at a time.

Each reader returns the file's headings (the CSV header, or the keys of the
first JSON object) and its raw rows, ``(line, values, error)``: ``line`` is
where the row (or JSON object) starts, ``values`` line up with the headings,
and ``error`` says what is wrong with the row's shape, if anything; checking
the values is the columns' job (seeding/columns.py). An empty CSV field is
NULL. A problem that makes the rest of the input unreadable raises
:class:`SourceError` instead.

Files are decoded as UTF-8 with ``surrogateescape``, so that a byte that is
not UTF-8 reaches the checks as a value they can point at by line, instead
of failing somewhere ahead of it in the stream.

A JSON list is read by a small streaming reader over the standard library's
decoder, because none of the streaming JSON libraries reports where in the
file a value is, and a problem must say its line.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple, TextIO

from dbkit.seeding.records import Problem, SourceError

RawRow = tuple[int, list[Any] | None, str | None]


class Read(NamedTuple):
    """What a reader gives: the headings (None when there are no rows), the line
    they are on, and the rows."""

    headings: list[str] | None
    line: int
    rows: Iterator[RawRow]


JSON_CHUNK = 1 << 16
# Larger objects are not rows; the limit keeps a malformed file from
# being read into memory whole while looking for the end of an object.
JSON_MAX_OBJECT = 1 << 26
# A CSV line longer than this (in characters) is not a row: without a bound,
# a file with no line breaks (/dev/zero, a binary file) would be read into
# memory whole while looking for the end of its first line.
CSV_MAX_LINE = 1 << 20
# How much is read at a time: a pipe's rows reach the checks (and the
# progress bar) as they come, a chunk at a time, not only once a whole
# CSV_MAX_LINE has arrived.
READ_CHUNK = 1 << 16
WHITESPACE = re.compile(r"[ \t\n\r]*")


def _header_problem(name: str, message: str) -> SourceError:
    return SourceError(Problem(name, 1, "header", message))


def _bounded_lines(text: TextIO, name: str, kind: str = "csv") -> Iterator[str]:
    """The lines of ``text``, each at most CSV_MAX_LINE characters; a SourceError past that.

    Read a chunk at a time and split at line feeds, which costs far less per
    line than readline() (CR LF line ends stay whole; the csv module reads them).
    """
    pending = ""
    number = 0  # lines yielded so far
    while chunk := text.read(READ_CHUNK):
        lines = (pending + chunk).split("\n")
        pending = lines.pop()
        longest = max(map(len, lines), default=0)
        if longest > CSV_MAX_LINE or len(pending) > CSV_MAX_LINE:
            too_long = next(
                (index for index, line in enumerate(lines) if len(line) > CSV_MAX_LINE),
                len(lines),
            )
            raise SourceError(
                Problem(
                    name,
                    number + too_long + 1,
                    kind,
                    f"a line longer than {CSV_MAX_LINE:,} characters",
                )
            )
        number += len(lines)
        yield from [line + "\n" for line in lines]
    if pending:
        yield pending


def read_csv(text: TextIO, name: str) -> Read:
    """A CSV file whose first line names its columns."""
    # A field may be as long as a line may be (the csv module's own limit is 128 KiB).
    csv.field_size_limit(max(csv.field_size_limit(), CSV_MAX_LINE))
    reader = csv.reader(_bounded_lines(text, name), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise SourceError(Problem(name, 1, "csv", _csv_message(error))) from None
    if header is None:
        raise SourceError(
            Problem(name, 1, "file", "is empty; expected a header naming the columns")
        )
    headings = [heading.strip() for heading in header]
    if len(set(headings)) != len(headings):
        raise _header_problem(name, "a column is named twice")
    return Read(headings, 1, _csv_rows(reader, name, len(headings)))


def _csv_rows(reader: Any, name: str, width: int) -> Iterator[RawRow]:
    previous = reader.line_num
    try:
        for fields in reader:
            start, previous = previous + 1, reader.line_num
            if not fields:
                continue  # a blank line
            if len(fields) != width:
                yield (start, None, f"has {len(fields)} fields; the header has {width}")
                continue
            yield (start, [field or None for field in fields], None)
    except csv.Error as error:
        raise SourceError(Problem(name, reader.line_num, "csv", _csv_message(error))) from None


def _csv_message(error: csv.Error) -> str:
    message = str(error)
    if message.startswith("new-line character seen in unquoted field"):
        # The csv module's words suggest a fix in code; the fix is in the file.
        # Lines end in LF or CR LF; a lone CR is what classic Mac OS wrote.
        return "a carriage return (CR) outside quotes: lines must end in LF or CR LF"
    return message


class _JsonArray:
    """A streaming reader for a top-level JSON list of objects."""

    def __init__(self, text: TextIO, name: str) -> None:
        self.text = text
        self.name = name
        self.decoder = json.JSONDecoder(parse_float=Decimal)
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

    def fill(self, size: int = JSON_CHUNK) -> bool:
        """Read another ``size`` characters, dropping what was consumed; False at the end."""
        if self.eof:
            return False
        chunk = self.text.read(size)
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
                # An object that goes on past the buffer: read as much again, so
                # that a large one is decoded a few times, not once per chunk.
                pending = len(self.buffer) - self.pos
                if pending < JSON_MAX_OBJECT and self.fill(max(JSON_CHUNK, pending)):
                    continue
                if pending >= JSON_MAX_OBJECT:
                    raise self.fail(
                        f"an object longer than {JSON_MAX_OBJECT:,} characters, "
                        f"or one that is not closed ({error.msg})"
                    ) from None
                raise self.fail(error.msg, error.pos) from None
            except RecursionError:
                raise self.fail("values nested too deeply") from None
            except ValueError:  # Python refuses integers of more than 4,300 digits
                raise self.fail("a number too long to be read") from None
            if end == len(self.buffer) and not isinstance(value, (dict, list)) and self.fill():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value

    def objects(self) -> Iterator[tuple[int, Any]]:
        """``(line, value)`` for each value of the list."""
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
            yield line, self.decode_value()
        if self.next_char() is not None:
            raise self.fail("unexpected data after the list")


def _object_rows(objects: Iterator[tuple[int, Any]], name: str) -> Read:
    """Rows of JSON objects, whose headings are the first object's keys."""
    first = next(objects, None)
    if first is None:
        return Read(None, 1, iter(()))
    if not isinstance(first[1], dict):
        # Its keys would have been the columns: nothing can be read without them.
        raise SourceError(Problem(name, first[0], "row", "expected an object"))
    headings = list(first[1])
    return Read(headings, first[0], _objects_as_rows(first, objects, headings))


def _objects_as_rows(
    first: tuple[int, Any], objects: Iterator[tuple[int, Any]], headings: list[str]
) -> Iterator[RawRow]:
    known = frozenset(headings)
    for line, value in _chained(first, objects):
        if not isinstance(value, dict):
            yield (line, None, "expected an object")
            continue
        extra = [key for key in value if key not in known]
        if extra:
            yield (
                line,
                None,
                f"field {extra[0]!r} is not in the first object (line {first[0]}); "
                "give every object the same fields (null for none)",
            )
            continue
        yield (line, [value.get(heading) for heading in headings], None)


def _chained(first: tuple[int, Any], rest: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    yield first
    yield from rest


def read_json(text: TextIO, name: str) -> Read:
    """A JSON file holding one list of objects, one object per row."""
    return _object_rows(_JsonArray(text, name).objects(), name)


def read_json_lines(text: TextIO, name: str) -> Read:
    """A JSON Lines file: one object per line."""
    return _object_rows(_json_lines(text, name), name)


def _json_lines(text: TextIO, name: str) -> Iterator[tuple[int, Any]]:
    decode = json.JSONDecoder(parse_float=Decimal).decode
    for number, line in enumerate(_bounded_lines(text, name, "json"), 1):
        if not line.strip():
            continue
        try:
            yield number, decode(line)
        except json.JSONDecodeError as error:
            raise SourceError(Problem(name, number, "json", error.msg)) from None
        except RecursionError:
            raise SourceError(Problem(name, number, "json", "values nested too deeply")) from None
        except ValueError:  # Python refuses integers of more than 4,300 digits
            raise SourceError(
                Problem(name, number, "json", "a number too long to be read")
            ) from None


READERS = {"csv": read_csv, "json": read_json, "jsonl": read_json_lines}

"""What a data file may put in each column, derived from the mapped tables.

Each column's check comes from its type (text and its length, whole
numbers and their range, decimals and their scale, booleans, ISO dates and
times, enums, JSON, UUIDs), from NOT NULL, and from the rules the model
declares with SQLAlchemy's ``@validates`` (the same rules the application's
own writes go through). A foreign key column ``<name>_id`` may instead be
given as ``<name>.<column>``, a column that is unique in the referred table:
the seed looks the ids up (seeding/references.py).
"""

from __future__ import annotations

import functools
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    DefaultClause,
    Enum,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapper
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import iterate, replacement_traverse
from sqlalchemy.types import TypeEngine

from dbkit.seeding.records import InvalidValue

# (What CSV text must look like to be a whole number; no more digits than
# a 64-bit integer has, so that int() never works on a huge string.)
WHOLE_NUMBER = re.compile(r"\s*[+-]?[0-9]{1,19}\s*")
# A decimal number as SQL and JSON write one: ASCII digits, no digit
# separators (Python's Decimal() also takes "1_000" and other scripts' digits).
DECIMAL_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
# What MySQL's and MariaDB's text types hold, in bytes (of UTF-8 text, as
# the project's utf8mb4 tables store it); TEXT is Text() with no length.
MYSQL_TEXT_BYTES: dict[str, tuple[type[TypeEngine[Any]], int]] = {
    "TINYTEXT": (mysql.TINYTEXT, 255),
    "MEDIUMTEXT": (mysql.MEDIUMTEXT, 16_777_215),
    "LONGTEXT": (mysql.LONGTEXT, 4_294_967_295),
}
MYSQL_TEXT = 65_535
TRUE = frozenset({"true", "t", "yes", "y", "1"})
FALSE = frozenset({"false", "f", "no", "n", "0"})
INTEGER_RANGES = {SmallInteger: 15, BigInteger: 63, Integer: 31}

Convert = Callable[[Any], Any]
ConvertAll = Callable[[Sequence[Any]], list[Any]]


@dataclass(frozen=True)
class Reference:
    """``user.username`` in a file, standing for ``user_id``: look the id up by username."""

    heading: str
    column: Column[Any]  # posts.user_id, which gets the id
    by: Column[Any]  # users.username, unique, which the file gives
    to: Column[Any]  # users.id, what posts.user_id refers to


@dataclass(frozen=True)
class Field:
    """One column of a data file: its heading, the column it fills and how values are checked."""

    heading: str
    column: Column[Any]
    convert: Convert  # one value
    convert_all: ConvertAll  # a column of values, the same way
    reference: Reference | None = None


def required(column: Column[Any]) -> bool:
    """NOT NULL, and nothing (a default, the database) fills it when a row leaves it out."""
    return not (
        column.nullable
        or column.default is not None
        or column.server_default is not None
        or generated(column)
    )


def generated(column: Column[Any]) -> bool:
    """A primary key the database numbers, or a column it computes: never in a data file."""
    return column.computed is not None or column is column.table.autoincrement_column


def seedable_columns(table: Table) -> list[Column[Any]]:
    return [column for column in table.columns if not generated(column)]


@dataclass(frozen=True)
class UniqueKey:
    """What the database keeps unique in a table: columns, or expressions over them
    (``lower(name)``), among the rows a partial index's WHERE picks."""

    parts: tuple[ColumnElement[Any], ...]
    where: ColumnElement[bool] | None = None

    @property
    def columns(self) -> tuple[Column[Any], ...]:
        """The table's columns the key is made from, in the order they first appear."""
        found: dict[str, Column[Any]] = {}
        for element in (*self.parts, *(() if self.where is None else (self.where,))):
            for column in _columns_in(element):
                found.setdefault(column.name, column)
        return tuple(found.values())

    @property
    def named_by(self) -> tuple[Column[Any], ...]:
        """The columns of its parts (not of its WHERE): what a problem with it names."""
        found: dict[str, Column[Any]] = {}
        for part in self.parts:
            for column in _columns_in(part):
                found.setdefault(column.name, column)
        return tuple(found.values())

    @property
    def plain(self) -> bool:
        """Columns alone, over every row: what a natural-key lookup can use."""
        return self.where is None and all(isinstance(part, Column) for part in self.parts)

    def on(
        self, columns: Mapping[str, ColumnElement[Any]]
    ) -> tuple[list[ColumnElement[Any]], ColumnElement[bool] | None]:
        """The key's parts and WHERE with each of the table's columns replaced by
        ``columns[name]`` (a temporary table's, to compare rows not yet written)."""
        table = self.columns[0].table

        def replace(element: Any, **kw: Any) -> Any:
            if isinstance(element, Column) and element.table is table:
                return columns[element.name]
            return None

        parts = [replacement_traverse(part, {}, replace) for part in self.parts]
        where = None if self.where is None else replacement_traverse(self.where, {}, replace)
        return parts, where


def _columns_in(element: ColumnElement[Any]) -> list[Column[Any]]:
    return [found for found in iterate(element) if isinstance(found, Column)]


def unique_keys(table: Table, dialect: str | None = None) -> list[UniqueKey]:
    """Everything the table keeps unique: constraints, the primary key, unique indexes
    (on columns or expressions, and on ``dialect`` partial ones with their WHERE)."""
    keys: list[UniqueKey] = []
    for constraint in table.constraints:
        if constraint.__visit_name__ in {"unique_constraint", "primary_key_constraint"}:
            keys.append(UniqueKey(tuple(constraint.columns)))  # type: ignore[attr-defined]
    for index in table.indexes:
        if not index.unique:
            continue
        where = None
        if dialect is not None:
            options = index.dialect_options.get(dialect)
            where = options.get("where") if options is not None else None
        keys.append(UniqueKey(tuple(index.expressions), where))  # type: ignore[arg-type]
    seen: set[str] = set()
    distinct = []
    for key in keys:
        spelled = repr([str(part) for part in key.parts] + [str(key.where)])
        if key.parts and spelled not in seen:
            seen.add(spelled)
            distinct.append(key)
    return distinct


def keys_filled(
    table: Table, columns: Sequence[Column[Any]], dialect: str
) -> list[tuple[UniqueKey, list[int]]]:
    """The unique keys of ``table`` whose columns are all among ``columns``, each with
    the positions of its columns (:attr:`UniqueKey.columns`) in ``columns``."""
    positions = {column.name: position for position, column in enumerate(columns)}
    return [
        (key, [positions[column.name] for column in key.columns])
        for key in unique_keys(table, dialect)
        if all(column.name in positions for column in key.columns)
    ]


def unique_alone(column: Column[Any]) -> bool:
    return any(key.plain and key.parts == (column,) for key in unique_keys(column.table))


def base_type(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """The SQL type under a TypeDecorator (whose own conversion runs when it is written)."""
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    return type_


def _text_problem(value: str) -> str | None:
    """What is wrong with text that is not printable, if anything: tabs and line breaks are fine."""
    for char in value:
        if "\udc80" <= char <= "\udcff":  # a byte that was not UTF-8 (surrogateescape)
            return "is not valid UTF-8"
    if surrogate := _lone_surrogate(value):
        return surrogate
    for char in value:
        if (char < " " and char not in "\t\n\r") or "\x7f" <= char <= "\x9f":
            return "contains control characters"
    return None


def _lone_surrogate(value: str) -> str | None:
    """A JSON escape such as ``\\ud800`` gives half a character, which no database stores."""
    for char in value:
        if "\ud800" <= char <= "\udfff":
            return f"holds a lone surrogate (\\u{ord(char):04x}), which is not Unicode text"
    return None


@dataclass(frozen=True)
class ByteLimit:
    """What a text type holds in bytes, where that is less than its characters may need."""

    type_name: str
    limit: int


def byte_limit(type_: TypeEngine[Any], dialect: str) -> ByteLimit | None:
    """The bytes ``type_`` holds on ``dialect``, when a length in characters does not bound it."""
    if dialect not in {"mysql", "mariadb"} or not isinstance(type_, Text):
        return None
    for name, (kind, limit) in MYSQL_TEXT_BYTES.items():
        if isinstance(type_, kind):
            return ByteLimit(name, limit)
    # Text(n) is the smallest of those types that holds n characters.
    return ByteLimit("TEXT", MYSQL_TEXT) if type_.length is None else None


def _text(length: int | None, in_bytes: ByteLimit | None) -> Convert:
    def convert(value: Any) -> Any:
        if type(value) is not str:
            raise InvalidValue("must be text")
        if length is not None and len(value) > length:
            raise InvalidValue(f"is longer than {length} characters")
        if not value.isprintable() and (problem := _text_problem(value)):
            raise InvalidValue(problem)
        # (Four bytes a character at most: the encoding is needed only for long text.)
        if in_bytes is not None and len(value) * 4 > in_bytes.limit:
            size = len(value.encode())
            if size > in_bytes.limit:
                raise InvalidValue(
                    f"is longer than {in_bytes.limit:,} bytes in UTF-8 ({size:,}), "
                    f"what {in_bytes.type_name} holds on MySQL and MariaDB"
                )
        return value

    return convert


def _whole_number(bits: int) -> Convert:
    low, high = -(1 << bits), (1 << bits) - 1

    def convert(value: Any) -> Any:
        if type(value) is str and WHOLE_NUMBER.fullmatch(value):
            value = int(value)
        elif type(value) is not int:
            raise InvalidValue("is not a whole number")
        if not low <= value <= high:
            raise InvalidValue(f"is out of range ({low:,} to {high:,})")
        return value

    return convert


def _number(value: Any) -> Decimal:
    if type(value) is str and len(value) <= 100:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidValue("is not a number") from None
        if number.is_finite() and not DECIMAL_NUMBER.fullmatch(value):
            raise InvalidValue("is not a number")
    elif type(value) in (int, Decimal):
        number = Decimal(value)
    else:
        raise InvalidValue("is not a number")
    if not number.is_finite():
        raise InvalidValue("is not a finite number")
    return number


def _decimal_places(number: Decimal) -> int:
    """The places after the point up to the last digit that is not 0.

    Read from the digits: rounding would be limited to the 28 digits of
    Python's decimal arithmetic, and a file may hold more.
    """
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    places = -exponent
    for digit in reversed(digits):
        if places <= 0 or digit:
            break
        places -= 1
    return max(places, 0)


def _decimal(precision: int | None, scale: int | None, as_decimal: bool) -> Convert:
    def convert(value: Any) -> Any:
        number = _number(value)
        if precision is not None:
            whole_digits = precision - (scale or 0)
            if number and number.adjusted() >= whole_digits:
                raise InvalidValue(f"has more than {whole_digits} digits before the decimal point")
        if scale is not None and _decimal_places(number) > scale:
            raise InvalidValue(f"has more than {scale} decimal places")
        return number if as_decimal else float(number)

    return convert


def _float(value: Any) -> Any:
    number = float(_number(value))
    if not math.isfinite(number):
        raise InvalidValue("is out of range")
    return number


def _boolean(value: Any) -> Any:
    if type(value) is bool:
        return value
    if type(value) is str:
        text = value.strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
    raise InvalidValue("is not true or false")


def _iso(kind: type[date] | type[time], example: str) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if type(value) is str and len(value) <= 64:
            text = value.strip()
            if text.endswith(("Z", "z")):  # Python 3.10 reads only the +00:00 form
                text = text[:-1] + "+00:00"
            try:
                return kind.fromisoformat(text)
            except ValueError:
                pass
        raise InvalidValue(f"is not an ISO 8601 {kind.__name__}, such as {example}")

    return parse


_date = _iso(date, "2026-01-31")
_time = _iso(time, "09:30:00")
_datetime_value = _iso(datetime, "2026-01-31T09:30:00+00:00")


def _date_only(value: Any) -> Any:
    parsed = _date(value)
    if isinstance(parsed, datetime):
        raise InvalidValue("is not an ISO 8601 date, such as 2026-01-31")
    return parsed


def _datetime(with_zone: bool) -> Convert:
    def convert(value: Any) -> Any:
        parsed = _datetime_value(value)
        if with_zone:
            if parsed.tzinfo is None:
                raise InvalidValue("needs a UTC offset, such as 2026-01-31T09:30:00+00:00")
            # In UTC, the one time zone every backend stores alike (MySQL and
            # SQLite keep the clock time and drop the offset).
            try:
                return parsed.astimezone(timezone.utc)
            except OverflowError:
                raise InvalidValue("is out of range in UTC (0001-01-01 to 9999-12-31)") from None
        if parsed.tzinfo is not None:
            raise InvalidValue("has a UTC offset, but the column stores times without one")
        return parsed

    return convert


def _enum(values: Sequence[str]) -> Convert:
    allowed = frozenset(values)
    listed = ", ".join(values)

    def convert(value: Any) -> Any:
        if type(value) is str and value in allowed:
            return value
        raise InvalidValue(f"is not one of: {listed}")

    return convert


def _not_json(constant: str) -> Any:
    raise InvalidValue(f"{constant} is not a JSON value")


def _json_value(value: Any) -> Any:
    """``value`` as the JSON column stores it; InvalidValue for what JSON cannot hold.

    Files are read with decimals exact (``Decimal``): inside a JSON value one
    becomes a float, the number JSON readers give back, if that keeps its
    value; if not, it is refused rather than stored changed. NaN and
    Infinity (which Python's json writes) and lone surrogates are not JSON.
    """
    kind = type(value)
    if kind is str:
        if not value.isprintable() and (surrogate := _lone_surrogate(value)):
            raise InvalidValue(surrogate)
        return value
    if kind is dict:
        return {_json_value(key): _json_value(item) for key, item in value.items()}
    if kind is list:
        return [_json_value(item) for item in value]
    if kind is Decimal:
        number = float(value)
        if not math.isfinite(number):
            raise InvalidValue(
                f"{value} is beyond what a JSON number holds (a 64-bit float); write it as a string"
            )
        if Decimal(repr(number)) != value:
            raise InvalidValue(
                f"{value} has more digits than a JSON number keeps (a 64-bit float); "
                "write it as a string"
            )
        return number
    if kind is float and not math.isfinite(value):
        constant = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        raise InvalidValue(f"{constant} is not a JSON value")
    return value


def _json(from_text: bool) -> Convert:
    def convert(value: Any) -> Any:
        if from_text:
            try:
                value = json.loads(value, parse_float=Decimal, parse_constant=_not_json)
            except InvalidValue:
                raise
            except (ValueError, RecursionError):
                raise InvalidValue("is not valid JSON") from None
        try:
            return _json_value(value)
        except RecursionError:
            raise InvalidValue("is nested too deeply") from None

    return convert


def _uuid(as_uuid: bool) -> Convert:
    def convert(value: Any) -> Any:
        try:
            parsed = uuid.UUID(value.strip()) if type(value) is str else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise InvalidValue("is not a UUID")
        return parsed if as_uuid else str(parsed)

    return convert


def type_check(column: Column[Any], *, from_text: bool, dialect: str) -> Convert | None:
    """How a value for ``column`` is checked and converted; None for a type it cannot check.

    ``from_text``: the value comes from a CSV file (JSON columns hold JSON text there).
    ``dialect``: the database's, for limits of its own (MySQL's text in bytes).
    """
    type_ = base_type(column.type)
    # Subclasses first: Float is a Numeric, Enum and Uuid are Strings, and so on.
    if isinstance(type_, Enum):
        return _enum(type_.enums)
    if isinstance(type_, Uuid):
        return _uuid(type_.as_uuid)
    if isinstance(type_, String):
        return _text(type_.length, byte_limit(type_, dialect))
    if isinstance(type_, Boolean):
        return _boolean
    if isinstance(type_, Integer):
        bits = next(bits for kind, bits in INTEGER_RANGES.items() if isinstance(type_, kind))
        return _whole_number(bits)
    if isinstance(type_, Float):
        return _float
    if isinstance(type_, Numeric):
        return _decimal(type_.precision, type_.scale, bool(type_.asdecimal))
    if isinstance(type_, DateTime):
        return _datetime(bool(type_.timezone))
    if isinstance(type_, Date):
        return _date_only
    if isinstance(type_, Time):
        return _time
    if isinstance(type_, JSON):
        return _json(from_text)
    return None


def model_rules(table: Table, mappers: Sequence[Mapper[Any]]) -> dict[str, Convert]:
    """The ``@validates`` rules of the model mapped to ``table``, by column name.

    A rule is called as the ORM calls it, ``rule(instance, key, value)``, on
    an instance made without ``__init__``: rules that look at the value alone
    (the usual kind) work as they do in the application.
    """
    rules: dict[str, Convert] = {}
    for mapper in mappers:
        if mapper.local_table is not table:
            continue
        instance = object.__new__(mapper.class_)
        for key, (method, _) in mapper.validators.items():
            column = mapper.columns.get(key)
            if column is None or column.table is not table:
                continue
            # (SQLAlchemy's annotation says str; it is the method.) A rule
            # raises ValueError, which _chain makes an InvalidValue.
            function = cast(Callable[..., Any], method)
            rules[column.name] = functools.partial(function, instance, key)
    return rules


def database_default(column: Column[Any]) -> bool:
    """Whether the database fills ``column`` (NOT NULL) with a default of its own
    (``server_default=`` in the model) when a row gives it no value.

    The writers turn a NULL in such a column into that default (seeding/writers.py).
    """
    return (
        not column.nullable
        and isinstance(column.server_default, DefaultClause)
        and python_default(column) is None
    )


def python_default(column: Column[Any]) -> Callable[[], Any] | None:
    """What makes ``column``'s Python-side default (``default=`` in the model), if any.

    The bulk paths do not go through SQLAlchemy's defaults, so the seed applies them.
    """
    default: Any = column.default
    if default is None or default.is_sequence:
        return None
    if default.is_callable:
        # SQLAlchemy wraps a callable that takes no arguments to take the
        # execution context; there is none here.
        return lambda: default.arg(None)
    return lambda: default.arg


def _chain(column: Column[Any], *steps: Convert) -> Convert:
    """``steps`` for a value; for none (an empty CSV field, a JSON null or a key an
    object leaves out), NULL, the column's Python default, or "is required".

    (In a NOT NULL column with a database default, NULL stands for that default.)
    A rule that changes text (NFC makes some characters two) is followed by
    the column's length check again: what is stored must fit.
    """
    length = _text_length(column.type)
    make_default = python_default(column)
    if column.nullable or database_default(column):

        def missing() -> Any:
            return None
    elif make_default is not None:
        missing = make_default
    else:

        def missing() -> Any:
            raise InvalidValue("is required")

    # Once per value of files with millions of rows: no loop for the usual one
    # or two steps.
    if len(steps) == 1:
        (check,) = steps

        def convert(value: Any) -> Any:
            return missing() if value is None else check(value)

    elif len(steps) == 2:
        check, rule = steps

        def convert(value: Any) -> Any:
            if value is None:
                return missing()
            checked = check(value)
            try:
                result = rule(checked)
            except InvalidValue:
                raise
            except ValueError as error:
                raise InvalidValue(str(error)) from None
            if length is not None and type(result) is str and len(result) > length:
                raise InvalidValue(
                    f"is longer than {length} characters "
                    f"({len(result)} once the model's rule has run)"
                )
            return result

    else:
        raise ValueError("a column has a type check and at most one rule")
    return convert


def _text_length(type_: TypeEngine[Any]) -> int | None:
    type_ = base_type(type_)
    return type_.length if isinstance(type_, String) else None


def _for_columns(
    convert: Convert, type_: TypeEngine[Any], rule: Convert | None, in_bytes: ByteLimit | None
) -> ConvertAll:
    """``convert`` for a whole column of values at once: raises InvalidValue if any fails.

    For text the usual case (no NULLs, all short enough, all printable) is
    settled by C-level built-ins over the column, which together imply that
    ``convert``'s own check passes; anything else goes through ``convert``.
    """
    length = _text_length(type_)
    # Four bytes a character at most: within this, no text is too long in bytes.
    most = length if in_bytes is None else min(length or in_bytes.limit, in_bytes.limit // 4)
    text = isinstance(type_, String) and not isinstance(type_, (Enum, Uuid))

    def convert_all(values: Sequence[Any]) -> list[Any]:
        if not (
            text
            and None not in values
            and set(map(type, values)) == {str}
            and (most is None or max(map(len, values)) <= most)
            and all(map(str.isprintable, values))
        ):
            return list(map(convert, values))
        if rule is None:
            return list(values)
        try:
            results = list(map(rule, values))
        except InvalidValue:
            raise
        except ValueError as error:
            raise InvalidValue(str(error)) from None
        if length is not None and max(map(len, results)) > length:
            return list(map(convert, values))  # which says which one
        return results

    return convert_all


def fields_for(
    table: Table,
    headings: Sequence[str],
    *,
    mappers: Sequence[Mapper[Any]],
    from_text: bool,
    dialect: str,
) -> list[Field] | str:
    """The fields for a file's ``headings``, or why the headings do not fit ``table``.

    A value is checked by its column's type, then by the model's rule for
    it; a natural key (``author.handle``) by the referred column's, so that
    it is looked up as that model stored it.
    """
    rules = model_rules(table, mappers)
    columns = {column.name: column for column in seedable_columns(table)}
    fields: list[Field] = []
    filled: dict[str, str] = {}
    for heading in headings:
        if heading in columns:
            column = columns[heading]
            check = type_check(column, from_text=from_text, dialect=dialect)
            if check is None:
                return f"cannot check values of {table.name}.{heading} ({column.type}) yet"
            rule = rules.get(heading)
            convert = _chain(column, *((check, rule) if rule else (check,)))
            type_ = base_type(column.type)
            convert_all = _for_columns(convert, type_, rule, byte_limit(type_, dialect))
            fields.append(Field(heading, column, convert, convert_all))
        elif "." in heading:
            reference = _reference(table, heading)
            if isinstance(reference, str):
                return reference
            column = reference.column
            by = reference.by
            check = type_check(by, from_text=from_text, dialect=dialect)
            if check is None:
                return f"cannot look rows up by {by.table.name}.{by.name}"
            rule = model_rules(by.table, mappers).get(by.name)
            convert = _chain(column, *((check, rule) if rule else (check,)))
            type_ = base_type(by.type)
            convert_all = _for_columns(convert, type_, rule, byte_limit(type_, dialect))
            fields.append(Field(heading, column, convert, convert_all, reference))
        elif heading in table.columns:
            return (
                f"{heading} is filled by the database; "
                "refer to rows by a unique column instead (see README)"
            )
        else:
            return f"unknown column {heading!r}; {table.name} has {', '.join(columns)}"
        if column.name in filled:
            return f"{heading} and {filled[column.name]} both fill {column.name}"
        filled[column.name] = heading
    missing = [name for name, column in columns.items() if required(column) and name not in filled]
    if missing:
        return f"missing column {missing[0]!r}, which {table.name} requires"
    return fields


def _reference(table: Table, heading: str) -> Reference | str:
    name, _, by_name = heading.partition(".")
    for column in table.columns:
        if column.name not in {f"{name}_id", name} or len(column.foreign_keys) != 1:
            continue
        (foreign_key,) = column.foreign_keys
        to = foreign_key.column
        by = to.table.columns.get(by_name)
        if by is None:
            return f"{heading}: {to.table.name} has no column {by_name!r}"
        if not unique_alone(by):
            return f"{heading}: {to.table.name}.{by_name} is not unique, so it cannot pick one row"
        return Reference(heading, column, by, to)
    return f"unknown column {heading!r}: {table.name} has no foreign key {name}_id"

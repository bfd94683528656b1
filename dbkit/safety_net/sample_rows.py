"""Rows for the data-survives check: values a table at some revision accepts.

A value comes from the column's type (unique per ``serial`` as far as the
type allows), is then bent to fit the table's CHECK constraints in their
common forms (IN lists, ``=``, comparisons, BETWEEN, lengths, one column
against another), and finally replaced by what the project gives for the
table under ``[data.rows]`` in ``accepted.toml``. CHECK constraints are read
as each backend reflects them: PostgreSQL rewrites them (``x::text = ANY
(ARRAY[...])``, BETWEEN as two comparisons), MariaDB quotes names with
backticks and lower-cases keywords, SQLite keeps the text as written. A form
not recognised here is left to the database to reject, and the check notes
the table.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CheckConstraint, Column, Table, types

# A column's value as PostgreSQL writes a cast after it: 'a'::character varying, x::text[].
PG_CAST = re.compile(
    r"::(?:character varying|double precision|timestamp with(?:out)? time zone|"
    r"time with(?:out)? time zone|\"?\w+\"?)(?:\[\])?"
)
NAME = r"\(?(\w+)\)?"  # a column, which PostgreSQL may put in parentheses
LITERAL = r"('(?:[^']|'')*'|-?\d+(?:\.\d+)?|true|false)"
OPERATOR = r"(<=|>=|<>|!=|=|<|>)"
LENGTH = r"(?:char_length|character_length|length|octet_length|len)"
FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "<>": "<>", "!=": "!="}


@dataclass
class Rule:
    """What the CHECK constraints of a table ask of one column."""

    allowed: list[Any] | None = None  # IN (...) or =
    low: tuple[Any, bool] | None = None  # (bound, strict)
    high: tuple[Any, bool] | None = None
    shortest: int | None = None
    longest: int | None = None
    # Other columns this one must be greater (or less) than: (column, ">" or "<").
    versus: list[tuple[str, str]] = field(default_factory=list)


def _value(literal: str) -> Any:
    if literal.startswith("'"):
        inner = literal[1:-1].replace("''", "'")
        try:  # PostgreSQL quotes a negative number: '-3'::integer
            return decimal.Decimal(inner) if re.fullmatch(r"-?\d+(\.\d+)?", inner) else inner
        except decimal.InvalidOperation:  # pragma: no cover
            return inner
    if literal.lower() in {"true", "false"}:
        return literal.lower() == "true"
    return decimal.Decimal(literal)


def _normalized(sql: str) -> str:
    sql = PG_CAST.sub("", sql)
    sql = re.sub(r"[`\"](\w+)[`\"]", r"\1", sql)
    sql = re.sub(r"\s+", " ", sql).strip()
    # PostgreSQL before 12 wraps each cast value: (0)::numeric, ('a'::character varying).
    sql = re.sub(rf"([=<>\[,(]\s*)\({LITERAL}\)", r"\1\2", sql, flags=re.IGNORECASE)
    sql = re.sub(
        rf"\b(\w+) between {LITERAL} and {LITERAL}",
        r"\1 >= \2 and \1 <= \3",
        sql,
        flags=re.IGNORECASE,
    )
    while sql.startswith("(") and _closing(sql, 0) == len(sql) - 1:
        sql = sql[1:-1].strip()
    return sql


def _closing(sql: str, start: int) -> int:
    """Where the parenthesis opened at ``start`` closes (quotes respected); -1 if nowhere."""
    depth, quoted = 0, False
    for index in range(start, len(sql)):
        char = sql[index]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _split(sql: str, keyword: str) -> list[str]:
    """``sql`` split on ``keyword`` (AND, OR) outside parentheses and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    pattern = re.compile(rf"\s{keyword}\s", re.IGNORECASE)
    index = 0
    while index < len(sql):
        char = sql[index]
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif not quoted and depth == 0 and (match := pattern.match(sql, index)):
            parts.append(sql[start:index])
            start = index = match.end()
            continue
        index += 1
    return [_normalized(part) for part in [*parts, sql[start:]]]


def _literals(listed: str) -> list[Any]:
    return [_value(item) for item in re.findall(LITERAL, listed, re.IGNORECASE)]


def _read(atom: str, rules: dict[str, Rule], columns: set[str]) -> bool:
    """Add what one comparison asks to ``rules``; False if it is no form known here."""
    forms = [
        (rf"{NAME} in \((.*)\)", "in"),
        (rf"{NAME} = any \(+array\[(.*)\]\)+", "in"),
        (rf"{LENGTH}\({NAME}\) {OPERATOR} {LITERAL}", "length"),
        (rf"{NAME} {OPERATOR} {LITERAL}", "compare"),
        (rf"{LITERAL} {OPERATOR} {NAME}", "flipped"),
        (rf"{NAME} {OPERATOR} {NAME}", "versus"),
    ]
    for pattern, form in forms:
        match = re.fullmatch(pattern, atom, re.IGNORECASE)
        if match is None:
            continue
        if form == "flipped":
            literal, operator, column = match.groups()
            form, operator = "compare", FLIPPED[operator]
        elif form == "in":
            column, listed = match.groups()
        else:
            column, operator, literal = match.groups()
        if column not in columns:
            return False
        rule = rules.setdefault(column, Rule())
        if form == "in":
            rule.allowed = _literals(listed)
        elif form == "versus":
            if literal not in columns or operator not in {"<", "<=", ">", ">="}:
                return False
            rule.versus.append((literal, operator[0]))
        elif form == "length":
            size = int(_value(literal))
            if operator in {">", ">=", "="}:
                rule.shortest = size + (operator == ">")
            if operator in {"<", "<=", "="}:
                rule.longest = size - (operator == "<")
        elif operator == "=":
            rule.allowed = [_value(literal)]
        elif operator in {">", ">="}:
            rule.low = (_value(literal), operator == ">")
        elif operator in {"<", "<="}:
            rule.high = (_value(literal), operator == "<")
        # <> and != rule out one value, which a generated one is unlikely to be.
        return True
    return False


def check_rules(table: Table) -> dict[str, Rule]:
    """What ``table``'s reflected CHECK constraints ask of each column, in the forms known here.

    Of an OR, the first alternative read is followed: it alone satisfies the CHECK.
    """
    rules: dict[str, Rule] = {}
    columns = {column.name for column in table.columns}
    for constraint in table.constraints:
        if not isinstance(constraint, CheckConstraint):
            continue
        for atom in _split(_normalized(str(constraint.sqltext)), "and"):
            for alternative in _split(atom, "or"):
                if _read(alternative, rules, columns):
                    break
    return rules


def sample_value(column_type: types.TypeEngine[Any], serial: int) -> Any:
    """A value of ``column_type`` unique per ``serial`` (as far as the type allows), or None."""
    if isinstance(column_type, types.Enum):
        return column_type.enums[serial % len(column_type.enums)] if column_type.enums else None
    if isinstance(column_type, types.Boolean):
        return serial % 2 == 0
    if isinstance(column_type, types.Integer):
        return serial
    if isinstance(column_type, types.Float):
        return serial + 0.5
    if isinstance(column_type, types.Numeric):
        return decimal.Decimal(serial)
    if isinstance(column_type, types.DateTime):
        return dt.datetime(2001, 1, 1) + dt.timedelta(minutes=serial)
    if isinstance(column_type, types.Date):
        return dt.date(2001, 1, 1) + dt.timedelta(days=serial)
    if isinstance(column_type, types.Time):
        return dt.time(serial % 24, serial // 24 % 60)
    if isinstance(column_type, types.Interval):
        return dt.timedelta(seconds=serial)
    if isinstance(column_type, types.Uuid):
        identifier = uuid.UUID(int=serial)
        return identifier if column_type.as_uuid else str(identifier)
    if isinstance(column_type, types.JSON):
        return {"serial": serial}
    if isinstance(column_type, types.LargeBinary):
        return f"b{serial}".encode()
    if isinstance(column_type, types.String):
        value = f"r{serial}x"
        return value[: column_type.length] if column_type.length else value
    return None


def _as(column_type: types.TypeEngine[Any], value: Any) -> Any:
    """A value read from a CHECK, as the column's Python type."""
    if isinstance(value, decimal.Decimal):
        if isinstance(column_type, types.Integer):
            return int(value)
        if isinstance(column_type, types.Float):
            return float(value)
        if isinstance(column_type, types.String):
            return str(value)
    return value


def _within(value: Any, rule: Rule, column_type: types.TypeEngine[Any], serial: int) -> Any:
    """``value``, or one between the rule's bounds if it is not."""
    low, high = rule.low, rule.high
    whole = isinstance(column_type, types.Integer)
    if whole:  # strict bounds become inclusive ones
        low = (math.floor(low[0]) + 1, False) if low and low[1] else low
        high = (math.ceil(high[0]) - 1, False) if high and high[1] else high
    fits = (low is None or value > low[0] or (value == low[0] and not low[1])) and (
        high is None or value < high[0] or (value == high[0] and not high[1])
    )
    if fits:
        return value
    if low is not None and high is not None:
        if whole:
            return _as(column_type, low[0] + serial % (int(high[0] - low[0]) + 1))
        return _as(column_type, (decimal.Decimal(low[0]) + decimal.Decimal(high[0])) / 2)
    if low is not None:
        return _as(column_type, low[0] + serial)
    assert high is not None
    return _as(column_type, high[0] - serial)


def _follows(value: Any, other: Any, direction: str) -> Any:
    """A value just past ``other`` (``>``) or just before it (``<``)."""
    step: Any = dt.timedelta(days=1) if isinstance(other, dt.date | dt.datetime) else 1
    if isinstance(other, int | float | decimal.Decimal | dt.date | dt.datetime):
        return other + step if direction == ">" else other - step
    return value


def is_surrogate_key(column: Column[Any]) -> bool:
    """A key the database numbers itself: a table's one integer primary key column.

    A column of a composite key (``metrics (key, timestamp, step)``) is data,
    and gets a value like any other.
    """
    return column is column.table.autoincrement_column


def sample_row(
    table: Table, serial: int, given: dict[str, Any], json_text: set[str]
) -> dict[str, Any]:
    """Values for ``table``'s columns that fit its CHECK constraints, ``given`` over them.

    ``json_text`` names columns that hold JSON as text (MariaDB). Left out:
    surrogate keys (the database numbers rows), generated columns (it computes
    them) and foreign keys (the caller finds a parent row), unless ``given``
    names them.
    """
    rules = check_rules(table)
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.foreign_keys or is_surrogate_key(column) or column.computed is not None:
            continue  # the caller's, or the database's (a generated column)
        if column.name in json_text and not isinstance(column.type, types.JSON):
            row[column.name] = json.dumps({"serial": serial})
            continue
        value = sample_value(column.type, serial)
        rule = rules.get(column.name)
        if rule is not None and value is not None:
            if rule.allowed:
                if value not in rule.allowed:
                    value = _as(column.type, rule.allowed[serial % len(rule.allowed)])
            elif isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
                value = _within(value, rule, column.type, serial)
            if isinstance(value, str):
                if rule.shortest is not None and len(value) < rule.shortest:
                    value += "x" * (rule.shortest - len(value))
                if rule.longest is not None:
                    value = value[: max(rule.longest, 0)]
        if value is not None:
            row[column.name] = value
    for name, rule in rules.items():
        for other, direction in rule.versus:
            if name in row and other in row and name not in given:
                row[name] = _follows(row[name], row[other], direction)
    for name, value in given.items():
        if name in table.columns:
            text_json = name in json_text and not isinstance(table.columns[name].type, types.JSON)
            row[name] = json.dumps(value) if text_json and isinstance(value, dict) else value
    return row

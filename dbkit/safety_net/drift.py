"""Autogenerate's differences between the models and a database, as lines a person reads.

``alembic check`` prints them as Python reprs (``<TextClause object at
0x...>``); the drift check prints ``users: column full_name: type VARCHAR(200)
in the models, VARCHAR(100) in the database`` instead. The same lines are
what ``[drift] accepted`` in accepted.toml lists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Constraint, ForeignKeyConstraint, Index, Table, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ClauseElement, TextClause

IN_MODELS = "in the models, not in the database"
IN_DATABASE = "in the database, not in the models"


def _shown(value: Any, dialect: Dialect | None) -> str:
    """A type, default or expression as SQL-ish text, never a repr with an address.

    An expression is written as ``dialect``, the database's, writes it: a
    construct of the project's own may compile only for the backends it runs on.
    """
    if value is None:
        return "none"
    if hasattr(value, "arg"):  # a server default wraps its expression
        return _shown(value.arg, dialect)
    if isinstance(value, TextClause):
        return value.text
    if isinstance(value, ClauseElement):
        return str(value.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return str(value)


def _columns(item: Index | UniqueConstraint | ForeignKeyConstraint, dialect: Dialect | None) -> str:
    names = (
        [
            expression.name if isinstance(expression, Column) else _shown(expression, dialect)
            for expression in item.expressions
        ]
        if isinstance(item, Index)
        else [column.name for column in item.columns]
    )
    return ", ".join(names)


def _name(item: Index | Constraint) -> str:
    """The name and a space, or nothing for an object left unnamed."""
    return f"{item.name} " if isinstance(item.name, str) else ""


def _object(kind: str, item: Any, dialect: Dialect | None) -> tuple[str, str]:
    """(table, description) of an added or removed object."""
    if isinstance(item, Table):
        return item.name, "table"
    if isinstance(item, Index):
        return (
            item.table.name if item.table is not None else "?",
            f"index {_name(item)}({_columns(item, dialect)})",
        )
    if isinstance(item, ForeignKeyConstraint):
        target = item.referred_table.name if item.elements else "?"
        return item.table.name, f"foreign key {_name(item)}({_columns(item, dialect)}) to {target}"
    if isinstance(item, UniqueConstraint):
        return item.table.name, f"unique constraint {_name(item)}({_columns(item, dialect)})"
    return "?", f"{kind} {_shown(item, dialect)}"


def describe_diff(diff: Any, dialect: Dialect | None = None) -> str:
    """One line for one entry of ``alembic.autogenerate.compare_metadata``'s result,
    expressions written as ``dialect`` writes them."""
    if isinstance(diff, list):  # modifications of one column come as a list of tuples
        return "; ".join(describe_diff(part, dialect) for part in diff)
    kind = diff[0]
    if kind in {"add_column", "remove_column"}:
        _, _schema, table, column = diff
        assert isinstance(column, Column)
        where = IN_MODELS if kind == "add_column" else IN_DATABASE
        return f"{table}: column {column.name}: {where}"
    if kind.startswith("modify_"):
        _, _schema, table, column, _existing, in_database, in_models = diff
        what = kind.removeprefix("modify_")
        return (
            f"{table}: column {column}: {what} {_shown(in_models, dialect)} in the models, "
            f"{_shown(in_database, dialect)} in the database"
        )
    if kind in {"add_enum_type", "remove_enum_type"}:  # dbkit/migrations/autogenerate.py's own
        where = IN_MODELS if kind.startswith("add_") else IN_DATABASE
        return f"enum type {diff[1].name}: {where}"
    if kind.startswith(("add_", "remove_")):
        table, description = _object(kind, diff[1], dialect)
        return f"{table}: {description}: {IN_MODELS if kind.startswith('add_') else IN_DATABASE}"
    return f"{kind}: {', '.join(_shown(part, dialect) for part in diff[1:])}"


def _properties(item: Any, dialect: Dialect | None) -> dict[str, str]:
    """What tells two versions of one index or constraint apart, as text."""
    properties = {"columns": _columns(item, dialect) or "none"}
    if isinstance(item, Index):
        properties["unique"] = str(bool(item.unique))
    if isinstance(item, ForeignKeyConstraint):
        properties["references"] = ", ".join(element.target_fullname for element in item.elements)
        properties["ondelete"] = (item.ondelete or "NO ACTION").upper()
        properties["onupdate"] = (item.onupdate or "NO ACTION").upper()
        properties["deferrable"] = str(bool(item.deferrable))
        properties["initially"] = (item.initially or "IMMEDIATE").upper()
    return properties


def _identity(kind: str, item: Any) -> tuple[str, str, str] | None:
    """What an added and a removed object must share to be one object changed."""
    if not isinstance(item, (Index, Constraint)) or item.table is None:
        return None
    what = kind.partition("_")[2]
    if item.name:
        return what, item.table.name, str(item.name)
    if isinstance(item, ForeignKeyConstraint):  # unnamed: known by what it links
        return what, item.table.name, f"{_columns(item, None)} to {item.referred_table.name}"
    return None


def describe_diffs(diffs: list[Any], dialect: Dialect | None = None) -> list[str]:
    """One line per difference; an index or constraint autogenerate would drop and create
    again under the same name (only its ON DELETE, say, differs) is one line saying what
    differs, not two lines that seem to contradict each other."""
    return [line for line, shown in lines_of(diffs, dialect) if shown]


def lines_of(diffs: list[Any], dialect: Dialect | None = None) -> list[tuple[str, bool]]:
    """For each of ``diffs``, the line that describes it, and whether that line is shown
    there: the two halves of an object changed share one line, shown once."""
    removed: dict[tuple[str, str, str], Any] = {}
    for diff in diffs:
        if isinstance(diff, tuple) and diff[0].startswith("remove_"):
            key = _identity(diff[0], diff[1])
            if key is not None:
                removed[key] = diff[1]
    changed: dict[tuple[str, str, str], str] = {}
    for diff in diffs:
        if isinstance(diff, tuple) and diff[0].startswith("add_"):
            key = _identity(diff[0], diff[1])
            if key is not None and key in removed:
                in_models = _properties(diff[1], dialect)
                in_database = _properties(removed[key], dialect)
                table, description = _object(diff[0], diff[1], dialect)
                differences = [
                    f"{name} {value} in the models, {in_database.get(name)} in the database"
                    for name, value in in_models.items()
                    if in_database.get(name) != value
                ] or ["defined differently in the models and the database"]
                changed[key] = f"{table}: {description}: {'; '.join(differences)}"
    lines: list[tuple[str, bool]] = []
    for diff in diffs:
        key = _identity(diff[0], diff[1]) if isinstance(diff, tuple) else None
        if key in changed:
            lines.append((changed[key], diff[0].startswith("add_")))
        else:
            lines.append((describe_diff(diff, dialect), True))
    return lines

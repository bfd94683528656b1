"""``accepted.toml``: what a project knowingly accepts from its migration checks.

The file sits beside ``env.py`` and is committed, so a reviewer sees every
exception the project has made. Anything not listed still fails. The
``[linter]`` table is read by ``scripts/lint_migrations.py``; the rest by
the safety net (dbkit/safety_net/checks.py).
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWN = {
    "stairway": {"start_after"},
    "data": {"changes_rows", "rows"},
    "drift": {"accepted"},
    "offline": {"needs_a_database"},
    "linter": {"zero_downtime", "baseline"},
}


class AcceptedFileError(Exception):
    """accepted.toml is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Accepted:
    stairway_start_after: str | None = None
    data_changes_rows: frozenset[str] = field(default_factory=frozenset)
    # [data.rows]: table -> {column: value}, merged over the rows the data check generates.
    data_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    drift: frozenset[str] = field(default_factory=frozenset)
    # [offline] needs_a_database: revisions that read the live database (a
    # data migration that inspects the schema), which `--sql` cannot write.
    offline_needs_a_database: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def load(cls, path: Path) -> Accepted:
        if not path.is_file():
            return cls()
        try:
            content = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise AcceptedFileError(f"{path}: {error}") from None
        for section, values in content.items():
            if section not in KNOWN or not isinstance(values, dict):
                raise AcceptedFileError(f"{path}: unknown section [{section}]")
            for key in values.keys() - KNOWN[section]:
                raise AcceptedFileError(f"{path}: [{section}] has no setting {key!r}")
        start_after = _get(content, path, "stairway", "start_after", str, None)
        return cls(
            stairway_start_after=start_after,
            data_changes_rows=frozenset(_get(content, path, "data", "changes_rows", list, [])),
            data_rows=_rows(_get(content, path, "data", "rows", dict, {}), path),
            drift=frozenset(_get(content, path, "drift", "accepted", list, [])),
            offline_needs_a_database=frozenset(
                _get(content, path, "offline", "needs_a_database", list, [])
            ),
        )


def _get(
    content: dict[str, Any], path: Path, section: str, key: str, kind: type, default: Any
) -> Any:
    value = content.get(section, {}).get(key, default)
    if value is not default and not isinstance(value, kind):
        raise AcceptedFileError(f"{path}: [{section}] {key} must be a {kind.__name__}")
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        raise AcceptedFileError(f"{path}: [{section}] {key} must be a list of strings")
    return value


# What a TOML value may be to stand for one column's value.
ONE_VALUE = (str, int, float, bool, dt.date, dt.time, dict)


def _rows(rows: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """``[data.rows]``: each key a table, each value an inline table of column = value."""
    for table, row in rows.items():
        if not isinstance(row, dict):
            raise AcceptedFileError(
                f"{path}: [data.rows] {table} must be a table of column = value"
            )
        for column, value in row.items():
            # A TOML table is a JSON column's value; an array would be ambiguous.
            if not isinstance(value, ONE_VALUE):
                raise AcceptedFileError(f"{path}: [data.rows] {table}.{column} must be one value")
    return rows

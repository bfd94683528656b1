"""Raw SQL in ``op.execute("...")``, checked by squawk (the ``dev`` extra).

The SQL is the one ``alembic upgrade head --sql`` writes for PostgreSQL; squawk's
findings are named ``squawk:<rule>`` and acknowledged like the linter's own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from dbkit.lint.operations import RawSql, markers, normalized, raw_sql_calls
from dbkit.lint.rules import Finding, LintInputError, shown


class SquawkUnavailable(Exception):
    """squawk could not run; the message says why. The other rules still ran."""


# Rules left out: env.py sets lock_timeout and statement_timeout itself, each
# revision runs in a transaction, and the prefer-* rules are about style.
SQUAWK_EXCLUDED = [
    "require-lock-timeout",
    "require-statement-timeout",
    "prefer-robust-stmts",
    "prefer-bigint-over-int",
    "prefer-bigint-over-smallint",
    "prefer-identity",
    "prefer-text-field",
    "prefer-timestamp-tz",
]
# Offline SQL needs only a dialect, not a server or a driver.
OFFLINE_URL = "postgresql://lint@offline.invalid/lint"
RUNNING = re.compile(r"^-- Running upgrade \S* -> (\S+)")


def _offline_statements(alembic_ini: Path) -> list[tuple[str, str]]:
    """(revision, statement) for each statement of ``alembic upgrade head --sql`` on PostgreSQL."""
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(alembic_ini), "upgrade", "head", "--sql"],
        capture_output=True,
        text=True,
        # MIGRATION_DATABASE_URL too, which migrations prefer: squawk reads PostgreSQL.
        env={**os.environ, "DATABASE_URL": OFFLINE_URL, "MIGRATION_DATABASE_URL": OFFLINE_URL},
        cwd=alembic_ini.parent,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SquawkUnavailable(f"the history's SQL cannot be written offline: {last}")
    statements: list[tuple[str, str]] = []
    revision, pending = "", []
    for line in result.stdout.splitlines():
        if match := RUNNING.match(line):
            revision = match.group(1)
            continue
        pending.append(line)
        if line.rstrip().endswith(";"):
            statements.append((revision, normalized("\n".join(pending))))
            pending = []
    return statements


def squawk(paths: Sequence[Path], alembic_ini: Path, executable: str) -> list[Finding]:
    """squawk's findings on the raw SQL that ``paths`` run through ``op.execute``.

    The SQL is taken from the PostgreSQL offline SQL of the whole history (so
    ``sa.text(...)`` arrives as PostgreSQL will run it), and each finding is
    mapped back to its revision and the ``op.execute`` line that holds the
    statement. SQL built at run time matches no line and is not checked; what
    Alembic's own operations emit is checked by the rules above.
    """
    by_revision: dict[str, tuple[Path, dict[str, RawSql]]] = {}
    for path in paths:
        revision, calls = raw_sql_calls(path)
        by_revision[revision] = (path, calls)
    checked: list[tuple[Path, str, RawSql, str]] = []  # (file, revision, call, statement)
    for revision, statement in _offline_statements(alembic_ini):
        if revision in by_revision:
            path, calls = by_revision[revision]
            if statement in calls:
                checked.append((path, revision, calls[statement], statement))
    _check_squawk_rules(paths, executable)
    if not checked:
        return []
    with tempfile.TemporaryDirectory() as directory:
        sql = Path(directory) / "raw.sql"
        # One statement per line, so that a finding's line is its statement.
        sql.write_text("".join(f"{statement};\n" for *_, statement in checked))
        result = subprocess.run(
            [executable, "--reporter", "json", "--assume-in-transaction",
             f"--exclude={','.join(SQUAWK_EXCLUDED)}", str(sql)],
            capture_output=True,
            text=True,
        )  # fmt: skip
    try:
        reported = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        raise SquawkUnavailable(f"squawk failed: {result.stderr.strip()}") from None
    findings = []
    for item in reported:
        path, revision, call, statement = checked[item["line"]]
        rule = f"squawk:{item['rule_name']}"
        if rule not in call.acknowledged:
            why = item["message"].rstrip(".")
            instead = (item.get("help") or "see squawk's documentation of the rule").rstrip(".")
            findings.append(Finding(path, call.line, revision, rule, statement, (why, instead)))
    return findings


def _check_squawk_rules(paths: Sequence[Path], executable: str) -> None:
    """Refuse a marker naming a squawk rule that squawk does not have, as squawk judges it."""
    named: dict[str, tuple[Path, int]] = {}
    for path in paths:
        for number, rule in markers(path, path.read_text(encoding="utf-8").splitlines()):
            if rule.startswith("squawk:"):
                named.setdefault(rule.removeprefix("squawk:"), (path, number))
    if not named:
        return
    result = subprocess.run(
        [executable, f"--exclude={','.join(named)}", "--stdin-filepath", "rules.sql"],
        input="SELECT 1;\n",
        capture_output=True,
        text=True,
    )
    if (unknown := re.search(r"invalid rule name (\S+)", result.stderr)) and unknown[1] in named:
        path, number = named[unknown[1]]
        raise LintInputError(
            f"{shown(path)}:{number}: squawk has no rule {unknown[1]!r} "
            "(its rules: https://squawkhq.com/docs/rules)"
        )

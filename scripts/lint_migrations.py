"""Flag migration operations that are dangerous on a live production database.

Each finding names the file, line, revision and operation, says why it is
dangerous while the app is serving traffic, and what to do instead (after
strong_migrations and squawk). Only ``upgrade()`` is checked: a downgrade is
expected to drop what its upgrade added.

A revision acknowledges a finding it has thought about with a comment on the
operation's line, or the line above it, that names the rule:

    op.drop_column("users", "legacy_flag")  # migration-lint: ignore[drop-column] unused since 2.3

Exit status: 0 when nothing is flagged, 1 when something is, 2 on bad input.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VERSIONS = PROJECT_ROOT / "migrations" / "versions"
MARKER = re.compile(r"#\s*migration-lint:\s*ignore\[([a-z0-9,\s-]+)\]")

RULES: dict[str, tuple[str, str]] = {
    # rule: (why it is dangerous, what to do instead)
    "drop-table": (
        "instances still running the old code fail as soon as the table is gone",
        "stop using the table in code and deploy that first; drop it in a later release",
    ),
    "drop-column": (
        "instances still running the old code select the column and fail",
        "stop using the column in code and deploy that first; drop it in a later release",
    ),
    "rename-table": (
        "instances running the old code still use the old name",
        "create the new table, write to both, backfill, switch reads, then drop the old one",
    ),
    "rename-column": (
        "instances running the old code still use the old name",
        "add the new column, write to both, backfill, switch reads, then drop the old one",
    ),
    "add-not-null-column": (
        "a NOT NULL column without a server default fails on a table that has rows, "
        "and old instances inserting without it fail",
        "give it a server_default, or add it nullable, backfill, then set NOT NULL",
    ),
    "change-column-type": (
        "most type changes rewrite the whole table under an exclusive lock",
        "add a column of the new type, backfill it in batches, then switch to it",
    ),
    "create-index": (
        "CREATE INDEX blocks writes to the table until the index is built",
        "on PostgreSQL pass postgresql_concurrently=True inside "
        "`with op.get_context().autocommit_block():`",
    ),
    "add-unique-constraint": (
        "adding a unique constraint builds its index while blocking writes",
        "on PostgreSQL create a unique index CONCURRENTLY, then "
        "ADD CONSTRAINT ... UNIQUE USING INDEX",
    ),
    "add-foreign-key": (
        "adding a foreign key locks both tables while every row is checked",
        "on PostgreSQL add it NOT VALID, then VALIDATE CONSTRAINT in a separate migration",
    ),
}


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    revision: str
    rule: str
    operation: str

    def __str__(self) -> str:
        why, instead = RULES[self.rule]
        return (
            f"{_shown(self.path)}:{self.line}: revision {self.revision}: {self.rule}: "
            f"{self.operation}: {why}. Instead: {instead}. "
            f"If it is safe here, mark it: # migration-lint: ignore[{self.rule}]"
        )


class LintInputError(Exception):
    """A file could not be read or parsed; the message says which and where."""


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return _keyword(call, name)


def _revision_id(tree: ast.Module) -> str:
    for node in tree.body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        for target in targets:
            if isinstance(target, ast.Name) and target.id == "revision":
                value = _string(getattr(node, "value", None))
                if value:
                    return value
    return "?"


def _upgrade(tree: ast.Module) -> ast.FunctionDef | None:
    return next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == "upgrade"
        ),
        None,
    )


def _batch_tables(upgrade: ast.FunctionDef) -> dict[str, str]:
    """``{"batch_op": "users"}`` for every ``with op.batch_alter_table("users") as batch_op``."""
    aliases: dict[str, str] = {}
    for node in ast.walk(upgrade):
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "batch_alter_table"
                    and isinstance(item.optional_vars, ast.Name)
                ):
                    aliases[item.optional_vars.id] = (
                        _string(_argument(call, 0, "table_name")) or "?"
                    )
    return aliases


def _findings_in_call(
    call: ast.Call, batch_table: str | None, new_tables: set[str]
) -> Iterator[str]:
    """The rules that ``call`` breaks. ``batch_table`` is set for ``batch_op.<operation>``."""
    assert isinstance(call.func, ast.Attribute)
    operation = call.func.attr
    # An operation's table is its first argument, or the batch context's
    # table for batch_op.<operation>; create_* name the object first.
    table = batch_table or _string(_argument(call, 0, "table_name"))
    created_on = batch_table or _string(_argument(call, 1, "table_name"))

    if operation == "drop_table":
        yield "drop-table"
    elif operation == "drop_column":
        yield "drop-column"
    elif operation == "rename_table":
        yield "rename-table"
    elif operation == "alter_column":
        if _keyword(call, "new_column_name") is not None:
            yield "rename-column"
        if _keyword(call, "type_") is not None:
            yield "change-column-type"
    elif operation == "add_column":
        column = _argument(call, 0 if batch_table else 1, "column")
        if (
            isinstance(column, ast.Call)
            and _is_false(_keyword(column, "nullable"))
            and _keyword(column, "server_default") is None
            and table not in new_tables
        ):
            yield "add-not-null-column"
    elif operation == "create_index":
        if created_on not in new_tables and not _is_true(_keyword(call, "postgresql_concurrently")):
            yield "create-index"
    elif operation == "create_unique_constraint":
        if created_on not in new_tables:
            yield "add-unique-constraint"
    elif operation == "create_foreign_key":
        source_table = batch_table or _string(_argument(call, 1, "source_table"))
        if source_table not in new_tables:
            yield "add-foreign-key"


def _acknowledged(lines: list[str], call: ast.Call) -> set[str]:
    """Rules acknowledged by markers on the call's lines or the line above it."""
    end = call.end_lineno or call.lineno
    rules: set[str] = set()
    for number in range(max(call.lineno - 1, 1), end + 1):
        for match in MARKER.finditer(lines[number - 1]):
            rules.update(rule.strip() for rule in match.group(1).split(","))
    return rules


def lint_file(path: Path) -> list[Finding]:
    """The unacknowledged dangerous operations in one revision file."""
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
    except (OSError, UnicodeDecodeError) as error:
        raise LintInputError(f"{_shown(path)}: cannot read: {error}") from None
    except SyntaxError as error:
        raise LintInputError(f"{_shown(path)}:{error.lineno}: {error.msg}") from None
    upgrade = _upgrade(tree)
    if upgrade is None:
        return []
    revision = _revision_id(tree)
    lines = source.splitlines()
    batch_tables = _batch_tables(upgrade)
    calls = [
        node
        for node in ast.walk(upgrade)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and (node.func.value.id == "op" or node.func.value.id in batch_tables)
    ]
    new_tables = {
        name
        for call in calls
        if isinstance(call.func, ast.Attribute)
        and call.func.attr == "create_table"
        and (name := _string(_argument(call, 0, "table_name")))
    }
    findings = []
    for call in sorted(calls, key=lambda node: node.lineno):
        assert isinstance(call.func, ast.Attribute)
        assert isinstance(call.func.value, ast.Name)
        owner = call.func.value.id
        batch_table = batch_tables.get(owner) if owner != "op" else None
        acknowledged = _acknowledged(lines, call)
        operation = ast.get_source_segment(source, call) or call.func.attr
        operation = " ".join(operation.split())
        for rule in _findings_in_call(call, batch_table, new_tables):
            if rule not in acknowledged:
                findings.append(Finding(path, call.lineno, revision, rule, operation))
    return findings


def lint(paths: Sequence[Path]) -> list[Finding]:
    return [finding for path in paths for finding in lint_file(path)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lint_migrations.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        help="revision files to check (default: every file in migrations/versions)",
    )
    args = parser.parse_args(argv)
    paths = args.files or sorted(VERSIONS.glob("*.py"))
    try:
        findings = lint(paths)
    except LintInputError as error:
        print(f"lint_migrations.py: {error}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    checked = f"{len(paths)} revision file{'s' if len(paths) != 1 else ''}"
    if findings:
        print(f"{len(findings)} dangerous operation(s) in {checked}.", file=sys.stderr)
        return 1
    print(f"No dangerous operations in {checked}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

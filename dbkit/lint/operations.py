"""Flag migration operations that are dangerous on a live production database.

Each finding names the file, line, revision and operation, says why it is
dangerous while the app is serving traffic, and what to do instead (after
strong_migrations and squawk). Only ``upgrade()`` is checked, with the
module's functions it calls (and batch contexts they open or are handed): a
downgrade is expected to drop what its upgrade added.

Raw SQL in ``op.execute("...")`` is checked by squawk (the ``dev`` extra), on
the SQL that ``alembic upgrade head --sql`` writes for PostgreSQL; its
findings are named ``squawk:<rule>`` and acknowledged the same way.

A revision acknowledges a finding it has thought about with a comment on the
operation's line, or the line above it, that names the rule:

    op.drop_column("users", "legacy_flag")  # migration-lint: ignore[drop-column] unused since 2.3

What a project accepts is read from the ``[linter]`` table of accepted.toml,
beside env.py: ``zero_downtime = false`` (the app is stopped while migrations
run) keeps only the rules that hold even then, and ``baseline`` lists
findings accepted as they are, so that only new revisions are gated
(``--baseline`` prints the lines for the current findings).

Exit status: 0 when nothing is flagged, 1 when something is, 2 on bad input.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dbkit.database import PROJECT_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

VERSIONS = PROJECT_ROOT / "migrations" / "versions"
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
MARKER = re.compile(r"#\s*migration-lint:\s*ignore\[([a-z0-9,:\s-]+)\]")

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
        "expand and contract: online.expand_rename_column(...) in one release (the new "
        "column, kept in step with the old by a trigger), online.contract_rename_column(...) "
        "once no old instance runs (from dbkit.migrations import online)",
    ),
    "add-not-null-column": (
        "a NOT NULL column without a server default fails on a table that has rows, "
        "and old instances inserting without it fail",
        "give it a server_default, or add it nullable, backfill, then set NOT NULL",
    ),
    "set-not-null": (
        "SET NOT NULL reads the whole table under an exclusive lock on PostgreSQL, "
        "blocking reads and writes until it is done",
        "use online.alter_column(..., nullable=False) (from dbkit.migrations import "
        "online): a CHECK NOT VALID, validated, then SET NOT NULL, which then skips the "
        "scan; autogenerate writes it so for a table that already exists",
    ),
    "backfill-in-migration": (
        "an UPDATE of every row in the migration's transaction locks them all until it "
        "commits, and rewrites the whole table at once",
        "backfill in batches that commit separately, outside the migration "
        '(python scripts/backfill.py TABLE --set "COLUMN = SQL"), then run the schema '
        "change that needs it",
    ),
    "change-column-type": (
        "most type changes rewrite the whole table under an exclusive lock",
        "expand and contract to a column of the new type: "
        'online.expand_rename_column(TABLE, OLD, NEW, NEW_TYPE, using="CAST(...)") in one '
        "release, online.contract_rename_column(...) once no old instance runs "
        "(from dbkit.migrations import online)",
    ),
    "create-index": (
        "CREATE INDEX blocks writes to the table until the index is built",
        "use online.create_index(...) (from dbkit.migrations import online), which "
        "builds it CONCURRENTLY on PostgreSQL; autogenerate writes it so for a table "
        "that already exists",
    ),
    "add-unique-constraint": (
        "adding a unique constraint builds its index while blocking writes",
        "use online.create_unique_constraint(...) (from dbkit.migrations import online): "
        "its index built CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX; "
        "autogenerate writes it so for a table that already exists",
    ),
    "add-foreign-key": (
        "adding a foreign key locks both tables while every row is checked",
        "use online.create_foreign_key(...) (from dbkit.migrations import online): NOT "
        "VALID, then VALIDATE CONSTRAINT in its own transaction on PostgreSQL; "
        "autogenerate writes it so for a table that already exists",
    ),
}


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    revision: str
    rule: str
    operation: str
    # For rules of squawk's, which RULES does not describe: (why, instead).
    explanation: tuple[str, str] | None = None

    def __str__(self) -> str:
        why, instead = self.explanation or RULES[self.rule]
        return (
            f"{_shown(self.path)}:{self.line}: revision {self.revision}: {self.rule}: "
            f"{self.operation}: {why}. Instead: {instead}. "
            f"If it is safe here, mark it: # migration-lint: ignore[{self.rule}]"
        )


class LintInputError(Exception):
    """A file could not be read or parsed; the message says which and where."""


class SquawkUnavailable(Exception):
    """squawk could not run; the message says why. The other rules still ran."""


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


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _call_name(call: ast.expr) -> str | None:
    """``f`` for ``f(...)``, ``batch_alter_table`` for ``op.batch_alter_table(...)``."""
    if not isinstance(call, ast.Call):
        return None
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


@dataclass(frozen=True)
class _Scope:
    """A function reached from upgrade(), and which of its names are batch operations."""

    function: ast.FunctionDef
    # {"batch_op": "users"} for `with op.batch_alter_table("users") as batch_op`,
    # also through a helper that yields one, or a parameter a batch_op was passed to.
    batch_tables: dict[str, str]


def _batch_wrapper_table(function: ast.FunctionDef) -> ast.expr | None:
    """For a helper that yields ``op.batch_alter_table(TABLE)``'s batch_op: TABLE."""
    yielded = {
        node.value.id
        for node in ast.walk(function)
        if isinstance(node, ast.Yield) and isinstance(node.value, ast.Name)
    }
    for node in ast.walk(function):
        if isinstance(node, ast.With):
            for item in node.items:
                if (
                    _call_name(item.context_expr) == "batch_alter_table"
                    and isinstance(item.optional_vars, ast.Name)
                    and item.optional_vars.id in yielded
                ):
                    assert isinstance(item.context_expr, ast.Call)
                    return _argument(item.context_expr, 0, "table_name")
    return None


def _resolve_table(expression: ast.expr | None, function: ast.FunctionDef, call: ast.Call) -> str:
    """The table name ``expression`` stands for: a literal, or a parameter given one."""
    if (name := _string(expression)) is not None:
        return name
    if isinstance(expression, ast.Name):
        parameters = [argument.arg for argument in function.args.args]
        if expression.id in parameters:
            return _string(_argument(call, parameters.index(expression.id), expression.id)) or "?"
    return "?"


def _scopes(tree: ast.Module) -> list[_Scope]:
    """upgrade() and every module function it calls, directly or not, with their batch names."""
    functions = _functions(tree)
    upgrade = functions.get("upgrade")
    if upgrade is None:
        return []
    scopes: list[_Scope] = []
    pending = [_Scope(upgrade, {})]
    seen: set[str] = set()
    while pending:
        scope = pending.pop()
        if scope.function.name in seen:
            continue
        seen.add(scope.function.name)
        aliases = dict(scope.batch_tables)
        for node in ast.walk(scope.function):
            if not isinstance(node, ast.With):
                continue
            for item in node.items:
                call, target = item.context_expr, item.optional_vars
                if not isinstance(call, ast.Call) or not isinstance(target, ast.Name):
                    continue
                name = _call_name(call)
                if name == "batch_alter_table":
                    aliases[target.id] = _string(_argument(call, 0, "table_name")) or "?"
                elif (
                    name in functions
                    and (table := _batch_wrapper_table(functions[name])) is not None
                ):
                    aliases[target.id] = _resolve_table(table, functions[name], call)
        scopes.append(_Scope(scope.function, aliases))
        for node in ast.walk(scope.function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                helper = functions.get(node.func.id)
                if helper is None or helper.name in seen:
                    continue
                # A batch_op passed to a helper is a batch_op inside it too.
                passed = {
                    parameter.arg: aliases[argument.id]
                    for parameter, argument in zip(helper.args.args, node.args, strict=False)
                    if isinstance(argument, ast.Name) and argument.id in aliases
                }
                pending.append(_Scope(helper, passed))
    return scopes


def _is_whole_table_update(call: ast.Call) -> bool:
    """``op.execute("UPDATE t SET ...")`` with no WHERE, or ``sa.update(t).values(...)``."""
    statement = _argument(call, 0, "sqltext")
    if isinstance(statement, ast.Call) and _call_name(statement) == "text":
        statement = _argument(statement, 0, "text")
    if (sql := _string(statement)) is not None:
        return bool(re.match(r"\s*update\b", sql, re.IGNORECASE)) and not re.search(
            r"\bwhere\b", sql, re.IGNORECASE
        )
    # A Core update(): whole-table unless .where(...) appears in the chain.
    names = (
        {
            node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
            for node in ast.walk(statement)
            if statement is not None
        }
        if statement is not None
        else set()
    )
    return "update" in names and "where" not in names


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
        if _is_false(_keyword(call, "nullable")) and table not in new_tables:
            yield "set-not-null"
    elif operation == "execute":
        if _is_whole_table_update(call):
            yield "backfill-in-migration"
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


def _markers(path: Path, lines: list[str]) -> list[tuple[int, str]]:
    """(line, rule) for each rule named in a marker; a rule of this linter must exist.

    A misspelt rule would otherwise acknowledge nothing, silently: the finding
    it was meant for stays, or worse, a later edit relies on a marker that
    never worked. squawk's rules are checked by squawk itself (see squawk()).
    """
    found = []
    for number, line in enumerate(lines, start=1):
        for match in MARKER.finditer(line):
            for rule in filter(None, (rule.strip() for rule in match.group(1).split(","))):
                if not rule.startswith("squawk:") and rule not in RULES:
                    raise LintInputError(
                        f"{_shown(path)}:{number}: no rule {rule!r} in this marker; "
                        f"the rules are {', '.join(RULES)}, and squawk:<rule> for raw SQL"
                    )
                found.append((number, rule))
    return found


def lint_file(path: Path) -> list[Finding]:
    """The unacknowledged dangerous operations in one revision file."""
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
    except (OSError, UnicodeDecodeError) as error:
        raise LintInputError(f"{_shown(path)}: cannot read: {error}") from None
    except SyntaxError as error:
        raise LintInputError(f"{_shown(path)}:{error.lineno}: {error.msg}") from None
    revision = _revision_id(tree)
    lines = source.splitlines()
    _markers(path, lines)
    calls: list[tuple[ast.Call, str | None]] = []  # (call, its batch table or None for op.*)
    for scope in _scopes(tree):
        for node in ast.walk(scope.function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
            ):
                owner = node.func.value.id
                if owner == "op":
                    calls.append((node, None))
                elif owner in scope.batch_tables:
                    calls.append((node, scope.batch_tables[owner]))
    new_tables = {
        name
        for call, batch_table in calls
        if batch_table is None
        and _call_name(call) == "create_table"
        and (name := _string(_argument(call, 0, "table_name")))
    }
    findings = []
    for call, batch_table in sorted(calls, key=lambda item: item[0].lineno):
        acknowledged = _acknowledged(lines, call)
        operation = " ".join(
            (ast.get_source_segment(source, call) or _call_name(call) or "").split()
        )
        for rule in _findings_in_call(call, batch_table, new_tables):
            if rule not in acknowledged:
                findings.append(Finding(path, call.lineno, revision, rule, operation))
    return findings


def lint(paths: Sequence[Path]) -> list[Finding]:
    return [finding for path in paths for finding in lint_file(path)]


# What the project accepts (accepted.toml, beside env.py) ------------------------------

# Rules that hold even with the app stopped: the others protect a live app.
ALWAYS = {"add-not-null-column"}


@dataclass(frozen=True)
class Policy:
    """The ``[linter]`` table of accepted.toml."""

    zero_downtime: bool = True
    baseline: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: Path) -> Policy:
        if not path.is_file():
            return cls()
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("linter", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise LintInputError(f"{_shown(path)}: {error}") from None
        unknown = set(table) - {"zero_downtime", "baseline"}
        if unknown:
            raise LintInputError(f"{_shown(path)}: [linter] has no setting {sorted(unknown)[0]!r}")
        zero_downtime = table.get("zero_downtime", True)
        baseline = table.get("baseline", [])
        if not isinstance(zero_downtime, bool):
            raise LintInputError(f"{_shown(path)}: [linter] zero_downtime must be true or false")
        if not isinstance(baseline, list) or not all(isinstance(b, str) for b in baseline):
            raise LintInputError(f"{_shown(path)}: [linter] baseline must be a list of strings")
        return cls(zero_downtime, frozenset(baseline))

    def keeps(self, finding: Finding) -> bool:
        if not self.zero_downtime and finding.rule not in ALWAYS:
            return False
        return baseline_entry(finding) not in self.baseline


def baseline_entry(finding: Finding) -> str:
    """How a finding is listed in ``[linter] baseline``: stable when lines move."""
    return f"{finding.revision}: {finding.rule}: {finding.operation}"


def accepted_file(paths: Sequence[Path]) -> Path:
    """accepted.toml beside env.py: one level above the revision files' versions/ folder."""
    folder = paths[0].resolve().parent if paths else VERSIONS
    return folder.parent / "accepted.toml"


# Raw SQL, through squawk ------------------------------------------------------------

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


def _normalized(sql: str) -> str:
    return " ".join(sql.split()).rstrip(";").strip()


@dataclass(frozen=True)
class _RawSql:
    """An ``op.execute`` of literal SQL: where it is, and the rules its markers acknowledge."""

    line: int
    acknowledged: set[str]


def _raw_sql_calls(path: Path) -> tuple[str, dict[str, _RawSql]]:
    """(revision, {normalized SQL: its call}) for each literal ``op.execute`` in upgrade()."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    lines = source.splitlines()
    found: dict[str, _RawSql] = {}
    for scope in _scopes(tree):
        for node in ast.walk(scope.function):
            if (
                isinstance(node, ast.Call)
                and _call_name(node) == "execute"
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "op"
            ):
                statement = _argument(node, 0, "sqltext")
                if isinstance(statement, ast.Call) and _call_name(statement) == "text":
                    statement = _argument(statement, 0, "text")
                if (sql := _string(statement)) is not None:
                    found[_normalized(sql)] = _RawSql(node.lineno, _acknowledged(lines, node))
    return _revision_id(tree), found


def _offline_statements(alembic_ini: Path) -> list[tuple[str, str]]:
    """(revision, statement) for each statement of ``alembic upgrade head --sql`` on PostgreSQL."""
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(alembic_ini), "upgrade", "head", "--sql"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": OFFLINE_URL},
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
            statements.append((revision, _normalized("\n".join(pending))))
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
    by_revision: dict[str, tuple[Path, dict[str, _RawSql]]] = {}
    for path in paths:
        revision, calls = _raw_sql_calls(path)
        by_revision[revision] = (path, calls)
    checked: list[tuple[Path, str, _RawSql, str]] = []  # (file, revision, call, statement)
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
        for number, rule in _markers(path, path.read_text(encoding="utf-8").splitlines()):
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
            f"{_shown(path)}:{number}: squawk has no rule {unknown[1]!r} "
            "(its rules: https://squawkhq.com/docs/rules)"
        )


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
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=ALEMBIC_INI,
        help="the alembic.ini of the history, for squawk's offline SQL (default: the project's)",
    )
    parser.add_argument("--no-squawk", action="store_true", help="do not check raw SQL with squawk")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="print every finding as a line for [linter] baseline in accepted.toml, and exit",
    )
    args = parser.parse_args(argv)
    paths = args.files or sorted(VERSIONS.glob("*.py"))
    try:
        policy = Policy.load(accepted_file(paths))
        findings = lint(paths)
        if not args.no_squawk and (policy.zero_downtime or args.baseline):
            findings += _squawk_or_say_why_not(paths, args.config)
    except LintInputError as error:
        print(f"lint_migrations.py: {error}", file=sys.stderr)
        return 2
    if args.baseline:
        print("baseline = [")
        for finding in findings:
            print(f"    {json.dumps(baseline_entry(finding))},")
        print("]")
        return 0
    findings = [finding for finding in findings if policy.keeps(finding)]
    for finding in sorted(findings, key=lambda finding: (str(finding.path), finding.line)):
        print(finding)
    checked = f"{len(paths)} revision file{'s' if len(paths) != 1 else ''}"
    if findings:
        print(f"{len(findings)} dangerous operation(s) in {checked}.", file=sys.stderr)
        return 1
    print(f"No dangerous operations in {checked}.")
    return 0


def _squawk_or_say_why_not(paths: Sequence[Path], alembic_ini: Path) -> list[Finding]:
    executable = shutil.which("squawk")
    try:
        if executable is None:
            raise SquawkUnavailable("it is not installed (pip install -e '.[dev]')")
        return squawk(paths, alembic_ini, executable)
    except SquawkUnavailable as error:
        print(
            f"lint_migrations.py: raw SQL in op.execute was not checked with squawk: {error}",
            file=sys.stderr,
        )
        return []


if __name__ == "__main__":
    sys.exit(main())

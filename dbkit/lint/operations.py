"""The operations each revision's ``upgrade()`` runs, read from its source (not run).

Only ``upgrade()`` is checked, with the module's functions it calls (and batch
contexts they open or are handed): a downgrade is expected to drop what its
upgrade added. A marker on the operation's line, or the line above it,
acknowledges a finding by its rule's name.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dbkit.lint.rules import RULES, Finding, LintInputError, shown

MARKER = re.compile(r"#\s*migration-lint:\s*ignore\[([a-z0-9,:\s-]+)\]")


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


# dbkit.migrations.online's steps that commit on their own (an autocommit block),
# and op.* calls that do no work.
COMMITTING_STEPS = {"create_index", "drop_index", "create_foreign_key", "create_unique_constraint"}
NO_WORK = {"f", "get_bind", "get_context", "batch_alter_table", "inline_literal"}


def _online_steps_after_work(upgrade: _Scope) -> list[ast.Call]:
    """The calls in upgrade() of an online step that commits what came before it."""
    called = sorted(
        (
            node
            for node in ast.walk(upgrade.function)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
        ),
        key=lambda node: (node.lineno, node.col_offset),
    )
    found, worked = [], False
    for call in called:
        assert isinstance(call.func, ast.Attribute)
        assert isinstance(call.func.value, ast.Name)
        owner, name = call.func.value.id, call.func.attr
        commits = owner == "online" and (
            name in COMMITTING_STEPS
            or (name == "alter_column" and _is_false(_keyword(call, "nullable")))
        )
        # A foreign key dropped online finds its work done when run again, as
        # the committing steps do: it is no work that a rerun would repeat.
        finds_it_done = commits or (
            owner == "online"
            and name == "drop_constraint"
            and _string(_argument(call, 2, "type_")) == "foreignkey"
        )
        if commits and worked:
            found.append(call)
        elif owner == "online" or (owner == "op" and name not in NO_WORK):
            worked = worked or not finds_it_done
        elif owner in upgrade.batch_tables:
            worked = True
    return found


def _acknowledged(lines: list[str], call: ast.Call) -> set[str]:
    """Rules acknowledged by markers on the call's lines or the line above it."""
    end = call.end_lineno or call.lineno
    rules: set[str] = set()
    for number in range(max(call.lineno - 1, 1), end + 1):
        for match in MARKER.finditer(lines[number - 1]):
            rules.update(rule.strip() for rule in match.group(1).split(","))
    return rules


def markers(path: Path, lines: list[str]) -> list[tuple[int, str]]:
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
                        f"{shown(path)}:{number}: no rule {rule!r} in this marker; "
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
        raise LintInputError(f"{shown(path)}: cannot read: {error}") from None
    except SyntaxError as error:
        raise LintInputError(f"{shown(path)}:{error.lineno}: {error.msg}") from None
    revision = _revision_id(tree)
    lines = source.splitlines()
    markers(path, lines)
    calls: list[tuple[ast.Call, str | None]] = []  # (call, its batch table or None for op.*)
    scopes = _scopes(tree)
    for scope in scopes:
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
    steps = _online_steps_after_work(scopes[0]) if scopes else []
    calls += [(step, None) for step in steps]
    findings = []
    for call, batch_table in sorted(calls, key=lambda item: item[0].lineno):
        acknowledged = _acknowledged(lines, call)
        operation = " ".join(
            (ast.get_source_segment(source, call) or _call_name(call) or "").split()
        )
        rules = ["online-step-after-work"] if call in steps else []
        for rule in rules or _findings_in_call(call, batch_table, new_tables):
            if rule not in acknowledged:
                findings.append(Finding(path, call.lineno, revision, rule, operation))
    return findings


def lint(paths: Sequence[Path]) -> list[Finding]:
    return [finding for path in paths for finding in lint_file(path)]


# Literal SQL in op.execute, which squawk checks ----------------------------------------


def normalized(sql: str) -> str:
    """One statement, spaced as the offline SQL and the revision both normalize to."""
    return " ".join(sql.split()).rstrip(";").strip()


@dataclass(frozen=True)
class RawSql:
    """An ``op.execute`` of literal SQL: where it is, and the rules its markers acknowledge."""

    line: int
    acknowledged: set[str]


def raw_sql_calls(path: Path) -> tuple[str, dict[str, RawSql]]:
    """(revision, {normalized SQL: its call}) for each literal ``op.execute`` in upgrade()."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    lines = source.splitlines()
    found: dict[str, RawSql] = {}
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
                    found[normalized(sql)] = RawSql(node.lineno, _acknowledged(lines, node))
    return _revision_id(tree), found

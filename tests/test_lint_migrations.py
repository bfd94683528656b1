"""scripts/lint_migrations.py: the shipped history is clean, and every rule fires."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import lint_migrations
from models.database import PROJECT_ROOT
from tests.histories import add_revision

LINTER = str(PROJECT_ROOT / "scripts" / "lint_migrations.py")

# rule -> an upgrade body that breaks it (users exists already; audit is new)
DANGEROUS = {
    "drop-table": 'op.drop_table("users")',
    "drop-column": 'op.drop_column("users", "full_name")',
    "rename-table": 'op.rename_table("users", "accounts")',
    "rename-column": 'op.alter_column("users", "full_name", new_column_name="name")',
    "add-not-null-column": (
        'op.add_column("users", sa.Column("age", sa.Integer(), nullable=False))'
    ),
    "change-column-type": 'op.alter_column("users", "full_name", type_=sa.Text())',
    "create-index": 'op.create_index("ix_users_full_name", "users", ["full_name"])',
    "add-unique-constraint": (
        'op.create_unique_constraint("uq_users_full_name", "users", ["full_name"])'
    ),
    "add-foreign-key": (
        'op.create_foreign_key("fk_users_id_people", "users", "people", ["id"], ["id"])'
    ),
}

# The same operations in batch mode, as autogenerate writes them.
BATCH_DANGEROUS = {
    "drop-column": 'batch_op.drop_column("full_name")',
    "rename-column": 'batch_op.alter_column("full_name", new_column_name="name")',
    "add-not-null-column": 'batch_op.add_column(sa.Column("age", sa.Integer(), nullable=False))',
    "change-column-type": 'batch_op.alter_column("full_name", type_=sa.Text())',
    "create-index": 'batch_op.create_index("ix_users_full_name", ["full_name"])',
    "add-unique-constraint": 'batch_op.create_unique_constraint("uq_users_x", ["full_name"])',
    "add-foreign-key": 'batch_op.create_foreign_key("fk_x", "people", ["id"], ["id"])',
}

SAFE = {
    "nullable column": 'op.add_column("users", sa.Column("age", sa.Integer(), nullable=True))',
    "not null with a server default": (
        'op.add_column("users", sa.Column("age", sa.Integer(), nullable=False, server_default="0"))'
    ),
    "concurrent index": """
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_users_full_name", "users", ["full_name"], postgresql_concurrently=True
            )
        """,
    "everything on a table created in the same revision": """
        op.create_table("audit", sa.Column("id", sa.Integer, primary_key=True))
        op.add_column("audit", sa.Column("at", sa.DateTime(), nullable=False))
        op.create_index("ix_audit_at", "audit", ["at"])
        op.create_unique_constraint("uq_audit_at", "audit", ["at"])
        op.create_foreign_key("fk_audit_id_users", "audit", "users", ["id"], ["id"])
        """,
}


def lint_body(history: Path, body: str, revision: str = "11e700000001") -> list[str]:
    path = add_revision(history, revision, None, body, "pass")
    return [finding.rule for finding in lint_migrations.lint_file(path)]


def test_the_shipped_migrations_pass() -> None:
    result = subprocess.run(
        [sys.executable, LINTER], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert result.returncode == 0, result.stdout
    assert "No dangerous operations" in result.stdout


@pytest.mark.parametrize(("rule", "body"), DANGEROUS.items(), ids=DANGEROUS.keys())
def test_each_rule_fires(history: Path, rule: str, body: str) -> None:
    assert lint_body(history, body) == [rule]


@pytest.mark.parametrize(("rule", "body"), BATCH_DANGEROUS.items(), ids=BATCH_DANGEROUS.keys())
def test_each_rule_fires_in_batch_mode(history: Path, rule: str, body: str) -> None:
    batch = 'with op.batch_alter_table("users") as batch_op:\n    ' + body
    assert lint_body(history, batch) == [rule]


@pytest.mark.parametrize("body", SAFE.values(), ids=SAFE.keys())
def test_safe_operations_pass(history: Path, body: str) -> None:
    assert lint_body(history, body) == []


def test_downgrades_are_not_checked(history: Path) -> None:
    path = add_revision(history, "11e700000002", None, "pass", 'op.drop_table("users")')
    assert lint_migrations.lint_file(path) == []


def test_a_marker_acknowledges_only_the_rule_it_names(history: Path) -> None:
    acknowledged = 'op.drop_column("users", "full_name")  # migration-lint: ignore[drop-column] ok'
    assert lint_body(history, acknowledged) == []
    above = '# migration-lint: ignore[drop-table] archived in 2.3\nop.drop_table("users")'
    assert lint_body(history, above, "11e700000003") == []
    wrong_rule = 'op.drop_column("users", "full_name")  # migration-lint: ignore[drop-table]'
    assert lint_body(history, wrong_rule, "11e700000004") == ["drop-column"]


def test_a_finding_names_file_line_revision_operation_and_alternative(history: Path) -> None:
    path = add_revision(history, "11e700000005", None, DANGEROUS["drop-column"], "pass")
    result = subprocess.run(
        [sys.executable, LINTER, str(path)], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert result.returncode == 1
    line = result.stdout.strip()
    assert line.startswith(f"{path}:13: revision 11e700000005: drop-column: ")
    assert 'op.drop_column("users", "full_name")' in line
    assert "Instead: stop using the column in code" in line
    assert "# migration-lint: ignore[drop-column]" in line


def test_an_unparseable_file_is_one_clear_line(history: Path) -> None:
    path = history / "versions" / "broken.py"
    path.write_text("def upgrade(:\n")
    result = subprocess.run(
        [sys.executable, LINTER, str(path)], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"lint_migrations.py: {path}:1: ")
    assert len(result.stderr.strip().splitlines()) == 1

"""scripts/lint_migrations.py: the shipped history is clean, and every rule fires."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbkit.database import PROJECT_ROOT
from dbkit.lint import lint_file
from dbkit.testing.histories import UPGRADE_LINE, History

# The linter reads files and needs no database: these run once, in the SQLite run.
pytestmark = pytest.mark.no_database

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
    "set-not-null": 'op.alter_column("users", "full_name", nullable=False)',
    "backfill-in-migration": 'op.execute("UPDATE users SET full_name = username")',
    "create-index": 'op.create_index("ix_users_full_name", "users", ["full_name"])',
    "add-unique-constraint": (
        'op.create_unique_constraint("uq_users_full_name", "users", ["full_name"])'
    ),
    "add-foreign-key": (
        'op.create_foreign_key("fk_users_id_people", "users", "people", ["id"], ["id"])'
    ),
    "online-step-after-work": """
        from dbkit.migrations import online
        op.add_column("users", sa.Column("age", sa.Integer(), nullable=True))
        online.create_index("ix_users_age", "users", ["age"])
        """,
}

# The same operations in batch mode, as autogenerate writes them.
BATCH_DANGEROUS = {
    "drop-column": 'batch_op.drop_column("full_name")',
    "rename-column": 'batch_op.alter_column("full_name", new_column_name="name")',
    "add-not-null-column": 'batch_op.add_column(sa.Column("age", sa.Integer(), nullable=False))',
    "change-column-type": 'batch_op.alter_column("full_name", type_=sa.Text())',
    "set-not-null": 'batch_op.alter_column("full_name", nullable=False)',
    "create-index": 'batch_op.create_index("ix_users_full_name", ["full_name"])',
    "add-unique-constraint": 'batch_op.create_unique_constraint("uq_users_x", ["full_name"])',
    "add-foreign-key": 'batch_op.create_foreign_key("fk_x", "people", ["id"], ["id"])',
}

SAFE = {
    "nullable column": 'op.add_column("users", sa.Column("age", sa.Integer(), nullable=True))',
    "making a column nullable": 'op.alter_column("users", "full_name", nullable=True)',
    "an update of some rows": 'op.execute("UPDATE users SET full_name = NULL WHERE id < 1000")',
    "a core update with a where clause": (
        'op.execute(sa.update(sa.table("users", sa.column("id"))).where(sa.column("id") < 9))'
    ),
    "not null with a server default": (
        'op.add_column("users", sa.Column("age", sa.Integer(), nullable=False, server_default="0"))'
    ),
    "concurrent index": """
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_users_full_name", "users", ["full_name"], postgresql_concurrently=True
            )
        """,
    "online steps only, index drops first": """
        from dbkit.migrations import online
        online.drop_index("ix_users_email", table_name="users")
        online.create_index(op.f("ix_users_age"), "users", ["age"])
        online.create_foreign_key("fk_users_id_people", "users", "people", ["id"], ["id"])
        online.alter_column("users", "full_name", nullable=False)
        """,
    "online key and index drops before the work": """
        from dbkit.migrations import online
        online.drop_constraint("fk_users_id_people", "users", type_="foreignkey")
        online.drop_index("ix_users_email", table_name="users")
        op.add_column("users", sa.Column("age", sa.Integer(), nullable=True))
        """,
    "online index drops before the work": """
        from dbkit.migrations import online
        online.drop_index("ix_users_email", table_name="users")
        op.add_column("users", sa.Column("age", sa.Integer(), nullable=True))
        """,
    "everything on a table created in the same revision": """
        op.create_table("audit", sa.Column("id", sa.Integer, primary_key=True))
        op.add_column("audit", sa.Column("at", sa.DateTime(), nullable=False))
        op.create_index("ix_audit_at", "audit", ["at"])
        op.create_unique_constraint("uq_audit_at", "audit", ["at"])
        op.create_foreign_key("fk_audit_id_users", "audit", "users", ["id"], ["id"])
        """,
}


def lint_body(history: History, body: str, revision: str = "11e700000001") -> list[str]:
    path = history.file(history.add(body, revision=revision, down_revision=None))
    return [finding.rule for finding in lint_file(path)]


def test_the_shipped_migrations_pass() -> None:
    result = subprocess.run(
        [sys.executable, LINTER], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert result.returncode == 0, result.stdout
    assert "No dangerous operations" in result.stdout


@pytest.mark.parametrize(("rule", "body"), DANGEROUS.items(), ids=DANGEROUS.keys())
def test_each_rule_fires(history: History, rule: str, body: str) -> None:
    assert lint_body(history, body) == [rule]


@pytest.mark.parametrize(("rule", "body"), BATCH_DANGEROUS.items(), ids=BATCH_DANGEROUS.keys())
def test_each_rule_fires_in_batch_mode(history: History, rule: str, body: str) -> None:
    batch = 'with op.batch_alter_table("users") as batch_op:\n    ' + body
    assert lint_body(history, batch) == [rule]


def test_a_core_update_of_every_row_is_a_backfill(history: History) -> None:
    body = 'op.execute(sa.update(sa.table("users", sa.column("n"))).values(n=0))'
    assert lint_body(history, body) == ["backfill-in-migration"]


HELPERS = """\
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "4e1e00000001"
down_revision = None


@contextmanager
def altering(table):
    with op.batch_alter_table(table) as batch_op:
        yield batch_op


def add_flag(batch_op):
    batch_op.add_column(sa.Column("flag", sa.Boolean(), nullable=False))


def retire(table, column):
    op.drop_column(table, column)


def upgrade() -> None:
    with altering("users") as users:
        users.alter_column("full_name", type_=sa.Text())
        add_flag(users)
    retire("posts", "legacy")


def unused() -> None:
    op.drop_table("users")
"""


def test_operations_in_helpers_and_batch_wrappers_are_seen(tmp_path: Path) -> None:
    """Revisions that tidy their work into functions are checked as closely."""
    path = tmp_path / "4e1e00000001_helpers.py"
    path.write_text(HELPERS)
    found = [(finding.line, finding.rule) for finding in lint_file(path)]
    assert found == [(17, "add-not-null-column"), (21, "drop-column"), (26, "change-column-type")]


@pytest.mark.parametrize("body", SAFE.values(), ids=SAFE.keys())
def test_safe_operations_pass(history: History, body: str) -> None:
    assert lint_body(history, body) == []


def test_downgrades_are_not_checked(history: History) -> None:
    path = history.file(
        history.add("pass", 'op.drop_table("users")', revision="11e700000002", down_revision=None)
    )
    assert lint_file(path) == []


def test_a_marker_acknowledges_only_the_rule_it_names(history: History) -> None:
    acknowledged = 'op.drop_column("users", "full_name")  # migration-lint: ignore[drop-column] ok'
    assert lint_body(history, acknowledged) == []
    above = '# migration-lint: ignore[drop-table] archived in 2.3\nop.drop_table("users")'
    assert lint_body(history, above, "11e700000003") == []
    wrong_rule = 'op.drop_column("users", "full_name")  # migration-lint: ignore[drop-table]'
    assert lint_body(history, wrong_rule, "11e700000004") == ["drop-column"]


def test_a_finding_names_file_line_revision_operation_and_alternative(history: History) -> None:
    path = history.file(
        history.add(DANGEROUS["drop-column"], revision="11e700000005", down_revision=None)
    )
    result = subprocess.run(
        [sys.executable, LINTER, str(path)], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert result.returncode == 1
    line = result.stdout.strip()
    assert line.startswith(f"{path}:{UPGRADE_LINE}: revision 11e700000005: drop-column: ")
    assert 'op.drop_column("users", "full_name")' in line
    assert "Instead: stop using the column in code" in line
    assert "# migration-lint: ignore[drop-column]" in line


def test_an_unparseable_file_is_one_clear_line(history: History) -> None:
    path = history.versions / "broken.py"
    path.write_text("def upgrade(:\n")
    result = subprocess.run(
        [sys.executable, LINTER, str(path)], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"lint_migrations.py: {path}:1: ")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("marker", "problem"),
    [
        ("ignore[create-index-non-concurrently]", "no rule 'create-index-non-concurrently'"),
        ("ignore[drop-column, dorp-table]", "no rule 'dorp-table'"),
        ("ignore[squawk:require-concurrent-index]", "squawk has no rule"),
    ],
)
def test_a_marker_naming_an_unknown_rule_is_one_line_naming_it(
    history: History, marker: str, problem: str
) -> None:
    """A misspelt rule would acknowledge nothing, silently."""
    path = history.file(
        history.add(
            f'op.drop_column("users", "full_name")  # migration-lint: {marker}\n'
            'op.execute("CREATE INDEX ix_users_full_name ON users (full_name)")',
            down_revision=None,
        )
    )
    result = run_linter(str(path))
    assert result.returncode == 2, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"lint_migrations.py: {path}:{UPGRADE_LINE}: ")
    assert problem in line


# Raw SQL, through squawk --------------------------------------------------------------

RAW_SQL = """
op.execute(
    "ALTER TABLE accounts ADD CONSTRAINT fk_owner "
    "FOREIGN KEY (owner_id) REFERENCES accounts (id)"
)
# migration-lint: ignore[squawk:require-concurrent-index-creation] an empty table
op.execute(sa.text("CREATE INDEX ix_accounts_owner ON accounts (owner_id)"))
op.execute("UPDATE accounts SET owner_id = id WHERE id < 100")
"""


def run_linter(
    *args: str, path: str | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **settings, **({"PATH": path} if path is not None else {})}
    return subprocess.run(
        [sys.executable, LINTER, *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=environment,
        timeout=120,
    )


def test_raw_sql_is_checked_by_squawk_at_its_line(history: History) -> None:
    history.add('op.execute("CREATE TABLE accounts (id integer PRIMARY KEY, owner_id integer)")')
    revision = history.add(RAW_SQL, revision="5a11a0000001")
    path = history.file(revision)
    result = run_linter("--config", str(history.ini), str(path))
    assert result.returncode == 1, result.stderr
    findings = result.stdout.strip().splitlines()
    prefix = f"{path}:{UPGRADE_LINE}: revision {revision}: "
    assert sorted(line.split(": ")[2] for line in findings) == [
        "squawk:adding-foreign-key-constraint",
        "squawk:constraint-missing-not-valid",
    ]
    assert all(line.startswith(prefix) for line in findings)
    assert "ignore[squawk:adding-foreign-key-constraint]" in result.stdout


def test_squawk_reads_the_postgresql_sql_wherever_migrations_run(
    history: History, tmp_path: Path
) -> None:
    """MIGRATION_DATABASE_URL (here SQLite, whose offline SQL cannot alter a column in
    batch mode without reading the table) does not choose the SQL squawk reads: the
    linter writes it for PostgreSQL."""
    history.add(
        'op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), '
        'sa.Column("email", sa.String(100)))'
    )
    path = history.file(
        history.add(
            'with op.batch_alter_table("users") as batch_op:\n'
            '    batch_op.alter_column("email", existing_type=sa.String(100), nullable=True)\n'
            'op.execute("CREATE INDEX ix_users_email ON users (email)")'
        )
    )
    sqlite = f"sqlite:///{tmp_path / 'app.db'}"
    result = run_linter(
        "--config", str(history.ini), str(path), DATABASE_URL=sqlite, MIGRATION_DATABASE_URL=sqlite
    )
    assert "not checked with squawk" not in result.stderr, result.stderr
    assert "squawk:require-concurrent-index-creation" in result.stdout


def test_without_squawk_the_other_rules_still_run_and_say_so(history: History) -> None:
    path = history.file(history.add(DANGEROUS["drop-column"], down_revision=None))
    result = run_linter(str(path), path=str(Path(sys.executable).parent.parent / "no-such-bin"))
    assert result.returncode == 1
    assert "drop-column" in result.stdout
    assert "not checked with squawk: it is not installed" in result.stderr


# What a project accepts: [linter] in accepted.toml ----------------------------------------


def test_a_baseline_accepts_the_findings_of_today_and_gates_new_ones(history: History) -> None:
    history.add(DANGEROUS["drop-column"], down_revision=None)
    history.add(DANGEROUS["rename-table"])
    baseline = run_linter("--baseline", *map(str, sorted(history.versions.glob("*.py"))))
    assert baseline.returncode == 0, baseline.stderr
    (history.location / "accepted.toml").write_text("[linter]\n" + baseline.stdout)
    files = sorted(history.versions.glob("*.py"))
    assert run_linter("--no-squawk", *map(str, files)).returncode == 0

    new = history.file(history.add(DANGEROUS["drop-table"]))
    result = run_linter("--no-squawk", *map(str, [*files, new]))
    assert result.returncode == 1
    [finding] = result.stdout.strip().splitlines()
    assert finding.startswith(f"{new}:")
    assert ": drop-table: " in finding


def test_without_zero_downtime_only_rules_that_hold_with_the_app_stopped_remain(
    history: History,
) -> None:
    path = history.file(
        history.add(
            DANGEROUS["drop-column"] + "\n" + DANGEROUS["add-not-null-column"], down_revision=None
        )
    )
    (history.location / "accepted.toml").write_text("[linter]\nzero_downtime = false\n")
    result = run_linter(str(path))
    assert result.returncode == 1
    [finding] = result.stdout.strip().splitlines()
    assert ": add-not-null-column: " in finding


def test_a_malformed_linter_policy_is_one_line(history: History) -> None:
    path = history.file(history.add("pass", down_revision=None))
    (history.location / "accepted.toml").write_text("[linter]\nzero_downtime = 'no'\n")
    result = run_linter(str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"lint_migrations.py: {history.location / 'accepted.toml'}: "
        "[linter] zero_downtime must be true or false"
    )

"""The linter's rules: why each operation is dangerous on a live database, and what to do
instead (after strong_migrations and squawk), and the finding that names them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dbkit.database import PROJECT_ROOT

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
    "online-step-after-work": (
        "an online step commits on its own on PostgreSQL, and with it the revision's work "
        "before it; if the step then fails (a duplicate, a row that refers to nothing), "
        "running the revision again repeats that work and fails on it",
        "move the online steps to a revision of their own that follows this one "
        "(autogenerate writes them so)",
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
            f"{shown(self.path)}:{self.line}: revision {self.revision}: {self.rule}: "
            f"{self.operation}: {why}. Instead: {instead}. "
            f"If it is safe here, mark it: # migration-lint: ignore[{self.rule}]"
        )


class LintInputError(Exception):
    """A file could not be read or parsed; the message says which and where."""


def shown(path: Path) -> str:
    """``path`` relative to the project, as findings and errors name it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)

"""Rules every model follows, whatever the project's models are."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from sqlalchemy import (
    URL,
    CheckConstraint,
    Column,
    Constraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    inspect,
    make_url,
)

import models
from dbkit.safety_net.checks import connected
from dbkit.testing import commands
from dbkit.testing.histories import History
from models import Base
from models.base import NAMING_CONVENTION


@pytest.mark.no_database
def test_every_model_module_is_imported_by_the_package() -> None:
    """Alembic sees only the models that `import models` registers."""
    registered = set(Base.metadata.tables)
    for module in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"models.{module.name}")
    missing = set(Base.metadata.tables) - registered
    assert not missing, f"import the modules of {sorted(missing)} in models/__init__.py"


# The kinds of constraint a naming convention names, by its keys.
KINDS = {
    "pk": PrimaryKeyConstraint,
    "uq": UniqueConstraint,
    "fk": ForeignKeyConstraint,
    "ix": Index,
}


def left_to_the_backend(metadata: MetaData) -> list[str]:
    """Constraints and indexes that would get a name the backend makes up.

    Under a naming convention, every kind it covers must end up named, and a
    CHECK always (it has no columns to build a name from). A project that
    keeps the backend's own names ({}: an adopted history written without a
    convention) has chosen them, and nothing is demanded.
    """
    convention = metadata.naming_convention
    if set(convention) <= {"ix"}:  # SQLAlchemy's default, which names indexes only
        return []
    kinds = (*(kind for key, kind in KINDS.items() if key in convention), CheckConstraint)
    items: list[Constraint | Index] = []
    for table in metadata.tables.values():
        items += table.constraints
        items += table.indexes
    # A name is a string; unnamed is None, or a marker object for the
    # constraints that Boolean and Enum types create.
    return [
        f"{item.table}: {item!r}"
        for item in items
        if isinstance(item, kinds) and not isinstance(item.name, str)
    ]


@pytest.mark.no_database
def test_every_constraint_and_index_has_a_name() -> None:
    """Unnamed, each backend would invent a name, and a later drop would work on one only."""
    unnamed = left_to_the_backend(Base.metadata)
    assert not unnamed, f"give these a name= (CHECK constraints always need one): {unnamed}"


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("convention", "unnamed"),
    [
        (NAMING_CONVENTION, ["runs: Check"]),
        ({"fk": "fk_%(table_name)s"}, ["runs: Check"]),
        ({}, []),
    ],
    ids=["the template's", "one of its own", "the backend's names"],
)
def test_the_naming_rule_follows_the_projects_convention(
    convention: dict[str, str], unnamed: list[str]
) -> None:
    metadata = MetaData(naming_convention=convention)
    Table(
        "runs",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("state", String(10)),
        CheckConstraint("state IN ('queued', 'done')"),
    )
    found = left_to_the_backend(metadata)
    assert [line.split("(")[0].replace("Constraint", "") for line in found] == unnamed


@pytest.mark.no_database
def test_the_convention_never_rewrites_a_name_given_in_full() -> None:
    """%(constraint_name)s would make Alembic rename constraints in existing revisions."""
    assert not any("constraint_name" in pattern for pattern in NAMING_CONVENTION.values())


def add_runs_with_a_check_named_status(history: History) -> str:
    # As a revision written before the convention would have left it: a CHECK
    # named plainly "status". Then a revision drops it by that name.
    history.add(
        """
        op.execute(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY, state VARCHAR(10), "
            "CONSTRAINT status CHECK (state IN ('queued', 'done')))"
        )
        """,
        'op.drop_table("runs")',
    )
    return history.add('op.drop_constraint("status", "runs", type_="check")')


@pytest.mark.no_database
def test_a_constraint_named_in_a_revision_keeps_its_name_in_sql(history: History) -> None:
    add_runs_with_a_check_named_status(history)
    result = commands.alembic_here(
        "upgrade",
        "head",
        "--sql",
        ini=history.ini,
        database=make_url("postgresql+psycopg://nobody@db.invalid/app"),
    )
    assert result.returncode == 0, result.stderr
    assert "ALTER TABLE runs DROP CONSTRAINT status" in result.stdout


@pytest.mark.backends("postgresql", "mysql")
def test_a_constraint_named_in_a_revision_is_dropped_by_that_name(
    history: History, empty_database_url: URL
) -> None:
    add_runs_with_a_check_named_status(history)
    result = commands.alembic_here("upgrade", "head", ini=history.ini, database=empty_database_url)
    assert result.returncode == 0, result.stderr
    with connected(empty_database_url) as connection:
        assert inspect(connection).get_check_constraints("runs") == []

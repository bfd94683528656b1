"""The project's migrations build the schema its models describe, and can be undone."""

from sqlalchemy import URL, inspect

from dbkit.database import make_engine
from dbkit.testing import commands
from models import Base


def table_names(url: URL) -> set[str]:
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_upgrade_downgrade_upgrade(empty_database_url: URL) -> None:
    every_table = set(Base.metadata.tables) | {"alembic_version"}
    for step, expected in [
        ("upgrade", every_table),
        ("downgrade", {"alembic_version"}),
        ("upgrade", every_table),
    ]:
        target = "head" if step == "upgrade" else "base"
        result = commands.alembic_here(step, target, database=empty_database_url)
        assert result.returncode == 0, result.stderr
        assert table_names(empty_database_url) == expected


def test_alembic_check_finds_no_drift(empty_database_url: URL) -> None:
    assert commands.alembic_here("upgrade", "head", database=empty_database_url).returncode == 0
    result = commands.alembic_here("check", database=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr

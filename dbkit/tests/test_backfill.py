"""scripts/backfill.py: a column filled in keyset batches, a commit each, resumable, on
tables of the tests' own (a single and a composite primary key)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import URL, Column, Engine, Integer, MetaData, String, Table, insert, select

from dbkit.database import make_engine
from dbkit.migrations.backfill import (
    Backfill,
    BackfillError,
    Progress,
    main,
    parse_assignment,
    run_backfill,
)
from dbkit.testing import commands

ROWS = 10
metadata = MetaData()
ITEMS = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False),
    Column("slug", String(20)),
)
# A composite key, ordered on its second part first in places.
CELLS = Table(
    "cells",
    metadata,
    Column("sheet", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("label", String(20)),
)


@pytest.fixture
def engine(empty_database_url: URL) -> Iterator[Engine]:
    engine = make_engine(empty_database_url)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(ITEMS), [{"name": f"Item {n}", "slug": None} for n in range(1, ROWS + 1)]
        )
        connection.execute(
            insert(CELLS),
            [{"sheet": sheet, "position": position} for sheet in (2, 1) for position in (3, 1, 2)],
        )
    yield engine
    engine.dispose()


def slugs(engine: Engine) -> list[str | None]:
    with engine.connect() as connection:
        return list(connection.scalars(select(ITEMS.c.slug).order_by(ITEMS.c.id)))


FILL_SLUGS = Backfill("items", "slug", "lower(name)", batch_size=3)


def test_every_row_is_filled_in_batches_and_a_rerun_writes_nothing(engine: Engine) -> None:
    done = run_backfill(engine, FILL_SLUGS)
    assert (done.rows_updated, done.rows_seen, done.batches) == (ROWS, ROWS, 4)
    assert slugs(engine) == [f"item {n}" for n in range(1, ROWS + 1)]
    again = run_backfill(engine, FILL_SLUGS)
    assert (again.rows_updated, again.rows_seen) == (0, ROWS)


def test_where_picks_the_rows(engine: Engine) -> None:
    job = Backfill("items", "slug", "'odd'", where="id % 2 = 1", batch_size=2)
    assert run_backfill(engine, job).rows_updated == ROWS // 2
    assert slugs(engine)[:4] == ["odd", None, "odd", None]


def test_a_composite_key_is_walked_in_order(engine: Engine) -> None:
    job = Backfill("cells", "label", "'filled'", batch_size=2)
    done = run_backfill(engine, job)
    assert (done.rows_updated, done.batches) == (6, 3)
    with engine.connect() as connection:
        assert set(connection.scalars(select(CELLS.c.label))) == {"filled"}


def test_a_run_stopped_part_way_keeps_its_batches_and_the_next_one_goes_on(
    engine: Engine,
) -> None:
    """Ctrl-C after the second batch: those are committed; a second run does the rest."""

    def stop(progress: Progress) -> None:
        if progress.batches == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_backfill(engine, FILL_SLUGS, on_batch=stop)
    assert slugs(engine).count(None) == ROWS - 6
    rest = run_backfill(engine, FILL_SLUGS)
    assert rest.rows_updated == ROWS - 6
    assert None not in slugs(engine)


MISTAKES = {
    "unknown table": (Backfill("itemz", "slug", "name"), "no table 'itemz' in the database"),
    "unknown column": (Backfill("items", "slag", "name"), "items has no column 'slag'"),
    "bad expression": (
        Backfill("items", "slug", "lower(name"),
        "the database cannot run --set or --where",
    ),
    "bad condition": (
        Backfill("items", "slug", "name", where="id >"),
        "the database cannot run --set or --where",
    ),
    "unknown column in the expression": (
        Backfill("items", "slug", "nickname"),
        "the database cannot run --set or --where",
    ),
}


@pytest.mark.parametrize(("job", "message"), MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistake_is_one_error_and_nothing_is_written(
    engine: Engine, job: Backfill, message: str
) -> None:
    with pytest.raises(BackfillError, match=message) as raised:
        run_backfill(engine, job)
    assert "\n" not in str(raised.value)
    assert slugs(engine) == [None] * ROWS


@pytest.mark.no_database
@pytest.mark.parametrize("assignment", ["slug", "= lower(name)", "slug ="])
def test_set_needs_a_column_and_an_expression(assignment: str) -> None:
    with pytest.raises(BackfillError, match="expected COLUMN = SQL EXPRESSION"):
        parse_assignment(assignment)


def test_the_command_line(
    engine: Engine, empty_database_url: URL, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name, value in commands.settings_for(empty_database_url).items():
        monkeypatch.setenv(name, value)
    assert main(["items", "--set", "slug = lower(name)", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{ROWS} items rows updated, {ROWS} looked at, in 3 batches")
    assert main(["items", "--set", "slug = lower(name", "--quiet"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("backfill.py: the database cannot run --set or --where: ")
    assert line.endswith("; nothing was written")

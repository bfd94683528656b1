"""scripts/seed.py, the command line: seeds/, files, stdin and generated rows; its
messages, exit statuses, progress bar and all-or-nothing, on the backend under
test. The command runs on models of the tests' own (dbkit/tests/shop.py), migrated by
a history of their own, so that these tests keep passing whatever the project's
models become; tests/example/ loads the example's users. The seeding mechanism
itself is tested in dbkit/tests/test_seeding.py."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest
from alembic.config import Config
from sqlalchemy import URL, Engine, func, insert, select, text

from dbkit.database import PROJECT_ROOT, make_engine
from dbkit.safety_net.checks import migrate
from dbkit.seeding import cli as seed
from dbkit.seeding import sources
from dbkit.seeding.loader import Options, Source, load
from dbkit.seeding.run import Project
from dbkit.seeding.sources import read_json
from dbkit.seeding.validation import SHOWN_PROBLEMS
from dbkit.testing import commands
from dbkit.testing.histories import new_history
from dbkit.testing.scratch import BACKEND
from dbkit.tests.shop import Author, Shop, Tag

CREATE_SHOP = """
from dbkit.tests.shop import Shop

Shop.metadata.create_all(op.get_bind())
"""
DROP_SHOP = """
from dbkit.tests.shop import Shop

Shop.metadata.drop_all(op.get_bind())
"""
# What seed.py is to the project, for the shop: its main(), on the shop's models.
SHOP_SEED_SCRIPT = """\
import sys
from pathlib import Path

from dbkit.seeding import cli as seed
from dbkit.seeding.run import Project

from dbkit.tests.shop import Shop

sys.exit(seed.main(project=Project.of(Shop, Path({ini!r}), Path({seeds!r}))))
"""
# The shop's seeds/.
SAMPLE_TAGS = "name,code\ndatabases,\nsql,00000000-0000-0000-0000-000000000001\n"
SAMPLE_AUTHORS = "handle,kind,joined\nada,staff,2026-01-31\n"


@dataclass(frozen=True)
class ShopProject:
    """The shop as a project: what seed.main() loads into, and a script that runs it."""

    project: Project
    script: Path

    def settings(self) -> dict[str, str]:
        """The environment the script needs: the tests' models."""
        return {"PYTHONPATH": str(PROJECT_ROOT)}

    def args(self, *args: str) -> list[str]:
        """The arguments to ``python`` that run the shop's seed with ``args``."""
        return [str(self.script), *args]


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> ShopProject:
    """The shop's models, a history that makes their tables, and seeds/ with sample data."""
    directory = tmp_path_factory.mktemp("shop")
    history = new_history(directory, Shop.metadata)
    history.add(CREATE_SHOP, DROP_SHOP)
    seeds = directory / "seeds"
    seeds.mkdir()
    (seeds / "tags.csv").write_text(SAMPLE_TAGS)
    (seeds / "authors.csv").write_text(SAMPLE_AUTHORS)
    script = directory / "seed_shop.py"
    script.write_text(SHOP_SEED_SCRIPT.format(ini=str(history.ini), seeds=str(seeds)))
    return ShopProject(Project.of(Shop, history.ini, seeds), script)


@pytest.fixture
def migrated(shop: ShopProject, empty_database_url: URL, monkeypatch: pytest.MonkeyPatch) -> URL:
    """A database of the test's own at the head of the shop's history; the database
    URLs point at it."""
    migrate(empty_database_url, Config(str(shop.project.alembic_ini)), "upgrade", "head")
    for name, value in commands.settings_for(empty_database_url).items():
        monkeypatch.setenv(name, value)
    return empty_database_url


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def seed_here(shop: ShopProject, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run seed.py's main() on the shop in this process (much quicker than a subprocess)."""

    def run(*args: str) -> Outcome:
        returncode = seed.main(list(args), project=shop.project)
        captured = capsys.readouterr()
        return Outcome(returncode, captured.out, captured.err)

    return run


@pytest.fixture
def db(migrated: URL) -> Iterator[Engine]:
    engine = make_engine(migrated)
    yield engine
    engine.dispose()


def tags(engine: Engine) -> list[tuple[str, uuid.UUID | None]]:
    with engine.connect() as connection:
        rows = connection.execute(select(Tag.name, Tag.code).order_by(Tag.id))
        return [(row.name, row.code) for row in rows]


def everything(engine: Engine) -> list[tuple[object, ...]]:
    """Every row of the shop's tables that these tests write."""
    with engine.connect() as connection:
        authors = connection.execute(select(Author.handle, Author.email).order_by(Author.id))
        return [*map(tuple, authors), *tags(engine)]


def tag_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Tag)).scalar_one())


def code(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def some_tags(count: int) -> list[str]:
    return [f"tag{n:07d}" for n in range(1, count + 1)]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# The database must be migrated --------------------------------------------------


def test_an_unmigrated_database_gets_one_line_saying_what_to_run(
    empty_database_url: URL, seed_here: Callable[..., Outcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url.render_as_string(hide_password=False))
    result = seed_here()
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, "one line, no traceback"
    assert "run: alembic upgrade head" in result.stderr


def test_a_schema_made_without_migrations_is_not_migrated(
    empty_database_url: URL, seed_here: Callable[..., Outcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    # create_all makes the tables but records no revision.
    monkeypatch.setenv("DATABASE_URL", empty_database_url.render_as_string(hide_password=False))
    engine = make_engine(empty_database_url)
    Shop.metadata.create_all(engine)
    try:
        result = seed_here()
        assert result.returncode == 1
        assert "run: alembic upgrade head" in result.stderr
        assert tag_count(engine) == 0
    finally:
        engine.dispose()


@pytest.mark.no_database
def test_help_explains_the_command(tmp_path: Path) -> None:
    result = commands.seed_here(
        "--help", database=URL.create("sqlite", database=str(tmp_path / "x"))
    )
    assert result.returncode == 0
    for text_ in ("alembic upgrade head", "DATABASE_URL", "--file", "--fake", "--dry-run"):
        assert text_ in result.stdout


# Files, stdin and generated rows --------------------------------------------------------

# (A code no generated tag has: --fake makes UUIDs from 1 up.)
SQL_CODE = uuid.UUID("c0ffee00-0000-4000-8000-000000000001")
CSV_TAGS = f"name,code\nsql,{SQL_CODE}\npython,\n"
JSON_TAGS = json.dumps([{"name": "sql", "code": str(SQL_CODE)}, {"name": "python"}], indent=2)
EXPECTED = [("sql", SQL_CODE), ("python", None)]


def test_seeds_loads_every_file_parents_first_and_a_rerun_inserts_nothing(
    migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    first = seed_here()
    assert first.returncode == 0, first.stderr
    authors, tags_ = first.stdout.splitlines()
    assert authors.startswith("1 authors inserted, 0 already present")
    assert tags_.startswith("2 tags inserted, 0 already present")
    second = seed_here()
    assert "0 authors inserted, 1 already present" in second.stdout
    assert "0 tags inserted, 2 already present" in second.stdout


def test_a_project_without_seeds_has_nothing_to_load(
    migrated: URL, db: Engine, shop: ShopProject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A project that keeps no sample data (its seeds/ removed) seeds nothing, and says so."""
    project = dataclasses.replace(shop.project, seeds=tmp_path / "seeds")
    assert seed.main([], project=project) == 0
    assert capsys.readouterr().out.startswith("Nothing to load: there is no seeds/ directory")
    assert everything(db) == []


@pytest.mark.parametrize(("name", "content"), [("t.csv", CSV_TAGS), ("t.json", JSON_TAGS)])
def test_a_file_is_loaded_and_a_rerun_inserts_nothing(
    tmp_path: Path,
    migrated: URL,
    db: Engine,
    name: str,
    content: str,
    seed_here: Callable[..., Outcome],
) -> None:
    path = write(tmp_path, name, content)
    first = seed_here("--file", str(path), "--table", "tags")
    assert first.returncode == 0, first.stderr
    assert "2 tags inserted, 0 already present" in first.stdout
    assert tags(db) == EXPECTED
    second = seed_here("--file", str(path), "--table", "tags")
    assert "0 tags inserted, 2 already present" in second.stdout
    assert tags(db) == EXPECTED


@pytest.mark.parametrize(
    ("args", "content"), [((), CSV_TAGS), (("--format", "json"), JSON_TAGS)], ids=["csv", "json"]
)
def test_standard_input(
    shop: ShopProject, migrated: URL, db: Engine, args: tuple[str, ...], content: str
) -> None:
    result = subprocess.run(
        [sys.executable, *shop.args("--file", "-", "--table", "tags", *args)],
        input=content,
        env=commands.environment(migrated, **shop.settings()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert tags(db) == EXPECTED


def test_rows_already_present_are_skipped_in_every_batch(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    """Small batches, some with existing rows and some without (PostgreSQL's COPY fallback)."""
    present = write(tmp_path, "present.csv", f"name,code\nold1,{code(1)}\nold2,{code(2)}\n")
    assert seed_here("--file", str(present), "--table", "tags").returncode == 0
    lines = ["name,code"]
    lines += [f"new{i}," for i in range(3)]
    lines += ["old1,", f"someone,{code(2)}"]  # present by name; by code
    lines += [f"more{i}," for i in range(3)]
    path = write(tmp_path, "mixed.csv", "\n".join(lines) + "\n")
    result = seed_here("--file", str(path), "--table", "tags", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert "6 tags inserted, 2 already present" in result.stdout
    assert tag_count(db) == 2 + 6


@pytest.mark.backends("postgresql", "mysql")
def test_the_counts_are_this_runs_own_while_another_session_inserts(
    migrated: URL, db: Engine
) -> None:
    """Rows another session commits during the load count neither as inserted nor as present.

    (Counting the table before and after said "-3 already present" here.)
    """
    others = [{"name": f"aaa_other_{i}"} for i in range(3)]
    sessions: list[int] = []

    def another_session_inserts(_rows: int) -> None:
        if not sessions:  # after the first batch only
            sessions.append(1)
            with db.begin() as other:
                other.execute(insert(Tag), others)

    with db.connect() as connection, connection.begin():
        result = load(
            connection,
            Source(table=Shop.metadata.tables["tags"], name="--fake", fake=50),
            Options(batch_size=10, on_batch=lambda _source, rows: another_session_inserts(rows)),
        )
    assert (result.read, result.inserted, result.already_present) == (50, 50, 0)
    assert tag_count(db) == 53


@pytest.mark.backends("sqlite")
def test_a_second_seed_on_sqlite_waits_for_the_first(
    shop: ShopProject, tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    first = commands.start(
        *shop.args("--fake", "150000", "--table", "tags"), database=migrated, **shop.settings()
    )
    try:
        # Its transaction has written its first page: it holds the write lock.
        commands.wait_for(
            lambda: Path(f"{migrated.database}-journal").exists(), first, "the first seed writing"
        )
        second = seed_here("--file", str(write(tmp_path, "t.csv", CSV_TAGS)), "--table", "tags")
        assert first.poll() is None or first.returncode == 0
    finally:
        _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert second.returncode == 0, second.stderr
    assert "2 tags inserted" in second.stdout
    assert tag_count(db) == 150_000 + 2


def test_fake_command(migrated: URL, db: Engine, seed_here: Callable[..., Outcome]) -> None:
    first = seed_here("--fake", "2500", "--table", "tags", "--batch-size", "1000")
    assert first.returncode == 0, first.stderr
    assert "2500 tags inserted, 0 already present" in first.stdout
    assert [name for name, _ in tags(db)[:2]] == ["name0000001", "name0000002"]
    second = seed_here("--fake", "2500", "--table", "tags")
    assert "0 tags inserted, 2500 already present" in second.stdout


def test_dry_run_reports_and_writes_nothing(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    path = write(tmp_path, "t.csv", CSV_TAGS)
    result = seed_here("--file", str(path), "--table", "tags", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Dry run: 2 tags would be inserted, 0 already present" in result.stdout
    assert tag_count(db) == 0


def test_a_dry_run_leaves_no_gap_in_the_ids(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    """A dry run does not use up PostgreSQL sequence or MySQL AUTO_INCREMENT values."""
    csv_tags = write(tmp_path, "t.csv", CSV_TAGS)
    assert seed_here("--file", str(csv_tags), "--table", "tags").returncode == 0
    dry = seed_here("--fake", "100", "--table", "tags", "--batch-size", "30", "--dry-run")
    assert "Dry run: 100 tags would be inserted, 0 already present" in dry.stdout
    overlapping = write(tmp_path, "o.csv", "name\nsql\nbo\n")
    dry = seed_here("--file", str(overlapping), "--table", "tags", "--dry-run")
    assert "Dry run: 1 tags would be inserted, 1 already present" in dry.stdout
    assert seed_here("--fake", "1", "--table", "tags").returncode == 0
    with db.connect() as connection:
        ids = connection.execute(select(Tag.id).order_by(Tag.id)).scalars().all()
    assert ids == [1, 2, 3]


def test_output_is_one_line_without_a_terminal(
    migrated: URL, seed_here: Callable[..., Outcome]
) -> None:
    result = seed_here("--fake", "100", "--table", "tags", "--quiet")
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""


# Hostile and non-ASCII strings --------------------------------------------------------

HOSTILE = [
    "Robert'); DROP TABLE tags;--",
    'He said "hi"; then left',
    "José Ñúñez",
    "李小龙 🐉",
    "50% of \\ back\\slash",
    "semi;colon, comma",
]


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_hostile_strings_are_stored_exactly_as_given(
    tmp_path: Path, migrated: URL, db: Engine, suffix: str, seed_here: Callable[..., Outcome]
) -> None:
    if suffix == "json":
        content = json.dumps([{"name": name} for name in HOSTILE])
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["name"])
        writer.writerows([name] for name in HOSTILE)
        content = buffer.getvalue()
    path = write(tmp_path, f"hostile.{suffix}", content)
    result = seed_here("--file", str(path), "--table", "tags")
    assert result.returncode == 0, result.stderr
    assert [name for name, _ in tags(db)] == HOSTILE
    with db.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM tags")).scalar() == len(HOSTILE)


# Validation: every problem, with its line, and nothing written ---------------------------

AUTHORS = "handle,kind,joined,email\n"
CSV_PROBLEMS = {
    "missing value": ("authors", AUTHORS + ",staff,2026-01-31,\n", "2: handle: is required"),
    "model rule": ("authors", AUTHORS + "Ann,staff,2026-01-31,\n", "2: handle: must be lower"),
    "long value": (
        "authors",
        AUTHORS + f"{'a' * 31},staff,2026-01-31,\n",
        "2: handle: is longer than 30",
    ),
    "not of the type": ("authors", AUTHORS + "ann,staff,31/01/2026,\n", "2: joined: is not an"),
    "duplicate key": (
        "authors",
        AUTHORS + "ann,staff,2026-01-31,\nbob,staff,2026-01-31,\nann,guest,2026-02-01,\n",
        "4: handle: duplicates line 2",
    ),
    "duplicate second key": (
        "tags",
        f"name,code\na,{code(1)}\nb,{code(1)}\n",
        "3: code: duplicates line 2",
    ),
    "too many fields": ("tags", "name\nann,extra\n", "2: row: has 2 fields; the header has 1"),
    "unknown column": ("tags", "name,age\nann,3\n", "1: header: unknown column 'age'"),
    "missing column": ("authors", "handle,kind\nann,staff\n", "1: header: missing column 'joined'"),
    "empty file": ("tags", "", "1: file: is empty"),
    "lone CR line ends": (
        "tags",
        "name\rann\r",
        "1: csv: a carriage return (CR) outside quotes: lines must end in LF or CR LF",
    ),
    "unterminated quote": ("tags", 'name,code\nann,"x\n', "2: csv: unexpected end of data"),
    "multi-line record": (
        "authors",
        AUTHORS + 'ann,staff,2026-01-31,"two\nlines"\nBad,staff,2026-01-31,\n',
        "4: handle: must be lower case",
    ),
}


@pytest.mark.parametrize(
    ("table", "content", "expected"), CSV_PROBLEMS.values(), ids=CSV_PROBLEMS.keys()
)
def test_each_csv_problem_is_reported_with_its_line_and_nothing_is_written(
    tmp_path: Path,
    migrated: URL,
    db: Engine,
    table: str,
    content: str,
    expected: str,
    seed_here: Callable[..., Outcome],
) -> None:
    assert seed_here().returncode == 0
    before = everything(db)
    path = write(tmp_path, "bad.csv", content)
    result = seed_here("--file", str(path), "--table", table)
    assert result.returncode == 2
    assert f"{path}:{expected}" in result.stderr
    assert "nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert everything(db) == before


def test_bytes_that_are_not_utf8_are_reported_by_line(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    path = write(tmp_path, "latin1.csv", "name\nZoë\n".encode("latin-1"))
    result = seed_here("--file", str(path), "--table", "tags")
    assert result.returncode == 2
    assert f"{path}:2: name: is not valid UTF-8" in result.stderr
    assert tag_count(db) == 0


JSON_PROBLEMS = {
    "malformed": ('[\n  {"name": "ann",\n   "code": }\n]', "3: json: Expecting value"),
    "not a list": ('{"name": "ann"}', "1: json: expected a list of objects"),
    "not an object": ('[\n  {"name": "ann"},\n  42\n]', "3: row: expected an object"),
    "first not an object": ('[\n  "ann",\n  {"name": "ann"}\n]', "2: row: expected an object"),
    "unknown field": (
        '[\n\n  {"name": "ann", "code": null, "age": 3}\n]',
        "3: row: unknown column 'age'",
    ),
    "wrong type": ('[{"name": 7}]', "1: name: must be text"),
    "unclosed list": ('[{"name": "ann"}', "1: json: the file ends before"),
    "empty": ("  \n", "1: file: is empty"),
    "nested 100,000 deep": (
        "[\n" + "[" * 100_000 + "]" * 100_000 + "]",
        "2: json: values nested too deeply",
    ),
    "a 5,000-digit number": ('[\n{"name": ' + "9" * 5000 + "}]", "2: json: a number too long"),
}


@pytest.mark.parametrize(("content", "expected"), JSON_PROBLEMS.values(), ids=JSON_PROBLEMS.keys())
def test_each_json_problem_is_reported_with_its_line_and_nothing_is_written(
    tmp_path: Path,
    migrated: URL,
    db: Engine,
    content: str,
    expected: str,
    seed_here: Callable[..., Outcome],
) -> None:
    path = write(tmp_path, "bad.json", content)
    result = seed_here("--file", str(path), "--table", "tags")
    assert result.returncode == 2
    assert f"{path}:{expected}" in result.stderr
    assert "Traceback" not in result.stderr
    assert tag_count(db) == 0


@pytest.mark.parametrize("source", ["/dev/zero", "one long line"])
def test_a_csv_line_is_bounded(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome], source: str
) -> None:
    """A file with no line break is not read into memory whole looking for one."""
    path = (
        Path(source)
        if source.startswith("/")
        else write(tmp_path, "long.csv", "name\n" + "a" * (2 << 20))
    )
    result = seed_here("--file", str(path), "--table", "tags", "--format", "csv")
    assert result.returncode == 2
    line = 1 if source.startswith("/") else 2
    assert f"{path}:{line}: csv: a line longer than 1,048,576 characters" in result.stderr
    assert tag_count(db) == 0


def _json_handle(handle: str) -> str:
    return f'[\n{{"handle": "{handle}", "kind": "staff", "joined": "2026-01-31"}}\n]'


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.json", _json_handle("A\\u0000b"), "contains control characters"),
        ("a.json", _json_handle("\\u001b[31mRED"), "contains control characters"),
        ("a.json", _json_handle("\\udc80X"), "is not valid UTF-8"),
        ("a.csv", b"handle,kind,joined\nA\xff,staff,2026-01-31\n", "is not valid UTF-8"),
    ],
    ids=["NUL", "terminal escape", "lone surrogate", "not UTF-8"],
)
def test_a_column_with_a_rule_gets_the_same_text_checks_as_every_field(
    tmp_path: Path,
    migrated: URL,
    db: Engine,
    seed_here: Callable[..., Outcome],
    name: str,
    content: str | bytes,
    expected: str,
) -> None:
    """The text is checked before the model's rule (here: lower case) sees it."""
    path = write(tmp_path, name, content)
    result = seed_here("--file", str(path), "--table", "authors")
    assert result.returncode == 2, result.stderr
    assert f"{path}:2: handle: {expected}" in result.stderr
    assert everything(db) == []


def test_only_the_first_problems_are_listed_then_a_count(
    tmp_path: Path, migrated: URL, seed_here: Callable[..., Outcome]
) -> None:
    bad = SHOWN_PROBLEMS + 5
    content = "handle,kind,joined\n" + "".join(f"User{i},staff,2026-01-31\n" for i in range(bad))
    result = seed_here("--file", str(write(tmp_path, "many.csv", content)), "--table", "authors")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len([line for line in lines if ": handle: " in line]) == SHOWN_PROBLEMS
    assert "... and 5 more" in result.stderr
    assert f"{bad} problem(s)" in lines[-1]


def test_a_problem_late_in_a_large_file_still_writes_nothing(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    rows = [*some_tags(5000), "x" * 31]
    path = write(tmp_path, "late.csv", "name\n" + "\n".join(rows) + "\n")
    result = seed_here("--file", str(path), "--table", "tags", "--batch-size", "500")
    assert result.returncode == 2
    assert f"{path}:5002: name:" in result.stderr
    assert tag_count(db) == 0


@pytest.mark.no_database
def test_json_lines_are_right_across_read_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "JSON_CHUNK", 7)
    objects = [{"name": f"t{i}", "code": None} for i in range(30)]
    content = "[\n" + ",\n\n".join(json.dumps(item) for item in objects) + "\n]\n"
    lines = [row[0] for row in read_json(io.StringIO(content), "x.json").rows]
    assert lines == [2 + 2 * i for i in range(30)]


# All or nothing -----------------------------------------------------------------------


SEED_UNDER_TEST = "seed under test"  # its application name on PostgreSQL (libpq reads PGAPPNAME)


def writing_has_started(engine: Engine, database: URL) -> bool:
    """Whether another connection's seed transaction has begun writing rows."""
    # Autocommit: a transaction of our own could keep seeing an old picture.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if BACKEND == "sqlite":
            return Path(f"{database.database}-journal").exists()
        if BACKEND == "postgresql":
            # By the seed's application name: an autovacuum worker analysing
            # the new tables also holds a transaction id in this database.
            query = (
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                f"AND backend_xid IS NOT NULL AND application_name = '{SEED_UNDER_TEST}'"
            )
        else:
            query = (
                "SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() "
                "AND id <> CONNECTION_ID() AND info LIKE 'INSERT INTO%'"
            )
        return bool(connection.execute(text(query)).scalar())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_an_interrupted_load_leaves_the_database_as_it_was(
    shop: ShopProject,
    migrated: URL,
    db: Engine,
    sig: signal.Signals,
    seed_here: Callable[..., Outcome],
) -> None:
    assert seed_here().returncode == 0
    before = everything(db)
    process = commands.start(
        *shop.args("--fake", "2000000", "--table", "tags", "--batch-size", "2000"),
        database=migrated,
        PGAPPNAME=SEED_UNDER_TEST,
        **shop.settings(),
    )
    try:
        commands.wait_for(lambda: writing_has_started(db, migrated), process, "writing")
        time.sleep(0.3)
        os.kill(process.pid, sig)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    if sig == signal.SIGINT:
        assert process.returncode == 130, stderr
        assert "interrupted; nothing was written" in stderr
    assert everything(db) == before


# Progress -------------------------------------------------------------------------------


def seed_on_a_terminal(
    shop: ShopProject, database: URL, *args: str, feed: Callable[[BinaryIO], None] | None = None
) -> tuple[int, str]:
    """Run the shop's seed with its standard error on a pseudo-terminal; (status, what it showed).

    ``feed``, if given, writes the seed's standard input (and closes it).
    """
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    # A terminal 100 columns wide (a new pseudo-terminal has no size at all).
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, *shop.args(*args)],
        env=commands.environment(database, **shop.settings()),
        stdin=subprocess.DEVNULL if feed is None else subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    feeder = None
    if feed is not None:
        assert process.stdin is not None
        feeder = threading.Thread(target=feed, args=(process.stdin,))
        feeder.start()
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal is gone once the process exits
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    if feeder is not None:
        feeder.join()
    return process.wait(timeout=120), shown.decode(errors="replace")


def slowly(pause: float) -> Callable[[BinaryIO], None]:
    """A feed of tags that stops for ``pause`` seconds part way: a load that takes
    that long whatever the machine's speed. (The part before the pause is more
    than the reader's first chunk, which it waits for.)"""
    before = [f"{name}\n".encode() for name in some_tags(6000)]
    after = [f"{name}\n".encode() for name in some_tags(8000)[6000:]]
    assert sum(map(len, before)) > sources.READ_CHUNK

    def feed(stdin: BinaryIO) -> None:
        with stdin:
            stdin.write(b"name\n" + b"".join(before))
            stdin.flush()
            time.sleep(pause)
            stdin.write(b"".join(after))

    return feed


# The bar is drawn by the command line from the rows it reads, whatever the
# backend: these run on SQLite only.
@pytest.mark.backends("sqlite")
def test_a_progress_bar_shows_on_a_terminal_unless_quiet(
    shop: ShopProject, tmp_path: Path, migrated: URL
) -> None:
    """A load that outlasts the bar's half-second delay shows it, unless --quiet."""
    load = ("--file", "-", "--table", "tags", "--batch-size", "1000")
    # Both at once, each on a terminal and a database of its own (a copy of
    # the migrated SQLite file, so that neither waits for the other's lock).
    assert migrated.database is not None
    copy = migrated.set(database=str(shutil.copy(migrated.database, tmp_path / "quiet.sqlite3")))
    with ThreadPoolExecutor(2) as pool:
        plain = pool.submit(seed_on_a_terminal, shop, migrated, *load, feed=slowly(pause=1.0))
        quiet = pool.submit(
            seed_on_a_terminal, shop, copy, *load, "--quiet", feed=slowly(pause=1.0)
        )
    status, shown = plain.result()
    assert status == 0
    assert "rows/s" in shown
    assert "8.00k rows" in shown

    status, shown = quiet.result()
    assert status == 0
    assert shown == ""


@pytest.mark.no_database
def test_a_files_progress_bar_estimates_its_total_from_the_bytes_read(tmp_path: Path) -> None:
    """A file's rows are not known ahead: the bar's total (and so its estimated end)
    comes from the share of the file the rows read so far took up."""
    rows = "".join(f"{name}\n" for name in some_tags(1000))
    path = write(tmp_path, "tags.csv", "name\n" + rows)
    with path.open("rb") as stream:
        source = Source(Shop.metadata.tables["tags"], str(path), stream)
        stream.seek(path.stat().st_size // 4)  # as if a quarter of the file had been read
        bar = seed.ProgressBar()
        try:
            bar.advance(source, 250)
            assert bar.bar is not None
            assert bar.bar.total == pytest.approx(1000, rel=0.02)
            drawn = bar.bar.format_meter(**bar.bar.format_dict)
            assert "25%" in drawn
            assert "<00:" in drawn, "an estimated time remaining"
        finally:
            bar.close()


# Mistakes on the command line ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--file", "no/such/file.csv"), "seed.py: no/such/file.csv: no such file or directory"),
        (("--file", "tags.xlsx"), "cannot tell the format from the extension"),
    ],
    ids=["missing file", "unknown extension"],
)
def test_a_bad_input_argument_is_one_line_and_writes_nothing(
    migrated: URL,
    db: Engine,
    seed_here: Callable[..., Outcome],
    args: tuple[str, ...],
    expected: str,
) -> None:
    result = seed_here(*args, "--table", "tags")
    assert result.returncode == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tag_count(db) == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--format", "json"), "--format goes with --file"),
        (("--fake", "3", "--table", "tags", "--format", "csv"), "--format goes with --file"),
        (("--table", "tags"), "--table goes with --file or --fake"),
    ],
    ids=["format without file", "format with fake", "table without file"],
)
def test_an_option_that_does_not_apply_is_one_line_and_writes_nothing(
    migrated: URL,
    db: Engine,
    shop: ShopProject,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    expected: str,
) -> None:
    """Not ignored: seeds/ would be loaded in its place."""
    with pytest.raises(SystemExit) as exited:
        seed.main(list(args), project=shop.project)
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"seed.py: {expected}")
    assert everything(db) == []


@pytest.mark.parametrize("size", ["0", "99999999999999999999999"])
def test_a_batch_size_out_of_range_is_one_line(migrated: URL, size: str) -> None:
    result = commands.seed_here("--batch-size", size, database=migrated)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "expected a whole number from 1 to 1,000,000" in result.stderr.strip().splitlines()[-1]


def test_standard_input_that_is_closed_is_one_line(
    migrated: URL, db: Engine, seed_here: Callable[..., Outcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", None)  # what Python gives a process started with fd 0 closed
    result = seed_here("--file", "-", "--table", "tags")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "seed.py: standard input is closed: there is nothing to read with --file -"
    )
    assert tag_count(db) == 0


@pytest.mark.no_database
def test_a_malformed_database_url_is_one_line(
    monkeypatch: pytest.MonkeyPatch, seed_here: Callable[..., Outcome]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url, password hunter2")
    result = seed_here()
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "seed.py: DATABASE_URL is not a database URL; "
        "expected dialect+driver://user:password@host/name"
    ]


# Async URLs --------------------------------------------------------------------------

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


@pytest.mark.backends(*ASYNC_DRIVERS)
def test_async_urls_work_for_migrations_and_seeding(
    shop: ShopProject, empty_database_url: URL, seed_here: Callable[..., Outcome]
) -> None:
    """An app that configures only an asyncio URL migrates and seeds with it as it is."""
    url = empty_database_url.set(drivername=ASYNC_DRIVERS[BACKEND])
    ini = shop.project.alembic_ini
    upgrade = commands.alembic_here("upgrade", "head", database=url, ini=ini)
    assert upgrade.returncode == 0, upgrade.stderr
    with pytest.MonkeyPatch.context() as patch:
        for name, value in commands.settings_for(url).items():
            patch.setenv(name, value)
        first = seed_here()
        assert first.returncode == 0, first.stderr
        assert "1 authors inserted, 0 already present" in first.stdout
        second = seed_here()
        assert "0 authors inserted, 1 already present" in second.stdout
    assert commands.alembic_here("downgrade", "base", database=url, ini=ini).returncode == 0

"""scripts/seed.py, the command line: seeds/, files, stdin and generated rows; its
messages, exit statuses, progress bar and all-or-nothing, on the backend under
test. It loads into the project's own models, so these tests use users; the
seeding mechanism itself is tested on a schema of the tests' own in
tests/test_seeding.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest
from seeding import sources
from seeding.loader import Options, Source, load
from seeding.sources import read_json
from seeding.validation import SHOWN_PROBLEMS
from sqlalchemy import URL, Engine, func, insert, select, text

import seed
from models import Base, User
from models.database import make_engine
from tests import commands
from tests.scratch import BACKEND


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def seed_here(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run seed.py's main() in this process (much quicker than a subprocess)."""

    def run(*args: str) -> Outcome:
        returncode = seed.main(list(args))
        captured = capsys.readouterr()
        return Outcome(returncode, captured.out, captured.err)

    return run


@pytest.fixture
def db(migrated: URL) -> Iterator[Engine]:
    engine = make_engine(migrated)
    yield engine
    engine.dispose()


def users(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(User.username, User.email, User.full_name).order_by(User.id)
        )
        return [(row.username, row.email, row.full_name) for row in rows]


def user_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(User)).scalar_one())


FIELDS = ("username", "email", "full_name")


def some_users(count: int) -> list[tuple[str, str]]:
    return [(f"user{n:07d}", f"user{n:07d}@example.com") for n in range(1, count + 1)]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# The database must be migrated --------------------------------------------------


def test_an_unmigrated_database_gets_one_line_saying_what_to_run(
    empty_database_url: URL,
) -> None:
    result = commands.seed_here(database=empty_database_url)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, "one line, no traceback"
    assert "run: alembic upgrade head" in result.stderr


def test_a_schema_made_without_migrations_is_not_migrated(empty_database_url: URL) -> None:
    # create_all makes the tables but records no revision.
    engine = make_engine(empty_database_url)
    Base.metadata.create_all(engine)
    try:
        result = commands.seed_here(database=empty_database_url)
        assert result.returncode == 1
        assert "run: alembic upgrade head" in result.stderr
        assert user_count(engine) == 0
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


# Files, stdin and generated users ----------------------------------------------------

CSV_USERS = "username,email,full_name\nada,ada@example.com,Ada Lovelace\ngrace,grace@example.com,\n"
JSON_USERS = json.dumps(
    [
        {"username": "ada", "email": "ada@example.com", "full_name": "Ada Lovelace"},
        {"username": "grace", "email": "grace@example.com"},
    ],
    indent=2,
)
EXPECTED = [("ada", "ada@example.com", "Ada Lovelace"), ("grace", "grace@example.com", None)]


@pytest.mark.parametrize(("name", "content"), [("u.csv", CSV_USERS), ("u.json", JSON_USERS)])
def test_a_file_is_loaded_and_a_rerun_inserts_nothing(
    tmp_path: Path,
    migrated: URL,
    db: Engine,
    name: str,
    content: str,
    seed_here: Callable[..., Outcome],
) -> None:
    path = write(tmp_path, name, content)
    first = seed_here("--file", str(path))
    assert first.returncode == 0, first.stderr
    assert "2 users inserted, 0 already present" in first.stdout
    assert users(db) == EXPECTED
    second = seed_here("--file", str(path))
    assert "0 users inserted, 2 already present" in second.stdout
    assert users(db) == EXPECTED


@pytest.mark.parametrize(("args", "content"), [((), CSV_USERS), (("--format", "json"), JSON_USERS)])
def test_standard_input(migrated: URL, db: Engine, args: tuple[str, ...], content: str) -> None:
    result = subprocess.run(
        [sys.executable, str(commands.SEED_SCRIPT), "--file", "-", *args],
        input=content,
        env=commands.environment(migrated),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert users(db) == EXPECTED


def test_users_already_present_are_skipped_in_every_batch(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    """Small batches, some with existing users and some without (PostgreSQL's COPY fallback)."""
    present = write(tmp_path, "present.csv", "username,email\nold1,old1@x.org\nold2,old2@x.org\n")
    assert seed_here("--file", str(present)).returncode == 0
    lines = ["username,email"]
    lines += [f"new{i},new{i}@example.com" for i in range(3)]
    lines += ["old1,old1@x.org", "someone,old2@x.org"]  # present by username; by email
    lines += [f"more{i},more{i}@example.com" for i in range(3)]
    path = write(tmp_path, "mixed.csv", "\n".join(lines) + "\n")
    result = seed_here("--file", str(path), "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert "6 users inserted, 2 already present" in result.stdout
    assert user_count(db) == 2 + 6


@pytest.mark.backends("postgresql", "mysql")
def test_the_counts_are_this_runs_own_while_another_session_inserts(
    migrated: URL, db: Engine
) -> None:
    """Users another session commits during the load count neither as inserted nor as present.

    (Counting the table before and after said "-3 already present" here.)
    """
    others = [{"username": f"aaa_other_{i}", "email": f"other{i}@example.org"} for i in range(3)]
    sessions: list[int] = []

    def another_session_inserts(_rows: int) -> None:
        if not sessions:  # after the first batch only
            sessions.append(1)
            with db.begin() as other:
                other.execute(insert(User), others)

    users_table = Base.metadata.tables["users"]
    with db.connect() as connection, connection.begin():
        result = load(
            connection,
            Source(table=users_table, name="--fake", fake=50),
            Options(batch_size=10, on_batch=lambda _source, rows: another_session_inserts(rows)),
        )
    assert (result.read, result.inserted, result.already_present) == (50, 50, 0)
    assert user_count(db) == 53


@pytest.mark.backends("sqlite")
def test_a_second_seed_on_sqlite_waits_for_the_first(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    first = commands.start(str(commands.SEED_SCRIPT), "--fake", "150000", database=migrated)
    try:
        # Its transaction has written its first page: it holds the write lock.
        commands.wait_for(
            lambda: Path(f"{migrated.database}-journal").exists(), first, "the first seed writing"
        )
        second = seed_here("--file", str(write(tmp_path, "u.csv", CSV_USERS)))
        assert first.poll() is None or first.returncode == 0
    finally:
        _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert second.returncode == 0, second.stderr
    assert "2 users inserted" in second.stdout
    assert user_count(db) == 150_000 + 2


def test_fake_command(migrated: URL, db: Engine, seed_here: Callable[..., Outcome]) -> None:
    first = seed_here("--fake", "2500", "--batch-size", "1000")
    assert first.returncode == 0, first.stderr
    assert "2500 users inserted, 0 already present" in first.stdout
    assert [user[:2] for user in users(db)[:2]] == [
        ("username0000001", "user0000001@example.com"),
        ("username0000002", "user0000002@example.com"),
    ]
    second = seed_here("--fake", "2500")
    assert "0 users inserted, 2500 already present" in second.stdout


def test_dry_run_reports_and_writes_nothing(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    path = write(tmp_path, "u.csv", CSV_USERS)
    result = seed_here("--file", str(path), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Dry run: 2 users would be inserted, 0 already present" in result.stdout
    assert user_count(db) == 0


def test_a_dry_run_leaves_no_gap_in_the_ids(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    """A dry run does not use up PostgreSQL sequence or MySQL AUTO_INCREMENT values."""
    assert seed_here("--file", str(write(tmp_path, "u.csv", CSV_USERS))).returncode == 0
    dry = seed_here("--fake", "100", "--batch-size", "30", "--dry-run")
    assert "Dry run: 100 users would be inserted, 0 already present" in dry.stdout
    overlapping = write(tmp_path, "o.csv", "username,email\nada,ada@example.com\nbo,b@x.org\n")
    dry = seed_here("--file", str(overlapping), "--dry-run")
    assert "Dry run: 1 users would be inserted, 1 already present" in dry.stdout
    assert seed_here("--fake", "1").returncode == 0
    with db.connect() as connection:
        ids = connection.execute(select(User.id).order_by(User.id)).scalars().all()
    assert ids == [1, 2, 3]


def test_output_is_one_line_without_a_terminal(tmp_path: Path, migrated: URL) -> None:
    result = commands.seed_here("--fake", "100", "--quiet", database=migrated)
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""


# Hostile and non-ASCII strings --------------------------------------------------------

HOSTILE = [
    ("robert", "robert@example.com", "Robert'); DROP TABLE users;--"),
    ("o.brien", "o'brien@example.com", 'He said "hi"; then left'),
    ("josé", "jose@example.com", "José Ñúñez"),
    ("李小龙", "bruce@example.com", "李小龙 🐉"),
    ("semi", "semi;colon@example.com", "50% of \\ back\\slash"),
    ("mixed", "Mixed.Case@EXAMPLE.Com", None),
]


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_hostile_strings_are_stored_exactly_as_given(
    tmp_path: Path, migrated: URL, db: Engine, suffix: str, seed_here: Callable[..., Outcome]
) -> None:
    if suffix == "json":
        content = json.dumps([dict(zip(FIELDS, user, strict=True)) for user in HOSTILE])
    else:
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(FIELDS)
        writer.writerows(HOSTILE)
        content = buffer.getvalue()
    result = seed_here("--file", str(write(tmp_path, f"hostile.{suffix}", content)))
    assert result.returncode == 0, result.stderr
    expected = [*HOSTILE[:-1], ("mixed", "Mixed.Case@example.com", None)]  # the domain is lowered
    assert users(db) == expected
    with db.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM users")).scalar() == len(HOSTILE)


def test_names_of_any_script_are_stored_in_one_spelling(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    """Combining marks are letters' parts, and a name is stored composed (NFC), so that
    "José" typed as e + U+0301 is the same user as "José" typed as é."""
    decomposed = "Jose\u0301"
    path = write(
        tmp_path,
        "u.csv",
        f"username,email\nनमस्ते,namaste@example.com\nதமிழ்,tamil@example.com\n"
        f"{decomposed},jose@example.com\n",
    )
    first = seed_here("--file", str(path))
    assert first.returncode == 0, first.stderr
    assert [user[0] for user in users(db)] == ["नमस्ते", "தமிழ்", "Jos\u00e9"]
    again = write(tmp_path, "again.csv", "username,email\nJos\u00e9,jose@example.com\n")
    second = seed_here("--file", str(again))
    assert "0 users inserted, 1 already present" in second.stdout
    marks_first = write(tmp_path, "marks.csv", "username,email\n\u0301abc,m@example.com\n")
    refused = seed_here("--file", str(marks_first))
    assert refused.returncode == 2
    assert "2: username: may contain only letters" in refused.stderr


# Validation: every problem, with its line, and nothing written ---------------------------

CSV_PROBLEMS = {
    "missing username": ("username,email\n,a@example.com\n", "2: username: is required"),
    "bad username": ("username,email\nbad name,a@example.com\n", "2: username: may contain only"),
    "long username": (
        f"username,email\n{'u' * 51},a@example.com\n",
        "2: username: is longer than 50",
    ),
    "missing email": ("username,email\nann,\n", "2: email: is required"),
    "bad email": ("username,email\nann,not-an-email\n", "2: email: is not an email address"),
    "long email": (
        f"username,email\nann,{'a' * 60}@{'b' * 190}.com\n",
        "2: email: is longer than 254",
    ),
    "long full name": (
        f"username,email,full_name\nann,a@example.com,{'x' * 101}\n",
        "2: full_name: is longer than 100",
    ),
    "duplicate username": (
        "username,email\nann,a@example.com\nbob,b@example.com\nann,c@example.com\n",
        "4: username: duplicates line 2",
    ),
    "duplicate email": (
        "username,email\nann,a@example.com\nbob,a@Example.com\n",
        "3: email: duplicates line 2",
    ),
    "too many fields": (
        "username,email\nann,a@example.com,extra\n",
        "2: row: has 3 fields; the header has 2",
    ),
    "unknown column": (
        "username,email,age\nann,a@example.com,3\n",
        "1: header: unknown column 'age'",
    ),
    "missing column": ("username\nann\n", "1: header: missing column 'email'"),
    "empty file": ("", "1: file: is empty"),
    "lone CR line ends": (
        "username,email\rann,a@example.com\r",
        "1: csv: a carriage return (CR) outside quotes: lines must end in LF or CR LF",
    ),
    "unterminated quote": (
        'username,email\nann,"a@example.com\n',
        "2: csv: unexpected end of data",
    ),
    "multi-line record": (
        'username,email,full_name\nann,a@example.com,"two\nlines"\nbad name,b@example.com,\n',
        "4: username: may contain only",
    ),
}


@pytest.mark.parametrize(("content", "expected"), CSV_PROBLEMS.values(), ids=CSV_PROBLEMS.keys())
def test_each_csv_problem_is_reported_with_its_line_and_nothing_is_written(
    tmp_path: Path,
    migrated: URL,
    db: Engine,
    content: str,
    expected: str,
    seed_here: Callable[..., Outcome],
) -> None:
    assert seed_here().returncode == 0
    before = users(db)
    path = write(tmp_path, "bad.csv", content)
    result = seed_here("--file", str(path))
    assert result.returncode == 2
    assert f"{path}:{expected}" in result.stderr
    assert "nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert users(db) == before


def test_bytes_that_are_not_utf8_are_reported_by_line(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    path = write(
        tmp_path,
        "latin1.csv",
        "username,email,full_name\nann,a@example.com,Zoë\n".encode("latin-1"),
    )
    result = seed_here("--file", str(path))
    assert result.returncode == 2
    assert f"{path}:2: full_name: is not valid UTF-8" in result.stderr
    assert user_count(db) == 0


JSON_PROBLEMS = {
    "malformed": ('[\n  {"username": "ann",\n   "email": }\n]', "3: json: Expecting value"),
    "not a list": ('{"username": "ann"}', "1: json: expected a list of objects"),
    "not an object": (
        '[\n  {"username": "ann", "email": "a@example.com"},\n  42\n]',
        "3: row: expected an object",
    ),
    "first not an object": ('[\n  "ann",\n  {"username": "ann"}\n]', "2: row: expected an object"),
    "unknown field": (
        '[\n\n  {"username": "ann", "email": "a@example.com", "age": 3}\n]',
        "3: row: unknown column 'age'",
    ),
    "wrong type": ('[{"username": 7, "email": "a@example.com"}]', "1: username: must be text"),
    "unclosed list": (
        '[{"username": "ann", "email": "a@example.com"}',
        "1: json: the file ends before",
    ),
    "empty": ("  \n", "1: file: is empty"),
    "nested 100,000 deep": (
        "[\n" + "[" * 100_000 + "]" * 100_000 + "]",
        "2: json: values nested too deeply",
    ),
    "a 5,000-digit number": (
        '[\n{"username": ' + "9" * 5000 + ', "email": "a@example.com"}]',
        "2: json: a number too long",
    ),
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
    result = seed_here("--file", str(path))
    assert result.returncode == 2
    assert f"{path}:{expected}" in result.stderr
    assert "Traceback" not in result.stderr
    assert user_count(db) == 0


@pytest.mark.parametrize("source", ["/dev/zero", "one long line"])
def test_a_csv_line_is_bounded(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome], source: str
) -> None:
    """A file with no line break is not read into memory whole looking for one."""
    path = (
        Path(source)
        if source.startswith("/")
        else write(tmp_path, "long.csv", "username,email\n" + "a" * (2 << 20))
    )
    result = seed_here("--file", str(path), "--format", "csv")
    assert result.returncode == 2
    line = 1 if source.startswith("/") else 2
    assert f"{path}:{line}: csv: a line longer than 1,048,576 characters" in result.stderr
    assert user_count(db) == 0


def _json_email(email: str) -> str:
    return f'[\n{{"username": "ann", "email": "{email}"}}\n]'


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("u.json", _json_email("a\\u0000b@example.com"), "contains control characters"),
        ("u.json", _json_email("\\u001b[31mred@example.com"), "contains control characters"),
        ("u.json", _json_email("\\udc80x@example.com"), "is not valid UTF-8"),
        ("u.csv", b"username,email\nann,a\xff@example.com\n", "is not valid UTF-8"),
    ],
    ids=["NUL", "terminal escape", "lone surrogate", "not UTF-8"],
)
def test_an_email_gets_the_same_text_checks_as_every_field(
    tmp_path: Path,
    migrated: URL,
    db: Engine,
    seed_here: Callable[..., Outcome],
    name: str,
    content: str | bytes,
    expected: str,
) -> None:
    path = write(tmp_path, name, content)
    result = seed_here("--file", str(path))
    assert result.returncode == 2, result.stderr
    assert f"{path}:2: email: {expected}" in result.stderr
    assert user_count(db) == 0


def test_only_the_first_problems_are_listed_then_a_count(
    tmp_path: Path, migrated: URL, seed_here: Callable[..., Outcome]
) -> None:
    bad = SHOWN_PROBLEMS + 5
    content = "username,email\n" + "".join(f"user{i},broken\n" for i in range(bad))
    result = seed_here("--file", str(write(tmp_path, "many.csv", content)))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len([line for line in lines if ": email: " in line]) == SHOWN_PROBLEMS
    assert "... and 5 more" in result.stderr
    assert f"{bad} problem(s)" in lines[-1]


def test_a_problem_late_in_a_large_file_still_writes_nothing(
    tmp_path: Path, migrated: URL, db: Engine, seed_here: Callable[..., Outcome]
) -> None:
    rows = [f"{name},{email}" for name, email in some_users(5000)] + ["bad name,x@example.com"]
    path = write(tmp_path, "late.csv", "username,email\n" + "\n".join(rows) + "\n")
    result = seed_here("--file", str(path), "--batch-size", "500")
    assert result.returncode == 2
    assert f"{path}:5002: username:" in result.stderr
    assert user_count(db) == 0


@pytest.mark.no_database
def test_json_lines_are_right_across_read_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sources, "JSON_CHUNK", 7)
    objects = [{"username": f"u{i}", "email": f"u{i}@example.com"} for i in range(30)]
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
    migrated: URL, db: Engine, sig: signal.Signals
) -> None:
    assert commands.seed_here(database=migrated).returncode == 0
    before = users(db)
    process = commands.start(
        str(commands.SEED_SCRIPT),
        *("--fake", "2000000", "--batch-size", "2000"),
        database=migrated,
        PGAPPNAME=SEED_UNDER_TEST,
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
    assert users(db) == before


# Progress -------------------------------------------------------------------------------


def seed_on_a_terminal(
    database: URL, *args: str, feed: Callable[[BinaryIO], None] | None = None
) -> tuple[int, str]:
    """Run seed.py with its standard error on a pseudo-terminal; (status, what it showed).

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
        [sys.executable, str(commands.SEED_SCRIPT), *args],
        env=commands.environment(database),
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
    """A feed of users that stops for ``pause`` seconds part way: a load that takes
    that long whatever the machine's speed. (The part before the pause is more
    than the reader's first chunk, which it waits for.)"""
    before = [f"{name},{email}\n".encode() for name, email in some_users(3000)]
    after = [f"{name},{email}\n".encode() for name, email in some_users(4000)[3000:]]
    assert sum(map(len, before)) > sources.READ_CHUNK

    def feed(stdin: BinaryIO) -> None:
        with stdin:
            stdin.write(b"username,email\n" + b"".join(before))
            stdin.flush()
            time.sleep(pause)
            stdin.write(b"".join(after))

    return feed


# The bar is drawn by the command line from the rows it reads, whatever the
# backend: these run on SQLite only.
@pytest.mark.backends("sqlite")
def test_a_progress_bar_shows_on_a_terminal_unless_quiet(tmp_path: Path, migrated: URL) -> None:
    """A load that outlasts the bar's half-second delay shows it, unless --quiet."""
    load = ("--file", "-", "--batch-size", "1000")
    # Both at once, each on a terminal and a database of its own (a copy of
    # the migrated SQLite file, so that neither waits for the other's lock).
    assert migrated.database is not None
    copy = migrated.set(database=str(shutil.copy(migrated.database, tmp_path / "quiet.sqlite3")))
    with ThreadPoolExecutor(2) as pool:
        plain = pool.submit(seed_on_a_terminal, migrated, *load, feed=slowly(pause=1.0))
        quiet = pool.submit(seed_on_a_terminal, copy, *load, "--quiet", feed=slowly(pause=1.0))
    status, shown = plain.result()
    assert status == 0
    assert "rows/s" in shown
    assert "4.00k rows" in shown

    status, shown = quiet.result()
    assert status == 0
    assert shown == ""


@pytest.mark.no_database
def test_a_files_progress_bar_estimates_its_total_from_the_bytes_read(tmp_path: Path) -> None:
    """A file's rows are not known ahead: the bar's total (and so its estimated end)
    comes from the share of the file the rows read so far took up."""
    rows = "".join(f"{name},{email}\n" for name, email in some_users(1000))
    path = write(tmp_path, "users.csv", "username,email\n" + rows)
    with path.open("rb") as stream:
        source = Source(Base.metadata.tables["users"], str(path), stream)
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
        (("--file", "users.xlsx"), "cannot tell the format from the extension"),
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
    result = seed_here(*args)
    assert result.returncode == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert user_count(db) == 0


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
    result = seed_here("--file", "-")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "seed.py: standard input is closed: there is nothing to read with --file -"
    )
    assert user_count(db) == 0


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

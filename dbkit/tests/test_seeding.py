"""The seeding mechanism on a schema of the tests' own (dbkit/tests/shop.py): checks derived
from the models, data files per table loaded parents first, foreign keys by
natural key, generated rows for any table, and duplicates judged as the
database judges them.

Each test loads inside a transaction that is rolled back afterwards, in a
database of the worker's own with the shop's tables.
"""

from __future__ import annotations

import gc
import io
import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    URL,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import aliased

from dbkit.database import run_with_connection
from dbkit.safety_net.checks import connected
from dbkit.seeding.fake import CannotGenerate, fake_rows
from dbkit.seeding.inputs import InputError, dependency_order, seed_directory
from dbkit.seeding.loader import InvalidInput, LoadResult, Options, Source, load
from dbkit.seeding.records import SourceError
from dbkit.seeding.references import Unwritten
from dbkit.seeding.run import load_all
from dbkit.testing.scratch import BACKEND, SERVER_URL, scratch_database
from dbkit.tests.shop import MAPPERS, Author, Post, Shop, Tag, Topic

AUTHORS_CSV = """handle,email,kind,joined,rating,profile
ada,ada@example.com,staff,2026-01-31,4.5,"{""langs"": [""en"", ""fr""]}"
grace,,guest,2025-12-01,,
"""
POSTS_CSV = """author.handle,reviewer.handle,slug,title,published_at,views
ada,grace,hello,"Hello, world",2026-02-01T09:30:00+01:00,12
grace,,notes,Notes,,
ada,,second,Second,2026-02-02T10:00:00Z,9223372036854775807
"""
# Children before their parents, a grandchild first of all.
TOPICS_CSV = """name,parent.name
indexes,postgres
postgres,sql
databases,
joins,sql
sql,databases
"""
TOPIC_PARENTS = {
    "databases": None,
    "sql": "databases",
    "postgres": "sql",
    "joins": "sql",
    "indexes": "postgres",
}
TAGS_JSONL = """{"name": "sql", "code": "00000000-0000-0000-0000-00000000000a"}

{"name": "python"}
"""


@pytest.fixture(scope="session")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    with scratch_database(SERVER_URL, tmp_path_factory.mktemp("shop")) as url:
        with connected(url) as connection:
            Shop.metadata.create_all(connection)
            connection.commit()
        yield url


@pytest.fixture
def shop(shop_url: URL) -> Iterator[Connection]:
    """A connection to the shop's database, in a transaction rolled back afterwards."""
    with connected(shop_url) as connection, connection.begin() as transaction:
        yield connection
        transaction.rollback()


def write_seeds(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(content, encoding="utf-8")
    return directory


@contextmanager
def directory_sources(
    directory: Path, metadata: MetaData = Shop.metadata
) -> Iterator[list[Source]]:
    """The sources for the files in ``directory``, closed afterwards."""
    sources = seed_directory(directory, metadata)
    try:
        yield sources
    finally:
        for source in sources:
            assert source.stream is not None
            source.stream.close()


def load_directory(
    connection: Connection, directory: Path, metadata: MetaData = Shop.metadata, **options: Any
) -> list[LoadResult]:
    """Each file in ``directory`` loaded in ``connection``'s transaction, as load_all does."""
    with directory_sources(directory, metadata) as sources, ExitStack() as resources:
        # A run's loads share what a dry run did not write, as load_all's do.
        unwritten = Unwritten(connection, resources)
        return [
            load(connection, source, Options(**options), MAPPERS, unwritten) for source in sources
        ]


def load_text(
    connection: Connection, table: str, content: str, file_format: str = "csv", **options: Any
) -> LoadResult:
    source = Source(
        table=Shop.metadata.tables[table],
        name=f"{table}.{file_format}",
        stream=io.BytesIO(content.encode()),
        format=file_format,
    )
    return load(connection, source, Options(**options), MAPPERS)


def problems(
    connection: Connection, table: str, content: str, file_format: str = "csv", **options: Any
) -> str:
    """What loading ``content`` reports, one problem per line."""
    with pytest.raises((InvalidInput, SourceError)) as raised:
        load_text(connection, table, content, file_format, **options)
    error = raised.value
    if isinstance(error, SourceError):
        return str(error.problem)
    assert isinstance(error, InvalidInput)
    return "\n".join(str(problem) for problem in error.problems)


def counts(results: list[LoadResult]) -> list[tuple[str, int, int]]:
    return [(result.table, result.inserted, result.already_present) for result in results]


# A directory of data files ------------------------------------------------------------


def test_a_directory_loads_parents_first_and_a_second_run_inserts_nothing(
    tmp_path: Path, shop: Connection
) -> None:
    seeds = write_seeds(
        tmp_path / "seeds",
        {"posts.csv": POSTS_CSV, "authors.csv": AUTHORS_CSV, "tags.jsonl": TAGS_JSONL},
    )
    first = load_directory(shop, seeds)
    assert counts(first)[0] == ("authors", 2, 0), "authors before the posts that refer to them"
    assert sorted(counts(first)) == [("authors", 2, 0), ("posts", 3, 0), ("tags", 2, 0)]

    second = load_directory(shop, seeds)
    assert sorted(counts(second)) == [("authors", 0, 2), ("posts", 0, 3), ("tags", 0, 2)]

    authors = dict(shop.execute(select(Author.handle, Author.id)).all())
    posts = shop.execute(select(Post.slug, Post.author_id, Post.reviewer_id).order_by(Post.id))
    assert [tuple(row) for row in posts] == [
        ("hello", authors["ada"], authors["grace"]),
        ("notes", authors["grace"], None),
        ("second", authors["ada"], None),
    ]


def test_values_arrive_as_their_column_types(tmp_path: Path, shop: Connection) -> None:
    seeds = write_seeds(
        tmp_path / "seeds",
        {"posts.csv": POSTS_CSV, "authors.csv": AUTHORS_CSV, "tags.jsonl": TAGS_JSONL},
    )
    load_directory(shop, seeds)
    ada = shop.execute(select(Author).where(Author.handle == "ada")).one()
    assert (ada.kind, ada.active, ada.joined, ada.rating) == (
        "staff",
        True,  # the model's Python default, for a column the file leaves out
        date(2026, 1, 31),
        Decimal("4.5"),
    )
    assert ada.profile == {"langs": ["en", "fr"]}
    assert ada.created_at is not None, "the server default, for a column the file leaves out"
    grace = shop.execute(select(Author).where(Author.handle == "grace")).one()
    assert (grace.email, grace.rating, grace.profile) == (None, None, None)

    published, views = shop.execute(
        select(Post.published_at, Post.views).where(Post.slug == "hello")
    ).one()
    assert published is not None
    if published.tzinfo is None:  # SQLite and MySQL keep no offset: UTC, as written
        published = published.replace(tzinfo=timezone.utc)
    assert published == datetime(2026, 2, 1, 8, 30, tzinfo=timezone.utc)
    assert views == 12
    assert shop.scalar(select(Post.views).where(Post.slug == "second")) == 2**63 - 1
    assert shop.scalar(select(Tag.code).where(Tag.name == "sql")) == uuid.UUID(int=10)


def test_a_json_list_and_json_lines_hold_the_same_rows(shop: Connection) -> None:
    objects = [
        {"handle": "ada", "kind": "staff", "joined": "2026-01-31", "rating": 4.5, "active": False},
        {"handle": "bob", "kind": "guest", "joined": "2026-02-01"},  # no rating, no active
    ]
    listed = load_text(shop, "authors", json.dumps(objects, indent=2), "json")
    assert (listed.inserted, listed.already_present) == (2, 0)
    lines = load_text(shop, "authors", "\n".join(json.dumps(o) for o in objects), "jsonl")
    assert (lines.inserted, lines.already_present) == (0, 2)
    rows = shop.execute(select(Author.handle, Author.rating, Author.active).order_by(Author.handle))
    # A key a later object leaves out is NULL, or the column's default where it is NOT NULL.
    assert [tuple(row) for row in rows] == [("ada", Decimal("4.5"), False), ("bob", None, True)]


# Checked against the models ----------------------------------------------------------

AUTHOR_HEADER = "handle,kind,joined,rating,profile,email\n"
VALUE_PROBLEMS = {
    "required": ("ann,,2026-01-31,,,", "2: kind: is required"),
    "enum": ("ann,admin,2026-01-31,,,", "2: kind: is not one of: staff, guest"),
    "date": ("ann,staff,31/01/2026,,,", "2: joined: is not an ISO 8601 date, such as 2026-01-31"),
    "decimal places": ("ann,staff,2026-01-31,4.55,,", "2: rating: has more than 1 decimal places"),
    "decimal digits": (
        "ann,staff,2026-01-31,123.4,,",
        "2: rating: has more than 2 digits before the decimal point",
    ),
    "not a number": ("ann,staff,2026-01-31,high,,", "2: rating: is not a number"),
    "not finite": ("ann,staff,2026-01-31,NaN,,", "2: rating: is not a finite number"),
    "json": ('ann,staff,2026-01-31,,"{bad",', "2: profile: is not valid JSON"),
    "length": (f"{'a' * 31},staff,2026-01-31,,,", "2: handle: is longer than 30 characters"),
    "model rule": ("Ann,staff,2026-01-31,,,", "2: handle: must be lower case"),
    "control characters": (
        "ann,staff,2026-01-31,,,a\x1b[31m@x",
        "2: email: contains control characters",
    ),
    # More digits than Python's decimal arithmetic holds: counted, not rounded.
    "decimal beyond arithmetic": (
        "ann,staff,2026-01-31,12345678901234567890123456789.001,,",
        "2: rating: has more than 2 digits before the decimal point",
    ),
    # Python reads these as numbers; a database would not, nor would Integer.
    "digit separators": ("ann,staff,2026-01-31,1_0,,", "2: rating: is not a number"),
    "arabic digits": ("ann,staff,2026-01-31,\u0661,,", "2: rating: is not a number"),
    "fullwidth digits": ("ann,staff,2026-01-31,\uff11,,", "2: rating: is not a number"),
    # Normalized by the model's rule to 60 characters: it is what is stored that counts.
    "length once normalized": (
        "\u0958" * 30 + ",staff,2026-01-31,,,",
        "2: handle: is longer than 30 characters (60 once the model's rule has run)",
    ),
    "json NaN": ('ann,staff,2026-01-31,,"{""a"": NaN}",', "2: profile: NaN is not a JSON value"),
    "json Infinity": (
        "ann,staff,2026-01-31,,-Infinity,",
        "2: profile: -Infinity is not a JSON value",
    ),
    "json digits a float loses": (
        'ann,staff,2026-01-31,,"{""n"": 12345678901234567890.123}",',
        "2: profile: 12345678901234567890.123 has more digits than a JSON number keeps "
        "(a 64-bit float); write it as a string",
    ),
    "json lone surrogate": (
        'ann,staff,2026-01-31,,"[""a\\ud800b""]",',
        "2: profile: holds a lone surrogate (\\ud800), which is not Unicode text",
    ),
}


@pytest.mark.parametrize(("row", "expected"), VALUE_PROBLEMS.values(), ids=VALUE_PROBLEMS.keys())
def test_each_value_is_checked_by_its_column(shop: Connection, row: str, expected: str) -> None:
    assert problems(shop, "authors", AUTHOR_HEADER + row + "\n") == f"authors.csv:{expected}"


POST_HEADER = "author_id,slug,title,published_at,views\n"
POST_PROBLEMS = {
    "not whole": ("1,a,A,,many", "2: views: is not a whole number"),
    "out of range": ("1,a,A,,9223372036854775808", "2: views: is out of range"),
    "decimal for whole": ("1,a,A,,1.5", "2: views: is not a whole number"),
    "no offset": ("1,a,A,2026-02-01T09:30:00,", "2: published_at: needs a UTC offset"),
    "before the calendar in UTC": (
        "1,a,A,0001-01-01T00:00:00+01:00,",
        "2: published_at: is out of range in UTC (0001-01-01 to 9999-12-31)",
    ),
    "after the calendar in UTC": (
        "1,a,A,9999-12-31T23:59:59-01:00,",
        "2: published_at: is out of range in UTC (0001-01-01 to 9999-12-31)",
    ),
}


@pytest.mark.parametrize(("row", "expected"), POST_PROBLEMS.values(), ids=POST_PROBLEMS.keys())
def test_each_post_value_is_checked_by_its_column(
    shop: Connection, row: str, expected: str
) -> None:
    assert problems(shop, "posts", POST_HEADER + row + "\n").startswith(f"posts.csv:{expected}")


def test_numbers_inside_json_keep_their_value(shop: Connection) -> None:
    """JSON files read decimals exactly; inside a JSON column they are JSON numbers."""
    rows = [
        {"handle": "ann", "kind": "staff", "joined": "2026-01-31", "profile": {"price": 1.5}},
        {"handle": "bob", "kind": "staff", "joined": "2026-01-31", "profile": [0.1, 2, 1e300]},
    ]
    loaded = load_text(shop, "authors", json.dumps(rows), "json")
    assert loaded.inserted == 2
    csv_row = 'cid,staff,2026-01-31,,"{""price"": 19.99, ""n"": 12345678901234567890}",\n'
    assert load_text(shop, "authors", AUTHOR_HEADER + csv_row).inserted == 1
    profiles = {
        handle: profile for handle, profile in shop.execute(select(Author.handle, Author.profile))
    }
    assert profiles["ann"] == {"price": 1.5}
    assert profiles["bob"] == [0.1, 2, 1e300]
    assert profiles["cid"] == {"price": 19.99, "n": 12345678901234567890}


def test_a_lone_surrogate_in_a_json_file_is_refused(shop: Connection) -> None:
    content = '[{"name": "a\\ud800b"}]'
    assert problems(shop, "tags", content, "json") == (
        "tags.json:1: name: holds a lone surrogate (\\ud800), which is not Unicode text"
    )


def test_large_values_fit(shop: Connection) -> None:
    """A long text on one CSV line (under the 1 MiB line limit), a JSON object of megabytes.

    (MySQL's TEXT holds 65,535 bytes: see the next test.)
    """
    size = 60_000 if BACKEND == "mysql" else 200_000
    note = "x" * size
    csv_posts = f"author_id,slug,title,body\n{author_id(shop)},long,Long,{note}\n"
    assert load_text(shop, "posts", csv_posts).inserted == 1
    profile = {"blob": "y" * 3_000_000}
    row = {"handle": "big", "kind": "staff", "joined": "2026-01-31", "profile": profile}
    assert load_text(shop, "authors", json.dumps([row]), "json").inserted == 1
    assert shop.scalar(select(func.length(Post.body)).where(Post.slug == "long")) == size


def author_id(connection: Connection) -> int:
    """The id of an author, made for the test."""
    load_text(connection, "authors", "handle,kind,joined\nwriter,staff,2026-01-31\n")
    return connection.execute(select(Author.id).where(Author.handle == "writer")).scalar_one()


@pytest.mark.backends("mysql")
def test_text_longer_than_mysql_stores_in_bytes_is_refused(shop: Connection) -> None:
    """MySQL's TEXT holds 65,535 bytes: 20,000 emoji are 80,000 of them."""
    body = "\N{GRINNING FACE}" * 20_000
    content = f"author_id,slug,title,body\n{author_id(shop)},emoji,Emoji,{body}\n"
    assert problems(shop, "posts", content) == (
        "posts.csv:2: body: is longer than 65,535 bytes in UTF-8 (80,000), what TEXT holds "
        "on MySQL and MariaDB"
    )


def test_a_reference_is_looked_up_as_the_model_stores_the_key(shop: Connection) -> None:
    """The referred model's rule (NFC) runs on the key a row gives, as on the row it refers to."""
    decomposed = "jose\u0301"
    load_text(shop, "authors", f"handle,kind,joined\n{decomposed},staff,2026-01-31\n")
    posts = f"author.handle,slug,title\n{decomposed},hola,Hola\n"
    assert load_text(shop, "posts", posts).inserted == 1
    author = shop.scalar(select(Author.handle).join(Post, Post.author_id == Author.id))
    assert author == "jos\u00e9"


def test_every_bad_field_of_a_row_is_reported(shop: Connection) -> None:
    reported = problems(shop, "authors", AUTHOR_HEADER + "Ann,admin,yesterday,,,\n")
    assert reported.splitlines() == [
        "authors.csv:2: handle: must be lower case",
        "authors.csv:2: kind: is not one of: staff, guest",
        "authors.csv:2: joined: is not an ISO 8601 date, such as 2026-01-31",
    ]


HEADER_PROBLEMS = {
    "unknown column": ("handle,kind,joined,age", "unknown column 'age'; authors has"),
    "the generated id": ("id,handle,kind,joined", "id is filled by the database"),
    "required missing": ("handle,kind", "missing column 'joined', which authors requires"),
}


@pytest.mark.parametrize(
    ("header", "expected"), HEADER_PROBLEMS.values(), ids=HEADER_PROBLEMS.keys()
)
def test_a_header_that_does_not_fit_the_table_is_one_problem(
    shop: Connection, header: str, expected: str
) -> None:
    assert problems(shop, "authors", header + "\n").startswith(f"authors.csv:1: header: {expected}")


REFERENCE_HEADER_PROBLEMS = {
    "both ways": ("author_id,author.handle,slug,title", "author.handle and author_id both fill"),
    "not unique": ("author.email,slug,title", "authors.email is not unique"),
    "no such column": ("author.nick,slug,title", "authors has no column 'nick'"),
    "no such key": ("editor.handle,slug,title", "posts has no foreign key editor_id"),
}


@pytest.mark.parametrize(
    ("header", "expected"),
    REFERENCE_HEADER_PROBLEMS.values(),
    ids=REFERENCE_HEADER_PROBLEMS.keys(),
)
def test_a_natural_key_must_name_a_unique_column_of_the_referred_table(
    shop: Connection, header: str, expected: str
) -> None:
    assert expected in problems(shop, "posts", header + "\n")


# Foreign keys by natural key ---------------------------------------------------------


def test_a_natural_key_with_no_match_is_a_problem_at_its_line(shop: Connection) -> None:
    load_text(shop, "authors", AUTHOR_HEADER + "ada,staff,2026-01-31,,,\n")
    content = "author.handle,slug,title\nada,a,A\nghost,b,B\nada,c,C\nnobody,d,D\n"
    assert problems(shop, "posts", content).splitlines() == [
        "posts.csv:3: author.handle: no authors row with handle 'ghost'",
        "posts.csv:5: author.handle: no authors row with handle 'nobody'",
    ]


def test_a_natural_key_is_matched_as_the_database_compares_text(shop: Connection) -> None:
    """MySQL's case-insensitive collation finds sql for SQL; PostgreSQL and SQLite do not."""
    load_text(shop, "topics", "name\nsql\n")
    content = "name,parent.name\njoins,SQL\n"
    if BACKEND == "mysql":
        assert load_text(shop, "topics", content).inserted == 1
    else:
        assert "no topics row with name 'SQL'" in problems(shop, "topics", content)


def test_a_problem_in_a_child_file_writes_nothing_at_all(tmp_path: Path, shop_url: URL) -> None:
    """The run is one transaction: the parents loaded before the problem go too.

    (On MySQL, dropping the natural-key lookup's temporary table with a plain
    DROP TABLE used to commit the parents half way.)
    """
    seeds = write_seeds(
        tmp_path / "seeds",
        {"authors.csv": AUTHOR_HEADER + "ada,staff,2026-01-31,,,\n",
         "posts.csv": "author.handle,slug,title\nada,a,A\nghost,b,B\n"},
    )  # fmt: skip
    with directory_sources(seeds) as sources, connected(shop_url) as connection:
        with pytest.raises(InvalidInput, match="1 problem"):
            load_all(connection, sources, mappers=MAPPERS)
        assert connection.scalar(select(func.count()).select_from(Author)) == 0


def topic_parents(connection: Connection) -> dict[str, str | None]:
    parent = aliased(Topic)
    query = select(Topic.name, parent.name).outerjoin(parent, Topic.parent_id == parent.id)
    return {name: parent_name for name, parent_name in connection.execute(query)}


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry run"])
def test_a_table_that_refers_to_itself_finds_parents_in_the_same_batch_or_earlier(
    shop: Connection, dry_run: bool
) -> None:
    for content, batch_size in [(TOPICS_CSV, 1000), (parents_first(TOPICS_CSV), 2)]:
        savepoint = shop.begin_nested()
        result = load_text(shop, "topics", content, batch_size=batch_size, dry_run=dry_run)
        assert (result.inserted, result.already_present) == (5, 0)
        if not dry_run:
            assert topic_parents(shop) == TOPIC_PARENTS
            again = load_text(shop, "topics", content, batch_size=batch_size)
            assert (again.inserted, again.already_present) == (0, 5)
        savepoint.rollback()


def parents_first(topics_csv: str) -> str:
    """The same topics, each after its parent."""
    header, *rows = topics_csv.splitlines(keepends=True)
    return header + "".join(sorted(rows, key=lambda row: depth(row.split(",")[0])))


def depth(topic: str) -> int:
    parent = TOPIC_PARENTS[topic]
    return 0 if parent is None else 1 + depth(parent)


def test_a_parent_that_is_nowhere_or_in_a_cycle_is_a_problem_at_its_line(
    shop: Connection,
) -> None:
    content = "name,parent.name\nroot,\nchild,ghost\negg,hen\nhen,egg\nleaf,root\n"
    assert problems(shop, "topics", content).splitlines() == [
        "topics.csv:3: parent.name: no topics row with name 'ghost'",
        "topics.csv:4: parent.name: no topics row with name 'hen'",
        "topics.csv:5: parent.name: no topics row with name 'egg'",
    ]


def test_after_a_problem_children_still_find_parents_of_the_same_input(
    shop: Connection,
) -> None:
    """Rows are no longer written after a problem, but are still parents."""
    content = "name,parent.name\n" + "x" * 41 + ",\nroot,\na,root\nb,a\nc,b\n"
    assert problems(shop, "topics", content, batch_size=2) == (
        "topics.csv:2: name: is longer than 40 characters"
    )


def test_natural_keys_cross_batches(shop: Connection) -> None:
    authors = "".join(f"a{n},staff,2026-01-31,,,\n" for n in range(40))
    load_text(shop, "authors", AUTHOR_HEADER + authors, batch_size=7)
    posts = "".join(f"a{n % 40},p{n},Post {n}\n" for n in range(100))
    result = load_text(shop, "posts", "author.handle,slug,title\n" + posts, batch_size=9)
    assert result.inserted == 100
    joined = select(func.count()).select_from(Post).join(Author, Post.author_id == Author.id)
    assert shop.scalar(joined.where(Post.slug == "p41", Author.handle == "a1")) == 1


@pytest.mark.parametrize("caller_had_it_on", [True, False], ids=["on", "off"])
def test_a_load_leaves_the_cycle_collector_as_the_caller_had_it(
    shop: Connection, caller_had_it_on: bool
) -> None:
    """A load pauses Python's cycle collector (seeding/loader.py); code that seeds
    from its own process (tests, an app's setup) gets it back as it was, after
    a load that fails too."""
    was_on = gc.isenabled()
    (gc.enable if caller_had_it_on else gc.disable)()
    try:
        load_text(shop, "authors", AUTHOR_HEADER + "ada,staff,2026-01-31,,,\n")
        after_a_load = gc.isenabled()
        problems(shop, "authors", AUTHOR_HEADER + "bob,nobody,2026-01-31,,,\n")
        after_a_failed_load = gc.isenabled()
    finally:
        (gc.enable if was_on else gc.disable)()
    assert (after_a_load, after_a_failed_load) == (caller_had_it_on, caller_had_it_on)


# Duplicates, as the database judges them ------------------------------------------------


def test_a_duplicate_key_made_of_a_natural_key_and_a_column(shop: Connection) -> None:
    load_text(shop, "authors", AUTHOR_HEADER + "ada,staff,2026-01-31,,,\nbob,staff,2026-01-31,,,\n")
    content = "author.handle,slug,title\nada,hello,A\nbob,hello,B\nada,hello,C\n"
    assert problems(shop, "posts", content) == (
        "posts.csv:4: author.handle, slug: duplicates line 2"
    )


def test_duplicates_in_the_input_are_judged_as_the_database_judges_them(
    shop: Connection,
) -> None:
    """jose and josé are one tag name to MariaDB's accent-insensitive collation.

    (Judged by Python's rules, one of them used to be skipped there as "already
    present" on an empty table, without a word.)
    """
    content = "name\njose\nsql\njos\u00e9\n"
    if BACKEND == "mysql":
        assert problems(shop, "tags", content) == "tags.csv:4: name: duplicates line 2"
    else:
        assert load_text(shop, "tags", content).inserted == 3


def test_a_key_in_another_case_later_is_what_the_database_says(shop: Connection) -> None:
    """Two runs, Alice after alice: two tags where text compares exactly, one on MySQL."""
    assert load_text(shop, "tags", "name\nalice\n").inserted == 1
    second = load_text(shop, "tags", "name\nAlice\n")
    expected = (0, 1) if BACKEND == "mysql" else (1, 0)
    assert (second.inserted, second.already_present) == expected


# A table with the unique indexes the README recommends beyond plain columns: on
# an expression (one label per name in any case) and partial (one live code).
# MariaDB has neither kind of index.
LABELS = Table(
    "labels",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
    Column("code", String(10)),
    Column("archived", Boolean, nullable=False),
)
Index("uq_labels_lower_name", func.lower(LABELS.c.name), unique=True)
Index(
    "uq_labels_live_code",
    LABELS.c.code,
    unique=True,
    postgresql_where=~LABELS.c.archived,
    sqlite_where=~LABELS.c.archived,
)


# MariaDB has no indexes on expressions, and no partial ones.
WITH_SUCH_INDEXES = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture
def labels(shop: Connection) -> Connection:
    LABELS.create(shop)  # in the test's transaction, rolled back afterwards
    return shop


def load_labels(connection: Connection, content: str, **options: Any) -> LoadResult:
    source = Source(table=LABELS, name="labels.csv", stream=io.BytesIO(content.encode()))
    return load(connection, source, Options(**options), [])


def label_problems(connection: Connection, content: str, **options: Any) -> str:
    with pytest.raises(InvalidInput) as raised:
        load_labels(connection, content, **options)
    return "\n".join(str(problem) for problem in raised.value.problems)


@WITH_SUCH_INDEXES
@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry run"])
def test_a_duplicate_by_an_index_on_an_expression_is_a_problem(
    labels: Connection, dry_run: bool
) -> None:
    """Backend and backend are one lower(name): the second is not "already present"."""
    content = "name,archived\nBackend,false\nfrontend,false\nbackend,false\n"
    assert (
        label_problems(labels, content, dry_run=dry_run) == "labels.csv:4: name: duplicates line 2"
    )


@WITH_SUCH_INDEXES
@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry run"])
def test_a_key_an_expression_index_already_holds_is_already_present(
    labels: Connection, dry_run: bool
) -> None:
    assert load_labels(labels, "name,archived\nbackend,false\n").inserted == 1
    again = load_labels(labels, "name,archived\nBACKEND,false\nnew,false\n", dry_run=dry_run)
    assert (again.inserted, again.already_present) == (1, 1)


@WITH_SUCH_INDEXES
@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry run"])
def test_a_partial_unique_index_judges_only_the_rows_it_covers(
    labels: Connection, dry_run: bool
) -> None:
    archived = "name,code,archived\na,x1,true\nb,x1,true\nc,x1,false\n"
    assert load_labels(labels, archived, dry_run=dry_run).inserted == 3
    live = "name,code,archived\nd,x2,false\ne,x2,false\n"
    assert label_problems(labels, live, dry_run=dry_run) == "labels.csv:3: code: duplicates line 2"


class _Pipe(io.BytesIO):
    """Standard input as a pipe gives it: it cannot be read twice."""

    def seekable(self) -> bool:
        return False


@pytest.mark.parametrize("stream", [io.BytesIO, _Pipe], ids=["file", "pipe"])
def test_duplicates_are_found_in_a_file_and_in_a_pipe(
    shop: Connection, stream: type[io.BytesIO]
) -> None:
    """A file is read a second time to find them; a pipe keeps every key in one pass."""
    source = Source(
        table=Shop.metadata.tables["tags"],
        name="<stdin>",
        stream=stream(b"name\nsql\npython\nsql\n"),
    )
    with pytest.raises(InvalidInput) as raised:
        load(shop, source, Options(), MAPPERS)
    assert [str(problem) for problem in raised.value.problems] == [
        "<stdin>:4: name: duplicates line 2"
    ]


def test_rows_with_a_null_in_a_unique_key_are_not_duplicates(shop: Connection) -> None:
    result = load_text(shop, "tags", "name,code\na,\nb,\n")
    assert result.inserted == 2


# Generated rows ----------------------------------------------------------------------


def test_generated_rows_fit_any_table_and_point_at_existing_parents(shop: Connection) -> None:
    authors = Source(table=Shop.metadata.tables["authors"], name="--fake", fake=30)
    posts = Source(table=Shop.metadata.tables["posts"], name="--fake", fake=75)
    assert load(shop, authors, Options(batch_size=8)).inserted == 30
    assert load(shop, posts).inserted == 75
    orphans = select(func.count()).select_from(Post).outerjoin(Author, Post.author_id == Author.id)
    assert shop.scalar(orphans.where(Author.id.is_(None))) == 0
    assert set(shop.scalars(select(Author.kind))) == {"staff", "guest"}

    again = load(shop, Source(table=Shop.metadata.tables["posts"], name="--fake", fake=75))
    assert (again.inserted, again.already_present) == (0, 75), "the same N, the same rows"


def test_generated_rows_are_the_same_for_the_same_n(shop: Connection) -> None:
    table = Shop.metadata.tables["tags"]
    assert list(fake_rows(shop, table, 50)) == list(fake_rows(shop, table, 50))


def test_a_child_cannot_be_generated_without_parents(shop: Connection) -> None:
    with pytest.raises(CannotGenerate, match="authors has none: seed authors first"):
        load(shop, Source(table=Shop.metadata.tables["posts"], name="--fake", fake=1))


# Dry run --------------------------------------------------------------------------------


def test_a_dry_run_counts_by_every_unique_key_and_writes_nothing(shop: Connection) -> None:
    load_text(shop, "authors", AUTHOR_HEADER + "ada,staff,2026-01-31,,,\n")
    load_text(shop, "posts", "author.handle,slug,title\nada,hello,A\n")
    content = "author.handle,slug,title\nada,other,B\nada,hello,Again\n"
    # A batch a row: each batch is counted alone, not with the rows before it.
    dry = load_text(shop, "posts", content, dry_run=True, batch_size=1)
    assert (dry.inserted, dry.already_present) == (1, 1)
    assert shop.scalar(select(func.count()).select_from(Post)) == 1


def test_a_dry_run_of_parents_and_children_counts_what_a_run_would_insert(
    tmp_path: Path, shop_url: URL
) -> None:
    """The children find the parents the dry run read and did not write."""
    seeds = write_seeds(
        tmp_path / "seeds",
        {"posts.csv": POSTS_CSV, "authors.csv": AUTHORS_CSV, "topics.csv": TOPICS_CSV},
    )
    with directory_sources(seeds) as sources, connected(shop_url) as connection:
        results = load_all(connection, sources, Options(dry_run=True), MAPPERS)
        assert sorted(counts(results)) == [("authors", 2, 0), ("posts", 3, 0), ("topics", 5, 0)]
        assert connection.scalar(select(func.count()).select_from(Author)) == 0
        assert connection.scalar(select(func.count()).select_from(Topic)) == 0


def test_a_table_with_no_unique_key_gets_every_row_each_run_and_dry_run(
    empty_database_url: URL,
) -> None:
    """Nothing can make a row "present" (README, Seeding: "Safe to repeat")."""
    metadata = MetaData()
    notes = Table(
        "notes", metadata, Column("id", Integer, primary_key=True), Column("text", String(50))
    )
    with connected(empty_database_url) as connection, connection.begin():
        metadata.create_all(connection)
        for dry_run in (True, False, False):
            source = Source(table=notes, name="notes.csv", stream=io.BytesIO(b"text\na\nb\n"))
            result = load(connection, source, Options(dry_run=dry_run))
            assert (result.inserted, result.already_present) == (2, 0)
        assert connection.scalar(select(func.count()).select_from(notes)) == 4


@pytest.mark.parametrize(
    "driver",
    [
        None,
        # The paths for asyncio drivers: sqlite3's SQL through SQLAlchemy, Core's INSERT.
        pytest.param("sqlite+aiosqlite", marks=pytest.mark.backends("sqlite")),
        pytest.param("postgresql+asyncpg", marks=pytest.mark.backends("postgresql")),
    ],
    ids=["driver", "aiosqlite", "asyncpg"],
)
def test_an_empty_value_in_a_not_null_column_takes_the_database_default(
    empty_database_url: URL, driver: str | None
) -> None:
    """As a column the file leaves out does (README, Seeding), and as a Python default does.

    Rows with and without a value share batches; on PostgreSQL a row without
    one may come after COPY has sent others.
    """
    metadata = MetaData()
    counters = Table(
        "counters",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(20), nullable=False, unique=True),
        Column("hits", Integer, nullable=False, server_default="7"),
        Column("seen", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    given = "2026-03-01T10:00:00+00:00"
    csv = f"name,hits,seen\na,3,{given}\nb,,\nc,,{given}\nd,4,\n"
    jsonl = '{"name": "e", "hits": null, "seen": null}\n{"name": "f", "hits": 5}\n'

    def work(connection: Connection) -> list[Row[Any]]:
        with connection.begin():
            metadata.create_all(connection)
            for name, content, rows, batch_size in [
                ("c.csv", csv, 4, 2),
                ("c.jsonl", jsonl, 2, 1000),
            ]:
                stream = io.BytesIO(content.encode())
                source = Source(counters, name, stream, format=name.rpartition(".")[2])
                dry = load(connection, source, Options(batch_size=batch_size, dry_run=True))
                assert (dry.read, dry.inserted) == (rows, rows)
                stream.seek(0)
                result = load(connection, source, Options(batch_size=batch_size))
                assert (result.read, result.inserted) == (rows, rows)
            return list(connection.execute(select(counters).order_by(counters.c.name)))

    url = empty_database_url if driver is None else empty_database_url.set(drivername=driver)
    loaded = run_with_connection(work, url)
    assert [(row.name, row.hits) for row in loaded] == [
        ("a", 3), ("b", 7), ("c", 7), ("d", 4), ("e", 7), ("f", 5)
    ]  # fmt: skip
    assert all(row.seen is not None for row in loaded)
    assert [row.seen.replace(tzinfo=None) for row in loaded if row.name in "ac"] == [
        datetime(2026, 3, 1, 10, 0)
    ] * 2


# The order of tables ----------------------------------------------------------------------


def test_tables_that_refer_to_each_other_in_a_cycle_are_one_line() -> None:
    metadata = MetaData()
    teams = Table(
        "teams",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("captain_id", ForeignKey("players.id", use_alter=True)),
    )
    players = Table(
        "players",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("team_id", ForeignKey("teams.id")),
        Column("mentor_id", ForeignKey("players.id")),  # itself: no cycle
    )
    leagues = Table("leagues", metadata, Column("id", Integer, primary_key=True))
    assert [table.name for table in dependency_order([players, leagues])] == ["leagues", "players"]
    with pytest.raises(InputError) as raised:
        dependency_order([players, teams, leagues])
    message = str(raised.value)
    assert "\n" not in message
    assert "cycle" in message
    assert "players" in message
    assert "teams" in message


def test_a_file_named_for_no_table_is_one_line(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds", {"authors.csv": AUTHOR_HEADER, "writers.csv": ""})
    with pytest.raises(InputError, match=r"writers\.csv: no table named 'writers'"):
        seed_directory(seeds, Shop.metadata)


# Growing the models ---------------------------------------------------------------------


def test_a_new_nullable_column_is_loaded_with_no_seeding_code_changed(
    tmp_path: Path, empty_database_url: URL
) -> None:
    metadata = MetaData()
    authors = Shop.metadata.tables["authors"].to_metadata(metadata)
    authors.append_column(Column("nickname", String(20)))
    with connected(empty_database_url) as connection, connection.begin():
        metadata.create_all(connection)
        seeds = write_seeds(
            tmp_path / "seeds",
            {"authors.csv": "handle,kind,joined,nickname\nada,staff,2026-01-31,Countess\n"},
        )
        assert counts(load_directory(connection, seeds, metadata)) == [("authors", 1, 0)]
        assert connection.scalar(select(authors.c.nickname)) == "Countess"
        too_long = write_seeds(
            tmp_path / "more",
            {"authors.csv": f"handle,kind,joined,nickname\nbo,staff,2026-01-31,{'x' * 21}\n"},
        )
        with pytest.raises(InvalidInput) as raised:
            load_directory(connection, too_long, metadata)
        assert str(raised.value.problems[0]).endswith(
            "authors.csv:2: nickname: is longer than 20 characters"
        )

"""Benchmark seed.py against the raw database driver, whole process against whole process.

For each backend and N, it loads the same N generated users (and, with
--csv, the same users from a CSV file, and then N posts whose authors are
given by username) into a freshly migrated schema:

- `python scripts/seed.py --fake N` against the driver's fastest path and
  nothing else (stdlib sqlite3 executemany in one transaction; psycopg COPY);
- `python scripts/seed.py --file users.csv` against the same raw driver
  reading the file with the csv module, and against the database's own
  command-line loader: `psql \\copy` and the `sqlite3` shell's `.import`;
- posts.csv (`user.username,title`, into a `bench_posts` table the benchmark
  adds) against the users file: what looking the authors up costs.

It prints the best of --runs for each, with its peak RSS (a process that needs
less than the launcher that starts it, about 14 MB, shows as that).

The PostgreSQL database given with --postgres is wiped (alembic downgrade
base) before every run: give it a scratch database. With --pgbouncer, the
same database through a PgBouncer in transaction mode is measured too (seed
and raw driver both through it; migrations go direct).

URLs with a password are best given as BENCH_POSTGRES_URL and
BENCH_PGBOUNCER_URL, which keeps them off the command line; the benchmark
hands them to its child processes in the environment, never in arguments
(anyone on the machine can read those in /proc).

examples:
  python benchmarks/bench_seed.py -n 100000 -n 1000000
  python benchmarks/bench_seed.py -n 1000000 --csv --postgres postgresql+psycopg://me@localhost/bench
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = PROJECT_ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

COLUMNS = "username, email, full_name"
POSTS = "bench_posts"
# The raw worker's connection string: in the environment, not in its arguments.
RAW_TARGET = "BENCH_RAW_TARGET"


# The raw side: runs in its own process, imports nothing but the driver. ------


def users_like_the_seed(n: int) -> Iterator[tuple[str, str, str]]:
    """The rows `seed.py --fake N` makes for users, made as cheaply as the driver can
    take them (.copier/dbkit/tests/test_bench_seed.py checks that they are the same)."""
    for number in range(1, n + 1):
        yield (
            f"username{number:07d}",
            f"user{number:07d}@example.com",
            f"full_name{number:07d}",
        )


def _raw_records(n: int, csv_path: str) -> Iterator[Sequence[str]]:
    if not csv_path:
        yield from users_like_the_seed(n)
        return
    with open(csv_path, newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        next(reader)
        yield from reader


def raw_load(backend: str, n: int, csv_path: str) -> None:
    target = os.environ[RAW_TARGET]
    records = _raw_records(n, csv_path)
    if backend == "sqlite":
        _raw_sqlite(target, records)
    else:
        _raw_postgres(target, records)


def _raw_sqlite(path: str, records: Iterator[Sequence[str]]) -> None:
    import sqlite3

    connection = sqlite3.connect(path)
    connection.executemany(f"INSERT INTO users ({COLUMNS}) VALUES (?, ?, ?)", records)
    connection.commit()
    connection.close()


def _raw_postgres(conninfo: str, records: Iterator[Sequence[str]]) -> None:
    import psycopg

    with (
        psycopg.connect(conninfo) as connection,
        connection.cursor() as cursor,
        cursor.copy(f"COPY users ({COLUMNS}) FROM STDIN") as copy,
    ):
        for record in records:
            copy.write_row(record)


# The posts side: seeds posts by username through the seeding package, in a
# table of the benchmark's own next to the project's users. ---------------------


def posts_table(metadata: Any) -> Any:
    from sqlalchemy import Column, ForeignKey, Integer, String, Table, UniqueConstraint

    return Table(
        POSTS,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("user_id", ForeignKey("users.id"), nullable=False),
        Column("title", String(200), nullable=False),
        UniqueConstraint("user_id", "title"),
        extend_existing=True,
    )


def seed_posts(csv_path: str) -> None:
    from dbkit.seeding.inputs import open_file
    from dbkit.seeding.loader import Options
    from dbkit.seeding.run import seed
    from models import Base

    table = posts_table(Base.metadata)
    seed([open_file(Path(csv_path), table)], Options())


def create_posts_table(url: str) -> None:
    from sqlalchemy import MetaData, Table

    from dbkit.database import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            metadata = MetaData()
            Table("users", metadata, autoload_with=connection)
            posts_table(metadata).create(connection, checkfirst=True)
    finally:
        engine.dispose()


def drop_posts_table(url: str) -> None:
    from sqlalchemy import MetaData, Table

    from dbkit.database import ConnectionFailed, run_with_connection

    def drop(connection: Any) -> None:
        Table(POSTS, MetaData()).drop(connection, checkfirst=True)
        connection.commit()

    try:
        run_with_connection(drop, url)
    except ConnectionFailed as error:  # one line, the password masked
        raise SystemExit(f"bench_seed.py: {error}") from None


# The measuring side. ---------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float


class Launcher:
    """Starts the measured commands, from a process forked before the benchmark grows.

    A process's peak RSS as wait4 reports it counts the memory of the process
    it was forked from: started by the benchmark once it has imported
    SQLAlchemy, `sqlite3 .import` would be charged with the benchmark's 60 MB.
    Started by this launcher, forked while the benchmark is a bare
    interpreter, each command reports its own peak, or the launcher's 14 MB
    if its own is less.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_launch, args=(theirs,), daemon=True)
        self.process.start()

    def timed(self, command: list[str], env: dict[str, str]) -> Run:
        """Run ``command``; its wall time and peak resident memory.

        Its own error output reaches the terminal as it is (the seed and the
        raw worker never print a password); no URL is in ``command``.
        """
        self.connection.send((command, env))
        seconds, peak_kib, returncode = self.connection.recv()
        if returncode != 0:
            raise SystemExit(f"bench_seed.py: {' '.join(command)} failed ({returncode})")
        return Run(seconds, peak_kib / 1024)  # ru_maxrss is in KiB on Linux

    def close(self) -> None:
        self.connection.send(None)
        self.process.join()


def _launch(connection: Any) -> None:
    """The launcher's loop: run each (command, env) received, send back what it took."""
    while (request := connection.recv()) is not None:
        command, env = request
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        connection.send((seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status)))


@dataclass(frozen=True)
class Backend:
    name: str
    url: str  # SQLAlchemy URL, for seed.py (and alembic, unless migration_url is given)
    raw_target: str  # what the raw driver connects to
    migration_url: str | None = None

    def environment(self) -> dict[str, str]:
        env = {**os.environ, "DATABASE_URL": self.url, RAW_TARGET: self.raw_target}
        if self.migration_url is not None:
            env["MIGRATION_DATABASE_URL"] = self.migration_url
        if self.name != "sqlite":
            # For psql: libpq reads these, so no password is in its arguments.
            from sqlalchemy import make_url

            url = make_url(self.url)
            for name, value in (
                ("PGHOST", url.host),
                ("PGPORT", url.port),
                ("PGUSER", url.username),
                ("PGPASSWORD", url.password),
                ("PGDATABASE", url.database),
            ):
                if value is not None:
                    env[name] = str(value)
        return env

    def fresh_schema(self, env: dict[str, str]) -> None:
        if self.name == "sqlite":
            Path(self.raw_target).unlink(missing_ok=True)
        else:
            drop_posts_table(self.migration_url or self.url)
            alembic("downgrade", "base", env=env)
        alembic("upgrade", "head", env=env)

    def loader_tool(self, csv_path: Path) -> list[str]:
        """The database's own command-line CSV loader, loading ``csv_path`` into users."""
        if self.name == "sqlite":
            # .import into a new table takes its columns from the header; from
            # there, one INSERT fills the users columns the file has.
            return [
                "sqlite3",
                self.raw_target,
                f".import --csv {csv_path} bench_import",
                f"INSERT INTO users ({COLUMNS}) SELECT {COLUMNS} FROM bench_import",
            ]
        return [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"\\copy users ({COLUMNS}) FROM '{csv_path}' WITH (FORMAT csv, HEADER true)",
        ]


def alembic(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(PROJECT_ROOT / "alembic.ini"), *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        # Alembic's last line says what went wrong, with any password masked.
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"bench_seed.py: alembic {' '.join(args)} failed: {last}")


def best(
    launcher: Launcher,
    runs: int,
    backend: Backend,
    commands: Sequence[list[str]],
    env: dict[str, str],
    prepare: Callable[[], object] | None = None,
) -> list[Run]:
    """The best of ``runs`` of each of ``commands``, which take turns.

    Taking turns, rather than running one command ``runs`` times and then
    the next, keeps a seed and its reference at the same moment: this
    machine's speed drifts by a third from one minute to the next.
    """
    results: list[list[Run]] = [[] for _ in commands]
    for _ in range(runs):
        for command, runs_of_it in zip(commands, results, strict=True):
            backend.fresh_schema(env)
            if prepare is not None:
                prepare()
            runs_of_it.append(launcher.timed(command, env))
    return [min(runs_of_it, key=lambda run: run.seconds) for runs_of_it in results]


def write_csv(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["username", "email", "full_name"])
        writer.writerows(users_like_the_seed(n))


def write_posts_csv(path: Path, n: int) -> None:
    """Post ``n`` by user ``n``, the author given by username."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["user.username", "title"])
        writer.writerows(
            (username, f"Post {number} by {username}")
            for number, (username, _, _) in enumerate(users_like_the_seed(n), 1)
        )


def seed_command(*args: str) -> list[str]:
    return [sys.executable, str(SCRIPTS / "seed.py"), *args, "--quiet"]


def row(backend: str, kind: str, n: int, seed: Run, other: Run, other_name: str = "") -> str:
    return (
        f"{backend:<10} {kind:<6} {n:>9,} {seed.seconds:>7.2f} {other.seconds:>7.2f} "
        f"{other_name:<15} {n / seed.seconds:>12,.0f} {seed.seconds / other.seconds:>6.2f} "
        f"{seed.peak_rss_mb:>12.0f} {other.peak_rss_mb:>13.0f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench_seed.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-n", type=int, action="append", help="users to load (repeatable)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each, best kept (default 2)")
    parser.add_argument(
        "--csv", action="store_true", help="also load from CSV files (users, then posts)"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("BENCH_POSTGRES_URL"),
        help="a scratch PostgreSQL database (default: $BENCH_POSTGRES_URL)",
    )
    parser.add_argument(
        "--pgbouncer",
        metavar="URL",
        default=os.environ.get("BENCH_PGBOUNCER_URL"),
        help="the same database through PgBouncer (default: $BENCH_PGBOUNCER_URL)",
    )
    parser.add_argument("--raw", nargs=3, help=argparse.SUPPRESS)  # the raw worker
    parser.add_argument("--seed-posts", help=argparse.SUPPRESS)  # the posts worker
    args = parser.parse_args(argv)
    if args.raw:
        backend, n, csv_path = args.raw
        raw_load(backend, int(n), csv_path)
        return 0
    if args.seed_posts:
        seed_posts(args.seed_posts)
        return 0
    if args.pgbouncer and not args.postgres:
        parser.error("--pgbouncer needs --postgres, the same database without it")

    launcher = Launcher()  # first, while this process is small (see Launcher)
    try:
        measure(args, launcher)
    finally:
        launcher.close()
    return 0


def measure(args: argparse.Namespace, launcher: Launcher) -> None:
    """Print the table for the backends and N that ``args`` give."""
    counts = args.n or [1_000_000]
    this = str(Path(__file__).resolve())
    with tempfile.TemporaryDirectory() as directory:
        sqlite_file = str(Path(directory) / "bench.db")
        backends = [Backend("sqlite", f"sqlite:///{sqlite_file}", sqlite_file)]
        if args.postgres:
            backends.append(Backend("postgresql", args.postgres, _libpq(args.postgres)))
        if args.pgbouncer:
            backends.append(
                Backend("pgbouncer", args.pgbouncer, _libpq(args.pgbouncer), args.postgres)
            )
        header = (
            f"{'backend':<10} {'input':<6} {'N':>9} {'seed s':>7} {'vs s':>7} {'vs':<15} "
            f"{'seed rows/s':>12} {'ratio':>6} {'seed RSS MB':>12} {'vs RSS MB':>13}"
        )
        print(header)
        print("-" * len(header))
        for n in counts:
            users_csv = Path(directory) / f"users-{n}.csv"
            posts_csv = Path(directory) / f"posts-{n}.csv"
            if args.csv:
                write_csv(users_csv, n)
                write_posts_csv(posts_csv, n)
            for backend in backends:
                env = backend.environment()

                def raw(csv_path: str, backend: Backend = backend, n: int = n) -> list[str]:
                    return [sys.executable, this, "--raw", backend.name, str(n), csv_path]

                seed_run, raw_run = best(
                    launcher, args.runs, backend, [seed_command("--fake", str(n)), raw("")], env
                )
                print(row(backend.name, "fake", n, seed_run, raw_run, "raw driver"), flush=True)
                if not args.csv:
                    continue
                commands = [seed_command("--file", str(users_csv)), raw(str(users_csv))]
                if backend.name != "pgbouncer":  # psql \\copy is the same through it
                    commands.append(backend.loader_tool(users_csv))
                seed_run, raw_run, *tool_run = best(launcher, args.runs, backend, commands, env)
                print(row(backend.name, "csv", n, seed_run, raw_run, "raw driver"), flush=True)
                if tool_run:
                    name = "sqlite3 .import" if backend.name == "sqlite" else "psql \\copy"
                    print(row(backend.name, "csv", n, seed_run, tool_run[0], name), flush=True)

                def users_then_table(
                    backend: Backend = backend, env: dict[str, str] = env, users: Path = users_csv
                ) -> None:
                    launcher.timed(seed_command("--file", str(users)), env)
                    create_posts_table(backend.migration_url or backend.url)

                (posts_run,) = best(
                    launcher,
                    args.runs,
                    backend,
                    [[sys.executable, this, "--seed-posts", str(posts_csv)]],
                    env,
                    prepare=users_then_table,
                )
                print(row(backend.name, "posts", n, posts_run, seed_run, "users csv"), flush=True)


def _libpq(url: str) -> str:
    """``url`` as psycopg takes it (a libpq URI)."""
    from sqlalchemy import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark seed.py against the raw database driver, whole process against whole process.

For each backend and N, it loads the same N generated users (and, with
--csv, the same users from a CSV file) into a freshly migrated schema twice
over: once with `python scripts/seed.py`, once with the driver's fastest path
and nothing else (stdlib sqlite3 executemany in one transaction; psycopg
COPY). It prints the best of --runs for each, with peak RSS.

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
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = PROJECT_ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

from seeding.fake import fake_users  # noqa: E402  (scripts/ is not a package)

COLUMNS = "username, email, full_name"
# The raw worker's connection string: in the environment, not in its arguments.
RAW_TARGET = "BENCH_RAW_TARGET"


# The raw side: runs in its own process, imports nothing but the driver. ------


def _raw_records(n: int, csv_path: str) -> Iterator[Sequence[str]]:
    if not csv_path:
        yield from fake_users(n)  # type: ignore[misc]
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


# The measuring side. ---------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float


def timed(command: list[str], env: dict[str, str]) -> Run:
    """Run ``command``; its wall time and peak resident memory.

    Its own error output reaches the terminal as it is (the seed and the raw
    worker never print a password); no URL is in ``command``.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench_seed.py: {' '.join(command)} failed ({process.returncode})")
    return Run(seconds, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


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
        return env

    def fresh_schema(self, env: dict[str, str]) -> None:
        if self.name == "sqlite":
            Path(self.raw_target).unlink(missing_ok=True)
        else:
            alembic("downgrade", "base", env=env)
        alembic("upgrade", "head", env=env)


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


def best(runs: int, backend: Backend, command: list[str], env: dict[str, str]) -> Run:
    results = []
    for _ in range(runs):
        backend.fresh_schema(env)
        results.append(timed(command, env))
    return min(results, key=lambda run: run.seconds)


def write_csv(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["username", "email", "full_name"])
        writer.writerows(fake_users(n))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench_seed.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-n", type=int, action="append", help="users to load (repeatable)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each, best kept (default 2)")
    parser.add_argument("--csv", action="store_true", help="also load from a CSV file")
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
    args = parser.parse_args(argv)
    if args.raw:
        backend, n, csv_path = args.raw
        raw_load(backend, int(n), csv_path)
        return 0
    if args.pgbouncer and not args.postgres:
        parser.error("--pgbouncer needs --postgres, the same database without it")

    counts = args.n or [1_000_000]
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
            f"{'backend':<10} {'input':<6} {'N':>9} {'seed s':>7} {'raw s':>7} "
            f"{'seed rows/s':>12} {'raw rows/s':>11} {'ratio':>6} "
            f"{'seed RSS MB':>12} {'raw RSS MB':>11}"
        )
        print(header)
        print("-" * len(header))
        for n in counts:
            csv_path = Path(directory) / f"users-{n}.csv"
            inputs = ["fake"]
            if args.csv:
                write_csv(csv_path, n)
                inputs.append("csv")
            for backend in backends:
                env = backend.environment()
                for kind in inputs:
                    seed_args = ["--fake", str(n)] if kind == "fake" else ["--file", str(csv_path)]
                    seed_run = best(
                        args.runs,
                        backend,
                        [sys.executable, str(SCRIPTS / "seed.py"), *seed_args, "--quiet"],
                        env,
                    )
                    raw_run = best(
                        args.runs,
                        backend,
                        [
                            sys.executable,
                            str(Path(__file__).resolve()),
                            "--raw",
                            backend.name,
                            str(n),
                            str(csv_path) if kind == "csv" else "",
                        ],
                        env,
                    )
                    print(
                        f"{backend.name:<10} {kind:<6} {n:>9,} {seed_run.seconds:>7.2f} "
                        f"{raw_run.seconds:>7.2f} {n / seed_run.seconds:>12,.0f} "
                        f"{n / raw_run.seconds:>11,.0f} {seed_run.seconds / raw_run.seconds:>6.2f} "
                        f"{seed_run.peak_rss_mb:>12.0f} {raw_run.peak_rss_mb:>11.0f}",
                        flush=True,
                    )
    return 0


def _libpq(url: str) -> str:
    """``url`` as psycopg takes it (a libpq URI)."""
    from sqlalchemy import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


if __name__ == "__main__":
    sys.exit(main())

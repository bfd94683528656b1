"""The seed benchmark (template-only, like these tests) keeps passwords to itself:
none on a child process's command line, where anyone on the machine can read
it in /proc, and none in what it prints when a child fails."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import make_url

from dbkit.database import PROJECT_ROOT
from dbkit.testing.scratch import scratch_database

BENCH = PROJECT_ROOT / "benchmarks" / "bench_seed.py"
SERVER = os.environ.get("TEMPLATE_TEST_POSTGRESQL_URL")
# The suite's PostgreSQL trusts 127.0.0.1, so any password connects.
PASSWORD = "bench-secret-42"


def command_lines_holding(secret: str) -> list[str]:
    """The command lines of this machine's processes that contain ``secret``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # the process has already gone
            continue
        if secret in arguments:
            found.append(arguments)
    return found


def bench(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *args],
        env={**os.environ, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_raw_side_loads_the_rows_the_seed_generates() -> None:
    """Otherwise the two sides of the comparison would not do the same work."""
    import importlib.util

    from sqlalchemy import create_engine

    from dbkit.seeding.fake import fake_rows
    from models import Base

    spec = importlib.util.spec_from_file_location("bench_seed", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_seed"] = module  # (its dataclasses look themselves up there)
    spec.loader.exec_module(module)
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        generated = [
            tuple(row) for row in fake_rows(connection, Base.metadata.tables["users"], 1000)
        ]
    assert generated == list(module.users_like_the_seed(1000))


def test_a_failing_child_does_not_print_the_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:{port}/bench"
    result = bench("-n", "10", "--runs", "1", BENCH_POSTGRES_URL=url)
    assert result.returncode != 0
    assert "cannot connect" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.skipif(SERVER is None, reason="set TEMPLATE_TEST_POSTGRESQL_URL")
def test_no_child_has_the_password_on_its_command_line(tmp_path: Path) -> None:
    assert SERVER is not None
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.extend(command_lines_holding(PASSWORD))

    with scratch_database(SERVER, tmp_path) as url:
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with_password = make_url(url).set(password=PASSWORD)
            result = bench(
                "-n", "2000", "--runs", "1", "--csv",
                BENCH_POSTGRES_URL=with_password.render_as_string(hide_password=False),
            )  # fmt: skip
        finally:
            done.set()
            watcher.join()
    assert result.returncode == 0, result.stderr
    assert "postgresql" in result.stdout
    assert not seen, seen

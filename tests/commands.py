"""Run the project's commands in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import URL

from models.database import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
SEED_SCRIPT = PROJECT_ROOT / "scripts" / "seed.py"


def environment(database: URL, **settings: str) -> dict[str, str]:
    """This process's environment, with DATABASE_URL and any other ``settings`` replaced."""
    return {
        **os.environ,
        "DATABASE_URL": database.render_as_string(hide_password=False),
        **settings,
    }


def alembic_args(*args: str, ini: Path | str = ALEMBIC_INI) -> list[str]:
    """The arguments to ``python`` that run ``alembic ARGS``."""
    return ["-m", "alembic", "-c", str(ini), *args]


def run(*args: str, database: URL, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` against ``database``; the result keeps stdout and stderr."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=environment(database, **settings),
        capture_output=True,
        text=True,
        timeout=300,
    )


def start(*args: str, database: URL, **settings: str) -> subprocess.Popen[str]:
    """Start ``python ARGS`` against ``database`` without waiting for it."""
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=environment(database, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(
    condition: Callable[[], bool], process: subprocess.Popen[str], what: str, timeout: float = 60
) -> None:
    """Wait until ``condition()`` holds; fail if ``process`` ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.05)


def alembic(
    *args: str, database: URL, ini: Path | str = ALEMBIC_INI, **settings: str
) -> subprocess.CompletedProcess[str]:
    return run(*alembic_args(*args, ini=ini), database=database, **settings)


def seed(*args: str, database: URL, **settings: str) -> subprocess.CompletedProcess[str]:
    return run(str(SEED_SCRIPT), *args, database=database, **settings)

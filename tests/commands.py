"""Run the project's commands in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import URL

from models.database import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def environment(database: URL, **settings: str) -> dict[str, str]:
    """This process's environment, with DATABASE_URL and any other ``settings`` replaced."""
    return {
        **os.environ,
        "DATABASE_URL": database.render_as_string(hide_password=False),
        **settings,
    }


def alembic_command(*args: str, ini: Path | str = ALEMBIC_INI) -> list[str]:
    return [sys.executable, "-m", "alembic", "-c", str(ini), *args]


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


def alembic(
    *args: str, database: URL, ini: Path | str = ALEMBIC_INI, **settings: str
) -> subprocess.CompletedProcess[str]:
    return run(*alembic_command(*args, ini=ini)[1:], database=database, **settings)


def seed(*args: str, database: URL, **settings: str) -> subprocess.CompletedProcess[str]:
    return run(str(PROJECT_ROOT / "scripts" / "seed.py"), *args, database=database, **settings)

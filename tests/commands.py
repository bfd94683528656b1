"""Run the project's commands in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import URL

from models.database import PROJECT_ROOT


def run(
    *args: str, database: URL, cwd: str | os.PathLike[str] = PROJECT_ROOT
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` against ``database``; the result keeps stdout and stderr."""
    env = {**os.environ, "DATABASE_URL": database.render_as_string(hide_password=False)}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def alembic(*args: str, database: URL) -> subprocess.CompletedProcess[str]:
    return run("-m", "alembic", "-c", str(PROJECT_ROOT / "alembic.ini"), *args, database=database)


def seed(*args: str, database: URL) -> subprocess.CompletedProcess[str]:
    return run(str(PROJECT_ROOT / "scripts" / "seed.py"), *args, database=database)

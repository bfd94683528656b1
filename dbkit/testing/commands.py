"""Run the project's commands as a user would: in a subprocess, or the same entry
point in this process when the test is not about processes (much quicker:
starting Python and importing SQLAlchemy and Alembic costs about half a
second a command).

Whatever a command prints is checked for the secrets its database URLs
carry, in every form the README allows (the password, ``password=`` and
``sslpassword=`` in the query, a password inside libpq's ``options``): no
test passes on output that shows one.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import unquote

from alembic.config import CommandLine, Config
from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

from dbkit.database import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
SEED_SCRIPT = PROJECT_ROOT / "scripts" / "seed.py"
# Shorter passwords (a CI server's "ci") turn up in ordinary words.
SHORTEST_CHECKED_SECRET = 6


def settings_for(database: URL, **settings: str) -> dict[str, str]:
    """The database URLs for ``database``, and any other ``settings``, as environment variables.

    MIGRATION_DATABASE_URL too (unless ``settings`` names another): one set in
    a developer's environment or .env would otherwise take alembic elsewhere.
    """
    url = database.render_as_string(hide_password=False)
    return {"DATABASE_URL": url, "MIGRATION_DATABASE_URL": url, **settings}


def environment(database: URL, **settings: str) -> dict[str, str]:
    """This process's environment, with the database URLs and any other ``settings`` replaced."""
    return {**os.environ, **settings_for(database, **settings)}


def alembic_args(*args: str, ini: Path | str = ALEMBIC_INI) -> list[str]:
    """The arguments to ``python`` that run ``alembic ARGS``."""
    return ["-m", "alembic", "-c", str(ini), *args]


def secrets_in(values: Iterable[str]) -> set[str]:
    """The secrets that the database URLs among ``values`` carry."""
    found: set[str] = set()
    for value in values:
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):  # a malformed URL: its tests look for themselves
            continue
        found.add(url.password or "")
        for key, given in url.query.items():
            for text in (given,) if isinstance(given, str) else given:
                if key in {"password", "sslpassword"}:
                    found.add(text)
                found.update(re.findall(r"password=(\S+)", unquote(text)))
    return {secret for secret in found if len(secret) >= SHORTEST_CHECKED_SECRET}


def never_shown(
    result: subprocess.CompletedProcess[str], settings: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``result``, once it is clear that it printed none of the secrets in ``settings``."""
    for secret in secrets_in(settings.values()):
        for name, output in (("stdout", result.stdout), ("stderr", result.stderr)):
            assert secret not in (output or ""), f"{result.args} printed a password on {name}"
    return result


def run(*args: str, database: URL, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` against ``database``; the result keeps stdout and stderr."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=environment(database, **settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return never_shown(result, settings_for(database, **settings))


def start(*args: str, database: URL, **settings: str) -> subprocess.Popen[str]:
    """Start ``python ARGS`` against ``database`` without waiting for it.

    Ctrl-C (SIGINT) interrupts it as it would on a terminal, even where the
    suite itself runs with SIGINT ignored (a job started in the background by
    a shell without job control): Python then ignores it too.
    """
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=environment(database, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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


def alembic_here(
    *args: str, database: URL, ini: Path | str = ALEMBIC_INI, **settings: str
) -> subprocess.CompletedProcess[str]:
    """``alembic ARGS`` through Alembic's command-line entry point, in this process."""
    argv = ["-c", str(ini), *args]

    return _here(lambda: _CommandLine(prog="alembic").main(argv), argv, database, settings)


def seed_here(*args: str, database: URL, **settings: str) -> subprocess.CompletedProcess[str]:
    """``python scripts/seed.py ARGS`` through its main(), in this process."""
    from dbkit.seeding import cli as seed

    argv = list(args)
    return _here(lambda: sys.exit(seed.main(argv)), argv, database, settings)


class _CommandLine(CommandLine):
    def run_cmd(self, config: Config, options: Any) -> None:
        # Config binds sys.stdout when Alembic is imported; write to today's
        # (redirected by _here).
        config.stdout = sys.stdout
        super().run_cmd(config, options)


def _here(
    main: Callable[[], object], argv: list[str], database: URL, settings: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    given = settings_for(database, **settings)
    with (
        mock.patch.dict(os.environ, given),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        returncode = exit_status(main)
    result = subprocess.CompletedProcess(argv, returncode, stdout.getvalue(), stderr.getvalue())
    return never_shown(result, given)


def exit_status(main: Callable[[], object]) -> int:
    """Call ``main`` as a script's entry point: the status the process would exit with.

    An exception is printed as Python prints it, with status 1.
    """
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def seed(*args: str, database: URL, **settings: str) -> subprocess.CompletedProcess[str]:
    return run(str(SEED_SCRIPT), *args, database=database, **settings)

"""Run ``alembic ARGS`` in N processes started together:
``python -m dbkit.tests.forked_alembic N OUTPUT_DIR ARGS...``.

This process imports Alembic, SQLAlchemy and the models once, then forks N
children. Each child is a process of its own, with its own connections,
running Alembic's command line, exactly as N app instances would; but they
start within milliseconds of each other (the race under test), and the
seconds of CPU that N interpreters would spend importing the same modules
are spent once. Child i writes its output to OUTPUT_DIR/i.out and i.err and
its exit status to OUTPUT_DIR/i.status.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from alembic.config import main

import models  # noqa: F401  (imported before the fork, once for all children)
from dbkit.testing.commands import exit_status


def child(argv: list[str], output: Path, index: int) -> int:
    """Run Alembic's command line with stdout and stderr going to this child's files."""
    with (
        (output / f"{index}.out").open("w") as stdout,
        (output / f"{index}.err").open("w") as stderr,
    ):
        os.dup2(stdout.fileno(), 1)
        os.dup2(stderr.fileno(), 2)
        status = exit_status(lambda: main(argv=argv, prog="alembic"))
        sys.stdout.flush()
        sys.stderr.flush()
    return status


def run(count: int, output: Path, argv: list[str]) -> None:
    children = []
    for index in range(count):
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                status = child(argv, output, index)
            finally:
                os._exit(status)
        children.append(pid)
    for index, pid in enumerate(children):
        _, wait_status = os.waitpid(pid, 0)
        (output / f"{index}.status").write_text(str(os.waitstatus_to_exitcode(wait_status)))


if __name__ == "__main__":
    run(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])

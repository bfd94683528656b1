"""Migration histories in temporary directories, for tests of the migration machinery.

A test that checks a mechanism (the safety net, the migrator lock, foreign
keys on SQLite) builds a history of its own with :func:`new_history`: the
project's ``env.py`` and revision template, and revisions the test writes.
It then passes or fails on the mechanism's merit alone, whatever the
project's own history holds. Nothing here writes into the repository.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

from dbkit.database import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "migrations"
# add()'s default parent: the revision it added last.
LAST = "last"

REVISION_FILE = """\
import os
import time

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
"""

# The line of a revision file that add() puts the first line of upgrade() on.
UPGRADE_LINE = REVISION_FILE.splitlines().index("{upgrade}") + 1


@dataclass
class History:
    """A migration history in a directory of its own, with an alembic.ini beside it."""

    location: Path
    # What autogenerate and the drift check compare the schema with; None
    # means the project's models.
    metadata: MetaData | None = None
    # The revision add() wrote last: where the next one goes by default, known
    # without loading every revision file again.
    last: str | None = field(default=None, init=False)

    @property
    def ini(self) -> Path:
        return self.location.parent / "alembic.ini"

    def config(self) -> Config:
        config = Config(str(self.ini))
        if self.metadata is not None:
            config.attributes["target_metadata"] = self.metadata
        return config

    @property
    def head(self) -> str | None:
        return ScriptDirectory.from_config(self.config()).get_current_head()

    def add(
        self,
        upgrade: str,
        downgrade: str = "pass",
        *,
        revision: str | None = None,
        down_revision: str | tuple[str, ...] | None = LAST,
    ) -> str:
        """Write a revision on top of the last one added (or on ``down_revision``); return its id.

        ``upgrade`` and ``downgrade`` are function bodies, dedented.
        """
        revision = revision or f"rev{len(list(self.versions.glob('*.py'))) + 1:04d}"
        if down_revision == LAST:
            down_revision = self.last
        body = REVISION_FILE.format(
            revision=revision,
            down_revision=down_revision,
            upgrade=textwrap.indent(textwrap.dedent(upgrade).strip(), "    "),
            downgrade=textwrap.indent(textwrap.dedent(downgrade).strip(), "    "),
        )
        self.file(revision).write_text(body)
        self.last = revision
        return revision

    @property
    def versions(self) -> Path:
        return self.location / "versions"

    def file(self, revision: str) -> Path:
        """The file :meth:`add` wrote ``revision`` to."""
        return self.versions / f"{revision}_test.py"


def _write_ini(directory: Path, location: Path, hooks: bool) -> None:
    ini = (PROJECT_ROOT / "alembic.ini").read_text()
    ini = re.sub(r"(?m)^script_location = .*$", f"script_location = {location}", ini)
    # The copy's env.py imports the project's models from the repository.
    ini = re.sub(r"(?m)^prepend_sys_path = .*$", f"prepend_sys_path = {PROJECT_ROOT}", ini)
    if hooks:
        # ruff finds its settings by the file it checks: the project's, beside the copy.
        shutil.copy(PROJECT_ROOT / "pyproject.toml", directory / "pyproject.toml")
    else:  # new revision files in the copy need not be formatted
        ini = re.sub(r"(?m)^hooks = .*$", "hooks =", ini)
    (directory / "alembic.ini").write_text(ini)


def new_history(
    directory: Path, metadata: MetaData | None = None, *, hooks: bool = False
) -> History:
    """An empty history in ``directory``: the project's env.py and template, no revisions.

    ``hooks``: run alembic.ini's post-write hooks (ruff) on new revision files.
    """
    location = directory / "migrations"
    (location / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(MIGRATIONS / name, location / name)
    _write_ini(directory, location, hooks)
    return History(location, metadata)

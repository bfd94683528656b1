"""Temporary copies of migrations/ with extra revisions, for tests that need a
broken or special history. Nothing here ever writes into the repository."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

from models.database import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "migrations"


def copy_history(directory: Path) -> Path:
    """Copy migrations/ into ``directory``, with an alembic.ini beside it that points there.

    Returns the copy's script location; its alembic.ini is ``<copy>/../alembic.ini``.
    """
    copy = directory / "migrations"
    shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    ini = (PROJECT_ROOT / "alembic.ini").read_text()
    ini = re.sub(r"(?m)^script_location = .*$", f"script_location = {copy}", ini)
    # The copy's env.py imports the project's models from the repository.
    ini = re.sub(r"(?m)^prepend_sys_path = .*$", f"prepend_sys_path = {PROJECT_ROOT}", ini)
    # New revision files in the copy need not be formatted.
    ini = re.sub(r"(?m)^hooks = .*$", "hooks =", ini)
    (directory / "alembic.ini").write_text(ini)
    return copy


def add_revision(
    history: Path, revision: str, down_revision: str | None, upgrade: str, downgrade: str = "pass"
) -> Path:
    """Write a revision file into a copied history; bodies are Python, dedented."""
    body = textwrap.dedent(
        """\
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
    ).format(
        revision=revision,
        down_revision=down_revision,
        upgrade=textwrap.indent(textwrap.dedent(upgrade).strip(), "    "),
        downgrade=textwrap.indent(textwrap.dedent(downgrade).strip(), "    "),
    )
    path = history / "versions" / f"{revision}_test.py"
    path.write_text(body)
    return path

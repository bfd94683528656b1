"""pytest-alembic's built-in tests, run against this project as a user of that plugin would.

The template's CI runs them on SQLite and on PostgreSQL, so that no change to
migrations/env.py breaks the plugin again:

    pytest -n 0 .ci/pytest_alembic

The two fixtures are the plugin's documented ones: the project's alembic.ini,
and an engine on a new, empty database on the backend TEST_DATABASE_URL names
(SQLite when unset).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, pool

from dbkit.database import make_engine
from dbkit.migrations.revisions import ALEMBIC_INI
from dbkit.testing.scratch import SERVER_URL, scratch_database


@pytest.fixture
def alembic_config() -> dict[str, Any]:
    return {"file": str(ALEMBIC_INI)}


@pytest.fixture
def alembic_engine(tmp_path: Path) -> Iterator[Engine]:
    with scratch_database(SERVER_URL, tmp_path) as url:
        engine = make_engine(url, poolclass=pool.NullPool)
        try:
            yield engine
        finally:
            engine.dispose()

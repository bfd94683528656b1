"""The safety net on real, public Alembic histories (dbkit/tests/real_histories/corpus.py).

Every check runs on each history, on the backend under test, with the
history's own accepted file: a crash or a false alarm fails here, and a
finding nobody has accepted fails too. They are slow, so they run only when
asked for: ``pip install -e '.[real-histories]' && pytest -m real_history``.
The data check's coverage is in pytest's warnings summary.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import URL, make_url

from dbkit.safety_net.checks import (
    check_data_survives,
    check_history,
    check_no_drift,
    check_offline_sql,
    check_stairway,
    check_upgrade,
)
from dbkit.testing.histories import History
from dbkit.testing.scratch import BACKEND
from dbkit.tests.real_histories.corpus import HISTORIES, RealHistory

pytestmark = pytest.mark.real_history

OFFLINE_URLS = {
    "sqlite": "sqlite:////nonexistent/dir/app.db",
    "postgresql": "postgresql+psycopg://nobody@db.invalid/app",
    "mysql": "mysql+pymysql://nobody@db.invalid/app",
}


@pytest.fixture(scope="module", params=HISTORIES, ids=lambda history: history.name)
def real(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> History:
    """The history, ported into a directory of its own."""
    history: RealHistory = request.param
    if history.versions_for(BACKEND) is None:
        pytest.skip(f"{history.name} has no history for {BACKEND}: its project does not run there")
    if history.wheel is None:
        pytest.importorskip(
            history.top_level_package,
            reason=f"{history.requirement} is not installed: pip install -e '.[real-histories]'",
        )
    directory: Path = tmp_path_factory.mktemp(history.name)
    return history.port(directory, BACKEND)


def test_the_history_is_sound(real: History) -> None:
    check_history(real.config())


def test_upgrade_from_empty_to_head(real: History, empty_database_url: URL) -> None:
    check_upgrade(empty_database_url, real.config())


def test_every_downgrade_undoes_its_upgrade(real: History, empty_database_url: URL) -> None:
    check_stairway(empty_database_url, real.config())


def test_models_match_the_migrated_schema(real: History, empty_database_url: URL) -> None:
    check_no_drift(empty_database_url, real.config())


def test_data_survives_every_upgrade(real: History, empty_database_url: URL) -> None:
    check_data_survives(empty_database_url, real.config())


def test_offline_sql(real: History) -> None:
    check_offline_sql(real.ini, make_url(OFFLINE_URLS[BACKEND]))

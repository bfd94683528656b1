"""Fixtures of the machinery's own tests (the project's come from dbkit.testing.plugin)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dbkit.testing.histories import MIGRATIONS, History, new_history


@pytest.fixture
def history(tmp_path: Path) -> History:
    """An empty migration history of the test's own, to add revisions to."""
    return new_history(tmp_path)


@pytest.fixture(scope="session", autouse=True)
def repository_is_left_untouched() -> Iterator[None]:
    """The machinery's tests write their histories in temporary directories, never here."""
    versions = MIGRATIONS / "versions"
    before = sorted(path.name for path in versions.glob("*.py"))
    yield
    after = sorted(path.name for path in versions.glob("*.py"))
    assert after == before, "a test left a revision file in migrations/versions"

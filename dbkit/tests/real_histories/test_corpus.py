"""How a real history's project is copied from its wheel (dbkit/tests/real_histories/corpus.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbkit.tests.real_histories.corpus import _copy_modules


@pytest.mark.no_database
def test_a_stand_in_is_written_only_for_a_package_that_is_not_installed(tmp_path: Path) -> None:
    """The copy comes first on sys.path: a stand-in for an installed package (numpy,
    say, where it is installed) would hide the real one from the whole process."""
    stand_ins = {"json.decoder": "broken = True\n", "project_stub.helpers": "value = 1\n"}
    _copy_modules(tmp_path, (), stand_ins, tmp_path / "project")
    assert (tmp_path / "project" / "project_stub" / "helpers.py").read_text() == "value = 1\n"
    assert not (tmp_path / "project" / "json").exists()

"""Real, public Alembic histories, ported the way the README's "Adopting an existing
history" says, for the safety net to be tried on what nobody here wrote.

Each history comes from a wheel on PyPI, installed by the ``real-histories``
extra at an exact version (its code is never committed here). Its adapter
says where the revisions are, which models they describe, what the port
adds (a baseline revision, when the project creates its first tables outside
Alembic) and which accepted file, beside this module, records what the
project lives with, each entry checked by hand.
"""

from __future__ import annotations

import importlib
import importlib.resources
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData

from tests.histories import History, new_history

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Baseline:
    """A first revision for a history whose project creates its first tables itself:
    its id and the bodies of upgrade() and downgrade()."""

    revision: str
    upgrade: str
    downgrade: str


@dataclass(frozen=True)
class RealHistory:
    name: str
    # The wheel that ships the history, pinned, and its licence.
    requirement: str
    licence: str
    # The package that holds the revision files, and the modules that
    # register the project's models on ``metadata``'s MetaData.
    versions_package: str
    model_modules: tuple[str, ...]
    metadata: Callable[[], MetaData]
    baseline: Baseline | None = None

    @property
    def accepted_file(self) -> Path:
        return HERE / f"{self.name}.accepted.toml"

    def port(self, directory: Path) -> History:
        """The history in ``directory`` with the project's env.py, as an adopting team has it."""
        for module in self.model_modules:
            importlib.import_module(module)
        history = new_history(directory, self.metadata())
        source = importlib.resources.files(self.versions_package)
        first = None
        for entry in source.iterdir():
            if entry.name.endswith(".py") and entry.name != "__init__.py":
                text = entry.read_text(encoding="utf-8")
                if re.search(r"(?m)^down_revision\s*(:[^=]*)?=\s*None\s*$", text):
                    first = entry.name
                (history.versions / entry.name).write_text(text, encoding="utf-8")
        if self.baseline is not None and first is not None:
            baseline = self.baseline
            path = history.versions / first
            path.write_text(
                re.sub(
                    r"(?m)^(down_revision\s*(:[^=]*)?=\s*)None\s*$",
                    rf'\g<1>"{baseline.revision}"',
                    path.read_text(encoding="utf-8"),
                ),
                encoding="utf-8",
            )
            history.add(
                baseline.upgrade,
                baseline.downgrade,
                revision=baseline.revision,
                down_revision=None,
            )
        shutil.copy(self.accepted_file, history.location / "accepted.toml")
        return history


def _mlflow_metadata() -> MetaData:
    metadata: MetaData = importlib.import_module("mlflow.store.db.base_sql_model").Base.metadata
    return metadata


MLFLOW_INITIAL = "from mlflow.store.tracking.dbmodels.initial_models import Base as InitialBase"

HISTORIES = [
    RealHistory(
        name="mlflow",
        requirement="mlflow-skinny==3.18.0",
        licence="Apache-2.0",
        versions_package="mlflow.store.db_migrations.versions",
        model_modules=(
            "mlflow.store.tracking.dbmodels.models",
            "mlflow.store.model_registry.dbmodels.models",
            "mlflow.store.workspace.dbmodels.models",
        ),
        metadata=_mlflow_metadata,
        # MLflow creates its first five tables with create_all() before it
        # runs Alembic (mlflow.store.db.utils._initialize_tables); the port
        # makes that a revision, so that the history builds from nothing.
        baseline=Baseline(
            revision="0000baseline",
            upgrade=f"{MLFLOW_INITIAL}\nInitialBase.metadata.create_all(op.get_bind())",
            downgrade=f"{MLFLOW_INITIAL}\nInitialBase.metadata.drop_all(op.get_bind())",
        ),
    ),
]

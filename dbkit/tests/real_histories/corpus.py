"""Real, public Alembic histories, ported the way the README's "Adopting an existing
history" says, for the safety net to be tried on what nobody here wrote.

Each history comes from a wheel on PyPI at an exact version; its code is
never committed here. A light project is installed by the ``real-histories``
extra; a project whose package cannot be imported without most of its
dependencies is downloaded as one wheel (:class:`Wheel`, pinned by sha256,
kept in a cache outside the repository), and only the files its revisions
and models need are copied from it, with small stand-ins for the rest. Each
adapter says where the revisions are, which models they describe, what the
port adds (a baseline revision, when the project creates its first tables
outside Alembic) and which accepted file, beside this module, records what
the project lives with, each entry checked by hand. A project that keeps one
history per backend (Prefect) is ported per backend, with an accepted file
each, and is skipped on a backend it has none for. Where a revision cannot
run on the project's drivers at all, the port makes the edit the adopting
team would have to make, and says why.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.abc import Traversable
from pathlib import Path

from alembic.config import Config
from sqlalchemy import MetaData

from dbkit.testing.histories import History, new_history
from dbkit.tests.real_histories import prefect_stand_ins

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Wheel:
    """One wheel from PyPI, without its dependencies, checked against its sha256."""

    project: str
    version: str
    sha256: str

    def unpacked(self) -> Path:
        """The wheel's files, unpacked in the cache; downloaded and verified the first time."""
        target = cache_directory() / f"{self.project}-{self.version}"
        if (target / ".complete").is_file():
            return target
        downloads = cache_directory() / "wheels"
        downloads.mkdir(parents=True, exist_ok=True)
        found = self._downloaded(downloads)
        if found is None:
            subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
                    *("--only-binary", ":all:", "--dest", str(downloads)),
                    f"{self.project}=={self.version}",
                ],
                check=True,
            )
            found = self._downloaded(downloads)
        if found is None:
            raise RuntimeError(f"pip downloaded no wheel of {self.project}=={self.version}")
        digest = hashlib.sha256(found.read_bytes()).hexdigest()
        if digest != self.sha256:
            raise RuntimeError(f"{found.name}: sha256 {digest}, expected {self.sha256}")
        with zipfile.ZipFile(found) as archive:
            archive.extractall(target)
        (target / ".complete").touch()
        return target

    def _downloaded(self, directory: Path) -> Path | None:
        prefix = f"{self.project.replace('-', '_')}-{self.version}-"
        wheels = (path for path in directory.glob("*.whl") if path.name.startswith(prefix))
        return next(wheels, None)


def cache_directory() -> Path:
    """Where wheels are kept between runs: ``REAL_HISTORIES_CACHE``, else the user's cache."""
    configured = os.environ.get("REAL_HISTORIES_CACHE")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "real-alembic-histories"


@dataclass(frozen=True)
class Baseline:
    """A first revision for a history whose project creates its first tables itself:
    its id and the bodies of upgrade() and downgrade()."""

    revision: str
    upgrade: str
    downgrade: str


@dataclass
class PortedHistory(History):
    """A history whose config says how the project connects to run its revisions."""

    isolation_levels: Mapping[str, str] = field(default_factory=dict)

    def config(self) -> Config:
        config = super().config()
        config.attributes["isolation_levels"] = self.isolation_levels
        return config


@dataclass(frozen=True)
class RealHistory:
    name: str
    # The project on PyPI, pinned, and its licence.
    requirement: str
    licence: str
    # The package that holds the revision files, or, for a project that keeps
    # a history per backend, one package per backend (its dialect name: the
    # others are skipped); and the modules that register the project's models
    # on ``metadata``'s MetaData.
    versions_package: str | Mapping[str, str]
    model_modules: tuple[str, ...]
    metadata: Callable[[], MetaData]
    baseline: Baseline | None = None
    # Set when the project is not installed: the wheel to copy from, the
    # files of it (paths inside the wheel) that the revisions and models
    # import, and stand-ins (module name: source) for modules they import
    # that would pull in the rest of the project.
    wheel: Wheel | None = None
    files: tuple[str, ...] = ()
    stand_ins: Mapping[str, str] = field(default_factory=dict)
    # The isolation level (by backend name) of the connection the project
    # runs its revisions on, where it is not the driver's default.
    isolation_levels: Mapping[str, str] = field(default_factory=dict)
    # What the adopting team must change in a revision file (its name: the
    # text to replace and the replacement) for it to run on the project's
    # drivers at all; each says why beside it.
    edits: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def accepted_file(self, backend: str) -> Path:
        """Beside this module; one per backend for a history per backend, whose
        revisions have ids of their own."""
        if isinstance(self.versions_package, str):
            return HERE / f"{self.name}.accepted.toml"
        return HERE / f"{self.name}.{backend}.accepted.toml"

    @property
    def top_level_package(self) -> str:
        packages = self.versions_package
        first = packages if isinstance(packages, str) else next(iter(packages.values()))
        return first.split(".")[0]

    def versions_for(self, backend: str) -> str | None:
        """The package of the revisions that run on ``backend``; None if the project has none."""
        if isinstance(self.versions_package, str):
            return self.versions_package
        return self.versions_package.get(backend)

    def port(self, directory: Path, backend: str) -> History:
        """The history in ``directory`` with the project's env.py, as an adopting team has it."""
        versions = self.versions_for(backend)
        if versions is None:
            raise ValueError(f"{self.name} has no history for {backend}")
        if self.wheel is None:
            source: Traversable = importlib.resources.files(versions)
        else:
            unpacked = self.wheel.unpacked()
            source = unpacked.joinpath(*versions.split("."))
            _copy_modules(unpacked, self.files, self.stand_ins, directory / "project")
            # The revisions and models import the copy, as they would import the
            # project; the checks run in this process, as Alembic's commands do.
            sys.path.insert(0, str(directory / "project"))
        for module in self.model_modules:
            importlib.import_module(module)
        made = new_history(directory, self.metadata())
        history = PortedHistory(made.location, made.metadata, self.isolation_levels)
        first = None
        for entry in source.iterdir():
            if entry.name.endswith(".py") and entry.name != "__init__.py":
                text = entry.read_text(encoding="utf-8")
                for before, after in self.edits.get(entry.name, ()):
                    if before not in text:
                        raise ValueError(f"{self.name}: {entry.name} has no {before!r} to edit")
                    text = text.replace(before, after)
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
        shutil.copy(self.accepted_file(backend), history.location / "accepted.toml")
        return history


def _copy_modules(
    unpacked: Path, files: Iterable[str], stand_ins: Mapping[str, str], target: Path
) -> None:
    """``files`` of the wheel and the ``stand_ins`` as modules under ``target``.

    Packages on the way get an empty ``__init__.py`` unless the wheel's own is
    listed: the project's would import all of it. A stand-in for a package
    that is installed is left out: the copy comes first on ``sys.path``, and
    would hide the real one from everything else in the process.
    """
    written: list[Path] = []
    for name in files:
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(unpacked / name, path)
        written.append(path)
    for module, text in stand_ins.items():
        if importlib.util.find_spec(module.split(".")[0]) is not None:
            continue
        path = target.joinpath(*module.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    for path in written:
        for package in path.relative_to(target).parents:
            if package != Path("."):
                (target / package / "__init__.py").touch()


def _mlflow_metadata() -> MetaData:
    metadata: MetaData = importlib.import_module("mlflow.store.db.base_sql_model").Base.metadata
    return metadata


DAGSTER_STORAGE = "dagster/_core/storage"
DAGSTER_SCHEMAS = tuple(
    f"dagster._core.storage.{storage}.schema" for storage in ("runs", "event_log", "schedules")
)


def _dagster_metadata() -> MetaData:
    """Dagster's three storages (runs, event log, schedules) in one MetaData, as one
    database holds them; each declares secondary_indexes, the same table."""
    metadata = MetaData()
    for module in DAGSTER_SCHEMAS:
        schema = importlib.import_module(module)
        storage = next(value for value in vars(schema).values() if isinstance(value, MetaData))
        for table in storage.tables.values():
            if table.name not in metadata.tables:
                table.to_metadata(metadata)
    return metadata


# The tables Dagster 0.7.0 made with create_all() (dagster/core/storage/*/schema.py
# of that wheel), before its first revision: the revisions carry a database
# made by 0.7.0 up to today's schema.
DAGSTER_0_7_0 = """
op.create_table(
    "runs",
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(255), unique=True),
    sa.Column("pipeline_name", sa.String),
    sa.Column("status", sa.String(63)),
    sa.Column("run_body", sa.String),
    sa.Column("create_timestamp", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP")),
    sa.Column("update_timestamp", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP")),
)
op.create_table(
    "run_tags",
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(255), sa.ForeignKey("runs.run_id", ondelete="CASCADE")),
    sa.Column("key", sa.String),
    sa.Column("value", sa.String),
)
op.create_table(
    "event_logs",
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(255)),
    sa.Column("event", sa.Text, nullable=False),
    sa.Column("dagster_event_type", sa.Text),
    sa.Column("timestamp", sa.types.TIMESTAMP),
)
op.create_table(
    "schedules",
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("repository_name", sa.String(255)),
    sa.Column("schedule_name", sa.String),
    sa.Column("status", sa.String(63)),
    sa.Column("schedule_body", sa.String),
    sa.Column("create_timestamp", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP")),
    sa.Column("update_timestamp", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP")),
    sa.UniqueConstraint("repository_name", "schedule_name"),
)
"""


def _prefect_metadata() -> MetaData:
    metadata: MetaData = importlib.import_module("prefect.server.database.orm_models").Base.metadata
    return metadata


PREFECT_MIGRATIONS = "prefect.server.database._migrations.versions"

# Langflow's env.py sets this convention on SQLModel.metadata once the models
# are defined, so it names what its revisions leave unnamed (and, through
# %(constraint_name)s, prefixes the CHECKs they name): production databases
# have these names, and revisions drop keys by them.
LANGFLOW_NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _langflow_metadata() -> MetaData:
    metadata: MetaData = importlib.import_module("sqlmodel").SQLModel.metadata
    metadata.naming_convention = LANGFLOW_NAMING_CONVENTION
    return metadata


LANGFLOW_MODELS = "langflow/services/database/models"
# The modules that declare Langflow's tables (table=True): the ones its
# models/__init__.py imports, without the CRUD helpers beside them.
LANGFLOW_MODEL_FILES = (
    "a2a/model.py",
    "api_key/model.py",
    "audit_event/model.py",
    "auth/authz.py",
    "auth/sso.py",
    "catalog_policy/model.py",
    "connection/model.py",
    "connection/oauth.py",
    "data_subject_request/model.py",
    "deployment/model.py",
    "deployment_provider_account/model.py",
    "file/model.py",
    "flow/model.py",
    "flow_version/model.py",
    "flow_version_deployment_attachment/model.py",
    "folder/model.py",
    "ingestion_run/model.py",
    "jobs/model.py",
    "knowledge_base/model.py",
    "knowledge_base_storage_migration.py",
    "mcp_server/model.py",
    "memory_base/model.py",
    "message/model.py",
    "model_provider_policy/model.py",
    "policy_bundle/model.py",
    "project_replacement_operation.py",
    "traces/model.py",
    "transactions/model.py",
    "trigger/model.py",
    "user/model.py",
    "variable/model.py",
    "vertex_builds/model.py",
)
# What those modules import from beside them: enums, pydantic schemas,
# validators; none imports further into Langflow.
LANGFLOW_MODEL_HELPERS = (
    # d4a7c9e1b2f6 imports CatalogPolicyRule from the package.
    "catalog_policy/__init__.py",
    "auth/sso_secret.py",
    "connection/schemas.py",
    "data_subject_request/schemas.py",
    "deployment_provider_account/schemas.py",
    "deployment_provider_account/utils.py",
    "trigger/schemas.py",
)
# Stand-ins for what the models and revisions import from lfx (Langflow's
# engine) and the rest of Langflow. None changes a table: each stands for a
# logger, a validator, a serializer, or a type that only methods, schemas
# that are not tables, or fields whose column is declared outright
# (sa_column=Column(JSON)) use; the two types that do make columns (UUIDstr,
# DeploymentType) are lfx 1.13.0's own, copied. numpy, pandas and emoji are
# used by validators only, and stand in only where they are not installed.
LANGFLOW_STAND_INS = {
    # A structlog wrapper the revisions and models only log with.
    "lfx.log.logger": "import logging\n\nlogger = logging.getLogger('lfx')\n",
    # lfx 1.13.0's lfx/schema/serialize.py as it is: the type of every UUID column.
    "lfx.schema.serialize": (
        "from typing import Annotated\nfrom uuid import UUID\n\n"
        "from pydantic import BeforeValidator\n\n\n"
        "def str_to_uuid(v):\n"
        "    return UUID(v) if isinstance(v, str) else v\n\n\n"
        "UUIDstr = Annotated[UUID, BeforeValidator(str_to_uuid)]\n"
    ),
    # lfx 1.13.0's ensure_utc, used by validators.
    "lfx.schema.validators": (
        "from datetime import timezone\n\n\n"
        "def ensure_utc(timestamp):\n"
        "    if timestamp.tzinfo is None or timestamp.utcoffset() is None:\n"
        "        return timestamp.replace(tzinfo=timezone.utc)\n"
        "    return timestamp.astimezone(timezone.utc)\n"
    ),
    # Used by a validator of Flow.data.
    "lfx.utils.flow_code": "def normalize_code_for_import(value):\n    return value\n",
    # lfx 1.13.0's DeploymentType has this one member; its values are the
    # values of the deployment_type_enum column.
    "lfx.services.adapters.deployment.schema": (
        "from enum import Enum\n\n\nclass DeploymentType(str, Enum):\n    AGENT = 'agent'\n"
    ),
    # Pydantic models and patterns of connection schemas (not tables).
    "lfx.integrations.capabilities": (
        "from pydantic import BaseModel, ConfigDict\n\n\n"
        "class IntegrationIdentity(BaseModel):\n    model_config = ConfigDict(extra='allow')\n"
    ),
    "lfx.integrations.models": (
        "from pydantic import BaseModel, ConfigDict\n\n"
        "PROVIDER_ID_PATTERN = r'^[a-z0-9][a-z0-9._-]*$'\n"
        "CONNECTION_NAME_PATTERN = r'^[a-z0-9]+(?:_[a-z0-9]+)*$'\n\n\n"
        "class ConnectionAccount(BaseModel):\n    model_config = ConfigDict(extra='allow')\n"
    ),
    # Used by a validator of MessageTable.content_blocks.
    "lfx.schema.legacy_render": "def render_v1_content_blocks(value):\n    return value\n",
    # The types of fields whose columns are declared as JSON (sa_column).
    "langflow.schema.content_block": "ContentType = dict\n",
    "langflow.schema.data": (
        "from pydantic import BaseModel\n\n\nclass Data(BaseModel):\n    data: dict = {}\n"
    ),
    # Used by field serializers only.
    "langflow.serialization.serialization": (
        "def serialize(data, **options):\n    return data\n\n\n"
        "def get_max_text_length():\n    return None\n\n\n"
        "def get_max_items_length():\n    return None\n"
    ),
    "numpy": "class generic:\n    pass\n",
    "pandas": "class DataFrame:\n    pass\n",
    "emoji": (
        "def emojize(value, **options):\n    return value\n\n\n"
        "def purely_emoji(value):\n    return True\n"
    ),
}


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
    RealHistory(
        name="dagster",
        requirement="dagster==1.13.29",
        licence="Apache-2.0",
        versions_package="dagster._core.storage.alembic.versions",
        model_modules=DAGSTER_SCHEMAS,
        metadata=_dagster_metadata,
        # Dagster makes a new database's tables with create_all() and stamps
        # the head; its revisions, each guarded by has_table/has_column, carry
        # the databases older versions made up to date, back to 0.7.0's, whose
        # tables the port's first revision makes.
        baseline=Baseline(
            revision="0000baseline",
            upgrade=DAGSTER_0_7_0,
            downgrade="\n".join(
                f'op.drop_table("{table}")'
                for table in ("schedules", "event_logs", "run_tags", "runs")
            ),
        ),
        # Dagster's PostgreSQL storage connects in AUTOCOMMIT
        # (dagster_postgres: create_engine(..., isolation_level="AUTOCOMMIT")),
        # and its revisions create indexes CONCURRENTLY without an
        # autocommit_block; its SQLite storage connects as the driver does.
        isolation_levels={"postgresql": "AUTOCOMMIT"},
        wheel=Wheel(
            project="dagster",
            version="1.13.29",
            sha256="65f7bf2f52c0c1219cb1ca63a1f0f95a1af83d12e94ebec7598e47ee49889859",
        ),
        files=(
            f"{DAGSTER_STORAGE}/sql.py",
            f"{DAGSTER_STORAGE}/migration/utils.py",
            f"{DAGSTER_STORAGE}/runs/schema.py",
            f"{DAGSTER_STORAGE}/event_log/schema.py",
            f"{DAGSTER_STORAGE}/schedules/schema.py",
        ),
        stand_ins={
            # sql.py uses it only to find its own alembic.ini, which the port does not.
            "dagster._utils.__init__": (
                "import os\n\n\n"
                "def file_relative_path(dunder_file, relative_path):\n"
                "    return os.path.join(os.path.dirname(dunder_file), relative_path)\n"
            ),
            # migration/utils.py checks with it only that an upgrading instance is set.
            "dagster._check": (
                "def invariant(condition, desc=None):\n"
                "    if not condition:\n"
                "        raise AssertionError(desc)\n"
                "    return True\n"
            ),
            # An instance with no scheduler: revisions 006 and 011 wipe the
            # scheduler's state only when one is configured.
            "dagster._core.instance": "class DagsterInstance:\n    scheduler = None\n",
            # `dagster instance migrate` runs the revisions inside
            # upgrading_instance(instance); so does every run of the port.
            "dagster._core.storage.migration.__init__": (
                "from dagster._core.instance import DagsterInstance\n"
                "from dagster._core.storage.migration import utils\n\n"
                "utils._UPGRADING_INSTANCE = DagsterInstance()\n"
            ),
            # Revision 001 imports the event log's table; the package's
            # __init__ would import the whole event log storage.
            "dagster._core.storage.event_log.__init__": (
                "from dagster._core.storage.event_log.schema import SqlEventLogStorageTable\n\n"
                '__all__ = ["SqlEventLogStorageTable"]\n'
            ),
        },
    ),
    # Langflow imports most of itself and lfx from its models, so the port
    # copies the model and helper modules from the wheel, with stand-ins for
    # the rest, and sets the naming convention Langflow's env.py sets. Its
    # first revision creates its first tables: no baseline.
    RealHistory(
        name="langflow",
        requirement="langflow-base==1.13.0",
        licence="MIT",
        versions_package="langflow.alembic.versions",
        model_modules=tuple(
            f"{LANGFLOW_MODELS}/{path}".removesuffix(".py").replace("/", ".")
            for path in LANGFLOW_MODEL_FILES
        ),
        metadata=_langflow_metadata,
        wheel=Wheel(
            project="langflow-base",
            version="1.13.0",
            sha256="e15db23e16cf27d6d1ac8fcc5030cf25ad3a04356a9581862b4e97de739dd3a2",
        ),
        files=(
            *(f"{LANGFLOW_MODELS}/{path}" for path in LANGFLOW_MODEL_FILES),
            *(f"{LANGFLOW_MODELS}/{path}" for path in LANGFLOW_MODEL_HELPERS),
            "langflow/utils/migration.py",
            "langflow/schema/serialize.py",
            "langflow/schema/properties.py",
            "langflow/schema/validators.py",
            "langflow/services/database/utils.py",
            "langflow/services/variable/constants.py",
        ),
        stand_ins=LANGFLOW_STAND_INS,
    ),
    RealHistory(
        name="prefect",
        requirement="prefect==3.9.1",
        licence="Apache-2.0",
        # Prefect keeps one history per backend, each run only there.
        versions_package={
            "sqlite": f"{PREFECT_MIGRATIONS}.sqlite",
            "postgresql": f"{PREFECT_MIGRATIONS}.postgresql",
        },
        model_modules=("prefect.server.database.orm_models",),
        metadata=_prefect_metadata,
        wheel=Wheel(
            project="prefect",
            version="3.9.1",
            sha256="0c662e26e971b617993eed1f3d02fb8bc3c2dd47bee521b495f6e4dfeb38ae74",
        ),
        files=(
            "prefect/server/database/orm_models.py",
            # Prefect's column types, and the SQL that makes func.now() and
            # the UUID default portable; the revisions use them too.
            "prefect/server/utilities/database.py",
            "prefect/server/schemas/__init__.py",
            "prefect/server/schemas/statuses.py",
        ),
        stand_ins=prefect_stand_ins.STAND_INS,
        # Prefect runs its PostgreSQL revisions on asyncpg; these two pass SQL
        # with format('%I.%I', ...) to exec_driver_sql, and psycopg, the
        # project's driver, reads % as a placeholder there ("only '%s', '%b',
        # '%t' are allowed"): on psycopg a literal % is written %%.
        edits={
            "2026_09_04_000000_c8d5f2a71b3e_rebuild_invalid_event_resources_occurred_index.py": (
                ("format('%I.%I'", "format('%%I.%%I'"),
            ),
            "2026_09_15_000000_d4a7e1c93f52_add_flow_run_state_type_coalesce_start_time_index.py": (
                ("format('%I.%I'", "format('%%I.%%I'"),
            ),
        },
    ),
]

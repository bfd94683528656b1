"""Stand-ins for the parts of Prefect that its models and revisions import but
that would pull in the rest of Prefect (its settings, client, event system).

Each is safe for the checks because of what the models and revisions use it
for, said above each one: a type given to Prefect's ``Pydantic`` column type
(stored as JSON whatever the model is), an enum whose values are copied from
the wheel, or a helper that only fills the values a data migration writes.
"""

from __future__ import annotations

# Read only by get_dialect() callers at run time (query batching); neither the
# models nor the revisions call them.
SETTINGS = """\
PREFECT_API_DATABASE_CONNECTION_URL = None
"""

# DateTime is the annotation that the models' type map turns into Timestamp;
# now() fills Python-side defaults, which the checks never use (they write rows
# with Core, not the ORM).
DATETIME = """\
import datetime
from zoneinfo import ZoneInfo

DateTime = datetime.datetime


def now(tz="UTC"):
    return datetime.datetime.now(ZoneInfo(tz))
"""

# A Python-side default of WorkQueue.name, never used by the checks.
NAMES = """\
import uuid


def generate_slug(n_words):
    return "-".join(uuid.uuid4().hex[:8] for _ in range(n_words))
"""

# AutoEnum as Prefect defines it (prefect/utilities/collections.py), which
# statuses.py, copied from the wheel, builds its enums on; remove_nested_keys
# as there too, for the block checksum below.
COLLECTIONS = """\
from enum import Enum, auto


class AutoEnum(str, Enum):
    @staticmethod
    def _generate_next_value_(name, *_, **__):
        return name

    @staticmethod
    def auto():
        return auto()


def remove_nested_keys(keys_to_remove, obj):
    if not isinstance(obj, dict):
        return obj
    return {
        key: remove_nested_keys(keys_to_remove, value)
        for key, value in obj.items()
        if key not in keys_to_remove
    }
"""

# Called only by BlockDocument's methods that read and write secrets at run time.
ENCRYPTION = """\
def encrypt_fernet(session, data):
    raise NotImplementedError("a stand-in: the checks never encrypt")


def decrypt_fernet(session, data):
    raise NotImplementedError("a stand-in: the checks never decrypt")
"""

# The Pydantic models that columns of Prefect's ``Pydantic`` type hold: the
# column is JSON whatever the model, and the checks write rows with Core, so
# the model itself never validates anything here. StateType is copied from
# prefect/server/schemas/states.py: its values are the state_type enum's.
SCHEMAS_STATES = """\
from pydantic import BaseModel, ConfigDict

from prefect.utilities.collections import AutoEnum


class StateType(AutoEnum):
    SCHEDULED = AutoEnum.auto()
    PENDING = AutoEnum.auto()
    RUNNING = AutoEnum.auto()
    COMPLETED = AutoEnum.auto()
    FAILED = AutoEnum.auto()
    CANCELLED = AutoEnum.auto()
    CRASHED = AutoEnum.auto()
    PAUSED = AutoEnum.auto()
    CANCELLING = AutoEnum.auto()


TERMINAL_STATES = {
    StateType.COMPLETED,
    StateType.CANCELLED,
    StateType.FAILED,
    StateType.CRASHED,
}


class StateDetails(BaseModel):
    model_config = ConfigDict(extra="allow")


class State(BaseModel):
    model_config = ConfigDict(extra="allow", from_attributes=True)
"""

_MODELS = """\
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Stored(BaseModel):
    model_config = ConfigDict(extra="allow")


"""

SCHEMAS_CORE = (
    _MODELS
    + "\n".join(
        f"class {name}(_Stored):\n    pass\n\n"
        for name in (
            "FlowRunPolicy",
            "TaskRunPolicy",
            "CreatedBy",
            "UpdatedBy",
            "TaskRunResult",
            "FlowRunResult",
            "Parameter",
            "Constant",
            "ConcurrencyOptions",
            "QueueFilter",
            "WorkPoolStorageConfiguration",
        )
    )
    # From prefect/server/schemas/core.py: BlockSchema.version's server default.
    + '\nDEFAULT_BLOCK_SCHEMA_VERSION = "non-versioned"\n'
    + "KeyValueLabels = dict[str, Any]\n"
)

SCHEMAS_SCHEDULES = _MODELS + "class SCHEDULE_TYPES(_Stored):\n    pass\n"

EVENTS = _MODELS + "class ReceivedEvent(_Stored):\n    pass\n"

ACTIONS = _MODELS + "class ServerActionTypes(_Stored):\n    pass\n"

# AutomationSort's values are copied from prefect/server/events/schemas/automations.py;
# the models use them only to sort queries.
AUTOMATIONS = (
    _MODELS
    + "class Firing(_Stored):\n    pass\n\n\n"
    + "class ServerTriggerTypes(_Stored):\n    pass\n\n\n"
    + """\
from prefect.utilities.collections import AutoEnum


class AutomationSort(AutoEnum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
"""
)

# The initial revision declares a model on it that it never uses.
SERVER_SCHEMAS = "from pydantic import BaseModel as PrefectBaseModel\n"

# Three data migrations recompute block schema checksums. Prefect's
# Block._calculate_schema_checksum (prefect/blocks/core.py) hashes the fields
# as sorted JSON with sha256, as here; it also keeps only the definitions that
# are not blocks, which the rows the checks write have none of. The value only
# fills a column: no check compares it with Prefect's.
BLOCKS = """\
import hashlib
import json

from prefect.utilities.collections import remove_nested_keys


class Block:
    @classmethod
    def _calculate_schema_checksum(cls, block_schema_fields):
        fields = remove_nested_keys(["secret_fields"], block_schema_fields)
        text = json.dumps(((fields,), {}), sort_keys=True)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
"""

# python-slugify's slugify for the text the checks write (ASCII): a revision
# derives block_type.slug from block_type.name with it.
SLUGIFY = """\
import re


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
"""

# One revision logs what it removes.
LOGGERS = """\
import logging


def get_logger(name=None):
    return logging.getLogger(name or "prefect")
"""

# 9e83011d1f2a moves concurrency limits to V2 and also records their active
# slots as leases in Prefect's lease storage, which lives outside the
# database (in memory or in Redis) and which the revision's own try/except
# treats as best effort. The stand-in keeps them in memory, as Prefect's
# default storage does.
LEASE_STORAGE = """\
class ConcurrencyLimitLeaseMetadata:
    def __init__(self, slots, holder=None):
        self.slots = slots
        self.holder = holder


class _InMemory:
    def __init__(self):
        self.leases = []

    async def create_lease(self, resource_ids, ttl, metadata=None):
        self.leases.append((resource_ids, metadata))

    async def list_holders_for_limit(self, limit_id):
        return [
            (None, metadata.holder)
            for resource_ids, metadata in self.leases
            if limit_id in resource_ids and metadata is not None
        ]


_STORAGE = _InMemory()


def get_concurrency_lease_storage():
    return _STORAGE
"""

CONCURRENCY_TYPES = """\
class ConcurrencyLeaseHolder:
    def __init__(self, type, id):
        self.type = type
        self.id = id
"""

ASYNCUTILS = """\
import asyncio


def run_coro_as_sync(coroutine):
    return asyncio.run(coroutine)
"""

STAND_INS = {
    "prefect.settings": SETTINGS,
    "prefect.types._datetime": DATETIME,
    "prefect.utilities.names": NAMES,
    "prefect.utilities.collections": COLLECTIONS,
    "prefect.utilities.slugify": SLUGIFY,
    "prefect.utilities.asyncutils": ASYNCUTILS,
    "prefect.logging.loggers": LOGGERS,
    "prefect.blocks.core": BLOCKS,
    "prefect.types._concurrency": CONCURRENCY_TYPES,
    "prefect.server.concurrency.lease_storage": LEASE_STORAGE,
    "prefect.server.utilities.encryption": ENCRYPTION,
    "prefect.server.utilities.schemas": SERVER_SCHEMAS,
    "prefect.server.schemas.core": SCHEMAS_CORE,
    "prefect.server.schemas.states": SCHEMAS_STATES,
    "prefect.server.schemas.schedules": SCHEMAS_SCHEDULES,
    "prefect.server.events.actions": ACTIONS,
    "prefect.server.events.schemas.automations": AUTOMATIONS,
    "prefect.server.events.schemas.events": EVENTS,
}

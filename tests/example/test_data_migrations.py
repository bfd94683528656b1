"""Tests of what the example's revisions do to rows, written with ``migration_steps``.

Write one like these for each revision that moves or transforms data: rows go
in at the revision before it, with the schema of that revision (no models of
today), and come out checked after the upgrade and again after the downgrade.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dbkit.testing.migration_steps import MigrationSteps

CREATE_USERS = "2fb5202bc463"


def test_users_get_their_creation_time_from_the_database(
    migration_steps: MigrationSteps,
) -> None:
    migration_steps.upgrade(CREATE_USERS)
    migration_steps.insert("users", {"username": "ada", "email": "ada@example.com"})
    [row] = migration_steps.rows("users", "username", "created_at")
    created = row["created_at"]
    if created.tzinfo is None:  # SQLite and MySQL store UTC without an offset
        created = created.replace(tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - created) < timedelta(minutes=5)

    migration_steps.downgrade("base")
    migration_steps.upgrade(CREATE_USERS)
    assert migration_steps.rows("users") == []

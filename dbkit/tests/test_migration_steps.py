"""The ``migration_steps`` helper serves a real data migration, on every backend."""

from __future__ import annotations

from sqlalchemy import URL

from dbkit.testing.histories import History
from dbkit.testing.migration_steps import MigrationSteps

PEOPLE = (
    """
    op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("full_name", sa.String(100), nullable=False),
    )
    """,
    'op.drop_table("people")',
)

# Split full_name into two columns, row by row in Python, and back again.
SPLIT = (
    """
    with op.batch_alter_table("people") as batch_op:
        batch_op.add_column(sa.Column("first_name", sa.String(50), nullable=True))
        batch_op.add_column(sa.Column("last_name", sa.String(50), nullable=True))
    people = sa.table(
        "people", sa.column("id"), sa.column("full_name"),
        sa.column("first_name"), sa.column("last_name"),
    )
    bind = op.get_bind()
    for id_, full_name in bind.execute(sa.select(people.c.id, people.c.full_name)).all():
        first, _, last = full_name.partition(" ")
        bind.execute(
            people.update().where(people.c.id == id_).values(first_name=first, last_name=last)
        )
    with op.batch_alter_table("people") as batch_op:
        batch_op.drop_column("full_name")
    """,
    """
    with op.batch_alter_table("people") as batch_op:
        batch_op.add_column(sa.Column("full_name", sa.String(100), nullable=True))
    people = sa.table(
        "people",
        sa.column("full_name", sa.String),
        sa.column("first_name", sa.String),
        sa.column("last_name", sa.String),
    )
    # String + is || on SQLite and PostgreSQL, concat() on MySQL.
    full_name = people.c.first_name + sa.literal(" ") + people.c.last_name
    op.execute(people.update().values(full_name=sa.func.trim(full_name)))
    with op.batch_alter_table("people") as batch_op:
        batch_op.alter_column("full_name", existing_type=sa.String(100), nullable=False)
        batch_op.drop_column("last_name")
        batch_op.drop_column("first_name")
    """,
)


def test_a_data_migration_is_tested_at_its_own_revisions(
    history: History, empty_database_url: URL
) -> None:
    before = history.add(*PEOPLE)
    split = history.add(*SPLIT)
    steps = MigrationSteps(empty_database_url, history.config())

    steps.upgrade(before)
    steps.insert("people", {"full_name": "Ada Lovelace"}, {"full_name": "Grace Hopper"})
    steps.upgrade(split)
    assert steps.rows("people", "first_name", "last_name") == [
        {"first_name": "Ada", "last_name": "Lovelace"},
        {"first_name": "Grace", "last_name": "Hopper"},
    ]
    steps.downgrade(before)
    assert steps.rows("people", "full_name") == [
        {"full_name": "Ada Lovelace"},
        {"full_name": "Grace Hopper"},
    ]
